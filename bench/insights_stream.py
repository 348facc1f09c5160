"""Benchmark 3: stream an async insights report, ours against the official SDK's cursor.

A sandbox runs in its own process on loopback, seeded through its admin state endpoint with
ads that delivered every day for 90 days. One report (``level=ad``, daily rows, broken down
by age and gender) is started, waited for, and its rows streamed. Rows per second and peak
Python memory (tracemalloc, in a separate pass so tracing does not slow the timed one) are
printed for the SDK (``AdReportRun.get_result(params={"limit": 500})`` iterated) and for our
``ReportJob.results()``, at two report sizes, with ratios. The sandbox's rate limits are off:
this measures streaming, not throttling.

    python bench/insights_stream.py [--sizes 50000,200000] [--ads 200] [--page-size 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import socket
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
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
    """One client's figures for one report."""

    rows: int
    seconds: float
    peak_bytes: int

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
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen([sys.executable, "-c", SERVER % (port, port)])  # noqa: S603
    try:
        deadline = time.monotonic() + 20
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


def seed(url: str, ads: int) -> None:
    """Add campaigns of 50 ads, all delivering for the last 91 days, via the admin state API."""
    state = httpx2.get(f"{url}/_sandbox/state").json()
    created = time.time() - 91 * DAY
    common = {"account_id": ACCOUNT.removeprefix("act_"), "created_time": created}
    next_id = iter(range(9_100_000_000_000_000, 9_200_000_000_000_000))
    for start in range(0, ads, 50):
        campaign, adset = str(next(next_id)), str(next(next_id))
        records = [_campaign(campaign, common), _adset(adset, campaign, common)]
        records += [
            _ad(str(next(next_id)), adset, campaign, common) for _ in range(min(50, ads - start))
        ]
        state["objects"].update({record["id"]: record for record in records})
    httpx2.put(f"{url}/_sandbox/state", content=json.dumps(state), timeout=60).raise_for_status()


def _campaign(object_id: str, common: dict[str, Any]) -> dict[str, Any]:
    return {
        **common,
        "kind": "campaign",
        "id": object_id,
        "name": f"Bench campaign {object_id}",
        "objective": "OUTCOME_SALES",
        "status": "ACTIVE",
        "special_ad_categories": [],
    }


def _adset(object_id: str, campaign: str, common: dict[str, Any]) -> dict[str, Any]:
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


def _ad(object_id: str, adset: str, campaign: str, common: dict[str, Any]) -> dict[str, Any]:
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


# -- the two clients ------------------------------------------------------------------------------


def sdk_run(url: str, params: dict[str, Any], traced: bool) -> Result:
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
    return _measure(lambda: _drain_sync(run.get_result(params={"limit": 500})), traced)


def ours_run(url: str, params: dict[str, Any], page_size: int, traced: bool) -> Result:
    """Ours: ReportJob start/wait, then results() streamed page by page."""

    async def main() -> Result:
        settings = GraphSettings(base_url=url, version="v25.0", access_token=SecretStr(TOKEN))
        requestor = Requestor(settings, Transport(url))
        policy = ReportPolicy(poll_first=0.1, poll_factor=1.0, page_size=page_size)
        job = ReportJob(requestor, ACCOUNT, params, policy)
        await job.start()
        await job.wait()
        try:
            return await _measure_async(job, traced)
        finally:
            await requestor.transport.aclose()

    return asyncio.run(main())


def bare_run(url: str, params: dict[str, Any], page_size: int, traced: bool) -> Result:
    """The sandbox's ceiling: a bare httpx2 loop (no pacing, retries or logs), same page size."""
    form = {k: json.dumps(v) if isinstance(v, list | dict) else str(v) for k, v in params.items()}
    with httpx2.Client(base_url=f"{url}/v25.0", params={"access_token": TOKEN}) as client:
        run_id = client.post(f"/{ACCOUNT}/insights", data=form).json()["report_run_id"]
        while client.get(f"/{run_id}").json()["async_status"] != "Job Completed":
            time.sleep(0.1)
        return _measure(lambda: _drain_sync(_bare_rows(client, run_id, page_size)), traced)


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


def _measure(drain: Callable[[], int], traced: bool) -> Result:
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


def measure(run: Callable[[bool], Result]) -> Result:
    """Rows/s from an untraced pass, peak memory from a traced one."""
    timed, traced = run(False), run(True)
    return Result(timed.rows, timed.seconds, traced.peak_bytes)


def main() -> None:
    # The canonical per-request log line is for production; here it would only add noise.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="50000,200000", help="report sizes in rows")
    parser.add_argument("--ads", type=int, default=200, help="ads seeded in the sandbox")
    parser.add_argument("--page-size", type=int, default=5000, help="our results page size")
    args = parser.parse_args()
    with sandbox() as url:
        seed(url, args.ads)
        for size in (int(part) for part in args.sizes.split(",")):
            params = report_params(url, size)
            runs = [
                partial(sdk_run, url, params),
                partial(ours_run, url, params, args.page_size),
                partial(ours_run, url, params, 500),
                partial(bare_run, url, params, args.page_size),
            ]
            _print(size, [measure(run) for run in runs], args.page_size)


def _print(size: int, results: list[Result], page_size: int) -> None:
    mib, sdk = 1024 * 1024, results[0]
    names = [
        "SDK get_result(limit=500)",
        f"ours results(page={page_size})",
        "ours results(page=500)",
        f"bare httpx2 loop (page={page_size})",
    ]
    print(f"report of {sdk.rows:,} rows (asked for about {size:,})")
    print(f"  {'':32} {'rows/s':>10} {'peak MiB':>10} {'rows/s ratio':>13} {'memory ratio':>13}")
    for name, result in zip(names, results, strict=True):
        assert result.rows == sdk.rows, (name, result.rows)
        print(
            f"  {name:32} {result.rate:10,.0f} {result.peak_bytes / mib:10.2f} "
            f"{result.rate / sdk.rate:12.2f}x {result.peak_bytes / sdk.peak_bytes:12.2f}x"
        )
    print("  target: ours >= 3x the SDK's rows/s; peak memory flat in the row count")


if __name__ == "__main__":
    main()
