"""Report runs keep their layout between pages, until a write changes the state."""

from __future__ import annotations

from typing import Any

import pytest

from meta_agent.sandbox import ManualClock, Sandbox
from meta_agent.sandbox.memo import StateMemo
from meta_agent.sandbox.state import SandboxState
from tests.conftest import INR_ACCOUNT, Graph
from tests.contract.test_insights import seed_tree

QUERY = {"level": "ad", "fields": "ad_id,impressions,spend", "time_increment": "1"}


async def start_run(graph: Graph, sandbox: Sandbox, clock: ManualClock) -> str:
    """A completed report run of ``QUERY`` over the seeded ads."""
    response = await graph.post(f"{INR_ACCOUNT}/insights", **QUERY, date_preset="last_7d")
    run_id: str = response.json()["report_run_id"]
    clock.advance(sandbox.config.report_run_seconds)
    return run_id


async def pages(graph: Graph, run_id: str, limit: int = 4) -> list[list[dict[str, Any]]]:
    """Every page of a run's results, following the cursors."""
    out: list[list[dict[str, Any]]] = []
    params: dict[str, Any] = {"limit": limit}
    while True:
        body = (await graph.get(f"{run_id}/insights", **params)).json()
        out.append(body["data"])
        if "next" not in body.get("paging", {}):
            return out
        params["after"] = body["paging"]["cursors"]["after"]


async def test_pages_of_a_run_share_one_layout(
    graph: Graph, sandbox: Sandbox, clock: ManualClock
) -> None:
    """Reading every page builds the layout once; the rows equal a cold rebuild's."""
    seed_tree(sandbox, ads=3)
    run_id = await start_run(graph, sandbox, clock)
    misses = sandbox.memo.misses
    warm = await pages(graph, run_id)
    assert len(warm) > 2
    assert sandbox.memo.misses == misses + 1
    assert sandbox.memo.hits >= len(warm) - 1
    sandbox.memo.clear()
    assert await pages(graph, run_id) == warm


async def test_a_write_invalidates_the_layout(
    graph: Graph, sandbox: Sandbox, clock: ManualClock
) -> None:
    """Pausing an ad after a page was read rebuilds the layout; the run's rows, as of its
    time_ref, stay (a pause stops future delivery, not past)."""
    tree = seed_tree(sandbox, ads=2)
    run_id = await start_run(graph, sandbox, clock)
    before = [row for page in await pages(graph, run_id) for row in page]
    assert {row["ad_id"] for row in before} == set(tree["ads"])
    misses = sandbox.memo.misses
    assert (await graph.post(tree["ads"][0], status="PAUSED")).status_code == 200
    after = [row for page in await pages(graph, run_id) for row in page]
    assert sandbox.memo.misses == misses + 1
    assert after == before


async def test_a_reset_invalidates_the_layout(
    graph: Graph, sandbox: Sandbox, clock: ManualClock
) -> None:
    """After a reset the run no longer exists, however recently its layout was kept."""
    seed_tree(sandbox, ads=1)
    run_id = await start_run(graph, sandbox, clock)
    await pages(graph, run_id)
    sandbox.reset()
    assert len(sandbox.memo) == 0
    assert (await graph.get(f"{run_id}/insights")).status_code == 400


def test_memo_is_lru_bounded() -> None:
    """Past its size the least recently used entry goes; a hit refreshes an entry."""
    memo, state = StateMemo(size=2), SandboxState({})
    for key in ("a", "b"):
        memo.get(key, state, lambda key=key: key)
    memo.get("a", state, lambda: pytest.fail("a is kept"))
    memo.get("c", state, lambda: "c")
    assert len(memo) == 2
    assert memo.get("b", state, lambda: "rebuilt") == "rebuilt"


def test_memo_is_tied_to_the_state_object_and_version() -> None:
    """A touched state or another state object both miss."""
    memo, state = StateMemo(size=4), SandboxState({})
    memo.get("k", state, lambda: 1)
    state.touch()
    assert memo.get("k", state, lambda: 2) == 2
    assert memo.get("k", SandboxState({}), lambda: 3) == 3
    assert memo.get("k", SandboxState({}), lambda: 4) == 4
