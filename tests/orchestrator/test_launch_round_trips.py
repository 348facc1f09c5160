"""A launch's round trips through the Orchestrator, cold and warm, small and large (#13).

The sandbox sits behind a :class:`RequestTimeline` that holds each request 20 ms, so requests
the client sends together overlap even in process; ``round_trips()`` is the longest chain of
requests each begun after the one before it ended.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest
from starlette.applications import Starlette

from meta_agent.cache import MemoryCache
from meta_agent.errors import RequestValidationError
from meta_agent.graph.client import GraphClient
from meta_agent.orchestrator.env import Env
from meta_agent.orchestrator.orchestrator import Orchestrator
from meta_agent.sandbox import ManualClock
from meta_agent.sandbox.timeline import RequestTimeline
from meta_agent.store.sql import SqlJournal
from tests.conftest import make_graph_client
from tests.orchestrator.conftest import full_campaign_request, live_objects


@pytest.fixture
def timeline(app: Starlette) -> RequestTimeline:
    """The sandbox app behind the request timeline."""
    return RequestTimeline(app, hold_s=0.02)


@pytest.fixture
async def timed_client(timeline: RequestTimeline, clock: ManualClock) -> AsyncIterator[GraphClient]:
    """The real client stack over the timed sandbox."""
    client = make_graph_client(timeline, clock)  # type: ignore[arg-type]
    yield client
    await client.aclose()


@pytest.fixture
async def launcher(timed_client: GraphClient, journal: SqlJournal) -> Orchestrator:
    """An orchestrator whose every request the timeline sees, keeping the keys in the names
    (``naming.keys: keep``): these tests count the launch's own round trips."""
    env = Env.build(timed_client, journal, cache=MemoryCache(), naming_keys="keep")
    return Orchestrator(env)


@pytest.fixture
async def stripping(timed_client: GraphClient, journal: SqlJournal) -> Orchestrator:
    """The same with the default ``naming.keys: strip``."""
    return Orchestrator(Env.build(timed_client, journal, cache=MemoryCache()))


def interest_request(request_id: str, **shape: Any) -> dict[str, Any]:
    """A full campaign whose ad sets search an interest by name (a targeting read)."""
    request = full_campaign_request(request_id, **shape)
    for adset in request["data"]["adsets"]:
        adset["targeting"]["interests"] = ["Running"]
    return request


def counts(objects: list[dict[str, Any]]) -> dict[str, int]:
    """Live objects by kind."""
    kinds: dict[str, int] = {}
    for record in objects:
        kinds[record["kind"]] = kinds.get(record["kind"], 0) + 1
    return kinds


async def test_a_cold_launch_takes_two_round_trips_and_a_warm_one_one(
    launcher: Orchestrator, timeline: RequestTimeline
) -> None:
    """22 objects: the reads at once (account, interest search, image lookup), then one batch
    with the images attached. Again on the same account: everything is cached, one batch."""
    cold = await launcher.execute(interest_request("cold"))
    assert cold.status == "COMPLETED", cold.error
    assert (timeline.requests, timeline.round_trips()) == (4, 2)
    timeline.reset()
    warm = await launcher.execute(interest_request("warm"))
    assert warm.status == "COMPLETED", warm.error
    assert (timeline.requests, timeline.round_trips()) == (1, 1)
    assert warm.result is not None
    assert cold.result is not None
    assert warm.result["images"] == cold.result["images"]  # the same hashes, not re-sent


async def test_names_cost_one_round_trip_when_paused_and_none_when_activated(
    stripping: Orchestrator, timeline: RequestTimeline, client: httpx2.AsyncClient
) -> None:
    """With the keys stripped, a PAUSED launch settles in one more batch; an activated one
    carries the renames in its activation batch, which it sends anyway."""
    paused = await stripping.execute(interest_request("paused"))
    assert paused.status == "COMPLETED", paused.error
    assert (timeline.requests, timeline.round_trips()) == (5, 3)
    timeline.reset()
    active = await stripping.execute(interest_request("active", activate=True))
    assert active.status == "COMPLETED", active.error
    assert (timeline.requests, timeline.round_trips()) == (2, 2)  # warm: launch, activation
    names = [record["name"] for record in await live_objects(client)]
    assert names
    assert not [name for name in names if "[ma:" in name]


@pytest.mark.timeout(180)  # a thousand objects through the in-process sandbox, on a busy machine
@pytest.mark.parametrize(
    ("adsets", "ads_per_adset", "images"),
    [(3, 2, 6), (5, 10, 10), (20, 25, 20)],
    ids=["22 objects", "110 objects", "1041 objects"],
)
async def test_round_trips_do_not_grow_with_the_launch(
    launcher: Orchestrator,
    timeline: RequestTimeline,
    client: httpx2.AsyncClient,
    adsets: int,
    ads_per_adset: int,
    images: int,
) -> None:
    """Up to 20 ad sets x 25 ads with their creatives and images: every object made, in at
    most 3 sequential round trips (the reads, then two waves of concurrent batches)."""
    request = full_campaign_request(
        "big", images=images, adsets=adsets, ads_per_adset=ads_per_adset
    )
    response = await launcher.execute(request)
    assert response.status == "COMPLETED", response.error
    ads = adsets * ads_per_adset
    expected = {"campaign": 1, "adset": adsets, "adcreative": ads, "ad": ads}
    assert counts(await live_objects(client)) == expected
    assert timeline.round_trips() == (2 if ads + adsets + images < 50 else 3)
    batches = -(-(1 + adsets + 2 * ads + images) // 50)
    assert timeline.requests <= 2 + batches + 2  # the reads, the batches, a few part-filled


@pytest.mark.timeout(180)
async def test_a_large_launch_whose_late_batch_fails_leaves_nothing(
    launcher: Orchestrator, client: httpx2.AsyncClient
) -> None:
    """20 ad sets x 25 ads: the 480th ad is refused, in the last wave; everything made before
    (campaign, ad sets, 500 creatives, the other ads) is deleted."""
    refuse = {
        "kind": "graph_error",
        "code": 100,
        "message": "(#100) Invalid parameter",
        "method": "POST",
        "path": "act_*/ads",
        "nth": 480,
    }
    assert (await client.post("/_sandbox/faults", json=[refuse])).status_code == 200
    request = full_campaign_request("doomed", images=20, adsets=20, ads_per_adset=25)
    response = await launcher.execute(request)
    assert response.status == "ROLLED_BACK", response
    assert response.error is not None
    assert response.error["cause"]["step"] == "launch"
    assert await live_objects(client) == []


async def test_an_oversized_launch_is_refused_naming_the_limit(launcher: Orchestrator) -> None:
    """Past 49 ad sets (they travel with their campaign in one batch) a launch is refused
    before any call, naming the field and the limit."""
    with pytest.raises(RequestValidationError) as refused:
        await launcher.execute(full_campaign_request("huge", adsets=50, ads_per_adset=1))
    assert refused.value.field == "data.adsets"
    assert "at most 49" in refused.value.message
