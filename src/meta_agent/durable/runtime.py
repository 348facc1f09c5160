"""The process's one durable-execution engine: DBOS Transact, launched once.

DBOS checkpoints workflows in a database (SQLite for one process, PostgreSQL for many) and
runs them from durable queues: any process that listens to a queue may take its work, a
workflow id runs once, and the workflows a process had in flight are run again when it (or,
after :mod:`meta_agent.durable.workers` declares it dead, another process) starts.

DBOS is a singleton per process, so this module keeps one :class:`DurableRuntime` and
relaunches it only when asked for another database (tests open many worlds in one process).
The workflow functions themselves are registered at import time by the orchestrator; they
find the world they run in through :func:`world` (the objects a process built: its graph
client, journal, agents), since only ids and JSON cross the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import random
import sqlite3
import tempfile
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
from dbos import DBOS, DBOSConfig, SetWorkflowID
from dbos._dbos import _get_dbos_instance

log = structlog.get_logger("meta_agent.durable")

ORCHESTRATOR_QUEUE = "orchestrator"
AGENT_QUEUES = ("asset", "campaign", "ad_creation", "insights")
QUEUES = (ORCHESTRATOR_QUEUE, *AGENT_QUEUES)
APP_NAME = "meta-agent"
# Every process of one release must agree on the version, or none would recover the
# others' workflows (DBOS would otherwise hash the code it sees).
APP_VERSION = "meta-agent-1"
WORKER_POLL_S = 0.05
EMBEDDED_POLL_S = 1.0


@dataclass(frozen=True)
class QueueLimits:
    """How much of one queue's work a process takes at once, and for how long at most."""

    worker_concurrency: int
    per_account: int | None = None
    timeout: float | None = None


@dataclass(frozen=True)
class DurableConfig:
    """What the runtime is launched with.

    ``url`` None is the embedded default: a SQLite file of its own in a temporary folder
    (the journal's folder when the service passes one). ``listen`` None takes work from
    every queue (one process does everything); a worker names its own.
    """

    url: str | None = None
    executor_id: str = "local"
    listen: tuple[str, ...] | None = None
    limits: Mapping[str, QueueLimits] = field(default_factory=dict)
    polling_interval: float | None = None
    """How often this process looks at its queues; None: by its role (see :meth:`interval`)."""
    pool_size: int = 8

    def interval(self) -> float:
        """Seconds between looks at the queues (and at DBOS's notifications).

        A worker (``listen`` set) lives on its queue: it looks every 50 ms, which is the
        latency of each hop. An embedded process runs its workflows directly; its queues
        only ever receive work handed back after a crash, so it looks once a second, as
        DBOS looks at its own queue of recovered work, and its polling threads stay out of
        the way of the requests it serves.
        """
        if self.polling_interval is not None:
            return self.polling_interval
        return WORKER_POLL_S if self.listen is not None else EMBEDDED_POLL_S

    def system_url(self) -> str:
        """The database DBOS checkpoints into."""
        if self.url is not None:
            return self.url
        folder = Path(tempfile.mkdtemp(prefix="meta-agent-durable-"))
        return f"sqlite:///{folder / 'durable.db'}"


class DurableRuntime:
    """DBOS, launched for this process, and the queues of meta-agent's agents."""

    _current: DurableRuntime | None = None

    def __init__(self, config: DurableConfig, url: str) -> None:
        self.config = config
        self.url = url

    @classmethod
    async def ensure(cls, config: DurableConfig | None = None) -> DurableRuntime:
        """The running runtime; launched (or relaunched on another database) if need be.

        Called from the event loop that will run the workflows: work DBOS takes from a queue
        (recovery included) is run on that loop, where the world's connections live.
        """
        config = config or DurableConfig()
        current = cls._current
        reusable = current is not None and current.usable()
        if current is not None and reusable and (config.url is None or _same(config, current)):
            current.bind_loop()
            return current
        if current is not None:
            current.shutdown()
        runtime = cls(config, config.system_url())
        # Launched from the loop (DBOS runs dequeued work on the loop it launches from);
        # the queues are declared from a thread, as DBOS asks of its blocking calls.
        runtime._launch()
        await asyncio.to_thread(runtime._declare_queues)
        cls._current = runtime
        return runtime

    def _launch(self) -> None:
        _route_dbos_logs()
        _sqlite_in_wal(self.url)
        _own_random_for_dbos()
        dbos_config: DBOSConfig = {
            "name": APP_NAME,
            "system_database_url": self.url,
            "executor_id": self.config.executor_id,
            "application_version": APP_VERSION,
            "notification_listener_polling_interval_sec": self.config.interval(),
            # Every process holds this many connections to the shared PostgreSQL: a dozen
            # workers at DBOS's default of 20 would pass a default server's 100.
            "sys_db_pool_size": self.config.pool_size,
            "log_level": "WARNING",
        }
        DBOS(config=dbos_config)
        if self.config.listen is not None:
            DBOS.listen_queues(list(self.config.listen))
        DBOS.launch()

    def _declare_queues(self) -> None:
        for name in QUEUES:
            limits = self.config.limits.get(name) or QueueLimits(worker_concurrency=4)
            DBOS.register_queue(
                name,
                worker_concurrency=limits.worker_concurrency,
                partition_concurrency=limits.per_account,
                polling_interval_sec=self.config.interval(),
                on_conflict="always_update",
            )
        log.info(
            "durable.launched",
            executor_id=self.config.executor_id,
            listen=list(self.config.listen) if self.config.listen is not None else "all",
            backend=self.url.split(":", 1)[0],
        )

    def usable(self) -> bool:
        """False once a SQLite database's file is gone (its folder was a temporary one)."""
        if not self.url.startswith("sqlite:///"):
            return True
        return Path(self.url.removeprefix("sqlite:///")).exists()

    def bind_loop(self) -> None:
        """Run queued work on the running event loop (the one the caller's world lives on)."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return
        # DBOS submits dequeued coroutines to the loop it saw at launch; a process that
        # opens a new world on a new loop (tests, a CLI command) points it there.
        _get_dbos_instance()._background_event_loop.set_main_loop()

    def shutdown(self) -> None:
        """Stop DBOS (its workflows in flight stay PENDING: the next launch recovers them)."""
        DBOS.destroy(workflow_completion_timeout_sec=0)
        if DurableRuntime._current is self:
            DurableRuntime._current = None

    async def run(self, fn: Callable[..., Any], workflow_id: str, *args: Any) -> Any:
        """Run the workflow ``fn`` here, now, as ``workflow_id`` (its result if it already ran)."""
        with SetWorkflowID(workflow_id):
            return await fn(*args)


class _ToStructlog(logging.Handler):
    """DBOS's log records, as our structured log lines (one format, one destination)."""

    def emit(self, record: logging.LogRecord) -> None:
        log.log(record.levelno, "durable.dbos", message=record.getMessage())


def _route_dbos_logs() -> None:
    # DBOS adds a console handler bound to the sys.stderr of the moment unless its logger
    # already has one; that stream may be gone later (a closed pipe, a test's capture).
    dbos_logger = logging.getLogger("dbos")
    if not any(isinstance(handler, _ToStructlog) for handler in dbos_logger.handlers):
        dbos_logger.handlers.clear()
        dbos_logger.addHandler(_ToStructlog(level=logging.WARNING))
    dbos_logger.propagate = False


def _sqlite_in_wal(url: str) -> None:
    # DBOS opens a SQLite file in its default rollback-journal mode, where every commit
    # writes and syncs the page twice; in WAL mode a commit is one append, as durable.
    # The mode is the file's own, so setting it before DBOS first connects is enough.
    if not url.startswith("sqlite:///"):
        return
    path = Path(url.removeprefix("sqlite:///"))
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.closing(sqlite3.connect(path, timeout=30)) as connection:
        connection.execute("PRAGMA journal_mode=WAL")


def _own_random_for_dbos() -> None:
    # DBOS's background threads draw their polling jitter from the global ``random``
    # generator, which would advance the sequence of anyone who seeded it (a simulation, a
    # property-based test) at moments no one controls. Its modules get a generator of
    # their own.
    for name in ("_queue", "_scheduler", "_sys_db", "_workflow_commands"):
        module = importlib.import_module(f"dbos.{name}")
        if getattr(module, "random", None) is random:
            module.random = random.Random()  # type: ignore[attr-defined]


def _same(wanted: DurableConfig, current: DurableRuntime) -> bool:
    have = current.config
    return (wanted.url, wanted.executor_id, wanted.listen) == (
        current.url,
        have.executor_id,
        have.listen,
    )


_worlds: weakref.WeakValueDictionary[str, Any] = weakref.WeakValueDictionary()
_latest: list[str] = []


def register_world(key: str, world: Any) -> None:
    """Let workflows of this process find ``world`` by ``key``."""
    _worlds[key] = world
    _latest.append(key)


def world(key: str) -> Any:
    """The world ``key`` names; in a process that never built it (a worker, a restarted
    process), the one this process built last.

    Raises:
        LookupError: this process built none, or built ``key`` and has closed it (work of a
            closed world must not run in another one: it would act on another journal).
    """
    found = _worlds.get(key)
    if found is not None:
        return found
    if key in _latest:
        raise LookupError(f"the meta-agent world {key} is closed in this process")
    for candidate in reversed(_latest):
        found = _worlds.get(candidate)
        if found is not None:
            return found
    raise LookupError("no meta-agent world is open in this process")
