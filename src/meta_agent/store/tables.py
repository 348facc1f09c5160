"""The journal's tables in SQLAlchemy Core, and the two column types they need.

This is what the queries in ``sql.py`` are written against. The migrations in
``migrations/versions/`` create the same schema, frozen as it was at each revision; a test
compares the two, so they cannot drift apart unnoticed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect


class UtcDateTime(sa.TypeDecorator[datetime]):
    """An aware UTC datetime on every backend.

    SQLite has no time zones: it stores naive UTC text, which still sorts in time order
    because SQLAlchemy writes it fixed-width. A naive datetime is refused on the way in, so
    a local time can never be stored as if it were UTC.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Convert to UTC (naive UTC for SQLite); refuse naive input."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"the journal stores aware datetimes only, got naive {value!r}")
        utc = value.astimezone(UTC)
        return utc if dialect.name == "postgresql" else utc.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Return an aware UTC datetime."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def json_document() -> sa.types.TypeEngine[Any]:
    """JSON (JSONB on PostgreSQL); Python None is SQL NULL, not the JSON text ``null``."""
    return sa.JSON(none_as_null=True).with_variant(
        postgresql.JSONB(none_as_null=True), "postgresql"
    )


metadata = sa.MetaData()

workflows = sa.Table(
    "workflows",
    metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("request_id", sa.String, nullable=False),
    sa.Column("action", sa.String, nullable=False),
    sa.Column("account_id", sa.String, nullable=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("request", json_document(), nullable=False),
    sa.Column("result", json_document(), nullable=True),
    sa.Column("error", json_document(), nullable=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Column("principal", json_document(), nullable=True),
    sa.UniqueConstraint("request_id", name="uq_workflows_request_id"),
    sa.Index("ix_workflows_status_created", "status", "created_at"),
    sa.Index("ix_workflows_created", "created_at"),
)

steps = sa.Table(
    "steps",
    metadata,
    sa.Column("workflow_id", sa.String, sa.ForeignKey("workflows.id"), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("input", json_document(), nullable=False),
    sa.Column("idempotency_key", sa.String, nullable=True),
    sa.Column("output", json_document(), nullable=True),
    sa.Column("error", json_document(), nullable=True),
    sa.Column("started_at", UtcDateTime, nullable=False),
    sa.Column("finished_at", UtcDateTime, nullable=True),
)

resources = sa.Table(
    "resources",
    metadata,
    sa.Column("workflow_id", sa.String, sa.ForeignKey("workflows.id"), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("step", sa.String, nullable=False),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("object_id", sa.String, nullable=False),
    sa.Column("undo", sa.String(20), nullable=False),
    sa.Column("undone", sa.Boolean, nullable=False),
    sa.Column("details", json_document(), nullable=False),
    sa.UniqueConstraint("workflow_id", "kind", "object_id", name="uq_resources_object"),
)

approvals = sa.Table(
    "approvals",
    metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("workflow_id", sa.String, sa.ForeignKey("workflows.id"), nullable=False),
    sa.Column("account_id", sa.String, nullable=False),
    sa.Column("requested_by", sa.String, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("rules", json_document(), nullable=False),
    sa.Column("diff", json_document(), nullable=False),
    sa.Column("fingerprints", json_document(), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False),
    sa.Column("decided_by", sa.String, nullable=True),
    sa.Column("decided_at", UtcDateTime, nullable=True),
    sa.Column("note", sa.String, nullable=True),
    sa.Index("ix_approvals_workflow", "workflow_id"),
    sa.Index("ix_approvals_status_created", "status", "created_at"),
)

budget_ledger = sa.Table(
    "budget_ledger",
    metadata,
    sa.Column("key", sa.String, primary_key=True),
    sa.Column("account_id", sa.String, nullable=False),
    sa.Column("day", sa.String(10), nullable=False),
    sa.Column("object_key", sa.String, nullable=False),
    sa.Column("field", sa.String, nullable=False),
    sa.Column("before", sa.BigInteger, nullable=True),
    sa.Column("after", sa.BigInteger, nullable=False),
    sa.Column("added", sa.BigInteger, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Index("ix_budget_ledger_account_day", "account_id", "day"),
)

workers = sa.Table(
    "workers",
    metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("agent", sa.String, nullable=False),
    sa.Column("queues", json_document(), nullable=False),
    sa.Column("host", sa.String, nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("started_at", UtcDateTime, nullable=False),
    sa.Column("heartbeat_at", UtcDateTime, nullable=False),
    sa.Column("in_flight", sa.Integer, nullable=False),
    sa.Column("taken_over_by", sa.String, nullable=True),
)
