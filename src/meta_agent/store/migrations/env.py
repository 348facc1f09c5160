"""Alembic's entry point: runs the migrations on the connection ``migrate.upgrade`` passes."""

from __future__ import annotations

from alembic import context

from meta_agent.store.tables import metadata


def run_migrations() -> None:
    """Run online, on the caller's connection and inside its transaction."""
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run the journal's migrations with meta_agent.store.migrate.upgrade")
    context.configure(connection=connection, target_metadata=metadata)
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
