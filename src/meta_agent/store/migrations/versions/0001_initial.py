"""The initial journal: workflows, their steps and the resources they created.

Revision ID: 0001
Revises:
Create Date: 2025-11-28
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _time() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the three tables."""
    op.create_table(
        "workflows",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("request_id", sa.String, nullable=False),
        sa.Column("action", sa.String, nullable=False),
        sa.Column("account_id", sa.String, nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("request", _json(), nullable=False),
        sa.Column("result", _json(), nullable=True),
        sa.Column("error", _json(), nullable=True),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("updated_at", _time(), nullable=False),
        sa.UniqueConstraint("request_id", name="uq_workflows_request_id"),
    )
    op.create_index("ix_workflows_status_created", "workflows", ["status", "created_at"])
    op.create_index("ix_workflows_created", "workflows", ["created_at"])
    op.create_table(
        "steps",
        sa.Column("workflow_id", sa.String, sa.ForeignKey("workflows.id"), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("input", _json(), nullable=False),
        sa.Column("idempotency_key", sa.String, nullable=True),
        sa.Column("output", _json(), nullable=True),
        sa.Column("error", _json(), nullable=True),
        sa.Column("started_at", _time(), nullable=False),
        sa.Column("finished_at", _time(), nullable=True),
    )
    op.create_table(
        "resources",
        sa.Column("workflow_id", sa.String, sa.ForeignKey("workflows.id"), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("step", sa.String, nullable=False),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("object_id", sa.String, nullable=False),
        sa.Column("undo", sa.String(20), nullable=False),
        sa.Column("undone", sa.Boolean, nullable=False),
        sa.Column("details", _json(), nullable=False),
        sa.UniqueConstraint("workflow_id", "kind", "object_id", name="uq_resources_object"),
    )


def downgrade() -> None:
    """Drop the three tables."""
    op.drop_table("resources")
    op.drop_table("steps")
    op.drop_index("ix_workflows_created", table_name="workflows")
    op.drop_index("ix_workflows_status_created", table_name="workflows")
    op.drop_table("workflows")
