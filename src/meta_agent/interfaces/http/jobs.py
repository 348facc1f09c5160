"""Requests run in the background: accepted now, run on the loop, reported by callback.

The journal is the record of a request once its workflow begins; this module only remembers
what the journal cannot: that a request was accepted and has not begun, or that it was
refused before a workflow began (validation, policy), and the outcome to deliver. Those
memories are per process and bounded (the newest :data:`KEEP`).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import OrderedDict
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

import structlog

from meta_agent.errors import MetaAgentError, UsageError
from meta_agent.interfaces.http.webhooks import WebhookSender
from meta_agent.orchestrator.requests import OrchestratorRequest, OrchestratorResponse
from meta_agent.principals import Principal
from meta_agent.service import MetaAgentService

log = structlog.get_logger("meta_agent.http.jobs")

KEEP = 1000
ACCEPTED = "ACCEPTED"
REJECTED = "REJECTED"
ERROR = "ERROR"


@dataclass
class Job:
    """One background request: what it is, and its outcome once it has one."""

    request: OrchestratorRequest
    callback_url: str | None
    outcome: dict[str, Any] | None = None
    principal: Principal | None = None
    """Whom it runs for: the caller's key, so the background run has exactly its rights."""
    delivered: bool | None = None
    """Whether the callback landed (False: refused, by the receiver or the egress guard)."""

    @property
    def request_id(self) -> str:
        """The caller's request id."""
        return self.request.request_id

    def view(self) -> dict[str, Any]:
        """The outcome, or ``ACCEPTED`` while it has none."""
        if self.outcome is not None:
            return self.outcome
        return {"request_id": self.request_id, "action": self.request.action, "status": ACCEPTED}


class Jobs:
    """Starts background requests, remembers them, and delivers their callbacks."""

    def __init__(self, service: MetaAgentService, sender: WebhookSender | None) -> None:
        self.service = service
        self.sender = sender
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._tasks: set[asyncio.Task[None]] = set()

    def get(self, request_id: str) -> Job | None:
        """The job of ``request_id`` in this process, if any."""
        return self._jobs.get(request_id)

    def running(self, request_id: str) -> bool:
        """True while ``request_id`` has been accepted here and has no outcome yet."""
        job = self._jobs.get(request_id)
        return job is not None and job.outcome is None

    def submit(
        self,
        request: OrchestratorRequest,
        callback_url: str | None,
        principal: Principal | None = None,
    ) -> Job:
        """Accept ``request`` and start it on the loop, on behalf of ``principal``."""
        job = self._remember(Job(request, callback_url, principal=principal))
        execution = self.service.execute(request, principal)
        self._track(asyncio.create_task(self._run(job, execution), name=_name(request)))
        return job

    def start(
        self, request: OrchestratorRequest, principal: Principal | None = None
    ) -> asyncio.Task[OrchestratorResponse]:
        """Run ``request`` now for a caller who waits on the task (and may stop waiting).

        The task is drained at shutdown like a background job; hand it to :meth:`adopt`
        when the caller stops waiting, so its outcome is kept for polling.
        """
        task = asyncio.create_task(self.service.execute(request, principal), name=_name(request))
        self._track(task)
        task.add_done_callback(_retrieve)
        return task

    def adopt(
        self,
        request: OrchestratorRequest,
        running: asyncio.Task[OrchestratorResponse],
        principal: Principal | None = None,
    ) -> Job:
        """Keep the outcome of a :meth:`start`-ed request its caller no longer waits for."""
        job = self._remember(Job(request, None, principal=principal))
        self._track(asyncio.create_task(self._run(job, running), name=_name(request)))
        return job

    def _remember(self, job: Job) -> Job:
        self._jobs[job.request_id] = job
        self._jobs.move_to_end(job.request_id)
        while len(self._jobs) > KEEP:
            self._jobs.popitem(last=False)
        return job

    def _track(self, task: asyncio.Task[Any]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self, grace: float = 30.0) -> None:
        """Let running jobs finish (up to ``grace`` s), then cancel the rest.

        A cancelled workflow stays RUNNING in the journal, to be resumed.
        """
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=grace)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)

    async def _run(self, job: Job, execution: Awaitable[OrchestratorResponse]) -> None:
        job.outcome = await _outcome(job.request, execution)
        log.info("http.request.finished", status=job.outcome.get("status"), background=True)
        if job.callback_url is not None and self.sender is not None:
            body = json.dumps(job.outcome, separators=(",", ":")).encode()
            job.delivered = await self.sender.deliver(job.callback_url, body)


async def _outcome(
    request: OrchestratorRequest, execution: Awaitable[OrchestratorResponse]
) -> dict[str, Any]:
    try:
        response = await execution
    except MetaAgentError as error:
        status = REJECTED if isinstance(error, UsageError) else ERROR
        return _refused(request, status, error.to_dict())
    except Exception as error:  # a background job reports; nothing above it would
        return _internal(request, error)
    return response.model_dump(mode="json")


def _name(request: OrchestratorRequest) -> str:
    return f"request:{request.request_id}"


def _retrieve(task: asyncio.Task[Any]) -> None:
    """Mark a failure as seen: the caller raises it, or :meth:`Jobs.adopt` reports it."""
    if not task.cancelled():
        task.exception()


def _refused(request: OrchestratorRequest, status: str, error: dict[str, Any]) -> dict[str, Any]:
    return {
        "request_id": request.request_id,
        "workflow_id": None,
        "action": request.action,
        "status": status,
        "dry_run": request.options.dry_run,
        "replayed": False,
        "result": None,
        "error": error,
    }


def _internal(request: OrchestratorRequest, error: Exception) -> dict[str, Any]:
    error_id = uuid.uuid4().hex
    log.error(
        "http.error.internal", error_id=error_id, error_type=type(error).__name__, exc_info=error
    )
    message = f"internal error; quote error_id {error_id} to the operator"
    return _refused(
        request, ERROR, {"kind": "internal_error", "message": message, "error_id": error_id}
    )
