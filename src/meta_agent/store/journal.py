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


class DuplicateRequestError(Exception):
    """A workflow with this ``request_id`` already exists (``existing`` is it)."""

    def __init__(self, existing: WorkflowRecord) -> None:
        super().__init__(f"request_id {existing.request_id!r} was seen before")
        self.existing = existing


class JournalStore(Protocol):
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
    ) -> WorkflowRecord:
        """Record a new RUNNING workflow.

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
