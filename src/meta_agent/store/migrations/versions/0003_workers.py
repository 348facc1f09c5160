"""Live worker processes: what each listens to and when it last said so.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _time() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create ``workers``."""
    op.create_table(
        "workers",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("agent", sa.String, nullable=False),
        sa.Column("queues", _json(), nullable=False),
        sa.Column("host", sa.String, nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("started_at", _time(), nullable=False),
        sa.Column("heartbeat_at", _time(), nullable=False),
        sa.Column("in_flight", sa.Integer, nullable=False),
        sa.Column("taken_over_by", sa.String, nullable=True),
    )


def downgrade() -> None:
    """Drop what :func:`upgrade` added."""
    op.drop_table("workers")
