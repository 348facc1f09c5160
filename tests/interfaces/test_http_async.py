"""Background requests: 202 now, the outcome later, POSTed signed to the callback URL."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from meta_agent.interfaces.http import sign, verify_signature
from meta_agent.interfaces.http.webhooks import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
)
from meta_agent.sandbox import ManualClock
from tests.conftest import LiveServer
from tests.interfaces.test_http_support import (
    WEBHOOK_SECRET,
    Harness,
    campaign_request,
    open_harness,
)


@dataclass
class Receiver:
    """A callback receiver: answers the scripted statuses in turn, then 200; checks signatures."""

    statuses: list[int] = field(default_factory=list)
    deliveries: list[dict[str, Any]] = field(default_factory=list)

    async def hook(self, request: Request) -> Response:
        """Record the delivery and whether its signature verifies."""
        body = await request.body()
        self.deliveries.append(
            {
                "body": json.loads(body),
                "verified": verify_signature(
                    WEBHOOK_SECRET,
                    request.headers[TIMESTAMP_HEADER],
                    body,
                    request.headers[SIGNATURE_HEADER],
                ),
                "delivery": request.headers[DELIVERY_HEADER],
            }
        )
        status = self.statuses.pop(0) if self.statuses else 200
        return Response(status_code=status)


@pytest.fixture
def receiver() -> Receiver:
    """A receiver that fails the first delivery with a 500."""
    return Receiver(statuses=[500])


@pytest.fixture
def hook_url(receiver: Receiver) -> Iterator[str]:
    """The receiver served by uvicorn on loopback."""
    with LiveServer(Starlette(routes=[Route("/hook", receiver.hook, methods=["POST"])])) as live:
        yield f"{live.url}/hook"


@pytest.fixture
async def harness(
    app: Starlette, clock: ManualClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Harness]:
    """The HTTP service (3 callback attempts, loopback receivers allowed) on the sandbox."""
    monkeypatch.setenv("META_AGENT_SERVICE__EGRESS_ALLOW_LOOPBACK", "true")
    async with open_harness(app, clock, tmp_path, monkeypatch, webhook_attempts=3) as built:
        yield built


async def finish(harness: Harness) -> None:
    """Wait for every background request (and its callback) to end."""
    await harness.api.state.http.jobs.drain(30)


async def test_a_callback_is_signed_and_retried_after_a_500(
    harness: Harness, receiver: Receiver, hook_url: str
) -> None:
    """The outcome is POSTed, HMAC-signed; after the receiver's 500 it comes again and lands."""
    async with harness.client() as http:
        body = {**campaign_request("cb-1"), "callback_url": hook_url}
        response = await http.post("/v1/requests", json=body)
        assert response.status_code == 202, response.text
        assert response.json()["request_id"] == "cb-1"
        assert response.headers["location"] == "/v1/requests/cb-1"
        await finish(harness)
        status = (await http.get("/v1/requests/cb-1")).json()
    assert [d["verified"] for d in receiver.deliveries] == [True, True]
    assert receiver.deliveries[0]["delivery"] == receiver.deliveries[1]["delivery"]
    delivered = receiver.deliveries[1]["body"]
    assert delivered["status"] == "COMPLETED"
    assert delivered["workflow_id"] == status["workflow_id"]
    assert status["status"] == "COMPLETED"
    assert harness.delays == [1.0]


async def test_delivery_gives_up_after_the_bounded_attempts(
    harness: Harness, receiver: Receiver, hook_url: str
) -> None:
    """A receiver that always fails gets exactly `attempts` tries, with growing waits between."""
    receiver.statuses[:] = [503, 503, 503, 503]
    async with harness.client() as http:
        body = {**campaign_request("cb-2"), "callback_url": hook_url}
        assert (await http.post("/v1/requests", json=body)).status_code == 202
        await finish(harness)
    assert len(receiver.deliveries) == 3
    assert harness.delays == [1.0, 2.0]


async def test_a_refusing_receiver_is_not_retried(
    harness: Harness, receiver: Receiver, hook_url: str
) -> None:
    """A 4xx from the receiver (other than 408/429) ends the delivery at once."""
    receiver.statuses[:] = [400]
    async with harness.client() as http:
        body = {**campaign_request("cb-3"), "callback_url": hook_url}
        assert (await http.post("/v1/requests", json=body)).status_code == 202
        await finish(harness)
    assert len(receiver.deliveries) == 1
    assert harness.delays == []


async def test_a_request_refused_in_the_background_is_reported(
    harness: Harness, receiver: Receiver, hook_url: str
) -> None:
    """Validation that fails after the 202 is delivered, and its status is REJECTED by id."""
    receiver.statuses.clear()
    bad = campaign_request("cb-4", callback_url=hook_url)
    bad["data"]["campaign"]["objective"] = "OUTCOME_FAME"
    async with harness.client() as http:
        assert (await http.post("/v1/requests", json=bad)).status_code == 202
        await finish(harness)
        status = (await http.get("/v1/requests/cb-4")).json()
    assert status["status"] == "REJECTED"
    assert status["error"]["kind"] == "request_validation_error"
    assert status["error"]["field"].startswith("data.campaign")
    assert receiver.deliveries[0]["body"] == status


async def test_async_without_a_callback_is_polled(harness: Harness) -> None:
    """?async=true answers 202; the outcome is then at GET /v1/requests/{id}."""
    async with harness.client() as http:
        response = await http.post("/v1/requests?async=true", json=campaign_request("poll-1"))
        assert response.status_code == 202
        assert response.json()["status"] == "ACCEPTED"
        await finish(harness)
        status = await http.get(response.json()["status_url"])
    assert status.json()["status"] == "COMPLETED"


def test_a_signature_binds_the_body_and_the_timestamp() -> None:
    """A changed body, a changed timestamp, a wrong secret or an old delivery fail to verify."""
    now = str(int(time.time()))
    body = b'{"status":"COMPLETED"}'
    signature = sign(WEBHOOK_SECRET, now, body)
    assert signature.startswith("sha256=")
    assert verify_signature(WEBHOOK_SECRET, now, body, signature)
    assert not verify_signature(WEBHOOK_SECRET, now, body + b" ", signature)
    assert not verify_signature("other-secret", now, body, signature)
    old = str(int(time.time()) - 3600)
    assert not verify_signature(WEBHOOK_SECRET, old, body, sign(WEBHOOK_SECRET, old, body))
    assert not verify_signature(WEBHOOK_SECRET, "soon", body, signature)
