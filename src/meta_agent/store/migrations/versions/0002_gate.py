"""The write gate's records: the principal of each workflow, approvals, the budget ledger.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _time() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    """Add ``workflows.principal`` and create ``approvals`` and ``budget_ledger``."""
    with op.batch_alter_table("workflows") as batch:
        batch.add_column(sa.Column("principal", _json(), nullable=True))
    op.create_table(
        "approvals",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("workflow_id", sa.String, sa.ForeignKey("workflows.id"), nullable=False),
        sa.Column("account_id", sa.String, nullable=False),
        sa.Column("requested_by", sa.String, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("rules", _json(), nullable=False),
        sa.Column("diff", _json(), nullable=False),
        sa.Column("fingerprints", _json(), nullable=False),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("expires_at", _time(), nullable=False),
        sa.Column("decided_by", sa.String, nullable=True),
        sa.Column("decided_at", _time(), nullable=True),
        sa.Column("note", sa.String, nullable=True),
    )
    op.create_index("ix_approvals_workflow", "approvals", ["workflow_id"])
    op.create_index("ix_approvals_status_created", "approvals", ["status", "created_at"])
    op.create_table(
        "budget_ledger",
        sa.Column("key", sa.String, primary_key=True),
        sa.Column("account_id", sa.String, nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("object_key", sa.String, nullable=False),
        sa.Column("field", sa.String, nullable=False),
        sa.Column("before", sa.BigInteger, nullable=True),
        sa.Column("after", sa.BigInteger, nullable=False),
        sa.Column("added", sa.BigInteger, nullable=False),
        sa.Column("created_at", _time(), nullable=False),
    )
    op.create_index("ix_budget_ledger_account_day", "budget_ledger", ["account_id", "day"])


def downgrade() -> None:
    """Drop what :func:`upgrade` added."""
    op.drop_index("ix_budget_ledger_account_day", table_name="budget_ledger")
    op.drop_table("budget_ledger")
    op.drop_index("ix_approvals_status_created", table_name="approvals")
    op.drop_index("ix_approvals_workflow", table_name="approvals")
    op.drop_table("approvals")
    with op.batch_alter_table("workflows") as batch:
        batch.drop_column("principal")
