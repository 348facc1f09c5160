"""The multi-account insights export, through the real client stack into the sandbox."""

from __future__ import annotations

import asyncio
import inspect
import itertools
from collections import defaultdict
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from meta_agent import errors
from meta_agent.graph.export import EXPORT_POLICY, ExportPage, InsightsExport, export_insights
from meta_agent.graph.requestor import Requestor
from meta_agent.sandbox import ManualClock, Sandbox, SandboxConfig, parse_fault_spec
from meta_agent.sandbox.state import seed_account_id
from tests.contract.test_insights import seed_tree

ACCOUNTS = [f"act_{seed_account_id(k)}" for k in range(1, 5)]
FIELDS = ["account_id", "campaign_id", "ad_id", "impressions", "spend"]
SINCE, UNTIL = date(2026, 11, 1), date(2026, 11, 14)
POLICY = replace(EXPORT_POLICY, poll_first=0.5, poll_factor=1.0, page_size=10)


class YieldingClock(ManualClock):
    """A manual clock whose sleep also lets other tasks run, as a real sleep does.

    In process every request completes without suspending, so with a clock that only
    advances, one account's task would poll and read to the end before the next one
    started: the overlap the export creates over a network would never show.
    """

    async def sleep(self, seconds: float) -> None:
        self.advance(max(seconds, 0.0))
        await asyncio.sleep(0)


@pytest.fixture
def clock() -> ManualClock:
    return YieldingClock()


@pytest.fixture
def config() -> SandboxConfig:
    return SandboxConfig(accounts=4, report_run_seconds=6.0)


def seed(sandbox: Sandbox, ads: int = 3) -> None:
    """Two campaigns of ``ads`` ads in every account, delivering for the whole range."""
    for account in ACCOUNTS:
        for _ in range(2):
            seed_tree(sandbox, ads=ads, account=account, age_days=60)


def export(requestor: Requestor, **options: Any) -> InsightsExport:
    """Daily ad rows of every account over two weeks."""
    settings: dict[str, Any] = {"policy": POLICY, **options}
    return export_insights(
        requestor, ACCOUNTS, since=SINCE, until=UNTIL, level="ad", fields=FIELDS, **settings
    )


async def account_totals(requestor: Requestor, account: str) -> Decimal:
    """The account's spend over the range from one sync account-level query."""
    query = {
        "level": "account",
        "fields": ["spend"],
        "time_range": {"since": SINCE.isoformat(), "until": UNTIL.isoformat()},
    }
    body = (await requestor.call("GET", f"{account}/insights", query)).body
    return sum((Decimal(row["spend"]) for row in body["data"]), Decimal(0))


async def test_export_rows_equal_the_sandbox_rows(requestor: Requestor, sandbox: Sandbox) -> None:
    """Every account's daily ad rows, and their spend sums to each account's total."""
    seed(sandbox)
    spend: dict[str, Decimal] = defaultdict(Decimal)
    rows = 0
    run = export(requestor)
    async for row in run:
        spend[f"act_{row['account_id']}"] += Decimal(row["spend"])
        rows += 1
    assert rows == len(ACCOUNTS) * 6 * 14
    for account in ACCOUNTS:
        assert spend[account] > 0
        assert spend[account] == await account_totals(requestor, account)
        assert run.stats[account].rows == 6 * 14


async def test_accounts_run_their_jobs_concurrently(
    requestor: Requestor, sandbox: Sandbox, config: SandboxConfig
) -> None:
    """Every account's report run is started before the first one has completed."""
    seed(sandbox)
    pages = [page async for page in export(requestor).pages()]
    runs = list(sandbox.state.of_kind("report_run"))
    started = sorted(float(run["created_time"]) for run in runs)
    assert len(runs) == len(ACCOUNTS)
    assert started[-1] < started[0] + config.report_run_seconds  # all four overlapped
    assert {page.account_id for page in pages} == set(ACCOUNTS)


async def test_concurrency_caps_the_accounts_running(
    requestor: Requestor, sandbox: Sandbox, config: SandboxConfig
) -> None:
    """concurrency=1 runs the accounts one after another: no two runs overlap."""
    seed(sandbox)
    assert len([page async for page in export(requestor, concurrency=1).pages()]) > 0
    started = sorted(float(run["created_time"]) for run in sandbox.state.of_kind("report_run"))
    gaps = [later - earlier for earlier, later in itertools.pairwise(started)]
    assert min(gaps) >= config.report_run_seconds


async def test_refused_start_is_split_by_dates(requestor: Requestor, sandbox: Sandbox) -> None:
    """Meta times out one account's start (100/1504018): its range runs as two halves."""
    seed(sandbox)
    refused = ACCOUNTS[2]
    sandbox.faults.replace(
        parse_fault_spec(
            f"graph_error:code=100,subcode=1504018,method=POST,path={refused}/insights,nth=1"
        )
    )
    run = export(requestor)
    rows = [row async for row in run]
    assert len(rows) == len(ACCOUNTS) * 6 * 14
    assert (run.stats[refused].jobs, run.stats[refused].splits) == (3, 1)
    assert all(run.stats[account].jobs == 1 for account in ACCOUNTS if account != refused)
    theirs = [row for row in rows if f"act_{row['account_id']}" == refused]
    spend = sum((Decimal(row["spend"]) for row in theirs), Decimal(0))
    assert spend == await account_totals(requestor, refused)


class TestTooLarge:
    """Jobs above 50 rows fail with -3/1504045: every account's job is split."""

    @pytest.fixture
    def config(self) -> SandboxConfig:
        return SandboxConfig(accounts=4, report_max_rows=50)

    async def test_failed_jobs_split_and_rows_stay_exact(
        self, requestor: Requestor, sandbox: Sandbox
    ) -> None:
        """84 rows per account fail; the 42-row halves run; sums match the account totals."""
        seed(sandbox)
        run = export(requestor)
        spend: dict[str, Decimal] = defaultdict(Decimal)
        async for row in run:
            spend[f"act_{row['account_id']}"] += Decimal(row["spend"])
        for account in ACCOUNTS:
            assert (run.stats[account].jobs, run.stats[account].splits) == (3, 1)
            assert spend[account] == await account_totals(requestor, account)


async def test_a_failing_account_ends_the_export_with_its_error(
    requestor: Requestor, sandbox: Sandbox
) -> None:
    """A refusal that is the caller's to fix is raised, and the other accounts are cancelled."""
    seed(sandbox)
    sandbox.faults.replace(
        parse_fault_spec(f"graph_error:code=100,method=POST,path={ACCOUNTS[1]}/insights")
    )
    with pytest.raises(errors.InvalidParameterError):
        async for _ in export(requestor):
            pass


async def test_export_streams_pages_with_bounded_buffers(
    requestor: Requestor, sandbox: Sandbox
) -> None:
    """An async iterator of pages no larger than the page size; nothing is materialised."""
    seed(sandbox)
    run = export(requestor, buffer_pages=2)
    assert inspect.isasyncgen(run.pages())
    assert inspect.isasyncgen(aiter(run))
    assert not hasattr(run, "__len__")
    assert not hasattr(run, "rows")
    sizes = [len(page.rows) async for page in run.pages()]
    assert max(sizes) <= POLICY.page_size
    assert sum(sizes) == len(ACCOUNTS) * 6 * 14
    assert all(stats.max_page_rows <= POLICY.page_size for stats in run.stats.values())


async def test_pages_held_never_exceed_readers_plus_buffer(
    requestor: Requestor, sandbox: Sandbox
) -> None:
    """Pages fetched but not yet taken by the caller stay within readers + buffer_pages."""
    seed(sandbox)
    held: list[int] = []
    taken = 0
    async for _ in export(requestor, readers=2, buffer_pages=1).pages():
        taken += 1
        held.append(sandbox.counters.by_route["GET {report_run}/insights"] - taken)
    assert taken == len(ACCOUNTS) * 9  # 84 rows an account in pages of 10
    assert max(held) <= 2 + 1


async def test_leaving_early_cancels_the_accounts_still_running(
    requestor: Requestor, sandbox: Sandbox
) -> None:
    """Closing after the first page stops the export: no more report runs start."""
    seed(sandbox)
    pages = export(requestor, concurrency=1).pages()
    first = await anext(pages)
    await pages.aclose()
    assert isinstance(first, ExportPage)
    assert len(list(sandbox.state.of_kind("report_run"))) == 1


@pytest.mark.parametrize(
    ("accounts", "since", "until", "options", "field"),
    [
        ([], SINCE, UNTIL, {}, "accounts"),
        (["1234567890"], SINCE, UNTIL, {}, "accounts"),
        (ACCOUNTS, UNTIL, SINCE, {}, "until"),
        (ACCOUNTS, SINCE, UNTIL, {"concurrency": 0}, "concurrency"),
    ],
)
def test_bad_arguments_name_the_field(
    requestor: Requestor,
    accounts: list[str],
    since: date,
    until: date,
    options: dict[str, Any],
    field: str,
) -> None:
    """Refused before anything is sent, naming the argument."""
    with pytest.raises(errors.RequestValidationError) as raised:
        export_insights(
            requestor, accounts, since=since, until=until, level="ad", fields=FIELDS, **options
        )
    assert raised.value.field == field
