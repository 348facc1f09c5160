"""Benchmark 1: a launch's round trips against the sandbox over loopback with 50 ms latency.

Each side gets a fresh sandbox (uvicorn in a thread, system clock, ``latency_ms=50`` per HTTP
request) and builds the same launch: 6 images, 1 campaign, 3 ad sets, 6 creatives, 6 ads.

* (a) Meta's official SDK (``facebook_business``), call by call;
* (b) our ``GraphClient``, call by call;
* (c) our client with concurrency and batch: the images concurrently, then one batch whose
  items are linked by ``{result=...}`` references;
* (d) our client with one batch only, the images attached to it as files.

Printed side by side: HTTP requests (counted at the server's door), Graph calls (the sandbox's
``/_sandbox/requests`` total: every batch item plus the batch call), sequential round trips (how many times
the server went from idle to busy), wall time and its ratio to (a). Targets for (c): at most
3 sequential round trips and at most 0.2x the SDK's wall time.

    python bench/launch_round_trips.py [--latency-ms 50] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import structlog
import uvicorn
from facebook_business.adobjects.adaccount import AdAccount
from facebook_business.adobjects.adimage import AdImage
from facebook_business.api import FacebookAdsApi
from facebook_business.session import FacebookSession
from pydantic import SecretStr

from meta_agent.graph.batch import BatchBuilder, ref
from meta_agent.graph.client import GraphClient
from meta_agent.graph.guard import UNGUARDED
from meta_agent.graph.settings import GraphSettings
from meta_agent.interfaces.walkthrough import solid_png
from meta_agent.sandbox import SandboxConfig, create_app

TOKEN = "sandbox-token"  # the sandbox's public fixture token  # noqa: S105
ACCOUNT = "act_1234567890"
PAGE_ID = "102030405060708"
VERSION = "v25.0"
EXPECTED = {"adimage": 6, "campaign": 1, "adset": 3, "adcreative": 6, "ad": 6}
TARGETING = {
    "geo_locations": {"countries": ["IN"]},
    "targeting_automation": {"advantage_audience": 0},
}
IMAGES = [(f"img{i}.png", solid_png(64, 64, (40 * i, 255 - 40 * i, 90))) for i in range(6)]


def campaign() -> dict[str, Any]:
    """The campaign's parameters."""
    return {
        "name": "Launch",
        "objective": "OUTCOME_TRAFFIC",
        "special_ad_categories": [],
        "status": "PAUSED",
        "is_adset_budget_sharing_enabled": False,
    }


def ad_set(index: int, campaign_id: str) -> dict[str, Any]:
    """The ``index``-th ad set's parameters."""
    return {
        "name": f"Ad set {index}",
        "campaign_id": campaign_id,
        "daily_budget": 50000,
        "billing_event": "IMPRESSIONS",
        "optimization_goal": "LINK_CLICKS",
        "targeting": TARGETING,
        "status": "PAUSED",
    }


def creative(index: int, image_hash: str) -> dict[str, Any]:
    """The ``index``-th creative's parameters."""
    link_data = {
        "link": "https://example.com/launch",
        "message": f"Message {index}",
        "image_hash": image_hash,
        "call_to_action": {"type": "LEARN_MORE"},
    }
    return {
        "name": f"Creative {index}",
        "object_story_spec": {"page_id": PAGE_ID, "link_data": link_data},
    }


def ad(index: int, adset_id: str, creative_id: str) -> dict[str, Any]:
    """The ``index``-th ad's parameters (ads spread over the 3 ad sets)."""
    return {
        "name": f"Ad {index}",
        "adset_id": adset_id,
        "creative": {"creative_id": creative_id},
        "status": "PAUSED",
    }


class DoorCounter:
    """ASGI middleware counting Graph requests and the idle-to-busy transitions of the server."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.requests = 0
        self.rounds = 0
        self.in_flight = 0
        self.lock = threading.Lock()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        counted = scope["type"] == "http" and not scope["path"].startswith("/_sandbox")
        if counted:
            with self.lock:
                self.requests += 1
                self.rounds += self.in_flight == 0
                self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            if counted:
                with self.lock:
                    self.in_flight -= 1


@dataclass
class Figures:
    """What one side took."""

    requests: int
    graph_calls: int
    rounds: int
    seconds: float


@contextmanager
def sandbox(latency_ms: float, door: Any = None) -> Iterator[tuple[str, Any]]:
    """A fresh sandbox behind ``door`` (ASGI middleware whose ``app`` is set here; default a new
    :class:`DoorCounter`), served by uvicorn in a thread."""
    config = SandboxConfig(latency_ms=latency_ms)
    door = door if door is not None else DoorCounter(None)
    server = uvicorn.Server(
        uvicorn.Config(door, host="127.0.0.1", port=0, log_level="critical", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    door.app = create_app(config.model_copy(update={"base_url": url}))
    try:
        yield url, door
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def check_and_count(url: str) -> int:
    """Check the launch is complete and return the sandbox's Graph call total.

    Raises:
        AssertionError: an object is missing or duplicated.
    """
    objects = httpx2.get(f"{url}/_sandbox/objects").json()["data"]
    kinds = {kind: sum(1 for o in objects if o["kind"] == kind) for kind in EXPECTED}
    assert kinds == EXPECTED, kinds
    total: int = httpx2.get(f"{url}/_sandbox/requests").json()["total"]
    return total


def sdk_launch(url: str, images: Sequence[tuple[str, bytes]] = IMAGES) -> None:
    """(a) The official SDK, one call after another (``images``: file names and bytes)."""
    session = FacebookSession(access_token=TOKEN)
    session.GRAPH = url
    FacebookAdsApi.set_default_api(FacebookAdsApi(session, api_version=VERSION))
    account = AdAccount(ACCOUNT)
    hashes = []
    with tempfile.TemporaryDirectory() as folder:
        for name, data in images:
            path = Path(folder) / name
            path.write_bytes(data)
            image = account.create_ad_image(params={AdImage.Field.filename: str(path)})
            hashes.append(image[AdImage.Field.hash])
    campaign_id = account.create_campaign(params=campaign())["id"]
    adsets = [account.create_ad_set(params=ad_set(i, campaign_id))["id"] for i in range(3)]
    creatives = [
        account.create_ad_creative(params=creative(i, h))["id"] for i, h in enumerate(hashes)
    ]
    for i, creative_id in enumerate(creatives):
        account.create_ad(params=ad(i, adsets[i % 3], creative_id))


def client(url: str) -> GraphClient:
    """Our client pointed at the sandbox."""
    return GraphClient(
        GraphSettings(base_url=url, version=VERSION, access_token=SecretStr(TOKEN)),
        guard=UNGUARDED,
    )


async def ours_call_by_call(url: str) -> None:
    """(b) Our client, one call after another."""
    async with client(url) as graph:
        hashes = [(await graph.images.upload_file(ACCOUNT, image)).hash for image in IMAGES]
        campaign_id = (await graph.post(f"{ACCOUNT}/campaigns", campaign()))["id"]
        adsets = [
            (await graph.post(f"{ACCOUNT}/adsets", ad_set(i, campaign_id)))["id"] for i in range(3)
        ]
        for i, image_hash in enumerate(hashes):
            creative_id = (await graph.post(f"{ACCOUNT}/adcreatives", creative(i, image_hash)))[
                "id"
            ]
            await graph.post(f"{ACCOUNT}/ads", ad(i, adsets[i % 3], creative_id))


def add_launch(batch: BatchBuilder, hashes: list[str]) -> None:
    """The campaign, ad sets, creatives and ads as batch items linked by references."""
    batch.post(f"{ACCOUNT}/campaigns", campaign(), name="campaign")
    for i in range(3):
        batch.post(f"{ACCOUNT}/adsets", ad_set(i, ref("campaign")), name=f"adset{i}")
    for i, image_hash in enumerate(hashes):
        batch.post(f"{ACCOUNT}/adcreatives", creative(i, image_hash), name=f"creative{i}")
        batch.post(f"{ACCOUNT}/ads", ad(i, ref(f"adset{i % 3}"), ref(f"creative{i}")))


async def ours_batched(url: str) -> None:
    """(c) Images concurrently, then one batch for everything else."""
    async with client(url) as graph:
        images = await asyncio.gather(*(graph.images.upload_file(ACCOUNT, i) for i in IMAGES))
        batch = BatchBuilder(graph.requestor)
        add_launch(batch, [image.hash for image in images])
        failed = (await batch.execute()).errors()
        assert not failed, failed


async def ours_one_batch(url: str) -> None:
    """(d) One batch: the images attached as files, their hashes passed by reference."""
    async with client(url) as graph:
        batch = BatchBuilder(graph.requestor)
        for i, (name, data) in enumerate(IMAGES):
            batch.post(
                f"{ACCOUNT}/adimages", name=f"img{i}", files={"f": (name, data, "image/png")}
            )
        add_launch(batch, [ref(f"img{i}", "$.images.*.hash") for i in range(len(IMAGES))])
        failed = (await batch.execute()).errors()
        assert not failed, failed


def measure(run: Callable[[str], Any], latency_ms: float) -> Figures:
    """Run one side against a fresh sandbox and take its figures."""
    with sandbox(latency_ms) as (url, door):
        started = time.perf_counter()
        outcome = run(url)
        if asyncio.iscoroutine(outcome):
            asyncio.run(outcome)
        seconds = time.perf_counter() - started
        return Figures(door.requests, check_and_count(url), door.rounds, seconds)


def median(runs: list[Figures]) -> Figures:
    """The run with the median wall time."""
    return sorted(runs, key=lambda f: f.seconds)[len(runs) // 2]


def main() -> None:
    """Measure every side and print them side by side."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    structlog.configure(processors=[_drop])
    sides: dict[str, Callable[[str], Any]] = {
        "(a) official SDK, call by call": sdk_launch,
        "(b) GraphClient, call by call": ours_call_by_call,
        "(c) GraphClient, concurrent images + batch": ours_batched,
        "(d) GraphClient, one batch with attached images": ours_one_batch,
    }
    figures = {
        label: median([measure(run, args.latency_ms) for _ in range(args.repeat)])
        for label, run in sides.items()
    }
    base = next(iter(figures.values()))
    print(
        f"Launch of 6 images, 1 campaign, 3 ad sets, 6 creatives, 6 ads; {args.latency_ms:.0f} ms per request"
    )
    print(f"{'':48} {'HTTP':>5} {'Graph':>6} {'rounds':>6} {'wall s':>7} {'vs (a)':>7}")
    for label, f in figures.items():
        ratio = f.seconds / base.seconds
        print(
            f"{label:48} {f.requests:5d} {f.graph_calls:6d} {f.rounds:6d} {f.seconds:7.3f} {ratio:6.2f}x"
        )
    c = figures["(c) GraphClient, concurrent images + batch"]
    ok = c.rounds <= 3 and c.seconds <= 0.2 * base.seconds
    print(f"target for (c): <= 3 rounds and <= 0.20x: {'met' if ok else 'NOT met'}")


def _drop(*_: Any) -> Any:
    raise structlog.DropEvent


if __name__ == "__main__":
    main()
