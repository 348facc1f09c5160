"""``MetaAgentService``: the one facade the CLI, the HTTP service and the MCP server adapt.

It turns :class:`~meta_agent.config.Settings` into a running world (a Graph client aimed at
Meta or at the embedded sandbox, the journal, the cache, the agents, the orchestrator) and
offers every operation an interface needs. Interfaces stay thin: they parse, call one
method here, and render.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog
from pydantic import SecretStr
from sqlalchemy.engine import make_url

from meta_agent.agents.insights import InsightsParams
from meta_agent.agents.report import Level
from meta_agent.agents.reporting.accounts import AccountsReport, accounts_report
from meta_agent.agents.reporting.builder import MarketerReport, marketer_report
from meta_agent.agents.reporting.levels import object_level
from meta_agent.agents.validation import validate
from meta_agent.cache import Cache, MemoryCache
from meta_agent.config import Settings, data_dir
from meta_agent.config.credentials import ResolvedToken, TokenExpiry, TokenProvider
from meta_agent.egress import EgressPolicy
from meta_agent.errors import ConfigError
from meta_agent.gate.policy import PolicyBook
from meta_agent.graph.client import GraphClient
from meta_agent.graph.settings import GraphSettings
from meta_agent.heap import freeze_startup_heap
from meta_agent.observability import metrics
from meta_agent.orchestrator.engine import approval_summary
from meta_agent.orchestrator.env import Env
from meta_agent.orchestrator.orchestrator import Orchestrator
from meta_agent.orchestrator.requests import OrchestratorRequest, OrchestratorResponse
from meta_agent.principals import LOCAL_OPERATOR, Principal
from meta_agent.service.durable import build_dispatch, check_durable
from meta_agent.service.health import HealthReport, check_health
from meta_agent.service.workers import Identity, Supervisor, embedded_identity
from meta_agent.store.journal import ApprovalStatus, JournalStore, WorkflowRecord, WorkflowStatus
from meta_agent.store.sql import SqlJournal

if TYPE_CHECKING:
    from meta_agent.cache.pacing_redis import RedisSharedPacing

log = structlog.get_logger("meta_agent.service")

SANDBOX_TOKEN = "sandbox-token"  # the embedded sandbox's public fixture token  # noqa: S105


@dataclass
class ServiceParts:
    """What :meth:`MetaAgentService.open` builds (tests may pass their own)."""

    graph: GraphClient
    store: JournalStore
    cache: Cache
    token: ResolvedToken | None = None
    sandbox_app: Any = None
    tokens: TokenProvider | None = None
    pacing: RedisSharedPacing | None = None
    """The pacing state the Graph client shares with every worker (None: this process alone)."""


class MetaAgentService:
    """Every operation of meta-agent, over one orchestrator."""

    def __init__(
        self,
        settings: Settings,
        parts: ServiceParts,
        *,
        local_files: bool = True,
        identity: Identity | None = None,
    ) -> None:
        self.settings = settings
        self.parts = parts
        self.identity = identity or embedded_identity()
        """This process to DBOS and the other workers (a worker's own, or an embedded one)."""
        self.dispatch = build_dispatch(settings, self.identity)
        policies = validate(PolicyBook, settings.policies, "policies")
        self.egress = EgressPolicy(allow_loopback=settings.service.egress_allow_loopback)
        """What image URLs and webhooks may reach (:mod:`meta_agent.egress`)."""
        self.env = Env.build(
            parts.graph,
            parts.store,
            cache=parts.cache,
            policies=policies,
            local_files=local_files,
            egress=self.egress,
            naming_keys=settings.naming.keys,
        )
        self.orchestrator = Orchestrator(self.env, self.dispatch)
        self.started = time.monotonic()

    @classmethod
    async def open(
        cls,
        settings: Settings,
        *,
        sandbox_app: Any = None,
        local_files: bool = True,
        identity: Identity | None = None,
        **client_options: Any,
    ) -> MetaAgentService:
        """Build and open everything ``settings`` describes.

        ``sandbox_app`` replaces the embedded sandbox (tests, the demo); ``local_files=False``
        (remote callers) refuses assets given as a path on this machine; ``identity`` makes
        this process a worker (:mod:`meta_agent.service.workers`); ``client_options`` go to
        :class:`GraphClient` (``now``, ``sleep``, ``wall_clock``).

        Raises:
            ConfigError: a credential or setting is unusable.
        """
        check_durable(settings)
        tokens = None if settings.uses_sandbox else TokenProvider(settings.credentials)
        token = await tokens.current() if tokens is not None else None
        app = sandbox_app
        if settings.uses_sandbox and app is None:
            app = _embedded_sandbox(settings)
        pacing = _shared_pacing(settings)
        graph = GraphClient(
            _graph_settings(settings, token), app=app, shared_pacing=pacing, **client_options
        )
        store = SqlJournal(settings.journal_url, pool_size=settings.database.pool_size)
        await store.open()
        cache = await _cache(settings)
        parts = ServiceParts(graph, store, cache, token, app, tokens, pacing=pacing)
        service = cls(settings, parts, local_files=local_files, identity=identity)
        log.info("service.opened", mode=service.mode, journal=_redacted(settings.journal_url))
        freeze_startup_heap()  # once per process: full collections skip what startup built
        return service

    @property
    def mode(self) -> str:
        """``sandbox`` (the embedded Marketing API sandbox) or ``live`` (Meta)."""
        return "sandbox" if self.settings.uses_sandbox else "live"

    async def rotate_token(self) -> TokenExpiry:
        """Re-read the access token from its source (file, Vault) and send it from now on.

        Raises:
            ConfigError: the source is unreadable (the current token is kept).
        """
        tokens = self.parts.tokens
        if tokens is None:
            return TokenExpiry("unknown")
        self.parts.token = await tokens.refresh()
        self.parts.graph.use_token(self.parts.token.token)
        return tokens.check_expiry()

    @property
    def store(self) -> JournalStore:
        """The journal."""
        return self.parts.store

    @asynccontextmanager
    async def supervised(self) -> AsyncIterator[None]:
        """While the block runs, this long-lived process (``serve``, ``mcp``, a worker) runs
        its queues: DBOS launched now (it re-runs what this executor id left unfinished),
        heartbeats, and the takeover of dead workers' work. A distributed ``serve`` runs no
        workflow, so it neither launches nor beats."""
        if self.dispatch.distributed and self.identity.agent == "embedded":
            yield
            return
        supervisor = Supervisor(self, self.identity)
        # Registered before DBOS may take any work: a process killed between its first
        # dequeue and its first heartbeat would leave work no sweep could ever find.
        await supervisor.beat()
        await self.dispatch.runtime()
        async with supervisor.running():
            yield

    async def recover_executor(self, executor_id: str) -> list[str]:
        """Hand back to the queues what the dead process ``executor_id`` left unfinished."""
        client = await self.dispatch.client()
        return await client.recover(executor_id)

    async def queue_depths(self) -> dict[str, dict[str, float]]:
        """Per queue: waiting, running, age of the oldest waiting (s)."""
        client = await self.dispatch.client()
        return await client.queue_depths()

    async def refresh_queue_metrics(self) -> None:
        """Set the queue gauges from the system database."""
        try:
            metrics.queues(await self.queue_depths())
        except Exception as error:  # metrics never fail a scrape
            log.warning("metrics.queues_unreadable", error=str(error))

    async def in_flight(self) -> list[dict[str, Any]]:
        """Every queued or running DBOS workflow."""
        client = await self.dispatch.client()
        return await client.in_flight()

    async def aclose(self) -> None:
        """Release connections."""
        self.dispatch.close()
        await self.parts.graph.aclose()
        await self.parts.store.close()
        await self.parts.cache.close()
        if self.parts.pacing is not None:
            await self.parts.pacing.close()

    async def __aenter__(self) -> MetaAgentService:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def execute(
        self,
        request: OrchestratorRequest | dict[str, Any],
        principal: Principal | None = None,
    ) -> OrchestratorResponse:
        """Run one request on behalf of ``principal`` (see :meth:`Orchestrator.execute`).

        Remote interfaces pass the caller's principal; None is the local operator (the
        person holding this service's token).

        Raises:
            UsageError: the request or the policy refused it; nothing was written.
        """
        action = (
            request.action
            if isinstance(request, OrchestratorRequest)
            else str(request.get("action"))
        )
        metrics.ACTIVE_WORKFLOWS.inc()
        started = time.monotonic()
        try:
            response = await self.orchestrator.execute(request, principal)
        except Exception as error:
            metrics.error("orchestrator", getattr(error, "kind", type(error).__name__))
            raise
        finally:
            metrics.ACTIVE_WORKFLOWS.dec()
            metrics.REQUEST_COUNT.labels(agent="orchestrator", action=action).inc()
            metrics.REQUEST_DURATION.labels(agent="orchestrator", action=action).observe(
                time.monotonic() - started
            )
        if response.error is not None:
            metrics.error("orchestrator", str(response.error.get("kind", "error")))
        return response

    async def resume(self, workflow_id: str) -> OrchestratorResponse:
        """Carry on an interrupted workflow."""
        return await self.orchestrator.resume(workflow_id)

    async def rollback(self, workflow_id: str) -> OrchestratorResponse:
        """Undo what an interrupted or failed workflow created."""
        return await self.orchestrator.rollback(workflow_id)

    async def undo(
        self, workflow_id: str, *, dry_run: bool = True, force: bool = False
    ) -> dict[str, Any]:
        """Undo a completed workflow (a dry run unless ``dry_run`` is False)."""
        return await self.orchestrator.undo(workflow_id, dry_run=dry_run, force=force)

    async def approvals(
        self,
        principal: Principal = LOCAL_OPERATOR,
        *,
        status: ApprovalStatus | None = None,
        limit: int = 50,
    ) -> list[dict[str, Any]]:
        """Approvals of the principal's accounts, newest first, JSON-ready."""
        found = await self.orchestrator.approvals.list(principal, status=status, limit=limit)
        return [approval_summary(approval) for approval in found]

    async def approval(
        self, approval_id: str, principal: Principal = LOCAL_OPERATOR
    ) -> dict[str, Any]:
        """One approval, JSON-ready.

        Raises:
            ConflictError: no such approval (or not of the principal's accounts).
        """
        found = await self.orchestrator.approvals.get(approval_id, principal)
        return {**approval_summary(found), "workflow_id": found.workflow_id}

    async def approve(
        self, approval_id: str, approver: Principal = LOCAL_OPERATOR, note: str | None = None
    ) -> OrchestratorResponse:
        """Grant an approval; its workflow carries on and this is its answer.

        Raises:
            AccessDeniedError: not an approver of the account, or the requester itself.
            ConflictError: no such approval, or it was decided or expired.
        """
        return await self.orchestrator.approvals.approve(approval_id, approver, note)

    async def reject(
        self, approval_id: str, approver: Principal = LOCAL_OPERATOR, note: str | None = None
    ) -> OrchestratorResponse:
        """Reject an approval; its workflow ends (rolled back unless it asked otherwise).

        Raises:
            AccessDeniedError: not an approver of the account, or the requester itself.
            ConflictError: no such approval, or it was decided or expired.
        """
        return await self.orchestrator.approvals.reject(approval_id, approver, note)

    async def wait_approval(
        self, approval_id: str, principal: Principal = LOCAL_OPERATOR, *, seconds: float = 60
    ) -> dict[str, Any]:
        """The approval once decided, or as it stands after ``seconds``."""
        found = await self.orchestrator.approvals.wait(approval_id, principal, seconds=seconds)
        return {**approval_summary(found), "workflow_id": found.workflow_id}

    async def workflows(
        self, *, status: WorkflowStatus | None = None, limit: int = 50
    ) -> list[WorkflowRecord]:
        """Journaled workflows, newest first."""
        return await self.parts.store.list_workflows(status=status, limit=limit)

    async def workflow(self, workflow_id: str) -> dict[str, Any]:
        """One workflow with its steps and resources, JSON-ready.

        Raises:
            ConflictError: no such workflow.
        """
        record, steps, resources = await self.orchestrator.workflow(workflow_id)
        return {
            "workflow": _jsonable(record),
            "steps": [_jsonable(step) for step in steps],
            "resources": [_jsonable(resource) for resource in resources],
        }

    async def insights(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Insights rows as JSON-ready dicts.

        Raises:
            RequestValidationError: a bad query parameter (named).
        """
        query = validate(InsightsParams, params, "params")
        rows = await self.env.insights.get_insights(query)
        return [row.model_dump(mode="json", exclude_none=True) for row in rows]

    async def report(
        self, object_id: str, level: Level | None = None, **options: Any
    ) -> MarketerReport:
        """The performance report of one object (specification §4.5), with rows per level,
        pacing and the previous period; ``level`` is asked of Meta when not given.

        ``options``: ``date_preset`` or ``time_range``, ``result_action``,
        ``attribution_windows``. In sandbox mode the report says its data is synthetic.
        """
        own = level or await object_level(self.parts.graph, object_id)
        synthetic = self.mode == "sandbox"
        return await marketer_report(
            self.env.insights, object_id, own, synthetic=synthetic, **options
        )

    async def accounts_report(
        self, account_ids: list[str] | None = None, **options: Any
    ) -> AccountsReport:
        """Totals per ad account (None: every account the token reaches), per currency.

        ``options``: ``dates`` (``date_preset`` or ``time_range``), ``rates`` and
        ``convert_to`` for one converted total at stated rates.
        """
        synthetic = self.mode == "sandbox"
        return await accounts_report(self.env.insights, account_ids, synthetic=synthetic, **options)

    async def health(self) -> HealthReport:
        """API connectivity, database, cache and agents (specification §11.3)."""
        return await check_health(self)


def _graph_settings(settings: Settings, token: ResolvedToken | None) -> GraphSettings:
    api = settings.api
    if settings.uses_sandbox:
        return GraphSettings(
            access_token=SecretStr(SANDBOX_TOKEN),
            base_url="http://sandbox.local",
            version=api.version,
            timeout=api.timeout,
            max_attempts=api.max_retries,
            max_concurrency=api.max_concurrency,
        )
    if token is None:
        raise ConfigError(
            "no access token: set META_AGENT_CREDENTIALS__ACCESS_TOKEN", field="credentials"
        )
    return GraphSettings(
        access_token=token.token,
        app_secret=settings.credentials.app_secret,
        base_url=api.base_url,
        version=api.version,
        timeout=api.timeout,
        max_attempts=api.max_retries,
        max_concurrency=api.max_concurrency,
    )


def _embedded_sandbox(settings: Settings) -> Any:
    from meta_agent.sandbox import SandboxConfig, create_app  # the embedded default only

    state_file = settings.sandbox.state_file or data_dir() / "sandbox-state.json"
    Path(state_file).parent.mkdir(parents=True, exist_ok=True)
    return create_app(
        SandboxConfig(latency_ms=settings.sandbox.latency_ms), state_file=Path(state_file)
    )


async def _cache(settings: Settings) -> Cache:
    if settings.cache.backend == "redis":
        from meta_agent.cache.tiered import TieredCache

        return TieredCache(settings.cache.url, local_ttl=settings.cache.local_ttl)
    return MemoryCache()


def _shared_pacing(settings: Settings) -> RedisSharedPacing | None:
    """Pacing shared over the cache's Redis by every worker: Meta's budgets are per ad account
    and app, not per process. None (each process paces alone) with the in-memory cache."""
    if settings.cache.backend != "redis":
        return None
    from meta_agent.cache.pacing_redis import RedisSharedPacing

    return RedisSharedPacing(settings.cache.url)


def _redacted(url: str) -> str:
    """A database URL without its password."""
    return make_url(url).render_as_string(hide_password=True)


def _jsonable(record: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in vars(record).items():
        if isinstance(value, datetime):
            out[name] = value.astimezone(UTC).isoformat()
        elif hasattr(value, "value"):
            out[name] = value.value
        else:
            out[name] = value
    return out
