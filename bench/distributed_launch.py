"""Benchmark: full launches in one embedded process beside 1, 2 and 4 workers per queue.

An agency's shape: launches spread over many ad accounts of the sandbox (``--accounts``, in
several currencies, each with its own Page), every HTTP request to the sandbox delayed
``--latency-ms``. Everything in one run, side by side:

* **throughput**: ``--launches`` full launches (an image, a campaign, two ad sets, two
  creatives, two ads each), ``--in-flight`` at once, through ``MetaAgentService.execute``:
  embedded (this process runs everything; DBOS on SQLite), then distributed with 1, 2 and 4
  orchestrator and campaign workers (``deploy/Procfile``'s lines, as processes; one asset,
  ad_creation and insights worker) on PostgreSQL. Workflows per second, and the ratio to the
  embedded process.
* **queue hops**: one launch at a time, ``--repeat`` times, embedded against distributed with
  one worker per queue: the median wall time and the ratio (target: at most 1.5x).

Needs PostgreSQL on 127.0.0.1:5432 (trust auth, as on the development machine) and Redis on
127.0.0.1:6379 (database 14 is flushed): the cache and the pacing state are shared through
Redis on both sides, as several processes need them.

    python bench/distributed_launch.py [--launches 200] [--accounts 20] [--latency-ms 50]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import structlog
import uvicorn

from meta_agent.config import Settings
from meta_agent.interfaces.walkthrough import solid_png
from meta_agent.sandbox import SandboxConfig, create_app
from meta_agent.sandbox.state import seed_accounts
from meta_agent.service import MetaAgentService
from meta_agent.store.sql import SqlJournal

ROOT = Path(__file__).resolve().parents[1]
ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
TOKEN = "sandbox-token"  # noqa: S105 - the sandbox's public fixture token
TARGET_HOP_RATIO = 1.5
# Both sides share the cache and Meta's pacing state through Redis, as several processes must.
REDIS_URL = "redis://127.0.0.1:6379/14"
IMAGE = solid_png(600, 600, (30, 140, 200))


def _request(n: int, pages: dict[str, str], tag: str) -> dict[str, Any]:
    import base64

    account = list(pages)[n % len(pages)]
    adsets = [
        {
            "name": f"Adults {a}",
            "optimization_goal": "LINK_CLICKS",
            "billing_event": "IMPRESSIONS",
            "daily_budget": 5_000,
            "targeting": {"countries": ["US"], "age_min": 18 + a, "age_max": 45},
        }
        for a in range(2)
    ]
    ads = [
        {
            "name": f"Ad {a}",
            "adset_ref": f"Adults {a}",
            "creative": {
                "kind": "image",
                "name": f"Creative {a}",
                "page_id": pages[account],
                "image_ref": "img",
                "link": "https://example.com/shoes",
                "message": "Run further.",
                "call_to_action": "SHOP_NOW",
            },
        }
        for a in range(2)
    ]
    return {
        "request_id": f"{tag}-{n}",
        "action": "create_full_campaign",
        "account_id": account,
        "data": {
            "images": [{"name": "img", "data": base64.b64encode(IMAGE).decode()}],
            "campaign": {"name": "Winter shoes", "objective": "OUTCOME_TRAFFIC"},
            "adsets": adsets,
            "ads": ads,
        },
    }


class Sandbox:
    """The sandbox served by uvicorn in a thread (every process of a run shares it)."""

    def __init__(self, accounts: int, latency_ms: float) -> None:
        with contextlib.closing(__import__("socket").socket()) as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = SandboxConfig(
            base_url="http://127.0.0.1", accounts=accounts, latency_ms=latency_ms
        )
        server_config = uvicorn.Config(
            create_app(config), host="127.0.0.1", port=self.port, log_level="critical"
        )
        self.server = uvicorn.Server(server_config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Sandbox:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@contextlib.contextmanager
def database() -> Iterator[str]:
    """A fresh PostgreSQL database (the journal and DBOS's queues), dropped afterwards."""
    name = f"meta_agent_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def _settings(sandbox: Sandbox, data_dir: Path, database_url: str | None) -> Settings:
    values: dict[str, Any] = {
        "sandbox": {"mode": "never"},
        "credentials": {"access_token": TOKEN},
        "api": {"base_url": sandbox.url, "version": "v25.0", "max_concurrency": 64},
        "agents": {"orchestrator": {"workers": 32}, "campaign": {"workers": 32}},
        "cache": {"backend": "redis", "url": REDIS_URL},
        "database": {
            "url": database_url or f"sqlite:///{data_dir / 'journal.db'}",
            "pool_size": 2,
        },
    }
    if database_url is not None:
        values["durable"] = {
            "mode": "distributed",
            "polling_interval_seconds": 0.02,
            "pool_size": 3,
        }
    return Settings(**values)


def _environment(settings: Settings, data_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "META_AGENT_DATABASE__URL": str(settings.database.url),
        "META_AGENT_DURABLE__MODE": "distributed",
        "META_AGENT_DURABLE__POLLING_INTERVAL_SECONDS": "0.02",
        "META_AGENT_DURABLE__POOL_SIZE": "3",
        "META_AGENT_DATABASE__POOL_SIZE": "2",
        "META_AGENT_SANDBOX__MODE": "never",
        "META_AGENT_CREDENTIALS__ACCESS_TOKEN": TOKEN,
        "META_AGENT_API__BASE_URL": settings.api.base_url,
        "META_AGENT_API__VERSION": "v25.0",
        "META_AGENT_API__MAX_CONCURRENCY": "64",
        "META_AGENT_AGENTS__ORCHESTRATOR__WORKERS": "32",
        "META_AGENT_AGENTS__CAMPAIGN__WORKERS": "32",
        "META_AGENT_DATA_DIR": str(data_dir),
        "META_AGENT_CACHE__BACKEND": "redis",
        "META_AGENT_CACHE__URL": REDIS_URL,
        "META_AGENT_MONITORING__LOG_LEVEL": "WARNING",
    }


def _procfile() -> dict[str, list[str]]:
    lines = (ROOT / "deploy" / "Procfile").read_text().splitlines()
    entries = [line.split(":", 1) for line in lines if line.strip() and not line.startswith("#")]
    return {name.strip(): shlex.split(command) for name, command in entries}


@contextlib.contextmanager
def workers(settings: Settings, data_dir: Path, per_queue: int) -> Iterator[list[str]]:
    """``per_queue`` orchestrator and campaign workers, one of each other agent."""
    counts = {"orchestrator": per_queue, "campaign": per_queue}
    processes = []
    ids = []
    environment = _environment(settings, data_dir)
    for agent in ("orchestrator", "asset", "campaign", "ad_creation", "insights"):
        for n in range(counts.get(agent, 1)):
            worker_id = f"{agent}-{n + 1}"
            command = _procfile()[agent]
            argv = [sys.executable, "-m", "meta_agent", *command[1:], "--id", worker_id]
            processes.append(
                subprocess.Popen(  # noqa: S603 - our own CLI
                    argv, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
                )
            )
            ids.append(worker_id)
    try:
        yield ids
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


async def _ready(database_url: str, ids: list[str]) -> None:
    journal = SqlJournal(database_url)
    await journal.open()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            alive = {w.id for w in await journal.workers() if w.status == "alive"}
            if set(ids) <= alive:
                return
            await asyncio.sleep(0.2)
        raise RuntimeError(f"workers never came up: {set(ids) - alive}")
    finally:
        await journal.close()


async def _throughput(
    service: MetaAgentService, launches: int, in_flight: int, pages: dict[str, str], tag: str
) -> float:
    gate = asyncio.Semaphore(in_flight)
    failures = []

    async def one(n: int) -> None:
        async with gate:
            response = await service.execute(_request(n, pages, tag))
        if response.status != "COMPLETED":
            failures.append(response.error)

    started = time.perf_counter()
    await asyncio.gather(*(one(n) for n in range(launches)))
    elapsed = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"{len(failures)} launches failed: {failures[0]}")
    return launches / elapsed


async def _single(service: MetaAgentService, repeat: int, pages: dict[str, str], tag: str) -> float:
    walls = []
    for n in range(repeat + 1):  # the first one warms caches and connections, untimed
        started = time.perf_counter()
        response = await service.execute(_request(n, pages, tag))
        assert response.status == "COMPLETED", response.error
        if n:
            walls.append(time.perf_counter() - started)
    return statistics.median(walls)


async def main(args: argparse.Namespace) -> None:
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(30)
    )  # warnings only: the figures are the output
    pages = {f"act_{s.account['account_id']}": s.page_id for s in seed_accounts(args.accounts)}
    rows: list[tuple[str, float]] = []
    with Sandbox(args.accounts, args.latency_ms) as sandbox:
        with tempfile.TemporaryDirectory() as folder:
            embedded = await MetaAgentService.open(_settings(sandbox, Path(folder), None))
            try:
                single_embedded = await _single(embedded, args.repeat, pages, "one-e")
                rows.append(
                    (
                        "embedded",
                        await _throughput(embedded, args.launches, args.in_flight, pages, "e"),
                    )
                )
            finally:
                await embedded.aclose()
        single_distributed = 0.0
        for per_queue in (1, 2, 4):
            with database() as url, tempfile.TemporaryDirectory() as folder:
                settings = _settings(sandbox, Path(folder), url)
                with workers(settings, Path(folder), per_queue) as ids:
                    await _ready(url, ids)
                    front = await MetaAgentService.open(settings)
                    try:
                        if per_queue == 1:
                            single_distributed = await _single(front, args.repeat, pages, "one-d")
                        figure = await _throughput(
                            front, args.launches, args.in_flight, pages, f"d{per_queue}"
                        )
                        rows.append((f"{per_queue} worker(s) per queue", figure))
                    finally:
                        await front.aclose()
    base = rows[0][1]
    print(
        f"{args.launches} full launches over {args.accounts} accounts, "
        f"{args.latency_ms:.0f} ms a request, {args.in_flight} in flight, {os.cpu_count()} cores"
    )
    print(f"{'':28} {'workflows/s':>12} {'vs embedded':>12}")
    for name, figure in rows:
        print(f"{name:28} {figure:12.2f} {figure / base:11.2f}x")
    ratio = single_distributed / single_embedded
    print(
        f"\none launch, median of {args.repeat}: embedded {single_embedded * 1000:.0f} ms, "
        f"distributed {single_distributed * 1000:.0f} ms: {ratio:.2f}x "
        f"(target <= {TARGET_HOP_RATIO}x: {'met' if ratio <= TARGET_HOP_RATIO else 'NOT met'})"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--launches", type=int, default=200)
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--in-flight", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    subprocess.run(["redis-cli", "-n", "14", "flushdb"], check=True, capture_output=True)  # noqa: S607
    asyncio.run(main(parser.parse_args()))
