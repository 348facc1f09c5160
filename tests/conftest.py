"""Shared fixtures: a sandbox in process (ASGI transport) or over loopback (uvicorn)."""

from __future__ import annotations

import random
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx2
import pytest
import structlog
import uvicorn
from pydantic import SecretStr
from starlette.applications import Starlette

from meta_agent.graph.client import GraphClient
from meta_agent.graph.guard import UNGUARDED
from meta_agent.graph.settings import GraphSettings
from meta_agent.sandbox import ManualClock, Sandbox, SandboxConfig, create_app

TOKEN = "sandbox-token"
INR_ACCOUNT = "act_1234567890"
USD_ACCOUNT = "act_9876543210"
PAGE_ID = "102030405060708"
VERSION = "v25.0"

_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: Any) -> Any:
    host = address[0] if isinstance(address, tuple) else address
    if (
        isinstance(host, str)
        and host not in {"127.0.0.1", "::1", "localhost"}
        and not host.startswith("127.")
    ) and self.family in (socket.AF_INET, socket.AF_INET6):
        raise RuntimeError(f"tests may only connect to loopback, not {host!r}")
    return _real_connect(self, address)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forbid any connection to a non-loopback host: tests run offline, always."""
    monkeypatch.setattr(socket.socket, "connect", _loopback_only)


@pytest.fixture(autouse=True)
def _fresh_logging() -> Iterator[None]:
    """Each test starts with structlog's defaults: a CLI command run in process configures
    logging for its own run (WARNING and up), which must not silence the next test's events."""
    yield
    structlog.reset_defaults()


class Graph:
    """A thin test client: adds the token and the version, returns httpx2 responses."""

    def __init__(self, client: httpx2.AsyncClient, version: str = VERSION) -> None:
        self.client = client
        self.version = version

    def _url(self, path: str) -> str:
        return f"/{self.version}/{path.lstrip('/')}"

    async def get(self, path: str, **params: Any) -> httpx2.Response:
        """GET with the token in the query string."""
        return await self.client.get(self._url(path), params={"access_token": TOKEN, **params})

    async def post(self, path: str, files: Any = None, **data: Any) -> httpx2.Response:
        """POST a form body, token in the query string as the official SDK sends it."""
        return await self.client.post(
            self._url(path), params={"access_token": TOKEN}, data=data, files=files
        )

    async def delete(self, path: str, **params: Any) -> httpx2.Response:
        """DELETE with the token in the query string."""
        return await self.client.delete(self._url(path), params={"access_token": TOKEN, **params})


def error_of(response: httpx2.Response) -> dict[str, Any]:
    """The ``error`` object of a Graph error response (asserting it is one)."""
    body = response.json()
    assert "error" in body, body
    error: dict[str, Any] = body["error"]
    return error


@pytest.fixture
def clock() -> ManualClock:
    """Sandbox time that moves only when a test moves it."""
    return ManualClock()


@pytest.fixture
def config() -> SandboxConfig:
    """Default sandbox settings (tests override by redefining this fixture)."""
    return SandboxConfig()


@pytest.fixture
def app(config: SandboxConfig, clock: ManualClock) -> Starlette:
    """The sandbox ASGI app."""
    return create_app(config, clock=clock)


@pytest.fixture
def sandbox(app: Starlette) -> Sandbox:
    """The HTTP-free core behind ``app`` (for reading state directly in assertions)."""
    sb: Sandbox = app.state.sandbox
    return sb


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx2.AsyncClient]:
    """An httpx2 client wired to the app in process."""
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://sandbox.test") as c:
        yield c


@pytest.fixture
def graph(client: httpx2.AsyncClient) -> Graph:
    """The test Graph client."""
    return Graph(client)


def free_port() -> int:
    """An unused TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class LiveServer:
    """A uvicorn server in a thread, serving an app on loopback."""

    def __init__(self, app: Starlette) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cfg = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="critical", lifespan="off"
        )
        self.server = uvicorn.Server(cfg)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("sandbox server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def live_app(config: SandboxConfig) -> Starlette:
    """A sandbox app on the system clock, for tests over a real socket."""
    return create_app(config.model_copy(update={"base_url": "http://127.0.0.1"}))


@pytest.fixture
def live(live_app: Starlette) -> Iterator[LiveServer]:
    """The sandbox served by uvicorn on a free loopback port."""
    with LiveServer(live_app) as server:
        yield server


def make_graph_client(app: Starlette, clock: ManualClock, **settings: Any) -> GraphClient:
    """A full GraphClient over ``app`` in process, sleeping on the manual clock (no real waits).

    It writes unguarded, as a library user's script does; ``Env.build`` installs the write
    gate over it for every test that goes through the orchestrator.
    """
    values: dict[str, Any] = {"base_url": "http://sandbox", "version": VERSION, **settings}
    return GraphClient(
        GraphSettings(access_token=SecretStr(TOKEN), **values),
        guard=UNGUARDED,
        app=app,
        now=clock.now,
        sleep=clock.sleep,
        rng=random.Random(1),
        wall_clock=lambda: datetime.fromtimestamp(clock.now(), UTC),
    )


@pytest.fixture
async def graph_client(app: Starlette, clock: ManualClock) -> AsyncIterator[GraphClient]:
    """The real client stack (pacing, retries, error table) over the in-process sandbox."""
    client = make_graph_client(app, clock)
    yield client
    await client.aclose()
