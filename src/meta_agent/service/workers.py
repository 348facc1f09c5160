"""Worker processes: who runs which queue, proof of life, and taking over the dead's work.

Every process that runs workflows (``serve`` and ``mcp`` in embedded mode, each
``meta-agent worker``) has a DBOS executor id and a row in the journal's ``workers`` table,
refreshed every ``durable.heartbeat_seconds``. DBOS re-runs what an executor left PENDING when
a process with the same id starts again (a restarted worker picks up its own work at once).
A worker that never comes back is found by the others: silent for
``durable.takeover_after_seconds``, its unfinished workflows are handed back to the queues
(idempotently: only rows it still owns), where any listener may take them, and its row is
marked taken over by the live worker that did it. ``meta-agent workers recover`` does the same on an operator's word, now.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import structlog

from meta_agent.durable import QUEUES
from meta_agent.errors import ConfigError
from meta_agent.store.journal import WorkerRecord

if TYPE_CHECKING:
    from meta_agent.service.facade import MetaAgentService

log = structlog.get_logger("meta_agent.workers")

AGENTS = QUEUES  # one worker kind per queue
AGENT_ENV = "AGENT_TYPE"
"""The seed's variable naming a worker's agent (its docker-compose sets it per service)."""
WORKER_ID_ENV = "META_AGENT_WORKER_ID"


@dataclass(frozen=True)
class Identity:
    """Who this process is to DBOS and to the other workers."""

    worker_id: str
    agent: str
    queues: tuple[str, ...]


def worker_identity(agent: str | None, worker_id: str | None = None) -> Identity:
    """The identity of ``meta-agent worker --agent AGENT`` (``AGENT_TYPE`` when not given).

    ``worker_id`` (or ``META_AGENT_WORKER_ID``) should be stable across restarts, so a
    restarted worker re-runs its own unfinished work at once; the default names the host and
    process, and a dead one's work is then taken over after the timeout.

    Raises:
        ConfigError: no agent, or not one of the five.
    """
    agent = agent or os.environ.get(AGENT_ENV)
    if not agent:
        raise ConfigError(
            f"agent: name the queue this worker serves with --agent or {AGENT_ENV} "
            f"({', '.join(AGENTS)})",
            field="agent",
        )
    if agent not in AGENTS:
        raise ConfigError(
            f"agent: {agent!r} is not an agent; choose one of {', '.join(AGENTS)}",
            field="agent",
        )
    chosen = worker_id or os.environ.get(WORKER_ID_ENV)
    return Identity(chosen or f"{agent}-{socket.gethostname()}-{os.getpid()}", agent, (agent,))


def embedded_identity() -> Identity:
    """A process that runs every queue itself (the embedded default); unique per process, so
    two of them on one machine never recover each other's work while both live."""
    return Identity(f"embedded-{socket.gethostname()}-{os.getpid()}", "embedded", QUEUES)


class Supervisor:
    """Heartbeats for this process, and the sweep that takes over dead workers' work."""

    def __init__(self, service: MetaAgentService, identity: Identity) -> None:
        self.service = service
        self.identity = identity
        self.started_at = datetime.now(UTC)
        self.in_flight = 0

    async def beat(self) -> None:
        """Say this process is alive, and what it runs."""
        await self.service.store.worker_beat(
            WorkerRecord(
                id=self.identity.worker_id,
                agent=self.identity.agent,
                queues=list(self.identity.queues),
                host=socket.gethostname(),
                pid=os.getpid(),
                status="alive",
                started_at=self.started_at,
                heartbeat_at=datetime.now(UTC),
                in_flight=self.in_flight,
            )
        )

    async def sweep(self, only: str | None = None) -> list[dict[str, Any]]:
        """Take over the work of workers silent past the timeout (or of ``only``, now).

        Recovery comes first and the mark after: recovering is idempotent (it matches only
        rows the dead worker still owns), so a sweeper that dies halfway leaves the dead
        worker unmarked, and the next sweep does it again.
        """
        durable = self.service.settings.durable
        cutoff = datetime.now(UTC) - timedelta(seconds=durable.takeover_after_seconds)
        taken = []
        for dead in await self.service.store.dead_workers(cutoff, self.identity.worker_id, only):
            workflows = await self.service.recover_executor(dead.id)
            marked = await self.service.store.mark_taken_over(dead, self.identity.worker_id)
            log.warning(
                "workers.taken_over",
                dead=dead.id,
                by=self.identity.worker_id,
                workflows=len(workflows),
                marked=marked,
            )
            taken.append({"worker_id": dead.id, "workflows": workflows})
        return taken

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Supervisor]:
        """Beat and sweep in the background while the block runs; say "stopped" after."""
        await self.beat()
        await self.sweep()
        stop = asyncio.Event()
        task = asyncio.create_task(self._loop(stop))
        try:
            yield self
        finally:
            # Asked to stop, not cancelled: a cancelled beat's database write would still run
            # in its thread, and could land after "stopped", raising a dead worker again.
            stop.set()
            await task
            await self.service.store.worker_status(self.identity.worker_id, "stopped")

    async def _loop(self, stop: asyncio.Event) -> None:
        interval = self.service.settings.durable.heartbeat_seconds
        while not stop.is_set():
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)
            if stop.is_set():
                return
            try:
                await self.beat()
                await self.sweep()
            except Exception as error:  # a database blip must not end the worker
                log.warning("workers.heartbeat_failed", error=str(error))


def describe(record: WorkerRecord, takeover_after: float) -> dict[str, Any]:
    """A worker as ``meta-agent workers`` shows it (``alive`` judged from its heartbeat)."""
    silent = (datetime.now(UTC) - record.heartbeat_at).total_seconds()
    state = record.status
    if state == "alive" and silent > takeover_after:
        state = "dead"
    return {
        "worker_id": record.id,
        "agent": record.agent,
        "queues": record.queues,
        "host": record.host,
        "pid": record.pid,
        "state": state,
        "silent_s": round(silent, 1),
        "started_at": record.started_at.isoformat(),
        "taken_over_by": record.taken_over_by,
    }
