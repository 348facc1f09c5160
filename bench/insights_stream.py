"""Benchmark 3: stream an async insights report, ours against the official SDK's cursor.

A sandbox runs in its own process on loopback (as Meta is a remote server, its CPU is not
the client's), seeded through its admin state endpoint with ads that delivered every day
for 90 days. One report (``level=ad``, daily rows, broken down by age and gender) is
started, waited for, and its rows streamed. Printed per report size, side by side:

- the SDK as its users write it, ``AdReportRun.get_result()`` iterated (its default cursor:
  Meta's default page of 25 rows, fetched strictly one after another): the baseline;
- the SDK tuned, ``get_result(params={"limit": 500})``;
- ours, ``ReportJob.results()`` at ``--page-size`` (one page at a time, the default), and
  the same with ``read_ahead`` (the next page fetched while the caller consumes this one);
- a bare httpx2 loop at ``--page-size`` (no pacing, retries, logs): the sandbox's ceiling.

Rows per second is the median of ``--repeat`` timed passes, clients taking turns in a
rotating order so a load spike on this machine hits them alike; peak Python memory comes
from one more pass under tracemalloc (tracing slows a pass, so it is not timed).

Fairness: one sandbox serves every pass, and every pass starts its own report run. The
sandbox keeps a run's layout and computed rows under that run's id, so no pass reads rows
computed for another; what is shared is only process warmth (imports, a few tiny pure
caches keyed by field names), which every client has after the first round. The sandbox's
rate limits are off: this measures streaming, not throttling.

    python bench/insights_stream.py [--sizes 50000,200000] [--ads 200] [--page-size 5000]
                                    [--repeat 3] [--no-memory]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import socket
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from typing import Any

import httpx2
import structlog
from facebook_business.adobjects.adaccount import AdAccount
from facebook_business.adobjects.adreportrun import AdReportRun
from facebook_business.api import FacebookAdsApi
from facebook_business.session import FacebookSession
from pydantic import SecretStr

from meta_agent.graph.guard import UNGUARDED
from meta_agent.graph.reports import ReportJob, ReportPolicy
from meta_agent.graph.requestor import Requestor
from meta_agent.graph.settings import GraphSettings
from meta_agent.graph.transport import Transport

TOKEN = "sandbox-token"  # noqa: S105 - the sandbox's fixed token, not a secret
ACCOUNT = "act_1234567890"
DAY = 86_400.0
FIELDS = ["ad_id", "adset_id", "campaign_id", "impressions", "clicks", "spend", "reach", "actions"]
SERVER = """
import uvicorn
from meta_agent.sandbox import SandboxConfig, create_app
config = SandboxConfig(report_run_seconds=0.5, rate_limits=False, base_url="http://127.0.0.1:%d")
uvicorn.run(create_app(config), host="127.0.0.1", port=%d, log_level="warning", lifespan="off")
"""


@dataclass
class Result:
    """One pass: rows read, seconds taken, peak traced bytes (0 when not traced)."""

    rows: int
    seconds: float
    peak_bytes: int = 0

    @property
    def rate(self) -> float:
        """Rows per second."""
        return self.rows / self.seconds


def free_port() -> int:
    """An unused TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def sandbox() -> Iterator[str]:
    """A sandbox process on loopback; yields its base URL."""
    port = free_port()
    with serve(SERVER % (port, port), port) as url:
        yield url


@contextmanager
def serve(code: str, port: int, *, wait_s: float = 30) -> Iterator[str]:
    """Run ``code`` (a sandbox server on ``port``) in a process of its own until it answers
    its health check; yields its base URL, and stops it afterwards."""
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen([sys.executable, "-c", code])  # noqa: S603
    try:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                httpx2.get(f"{url}/_sandbox/health", timeout=0.5)
                break
            except httpx2.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError("sandbox did not start") from None
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def seed(url: str, ads: int, accounts: Sequence[str] = (ACCOUNT,)) -> None:
    """Give each account campaigns of 50 ads, all delivering for the last 91 days (admin API)."""
    state = httpx2.get(f"{url}/_sandbox/state").json()
    created = time.time() - 91 * DAY
    next_id = iter(range(9_100_000_000_000_000, 9_200_000_000_000_000))
    for account in accounts:
        common = {"account_id": account.removeprefix("act_"), "created_time": created}
        for start in range(0, ads, 50):
            campaign, adset = str(next(next_id)), str(next(next_id))
            records = [campaign_record(campaign, common), adset_record(adset, campaign, common)]
            records += [
                ad_record(str(next(next_id)), adset, campaign, common)
                for _ in range(min(50, ads - start))
            ]
            state["objects"].update({record["id"]: record for record in records})
    httpx2.put(f"{url}/_sandbox/state", content=json.dumps(state), timeout=60).raise_for_status()


def campaign_record(object_id: str, common: dict[str, Any]) -> dict[str, Any]:
    """An active sales campaign of the account in ``common``."""
    return {
        **common,
        "kind": "campaign",
        "id": object_id,
        "name": f"Bench campaign {object_id}",
        "objective": "OUTCOME_SALES",
        "status": "ACTIVE",
        "special_ad_categories": [],
    }


def adset_record(object_id: str, campaign: str, common: dict[str, Any]) -> dict[str, Any]:
    """An active ad set with a daily budget, delivering since it was created."""
    return {
        **common,
        "kind": "adset",
        "id": object_id,
        "campaign_id": campaign,
        "name": f"Bench ad set {object_id}",
        "status": "ACTIVE",
        "optimization_goal": "LINK_CLICKS",
        "billing_event": "IMPRESSIONS",
        "daily_budget": 500_000,
        "targeting": {"geo_locations": {"countries": ["IN"]}, "age_min": 18, "age_max": 65},
        "start_time": common["created_time"],
    }


def ad_record(object_id: str, adset: str, campaign: str, common: dict[str, Any]) -> dict[str, Any]:
    """An active ad, out of review since it was created."""
    return {
        **common,
        "kind": "ad",
        "id": object_id,
        "campaign_id": campaign,
        "adset_id": adset,
        "creative_id": "0",
        "name": f"Bench ad {object_id}",
        "status": "ACTIVE",
        "review_until": common["created_time"],
    }


def report_params(url: str, rows: int) -> dict[str, Any]:
    """Daily ad rows by age and gender over as many days (ending yesterday) as ``rows`` needs."""
    yesterday = date.today() - timedelta(days=1)
    base = {"level": "ad", "fields": FIELDS, "breakdowns": ["age", "gender"], "time_increment": 1}
    per_day = _count(url, {**base, "time_range": _range(yesterday, yesterday)})
    days = min(90, -(-rows // per_day))
    return {**base, "time_range": _range(yesterday - timedelta(days=days - 1), yesterday)}


def _count(url: str, params: dict[str, Any]) -> int:
    query = {k: json.dumps(v) if isinstance(v, list | dict) else str(v) for k, v in params.items()}
    query |= {"access_token": TOKEN, "limit": "5000", "fields": "ad_id"}
    return len(httpx2.get(f"{url}/v25.0/{ACCOUNT}/insights", params=query).json()["data"])


def _range(since: date, until: date) -> dict[str, str]:
    return {"since": since.isoformat(), "until": until.isoformat()}


# -- the clients --------------------------------------------------------------------------------


def sdk_run(url: str, params: dict[str, Any], traced: bool, *, limit: int | None) -> Result:
    """The official SDK: start with is_async=True, poll api_get(), iterate get_result()."""
    session = FacebookSession(access_token=TOKEN)
    session.GRAPH = url
    api = FacebookAdsApi(session, api_version="v25.0")
    run = AdAccount(ACCOUNT, api=api).get_insights(params=params, is_async=True)
    while True:
        run.api_get()
        if run[AdReportRun.Field.async_status] == "Job Completed":
            break
        time.sleep(0.1)
    query = {} if limit is None else {"limit": limit}
    return timed(lambda: _drain_sync(run.get_result(params=query)), traced)


def ours_run(
    url: str, params: dict[str, Any], traced: bool, *, page_size: int, read_ahead: bool
) -> Result:
    """Ours: ReportJob start/wait, then results() streamed page by page."""

    async def main() -> Result:
        settings = GraphSettings(base_url=url, version="v25.0", access_token=SecretStr(TOKEN))
        requestor = Requestor(settings, Transport(url), guard=UNGUARDED)
        policy = ReportPolicy(
            poll_first=0.1, poll_factor=1.0, page_size=page_size, read_ahead=read_ahead
        )
        job = ReportJob(requestor, ACCOUNT, params, policy)
        await job.start()
        await job.wait()
        try:
            return await _measure_async(job, traced)
        finally:
            await requestor.transport.aclose()

    return asyncio.run(main())


def bare_run(url: str, params: dict[str, Any], traced: bool, *, page_size: int) -> Result:
    """The sandbox's ceiling: a bare httpx2 loop (no pacing, retries or logs), same page size."""
    form = {k: json.dumps(v) if isinstance(v, list | dict) else str(v) for k, v in params.items()}
    with httpx2.Client(base_url=f"{url}/v25.0", params={"access_token": TOKEN}) as client:
        run_id = client.post(f"/{ACCOUNT}/insights", data=form).json()["report_run_id"]
        while client.get(f"/{run_id}").json()["async_status"] != "Job Completed":
            time.sleep(0.1)
        return timed(lambda: _drain_sync(_bare_rows(client, run_id, page_size)), traced)


def _bare_rows(client: httpx2.Client, run_id: str, page_size: int) -> Iterator[dict[str, Any]]:
    query: dict[str, Any] = {"limit": page_size}
    while True:
        body = client.get(f"/{run_id}/insights", params=query).json()
        yield from body["data"]
        if "next" not in body.get("paging", {}):
            return
        query["after"] = body["paging"]["cursors"]["after"]


def _drain_sync(rows: Any) -> int:
    count = 0
    for row in rows:
        count += row["spend"] is not None
    return count


async def _drain_async(job: ReportJob) -> int:
    count = 0
    async for row in job.results():
        count += row["spend"] is not None
    return count


def timed(drain: Callable[[], int], traced: bool) -> Result:
    """One pass of ``drain``: rows, seconds and (traced) peak Python memory."""
    if traced:
        tracemalloc.start()
    started = time.perf_counter()
    rows = drain()
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] if traced else 0
    tracemalloc.stop()
    return Result(rows, seconds, peak)


async def _measure_async(job: ReportJob, traced: bool) -> Result:
    if traced:
        tracemalloc.start()
    started = time.perf_counter()
    rows = await _drain_async(job)
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] if traced else 0
    tracemalloc.stop()
    return Result(rows, seconds, peak)


# -- measuring and printing -----------------------------------------------------------------------

Run = Callable[[str, dict[str, Any], bool], Result]


@dataclass(frozen=True)
class Client:
    """One way of reading the report."""

    name: str
    run: Run


@dataclass
class Figures:
    """One client's passes at one report size."""

    rows: int
    rates: list[float]
    peak_bytes: int

    @property
    def rate(self) -> float:
        """Median rows per second."""
        return statistics.median(self.rates)


def clients(page_size: int) -> list[Client]:
    """The baseline (the SDK's default cursor) first, then the others."""
    return [
        Client("SDK get_result() (default cursor)", partial(sdk_run, limit=None)),
        Client("SDK get_result(limit=500)", partial(sdk_run, limit=500)),
        Client(
            f"ours results(page={page_size})",
            partial(ours_run, page_size=page_size, read_ahead=False),
        ),
        Client(
            f"ours, read-ahead (page={page_size})",
            partial(ours_run, page_size=page_size, read_ahead=True),
        ),
        Client(f"bare httpx2 loop (page={page_size})", partial(bare_run, page_size=page_size)),
    ]


def measure(
    url: str, params: dict[str, Any], group: Sequence[Client], repeat: int, memory: bool
) -> list[Figures]:
    """Median rows/s of ``repeat`` rotating rounds, then one traced pass each for memory."""
    figures = [Figures(0, [], 0) for _ in group]
    for round_ in range(repeat):
        for offset in range(len(group)):
            index = (round_ + offset) % len(group)
            result = group[index].run(url, params, False)
            figures[index].rows = result.rows
            figures[index].rates.append(result.rate)
    for figure, client in zip(figures, group, strict=True):
        figure.peak_bytes = client.run(url, params, True).peak_bytes if memory else 0
    return figures


def main() -> None:
    # The canonical per-request log line is for production; here it would only add noise.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="50000,200000", help="report sizes in rows")
    parser.add_argument("--ads", type=int, default=200, help="ads seeded in the sandbox")
    parser.add_argument("--page-size", type=int, default=5000, help="our results page size")
    parser.add_argument("--repeat", type=int, default=3, help="timed passes per client (median)")
    parser.add_argument("--no-memory", action="store_true", help="skip the tracemalloc passes")
    args = parser.parse_args()
    group = clients(args.page_size)
    peaks: dict[int, int] = {}
    with sandbox() as url:
        seed(url, args.ads)
        for size in (int(part) for part in args.sizes.split(",")):
            params = report_params(url, size)
            figures = measure(url, params, group, args.repeat, not args.no_memory)
            _print(size, group, figures, args.repeat)
            peaks[figures[0].rows] = figures[2].peak_bytes
    if len(peaks) > 1 and not args.no_memory:
        _print_flatness(peaks)


def _print(size: int, group: Sequence[Client], figures: Sequence[Figures], repeat: int) -> None:
    mib, sdk, tuned = 1024 * 1024, figures[0], figures[1]
    print(f"report of {sdk.rows:,} rows (asked for about {size:,}), median of {repeat} passes")
    print(
        f"  {'':40} {'rows/s':>9} {'min-max':>15} {'peak MiB':>9} "
        f"{'x SDK default':>14} {'x SDK(500)':>11} {'memory x':>9}"
    )
    for client, figure in zip(group, figures, strict=True):
        assert figure.rows == sdk.rows, (client.name, figure.rows)
        spread = f"{min(figure.rates):,.0f}-{max(figure.rates):,.0f}"
        memory = figure.peak_bytes / sdk.peak_bytes if sdk.peak_bytes else 0.0
        print(
            f"  {client.name:40} {figure.rate:9,.0f} {spread:>15} {figure.peak_bytes / mib:9.2f} "
            f"{figure.rate / sdk.rate:13.2f}x {figure.rate / tuned.rate:10.2f}x {memory:8.2f}x"
        )
    print("  target: ours >= 3x the SDK's rows/s; peak memory flat in the row count")


def _print_flatness(peaks: dict[int, int]) -> None:
    (small, low), (large, high) = min(peaks.items()), max(peaks.items())
    print(
        f"ours, peak memory: {low / 2**20:.2f} MiB at {small:,} rows, "
        f"{high / 2**20:.2f} MiB at {large:,} rows ({high / low:.2f}x for {large / small:.1f}x "
        "the rows)"
    )


if __name__ == "__main__":
    main()
