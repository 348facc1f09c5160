"""The egress guard over HTTP: a callback_url is checked at submit (422) and at delivery."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from structlog.testing import capture_logs

from meta_agent.egress import EgressPolicy
from meta_agent.sandbox import ManualClock
from tests.conftest import LiveServer
from tests.interfaces.test_http_support import Harness, campaign_request, open_harness


@pytest.fixture
async def harness(
    app: Starlette, clock: ManualClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Harness]:
    """The HTTP service with the default guard: public addresses only."""
    async with open_harness(app, clock, tmp_path, monkeypatch, webhook_attempts=3) as built:
        yield built


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:9/hook", "a loopback address"),
        ("http://[::1]/hook", "a loopback address"),
        ("http://2130706433/_sandbox/reset", "a loopback address"),
        ("http://169.254.169.254/latest/meta-data/", "a link-local address"),
        ("http://10.0.0.8/hook", "a private address"),
        ("http://100.64.0.1/hook", "a shared (CGNAT"),
    ],
)
async def test_a_callback_url_off_the_public_internet_is_a_422_at_submit(
    harness: Harness, url: str, reason: str
) -> None:
    """Loopback, metadata, private and CGNAT callbacks: 422 naming callback_url, nothing runs."""
    async with harness.client() as http:
        response = await http.post("/v1/requests", json=campaign_request("cb-x", callback_url=url))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["kind"], error["field"]) == ("request_validation_error", "callback_url")
    assert error["message"].startswith(f"callback_url: {url}")
    assert reason in error["message"]
    assert "only public addresses" in error["message"]
    assert harness.api.state.http.jobs.get("cb-x") is None


async def test_allowing_loopback_still_refuses_private_callbacks(
    app: Starlette, clock: ManualClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """service.egress_allow_loopback admits no private or link-local callback."""
    monkeypatch.setenv("META_AGENT_SERVICE__EGRESS_ALLOW_LOOPBACK", "true")
    async with open_harness(app, clock, tmp_path, monkeypatch) as harness, harness.client() as http:
        for url in ("http://192.168.1.1/hook", "http://169.254.169.254/"):
            body = campaign_request("cb-p", callback_url=url)
            response = await http.post("/v1/requests", json=body)
            assert response.status_code == 422, response.text
            assert response.json()["error"]["field"] == "callback_url"


async def test_a_callback_rebound_to_loopback_is_refused_at_delivery_and_not_retried(
    harness: Harness,
) -> None:
    """Public at submit, loopback at delivery: refused, logged, recorded failed, one attempt."""
    hits: list[str] = []

    async def hook(request: Request) -> Response:
        hits.append(request.url.path)
        return Response(status_code=204)

    answers = [["93.184.216.34"], ["127.0.0.1"]]

    async def rebinding(host: str, port: int) -> list[str]:
        return answers.pop(0) if len(answers) > 1 else answers[0]

    sender = harness.api.state.http.jobs.sender
    sender.egress = EgressPolicy(resolver=rebinding)
    with LiveServer(Starlette(routes=[Route("/hook", hook, methods=["POST"])])) as live:
        port = live.url.rsplit(":", 1)[1]
        body = campaign_request("cb-r", callback_url=f"http://hooks.test:{port}/hook")
        with capture_logs() as logs:
            async with harness.client() as http:
                assert (await http.post("/v1/requests", json=body)).status_code == 202
                await harness.api.state.http.jobs.drain(30)
    refused = [entry for entry in logs if entry["event"] == "http.webhook.refused"]
    assert len(refused) == 1
    assert "resolves to 127.0.0.1, a loopback address" in refused[0]["reason"]
    assert harness.api.state.http.jobs.get("cb-r").delivered is False
    assert hits == []
    assert harness.delays == []
