"""Undoing a completed workflow, and the names objects end with (the sandbox as witness)."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from meta_agent.errors import ConflictError
from meta_agent.orchestrator.env import Env
from meta_agent.orchestrator.orchestrator import Orchestrator
from tests.conftest import TOKEN, VERSION
from tests.orchestrator.conftest import full_campaign_request, live_objects

KINDS = ("campaign", "adset", "adcreative", "ad")


async def _launch(orchestrator: Orchestrator, request_id: str = "undo-1") -> dict[str, Any]:
    response = await orchestrator.execute(
        full_campaign_request(request_id, images=2, adsets=2, ads_per_adset=1)
    )
    assert response.status == "COMPLETED", response.error
    return response.model_dump(mode="json")


async def _edit(client: httpx2.AsyncClient, object_id: str, **fields: Any) -> None:
    """A change made outside meta-agent (as in Ads Manager), straight to the sandbox."""
    answer = await client.post(f"/{VERSION}/{object_id}", data={**fields, "access_token": TOKEN})
    assert answer.status_code == 200, answer.text


async def test_a_completed_launch_ends_with_the_names_the_request_gave(
    orchestrator: Orchestrator, client: httpx2.AsyncClient
) -> None:
    """The idempotency tags leave every name once the workflow completed."""
    await _launch(orchestrator)
    names = sorted(record["name"] for record in await live_objects(client, KINDS))
    assert len(names) == 1 + 2 + 2 + 2
    assert not [name for name in names if "[ma:" in name], names
    assert "Winter shoes" in names
    assert "Adults 0" in names


async def test_naming_keys_keep_leaves_the_tags(env: Env, client: httpx2.AsyncClient) -> None:
    """``naming.keys: keep``: every object still carries its key after completion."""
    env.naming_keys = "keep"
    await _launch(Orchestrator(env))
    names = [record["name"] for record in await live_objects(client, KINDS)]
    assert len(names) == 7
    assert all(" [ma:" in name for name in names), names


async def test_undo_dry_run_lists_every_object_and_changes_nothing(
    orchestrator: Orchestrator, client: httpx2.AsyncClient
) -> None:
    launched = await _launch(orchestrator)
    plan = await orchestrator.undo(launched["workflow_id"])
    assert plan["dry_run"] is True
    assert plan["delete"] == 7
    assert plan["restore"] == 0
    assert plan["changed_since"] == []
    kinds = [item["kind"] for item in plan["objects"]]
    assert kinds.index("ad") < kinds.index("adset") < kinds.index("campaign")  # newest first
    assert {item["name"] for item in plan["objects"] if item["kind"] == "campaign"} == {
        "Winter shoes"
    }
    assert len(await live_objects(client, KINDS)) == 7


async def test_undo_deletes_what_a_completed_launch_created(
    orchestrator: Orchestrator, client: httpx2.AsyncClient
) -> None:
    launched = await _launch(orchestrator)
    answer = await orchestrator.undo(launched["workflow_id"], dry_run=False)
    assert answer["status"] == "ROLLED_BACK"
    assert answer["undo"]["delete"] == 7
    assert await live_objects(client, KINDS) == []
    # Once undone, there is nothing left to undo, and the journal says so.
    with pytest.raises(ConflictError, match="nothing is left to undo"):
        await orchestrator.undo(launched["workflow_id"])
    _, _, resources = await orchestrator.workflow(launched["workflow_id"])
    assert all(r.undone for r in resources if r.kind in KINDS)


async def test_objects_changed_since_are_named_and_need_force(
    orchestrator: Orchestrator, client: httpx2.AsyncClient
) -> None:
    launched = await _launch(orchestrator)
    adset_id = launched["result"]["adsets"][0]["id"]
    await _edit(client, adset_id, daily_budget="70000")
    plan = await orchestrator.undo(launched["workflow_id"])
    assert plan["changed_since"] == [adset_id]
    (changed,) = [item for item in plan["objects"] if item["id"] == adset_id]
    assert changed["changed_since"]["daily_budget"] == {"was": 50_000, "now": "70000"}
    with pytest.raises(ConflictError, match="changed since") as refused:
        await orchestrator.undo(launched["workflow_id"], dry_run=False)
    assert refused.value.details["changed"][0]["id"] == adset_id
    assert len(await live_objects(client, KINDS)) == 7  # refused: nothing was touched
    answer = await orchestrator.undo(launched["workflow_id"], dry_run=False, force=True)
    assert answer["status"] == "ROLLED_BACK"
    assert await live_objects(client, KINDS) == []


async def test_undo_of_an_update_restores_the_values_before_it(
    orchestrator: Orchestrator, client: httpx2.AsyncClient
) -> None:
    launched = await _launch(orchestrator, "undo-base")
    adset_id = launched["result"]["adsets"][0]["id"]
    updated = await orchestrator.execute(
        {
            "request_id": "undo-upd",
            "action": "update_campaign",
            "data": {
                "updates": [
                    {"object_id": adset_id, "level": "adset", "changes": {"daily_budget": 60_000}}
                ]
            },
        }
    )
    assert updated.status == "COMPLETED", updated.error
    plan = await orchestrator.undo(updated.workflow_id)
    assert [(item["action"], item["restore"]) for item in plan["objects"]] == [
        ("restore", {"daily_budget": 50_000})
    ]
    answer = await orchestrator.undo(updated.workflow_id, dry_run=False)
    assert answer["status"] == "ROLLED_BACK"
    (adset,) = [r for r in await live_objects(client, ("adset",)) if r["id"] == adset_id]
    assert int(adset["daily_budget"]) == 50_000


async def test_objects_already_gone_are_skipped(
    orchestrator: Orchestrator, client: httpx2.AsyncClient
) -> None:
    launched = await _launch(orchestrator)
    ad_id = launched["result"]["ads"][0]["id"]
    deleted = await client.delete(f"/{VERSION}/{ad_id}", params={"access_token": TOKEN})
    assert deleted.status_code == 200
    plan = await orchestrator.undo(launched["workflow_id"])
    assert plan["already_gone"] == 1
    assert plan["changed_since"] == []
    answer = await orchestrator.undo(launched["workflow_id"], dry_run=False)
    assert answer["status"] == "ROLLED_BACK"
    assert await live_objects(client, KINDS) == []


async def test_a_workflow_that_did_not_complete_is_rolled_back_not_undone(
    orchestrator: Orchestrator, client: httpx2.AsyncClient
) -> None:
    """A failed workflow kept as it is (no rollback asked) is for `rollback`, not `undo`."""
    fault = "graph_error:method=POST,path=*,code=100,in_batch=true"
    assert (await client.post("/_sandbox/faults", json={"spec": fault})).status_code == 200
    request = full_campaign_request("undo-bad", images=1, adsets=1, ads_per_adset=1)
    request["options"] = {"rollback_on_failure": False}
    failed = await orchestrator.execute(request)
    assert failed.status == "FAILED", failed
    with pytest.raises(ConflictError, match="workflows rollback"):
        await orchestrator.undo(failed.workflow_id)
    with pytest.raises(ConflictError, match="No workflow"):
        await orchestrator.undo("no-such-workflow")
