"""bulk end to end against the sandbox: each item its own workflow, each with its own outcome."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from meta_agent.errors import RequestValidationError
from meta_agent.orchestrator import events as ev
from meta_agent.orchestrator.env import Env
from meta_agent.orchestrator.orchestrator import Orchestrator
from meta_agent.sandbox import Sandbox
from tests.conftest import INR_ACCOUNT, USD_ACCOUNT
from tests.orchestrator.conftest import live_objects
from tests.orchestrator.test_updates import campaign_request, write_count


def item(name: str, account: str = INR_ACCOUNT, country: str = "IN") -> dict[str, Any]:
    """A create_campaign item: one campaign, one ad set at 50,000 minor units a day."""
    return {
        "action": "create_campaign",
        "account_id": account,
        "data": {
            "campaign": {"name": name, "objective": "OUTCOME_TRAFFIC"},
            "adsets": [
                {
                    "name": f"{name} adults",
                    "optimization_goal": "LINK_CLICKS",
                    "billing_event": "IMPRESSIONS",
                    "daily_budget": 50_000,
                    "targeting": {"countries": [country]},
                }
            ],
        },
    }


def bulk_request(
    items: list[dict[str, Any]], request_id: str = "bulk-1", **options: Any
) -> dict[str, Any]:
    """A bulk request of ``items``."""
    return {
        "request_id": request_id,
        "action": "bulk",
        "data": {"requests": items},
        "options": options,
    }


async def campaigns(client: httpx2.AsyncClient) -> list[str]:
    """Names of the live campaigns, per the sandbox's admin listing."""
    return sorted(r["name"].split(" [ma:")[0] for r in await live_objects(client, ("campaign",)))


async def test_every_item_runs_as_its_own_workflow_in_order(
    orchestrator: Orchestrator, client: httpx2.AsyncClient
) -> None:
    """Three items: three workflows, results in request order, request_ids derived."""
    setup = await orchestrator.execute(campaign_request("setup"))
    assert setup.result is not None, setup.error
    adset = setup.result["adsets"][0]["id"]
    update = {
        "action": "update_campaign",
        "data": {"object_id": adset, "level": "adset", "changes": {"daily_budget": 55_000}},
    }
    response = await orchestrator.execute(bulk_request([item("A"), update, item("B")]))
    assert response.status == "COMPLETED", response.error
    result = response.result
    assert result is not None
    assert (result["succeeded"], result["failed"]) == (3, 0)
    outcomes = result["results"]
    assert [o["index"] for o in outcomes] == [0, 1, 2]
    assert [o["request_id"] for o in outcomes] == ["bulk-1/0", "bulk-1/1", "bulk-1/2"]
    assert {o["status"] for o in outcomes} == {"COMPLETED"}
    assert len({o["workflow_id"] for o in outcomes}) == 3
    assert outcomes[1]["result"]["updates"][0]["after"] == {"daily_budget": 55_000}
    assert await campaigns(client) == ["A", "B", "Winter shoes"]


async def test_an_invalid_item_is_its_own_error_with_its_path(
    orchestrator: Orchestrator, client: httpx2.AsyncClient
) -> None:
    """A bad budget in item 1 refuses that item only, naming data.requests[1]...."""
    bad = item("Bad")
    bad["data"]["adsets"][0]["daily_budget"] = "lots"
    response = await orchestrator.execute(bulk_request([item("A"), bad, item("C")]))
    assert response.status == "COMPLETED", response.error
    result = response.result
    assert result is not None
    assert (result["succeeded"], result["failed"]) == (2, 1)
    refused = result["results"][1]
    assert refused["status"] == "REFUSED"
    assert refused["workflow_id"] is None
    assert refused["error"]["field"] == "data.requests[1].data.adsets[0].daily_budget"
    assert refused["error"]["message"].startswith("data.requests[1].data.adsets[0].daily_budget")
    assert await campaigns(client) == ["A", "C"]


async def test_a_failed_item_rolls_back_alone(
    orchestrator: Orchestrator, client: httpx2.AsyncClient
) -> None:
    """Item 1 fails at Meta and is rolled back; items 0 and 2 stay created."""
    fault = f"unknown:method=POST,path={USD_ACCOUNT}/adsets"
    assert (await client.post("/_sandbox/faults", json={"spec": fault})).status_code == 200
    items = [item("A"), item("Failing", USD_ACCOUNT, "US"), item("C")]
    response = await orchestrator.execute(bulk_request(items))
    assert response.status == "COMPLETED", response.error
    result = response.result
    assert result is not None
    failed = result["results"][1]
    assert failed["status"] == "ROLLED_BACK"
    assert failed["error"]["kind"] == "workflow_failed"
    assert (result["succeeded"], result["failed"]) == (2, 1)
    assert await campaigns(client) == ["A", "C"]


async def test_items_run_concurrently_within_the_bound(
    orchestrator: Orchestrator, env: Env
) -> None:
    """Eight items: more than one runs at a time, never more than four."""
    running, peak = 0, 0

    async def started(event: ev.Event) -> None:
        nonlocal running, peak
        if event.data.get("action") == "create_campaign":
            running += 1
            peak = max(peak, running)

    async def finished(event: ev.Event) -> None:
        nonlocal running
        if event.data.get("action") == "create_campaign":
            running -= 1

    env.bus.subscribe(ev.WORKFLOW_STARTED, started)
    env.bus.subscribe(ev.WORKFLOW_COMPLETED, finished)
    response = await orchestrator.execute(bulk_request([item(f"C{i}") for i in range(8)]))
    assert response.result is not None, response.error
    assert response.result["succeeded"] == 8
    assert 1 < peak <= 4


async def test_a_repeated_bulk_redoes_nothing(
    orchestrator: Orchestrator, sandbox: Sandbox, client: httpx2.AsyncClient
) -> None:
    """The same bulk request_id is answered from the journal; an item's own id replays too."""
    first = await orchestrator.execute(bulk_request([item("A"), item("B")], "twice"))
    writes = write_count(sandbox)
    again = await orchestrator.execute(bulk_request([item("A"), item("B")], "twice"))
    assert again.replayed
    assert again.result == first.result
    alone = await orchestrator.execute({**item("B"), "request_id": "twice/1"})
    assert alone.replayed
    assert write_count(sandbox) == writes
    assert await campaigns(client) == ["A", "B"]


async def test_a_dry_run_bulk_makes_every_item_a_dry_run(
    orchestrator: Orchestrator, client: httpx2.AsyncClient
) -> None:
    """options.dry_run on the bulk reaches its items: nothing is created."""
    response = await orchestrator.execute(bulk_request([item("A"), item("B")], dry_run=True))
    assert response.result is not None, response.error
    assert [o["result"]["dry_run"] for o in response.result["results"]] == [True, True]
    assert await campaigns(client) == []


@pytest.mark.parametrize(
    ("requests", "field"),
    [
        ([], "data.requests"),
        ([item(f"C{i}") for i in range(51)], "data.requests"),
        ([item("A"), {"action": "bulk", "data": {"requests": []}}], "data.requests[1].action"),
        (
            [{**item("A"), "request_id": "x"}, {**item("B"), "request_id": "x"}],
            "data.requests[1].request_id",
        ),
        (["not an object"], "data.requests[0]"),
    ],
)
async def test_a_malformed_envelope_refuses_the_whole_bulk(
    orchestrator: Orchestrator,
    client: httpx2.AsyncClient,
    requests: list[Any],
    field: str,
) -> None:
    """No items, too many, a nested bulk, a shared request_id: refused whole, naming the field."""
    with pytest.raises(RequestValidationError) as caught:
        await orchestrator.execute(bulk_request(requests))
    assert caught.value.field == field
    assert await campaigns(client) == []
