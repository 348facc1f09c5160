"""Delivery follows each object's status over sandbox time: pausing a campaign, ad set or ad
stops its future spend without erasing its past, and the history saves with the state."""

from __future__ import annotations

import json
from typing import Any

import httpx2

from meta_agent.sandbox import ManualClock, Sandbox, SandboxConfig, create_app
from tests.conftest import INR_ACCOUNT, Graph
from tests.contract.test_ads import make_ad, tree
from tests.contract.test_creatives import make_creative
from tests.contract.test_insights import rows

DAY = 86_400.0
DAILY = {"level": "ad", "fields": "ad_id,impressions,clicks,spend", "time_increment": "1"}


async def launched(graph: Graph, sandbox: Sandbox, ads: int = 1) -> dict[str, Any]:
    """An ACTIVE campaign, ad set and ``ads`` ACTIVE ads, created through the API."""
    ids: dict[str, Any] = await tree(graph, sandbox, active=True)
    ids["ads"] = [
        await make_ad(graph, ids["adset"], ids["creative"], status="ACTIVE", name=f"Ad {n}")
        for n in range(ads)
    ]
    return ids


async def daily(graph: Graph, since: str, until: str) -> list[dict[str, Any]]:
    """Every ad's daily rows between two account-local dates."""
    window = json.dumps({"since": since, "until": until})
    return await rows(graph, INR_ACCOUNT, time_range=window, **DAILY)


def days_of(found: list[dict[str, Any]]) -> list[str]:
    """The distinct days the rows cover, in order."""
    return sorted({row["date_start"] for row in found})


async def test_pausing_a_campaign_keeps_the_past(
    graph: Graph, sandbox: Sandbox, clock: ManualClock
) -> None:
    """Days before the pause keep their numbers after it; the days after have no rows."""
    ids = await launched(graph, sandbox, ads=2)
    clock.advance(3 * DAY)
    before = await daily(graph, "2026-11-01", "2026-11-30")
    assert len(days_of(before)) >= 3
    assert (await graph.post(ids["campaign"], status="PAUSED")).status_code == 200
    clock.advance(3 * DAY)
    after = await daily(graph, "2026-11-01", "2026-11-30")
    assert after == before
    ad = (await graph.get(ids["ads"][0], fields="effective_status")).json()
    assert ad["effective_status"] == "CAMPAIGN_PAUSED"


async def test_a_paused_stretch_has_no_rows_and_delivery_resumes(
    graph: Graph, sandbox: Sandbox, clock: ManualClock
) -> None:
    """Ad set paused for three days, then ACTIVE again: no rows in the gap, rows either side."""
    ids = await launched(graph, sandbox)
    clock.advance(2 * DAY)
    first = days_of(await daily(graph, "2026-11-01", "2026-11-30"))
    assert (await graph.post(ids["adset"], status="PAUSED")).status_code == 200
    clock.advance(3 * DAY)
    assert (await graph.post(ids["adset"], status="ACTIVE")).status_code == 200
    clock.advance(2 * DAY)
    found = days_of(await daily(graph, "2026-11-01", "2026-11-30"))
    assert found[: len(first)] == first
    resumed = found[len(first) :]
    assert len(resumed) in {2, 3}  # the first and last days may be partial
    gap = [day for day in ("2026-11-21", "2026-11-22") if day not in found]
    assert gap == ["2026-11-21", "2026-11-22"]


async def test_a_paused_ad_leaves_its_siblings_past_alone(
    graph: Graph, sandbox: Sandbox, clock: ManualClock
) -> None:
    """Pausing one of two ads: both keep their past; only the other delivers afterwards."""
    ids = await launched(graph, sandbox, ads=2)
    clock.advance(2 * DAY)
    before = await daily(graph, "2026-11-01", "2026-11-30")
    paused, other = ids["ads"]
    assert (await graph.post(paused, status="PAUSED")).status_code == 200
    clock.advance(2 * DAY)
    after = await daily(graph, "2026-11-01", "2026-11-30")
    pause_day = before[-1]["date_start"]

    def kept(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
        # The other ad goes on delivering the rest of the pause day, so that row grows.
        return [r for r in found if r["date_start"] < pause_day or r["ad_id"] == paused]

    assert [row for row in kept(after) if row["date_start"] <= pause_day] == kept(before)
    later = [row for row in after if row["date_start"] > pause_day]
    assert later
    assert {row["ad_id"] for row in later} == {other}


async def test_the_history_survives_a_state_save_and_load(
    graph: Graph, client: httpx2.AsyncClient, sandbox: Sandbox, clock: ManualClock
) -> None:
    """A state saved after a pause, loaded into a new sandbox, answers the same rows."""
    ids = await launched(graph, sandbox)
    clock.advance(2 * DAY)
    assert (await graph.post(ids["campaign"], status="PAUSED")).status_code == 200
    clock.advance(DAY)
    expected = await daily(graph, "2026-11-01", "2026-11-30")
    assert expected
    saved = (await client.get("/_sandbox/state")).json()
    fresh = create_app(SandboxConfig(), clock=clock)
    transport = httpx2.ASGITransport(app=fresh)
    async with httpx2.AsyncClient(transport=transport, base_url="http://sandbox.test") as other:
        assert (await other.put("/_sandbox/state", json=saved)).status_code == 200
        assert await daily(Graph(other), "2026-11-01", "2026-11-30") == expected


async def test_a_new_creative_pauses_delivery_only_for_its_review(
    graph: Graph, sandbox: Sandbox, clock: ManualClock
) -> None:
    """Switching the creative sends the ad back to review: its past days stay as they were."""
    ids = await launched(graph, sandbox)
    clock.advance(2 * DAY)
    before = await daily(graph, "2026-11-01", "2026-11-30")
    other = await make_creative(graph, sandbox, name="Second")
    ad = ids["ads"][0]
    switched = await graph.post(ad, creative=json.dumps({"creative_id": other}))
    assert switched.status_code == 200, switched.text
    assert len(sandbox.state.objects[ad]["review_history"]) == 2
    clock.advance(DAY)
    after = await daily(graph, "2026-11-01", "2026-11-30")
    pause_day = before[-1]["date_start"]
    assert [row for row in after if row["date_start"] < pause_day] == before[:-1]
    assert after[-1]["date_start"] > pause_day  # delivering again once reviewed
