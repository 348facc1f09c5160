"""The /_sandbox/ admin endpoints and state persistence."""

from __future__ import annotations

from pathlib import Path

import httpx2

from meta_agent.sandbox import ManualClock, SandboxConfig, create_app
from tests.conftest import INR_ACCOUNT, TOKEN, Graph

CAMPAIGN = {
    "name": "Persisted",
    "objective": "OUTCOME_TRAFFIC",
    "special_ad_categories": "[]",
    "status": "PAUSED",
    "is_adset_budget_sharing_enabled": "false",
}


async def test_objects_lists_deleted_ones_too(graph: Graph, client: httpx2.AsyncClient) -> None:
    """The admin listing shows every object, deleted included, with its effective status."""
    campaign_id = (await graph.post(f"{INR_ACCOUNT}/campaigns", **CAMPAIGN)).json()["id"]
    assert (await graph.delete(campaign_id)).json() == {"success": True}
    listed = (await client.get("/_sandbox/objects", params={"kind": "campaign"})).json()
    assert [(o["id"], o["effective_status"]) for o in listed["data"]] == [(campaign_id, "DELETED")]


async def test_reset_forgets_objects_but_keeps_identity(
    graph: Graph, client: httpx2.AsyncClient
) -> None:
    """Reset returns to the seeded accounts and Page."""
    await graph.post(f"{INR_ACCOUNT}/campaigns", **CAMPAIGN)
    await client.post("/_sandbox/reset")
    listed = (await client.get("/_sandbox/objects", params={"kind": "campaign"})).json()
    assert listed["count"] == 0
    assert (await graph.get(INR_ACCOUNT)).status_code == 200


async def test_state_round_trips_through_the_admin_api(
    graph: Graph, client: httpx2.AsyncClient
) -> None:
    """A saved state loaded back restores objects and the id counter."""
    first = (await graph.post(f"{INR_ACCOUNT}/campaigns", **CAMPAIGN)).json()["id"]
    saved = (await client.get("/_sandbox/state")).json()
    await client.post("/_sandbox/reset")
    assert (await client.put("/_sandbox/state", json=saved)).status_code == 200
    assert (await graph.get(first, fields="name")).json()["name"] == "Persisted"
    second = (await graph.post(f"{INR_ACCOUNT}/campaigns", **CAMPAIGN)).json()["id"]
    assert int(second) > int(first)


async def test_bad_state_document_is_a_400(client: httpx2.AsyncClient) -> None:
    """Loading something that is not a state names the problem and changes nothing."""
    response = await client.put("/_sandbox/state", json={"hello": 1})
    assert response.status_code == 400
    assert "state" in response.json()["error"]["message"]


async def test_request_counters_by_route(graph: Graph, client: httpx2.AsyncClient) -> None:
    """Counters group requests by method and path template, not by raw id."""
    await graph.get("me")
    await graph.get(INR_ACCOUNT)
    await graph.get(f"{INR_ACCOUNT}/campaigns")
    counters = (await client.get("/_sandbox/requests")).json()
    assert counters["by_route"]["GET {adaccount}/campaigns"] == 1
    assert counters["by_route"]["GET {user}"] == 1
    assert counters["total"] == 3


async def test_clock_advance_moves_manual_time(
    client: httpx2.AsyncClient, clock: ManualClock
) -> None:
    """POST /_sandbox/clock/advance moves a manual clock."""
    before = clock.now()
    await client.post("/_sandbox/clock/advance", params={"seconds": "90"})
    assert clock.now() == before + 90


async def test_state_file_survives_a_restart(tmp_path: Path) -> None:
    """With a state file, objects written by one sandbox are there for the next."""
    path = tmp_path / "state.json"
    first = create_app(SandboxConfig(), clock=ManualClock(), state_file=path)
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=first), base_url="http://a"
    ) as c:
        created = await c.post(
            f"/v25.0/{INR_ACCOUNT}/campaigns", params={"access_token": TOKEN}, data=CAMPAIGN
        )
    campaign_id = created.json()["id"]
    second = create_app(SandboxConfig(), clock=ManualClock(), state_file=path)
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=second), base_url="http://b"
    ) as c:
        read = await c.get(
            f"/v25.0/{campaign_id}", params={"access_token": TOKEN, "fields": "name"}
        )
    assert read.json()["name"] == "Persisted"
