"""Journal backends for the contract suite: SQLite in a temporary file, PostgreSQL on loopback.

PostgreSQL gets one throwaway database per test session, and each test a fresh schema in it
(selected with ``search_path``), so tests neither see each other's rows nor leave any behind.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

from meta_agent.store.sql import SqlJournal
from tests.services import POSTGRES, POSTGRES_ADMIN_URL, require, unique_name

MakeJournal = Callable[..., Awaitable[SqlJournal]]


class TickingClock:
    """Aware UTC time that moves forward one millisecond per reading (orders rows exactly)."""

    def __init__(self, start: datetime = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)) -> None:
        self.current = start

    def __call__(self) -> datetime:
        self.current += timedelta(milliseconds=1)
        return self.current


def _conninfo(url: str) -> str:
    """A libpq connection string for a SQLAlchemy ``postgresql+psycopg://`` URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _admin(url: str) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(_conninfo(url), autocommit=True, connect_timeout=5)


@pytest.fixture(scope="session")
def pg_database_url() -> Iterator[str]:
    """A PostgreSQL database made for this session, dropped at its end."""
    require(POSTGRES)
    name = unique_name("meta_agent_test")
    with _admin(POSTGRES_ADMIN_URL) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    with _admin(POSTGRES_ADMIN_URL) as admin:
        admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def pg_url(pg_database_url: str) -> Iterator[str]:
    """A URL whose connections all land in a fresh, empty schema."""
    schema = unique_name("t")
    with _admin(pg_database_url) as admin:
        admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    url = make_url(pg_database_url).update_query_dict({"options": f"-csearch_path={schema}"})
    yield url.render_as_string(hide_password=False)
    with _admin(pg_database_url) as admin:
        admin.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
def journal_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty journal on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'journal.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def journal_clock() -> TickingClock:
    """The journal's clock: one millisecond later at every reading."""
    return TickingClock()


@pytest.fixture
async def make_journal(journal_url: str, journal_clock: TickingClock) -> AsyncIterator[MakeJournal]:
    """Open journals on ``journal_url`` (more than one = another process); closed at teardown."""
    opened: list[SqlJournal] = []

    async def make(url: str | None = None) -> SqlJournal:
        store = SqlJournal(url or journal_url, now=journal_clock)
        await store.open()
        opened.append(store)
        return store

    yield make
    for store in opened:
        await store.close()


@pytest.fixture
async def journal(make_journal: MakeJournal) -> SqlJournal:
    """An open, empty journal."""
    return await make_journal()
