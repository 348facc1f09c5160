"""Benchmark: an insights export at scale, ours against the official SDK at its best.

A real reporting job is months of daily rows over many accounts. A sandbox in its own
process on loopback holds ``--accounts`` ad accounts (``SandboxConfig(accounts=N)``), each
given ``--ads`` ads delivering every day for 90 days, and answers every insights request
(a report run's start and each page of its results) 300 ms late (the fault rule
``latency:ms=300,path=*/insights``), as Meta's insights endpoints are slow. Rate limits are
on (standard tier), as on Meta. The export is daily rows at ad level over the 90 days.

- the SDK at its best: per account in turn, ``get_insights(is_async=True)``, ``api_get()``
  every ``--poll`` seconds until "Job Completed", then its cursor ``get_result()`` with
  ``limit=--sdk-limit`` (5000, a large page: the fewest slow round trips);
- ours: :func:`meta_agent.graph.export.export_insights`, every account at once
  (``concurrency=--accounts``), ``--readers`` (16) results pages of ``--page-size`` (1000) in
  flight, polling at the same interval: smaller pages, so that what is held stays a few
  pages whatever the size, and several at once, so that their latency overlaps;
- ours with ``concurrency=1`` (accounts in sequence, as the SDK): what the client alone does.

Printed per size: rows, seconds, rows per second, its ratio to the SDK, and the peak Python
memory of one more pass under tracemalloc (tracing slows a pass, so it is not timed), at
two sizes (``--ads``, 20 and 80 ads an account: 4x the rows) to show whether memory
grows with the rows. Each size states the machine's load average before and after.

Then the read-ahead question, on one account's report at the larger size: the rows of
``ReportJob.results()`` (timed from the completed job on) with and without ``read_ahead``,
each row converted to ``InsightsRow`` (what the insights agent does), at the default page
size (500), 300 ms per page.

    python bench/insights_scale.py [--accounts 20] [--ads 20,80] [--page-size 1000] [--sdk-limit 5000]
                                   [--readers 8] [--poll 0.5] [--run-seconds 1.0]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, timedelta

import structlog
from facebook_business.adobjects.adaccount import AdAccount
from facebook_business.adobjects.adreportrun import AdReportRun
from facebook_business.api import FacebookAdsApi
from facebook_business.session import FacebookSession
from pydantic import SecretStr

from insights_stream import (  # beside this script (sys.path[0])
    TOKEN,
    Result,
    free_port,
    seed,
    serve,
    timed,
)
from meta_agent.graph.export import DEFAULT_READERS, EXPORT_POLICY, export_insights
from meta_agent.graph.guard import UNGUARDED
from meta_agent.graph.models import InsightsRow
from meta_agent.graph.report_job import ReportJob
from meta_agent.graph.report_plan import ReportPolicy
from meta_agent.graph.requestor import Requestor
from meta_agent.graph.settings import GraphSettings
from meta_agent.graph.transport import Transport
from meta_agent.sandbox.state import seed_account_id

FIELDS = ["account_id", "campaign_id", "adset_id", "ad_id", "impressions", "clicks", "spend"]
DAYS = 90
SERVER = """
import uvicorn
from meta_agent.sandbox import SandboxConfig, create_app
config = SandboxConfig(accounts=%d, report_run_seconds=%f, base_url="http://127.0.0.1:%d")
app = create_app(config, faults="latency:ms=%d,path=*/insights")
uvicorn.run(app, host="127.0.0.1", port=%d, log_level="warning", lifespan="off")
"""


@dataclass(frozen=True)
class Setup:
    """What every pass shares: the sandbox, the accounts, the query, the knobs."""

    url: str
    accounts: list[str]
    since: date
    until: date
    page_size: int
    sdk_limit: int
    readers: int
    poll: float


@contextmanager
def sandbox(accounts: int, run_seconds: float, latency_ms: int) -> Iterator[str]:
    """A sandbox process on loopback with ``accounts`` accounts; yields its base URL."""
    port = free_port()
    with serve(SERVER % (accounts, run_seconds, port, latency_ms, port), port) as url:
        yield url


# -- the clients ----------------------------------------------------------------------------------


def sdk_export(setup: Setup) -> int:
    """The SDK at its best: accounts in turn, async job, polled, its cursor with a large limit."""
    session = FacebookSession(access_token=TOKEN)
    session.GRAPH = setup.url
    api = FacebookAdsApi(session, api_version="v25.0")
    params = {
        "level": "ad",
        "fields": FIELDS,
        "time_increment": 1,
        "time_range": {"since": setup.since.isoformat(), "until": setup.until.isoformat()},
    }
    rows = 0
    for account in setup.accounts:
        run = AdAccount(account, api=api).get_insights(params=params, is_async=True)
        while True:
            run.api_get()
            done = run[AdReportRun.Field.async_status] == "Job Completed"
            if done and run[AdReportRun.Field.async_percent_completion] == 100:
                break
            time.sleep(setup.poll)
        for row in run.get_result(params={"limit": setup.sdk_limit}):
            rows += row["spend"] is not None
    return rows


def ours_export(setup: Setup, *, concurrency: int) -> int:
    """Ours: export_insights over every account, ``concurrency`` at once."""

    async def main() -> int:
        requestor = _requestor(setup.url)
        policy = replace(
            EXPORT_POLICY, page_size=setup.page_size, poll_first=setup.poll, poll_factor=1.0
        )
        rows = 0
        try:
            export = export_insights(
                requestor,
                setup.accounts,
                since=setup.since,
                until=setup.until,
                level="ad",
                fields=FIELDS,
                concurrency=concurrency,
                readers=setup.readers,
                policy=policy,
            )
            async for row in export:
                rows += row["spend"] is not None
        finally:
            await requestor.transport.aclose()
        return rows

    return asyncio.run(main())


def ours_report(setup: Setup, *, read_ahead: bool) -> Result:
    """One account's report: start, wait, then ReportJob.results() timed, rows as InsightsRow."""

    async def main() -> Result:
        requestor = _requestor(setup.url)
        policy = replace(
            ReportPolicy(), poll_first=setup.poll, poll_factor=1.0, read_ahead=read_ahead
        )
        params = {
            "level": "ad",
            "fields": FIELDS,
            "time_increment": 1,
            "time_range": {"since": setup.since.isoformat(), "until": setup.until.isoformat()},
        }
        job = ReportJob(requestor, setup.accounts[0], params, policy)
        rows = 0
        try:
            await job.start()
            await job.wait()
            started = time.perf_counter()
            async for row in job.results():
                rows += InsightsRow.model_validate(row).spend is not None
            return Result(rows, time.perf_counter() - started)
        finally:
            await requestor.transport.aclose()

    return asyncio.run(main())


def _requestor(url: str) -> Requestor:
    settings = GraphSettings(base_url=url, version="v25.0", access_token=SecretStr(TOKEN))
    return Requestor(settings, Transport(url), guard=UNGUARDED)


# -- measuring and printing -----------------------------------------------------------------------


def load() -> str:
    """The machine's 1-minute load average and CPU count."""
    return f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"


def run_size(args: argparse.Namespace, ads: int) -> dict[str, Result]:
    """Every client at one size (ads per account), timed then traced; prints the table."""
    until = date.today() - timedelta(days=1)
    accounts = [f"act_{seed_account_id(k)}" for k in range(1, args.accounts + 1)]
    results: dict[str, Result] = {}
    with sandbox(args.accounts, args.run_seconds, args.latency_ms) as url:
        seed(url, ads, accounts)
        setup = Setup(
            url, accounts, until - timedelta(days=DAYS - 1), until, args.page_size, args.sdk_limit,
            args.readers, args.poll,
        )  # fmt: skip
        clients: dict[str, Callable[[], int]] = {
            "SDK, accounts in sequence": lambda: sdk_export(setup),
            "ours, accounts in sequence": lambda: ours_export(setup, concurrency=1),
            f"ours, {args.accounts} accounts at once": lambda: ours_export(
                setup, concurrency=args.accounts
            ),
        }
        before = load()
        for name, client in clients.items():
            results[name] = timed(client, traced=False)
            results[name].peak_bytes = timed(client, traced=True).peak_bytes
        _print_size(ads, args, results, before)
        if ads == max(int(part) for part in args.ads.split(",")):
            _read_ahead(setup)
    return results


def _print_size(
    ads: int, args: argparse.Namespace, results: dict[str, Result], before: str
) -> None:
    sdk = next(iter(results.values()))
    print(
        f"{args.accounts} accounts x {DAYS} days x {ads} ads, daily at ad level: {sdk.rows:,} "
        f"rows; {args.latency_ms} ms per insights request; pages: the SDK's {args.sdk_limit}, "
        f"ours {args.page_size} ({args.readers} in flight)"
    )
    print(f"  {'':32} {'rows':>8} {'seconds':>8} {'rows/s':>8} {'x SDK':>7} {'peak MiB':>9}")
    for name, result in results.items():
        assert result.rows == sdk.rows, (name, result.rows, sdk.rows)
        print(
            f"  {name:32} {result.rows:8,} {result.seconds:8.2f} {result.rate:8,.0f} "
            f"{result.rate / sdk.rate:6.2f}x {result.peak_bytes / 2**20:9.2f}"
        )
    print(f"  {before} before, {load()} after; target: ours >= 5x the SDK, memory flat")


def _read_ahead(setup: Setup) -> None:
    before = load()
    rates: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(3):  # rounds alternating the two, so a load spike hits both alike
        for flag in (True, False):
            rates[flag].append(ours_report(setup, read_ahead=flag).rate)
    on, off = statistics.median(rates[True]), statistics.median(rates[False])
    print(
        f"one account's results() as InsightsRow, pages of {ReportPolicy().page_size}: "
        f"read-ahead {on:,.0f} rows/s, without {off:,.0f} rows/s ({on / off:.2f}x, median of 3)"
        f"; {before} before, {load()} after"
    )


def _print_flatness(by_size: dict[int, dict[str, Result]], name: str) -> None:
    low, high = by_size[min(by_size)], by_size[max(by_size)]
    rows_low, rows_high = low[name].rows, high[name].rows
    print(
        f"{name}, peak memory: {low[name].peak_bytes / 2**20:.2f} MiB at {rows_low:,} rows, "
        f"{high[name].peak_bytes / 2**20:.2f} MiB at {rows_high:,} rows "
        f"({high[name].peak_bytes / low[name].peak_bytes:.2f}x for {rows_high / rows_low:.1f}x "
        "the rows)"
    )


def main() -> None:
    # The canonical per-request log line is for production; here it would only add noise.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=20, help="ad accounts exported")
    parser.add_argument("--ads", default="20,80", help="sizes: ads per account")
    parser.add_argument("--page-size", type=int, default=1000, help="our results page size")
    parser.add_argument("--sdk-limit", type=int, default=5000, help="the SDK's results limit")
    parser.add_argument("--readers", type=int, default=DEFAULT_READERS, help="our pages in flight")
    parser.add_argument("--poll", type=float, default=0.5, help="seconds between polls")
    parser.add_argument("--run-seconds", type=float, default=1.0, help="a report run's time")
    parser.add_argument("--latency-ms", type=int, default=300, help="per insights request")
    args = parser.parse_args()
    by_size = {int(ads): run_size(args, int(ads)) for ads in args.ads.split(",")}
    if len(by_size) > 1:
        for name in next(iter(by_size.values())):
            _print_flatness(by_size, name)


if __name__ == "__main__":
    main()
