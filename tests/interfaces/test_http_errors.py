"""Errors in one JSON shape: a caller's mistake is a 4xx naming the field, never a 500."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx2
import pytest
import structlog
from starlette.applications import Starlette

from meta_agent.interfaces.http import ApiKey, ApiKeyStore
from meta_agent.sandbox import ManualClock
from tests.conftest import INR_ACCOUNT
from tests.interfaces.test_http_support import campaign_request, open_harness


def _without(body: dict[str, Any], name: str) -> dict[str, Any]:
    return {key: value for key, value in body.items() if key != name}


def _adset(**changes: Any) -> dict[str, Any]:
    body = campaign_request("bad")
    body["data"]["adsets"][0].update(changes)
    return body


BAD_BODIES = {
    "no action": (_without(campaign_request("bad"), "action"), "action", "is required"),
    "unknown action": ({**campaign_request("bad"), "action": "launch"}, "action", "must be one of"),
    "unknown field": ({**campaign_request("bad"), "colour": "red"}, "colour", "not a known field"),
    "bad account": ({**campaign_request("bad"), "account_id": "act_x"}, "account_id", "act_"),
    "bad callback": (
        {**campaign_request("bad"), "callback_url": "ftp://x"},
        "callback_url",
        "https://",
    ),
    "bad option": (
        {**campaign_request("bad"), "options": {"dry_run": "perhaps"}},
        "options.dry_run",
        "bool",
    ),
    "bad budget": (_adset(daily_budget="lots"), "data.adsets[0].daily_budget", "integer"),
    "credentials": (
        {**campaign_request("bad"), "credentials": {"token": "x"}},
        "credentials",
        "",
    ),
}


@pytest.mark.parametrize(("body", "field", "says"), BAD_BODIES.values(), ids=BAD_BODIES.keys())
async def test_a_bad_request_body_is_a_422_naming_the_field(
    http: httpx2.AsyncClient, body: dict[str, Any], field: str, says: str
) -> None:
    """Whatever is wrong in the body, the answer is 422 in our shape, naming the field."""
    response = await http.post("/v1/requests", json=body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["kind"] == "request_validation_error"
    assert error["field"] == field, error
    assert error["message"].startswith(f"{field}: ")
    assert says in error["message"]


async def test_malformed_json_is_a_422_not_a_500(http: httpx2.AsyncClient) -> None:
    """A body that is not JSON is the caller's mistake."""
    response = await http.post(
        "/v1/requests", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["kind"] == "request_validation_error"


async def test_a_request_id_reused_for_another_body_is_a_409(http: httpx2.AsyncClient) -> None:
    """The same request_id with another body is a conflict naming request_id."""
    assert (await http.post("/v1/requests", json=campaign_request("taken"))).status_code == 200
    other = campaign_request("taken")
    other["data"]["campaign"]["name"] = "Summer shoes"
    response = await http.post("/v1/requests", json=other)
    assert response.status_code == 409
    assert response.json()["error"]["field"] == "request_id"


BAD_REPORTS = {
    "bad format": (f"/v1/reports/{INR_ACCOUNT}", {"format": "pdf"}, "format"),
    "bad level": (f"/v1/reports/{INR_ACCOUNT}", {"level": "galaxy"}, "level"),
    "since without until": (f"/v1/reports/{INR_ACCOUNT}", {"since": "2026-01-01"}, "until"),
    "bad date": (f"/v1/reports/{INR_ACCOUNT}", {"since": "Jan", "until": "Feb"}, "since"),
    "bad preset": (f"/v1/reports/{INR_ACCOUNT}", {"date_preset": "forever"}, "date_preset"),
    "preset and range": (
        f"/v1/reports/{INR_ACCOUNT}",
        {"date_preset": "last_7d", "since": "2026-01-01", "until": "2026-01-02"},
        "date_preset",
    ),
    "bad object id": ("/v1/reports/campaign-1", {"level": "campaign"}, "object_id"),
}


@pytest.mark.parametrize(("path", "params", "field"), BAD_REPORTS.values(), ids=BAD_REPORTS.keys())
async def test_a_bad_report_query_is_a_422_naming_the_field(
    http: httpx2.AsyncClient, path: str, params: dict[str, str], field: str
) -> None:
    """Report parameters are checked before anything is asked of Meta."""
    response = await http.get(path, params=params)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field


async def test_a_bad_insights_query_is_a_422_naming_the_field(http: httpx2.AsyncClient) -> None:
    """An unknown insights field is named with its position."""
    response = await http.post(
        "/v1/insights",
        json={"level": "account", "object_id": INR_ACCOUNT, "fields": ["spend", "vibes"]},
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["field"] == "fields"
    assert "'vibes' is not an insights field" in error["message"]


async def test_a_report_on_an_object_meta_does_not_know_is_a_404(
    http: httpx2.AsyncClient,
) -> None:
    """Meta's not-found is the caller's mistake too: a 404, not a 500."""
    response = await http.get("/v1/reports/999999999", params={"level": "campaign"})
    assert response.status_code == 404, response.text
    assert response.json()["error"]["kind"] == "not_found"


async def test_a_callback_without_a_webhook_secret_is_refused(
    app: Starlette, clock: ManualClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no secret to sign with, a callback_url is a 422 naming it (nothing runs)."""
    async with open_harness(app, clock, tmp_path, monkeypatch, webhook_secret=None) as harness:
        async with harness.client() as http:
            body = {**campaign_request("cb"), "callback_url": "http://127.0.0.1:9/hook"}
            response = await http.post("/v1/requests", json=body)
        assert response.status_code == 422
        assert response.json()["error"]["field"] == "callback_url"
        assert await harness.service.workflows() == []


async def test_unknown_routes_and_methods_use_the_error_shape(http: httpx2.AsyncClient) -> None:
    """404 and 405 from routing read like every other error."""
    missing = await http.get("/v1/nothing")
    wrong = await http.delete("/v1/requests")
    assert missing.status_code == 404
    assert missing.json()["error"]["kind"] == "not_found"
    assert wrong.status_code == 405
    assert wrong.json()["error"]["kind"] == "method_not_allowed"


class BrokenKeys(ApiKeyStore):
    """A key store whose backing storage fails (an internal fault, not the caller's)."""

    def authenticate(self, plaintext: str) -> ApiKey | None:
        """Fail as a broken backend would."""
        raise OSError("keys backend at /srv/secret-path is unreachable")


async def test_an_internal_error_is_a_generic_500_with_an_error_id(
    app: Starlette, clock: ManualClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unexpected exception is a 500 with an error id (logged) and no internals."""
    async with open_harness(app, clock, tmp_path, monkeypatch) as harness:
        harness.api.state.http.keys = BrokenKeys()
        with structlog.testing.capture_logs() as events:
            async with harness.client() as http:
                response = await http.get("/v1/workflows")
    assert response.status_code == 500, response.text
    error = response.json()["error"]
    assert error["kind"] == "internal_error"
    assert error["error_id"] in error["message"]
    assert "secret-path" not in response.text
    logged = [event for event in events if event["event"] == "http.error.internal"]
    assert logged[0]["error_id"] == error["error_id"]
