"""The FastAPI application: the HTTP face of :class:`~meta_agent.service.MetaAgentService`.

``create_app`` adapts an opened service; ``run_server`` opens one from settings and serves
it with uvicorn. Every route authenticates with an API key (:mod:`.auth`) except
``/healthz`` and ``/metrics``, which probes and scrapers reach without one (bind the
service to a private interface, or put it behind a proxy, when those must be private).
Errors have one shape (:mod:`.errors`); each request is logged once as
``http.request.completed`` with its request and workflow ids bound.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import structlog
import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import SecretStr
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from meta_agent.config import Settings, data_dir
from meta_agent.errors import ConfigError
from meta_agent.interfaces.http import docs, errors
from meta_agent.interfaces.http.auth import ApiKeyStore
from meta_agent.interfaces.http.deps import HttpState
from meta_agent.interfaces.http.jobs import Jobs
from meta_agent.interfaces.http.limits import (
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_JSON_DEPTH,
    BodyLimits,
)
from meta_agent.interfaces.http.routes_approvals import router as approvals
from meta_agent.interfaces.http.routes_reads import router as reads
from meta_agent.interfaces.http.routes_requests import router as requests
from meta_agent.interfaces.http.webhooks import SCHEME as WEBHOOK_SCHEME
from meta_agent.interfaces.http.webhooks import Sleep, WebhookSender
from meta_agent.service import MetaAgentService

log = structlog.get_logger("meta_agent.http")
DEFAULT_KEYS_FILE = "api-keys.json"

DESCRIPTION = """\
meta-agent runs Meta advertising through the Marketing API for an ambient agent.

**Authentication**: every `/v1` route takes an API key, as `Authorization: Bearer <key>` or
`X-API-Key: <key>`. A key is limited to named ad accounts and actions: 401 means no key or a
wrong one, 403 names the account or action the key lacks.

**Errors** always read `{"error": {"kind", "message", "field"?, ...}}`. A caller's mistake is a
4xx naming the field (`data.adsets[0].daily_budget`); a workflow that ran and failed is a 200
whose `status` and `error` say so (it ran; it failed).

**Money** is an integer in the account currency's minor unit (50000 = ₹500.00 on an INR
account, 5000 = 50.00 USD, 1000 = ¥1000), or the amount as text with its currency, `"50.00
USD"`, which must be the account's currency. Responses say amounts as `USD 50.00 (5000)`.

**Images** over HTTP are `url` (fetched from a public address) or base64 `data`; `path` is
for the local command line only.

**Limits**: any request whose body is over `service.max_body_bytes` (48 MiB by default) is a
413 `too_large` (send images by `url` rather than base64 `data`); a malformed
`Content-Length` is a 400; a JSON body nested over `service.max_json_depth` (32) levels, or
holding over 50000 arrays and objects, is a 422 with `field: body`. A synchronous request
still running after `service.sync_wait_seconds` (30 s) is answered 202 with a `Location` to
poll, and carries on.

"""
DESCRIPTION += WEBHOOK_SCHEME
TAGS = [
    {"name": "requests", "description": "Submit requests, synchronously or in the background."},
    {"name": "workflows", "description": "The journal: status, steps, resume, roll back."},
    {"name": "insights", "description": "Insights rows and performance reports (reads)."},
    {"name": "operations", "description": "Health checks and Prometheus metrics (no key)."},
]


def create_app(
    service: MetaAgentService,
    *,
    keys: ApiKeyStore,
    webhook_secret: SecretStr | None,
    webhook_attempts: int = 5,
    webhook_sleep: Sleep = asyncio.sleep,
    webhook_transport: Any = None,
    metrics_enabled: bool = True,
    drain_timeout: float = 30.0,
    sync_wait: float = 30.0,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    max_json_depth: int = DEFAULT_MAX_JSON_DEPTH,
) -> FastAPI:
    """The HTTP service over an opened ``service`` (which the caller closes).

    ``webhook_secret`` signs callbacks (None: ``callback_url`` is refused, polling still
    works); ``webhook_sleep`` and ``webhook_transport`` let tests deliver without waiting.
    A synchronous request still running after ``sync_wait`` seconds is answered 202 and
    carries on; bodies over ``max_body_bytes`` or JSON nested over ``max_json_depth`` are
    refused before anything parses them (:mod:`.limits`).
    """
    sender = None
    if webhook_secret is not None:
        sender = WebhookSender(
            webhook_secret,
            attempts=webhook_attempts,
            sleep=webhook_sleep,
            transport=webhook_transport,
            egress=service.egress,
        )
    jobs = Jobs(service, sender)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await jobs.drain(drain_timeout)

    app = FastAPI(
        title="meta-agent",
        version="0.1.0",
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
        docs_url=None,  # served from the bundled Swagger UI below, not from a CDN
    )
    docs.install(app)
    app.state.http = HttpState(
        service, keys, jobs, sender is not None, metrics_enabled, sync_wait=sync_wait
    )
    errors.install(app)
    app.include_router(requests)
    app.include_router(reads)
    app.include_router(approvals)
    app.add_middleware(BodyLimits, max_body_bytes=max_body_bytes, max_json_depth=max_json_depth)
    app.add_middleware(RequestContext)  # outermost: it logs the limits' refusals too
    return app


class RequestContext:
    """Binds per-request log context, logs one line per request, answers uncaught errors.

    An exception no handler took becomes the one error shape (500, generic message) here,
    with its ``error_id`` logged, instead of a bare text response.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        previous = structlog.contextvars.get_contextvars()
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(http_request=uuid.uuid4().hex[:16])
        sent = _Sent()

        async def tracked(message: Message) -> None:
            if message["type"] == "http.response.start":
                sent.status = int(message["status"])
                sent.started = True
            await send(message)

        started = time.monotonic()
        try:
            await self._serve(scope, receive, tracked, sent)
        finally:
            _log_request(scope, sent.status, started)
            structlog.contextvars.clear_contextvars()
            structlog.contextvars.bind_contextvars(**previous)

    async def _serve(self, scope: Scope, receive: Receive, send: Send, sent: _Sent) -> None:
        try:
            await self.app(scope, receive, send)
        except Exception as error:  # the last resort: never a bare 500
            if sent.started:
                raise
            error_id = uuid.uuid4().hex
            log.error("http.error.internal", error_id=error_id, exc_info=error)
            body = errors.envelope(
                "internal_error",
                f"internal error; quote error_id {error_id} to the operator",
                error_id=error_id,
            )
            await JSONResponse(body, status_code=500)(scope, receive, send)


@dataclass
class _Sent:
    status: int = 500
    started: bool = False


def _log_request(scope: Scope, status: int, started: float) -> None:
    route = scope.get("route")
    log.info(
        "http.request.completed",
        method=scope.get("method"),
        route=getattr(route, "path", None) or "unmatched",
        status=status,
        duration_ms=round((time.monotonic() - started) * 1000, 1),
    )


def load_keys(settings: Settings) -> ApiKeyStore:
    """The API keys ``settings`` names (else ``api-keys.json`` in the data directory).

    Raises:
        ConfigError: no keys file is configured, or it cannot be read.
    """
    path = settings.service.api_keys_file
    if path is None and (data_dir() / DEFAULT_KEYS_FILE).exists():
        path = data_dir() / DEFAULT_KEYS_FILE  # where `meta-agent keys create` writes by default
    if path is None:
        raise ConfigError(
            "service.api_keys_file: the HTTP service needs API keys; create one with "
            "meta_agent.interfaces.http.auth.issue_api_key (or `meta-agent keys create`) and set "
            "META_AGENT_SERVICE__API_KEYS_FILE",
            field="service.api_keys_file",
        )
    return ApiKeyStore.load(path)


class HttpServer:
    """The service ``settings`` describe, opened, behind uvicorn: ``async with``, then ``run``."""

    def __init__(self, settings: Settings, host: str | None = None, port: int | None = None):
        self.settings = settings
        self.host = host or settings.service.host
        self.port = port or settings.service.port
        self.service: MetaAgentService | None = None
        self.server: uvicorn.Server | None = None

    async def __aenter__(self) -> HttpServer:
        """Load the keys and open the service.

        Raises:
            ConfigError: a setting (the keys file, a credential) is unusable.
        """
        keys = load_keys(self.settings)
        # Callers are remote: they may not make this machine read its own files.
        self.service = await MetaAgentService.open(self.settings, local_files=False)
        app = create_app(
            self.service,
            keys=keys,
            webhook_secret=self.settings.service.webhook_secret,
            webhook_attempts=self.settings.service.webhook_attempts,
            metrics_enabled=self.settings.monitoring.metrics_enabled,
            sync_wait=self.settings.service.sync_wait_seconds,
            max_body_bytes=self.settings.service.max_body_bytes,
            max_json_depth=self.settings.service.max_json_depth,
        )
        level = self.settings.monitoring.log_level.lower()
        config = uvicorn.Config(app, host=self.host, port=self.port, log_level=level)
        self.server = uvicorn.Server(config)
        return self

    async def __aexit__(self, *_: object) -> None:
        if self.service is not None:
            await self.service.aclose()

    @property
    def started(self) -> bool:
        """True once the socket is listening."""
        return self.server is not None and self.server.started

    async def run(self) -> None:
        """Serve until stopped (a signal, or :meth:`stop`)."""
        assert self.server is not None, "use async with first"
        assert self.service is not None, "use async with first"
        log.info("http.serving", host=self.host, port=self.port, mode=self.service.mode)
        async with self.service.supervised():
            await self.server.serve()

    def stop(self) -> None:
        """Ask the server to finish its requests and stop."""
        if self.server is not None:
            self.server.should_exit = True


async def serve(settings: Settings, host: str | None = None, port: int | None = None) -> None:
    """Open the service ``settings`` describe and serve it until stopped.

    Raises:
        ConfigError: a setting (the keys file, a credential) is unusable.
    """
    async with HttpServer(settings, host, port) as server:
        await server.run()


def run_server(settings: Settings, host: str | None = None, port: int | None = None) -> None:
    """Serve the HTTP service (blocking) on ``host``:``port`` (default: from settings).

    Raises:
        ConfigError: a setting (the keys file, a credential) is unusable.
    """
    asyncio.run(serve(settings, host, port))
