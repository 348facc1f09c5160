"""The HTTP service in process: every endpoint, through the real service on the sandbox."""

from __future__ import annotations

import uuid
from typing import Any

import httpx2

from meta_agent.orchestrator.requests import OrchestratorRequest
from tests.conftest import INR_ACCOUNT
from tests.interfaces.test_http_support import Harness, campaign_request
from tests.orchestrator.conftest import full_campaign_request


async def submit(http: httpx2.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    """POST a request, asserting a 200, and return the outcome."""
    response = await http.post("/v1/requests", json=body)
    assert response.status_code == 200, response.text
    outcome: dict[str, Any] = response.json()
    return outcome


async def test_a_full_campaign_runs_synchronously(http: httpx2.AsyncClient) -> None:
    """POST /v1/requests runs create_full_campaign to its end and answers the outcome."""
    outcome = await submit(
        http, full_campaign_request("full-1", images=2, adsets=1, ads_per_adset=1)
    )
    assert outcome["status"] == "COMPLETED", outcome
    assert outcome["request_id"] == "full-1"
    assert outcome["result"]["campaign"]["id"]
    assert len(outcome["result"]["ads"]) == 1


async def test_a_repeated_request_id_replays_the_first_outcome(http: httpx2.AsyncClient) -> None:
    """Sending the same request again does nothing and says it was replayed."""
    first = await submit(http, campaign_request("again"))
    second = await submit(http, campaign_request("again"))
    assert second["replayed"] is True
    assert second["workflow_id"] == first["workflow_id"]


async def test_request_status_by_request_id(http: httpx2.AsyncClient) -> None:
    """GET /v1/requests/{id} answers the journaled outcome; an unknown id is a 404."""
    outcome = await submit(http, campaign_request("status-1"))
    response = await http.get("/v1/requests/status-1")
    assert response.status_code == 200
    assert response.json()["status"] == "COMPLETED"
    assert response.json()["workflow_id"] == outcome["workflow_id"]
    missing = await http.get("/v1/requests/nobody")
    assert missing.status_code == 404
    assert missing.json()["error"]["field"] == "request_id"


async def test_workflows_list_and_journal(http: httpx2.AsyncClient) -> None:
    """GET /v1/workflows lists newest first; GET /v1/workflows/{id} has steps and resources."""
    outcome = await submit(http, campaign_request("wf-1"))
    listing = (await http.get("/v1/workflows", params={"status": "COMPLETED"})).json()
    assert listing["data"][0]["id"] == outcome["workflow_id"]
    assert "request" not in listing["data"][0]
    journal = (await http.get(f"/v1/workflows/{outcome['workflow_id']}")).json()
    assert journal["workflow"]["status"] == "COMPLETED"
    assert [step["status"] for step in journal["steps"]]
    assert all(step["status"] == "COMPLETED" for step in journal["steps"])
    assert {resource["kind"] for resource in journal["resources"]} >= {"campaign", "adset"}


async def test_an_unknown_workflow_is_a_404_naming_the_field(http: httpx2.AsyncClient) -> None:
    """The journal of an id never seen is a 404 in the one error shape."""
    response = await http.get("/v1/workflows/nope")
    assert response.status_code == 404
    assert response.json()["error"] == {
        "kind": "not_found",
        "message": "no workflow 'nope'",
        "field": "workflow_id",
    }


async def test_resume_carries_on_an_interrupted_workflow(
    harness: Harness, http: httpx2.AsyncClient
) -> None:
    """POST .../resume runs a workflow the journal holds as RUNNING (interrupted) to its end."""
    request = OrchestratorRequest.parse(campaign_request("crashed"))
    workflow_id = uuid.uuid4().hex
    await harness.service.parts.store.create_workflow(
        workflow_id, "crashed", request.action, request.account_id, request.journal_form()
    )
    response = await http.post(f"/v1/workflows/{workflow_id}/resume")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "COMPLETED"
    again = await http.post(f"/v1/workflows/{workflow_id}/resume")
    assert again.status_code == 409
    assert again.json()["error"]["kind"] == "conflict"


async def test_rollback_undoes_a_failed_workflow(
    http: httpx2.AsyncClient, client: httpx2.AsyncClient
) -> None:
    """POST .../rollback deletes what a failed workflow (left as it was) created."""
    fault = "unknown:method=POST,path=act_*/adsets"
    assert (await client.post("/_sandbox/faults", json={"spec": fault})).status_code == 200
    body = full_campaign_request("fails", images=1, adsets=1, ads_per_adset=1)
    body["options"] = {"rollback_on_failure": False}
    failed = await submit(http, body)
    assert failed["status"] == "FAILED", failed
    assert failed["error"]["kind"] == "workflow_failed"
    response = await http.post(f"/v1/workflows/{failed['workflow_id']}/rollback")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ROLLED_BACK"


async def test_insights_rows(http: httpx2.AsyncClient) -> None:
    """POST /v1/insights answers the rows of a valid query."""
    await submit(http, campaign_request("ins-1"))
    response = await http.post(
        "/v1/insights",
        json={"level": "account", "object_id": INR_ACCOUNT, "date_preset": "last_7d"},
    )
    assert response.status_code == 200, response.text
    assert isinstance(response.json()["data"], list)


async def test_a_report_for_an_account_and_a_campaign(http: httpx2.AsyncClient) -> None:
    """GET /v1/reports/{id} answers the performance report as JSON, at the object's level."""
    outcome = await submit(http, campaign_request("rep-1"))
    account = await http.get(f"/v1/reports/{INR_ACCOUNT}", params={"date_preset": "last_7d"})
    assert account.status_code == 200, account.text
    assert account.json()["level"] == "account"
    assert account.json()["currency"] == "INR"
    campaign_id = outcome["result"]["campaign"]["id"]
    campaign = await http.get(
        f"/v1/reports/{campaign_id}",
        params={"level": "campaign", "since": "2026-01-01", "until": "2026-01-07"},
    )
    assert campaign.status_code == 200, campaign.text
    assert {"summary", "daily", "platforms", "demographics", "recommendations"} <= set(
        campaign.json()
    )


async def test_healthz_reports_every_check(http: httpx2.AsyncClient) -> None:
    """GET /healthz is 200 with the four checks of §11.3 when all pass."""
    response = await http.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "healthy"
    assert set(body["checks"]) == {"api_connectivity", "database", "cache", "agents", "queues"}


async def test_healthz_is_503_when_a_check_fails(
    http: httpx2.AsyncClient, client: httpx2.AsyncClient
) -> None:
    """When Meta (the sandbox) refuses, /healthz answers 503 naming the failed check."""
    fault = await client.post("/_sandbox/faults", json={"spec": "unknown:path=me"})
    assert fault.status_code == 200
    response = await http.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["api_connectivity"]["ok"] is False


async def test_metrics_after_a_workflow(http: httpx2.AsyncClient) -> None:
    """/metrics is Prometheus text with the request and Graph call counters after a workflow."""
    await submit(http, campaign_request("metrics-1"))
    response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.text
    assert 'meta_agent_requests_total{action="create_campaign",agent="orchestrator"}' in text
    assert "meta_agent_api_calls_total{" in text


async def test_the_openapi_document_has_examples_and_tags(http: httpx2.AsyncClient) -> None:
    """/openapi.json documents the routes with tags and request examples."""
    document = (await http.get("/openapi.json")).json()
    submit_op = document["paths"]["/v1/requests"]["post"]
    examples = submit_op["requestBody"]["content"]["application/json"]["examples"]
    assert {"create_full_campaign", "get_insights"} <= set(examples)
    insights_op = document["paths"]["/v1/insights"]["post"]
    assert insights_op["requestBody"]["content"]["application/json"]["examples"]
    assert {tag["name"] for tag in document["tags"]} == {
        "requests",
        "workflows",
        "insights",
        "operations",
    }
    assert "401" in submit_op["responses"]
    assert "403" in submit_op["responses"]
