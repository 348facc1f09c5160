"""Benchmark: launches of 22 to 1,041 objects at 50 ms a request, four ways side by side (#13).

Each size builds ``images`` distinct 1200x1200 PNGs, 1 campaign, ``adsets`` ad sets and
``adsets x ads`` ads, each with its own creative (images shared in turn):

* the official SDK (``facebook_business``), call by call;
* our client's best batch: one ``BatchBuilder`` with the images attached as files and every
  item linked by ``{result=...}`` references (the client splits it at 50, keeping each
  dependency chain in one chunk, so a structure past 50 objects takes rounds);
* the Orchestrator cold (``create_full_campaign`` on an account the process has not seen: a new
  client, ``Env`` and empty memory cache, set up untimed; the SQLite journal is the process's
  own, opened once as in real use);
* the Orchestrator warm: a second launch of the same structure on the same account, by the
  same orchestrator (account, targeting and image hashes cached).

Both orchestrator rows keep the keys in the names (``naming.keys: keep``): the launch itself.
The "names back" rows run the default ``strip``, where a launch left PAUSED sends one batch
more once it has completed, to give every object the name the request gave (with
``options.activate`` the renames ride in the activation batch instead).

Every side gets a fresh sandbox (uvicorn in a process of its own, as Meta is not in ours, warmed
by a few untimed reads; ``--in-thread`` serves it from a thread of this process instead,
sharing its interpreter; ``latency_ms`` per HTTP request) behind a
:class:`~meta_agent.sandbox.timeline.RequestTimeline`. Printed: HTTP requests, sequential
round trips (the longest chain of requests each begun after the one before it ended: what the
latency multiplies), wall time and its ratio to the SDK's. The machine's load average is
printed before and after. Targets: cold at most 2 round trips and 0.12x the SDK at 22 objects,
warm 1 round trip; at 1,000+ objects at most 3 round trips and 0.05x the SDK.

Sizes up to 200 objects run ``--repeat`` times (default 3) and print each row's median run;
the larger ones run once. Both processes freeze their startup heap first, as the service does.

    python bench/launch_scale.py [--latency-ms 50] [--sizes 22,110,440,1041] [--repeat 3]
                                 [--in-thread]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import functools
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import structlog
from facebook_business.adobjects.adaccount import AdAccount
from facebook_business.adobjects.adimage import AdImage
from facebook_business.api import FacebookAdsApi
from facebook_business.session import FacebookSession

from launch_round_trips import (
    ACCOUNT,
    PAGE_ID,
    TOKEN,
    VERSION,
    ad,
    ad_set,
    campaign,
    client,
    creative,
    sandbox,
)
from meta_agent.cache import MemoryCache
from meta_agent.graph.batch import BatchBuilder, ref
from meta_agent.heap import freeze_startup_heap
from meta_agent.interfaces.walkthrough import solid_png
from meta_agent.orchestrator.env import Env
from meta_agent.orchestrator.orchestrator import Orchestrator
from meta_agent.orchestrator.settle import NamingKeys
from meta_agent.sandbox.timeline import RequestTimeline
from meta_agent.store.sql import SqlJournal

TARGETING = {
    "geo_locations": {"countries": ["IN"]},
    "targeting_automation": {"advantage_audience": 0},
}


@dataclass(frozen=True)
class Shape:
    """One launch's size."""

    images: int
    adsets: int
    ads_per_adset: int

    @property
    def ads(self) -> int:
        """Ads (each with its own creative)."""
        return self.adsets * self.ads_per_adset

    @property
    def objects(self) -> int:
        """Everything created: images, campaign, ad sets, creatives, ads."""
        return self.images + 1 + self.adsets + 2 * self.ads

    def pngs(self) -> list[tuple[str, bytes]]:
        """Distinct images (by colour), large enough for Meta's feed (made once, untimed)."""
        return _pngs(self.images)

    def image_of(self, ad: int) -> int:
        """Which image the ``ad``-th ad shows."""
        return ad % self.images


@functools.cache
def _pngs(count: int) -> list[tuple[str, bytes]]:
    return [
        (f"img{i}.png", solid_png(1200, 1200, (9 * i % 256, 255 - 7 * i % 256, 60 + i)))
        for i in range(count)
    ]


SHAPES = {
    22: Shape(images=6, adsets=3, ads_per_adset=2),
    110: Shape(images=9, adsets=4, ads_per_adset=12),
    440: Shape(images=29, adsets=10, ads_per_adset=20),
    1041: Shape(images=20, adsets=20, ads_per_adset=25),
}


@dataclass
class Figures:
    """What one side took."""

    requests: int
    round_trips: int
    seconds: float


def sdk_launch(url: str, shape: Shape) -> None:
    """The official SDK, one call after another."""
    session = FacebookSession(access_token=TOKEN)
    session.GRAPH = url
    FacebookAdsApi.set_default_api(FacebookAdsApi(session, api_version=VERSION))
    account = AdAccount(ACCOUNT)
    hashes = []
    with tempfile.TemporaryDirectory() as folder:
        for name, data in shape.pngs():
            path = Path(folder) / name
            path.write_bytes(data)
            image = account.create_ad_image(params={AdImage.Field.filename: str(path)})
            hashes.append(image[AdImage.Field.hash])
    campaign_id = account.create_campaign(params=campaign())["id"]
    adsets = [
        account.create_ad_set(params=ad_set(i, campaign_id))["id"] for i in range(shape.adsets)
    ]
    for i in range(shape.ads):
        made = account.create_ad_creative(params=creative(i, hashes[shape.image_of(i)]))
        account.create_ad(params=ad(i, adsets[i // shape.ads_per_adset], made["id"]))


async def client_batch(url: str, shape: Shape) -> float:
    """Our client's best: one batch, the images attached, everything linked by references.

    Returns the seconds it took, the client built apart (once per process in real use).
    """
    async with client(url) as graph:
        started = time.perf_counter()
        batch = BatchBuilder(graph.requestor, concurrency=64)
        for i, (name, data) in enumerate(shape.pngs()):
            batch.post(
                f"{ACCOUNT}/adimages", name=f"img{i}", files={"f": (name, data, "image/png")}
            )
        batch.post(f"{ACCOUNT}/campaigns", campaign(), name="campaign")
        for i in range(shape.adsets):
            batch.post(f"{ACCOUNT}/adsets", ad_set(i, ref("campaign")), name=f"adset{i}")
        for i in range(shape.ads):
            image = ref(f"img{shape.image_of(i)}", "$.images.*.hash")
            batch.post(f"{ACCOUNT}/adcreatives", creative(i, image), name=f"creative{i}")
            adset = ref(f"adset{i // shape.ads_per_adset}")
            batch.post(f"{ACCOUNT}/ads", ad(i, adset, ref(f"creative{i}")), name=f"ad{i}")
        failed = (await batch.execute()).errors()
        seconds = time.perf_counter() - started
        assert not failed, failed
        return seconds


def orchestrator_request(request_id: str, shape: Shape) -> dict[str, Any]:
    """The same structure as a ``create_full_campaign`` request."""
    images = [
        {"name": name.removesuffix(".png"), "data": base64.b64encode(data).decode()}
        for name, data in shape.pngs()
    ]
    adsets = [
        {
            "name": f"Ad set {i}",
            "optimization_goal": "LINK_CLICKS",
            "billing_event": "IMPRESSIONS",
            "daily_budget": 50_000,
            "targeting": {"countries": ["IN"]},
        }
        for i in range(shape.adsets)
    ]
    ads = [
        {
            "name": f"Ad {i}",
            "adset_ref": f"Ad set {i // shape.ads_per_adset}",
            "creative": {
                "kind": "image",
                "name": f"Creative {i}",
                "page_id": PAGE_ID,
                "image_ref": f"img{shape.image_of(i)}",
                "link": "https://example.com/scale",
                "message": f"Message {i}",
                "call_to_action": "LEARN_MORE",
            },
        }
        for i in range(shape.ads)
    ]
    data = {
        "images": images,
        "campaign": {"name": "Scale", "objective": "OUTCOME_TRAFFIC"},
        "adsets": adsets,
        "ads": ads,
    }
    return {
        "request_id": request_id,
        "agent_id": "bench",
        "action": "create_full_campaign",
        "account_id": ACCOUNT,
        "data": data,
    }


async def orchestrated(
    url: str, shape: Shape, naming: NamingKeys, journal: SqlJournal
) -> tuple[Figures, Figures]:
    """A cold launch, then a warm one by the same orchestrator; their figures.

    Cold is a first launch on an account this process has not seen (nothing of it cached:
    a new orchestrator, client and cache); the journal is the process's own, as in any
    process that has served before.
    """
    async with client(url) as graph:
        env = Env.build(graph, journal, cache=MemoryCache(), naming_keys=naming)
        orchestrator = Orchestrator(env)
        runs = []
        for kind in ("cold", "warm"):
            request = orchestrator_request(f"{kind}-{uuid.uuid4().hex}", shape)
            httpx2.delete(f"{url}/_timeline")  # untimed: this run's requests only
            started = time.perf_counter()
            response = await orchestrator.execute(request)
            seconds = time.perf_counter() - started
            assert response.status == "COMPLETED", response.error
            runs.append(figures(url, seconds))
    return runs[0], runs[1]


# One event loop for every side that is ours, as a process has (its worker threads, and the
# durable engine bound to it, live as long as it does).
LOOP = asyncio.Runner()


@functools.cache
def process_journal() -> SqlJournal:
    """The SQLite journal of this process, opened once (a temporary file, left at exit)."""
    folder = Path(tempfile.mkdtemp(prefix="launch-scale-"))
    journal = SqlJournal(f"sqlite:///{folder / 'journal.db'}")
    LOOP.run(journal.open())
    return journal


def check(url: str, shape: Shape, launches: int = 1) -> None:
    """Every object of ``launches`` launches exists, once.

    Raises:
        AssertionError: an object is missing or duplicated.
    """
    objects = httpx2.get(f"{url}/_sandbox/objects").json()["data"]
    kinds = {
        kind: sum(1 for o in objects if o["kind"] == kind)
        for kind in ("campaign", "adset", "adcreative", "ad")
    }
    per_launch = {"campaign": 1, "adset": shape.adsets, "adcreative": shape.ads, "ad": shape.ads}
    assert kinds == {kind: n * launches for kind, n in per_launch.items()}, kinds


def figures(url: str, seconds: float) -> Figures:
    """The timeline's requests and round trips since its last reset, with ``seconds``."""
    noted = httpx2.get(f"{url}/_timeline").json()
    return Figures(noted["requests"], noted["round_trips"], seconds)


@contextmanager
def fresh_sandbox(latency_ms: float, *, in_thread: bool) -> Iterator[str]:
    """A new sandbox behind a request timeline: in a process of its own, or in a thread."""
    if in_thread:
        with sandbox(latency_ms, RequestTimeline()) as (url, _):
            yield url
        return
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-c", SERVER, str(port), str(latency_ms)]
    process = subprocess.Popen(command)  # noqa: S603 - this interpreter, our own script
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx2.get(f"{url}/_timeline", timeout=0.5)
                break
            except httpx2.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the sandbox process did not start") from None
                time.sleep(0.05)
        _warm(url)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def _warm(url: str) -> None:
    """Untimed reads through the routes a launch takes (an account, its images by hash, a
    batch), so a fresh sandbox process has done its first-request work before any side is
    timed: Meta has no cold start, and the figures are to measure the clients."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx2.Client(base_url=f"{url}/{VERSION}", headers=headers) as warm:
        warm.get(ACCOUNT, params={"fields": "currency,timezone_name,account_status"})
        warm.get(f"{ACCOUNT}/adimages", params={"hashes": '["0"]', "fields": "hash,status"})
        reads = [{"method": "GET", "relative_url": f"{ACCOUNT}/campaigns?fields=id,name"}]
        warm.post("", data={"batch": json.dumps(reads)})
    httpx2.delete(f"{url}/_timeline")


SERVER = """
import sys, uvicorn
from meta_agent.sandbox import SandboxConfig, create_app
from meta_agent.sandbox.timeline import RequestTimeline
from meta_agent.heap import freeze_startup_heap
port, latency = int(sys.argv[1]), float(sys.argv[2])
config = SandboxConfig(latency_ms=latency, base_url=f"http://127.0.0.1:{port}")
app = RequestTimeline(create_app(config))
freeze_startup_heap()
uvicorn.run(app, host="127.0.0.1", port=port, log_level="critical", lifespan="off")
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def measure_call(
    run: Callable[[str, Shape], Any], shape: Shape, latency_ms: float, *, in_thread: bool
) -> Figures:
    """One side that is a single launch, on a fresh sandbox."""
    shape.pngs()  # made before the clock starts
    with fresh_sandbox(latency_ms, in_thread=in_thread) as url:
        started = time.perf_counter()
        outcome = run(url, shape)
        if asyncio.iscoroutine(outcome):
            outcome = LOOP.run(outcome)
        # A side that builds a client times itself without it (as the orchestrator's is).
        seconds = outcome if isinstance(outcome, float) else time.perf_counter() - started
        check(url, shape)
        return figures(url, seconds)


def measure_orchestrator(
    shape: Shape, latency_ms: float, *, in_thread: bool, naming: NamingKeys = "keep"
) -> tuple[Figures, Figures]:
    """The orchestrator cold and warm, on one fresh sandbox (``naming``: whether the keys
    leave the names afterwards, one batch more for a launch left PAUSED)."""
    with fresh_sandbox(latency_ms, in_thread=in_thread) as url:
        cold, warm = LOOP.run(orchestrated(url, shape, naming, process_journal()))
        check(url, shape, launches=2)
        return cold, warm


def report(size: int, shape: Shape, rows: dict[str, Figures]) -> list[str]:
    """Print one size's rows; return the targets it missed."""
    base = rows["official SDK, call by call"]
    print(
        f"\n{shape.objects} objects: {shape.images} images, 1 campaign, {shape.adsets} ad sets, "
        f"{shape.ads} creatives, {shape.ads} ads"
    )
    print(f"{'':34} {'HTTP':>5} {'round trips':>11} {'wall s':>8} {'vs SDK':>7}")
    for label, f in rows.items():
        print(
            f"{label:34} {f.requests:5d} {f.round_trips:11d} {f.seconds:8.3f} {f.seconds / base.seconds:6.3f}x"
        )
    cold, warm = rows["orchestrator, cold"], rows["orchestrator, warm"]
    missed = []
    if size <= 22:
        if cold.round_trips > 2 or cold.seconds > 0.12 * base.seconds:
            missed.append(f"{size}: cold <= 2 round trips and <= 0.12x")
        if warm.round_trips > 1:
            missed.append(f"{size}: warm 1 round trip")
    if shape.objects >= 1000 and (cold.round_trips > 3 or cold.seconds > 0.05 * base.seconds):
        missed.append(f"{size}: cold <= 3 round trips and <= 0.05x")
    return missed


def measure_size(shape: Shape, latency_ms: float, *, in_thread: bool) -> dict[str, Figures]:
    """Every side of one size, once."""
    where = {"in_thread": in_thread}
    cold, warm = measure_orchestrator(shape, latency_ms, **where)
    cold_s, warm_s = measure_orchestrator(shape, latency_ms, naming="strip", **where)
    return {
        "official SDK, call by call": measure_call(sdk_launch, shape, latency_ms, **where),
        "client, best batch": measure_call(client_batch, shape, latency_ms, **where),
        "orchestrator, cold": cold,
        "orchestrator, warm": warm,
        "orchestrator, cold, names back": cold_s,
        "orchestrator, warm, names back": warm_s,
    }


def median_rows(runs: list[dict[str, Figures]]) -> dict[str, Figures]:
    """Each row's median run by wall time (with that run's requests and round trips)."""
    return {
        label: sorted((run[label] for run in runs), key=lambda f: f.seconds)[len(runs) // 2]
        for label in runs[0]
    }


def main() -> None:
    """Measure every size, every side, and print them side by side."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--sizes", default="22,110,440,1041", help=f"any of {list(SHAPES)}")
    parser.add_argument("--in-thread", action="store_true", help="serve the sandbox in a thread")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of each size up to 200 objects (the median)"
    )
    args = parser.parse_args()
    where = {"in_thread": args.in_thread}
    structlog.configure(processors=[_drop])
    sizes = [int(size) for size in args.sizes.split(",")]
    load_before = os.getloadavg()
    measure_call(client_batch, SHAPES[22], args.latency_ms, **where)  # warm-up: imports
    measure_orchestrator(SHAPES[22], args.latency_ms, **where)
    freeze_startup_heap()  # as MetaAgentService.open does, once a process has started
    print(
        f"Launch at {args.latency_ms:.0f} ms per request, the sandbox "
        f"{'in a thread' if args.in_thread else 'in its own process'}; load average before "
        f"{load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f} on {os.cpu_count()} CPUs"
    )
    missed = []
    for size in sizes:
        shape = SHAPES[size]
        runs = args.repeat if shape.objects <= 200 else 1
        rows = median_rows([measure_size(shape, args.latency_ms, **where) for _ in range(runs)])
        if runs > 1:
            print(f"\n(each row: the median of {runs} runs, every run a fresh sandbox)", end="")
        missed += report(size, shape, rows)
    load_after = os.getloadavg()
    print(f"\nload average after {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")
    print("targets: " + ("all met" if not missed else "NOT met: " + "; ".join(missed)))
    LOOP.close()


def _drop(*_: Any) -> Any:
    raise structlog.DropEvent


if __name__ == "__main__":
    main()
