"""GET /_sandbox/objects: per-kind listing with effective status, and the live filter."""

from __future__ import annotations

from typing import Any

import httpx2

from tests.conftest import INR_ACCOUNT, Graph

CAMPAIGN = {
    "name": "Witness",
    "objective": "OUTCOME_TRAFFIC",
    "special_ad_categories": "[]",
    "status": "PAUSED",
    "is_adset_budget_sharing_enabled": "false",
}
ADSET = {
    "name": "Witness set",
    "daily_budget": "50000",
    "billing_event": "IMPRESSIONS",
    "optimization_goal": "LINK_CLICKS",
    "bid_strategy": "LOWEST_COST_WITHOUT_CAP",
    "targeting": '{"geo_locations":{"countries":["IN"]},"targeting_automation":{"advantage_audience":0}}',
    "status": "PAUSED",
}


async def listed(client: httpx2.AsyncClient, **query: str) -> list[dict[str, Any]]:
    """The objects the admin listing returns for ``query``."""
    response = await client.get("/_sandbox/objects", params=query)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["count"] == len(body["data"])
    data: list[dict[str, Any]] = body["data"]
    return data


async def campaign_with_adset(graph: Graph) -> tuple[str, str]:
    """A paused campaign and one ad set under it."""
    campaign = (await graph.post(f"{INR_ACCOUNT}/campaigns", **CAMPAIGN)).json()["id"]
    response = await graph.post(f"{INR_ACCOUNT}/adsets", campaign_id=campaign, **ADSET)
    assert response.status_code == 200, response.text
    return campaign, response.json()["id"]


async def test_live_hides_deleted_and_their_children(
    graph: Graph, client: httpx2.AsyncClient
) -> None:
    """After deleting a campaign, neither it nor its (paused) ad set is live; another campaign is."""
    doomed, adset = await campaign_with_adset(graph)
    kept = (await graph.post(f"{INR_ACCOUNT}/campaigns", **CAMPAIGN)).json()["id"]
    await graph.delete(doomed)
    live = await listed(client, kind="campaign,adset", live="true")
    assert [(o["id"], o["effective_status"]) for o in live] == [(kept, "PAUSED")]
    gone = await listed(client, kind="campaign,adset", live="false")
    assert {o["id"] for o in gone} == {doomed, adset}


async def test_live_true_is_empty_after_a_full_rollback(
    graph: Graph, client: httpx2.AsyncClient
) -> None:
    """Deleting everything created leaves no live campaign or ad set (the rollback witness)."""
    campaign, adset = await campaign_with_adset(graph)
    await graph.delete(adset)
    await graph.delete(campaign)
    assert await listed(client, kind="campaign", live="true") == []
    assert await listed(client, kind="adset", live="true") == []
    assert len(await listed(client, kind="campaign")) == 1


async def test_account_filter_accepts_act_prefix(graph: Graph, client: httpx2.AsyncClient) -> None:
    """account_id narrows to one account, given as digits or act_<digits>."""
    campaign = (await graph.post(f"{INR_ACCOUNT}/campaigns", **CAMPAIGN)).json()["id"]
    await graph.post("act_9876543210/campaigns", **CAMPAIGN)
    for account in (INR_ACCOUNT, INR_ACCOUNT.removeprefix("act_")):
        ours = await listed(client, kind="campaign", account_id=account)
        assert [o["id"] for o in ours] == [campaign]


async def test_records_without_status_count_as_live(client: httpx2.AsyncClient) -> None:
    """Seeded identity (the ad accounts) has no status and is listed as live."""
    accounts = await listed(client, kind="adaccount", live="true")
    assert {o["id"] for o in accounts} == {INR_ACCOUNT, "act_9876543210"}
    assert all("effective_status" not in o for o in accounts)


async def test_bad_live_value_is_a_400(client: httpx2.AsyncClient) -> None:
    """live must be true or false; anything else is refused with the parameter named."""
    response = await client.get("/_sandbox/objects", params={"live": "maybe"})
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("live:")
