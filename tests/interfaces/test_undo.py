"""`workflows undo` over HTTP and the CLI: a dry run first, then the sandbox as witness."""

from __future__ import annotations

from pathlib import Path

import httpx2

from meta_agent.interfaces.demo_request import demo_request
from tests.conftest import TOKEN, VERSION
from tests.interfaces.conftest import invoke, json_of, write_request
from tests.orchestrator.conftest import full_campaign_request, live_objects


async def test_http_undo_is_a_dry_run_until_asked_and_needs_force_over_changes(
    http: httpx2.AsyncClient, client: httpx2.AsyncClient
) -> None:
    body = full_campaign_request("http-undo", images=1, adsets=1, ads_per_adset=1)
    outcome = (await http.post("/v1/requests", json=body)).json()
    assert outcome["status"] == "COMPLETED", outcome
    workflow_id = outcome["workflow_id"]
    plan = await http.post(f"/v1/workflows/{workflow_id}/undo")
    assert plan.status_code == 200, plan.text
    assert plan.json()["dry_run"] is True
    assert plan.json()["delete"] == 4
    assert len(await live_objects(client)) == 4

    campaign_id = outcome["result"]["campaign"]["id"]
    edited = await client.post(
        f"/{VERSION}/{campaign_id}", data={"name": "Renamed by hand", "access_token": TOKEN}
    )
    assert edited.status_code == 200
    refused = await http.post(f"/v1/workflows/{workflow_id}/undo", json={"dry_run": False})
    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert "changed since" in error["message"]
    assert error["changed"][0]["changed_since"]["name"]["now"] == "Renamed by hand"

    done = await http.post(
        f"/v1/workflows/{workflow_id}/undo", json={"dry_run": False, "force": True}
    )
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "ROLLED_BACK"
    assert await live_objects(client) == []

    unknown = await http.post(f"/v1/workflows/{workflow_id}/undo", json={"dryrun": True})
    assert unknown.status_code == 422  # a misspelt option is named, not ignored


def test_cli_undo_shows_the_plan_asks_and_deletes(tmp_path: Path) -> None:
    request = demo_request("cli-undo", activate=False)
    data = request["data"]
    data["adsets"], data["ads"], data["images"] = (
        data["adsets"][:1],
        data["ads"][:1],
        data["images"][:1],
    )
    ran = json_of(invoke("run", str(write_request(tmp_path, request)), "--json"))
    assert ran["status"] == "COMPLETED", ran
    workflow_id = ran["workflow_id"]

    shown = invoke("workflows", "undo", workflow_id, "--dry-run")
    assert shown.exit_code == 0, shown.output
    assert "4 to delete" in shown.stdout  # campaign, ad set, creative, ad
    declined = invoke("workflows", "undo", workflow_id, stdin="n\n")
    assert declined.exit_code == 1
    assert "Nothing was changed" in declined.output

    undone = invoke("workflows", "undo", workflow_id, "--yes", "--json")
    assert undone.exit_code == 0, undone.output
    assert json_of(undone)["status"] == "ROLLED_BACK"
    again = invoke("workflows", "undo", workflow_id, "--json")
    assert again.exit_code == 2
    assert "nothing is left to undo" in again.output
