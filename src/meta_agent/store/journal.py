"""The workflow journal: what a workflow set out to do, and every step it took.

The engine writes a step STARTED (with its input and idempotency key) *before* the call to
Meta, COMPLETED (with its output) after it, FAILED (with the serialised error) when it fails.
Objects a step created are recorded as *resources*, each with how to undo it, so that a
rollback (now, or after the process died) knows exactly what to delete.

A store is anything with the methods of :class:`JournalStore`. ``SqlJournal`` (``sql.py``)
implements it over SQLite (the default, one file in the user's data directory) and
PostgreSQL; one contract suite runs against both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol


class WorkflowStatus(StrEnum):
    """Where a workflow stands."""

    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"  # failed, and nothing was left to undo (or rollback not asked for)
    ROLLING_BACK = "ROLLING_BACK"
    ROLLED_BACK = "ROLLED_BACK"
    ROLLBACK_FAILED = "ROLLBACK_FAILED"  # some compensation failed: see the steps
    PENDING_APPROVAL = "PENDING_APPROVAL"  # policy holds a write until an approver grants it

    @property
    def finished(self) -> bool:
        """True when nothing more will happen to the workflow without being asked."""
        return self not in {WorkflowStatus.RUNNING, WorkflowStatus.ROLLING_BACK}


class StepStatus(StrEnum):
    """Where a step stands."""

    STARTED = "STARTED"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


@dataclass(frozen=True)
class WorkflowRecord:
    """One workflow: the request that started it and how it ended."""

    id: str
    request_id: str
    action: str
    account_id: str | None
    status: WorkflowStatus
    request: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    principal: dict[str, Any] | None = None


@dataclass(frozen=True)
class StepRecord:
    """One step of a workflow; ``kind`` is ``action`` or ``compensation``."""

    workflow_id: str
    seq: int
    name: str
    kind: str
    status: StepStatus
    input: dict[str, Any]
    idempotency_key: str | None
    started_at: datetime
    finished_at: datetime | None = None
    output: dict[str, Any] | None = None
    error: dict[str, Any] | None = None


@dataclass(frozen=True)
class ResourceRecord:
    """An object a step created on Meta, and whether it has been undone.

    ``kind`` is the Graph family (``campaign``, ``adset``, ``adcreative``, ``ad``,
    ``image``, ``video``); ``undo`` is what compensates it (``delete`` or ``keep``).
    """

    workflow_id: str
    seq: int
    step: str
    kind: str
    object_id: str
    undo: str = "delete"
    undone: bool = False
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NewResource:
    """An object to record with :meth:`JournalStore.add_resources`."""

    kind: str
    object_id: str
    undo: str = "delete"
    details: dict[str, Any] = field(default_factory=dict)


class ApprovalStatus(StrEnum):
    """Where an approval stands; only PENDING can change, once."""

    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"


@dataclass(frozen=True)
class ApprovalRecord:
    """Writes that policy held, waiting for an approver.

    ``diff`` is the exact writes the workflow wants to send (method, path, parameters);
    ``fingerprints`` identify them, so a grant admits those writes and nothing else.
    """

    id: str
    workflow_id: str
    account_id: str
    requested_by: str
    status: ApprovalStatus
    rules: list[str]
    diff: list[dict[str, Any]]
    fingerprints: list[str]
    created_at: datetime
    expires_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
    note: str | None = None


@dataclass(frozen=True)
class LedgerEntry:
    """Daily money one write commits on an account: a new budget, or a raise.

    ``key`` makes recording idempotent (a re-sent write is counted once); ``added`` is the
    amount per day it adds (minor units), ``before``/``after`` the field's values.
    """

    key: str
    account_id: str
    day: str
    object_key: str
    field: str
    before: int | None
    after: int
    added: int


class DuplicateRequestError(Exception):
    """A workflow with this ``request_id`` already exists (``existing`` is it)."""

    def __init__(self, existing: WorkflowRecord) -> None:
        super().__init__(f"request_id {existing.request_id!r} was seen before")
        self.existing = existing


@dataclass(frozen=True)
class WorkerRecord:
    """A worker process as it last reported itself (``status``: alive, stopped, taken_over)."""

    id: str
    agent: str
    queues: list[str]
    host: str
    pid: int
    status: str
    started_at: datetime
    heartbeat_at: datetime
    in_flight: int = 0
    taken_over_by: str | None = None


class WorkerStore(Protocol):
    """The registry of worker processes: heartbeats, and claims on the dead ones' work."""

    async def worker_beat(self, record: WorkerRecord) -> None:
        """Insert or refresh a worker's row."""

    async def worker_status(self, worker_id: str, status: str) -> None:
        """Set a worker's status (``stopped`` on a clean exit)."""

    async def workers(self) -> list[WorkerRecord]:
        """Every registered worker, newest heartbeat first."""

    async def dead_workers(
        self, cutoff: datetime, by: str, only: str | None = None
    ) -> list[WorkerRecord]:
        """Workers silent since ``cutoff`` or stopped (or just ``only``), other than ``by``."""

    async def mark_taken_over(self, dead: WorkerRecord, by: str) -> bool:
        """Mark ``dead`` taken over by ``by`` unless it beat since it was read."""


class GateStore(Protocol):
    """What the write gate keeps: approvals and the daily budget ledger."""

    async def create_approval(self, record: ApprovalRecord) -> ApprovalRecord:
        """Record a PENDING approval."""

    async def get_approval(self, approval_id: str) -> ApprovalRecord | None:
        """One approval, or None."""

    async def list_approvals(
        self, *, status: ApprovalStatus | None = None, limit: int = 50
    ) -> list[ApprovalRecord]:
        """Newest first."""

    async def approvals_of(self, workflow_id: str) -> list[ApprovalRecord]:
        """A workflow's approvals, oldest first."""

    async def decide_approval(
        self, approval_id: str, status: ApprovalStatus, by: str | None, note: str | None
    ) -> ApprovalRecord:
        """Move a PENDING approval to ``status``.

        Raises:
            ConflictError: no such approval, or it is no longer PENDING.
        """

    async def reserve_budgets(
        self, reservations: Sequence[tuple[LedgerEntry, int | None]]
    ) -> tuple[int | None, list[int]]:
        """Record every ``(entry, cap)``, or none if one would pass its cap; ``(refused,
        totals)``: the first refused index (None when all were recorded) and each entry's
        account-day total with it (the refused one's without).

        Idempotent on ``entry.key``; the check and the records are one transaction, so
        concurrent writers on one account cannot both slip under the cap.
        """

    async def first_budget_today(
        self, account_id: str, day: str, object_key: str, field: str
    ) -> int | None:
        """The value ``field`` of ``object_key`` had before its first change on ``day``."""


class JournalStore(GateStore, WorkerStore, Protocol):
    """Durable storage of workflows, their steps and the resources they created.

    Every method commits before it returns: a STARTED step is on disk before the call it
    announces is made.
    """

    async def open(self) -> None:
        """Create or migrate the schema; call once before use."""

    async def close(self) -> None:
        """Release connections."""

    async def create_workflow(
        self,
        workflow_id: str,
        request_id: str,
        action: str,
        account_id: str | None,
        request: dict[str, Any],
        *,
        principal: dict[str, Any] | None = None,
    ) -> WorkflowRecord:
        """Record a new RUNNING workflow, with the principal it runs for.

        Raises:
            DuplicateRequestError: ``request_id`` is already recorded.
        """

    async def get_workflow(self, workflow_id: str) -> WorkflowRecord | None:
        """One workflow, or None."""

    async def find_by_request(self, request_id: str) -> WorkflowRecord | None:
        """The workflow started by ``request_id``, or None."""

    async def list_workflows(
        self, *, status: WorkflowStatus | None = None, limit: int = 50
    ) -> list[WorkflowRecord]:
        """Newest first."""

    async def finish_workflow(
        self,
        workflow_id: str,
        status: WorkflowStatus,
        *,
        result: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
    ) -> WorkflowRecord:
        """Set the status (and result or error) of a workflow."""

    async def discard_workflow(self, workflow_id: str) -> bool:
        """Delete a workflow that never began a step (its request was refused once it had
        been journaled); False, and nothing deleted, when it has steps, objects or
        approvals."""

    async def start_step(
        self,
        workflow_id: str,
        name: str,
        *,
        kind: str = "action",
        input: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> StepRecord:
        """Record a step STARTED; its ``seq`` orders it within the workflow."""

    async def complete_step(
        self,
        workflow_id: str,
        seq: int,
        output: dict[str, Any] | None = None,
        *,
        created: Sequence[NewResource] = (),
        step: str = "",
    ) -> StepRecord:
        """Record a step COMPLETED with its output, and the resources it ``created`` (named
        ``step``) in the same transaction."""

    async def fail_step(
        self,
        workflow_id: str,
        seq: int,
        error: dict[str, Any],
        *,
        created: Sequence[NewResource] = (),
        step: str = "",
    ) -> StepRecord:
        """Record a step FAILED with its serialised error, and the resources it ``created``."""

    async def steps(self, workflow_id: str) -> list[StepRecord]:
        """A workflow's steps, in order."""

    async def add_resource(
        self,
        workflow_id: str,
        step: str,
        kind: str,
        object_id: str,
        *,
        undo: str = "delete",
        details: dict[str, Any] | None = None,
    ) -> ResourceRecord:
        """Record an object a step created (idempotent on ``(workflow_id, kind, object_id)``)."""

    async def add_resources(
        self, workflow_id: str, step: str, created: Sequence[NewResource]
    ) -> list[ResourceRecord]:
        """Record several objects one step created, in one transaction."""

    async def mark_undone(self, workflow_id: str, kind: str, object_id: str) -> None:
        """Record that a resource has been compensated."""

    async def resources(self, workflow_id: str) -> list[ResourceRecord]:
        """A workflow's resources in the order they were created."""
