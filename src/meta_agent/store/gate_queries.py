"""The write gate's queries (approvals, budget ledger): each runs inside one transaction.

``SqlJournal`` opens the transaction; these read and write with SQLAlchemy Core.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from meta_agent.errors import ConflictError, UnknownRecordError
from meta_agent.store.journal import ApprovalRecord, ApprovalStatus, LedgerEntry
from meta_agent.store.tables import approvals, budget_ledger


def insert_approval(connection: sa.Connection, record: ApprovalRecord) -> ApprovalRecord:
    """Insert an approval and return it as stored."""
    row = asdict(record)
    row["status"] = record.status.value
    connection.execute(approvals.insert().values(row))
    return _require(connection, record.id)


def select_approval(connection: sa.Connection, approval_id: str) -> ApprovalRecord | None:
    """One approval, or None."""
    found = connection.execute(approvals.select().where(approvals.c.id == approval_id)).first()
    return None if found is None else _approval(found)


def list_approvals(
    connection: sa.Connection, status: ApprovalStatus | None, limit: int
) -> list[ApprovalRecord]:
    """Approvals newest first, optionally in one status."""
    query = approvals.select().order_by(approvals.c.created_at.desc(), approvals.c.id.desc())
    if status is not None:
        query = query.where(approvals.c.status == ApprovalStatus(status).value)
    return [_approval(row) for row in connection.execute(query.limit(limit))]


def approvals_of(connection: sa.Connection, workflow_id: str) -> list[ApprovalRecord]:
    """A workflow's approvals, oldest first."""
    query = approvals.select().where(approvals.c.workflow_id == workflow_id)
    return [_approval(row) for row in connection.execute(query.order_by(approvals.c.created_at))]


def decide_approval(
    connection: sa.Connection,
    approval_id: str,
    values: dict[str, Any],
) -> ApprovalRecord:
    """Move a PENDING approval on; only one decision can ever win.

    Raises:
        ConflictError: no such approval, or it was decided (or expired) already.
    """
    update = approvals.update().where(
        approvals.c.id == approval_id, approvals.c.status == ApprovalStatus.PENDING.value
    )
    if connection.execute(update.values(values)).rowcount == 1:
        return _require(connection, approval_id)
    found = select_approval(connection, approval_id)
    if found is None:
        raise UnknownRecordError(f"No approval {approval_id!r}", field="approval_id")
    raise ConflictError(
        f"Approval {approval_id} is {found.status.value}, not PENDING: it cannot be decided again",
        field="approval_id",
        status=found.status.value,
    )


def reserve_budgets(
    connection: sa.Connection,
    reservations: Sequence[tuple[LedgerEntry, int | None]],
    now: datetime,
) -> tuple[int | None, list[int]]:
    """Record every ``(entry, cap)`` unless one would bring its account's day total past its
    cap; then none is recorded. ``(refused, totals)``: the index of the first entry refused
    (or None), and each entry's account-day total counting it and the entries before it (the
    refused one's without it; the entries after it are not looked at).

    Idempotent on ``entry.key``: an entry already recorded adds nothing. One transaction for
    a whole batch of writes, so a launch's budgets cost one round to the database.
    """
    days = sorted({(entry.account_id, entry.day) for entry, _ in reservations})
    for account_id, day in days:  # in one order, so two writers never wait on each other
        _lock_day(connection, account_id, day)
    totals = {key: _day_total(connection, *key) for key in days}
    keys = [entry.key for entry, _ in reservations]
    seen = {
        row[0]
        for row in connection.execute(
            sa.select(budget_ledger.c.key).where(budget_ledger.c.key.in_(keys))
        )
    }
    fresh: list[LedgerEntry] = []
    running: list[int] = []
    for index, (entry, cap) in enumerate(reservations):
        account_day = (entry.account_id, entry.day)
        total = totals[account_day]
        if entry.key not in seen:
            if cap is not None and entry.added > 0 and total + entry.added > cap:
                return index, [*running, total]
            seen.add(entry.key)
            fresh.append(entry)
            total = totals[account_day] = total + entry.added
        running.append(total)
    if fresh:
        rows = [{**asdict(entry), "created_at": now} for entry in fresh]
        connection.execute(budget_ledger.insert(), rows)
    return None, running


def first_budget_today(
    connection: sa.Connection, account_id: str, day: str, object_key: str, field: str
) -> int | None:
    """``before`` of the day's first ledger entry for one object's field."""
    query = (
        sa.select(budget_ledger.c.before)
        .where(
            budget_ledger.c.account_id == account_id,
            budget_ledger.c.day == day,
            budget_ledger.c.object_key == object_key,
            budget_ledger.c.field == field,
        )
        .order_by(budget_ledger.c.created_at)
        .limit(1)
    )
    found = connection.execute(query).first()
    return None if found is None else found[0]


def _lock_day(connection: sa.Connection, account_id: str, day: str) -> None:
    """Serialise ledger writers of one account and day (SQLite: BEGIN IMMEDIATE already)."""
    if connection.dialect.name == "postgresql":
        key = zlib.crc32(f"ledger:{account_id}:{day}".encode())
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def _day_total(connection: sa.Connection, account_id: str, day: str) -> int:
    query = sa.select(sa.func.coalesce(sa.func.sum(budget_ledger.c.added), 0)).where(
        budget_ledger.c.account_id == account_id,
        budget_ledger.c.day == day,
        budget_ledger.c.added > 0,
    )
    return int(connection.execute(query).scalar_one())


def _require(connection: sa.Connection, approval_id: str) -> ApprovalRecord:
    found = select_approval(connection, approval_id)
    if found is None:
        raise UnknownRecordError(f"No approval {approval_id!r}", field="approval_id")
    return found


def _approval(row: sa.Row[Any]) -> ApprovalRecord:
    m = dict(row._mapping)
    m["status"] = ApprovalStatus(m["status"])
    return ApprovalRecord(**m)
