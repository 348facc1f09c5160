"""What the HTTP service refuses before it works: big bodies, deep JSON, huge images, long waits."""

from __future__ import annotations

import asyncio
import base64
import copy
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from PIL import Image
from starlette.applications import Starlette

from meta_agent.agents.media import ImageRules
from meta_agent.config import load_settings
from meta_agent.interfaces.http.schemas import FULL_CAMPAIGN_EXAMPLE
from meta_agent.sandbox import ManualClock, SandboxConfig, create_app
from tests.interfaces.test_http_support import Harness, campaign_request, open_harness

LIMIT = 64 * 1024


class WaitingClock(ManualClock):
    """Sandbox time that moves only when told, except that its sleeps also take real time."""

    async def sleep(self, seconds: float) -> None:
        """Wait for real (briefly, in these tests), then move the clock on."""
        await asyncio.sleep(seconds)
        await super().sleep(seconds)


@pytest.fixture
async def harness(
    app: Starlette, clock: ManualClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Harness]:
    """The HTTP service with a 64 KiB body limit over the in-process sandbox."""
    async with open_harness(app, clock, tmp_path, monkeypatch, max_body_bytes=LIMIT) as built:
        yield built


@pytest.fixture
async def http(harness: Harness) -> AsyncIterator[httpx2.AsyncClient]:
    """A client holding the all-powerful key."""
    async with harness.client() as client:
        yield client


def full_campaign(image: dict[str, Any]) -> dict[str, Any]:
    """The documented full-campaign example, with ``image`` as its one image."""
    body = copy.deepcopy(FULL_CAMPAIGN_EXAMPLE)
    body["data"]["images"] = [{"name": "hero", **image}]
    return body


def png(width: int, height: int) -> bytes:
    """A PNG of one colour: a few kilobytes, however many pixels it declares."""
    buffer = io.BytesIO()
    Image.new("1", (width, height)).save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


async def test_a_declared_length_over_the_limit_is_refused_at_once(
    http: httpx2.AsyncClient,
) -> None:
    """Content-Length over service.max_body_bytes: 413 in the error shape, nothing parsed."""
    response = await http.post(
        "/v1/requests",
        content=b"{}",
        headers={"Content-Length": str(LIMIT + 1), "Content-Type": "application/json"},
    )
    assert response.status_code == 413, response.text
    error = response.json()["error"]
    assert error["kind"] == "too_large"
    assert error["limit_bytes"] == LIMIT
    assert "url" in error["message"]


async def test_a_streamed_body_is_cut_off_as_it_passes_the_limit(
    http: httpx2.AsyncClient,
) -> None:
    """A chunked body with no length: 413 once it passes the limit, the rest left unread."""
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(1000):
            sent += 1
            yield b" " * 1024

    response = await http.post(
        "/v1/requests", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413, response.text
    assert response.json()["error"]["kind"] == "too_large"
    assert sent < 100


async def test_a_malformed_content_length_is_a_400(http: httpx2.AsyncClient) -> None:
    """A Content-Length that is not a number: 400 naming the header."""
    response = await http.post("/v1/requests", content=b"{}", headers={"Content-Length": "ten"})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["field"] == "Content-Length"


async def test_json_nested_past_the_depth_limit_is_a_422_naming_the_body(
    http: httpx2.AsyncClient,
) -> None:
    """33 levels of arrays in ``data``: 422, field ``body``, saying how deep is allowed."""
    deep = "[" * 31 + "]" * 31  # inside the envelope and data: 33 levels
    body = '{"request_id": "deep", "action": "bulk", "data": {"requests": ' + deep + "}}"
    response = await http.post(
        "/v1/requests", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["field"] == "body"
    assert "deeper than 32 levels" in error["message"]
    shallower = body.replace("[", "", 1).replace("]", "", 1)
    response = await http.post(
        "/v1/requests", content=shallower, headers={"Content-Type": "application/json"}
    )
    assert response.json()["error"]["field"] != "body", response.text


async def test_brackets_inside_strings_do_not_count_as_depth(http: httpx2.AsyncClient) -> None:
    """A name full of brackets is text, not nesting: the request runs."""
    body = campaign_request("brackets")
    body["data"]["campaign"]["name"] = "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[ shoes {{{{"
    response = await http.post("/v1/requests", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "COMPLETED"


async def test_an_image_declaring_too_many_pixels_is_refused_before_decoding(
    http: httpx2.AsyncClient,
) -> None:
    """A small PNG of 9000x9000: 422 naming data.images[0].data and the pixel limit."""
    content = png(9000, 9000)
    assert len(content) < LIMIT / 2
    image = {"data": base64.b64encode(content).decode()}
    response = await http.post("/v1/requests", json=full_campaign(image))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["field"] == "data.images[0].data"
    assert error["limit_pixels"] == ImageRules().max_pixels
    assert "9000x9000" in error["message"]


@pytest.fixture
def slow_app() -> Starlette:
    """A sandbox whose latency faults take real time."""
    return create_app(SandboxConfig(), clock=WaitingClock())


async def test_a_slow_synchronous_request_is_answered_202_and_carries_on(
    slow_app: Starlette, clock: ManualClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past service.sync_wait_seconds: 202, workflow id, Location; the outcome arrives there."""
    async with (
        open_harness(slow_app, clock, tmp_path, monkeypatch, sync_wait=0.5) as harness,
        harness.client() as http,
    ):
        sandbox = httpx2.AsyncClient(
            transport=httpx2.ASGITransport(app=slow_app), base_url="http://sandbox.test"
        )
        async with sandbox:
            spec = "latency:ms=1500,method=POST"  # every write, the launch batch included
            assert (await sandbox.post("/_sandbox/faults", json={"spec": spec})).status_code == 200
        response = await http.post("/v1/requests", json=campaign_request("slow-1"))
        assert response.status_code == 202, response.text
        accepted = response.json()
        assert response.headers["Location"] == "/v1/requests/slow-1" == accepted["status_url"]
        assert accepted["status"] == "RUNNING"
        assert accepted["workflow_id"]
        outcome = await _poll(http, response.headers["Location"])
    assert outcome["status"] == "COMPLETED"
    assert outcome["workflow_id"] == accepted["workflow_id"]


async def _poll(http: httpx2.AsyncClient, location: str) -> dict[str, Any]:
    """GET ``location`` until the request has finished (a few seconds at most)."""
    for _ in range(500):
        body: dict[str, Any] = (await http.get(location)).json()
        if body["status"] not in {"ACCEPTED", "RUNNING"}:
            return body
        await asyncio.sleep(0.02)
    raise AssertionError(f"{location} still running: {body}")


def test_the_limits_are_settings_with_defaults_that_admit_metas_largest_image() -> None:
    """Defaults: 48 MiB bodies (a 30 MB image as base64 fits), depth 32, 30 s sync wait."""
    service = load_settings().service
    assert service.max_body_bytes > ImageRules().max_bytes * 4 / 3 + 1024 * 1024
    assert service.max_json_depth == 32
    assert service.sync_wait_seconds == 30.0
    tuned = load_settings(service={"max_body_bytes": 1 << 20, "sync_wait_seconds": 2}).service
    assert (tuned.max_body_bytes, tuned.sync_wait_seconds) == (1 << 20, 2.0)
