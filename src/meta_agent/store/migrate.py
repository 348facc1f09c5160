"""Alembic, driven from code: the migrations ship inside the package, no alembic.ini needed.

To write a new revision, point Alembic at a scratch database at head and autogenerate::

    with engine.begin() as conn:
        command.revision(alembic_config(conn), "what changed", autogenerate=True)

then freeze the generated file by hand (no imports from ``tables.py``).
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext

MIGRATIONS = Path(__file__).parent / "migrations"

# Two processes opening a fresh PostgreSQL journal at once must not both create the tables.
_PG_LOCK_KEY = 0x6D657461_6A726E6C  # "meta" "jrnl"


def alembic_config(connection: sa.Connection) -> Config:
    """An Alembic config for the shipped migrations, running on ``connection``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Migrate the database to ``revision`` in one transaction (a no-op when already there)."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        command.upgrade(alembic_config(connection), revision)


def current_revision(engine: sa.Engine) -> str | None:
    """The revision the database is at (None before the first migration)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
