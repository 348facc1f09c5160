"""Benchmark 2: 300 writes against the development tier's scoring, naive gather vs our client.

The sandbox runs the development tier (60 points, a write costs 3, the score drains over
300 s) with every window divided by ``--time-scale``, served by uvicorn on loopback on the
system clock. Each side gets a fresh sandbox and creates ``--writes`` campaigns:

* naive: ``asyncio.gather`` of raw httpx2 POSTs, one attempt each (what most peers do);
* ours: ``asyncio.gather`` of ``GraphClient.post`` calls, paced by the usage headers.

Printed side by side: throttling errors surfaced to the caller, throttled responses received,
wall time, and throughput as a fraction of the tier's ceiling (max_score / decay window
points per second, a third of that in writes). Targets: ours surfaces 0 errors; fraction ≥ 0.8.

    python bench/throttle_writes.py [--writes 300] [--time-scale 75]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx2
import structlog
import uvicorn
from pydantic import SecretStr

from meta_agent.errors import MetaAgentError, RateLimitedError
from meta_agent.graph.client import GraphClient
from meta_agent.graph.guard import UNGUARDED
from meta_agent.graph.settings import GraphSettings
from meta_agent.sandbox import SandboxConfig, create_app

TOKEN = "sandbox-token"  # the sandbox's public fixture token  # noqa: S105
ACCOUNT = "act_1234567890"
VERSION = "v25.0"
THROTTLE_CODES = {4, 17, 32, 613, *range(80000, 80015)}


def campaign(index: int) -> dict[str, Any]:
    """The parameters of the ``index``-th campaign create."""
    return {
        "name": f"bench-{index}",
        "objective": "OUTCOME_TRAFFIC",
        "special_ad_categories": [],
        "status": "PAUSED",
        "is_adset_budget_sharing_enabled": False,
    }


@dataclass
class Run:
    """What one side achieved."""

    created: int
    surfaced: int
    throttled_responses: int
    other_errors: int
    seconds: float


def free_port() -> int:
    """An unused TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def sandbox(config: SandboxConfig) -> Iterator[str]:
    """A fresh sandbox on the system clock, served by uvicorn in a thread; yields its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    app = create_app(config.model_copy(update={"base_url": url}))
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


async def naive(url: str, writes: int) -> Run:
    """One raw POST per campaign, all at once, no pacing, no retries."""
    async with httpx2.AsyncClient(base_url=url, timeout=30) as client:

        async def create(index: int) -> int | None:
            form = {
                k: json.dumps(v) if not isinstance(v, str) else v
                for k, v in campaign(index).items()
            }
            response = await client.post(
                f"/{VERSION}/{ACCOUNT}/campaigns", params={"access_token": TOKEN}, data=form
            )
            error = response.json().get("error")
            return int(error["code"]) if error else None

        started = time.perf_counter()
        codes = await asyncio.gather(*(create(i) for i in range(writes)))
        seconds = time.perf_counter() - started
    throttled = sum(1 for code in codes if code in THROTTLE_CODES)
    other = sum(1 for code in codes if code is not None and code not in THROTTLE_CODES)
    return Run(codes.count(None), throttled, throttled, other, seconds)


class ThrottleCounter:
    """A structlog processor counting our client's throttled responses (then dropping lines)."""

    def __init__(self) -> None:
        self.throttled = 0

    def __call__(self, _: Any, __: str, event: MutableMapping[str, Any]) -> Any:
        if event.get("event") == "graph.request.completed" and event.get("code") in THROTTLE_CODES:
            self.throttled += 1
        raise structlog.DropEvent


async def ours(url: str, writes: int, max_concurrency: int) -> Run:
    """The same creates through GraphClient, gathered all at once."""
    counter = ThrottleCounter()
    structlog.configure(processors=[counter])
    settings = GraphSettings(
        base_url=url,
        version=VERSION,
        access_token=SecretStr(TOKEN),
        max_concurrency=max_concurrency,
    )
    async with GraphClient(settings, guard=UNGUARDED) as graph:
        started = time.perf_counter()
        results = await asyncio.gather(
            *(graph.post(f"{ACCOUNT}/campaigns", campaign(i)) for i in range(writes)),
            return_exceptions=True,
        )
        seconds = time.perf_counter() - started
    structlog.reset_defaults()
    failures = [r for r in results if isinstance(r, BaseException)]
    surfaced = sum(1 for r in failures if isinstance(r, RateLimitedError))
    other = sum(1 for r in failures if isinstance(r, MetaAgentError | Exception)) - surfaced
    return Run(writes - len(failures), surfaced, counter.throttled, other, seconds)


def report(naive_run: Run, our_run: Run, config: SandboxConfig, writes: int) -> None:
    """Print both runs side by side with ratios and the targets."""
    limits = config.limits()
    ceiling = limits.max_score / limits.decay_seconds / 3
    burst = int(limits.max_score // 3)
    rows = [
        ("campaigns created", f"{naive_run.created}", f"{our_run.created}"),
        ("throttling errors surfaced", f"{naive_run.surfaced}", f"{our_run.surfaced}"),
        (
            "throttled responses received",
            f"{naive_run.throttled_responses}",
            f"{our_run.throttled_responses}",
        ),
        ("other errors", f"{naive_run.other_errors}", f"{our_run.other_errors}"),
        ("wall time (s)", f"{naive_run.seconds:.2f}", f"{our_run.seconds:.2f}"),
        (
            "writes/s",
            f"{naive_run.created / naive_run.seconds:.2f}",
            f"{our_run.created / our_run.seconds:.2f}",
        ),
    ]
    print(f"{writes} campaign creates, development tier, time_scale {config.time_scale:g}")
    print(
        f"tier ceiling: {ceiling:.3f} writes/s ({limits.max_score:g} points / {limits.decay_seconds:g} s / 3)"
    )
    print(f"{'':32}{'naive gather':>14}{'ours':>10}")
    for label, left, right in rows:
        print(f"{label:32}{left:>14}{right:>10}")
    overall = our_run.created / our_run.seconds / ceiling
    sustained = max(our_run.created - burst, 0) / our_run.seconds / ceiling
    print(
        f"ours / ceiling: {overall:.3f} overall, {sustained:.3f} excluding the initial {burst}-write budget"
        "   (target >= 0.8)"
    )
    print(f"throttling errors surfaced, ours: {our_run.surfaced}   (target 0)")


async def main_async(args: argparse.Namespace) -> None:
    config = SandboxConfig(tier="development", time_scale=args.time_scale)
    with sandbox(config) as url:
        naive_run = await naive(url, args.writes)
    with sandbox(config) as url:
        our_run = await ours(url, args.writes, args.concurrency)
    report(naive_run, our_run, config, args.writes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=300)
    parser.add_argument("--time-scale", type=float, default=75.0, help="divides every window")
    parser.add_argument("--concurrency", type=int, default=8, help="our max_concurrency")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
