"""The journal's queries: each function runs inside one transaction, on a worker thread.

``SqlJournal`` (``sql.py``) opens the transaction and calls one of these with the connection;
they read and write with SQLAlchemy Core and turn rows into the journal's records.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from meta_agent.errors import UsageError
from meta_agent.store.journal import (
    ResourceRecord,
    StepRecord,
    StepStatus,
    WorkflowRecord,
    WorkflowStatus,
)
from meta_agent.store.tables import approvals, resources, steps, workflows


def insert_workflow(connection: sa.Connection, row: dict[str, Any]) -> WorkflowRecord:
    """Insert a workflow row and return it as stored."""
    connection.execute(workflows.insert().values(row))
    return _require_workflow(connection, row["id"])


def select_workflow(
    connection: sa.Connection, where: sa.ColumnElement[bool]
) -> WorkflowRecord | None:
    """The workflow matching ``where``, or None."""
    found = connection.execute(workflows.select().where(where)).first()
    return None if found is None else _workflow(found)


def _require_workflow(connection: sa.Connection, workflow_id: str) -> WorkflowRecord:
    found = select_workflow(connection, workflows.c.id == workflow_id)
    if found is None:
        raise UsageError(f"no workflow {workflow_id!r} in the journal", workflow_id=workflow_id)
    return found


def list_workflows(
    connection: sa.Connection, status: WorkflowStatus | None, limit: int
) -> list[WorkflowRecord]:
    """Workflows newest first (ties by id), optionally in one status."""
    query = workflows.select().order_by(workflows.c.created_at.desc(), workflows.c.id.desc())
    if status is not None:
        query = query.where(workflows.c.status == WorkflowStatus(status).value)
    return [_workflow(row) for row in connection.execute(query.limit(limit))]


def update_workflow(
    connection: sa.Connection, workflow_id: str, values: dict[str, Any], now: datetime
) -> WorkflowRecord:
    """Set ``values`` and ``updated_at`` on a workflow.

    Raises:
        UsageError: no such workflow.
    """
    update = workflows.update().where(workflows.c.id == workflow_id)
    connection.execute(update.values({**values, "updated_at": now}))
    return _require_workflow(connection, workflow_id)


def delete_unstarted_workflow(connection: sa.Connection, workflow_id: str) -> bool:
    """Delete a workflow with no step, resource or approval recorded; whether it went."""
    for table in (steps, resources, approvals):
        mine = sa.select(table.c.workflow_id).where(table.c.workflow_id == workflow_id)
        if connection.execute(mine.limit(1)).first() is not None:
            return False
    deleted = connection.execute(workflows.delete().where(workflows.c.id == workflow_id))
    return deleted.rowcount == 1


def _touch(connection: sa.Connection, workflow_id: str, now: datetime) -> None:
    """Bump ``updated_at``; this also locks the row until the transaction ends."""
    update = workflows.update().where(workflows.c.id == workflow_id).values(updated_at=now)
    if connection.execute(update).rowcount == 0:
        raise UsageError(f"no workflow {workflow_id!r} in the journal", workflow_id=workflow_id)


def _next_seq(connection: sa.Connection, table: sa.Table, workflow_id: str) -> int:
    query = sa.select(sa.func.coalesce(sa.func.max(table.c.seq), 0) + 1)
    return int(connection.execute(query.where(table.c.workflow_id == workflow_id)).scalar_one())


def insert_step(
    connection: sa.Connection, workflow_id: str, row: dict[str, Any], now: datetime
) -> StepRecord:
    """Record a STARTED step numbered after the workflow's last one.

    Raises:
        UsageError: no such workflow.
    """
    _touch(connection, workflow_id, now)
    seq = _next_seq(connection, steps, workflow_id)
    connection.execute(
        steps.insert().values({**row, "workflow_id": workflow_id, "seq": seq, "started_at": now})
    )
    return _require_step(connection, workflow_id, seq)


def finish_step(
    connection: sa.Connection, workflow_id: str, seq: int, values: dict[str, Any], now: datetime
) -> StepRecord:
    """Set a step's outcome (``values``) and ``finished_at``.

    Raises:
        UsageError: no such workflow or step.
    """
    _touch(connection, workflow_id, now)
    where = sa.and_(steps.c.workflow_id == workflow_id, steps.c.seq == seq)
    if connection.execute(
        steps.update().where(where).values({**values, "finished_at": now})
    ).rowcount:
        return _require_step(connection, workflow_id, seq)
    raise UsageError(f"no step {seq} in workflow {workflow_id!r}", workflow_id=workflow_id, seq=seq)


def finish_step_with(
    connection: sa.Connection,
    workflow_id: str,
    seq: int,
    values: dict[str, Any],
    created: list[tuple[dict[str, Any], dict[str, Any]]],
    now: datetime,
) -> StepRecord:
    """Record the resources a step created and its outcome, in one transaction."""
    finished = finish_step(connection, workflow_id, seq, values, now)
    _insert_new_resources(connection, workflow_id, created)
    return finished


def _require_step(connection: sa.Connection, workflow_id: str, seq: int) -> StepRecord:
    where = sa.and_(steps.c.workflow_id == workflow_id, steps.c.seq == seq)
    return _step(connection.execute(steps.select().where(where)).one())


def select_steps(connection: sa.Connection, workflow_id: str) -> list[StepRecord]:
    """A workflow's steps in ``seq`` order."""
    query = steps.select().where(steps.c.workflow_id == workflow_id).order_by(steps.c.seq)
    return [_step(row) for row in connection.execute(query)]


def _resource_where(workflow_id: str, kind: str, object_id: str) -> sa.ColumnElement[bool]:
    return sa.and_(
        resources.c.workflow_id == workflow_id,
        resources.c.kind == kind,
        resources.c.object_id == object_id,
    )


def insert_resource(
    connection: sa.Connection,
    workflow_id: str,
    row: dict[str, Any],
    details: dict[str, Any],
    now: datetime,
) -> ResourceRecord:
    """Record a resource once; an existing record of the same object is returned as is.

    Raises:
        UsageError: no such workflow.
    """
    return insert_resources(connection, workflow_id, [(row, details)], now)[0]


def insert_resources(
    connection: sa.Connection,
    workflow_id: str,
    rows: list[tuple[dict[str, Any], dict[str, Any]]],
    now: datetime,
) -> list[ResourceRecord]:
    """Record several resources at once, each as :func:`insert_resource` does: an object
    already recorded (or named twice) keeps its first record.

    A handful of statements whatever the count (one read of what is there, one insert of
    the rest): a launch of a thousand objects journals them in one short transaction.

    Raises:
        UsageError: no such workflow.
    """
    _touch(connection, workflow_id, now)
    _insert_new_resources(connection, workflow_id, rows)
    wanted = set(_keys(rows))
    ids = sorted({object_id for _, object_id in wanted})
    query = resources.select().where(
        resources.c.workflow_id == workflow_id, resources.c.object_id.in_(ids)
    )
    recorded = {
        (r.kind, r.object_id): _resource(r)
        for r in connection.execute(query)
        if (r.kind, r.object_id) in wanted
    }
    return [recorded[key] for key in _keys(rows)]


def _insert_new_resources(
    connection: sa.Connection, workflow_id: str, rows: list[tuple[dict[str, Any], dict[str, Any]]]
) -> None:
    """Insert the rows not recorded yet (the first of a repeat), numbered after the last (the
    caller has touched the workflow, which also proves it exists)."""
    if not rows:
        return
    keyed = {(row["kind"], row["object_id"]): (row, details) for row, details in reversed(rows)}
    query = sa.select(resources.c.kind, resources.c.object_id).where(
        resources.c.workflow_id == workflow_id,
        resources.c.object_id.in_(sorted({object_id for _, object_id in keyed})),
    )
    existing = set(connection.execute(query).all())
    fresh = [keyed.pop(key) for key in dict.fromkeys(_keys(rows)) if key not in existing]
    if not fresh:
        return
    first = _next_seq(connection, resources, workflow_id)
    values = [
        {**row, "workflow_id": workflow_id, "seq": first + i, "undone": False, "details": details}
        for i, (row, details) in enumerate(fresh)
    ]
    connection.execute(resources.insert(), values)


def _keys(rows: list[tuple[dict[str, Any], dict[str, Any]]]) -> list[tuple[str, str]]:
    return [(row["kind"], row["object_id"]) for row, _ in rows]


def mark_undone(
    connection: sa.Connection, workflow_id: str, kind: str, object_id: str, now: datetime
) -> None:
    """Flag a resource as compensated.

    Raises:
        UsageError: no such workflow or resource.
    """
    _touch(connection, workflow_id, now)
    update = resources.update().where(_resource_where(workflow_id, kind, object_id))
    if connection.execute(update.values(undone=True)).rowcount == 0:
        raise UsageError(
            f"no {kind} {object_id!r} recorded in workflow {workflow_id!r}",
            workflow_id=workflow_id,
            kind=kind,
            object_id=object_id,
        )


def select_resources(connection: sa.Connection, workflow_id: str) -> list[ResourceRecord]:
    """A workflow's resources in the order they were recorded."""
    query = resources.select().where(resources.c.workflow_id == workflow_id)
    return [_resource(row) for row in connection.execute(query.order_by(resources.c.seq))]


def _workflow(row: sa.Row[Any]) -> WorkflowRecord:
    m = row._mapping
    return WorkflowRecord(
        id=m["id"],
        request_id=m["request_id"],
        action=m["action"],
        account_id=m["account_id"],
        status=WorkflowStatus(m["status"]),
        request=m["request"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        result=m["result"],
        error=m["error"],
        principal=m["principal"],
    )


def _step(row: sa.Row[Any]) -> StepRecord:
    m = row._mapping
    return StepRecord(
        workflow_id=m["workflow_id"],
        seq=m["seq"],
        name=m["name"],
        kind=m["kind"],
        status=StepStatus(m["status"]),
        input=m["input"],
        idempotency_key=m["idempotency_key"],
        started_at=m["started_at"],
        finished_at=m["finished_at"],
        output=m["output"],
        error=m["error"],
    )


def _resource(row: sa.Row[Any]) -> ResourceRecord:
    m = row._mapping
    return ResourceRecord(
        workflow_id=m["workflow_id"],
        seq=m["seq"],
        step=m["step"],
        kind=m["kind"],
        object_id=m["object_id"],
        undo=m["undo"],
        undone=bool(m["undone"]),
        details=m["details"],
    )
