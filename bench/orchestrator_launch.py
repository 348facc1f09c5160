"""Benchmark: a full campaign through the Orchestrator beside Meta's official SDK, 50 ms a request.

Each side gets a fresh sandbox (uvicorn in a thread, system clock, ``latency_ms`` per HTTP
request) and builds the same structure from the same six 1200x1200 PNGs: 6 images,
1 campaign, 3 ad sets, 6 creatives, 6 ads.

* the official SDK (``facebook_business``), call by call (``launch_round_trips.sdk_launch``);
* ``Orchestrator.execute`` with ``create_full_campaign``, over a ``SqlJournal`` on a temporary
  SQLite file and a memory cache. Opening the journal (migrations) and building the client and
  the ``Env`` happen once per process in real use: they are timed apart, as setup.

Printed side by side: HTTP requests (counted at the server's door), sequential round trips
(how many times the server went from idle to busy), wall time, the time the server was busy
(the union of in-flight requests, the latency included), what is left (client-side work:
validation, Pillow, journal, JSON) and the ratio ours/SDK. For the orchestrator, the time its
journal calls took (summed) is printed too. One untimed warm-up run of each side comes first.
Target: at most 0.25x the SDK's wall time.

    python bench/orchestrator_launch.py [--latency-ms 50] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import tempfile
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import structlog

from launch_round_trips import (
    ACCOUNT,
    PAGE_ID,
    DoorCounter,
    check_and_count,
    client,
    sandbox,
    sdk_launch,
)
from meta_agent.cache import MemoryCache
from meta_agent.interfaces.walkthrough import solid_png
from meta_agent.orchestrator.env import Env
from meta_agent.orchestrator.orchestrator import Orchestrator
from meta_agent.store.sql import SqlJournal

TARGET = 0.25
IMAGES = [(f"img{i}.png", solid_png(1200, 1200, (40 * i, 255 - 40 * i, 90))) for i in range(6)]


class BusyDoor(DoorCounter):
    """A door counter that also adds up the time at least one Graph request was in flight."""

    def __init__(self) -> None:
        super().__init__(None)
        self.busy = 0.0
        self._since = 0.0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        # Requests run on uvicorn's one loop: nothing interleaves between the check here
        # and the count in DoorCounter.__call__ (no await in between).
        counted = scope["type"] == "http" and not scope["path"].startswith("/_sandbox")
        if counted and self.in_flight == 0:
            self._since = time.perf_counter()
        try:
            await super().__call__(scope, receive, send)
        finally:
            if counted and self.in_flight == 0:
                self.busy += time.perf_counter() - self._since


class TimedJournal:
    """A journal store that times every call it passes on (``open``/``close`` excluded)."""

    def __init__(self, store: SqlJournal) -> None:
        self.store = store
        self.calls = 0
        self.seconds = 0.0

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.store, name)
        if name in {"open", "close"} or not callable(method):
            return method

        async def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await method(*args, **kwargs)
            finally:
                self.calls += 1
                self.seconds += time.perf_counter() - started

        return timed


@dataclass
class Figures:
    """What one run of one side took."""

    requests: int
    rounds: int
    seconds: float
    busy: float
    journal_calls: int = 0
    journal_seconds: float = 0.0
    setup_seconds: float = 0.0

    @property
    def client_side(self) -> float:
        """Wall time with no request in the server: the side's own work."""
        return self.seconds - self.busy


def full_campaign_request(request_id: str) -> dict[str, Any]:
    """The orchestrator's request: the launch bench's structure, as an ambient agent sends it."""
    images = [
        {"name": name.removesuffix(".png"), "data": base64.b64encode(data).decode()}
        for name, data in IMAGES
    ]
    adsets = [
        {
            "name": f"Ad set {index}",
            "optimization_goal": "LINK_CLICKS",
            "billing_event": "IMPRESSIONS",
            "daily_budget": 50_000,
            "targeting": {"countries": ["IN"]},
        }
        for index in range(3)
    ]
    ads = [
        {
            "name": f"Ad {index}",
            "adset_ref": f"Ad set {index % 3}",
            "creative": {
                "kind": "image",
                "name": f"Creative {index}",
                "page_id": PAGE_ID,
                "image_ref": f"img{index}",
                "link": "https://example.com/launch",
                "message": f"Message {index}",
                "call_to_action": "LEARN_MORE",
            },
        }
        for index in range(6)
    ]
    return {
        "request_id": request_id,
        "agent_id": "bench",
        "action": "create_full_campaign",
        "account_id": ACCOUNT,
        "data": {
            "images": images,
            "campaign": {"name": "Launch", "objective": "OUTCOME_TRAFFIC"},
            "adsets": adsets,
            "ads": ads,
        },
    }


async def orchestrated(url: str, door: BusyDoor) -> Figures:
    """Run the request through the orchestrator; the journal, client and Env are set up untimed.

    They are built once per process in real use; their time is reported as setup.
    """
    with tempfile.TemporaryDirectory() as folder:
        store = SqlJournal(f"sqlite:///{Path(folder) / 'journal.db'}")
        journal = TimedJournal(store)
        opening = time.perf_counter()
        await store.open()
        try:
            async with client(url) as graph:
                env = Env.build(graph, journal, cache=MemoryCache())
                orchestrator = Orchestrator(env)
                setup = time.perf_counter() - opening
                started = time.perf_counter()
                response = await orchestrator.execute(full_campaign_request("bench-1"))
                seconds = time.perf_counter() - started
        finally:
            await store.close()
    assert response.status == "COMPLETED", response.error
    return Figures(
        door.requests, door.rounds, seconds, door.busy, journal.calls, journal.seconds, setup
    )


async def sdk(url: str, door: BusyDoor) -> Figures:
    """The official SDK, call by call, in a worker thread (it blocks)."""
    started = time.perf_counter()
    await asyncio.to_thread(partial(sdk_launch, images=IMAGES), url)
    return Figures(door.requests, door.rounds, time.perf_counter() - started, door.busy)


Side = Callable[[str, BusyDoor], Coroutine[Any, Any, Figures]]


def measure(side: Side, latency_ms: float) -> Figures:
    """Run one side against a fresh sandbox; check the structure is complete."""
    with sandbox(latency_ms, BusyDoor()) as (url, door):
        assert isinstance(door, BusyDoor)
        figures = asyncio.run(side(url, door))
        check_and_count(url)
        return figures


def median(runs: list[Figures]) -> Figures:
    """The run with the median wall time."""
    return sorted(runs, key=lambda f: f.seconds)[len(runs) // 2]


def report(sdk_runs: list[Figures], ours_runs: list[Figures], latency_ms: float) -> None:
    """Print both sides, the orchestrator's overhead and the verdict."""
    base, ours = median(sdk_runs), median(ours_runs)
    print(
        "Full campaign: 6 images (1200x1200 PNG), 1 campaign, 3 ad sets, 6 creatives, 6 ads; "
        f"{latency_ms:.0f} ms per request; median of {len(ours_runs)}; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    print(
        f"{'':40} {'HTTP':>5} {'rounds':>6} {'wall s':>7} {'server s':>8} {'client s':>8} {'vs SDK':>7}"
    )
    for label, f in (("official SDK, call by call", base), ("Orchestrator (SQLite journal)", ours)):
        print(
            f"{label:40} {f.requests:5d} {f.rounds:6d} {f.seconds:7.3f} {f.busy:8.3f} "
            f"{f.client_side:8.3f} {f.seconds / base.seconds:6.2f}x"
        )
    floor = ours.rounds * latency_ms / 1000
    print(
        f"orchestrator beyond its round trips: {ours.client_side * 1000:.0f} ms client-side "
        f"(latency floor {floor * 1000:.0f} ms for {ours.rounds} rounds); "
        f"journal {ours.journal_calls} calls, {ours.journal_seconds * 1000:.0f} ms summed; "
        f"setup apart (journal migrations, client, Env) {ours.setup_seconds * 1000:.0f} ms"
    )
    spread = [f.seconds / b.seconds for f, b in zip(ours_runs, sdk_runs, strict=True)]
    print(f"ratio per run: {', '.join(f'{r:.2f}x' for r in spread)}")
    ratio = ours.seconds / base.seconds
    verdict = "target met" if ratio <= TARGET else "target NOT met"
    print(f"target <= {TARGET:.2f}x the SDK's wall time: {ratio:.2f}x, {verdict}")


def main() -> None:
    """Measure both sides ``--repeat`` times and print them side by side."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    structlog.configure(processors=[_drop])
    measure(sdk, args.latency_ms)  # warm-up: first-call imports and lazy set-up, not counted
    measure(orchestrated, args.latency_ms)
    sdk_runs, ours_runs = [], []
    for _ in range(args.repeat):
        sdk_runs.append(measure(sdk, args.latency_ms))
        ours_runs.append(measure(orchestrated, args.latency_ms))
    report(sdk_runs, ours_runs, args.latency_ms)


def _drop(*_: Any) -> Any:
    raise structlog.DropEvent


if __name__ == "__main__":
    main()
