"""SQLite specifics: where the journal lives by default, and the pragmas that make it safe."""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from meta_agent.store import SqlJournal, default_journal_url, open_journal
from meta_agent.store.engine import BUSY_TIMEOUT_MS, make_engine


@pytest.fixture
def no_data_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A home directory in tmp_path and neither META_AGENT_DATA_DIR nor XDG_DATA_HOME set."""
    monkeypatch.delenv("META_AGENT_DATA_DIR", raising=False)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tmp_path


def test_default_url_is_under_the_home_data_dir(no_data_env: Path) -> None:
    """Without overrides the journal is ~/.local/share/meta-agent/journal.db."""
    expected = no_data_env / "home" / ".local" / "share" / "meta-agent" / "journal.db"
    assert default_journal_url() == f"sqlite:///{expected}"


def test_default_url_honours_xdg_data_home(
    no_data_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """$XDG_DATA_HOME replaces ~/.local/share."""
    monkeypatch.setenv("XDG_DATA_HOME", str(no_data_env / "xdg"))
    assert default_journal_url() == f"sqlite:///{no_data_env / 'xdg' / 'meta-agent' / 'journal.db'}"


def test_default_url_honours_meta_agent_data_dir(
    no_data_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """$META_AGENT_DATA_DIR names meta-agent's own directory and wins over XDG."""
    monkeypatch.setenv("XDG_DATA_HOME", str(no_data_env / "xdg"))
    monkeypatch.setenv("META_AGENT_DATA_DIR", str(no_data_env / "mine"))
    assert default_journal_url() == f"sqlite:///{no_data_env / 'mine' / 'journal.db'}"


async def test_open_journal_creates_the_default_directory(
    no_data_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """open_journal() with no URL opens a journal in the data dir, creating the directories."""
    monkeypatch.setenv("META_AGENT_DATA_DIR", str(no_data_env / "a" / "b"))
    store = open_journal(None)
    await store.open()
    try:
        await store.create_workflow("wf-1", "req-1", "launch", None, {})
    finally:
        await store.close()
    assert (no_data_env / "a" / "b" / "journal.db").is_file()


async def test_journal_file_is_in_wal_mode(tmp_path: Path) -> None:
    """The database file is switched to write-ahead logging (readers never block the writer)."""
    path = tmp_path / "journal.db"
    store = SqlJournal(f"sqlite:///{path}")
    await store.open()
    await store.close()
    with closing(sqlite3.connect(path)) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_connections_wait_for_locks_and_enforce_foreign_keys(tmp_path: Path) -> None:
    """Each connection has the busy timeout and foreign keys on (SQLite defaults both off)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'journal.db'}")
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == BUSY_TIMEOUT_MS
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


async def test_in_memory_journal_serves_concurrent_calls() -> None:
    """``sqlite://`` is one shared database, safe under concurrent calls (handy in tests)."""
    store = SqlJournal("sqlite://")
    await store.open()
    try:
        await store.create_workflow("wf-1", "req-1", "launch", None, {})
        started = await asyncio.gather(*(store.start_step("wf-1", f"s{n}") for n in range(6)))
        assert sorted(s.seq for s in started) == [1, 2, 3, 4, 5, 6]
    finally:
        await store.close()
