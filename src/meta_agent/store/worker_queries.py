"""The worker registry's queries: heartbeats, the dead, and marking them taken over."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

import sqlalchemy as sa

from meta_agent.store.journal import WorkerRecord
from meta_agent.store.tables import workers

ALIVE = "alive"
STOPPED = "stopped"
TAKEN_OVER = "taken_over"


def beat(connection: sa.Connection, record: WorkerRecord) -> None:
    """Insert or refresh one worker's row (a restarted worker with the same id is alive again)."""
    values = asdict(record)
    updated = connection.execute(
        workers.update().where(workers.c.id == record.id).values(values)
    ).rowcount
    if not updated:
        connection.execute(workers.insert().values(values))


def set_status(connection: sa.Connection, worker_id: str, status: str) -> None:
    """Mark a worker stopped (a clean exit) or alive."""
    connection.execute(workers.update().where(workers.c.id == worker_id).values(status=status))


def list_workers(connection: sa.Connection) -> list[WorkerRecord]:
    """Every worker ever registered, newest heartbeat first."""
    rows = connection.execute(workers.select().order_by(workers.c.heartbeat_at.desc()))
    return [_record(row) for row in rows]


def dead_workers(
    connection: sa.Connection, cutoff: datetime, by: str, only: str | None
) -> list[WorkerRecord]:
    """Workers silent since ``cutoff`` or stopped (or just ``only``), not yet taken over."""
    condition = workers.c.status.in_([ALIVE, STOPPED]) & (workers.c.id != by)
    if only is None:
        condition &= (workers.c.heartbeat_at < cutoff) | (workers.c.status == STOPPED)
    else:
        condition &= workers.c.id == only
    return [_record(row) for row in connection.execute(workers.select().where(condition))]


def mark_taken_over(connection: sa.Connection, dead: WorkerRecord, by: str) -> bool:
    """Mark ``dead`` taken over by ``by``, unless it beat again meanwhile (it came back)."""
    marked = connection.execute(
        workers.update()
        .where(
            workers.c.id == dead.id,
            workers.c.heartbeat_at == dead.heartbeat_at,
            workers.c.status != TAKEN_OVER,
        )
        .values(status=TAKEN_OVER, taken_over_by=by)
    ).rowcount
    return bool(marked)


def _record(row: sa.Row[tuple[object, ...]]) -> WorkerRecord:
    data = dict(row._mapping)
    data["queues"] = list(data["queues"] or [])
    return WorkerRecord(**data)
