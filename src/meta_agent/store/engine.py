"""Where the journal lives by default, and a SQLAlchemy engine tuned for each backend."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

BUSY_TIMEOUT_MS = 10_000


def default_data_dir() -> Path:
    """meta-agent's data directory: ``$META_AGENT_DATA_DIR``, else the XDG data home's.

    ``META_AGENT_DATA_DIR`` names meta-agent's own directory; otherwise it is
    ``meta-agent`` under ``$XDG_DATA_HOME`` (``~/.local/share`` when that is unset), as
    platformdirs would put it on Linux.
    """
    own = os.environ.get("META_AGENT_DATA_DIR")
    if own:
        return Path(own).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base).expanduser() / "meta-agent"


def default_journal_url() -> str:
    """``sqlite:///<data dir>/journal.db`` (the directory is created when the store opens)."""
    return f"sqlite:///{default_data_dir() / 'journal.db'}"


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL; None for other backends or an in-memory database."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def is_sqlite_memory(url: str) -> bool:
    """True for ``sqlite://`` and ``sqlite:///:memory:``."""
    parsed = make_url(url)
    return parsed.get_backend_name() == "sqlite" and sqlite_path(url) is None


def make_engine(url: str, pool_size: int = 5) -> sa.Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout, foreign keys and BEGIN IMMEDIATE.

    ``pool_size`` bounds a server database's connections (as many again may open under a
    burst): every worker process holds its own pool against one server.
    """
    if make_url(url).get_backend_name() != "sqlite":
        return sa.create_engine(
            url, pool_pre_ping=True, pool_size=pool_size, max_overflow=pool_size
        )
    options: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
    if is_sqlite_memory(url):
        # One shared connection: a pool would hand each thread its own empty database.
        options["poolclass"] = StaticPool
    engine = sa.create_engine(url, **options)
    _tune_sqlite(engine)
    return engine


def _use_wal(cursor: Any) -> None:
    """Switch the file to WAL (a lasting property of the file; a no-op once it is WAL).

    The switch needs a moment alone with a fresh file, and SQLite answers "locked" at once,
    without its busy timeout, while another process opening the same file holds a lock: so
    the switch is tried again for up to the busy timeout.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _tune_sqlite(engine: sa.Engine) -> None:
    """Set the pragmas on every new connection and begin transactions IMMEDIATE.

    pysqlite's own transaction handling would leave DDL and reads outside any transaction;
    taking the write lock at BEGIN makes each method's transaction atomic, and a waiting
    writer goes through the busy timeout instead of failing with "database is locked".
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy, not pysqlite, emits BEGIN
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        _use_wal(cursor)
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=FULL")  # a STARTED step must survive a power cut
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
