"""Async report jobs: the pure decisions, then the lifecycle, splitting and streaming on the sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import structlog
from pydantic import SecretStr
from starlette.applications import Starlette

from meta_agent import errors
from meta_agent.graph.guard import UNGUARDED
from meta_agent.graph.models import InsightsRow
from meta_agent.graph.reports import (
    ReportJob,
    ReportPolicy,
    RunStatus,
    child_level,
    date_cut,
    normalise,
    on_failure,
    run_error,
    run_report,
    split_dates,
)
from meta_agent.graph.requestor import Requestor
from meta_agent.graph.settings import GraphSettings
from meta_agent.graph.transport import Transport
from meta_agent.sandbox import ManualClock, Sandbox, SandboxConfig, parse_fault_spec
from tests.conftest import INR_ACCOUNT, TOKEN, LiveServer
from tests.contract.test_insights import seed_tree
from tests.graph.conftest import make_requestor

Row = dict[str, Any]
FAST = ReportPolicy(poll_first=0.5, poll_factor=1.0, page_size=7)
FIELDS = ["ad_id", "adset_id", "campaign_id", "impressions", "spend", "clicks"]
TWO_WEEKS = {"since": "2026-11-01", "until": "2026-11-14"}
ONE_DAY = {"since": "2026-11-10", "until": "2026-11-10"}
LONG = {
    "level": "ad",
    "fields": FIELDS,
    "time_increment": 1,
    "time_range": {"since": "2026-09-19", "until": "2026-11-17"},
}
DAILY_ADS = {"level": "ad", "fields": FIELDS, "time_increment": 1, "time_range": TWO_WEEKS}
D = date.fromisoformat


async def sync_rows(requestor: Requestor, path: str, params: dict[str, Any]) -> list[Row]:
    """Every row of the same query made synchronously (following cursors)."""
    out: list[Row] = []
    query = {**params, "limit": 500}
    while True:
        body = (await requestor.call("GET", f"{path}/insights", query)).body
        out.extend(body["data"])
        if "next" not in body.get("paging", {}):
            return out
        query["after"] = body["paging"]["cursors"]["after"]


async def collect(stream: Any) -> list[Row]:
    """Drain a report stream."""
    return [row async for row in stream]


def ordered(rows: list[Row]) -> list[Row]:
    """Rows in a canonical order, to compare split reports with unsplit ones."""
    return sorted(rows, key=lambda row: (row["ad_id"], row["date_start"]))


# -- pure: statuses, errors, decisions ----------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "percent", "state"),
    [
        ("Job Not Started", 0, "running"),
        ("Job Started", 0, "running"),
        ("Job Running", 40, "running"),
        ("Job Running", 100, "running"),
        ("Job Completed", 99, "running"),
        ("Job Completed", 100, "completed"),
        ("Job Failed", 50, "failed"),
        ("Job Skipped", 0, "failed"),
        ("Something New", 0, "running"),
    ],
)
def test_run_states(status: str, percent: int, state: str) -> None:
    """Only "Job Completed" at 100% is done; 100% while running is not; unknown keeps polling."""
    body = {"async_status": status, "async_percent_completion": percent}
    assert RunStatus.parse("1", body).state == state


def test_failed_run_maps_v25_error_fields_through_the_table() -> None:
    """A v25 failed run's error_code/subcode become the table's class, with Meta's texts and run id."""
    body = {
        "async_status": "Job Failed",
        "error_code": -3,
        "error_subcode": 1504045,
        "error_message": "The report you requested is too large to be processed",
        "error_user_msg": "Split it into shorter date ranges.",
        "date_start": "2026-11-01",
    }
    status = RunStatus.parse("77", body)
    assert isinstance(status.error, errors.TransientError)
    assert (status.error.code, status.error.subcode) == (-3, 1504045)
    assert "77" in status.error.message
    assert "too large" in status.error.message
    assert status.error.user_message == "Split it into shorter date ranges."
    assert status.error.details["report_run_id"] == "77"
    assert status.date_start == D("2026-11-01")


def test_invalid_breakdowns_failure_is_invalid_parameter() -> None:
    """2/1504041 (invalid breakdowns) is a fix-the-query error, not a passing one."""
    error = run_error(
        "1", {"async_status": "Job Failed", "error_code": 2, "error_subcode": 1504041}
    )
    assert isinstance(error, errors.InvalidParameterError)


def test_skipped_run_without_codes_is_transient() -> None:
    """A skipped (or pre-v25 failed) run without error fields is a transient error naming it."""
    error = run_error("5", {"async_status": "Job Skipped"})
    assert isinstance(error, errors.TransientError)
    assert error.details == {"report_run_id": "5", "async_status": "Job Skipped"}


@pytest.mark.parametrize(
    ("error", "failures", "action"),
    [
        (errors.TransientError("x", code=-3, subcode=1504045), 1, "split"),
        (errors.TransientError("x", code=100, subcode=1504018), 1, "split"),
        (errors.TransientError("x", reason="job_timeout"), 1, "split"),
        (errors.TransientError("x", code=-2, subcode=2490547), 1, "rerun"),
        (errors.TransientError("x", code=-2, subcode=2490547), 2, "split"),
        (errors.RateLimitedError("x", code=4, subcode=1504022), 1, "rerun"),
        (errors.ApiError("x"), 1, "rerun"),
        (errors.InvalidParameterError("x", code=2, subcode=1504041), 1, "raise"),
        (errors.InvalidParameterError("x", code=100, subcode=3191001), 1, "raise"),
        (errors.AuthError("x", code=190), 1, "raise"),
    ],
)
def test_on_failure(error: errors.ApiError, failures: int, action: str) -> None:
    """Too large and timeouts split at once; passing failures re-run once, then split; others raise."""
    assert on_failure(error, failures, ReportPolicy(reruns=1)) == action


@pytest.mark.parametrize(
    ("since", "until", "increment", "cut"),
    [
        ("2026-11-01", "2026-11-14", 1, "2026-11-08"),
        ("2026-11-01", "2026-11-02", "1", "2026-11-02"),
        ("2026-11-01", "2026-11-01", 1, None),
        ("2026-11-01", "2026-11-21", 7, "2026-11-08"),
        ("2026-11-01", "2026-11-10", 7, "2026-11-08"),
        ("2026-11-01", "2026-11-07", 7, None),
        ("2026-08-15", "2026-11-14", "monthly", "2026-10-01"),
        ("2026-10-15", "2026-11-14", "monthly", "2026-11-01"),
        ("2026-11-01", "2026-11-14", "monthly", None),
        ("2026-11-01", "2026-11-14", None, None),
        ("2026-11-01", "2026-11-14", "all_days", None),
    ],
)
def test_date_cut(since: str, until: str, increment: object, cut: str | None) -> None:
    """Halves are cut on a bucket boundary; one bucket (or all_days) cannot be cut."""
    expected = D(cut) if cut else None
    assert date_cut(D(since), D(until), increment) == expected


def test_split_dates_pins_a_preset_to_the_run_dates() -> None:
    """A date_preset is replaced by the two explicit halves of the run's dates."""
    params = {"date_preset": "last_14d", "time_increment": 1, "level": "ad"}
    halves = split_dates(params, D("2026-11-01"), D("2026-11-14"))
    assert halves == [
        {
            "time_increment": 1,
            "level": "ad",
            "time_range": {"since": "2026-11-01", "until": "2026-11-07"},
        },
        {
            "time_increment": 1,
            "level": "ad",
            "time_range": {"since": "2026-11-08", "until": "2026-11-14"},
        },
    ]


def test_split_dates_halves_a_time_ranges_list() -> None:
    """time_ranges (one row per range) splits by list; a single range cannot be split."""
    ranges = [TWO_WEEKS, ONE_DAY, TWO_WEEKS]
    halves = split_dates({"time_ranges": ranges}, D("2026-11-01"), D("2026-11-14"))
    assert halves == [{"time_ranges": ranges[:1]}, {"time_ranges": ranges[1:]}]
    assert split_dates({"time_ranges": [ONE_DAY]}, D("2026-11-10"), D("2026-11-10")) is None


@pytest.mark.parametrize(
    ("object_level", "query_level", "child"),
    [
        ("account", "ad", "campaign"),
        ("campaign", "ad", "adset"),
        ("adset", "ad", "ad"),
        ("ad", "ad", None),
        ("account", "campaign", "campaign"),
        ("campaign", "campaign", None),
        ("account", "account", None),
    ],
)
def test_child_level(object_level: Any, query_level: Any, child: str | None) -> None:
    """A level split goes one level down, never below the query's level (rows would change)."""
    assert child_level(object_level, query_level) == child


def test_normalise_turns_comma_lists_into_lists() -> None:
    """fields="a,b" is sent as the JSON list Meta expects; JSON text and lists pass through."""
    params = normalise({"fields": "ad_id, spend", "breakdowns": '["age"]', "level": "ad"})
    assert params == {"fields": ["ad_id", "spend"], "breakdowns": '["age"]', "level": "ad"}


# -- lifecycle ----------------------------------------------------------------------------------


async def test_lifecycle_polls_until_completed_then_streams_pages(
    requestor: Requestor, sandbox: Sandbox
) -> None:
    """Not Started → Started → Running → (100% running) → Completed, then every page is read."""
    seed_tree(sandbox, ads=2)
    with structlog.testing.capture_logs() as logs:
        stream = run_report(requestor, INR_ACCOUNT, DAILY_ADS, policy=FAST)
        rows = await collect(stream)
    polls = [(e["async_status"], e["percent"]) for e in logs if e["event"] == "graph.report.polled"]
    statuses = list(dict.fromkeys(status for status, _ in polls))
    assert statuses == ["Job Not Started", "Job Started", "Job Running", "Job Completed"]
    assert ("Job Running", 100) in polls  # kept polling past 100% until Meta said Completed
    assert len(rows) == 28
    assert (stream.stats.jobs, stream.stats.pages, stream.stats.max_page_rows) == (1, 4, 7)


async def test_results_equal_the_sync_query(requestor: Requestor, sandbox: Sandbox) -> None:
    """The streamed rows are exactly the sync insights rows, in the same order."""
    seed_tree(sandbox, ads=3)
    expected = await sync_rows(requestor, INR_ACCOUNT, DAILY_ADS)
    rows = await collect(run_report(requestor, INR_ACCOUNT, DAILY_ADS, policy=FAST))
    assert rows == expected
    assert len(rows) == 42


async def test_default_backoff_grows(requestor: Requestor, sandbox: Sandbox) -> None:
    """With the default policy a 6 s job is polled at 0, 2, 5 and 9.5 s: four polls."""
    seed_tree(sandbox)
    job = ReportJob(requestor, INR_ACCOUNT, DAILY_ADS)
    await job.start()
    with structlog.testing.capture_logs() as logs:
        status = await job.wait()
    assert status.state == "completed"
    assert sum(e["event"] == "graph.report.polled" for e in logs) == 4


async def test_low_level_job_and_comma_fields(requestor: Requestor, sandbox: Sandbox) -> None:
    """start/wait/results on a campaign with fields as a comma string; reading early is refused."""
    ids = seed_tree(sandbox, ads=2)
    job = ReportJob(requestor, ids["campaign"], {**DAILY_ADS, "fields": "ad_id,spend"}, FAST)
    with pytest.raises(errors.UsageError):
        await job.poll()
    run_id = await job.start()
    assert (await job.poll()).state == "running"
    await job.wait()
    rows = [row async for row in ReportJob.attach(requestor, run_id).results(page_size=10)]
    assert len(rows) == 28
    assert set(rows[0]) == {"ad_id", "spend", "date_start", "date_stop"}


async def test_lost_start_answer_is_sent_again(requestor: Requestor, sandbox: Sandbox) -> None:
    """A start whose connection dropped after the commit is re-sent (a spare run costs nothing)."""
    seed_tree(sandbox)
    sandbox.faults.replace(parse_fault_spec("drop_after_commit:method=POST,nth=1"))
    rows = await collect(run_report(requestor, INR_ACCOUNT, DAILY_ADS, policy=FAST))
    assert len(rows) == 28
    assert len(list(sandbox.state.of_kind("report_run"))) == 2


async def test_too_much_data_halves_the_page_size(
    app: Starlette, clock: ManualClock, sandbox: Sandbox
) -> None:
    """A page that keeps failing with code 1 (reduce the data) is asked for again at half size."""
    seed_tree(sandbox, ads=2)
    requestor = make_requestor(app, clock, max_attempts=2)
    sandbox.faults.replace(parse_fault_spec("unknown:method=GET,path=*/insights,times=2"))
    stream = run_report(requestor, INR_ACCOUNT, DAILY_ADS, policy=replace(FAST, page_size=10))
    assert len(await collect(stream)) == 28
    assert (stream.stats.pages, stream.stats.max_page_rows) == (6, 5)
    await requestor.transport.aclose()


async def test_invalid_query_is_raised_before_any_job(requestor: Requestor) -> None:
    """Meta refusing the query at start is raised as is."""
    with pytest.raises(errors.InvalidParameterError):
        await collect(run_report(requestor, INR_ACCOUNT, {"fields": ["no_such_field"]}))


async def test_model_converts_each_row(requestor: Requestor, sandbox: Sandbox) -> None:
    """model=InsightsRow yields typed rows (ints, Decimals, dates); any callable works too."""
    seed_tree(sandbox)
    typed = [
        row
        async for row in run_report(
            requestor, INR_ACCOUNT, DAILY_ADS, policy=FAST, model=InsightsRow
        )
    ]
    assert len(typed) == 28
    assert isinstance(typed[0].impressions, int)
    assert isinstance(typed[0].spend, Decimal)
    assert typed[0].date_start == D("2026-11-01")
    ids = run_report(requestor, INR_ACCOUNT, DAILY_ADS, policy=FAST, model=lambda r: r["ad_id"])
    assert len(set(await collect(ids))) == 2


class TestOverLoopback:
    """The same lifecycle over a real socket, on the system clock (jobs take 0.3 s)."""

    @pytest.fixture
    def config(self) -> SandboxConfig:
        return SandboxConfig(report_run_seconds=0.3)

    async def test_report_over_loopback(self, live: LiveServer, live_app: Starlette) -> None:
        """Start, poll (really sleeping), stream: rows equal the sync query over HTTP."""
        seed_tree(live_app.state.sandbox, ads=2)
        settings = GraphSettings(base_url=live.url, version="v25.0", access_token=SecretStr(TOKEN))
        requestor = Requestor(settings, Transport(live.url), guard=UNGUARDED)
        params = {
            **{k: v for k, v in DAILY_ADS.items() if k != "time_range"},
            "date_preset": "last_7d",
        }
        try:
            expected = await sync_rows(requestor, INR_ACCOUNT, params)
            policy = ReportPolicy(poll_first=0.05, poll_factor=1.0, page_size=5)
            stream = run_report(requestor, INR_ACCOUNT, params, policy=policy)
            assert await collect(stream) == expected
        finally:
            await requestor.transport.aclose()
        assert len(expected) == 14
        assert stream.stats.pages == 3


# -- bounded memory -----------------------------------------------------------------------------


async def test_large_report_streams_one_page_at_a_time(
    requestor: Requestor, sandbox: Sandbox
) -> None:
    """240 rows counted without a list: 12 pages of 20, and the largest page held is 20 rows."""
    seed_tree(sandbox, ads=4, age_days=61)
    stream = run_report(requestor, INR_ACCOUNT, LONG, policy=replace(FAST, page_size=20))
    count = 0
    async for _ in stream:
        count += 1
    assert count == 240
    assert (stream.stats.pages, stream.stats.max_page_rows) == (12, 20)


RESULT_PAGES = "GET {report_run}/insights"


async def completed_job(requestor: Requestor, policy: ReportPolicy) -> ReportJob:
    """A started and completed job over 240 daily rows (4 ads, 60 days)."""
    job = ReportJob(requestor, INR_ACCOUNT, LONG, policy)
    await job.start()
    await job.wait()
    return job


async def test_read_ahead_holds_at_most_one_extra_page(
    requestor: Requestor, sandbox: Sandbox
) -> None:
    """While page k is consumed at most page k+1 has been asked for, never k+2."""
    seed_tree(sandbox, ads=4, age_days=61)
    job = await completed_job(requestor, replace(FAST, read_ahead=True))
    ahead: list[int] = []
    async for index, _ in aenumerate(job.results(page_size=20)):
        ahead.append(sandbox.counters.by_route[RESULT_PAGES] - (index // 20 + 1))
    assert len(ahead) == 240
    assert max(ahead) <= 1


async def test_without_read_ahead_one_page_at_a_time(
    requestor: Requestor, sandbox: Sandbox
) -> None:
    """By default (read_ahead off) page k+1 is asked for only after page k's last row was taken."""
    seed_tree(sandbox, ads=4, age_days=61)
    job = await completed_job(requestor, FAST)
    fetched = [sandbox.counters.by_route[RESULT_PAGES] async for _ in job.results(page_size=20)]
    assert fetched == [index // 20 + 1 for index in range(240)]


async def test_error_on_the_page_read_ahead_comes_after_the_page_before(
    requestor: Requestor, sandbox: Sandbox
) -> None:
    """A refused second page is raised after the first page's 20 rows, not while reading them."""
    seed_tree(sandbox, ads=4, age_days=61)
    job = await completed_job(requestor, replace(FAST, read_ahead=True))
    sandbox.faults.replace(
        parse_fault_spec("graph_error:code=100,method=GET,path=*/insights,nth=2")
    )
    rows: list[Row] = []
    with pytest.raises(errors.InvalidParameterError):
        await drain_into(rows, job.results(page_size=20))
    assert len(rows) == 20


async def drain_into(rows: list[Row], items: AsyncIterator[Row]) -> None:
    """Append every row of ``items`` to ``rows`` (what was taken survives an error)."""
    async for row in items:
        rows.append(row)


async def aenumerate(items: Any) -> Any:
    """``enumerate`` for an async iterator."""
    index = 0
    async for item in items:
        yield index, item
        index += 1


# -- failure and splitting ----------------------------------------------------------------------


class TestSplitting:
    """Jobs above 20 rows fail with -3/1504045, as Meta fails reports that are too large."""

    @pytest.fixture
    def config(self) -> SandboxConfig:
        return SandboxConfig(report_max_rows=20)

    async def test_too_large_job_is_split_by_date(
        self, requestor: Requestor, sandbox: Sandbox
    ) -> None:
        """28 rows fail; the two 14-row halves succeed; rows equal the sync query's, oldest half first."""
        seed_tree(sandbox, ads=2)
        expected = await sync_rows(requestor, INR_ACCOUNT, DAILY_ADS)
        stream = run_report(requestor, INR_ACCOUNT, DAILY_ADS, policy=FAST)
        rows = await collect(stream)
        assert ordered(rows) == ordered(expected)
        assert max(row["date_start"] for row in rows[:14]) < min(r["date_start"] for r in rows[14:])
        assert (stream.stats.jobs, stream.stats.splits, stream.stats.reruns) == (3, 1, 0)

    async def test_single_day_is_split_by_level(
        self, requestor: Requestor, sandbox: Sandbox
    ) -> None:
        """One day cannot be halved: the account job becomes one job per campaign."""
        trees = [seed_tree(sandbox, ads=10) for _ in range(3)]
        params = {**DAILY_ADS, "time_range": ONE_DAY}
        expected = await sync_rows(requestor, INR_ACCOUNT, params)
        stream = run_report(requestor, INR_ACCOUNT, params, policy=FAST)
        rows = await collect(stream)
        assert ordered(rows) == ordered(expected)
        assert [row["campaign_id"] for row in rows] == [
            t["campaign"] for t in trees for _ in range(10)
        ]
        assert (stream.stats.jobs, stream.stats.splits) == (4, 1)

    async def test_date_then_level_splits_compose(
        self, requestor: Requestor, sandbox: Sandbox
    ) -> None:
        """Two days x 2 campaigns x 15 ads: halved by date, then each day split per campaign."""
        seed_tree(sandbox, ads=15)
        seed_tree(sandbox, ads=15)
        params = {**DAILY_ADS, "time_range": {"since": "2026-11-10", "until": "2026-11-11"}}
        expected = await sync_rows(requestor, INR_ACCOUNT, params)
        stream = run_report(requestor, INR_ACCOUNT, params, policy=FAST)
        assert ordered(await collect(stream)) == ordered(expected)
        assert (stream.stats.jobs, stream.stats.splits) == (1 + 2 + 4, 3)


class TestSplittingToTheAd:
    """Jobs above one row fail: an account job is split down to single ads."""

    @pytest.fixture
    def config(self) -> SandboxConfig:
        return SandboxConfig(report_max_rows=1)

    async def test_split_goes_down_every_level(
        self, requestor: Requestor, sandbox: Sandbox
    ) -> None:
        """account → campaign → ad set → ads, each level failing until one row per job."""
        ids = seed_tree(sandbox, ads=2)
        params = {**DAILY_ADS, "time_range": ONE_DAY}
        stream = run_report(requestor, INR_ACCOUNT, params, policy=FAST)
        rows = await collect(stream)
        assert [row["ad_id"] for row in rows] == ids["ads"]
        assert (stream.stats.jobs, stream.stats.splits) == (5, 3)

    async def test_campaign_needs_object_level_to_split(
        self, requestor: Requestor, sandbox: Sandbox
    ) -> None:
        """A campaign id splits by level only when told it is a campaign."""
        ids = seed_tree(sandbox, ads=2)
        params = {**DAILY_ADS, "time_range": ONE_DAY}
        with pytest.raises(errors.TransientError):
            await collect(run_report(requestor, ids["campaign"], params, policy=FAST))
        stream = run_report(
            requestor, ids["campaign"], params, object_level="campaign", policy=FAST
        )
        assert len(await collect(stream)) == 2


class TestCannotSplit:
    """Every job fails as too large."""

    @pytest.fixture
    def config(self) -> SandboxConfig:
        return SandboxConfig(report_max_rows=0)

    async def test_single_ad_single_day_raises_too_large(
        self, requestor: Requestor, sandbox: Sandbox
    ) -> None:
        """When nothing is left to split, Meta's -3/1504045 is raised with its user message."""
        seed_tree(sandbox, ads=1)
        stream = run_report(
            requestor, INR_ACCOUNT, {**DAILY_ADS, "time_range": ONE_DAY}, policy=FAST
        )
        with pytest.raises(errors.TransientError) as caught:
            await collect(stream)
        assert (caught.value.code, caught.value.subcode) == (-3, 1504045)
        assert "Split it" in caught.value.user_message
        assert stream.stats.jobs == 4

    async def test_account_level_rows_are_never_split_by_campaign(
        self, requestor: Requestor, sandbox: Sandbox
    ) -> None:
        """level=account over one bucket cannot be split without changing its rows: raised at once."""
        seed_tree(sandbox)
        stream = run_report(requestor, INR_ACCOUNT, {"time_range": TWO_WEEKS}, policy=FAST)
        with pytest.raises(errors.TransientError):
            await collect(stream)
        assert stream.stats.jobs == 1

    async def test_job_cap_stops_splitting(self, requestor: Requestor, sandbox: Sandbox) -> None:
        """max_jobs bounds the work: the last failure is raised with reason max_jobs."""
        seed_tree(sandbox, ads=2)
        stream = run_report(requestor, INR_ACCOUNT, DAILY_ADS, policy=replace(FAST, max_jobs=5))
        with pytest.raises(errors.TransientError) as caught:
            await collect(stream)
        assert caught.value.details["reason"] == "max_jobs"
        assert caught.value.subcode == 1504045
        assert stream.stats.jobs == 5


class TestJobTimeout:
    """Jobs take 10,000 sandbox seconds."""

    @pytest.fixture
    def config(self) -> SandboxConfig:
        return SandboxConfig(report_run_seconds=10_000)

    async def test_wait_gives_up_at_the_job_timeout(
        self, requestor: Requestor, sandbox: Sandbox, clock: ManualClock
    ) -> None:
        """wait() polls until the deadline, then raises a transient job_timeout error."""
        seed_tree(sandbox)
        job = ReportJob(requestor, INR_ACCOUNT, DAILY_ADS, ReportPolicy(job_timeout=120))
        await job.start()
        started = clock.now()
        with pytest.raises(errors.TransientError) as caught:
            await job.wait()
        assert caught.value.details["reason"] == "job_timeout"
        assert caught.value.details["report_run_id"] == job.run_id
        assert clock.now() - started == 120  # the last poll lands on the deadline

    async def test_timed_out_job_is_split(self, requestor: Requestor, sandbox: Sandbox) -> None:
        """A timeout splits the job at once (by date here); the halves time out too, until the cap."""
        seed_tree(sandbox)
        policy = ReportPolicy(job_timeout=60, max_jobs=3)
        stream = run_report(requestor, INR_ACCOUNT, DAILY_ADS, policy=policy)
        with pytest.raises(errors.TransientError) as caught:
            await collect(stream)
        assert caught.value.details["reason"] == "max_jobs"
        assert (stream.stats.jobs, stream.stats.splits, stream.stats.reruns) == (3, 3, 0)
