"""Alembic migrations of the journal (run by :func:`meta_agent.store.migrate.upgrade`)."""
