"""The fast paths of serving insights give exactly what the straightforward code gives."""

from __future__ import annotations

import hashlib
import random

import pytest

from meta_agent.sandbox import Sandbox
from meta_agent.sandbox.insights.cells import split_cell
from meta_agent.sandbox.synth import Segment, split
from tests.conftest import INR_ACCOUNT, Graph
from tests.contract.test_insights import seed_tree

KEYS = ("spend", "impressions", "clicks", "a:link_click", "video_play", "a:purchase@7d_click")


def segments(rng: random.Random, count: int, *, zero: bool) -> list[Segment]:
    """``count`` segments with random shares (all zero when ``zero``) and relative rates."""
    return [
        Segment((str(i),), (str(i),), 0.0 if zero else rng.random(), rng.random(), rng.random())
        for i in range(count)
    ]


@pytest.mark.parametrize("seed", range(8))
def test_split_cell_equals_split(seed: int) -> None:
    """split_cell's parts equal synth.split's: values, key order, ties, zero weights."""
    rng = random.Random(seed)
    for _ in range(300):
        count = rng.choice([0, 1, 2, 6, 18, 40])
        cut = segments(rng, count, zero=rng.random() < 0.1)
        keys = rng.sample(KEYS, rng.randint(0, len(KEYS)))
        cell = {key: rng.choice([0, 1, 2, 7, rng.randint(0, 10**6)]) for key in keys}
        expected = split(cell, cut)
        found = split_cell(cell, cut)
        assert found == expected
        assert [list(part) for part in found] == [list(part) for part in expected]


async def test_etag_is_the_digest_of_the_bytes_sent(graph: Graph, sandbox: Sandbox) -> None:
    """A read's ETag is the MD5 of exactly the body it came with (encoded once, not twice)."""
    seed_tree(sandbox, ads=2)
    response = await graph.get(
        f"{INR_ACCOUNT}/insights", fields="ad_id,spend,actions", level="ad", time_increment="1"
    )
    assert response.status_code == 200
    digest = hashlib.md5(response.content, usedforsecurity=False).hexdigest()
    assert response.headers["etag"] == f'"{digest}"'
