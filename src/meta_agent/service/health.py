"""Health checks (specification §11.3), shared by ``meta-agent health`` and ``/healthz``.

Each check is small, bounded in time and never raises: it reports ``ok`` or ``error`` with a
reason. The overall status is ``healthy`` when every check is, ``unhealthy`` otherwise.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from meta_agent.errors import MetaAgentError
from meta_agent.service.workers import describe

if TYPE_CHECKING:
    from meta_agent.service.facade import MetaAgentService

CHECK_TIMEOUT = 10.0


class CheckResult(BaseModel):
    """One check: ``ok`` or not, how long it took, and why when not."""

    ok: bool
    latency_ms: float
    detail: dict[str, Any] = {}
    error: str | None = None


class HealthReport(BaseModel):
    """Every check, and the overall verdict."""

    status: str
    mode: str
    checks: dict[str, CheckResult]
    timestamp: str


async def check_health(service: MetaAgentService) -> HealthReport:
    """Run every check concurrently."""
    checks: dict[str, Callable[[], Awaitable[dict[str, Any]]]] = {
        "api_connectivity": lambda: _api(service),
        "database": lambda: _database(service),
        "cache": lambda: _cache(service),
        "agents": lambda: _agents(service),
        "queues": lambda: _queues(service),
    }
    results = await asyncio.gather(*(_timed(check) for check in checks.values()))
    named = dict(zip(checks, results, strict=True))
    healthy = all(result.ok for result in named.values())
    return HealthReport(
        status="healthy" if healthy else "unhealthy",
        mode=service.mode,
        checks=named,
        timestamp=datetime.now(UTC).isoformat(),
    )


async def _timed(check: Callable[[], Awaitable[dict[str, Any]]]) -> CheckResult:
    started = time.monotonic()
    try:
        detail = await asyncio.wait_for(check(), CHECK_TIMEOUT)
    except TimeoutError:
        return CheckResult(
            ok=False, latency_ms=_ms(started), error=f"no answer in {CHECK_TIMEOUT:.0f} s"
        )
    except MetaAgentError as error:
        return CheckResult(
            ok=False, latency_ms=_ms(started), error=f"{error.kind}: {error.message}"
        )
    except Exception as error:  # a health check reports, it never raises
        return CheckResult(
            ok=False, latency_ms=_ms(started), error=f"{type(error).__name__}: {error}"
        )
    return CheckResult(ok=True, latency_ms=_ms(started), detail=detail)


async def _api(service: MetaAgentService) -> dict[str, Any]:
    me = await service.parts.graph.accounts.me(fields=["id"])
    detail: dict[str, Any] = {"user_id": me.id, "version": service.settings.api.version}
    token = service.parts.token
    if token is not None and token.expires_at is not None:
        detail["token_expires_at"] = token.expires_at.isoformat()
    return detail


async def _database(service: MetaAgentService) -> dict[str, Any]:
    await service.parts.store.list_workflows(limit=1)
    return {"backend": service.settings.journal_url.split(":", 1)[0]}


async def _cache(service: MetaAgentService) -> dict[str, Any]:
    cache = service.parts.cache
    key = "health:probe"
    await cache.set(key, {"at": time.time()}, ttl=30)
    if await cache.get(key) is None:
        raise RuntimeError("a value written to the cache could not be read back")
    return {"backend": service.settings.cache.backend}


async def _agents(service: MetaAgentService) -> dict[str, Any]:
    env = service.env
    agents = {
        "orchestrator": service.orchestrator,
        "asset": env.assets,
        "campaign": env.campaigns,
        "ad_creation": env.creatives,
        "insights": env.insights,
    }
    return {name: "active" for name, agent in agents.items() if agent is not None}


async def _queues(service: MetaAgentService) -> dict[str, Any]:
    """The durable queues: depth per queue and live workers per agent (distributed mode).

    Unhealthy when work waits on a queue that no live worker listens to.
    """
    mode = service.settings.durable.mode
    depths = await service.queue_depths()
    detail: dict[str, Any] = {"mode": mode, "queues": depths}
    if mode != "distributed":
        return detail
    after = service.settings.durable.takeover_after_seconds
    alive: dict[str, int] = {}
    for worker in await service.store.workers():
        if describe(worker, after)["state"] == "alive":
            for queue in worker.queues:
                alive[queue] = alive.get(queue, 0) + 1
    detail["workers"] = alive
    stranded = [name for name, row in depths.items() if row["waiting"] and not alive.get(name)]
    if stranded:
        raise RuntimeError(
            f"work waits on {', '.join(stranded)} and no live worker serves it: start "
            "meta-agent worker --agent " + stranded[0]
        )
    return detail


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)
