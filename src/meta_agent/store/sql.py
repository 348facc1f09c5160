"""``SqlJournal``: the workflow journal over SQLAlchemy 2 Core, on SQLite or PostgreSQL.

Why a sync engine run in a worker thread (``asyncio.to_thread``) rather than SQLAlchemy's
asyncio extension: the async SQLite driver (aiosqlite) is not a dependency, and one sync code
path then serves both backends with the drivers we have (stdlib ``sqlite3``, psycopg 3). The
journal writes a handful of short rows per Meta call, so a thread hop costs nothing that
matters, and the event loop never blocks on disk or network. A caller cancelled mid-write
does not cancel the write: the thread finishes and commits, the safe side for a journal.

Every method is one transaction (its queries are in ``queries.py``), committed before it
returns. Writes to a workflow's steps and resources first touch its row (``updated_at``),
which locks it on PostgreSQL and takes the write lock on SQLite (``BEGIN IMMEDIATE``):
concurrent writers to one workflow queue up, so ``seq`` numbers are handed out without gaps
or collisions and ``add_resource`` cannot record an object twice.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from datetime import UTC, datetime
from typing import Any, Concatenate, ParamSpec, TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from meta_agent.errors import RequestValidationError, UsageError
from meta_agent.store import gate_queries, queries, worker_queries
from meta_agent.store.engine import default_journal_url, is_sqlite_memory, make_engine, sqlite_path
from meta_agent.store.journal import (
    ApprovalRecord,
    ApprovalStatus,
    DuplicateRequestError,
    JournalStore,
    LedgerEntry,
    NewResource,
    ResourceRecord,
    StepRecord,
    StepStatus,
    WorkerRecord,
    WorkflowRecord,
    WorkflowStatus,
)
from meta_agent.store.migrate import upgrade
from meta_agent.store.tables import workflows

P = ParamSpec("P")
T = TypeVar("T")
STEP_KINDS = frozenset({"action", "compensation"})


def _utcnow() -> datetime:
    return datetime.now(UTC)


class SqlJournal:
    """A :class:`~meta_agent.store.journal.JournalStore` in a SQL database.

    ``url`` is a SQLAlchemy URL (``sqlite:///path/journal.db``,
    ``postgresql+psycopg://user@host/db``); None means :func:`default_journal_url`.
    ``now`` is the clock for the stored times (aware UTC).
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        now: Callable[[], datetime] = _utcnow,
        pool_size: int = 5,
    ) -> None:
        self.url = url or default_journal_url()
        self._now = now
        self._pool_size = pool_size
        self._engine: sa.Engine | None = None
        # An in-memory SQLite database is one shared connection: take turns on it.
        self._serial = threading.Lock() if is_sqlite_memory(self.url) else None

    async def open(self) -> None:
        """Create the database directory (SQLite) and migrate the schema to the latest revision."""
        await asyncio.to_thread(self._open)

    def _open(self) -> None:
        path = sqlite_path(self.url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = self._engine or make_engine(self.url, self._pool_size)
        upgrade(engine)
        self._engine = engine

    async def close(self) -> None:
        """Release the connection pool; ``open()`` again to reuse the store."""
        engine, self._engine = self._engine, None
        if engine is not None:
            await asyncio.to_thread(engine.dispose)

    async def _tx(
        self,
        fn: Callable[Concatenate[sa.Connection, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """Run ``fn(connection, ...)`` in one committed transaction, in a worker thread."""
        return await asyncio.to_thread(
            self._in_transaction, lambda connection: fn(connection, *args, **kwargs)
        )

    def _in_transaction(self, work: Callable[[sa.Connection], T]) -> T:
        if self._engine is None:
            raise UsageError("the journal is not open: await store.open() first")
        with self._serial or nullcontext(), self._engine.begin() as connection:
            return work(connection)

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
            DuplicateRequestError: ``request_id`` is already recorded (``existing`` is it).
            UsageError: ``workflow_id`` is already taken by another request.
        """
        now = self._now()
        row = {
            "id": workflow_id,
            "request_id": request_id,
            "action": action,
            "account_id": account_id,
            "status": WorkflowStatus.RUNNING.value,
            "request": request,
            "created_at": now,
            "updated_at": now,
            "principal": principal,
        }
        try:
            return await self._tx(queries.insert_workflow, row)
        except IntegrityError:
            existing = await self.find_by_request(request_id)
            if existing is None:
                raise UsageError(
                    f"workflow id {workflow_id!r} is already taken", workflow_id=workflow_id
                ) from None
            raise DuplicateRequestError(existing) from None

    async def get_workflow(self, workflow_id: str) -> WorkflowRecord | None:
        """One workflow, or None."""
        return await self._tx(queries.select_workflow, workflows.c.id == workflow_id)

    async def find_by_request(self, request_id: str) -> WorkflowRecord | None:
        """The workflow started by ``request_id``, or None."""
        return await self._tx(queries.select_workflow, workflows.c.request_id == request_id)

    async def list_workflows(
        self, *, status: WorkflowStatus | None = None, limit: int = 50
    ) -> list[WorkflowRecord]:
        """Workflows newest first, optionally only those in ``status``.

        Raises:
            RequestValidationError: ``limit`` is below 1.
        """
        if limit < 1:
            raise RequestValidationError(f"limit must be at least 1, not {limit}", field="limit")
        return await self._tx(queries.list_workflows, status, limit)

    async def finish_workflow(
        self,
        workflow_id: str,
        status: WorkflowStatus,
        *,
        result: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
    ) -> WorkflowRecord:
        """Set the status; ``result`` and ``error`` replace the stored ones unless None.

        Raises:
            UsageError: no such workflow.
        """
        values: dict[str, Any] = {"status": WorkflowStatus(status).value}
        if result is not None:
            values["result"] = result
        if error is not None:
            values["error"] = error
        return await self._tx(queries.update_workflow, workflow_id, values, self._now())

    async def discard_workflow(self, workflow_id: str) -> bool:
        """Delete a workflow that never began a step; False if it has anything recorded."""
        return await self._tx(queries.delete_unstarted_workflow, workflow_id)

    async def start_step(
        self,
        workflow_id: str,
        name: str,
        *,
        kind: str = "action",
        input: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> StepRecord:
        """Record a step STARTED, numbered after the workflow's last step (from 1).

        Raises:
            RequestValidationError: ``kind`` is neither ``action`` nor ``compensation``.
            UsageError: no such workflow.
        """
        if kind not in STEP_KINDS:
            raise RequestValidationError(
                f"step kind must be 'action' or 'compensation', not {kind!r}", field="kind"
            )
        row = {
            "name": name,
            "kind": kind,
            "status": StepStatus.STARTED.value,
            "input": input or {},
            "idempotency_key": idempotency_key,
        }
        return await self._tx(queries.insert_step, workflow_id, row, self._now())

    async def complete_step(
        self,
        workflow_id: str,
        seq: int,
        output: dict[str, Any] | None = None,
        *,
        created: Sequence[NewResource] = (),
        step: str = "",
    ) -> StepRecord:
        """Record a step COMPLETED with its output, and the resources it ``created`` (under
        the name ``step``) in the same transaction.

        Raises:
            UsageError: no such step.
        """
        values = {"status": StepStatus.COMPLETED.value, "output": output}
        rows = _resource_rows(step, created)
        return await self._tx(queries.finish_step_with, workflow_id, seq, values, rows, self._now())

    async def fail_step(
        self,
        workflow_id: str,
        seq: int,
        error: dict[str, Any],
        *,
        created: Sequence[NewResource] = (),
        step: str = "",
    ) -> StepRecord:
        """Record a step FAILED with its serialised error, and the resources it ``created``.

        Raises:
            UsageError: no such step.
        """
        values = {"status": StepStatus.FAILED.value, "error": error}
        rows = _resource_rows(step, created)
        return await self._tx(queries.finish_step_with, workflow_id, seq, values, rows, self._now())

    async def steps(self, workflow_id: str) -> list[StepRecord]:
        """A workflow's steps in ``seq`` order (empty for an unknown workflow)."""
        return await self._tx(queries.select_steps, workflow_id)

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
        """Record an object a step created; recording it again returns the first record.

        Raises:
            UsageError: no such workflow.
        """
        row = {"step": step, "kind": kind, "object_id": object_id, "undo": undo}
        return await self._tx(queries.insert_resource, workflow_id, row, details or {}, self._now())

    async def add_resources(
        self, workflow_id: str, step: str, created: Sequence[NewResource]
    ) -> list[ResourceRecord]:
        """Record several objects one step created, in one transaction (all or none).

        Raises:
            UsageError: no such workflow.
        """
        rows = _resource_rows(step, created)
        return await self._tx(queries.insert_resources, workflow_id, rows, self._now())

    async def mark_undone(self, workflow_id: str, kind: str, object_id: str) -> None:
        """Record that a resource has been compensated.

        Raises:
            UsageError: no such resource.
        """
        await self._tx(queries.mark_undone, workflow_id, kind, object_id, self._now())

    async def resources(self, workflow_id: str) -> list[ResourceRecord]:
        """A workflow's resources in the order they were recorded."""
        return await self._tx(queries.select_resources, workflow_id)

    async def create_approval(self, record: ApprovalRecord) -> ApprovalRecord:
        """Record a PENDING approval."""
        return await self._tx(gate_queries.insert_approval, record)

    async def get_approval(self, approval_id: str) -> ApprovalRecord | None:
        """One approval, or None."""
        return await self._tx(gate_queries.select_approval, approval_id)

    async def list_approvals(
        self, *, status: ApprovalStatus | None = None, limit: int = 50
    ) -> list[ApprovalRecord]:
        """Approvals newest first, optionally only those in ``status``."""
        return await self._tx(gate_queries.list_approvals, status, max(1, limit))

    async def approvals_of(self, workflow_id: str) -> list[ApprovalRecord]:
        """A workflow's approvals, oldest first."""
        return await self._tx(gate_queries.approvals_of, workflow_id)

    async def decide_approval(
        self, approval_id: str, status: ApprovalStatus, by: str | None, note: str | None
    ) -> ApprovalRecord:
        """Move a PENDING approval to ``status`` (one decision wins).

        Raises:
            ConflictError: no such approval, or it is no longer PENDING.
        """
        values = {
            "status": ApprovalStatus(status).value,
            "decided_by": by,
            "decided_at": self._now(),
            "note": note,
        }
        return await self._tx(gate_queries.decide_approval, approval_id, values)

    async def reserve_budgets(
        self, reservations: Sequence[tuple[LedgerEntry, int | None]]
    ) -> tuple[int | None, list[int]]:
        """Record every entry under its cap, or none (see ``gate_queries.reserve_budgets``)."""
        return await self._tx(gate_queries.reserve_budgets, reservations, self._now())

    async def first_budget_today(
        self, account_id: str, day: str, object_key: str, field: str
    ) -> int | None:
        """The value a field had before its first change of the day, if it changed."""
        return await self._tx(gate_queries.first_budget_today, account_id, day, object_key, field)

    async def worker_beat(self, record: WorkerRecord) -> None:
        """Insert or refresh a worker's row."""
        await self._tx(worker_queries.beat, record)

    async def worker_status(self, worker_id: str, status: str) -> None:
        """Set a worker's status."""
        await self._tx(worker_queries.set_status, worker_id, status)

    async def workers(self) -> list[WorkerRecord]:
        """Every registered worker, newest heartbeat first."""
        return await self._tx(worker_queries.list_workers)

    async def dead_workers(
        self, cutoff: datetime, by: str, only: str | None = None
    ) -> list[WorkerRecord]:
        """Workers silent since ``cutoff`` or stopped (or just ``only``), other than ``by``."""
        return await self._tx(worker_queries.dead_workers, cutoff, by, only)

    async def mark_taken_over(self, dead: WorkerRecord, by: str) -> bool:
        """Mark ``dead`` taken over by ``by`` unless it beat since it was read."""
        return await self._tx(worker_queries.mark_taken_over, dead, by)


def _resource_rows(
    step: str, created: Sequence[NewResource]
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [
        ({"step": step, "kind": r.kind, "object_id": r.object_id, "undo": r.undo}, dict(r.details))
        for r in created
    ]


def open_journal(url: str | None = None) -> JournalStore:
    """The journal at ``url`` (default: SQLite in the user's data directory), not yet open.

    ``await store.open()`` before use: it creates the directory and migrates the schema.
    """
    return SqlJournal(url)
