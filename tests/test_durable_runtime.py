"""The durable runtime's own settings: how often each role looks at its queues, and DBOS's
SQLite file in WAL mode."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from meta_agent.durable import DurableConfig
from meta_agent.durable.runtime import DurableRuntime


def test_a_worker_looks_at_its_queue_briskly_and_an_embedded_process_once_a_second() -> None:
    """A worker lives on its queue (50 ms a hop); an embedded process's queues only hold work
    handed back after a crash (1 s, as DBOS's own recovery queue); a setting wins over both."""
    assert DurableConfig(listen=("campaign",)).interval() == 0.05
    assert DurableConfig().interval() == 1.0
    assert DurableConfig(polling_interval=0.2).interval() == 0.2
    assert DurableConfig(listen=("campaign",), polling_interval=0.2).interval() == 0.2


async def test_the_embedded_durable_database_is_in_wal_mode(tmp_path: Path) -> None:
    """DBOS's SQLite file is switched to WAL before DBOS opens it: a commit is one append."""
    path = tmp_path / "durable.db"
    await DurableRuntime.ensure(DurableConfig(url=f"sqlite:///{path}"))
    with closing(sqlite3.connect(path)) as connection:
        (mode,) = connection.execute("PRAGMA journal_mode").fetchone()
    assert mode == "wal"
