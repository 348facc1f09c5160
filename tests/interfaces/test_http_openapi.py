"""The OpenAPI document tells the truth: its examples run, its statuses and error shape hold."""

from __future__ import annotations

import asyncio
import copy
import io
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from meta_agent.interfaces.http.schemas import (
    ERROR_RESPONSES,
    INSIGHTS_EXAMPLES,
    SUBMIT_EXAMPLES,
    ErrorBody,
)
from meta_agent.sandbox import ManualClock
from tests.conftest import LiveServer
from tests.interfaces.test_http_support import Harness, open_harness

OPERATIONS = ("/healthz", "/metrics")


def hero_jpeg() -> bytes:
    """The example's hero image: a 1200x1200 JPEG."""
    buffer = io.BytesIO()
    Image.new("RGB", (1200, 1200), "navy").save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.fixture
def assets_host() -> Iterator[str]:
    """A loopback stand-in for the examples' hosts: the image, and a callback receiver."""
    image = hero_jpeg()

    async def picture(_: Request) -> Response:
        return Response(image, media_type="image/jpeg")

    async def hook(_: Request) -> Response:
        return Response(status_code=204)

    routes = [Route("/{name}.jpg", picture), Route("/hooks/meta", hook, methods=["POST"])]
    with LiveServer(Starlette(routes=routes)) as live:
        yield live.url


@pytest.fixture
async def harness(
    app: Starlette, clock: ManualClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Harness]:
    """The HTTP service over the in-process sandbox; its callbacks may reach loopback."""
    monkeypatch.setenv("META_AGENT_SERVICE__EGRESS_ALLOW_LOOPBACK", "true")
    async with open_harness(app, clock, tmp_path, monkeypatch) as built:
        yield built


def on_loopback(example: dict[str, Any], host: str) -> dict[str, Any]:
    """The example with its example.com hosts pointed at ``host`` (tests run offline)."""
    body = copy.deepcopy(example)
    for image in body.get("data", {}).get("images", []):
        image["url"] = image["url"].replace("https://cdn.example.com", host)
    if body.get("callback_url"):
        body["callback_url"] = body["callback_url"].replace("https://agent.example.com", host)
    return body


async def finished(http: httpx2.AsyncClient, location: str) -> dict[str, Any]:
    """The outcome at ``location`` once the request has one."""
    for _ in range(500):
        body: dict[str, Any] = (await http.get(location)).json()
        if body["status"] not in {"ACCEPTED", "RUNNING"}:
            return body
        await asyncio.sleep(0.01)
    raise AssertionError(f"{location} never finished: {body}")


async def test_every_submit_example_runs_as_documented(
    http: httpx2.AsyncClient, assets_host: str
) -> None:
    """Each POST /v1/requests example: 200 COMPLETED, or 202 then COMPLETED when async."""
    for name, example in SUBMIT_EXAMPLES.items():
        body = on_loopback(example["value"], assets_host)
        if name.endswith("_async"):
            body["request_id"] += "-async"
        response = await http.post("/v1/requests", json=body)
        if body.get("callback_url"):
            assert response.status_code == 202, (name, response.text)
            outcome = await finished(http, response.headers["Location"])
        else:
            assert response.status_code == 200, (name, response.text)
            outcome = response.json()
        assert outcome["status"] == "COMPLETED", (name, outcome)


async def test_every_insights_example_is_accepted(
    http: httpx2.AsyncClient, assets_host: str
) -> None:
    """Each POST /v1/insights example answers 200 (its campaign made by the launch example)."""
    launch = on_loopback(SUBMIT_EXAMPLES["create_full_campaign"]["value"], assets_host)
    outcome = (await http.post("/v1/requests", json=launch)).json()
    campaign_id = outcome["result"]["campaign"]["id"]
    for name, example in INSIGHTS_EXAMPLES.items():
        query = copy.deepcopy(example["value"])
        if query["object_id"] != launch["account_id"]:
            assert query["object_id"] == campaign_id, "the example names the launch's campaign"
        response = await http.post("/v1/insights", json=query)
        assert response.status_code == 200, (name, response.text)


def test_every_error_example_has_the_one_error_shape() -> None:
    """Every documented error example validates as ErrorBody and names its kind."""
    for status, entry in ERROR_RESPONSES.items():
        example = entry["content"]["application/json"]["example"]
        parsed = ErrorBody.model_validate(example)
        assert parsed.error.kind, status
        assert parsed.error.message, status
        assert entry["description"], status


async def test_every_route_documents_what_it_can_answer(http: httpx2.AsyncClient) -> None:
    """401 and 422 on every keyed route, 413 on every POST with a body, 202 on submit."""
    spec = (await http.get("/openapi.json")).json()
    assert "ErrorBody" in spec["components"]["schemas"]
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            statuses = set(operation["responses"])
            if path in OPERATIONS:
                continue
            assert {"401", "422"} <= statuses, (method, path, statuses)
            if method == "post" and "requestBody" in operation:
                assert "413" in statuses, (method, path, statuses)
            for status in statuses - {"200", "202"}:
                schema = operation["responses"][status]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (path, status)
    submit = spec["paths"]["/v1/requests"]["post"]["responses"]
    assert {"202", "403", "409", "413", "429", "503"} <= set(submit)
    assert "Location" in submit["202"]["headers"]
