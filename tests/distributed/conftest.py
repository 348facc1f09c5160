"""Distributed mode for real: worker processes on PostgreSQL, the sandbox over loopback.

Each test module gets a database of its own (DBOS keeps its tables in the ``dbos`` schema,
so schemas cannot separate tests); workers are the lines of ``deploy/Procfile`` run as
processes, with the settings an operator would give them, through the environment.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

from meta_agent.config import Settings
from meta_agent.service import MetaAgentService
from meta_agent.store.sql import SqlJournal
from tests.config.deployment import procfile
from tests.conftest import TOKEN, LiveServer
from tests.services import POSTGRES, POSTGRES_ADMIN_URL, require, unique_name

ROOT = Path(__file__).resolve().parents[2]
AGENTS = ("orchestrator", "asset", "campaign", "ad_creation", "insights")
TAKEOVER_S = 2.0


def _conninfo(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def cluster_db() -> Iterator[str]:
    """A PostgreSQL database for one module's cluster, dropped afterwards."""
    require(POSTGRES)
    name = unique_name("meta_agent_cluster")
    with psycopg.connect(_conninfo(POSTGRES_ADMIN_URL), autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(_conninfo(POSTGRES_ADMIN_URL), autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def cluster_env(database_url: str, sandbox_url: str, data_dir: Path) -> dict[str, str]:
    """The settings of every process of the cluster, as environment variables."""
    return {
        "META_AGENT_DATABASE__URL": database_url,
        "META_AGENT_DURABLE__MODE": "distributed",
        "META_AGENT_DURABLE__TAKEOVER_AFTER_SECONDS": str(TAKEOVER_S),
        "META_AGENT_DURABLE__HEARTBEAT_SECONDS": "0.3",
        "META_AGENT_DURABLE__POLLING_INTERVAL_SECONDS": "0.05",
        "META_AGENT_SANDBOX__MODE": "never",
        "META_AGENT_CREDENTIALS__ACCESS_TOKEN": TOKEN,
        "META_AGENT_API__BASE_URL": sandbox_url,
        "META_AGENT_API__VERSION": "v25.0",
        "META_AGENT_DATA_DIR": str(data_dir),
        "META_AGENT_MONITORING__LOG_LEVEL": "WARNING",
        # The keys in the names are the suites' witness of exactly-once: keep them.
        "META_AGENT_NAMING__KEYS": "keep",
    }


def cluster_settings(env: dict[str, str]) -> Settings:
    """The same settings, for a service in the test process (the HTTP service's role)."""
    return Settings(
        database={"url": env["META_AGENT_DATABASE__URL"]},
        durable={
            "mode": "distributed",
            "takeover_after_seconds": TAKEOVER_S,
            "heartbeat_seconds": 0.3,
            "polling_interval_seconds": 0.05,
        },
        sandbox={"mode": "never"},
        credentials={"access_token": TOKEN},
        api={"base_url": env["META_AGENT_API__BASE_URL"], "version": "v25.0"},
        naming={"keys": env["META_AGENT_NAMING__KEYS"]},
    )


@dataclass
class Cluster:
    """Worker processes by id, their environment, and the journal they share."""

    env: dict[str, str]
    log_dir: Path
    journal: SqlJournal
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, agent: str, worker_id: str) -> None:
        """Start ``meta-agent worker --agent AGENT --id WORKER_ID`` in the background."""
        command = procfile()[agent]  # the line an operator runs, as the operator runs it
        assert command[0] == "meta-agent"
        argv = [sys.executable, "-m", "meta_agent", *command[1:], "--id", worker_id]
        with (self.log_dir / f"{worker_id}.log").open("ab") as log:
            self.processes[worker_id] = subprocess.Popen(  # noqa: S603 - our own CLI
                argv,
                cwd=ROOT,
                env={**os.environ, **self.env},
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def stop(self, worker_id: str) -> None:
        """SIGTERM: the worker finishes and says "stopped"."""
        process = self.processes.pop(worker_id)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)

    def kill(self, worker_id: str) -> None:
        """SIGKILL: no goodbye, no "stopped" in the registry."""
        process = self.processes.pop(worker_id)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    async def ready(self, *worker_ids: str) -> None:
        """Wait (up to a minute) until each worker has beaten since it was (re)started."""
        started = time.time()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            beats = {w.id: w for w in await self.journal.workers()}
            if all(
                w in beats
                and beats[w].status == "alive"
                and beats[w].started_at.timestamp() >= started - 1
                for w in worker_ids
            ):
                return
            for worker_id in worker_ids:
                process = self.processes.get(worker_id)
                if process is not None and process.poll() is not None:
                    log = (self.log_dir / f"{worker_id}.log").read_text()[-3000:]
                    raise AssertionError(f"worker {worker_id} exited: {log}")
            await asyncio.sleep(0.1)
        raise AssertionError(f"workers never became ready: {worker_ids}")

    def stop_all(self) -> None:
        """SIGTERM every worker; SIGKILL what does not stop."""
        for process in self.processes.values():
            process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        self.processes.clear()


@pytest.fixture(scope="module")
def cluster_live() -> Iterator[LiveServer]:
    """The sandbox over loopback, shared by the module's processes."""
    from meta_agent.sandbox import SandboxConfig, create_app

    app = create_app(SandboxConfig(base_url="http://127.0.0.1", accounts=4))
    with LiveServer(app) as server:
        yield server


@pytest.fixture
async def cluster(
    cluster_db: str, cluster_live: LiveServer, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Cluster]:
    """One worker per agent, ready; stopped at the end of the test."""
    data_dir = tmp_path_factory.mktemp("cluster")
    env = cluster_env(cluster_db, cluster_live.url, data_dir)
    journal = SqlJournal(cluster_db)
    await journal.open()
    running = Cluster(env, data_dir, journal)
    try:
        for agent in AGENTS:
            running.start(agent, f"{agent}-1")
        await running.ready(*(f"{agent}-1" for agent in AGENTS))
        yield running
    finally:
        running.stop_all()
        await journal.close()


@pytest.fixture
async def front(cluster: Cluster) -> AsyncIterator[MetaAgentService]:
    """The service that receives requests (it runs none: distributed mode)."""
    service = await MetaAgentService.open(cluster_settings(cluster.env))
    yield service
    await service.aclose()


def objects_by_kind(objects: list[dict[str, Any]]) -> dict[str, int]:
    """How many live objects of each kind."""
    counts: dict[str, int] = {}
    for record in objects:
        counts[record["kind"]] = counts.get(record["kind"], 0) + 1
    return counts
