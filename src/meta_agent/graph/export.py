"""One insights query over many ad accounts, streamed: the export primitive (reference §9.2).

::

    export_insights(requestor, ["act_1", "act_2", ...], since=..., until=..., level="ad",
                    fields=[...], breakdowns=[...])        → InsightsExport
      async for row in export: ...                          rows of every account, as they come
      async for page in export.pages(): ...                 ExportPage(account_id, rows)
      export.stats["act_1"]                                  jobs, splits, pages, rows per account

Each account's report is an async report run (:func:`~meta_agent.graph.reports.run_report`:
started, polled, read by cursor, split by dates then by level when Meta refuses it or it
fails or times out). Up to ``concurrency`` accounts run at once (their jobs start and are
polled side by side: the waits overlap), and up to ``readers`` results pages are in flight
across them; within an account the parts run one after another, so one account never has
more than one job of this export running. Every request goes through the requestor, whose
pacer keeps each account under its own rate-limit budget (and the app under its own), so
running accounts side by side stays within every account's limits.

Memory is flat in the number of rows: a page is fetched and held under a reader slot until
it is on a queue of ``buffer_pages``, which waits when full, so at most ``readers +
buffer_pages + 1`` pages are held at any time (the one the caller is on included), whatever
the date range or the number of accounts. The readers are the read-ahead: pages of other
accounts (or the next of the same) are fetched while the caller consumes the ones before,
so :class:`~meta_agent.graph.reports.ReportStream` reads no extra page of its own here.

Order: within one account, rows come in :func:`run_report`'s stable order; pages of
different accounts interleave as they arrive (each page names its account).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import structlog

from meta_agent.errors import RequestValidationError
from meta_agent.graph.report_plan import Level, ReportPolicy, ReportStats, Row
from meta_agent.graph.reports import run_report
from meta_agent.graph.requestor import Requestor

log = structlog.get_logger("meta_agent.graph.export")

DEFAULT_CONCURRENCY = 10
DEFAULT_READERS = 16
DEFAULT_BUFFER_PAGES = 2
# Pages of 1000 rows (half the round trips of Meta's documented 500), 16 in flight: what
# bench/insights_scale.py measured best at 300 ms a page (144k rows: 9.4 s with 16 readers,
# 11.4 s with 8), while the 19 pages held at most stay a few tens of MiB whatever the rows.
EXPORT_POLICY = ReportPolicy(page_size=1000, read_ahead=False)


@dataclass(frozen=True)
class ExportPage:
    """One results page of one account's report."""

    account_id: str
    rows: list[Row]


@dataclass(frozen=True)
class _Done:
    """An account's producer has finished (``error`` set when it failed)."""

    account_id: str
    error: BaseException | None = None


class InsightsExport:
    """The rows of one query over many accounts: ``async for row in export`` or ``pages()``.

    Nothing runs until iteration starts; each iteration runs the export again. Leaving the
    loop early (``break``, an exception, ``aclose()``) cancels every account still running.
    The first account that fails ends the export with its error, after the pages already
    delivered; the others are cancelled.
    """

    def __init__(
        self,
        requestor: Requestor,
        accounts: Sequence[str],
        params: Mapping[str, Any],
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        readers: int = DEFAULT_READERS,
        buffer_pages: int = DEFAULT_BUFFER_PAGES,
        policy: ReportPolicy = EXPORT_POLICY,
    ) -> None:
        self.requestor = requestor
        self.accounts = list(dict.fromkeys(accounts))
        self.params = dict(params)
        self.concurrency = concurrency
        self.readers = readers
        self.buffer_pages = buffer_pages
        self.policy = policy
        self.stats: dict[str, ReportStats] = {}

    def __aiter__(self) -> AsyncIterator[Row]:
        return self._rows()

    async def _rows(self) -> AsyncIterator[Row]:
        async for page in self.pages():
            for row in page.rows:
                yield row

    async def pages(self) -> AsyncIterator[ExportPage]:
        """Every account's pages, as they arrive.

        Raises:
            ApiError: an account's report failed and could not be split further (the first
                such failure; accounts still running are cancelled).
        """
        queue: asyncio.Queue[ExportPage | _Done] = asyncio.Queue(maxsize=self.buffer_pages)
        limits = _Limits(asyncio.Semaphore(self.concurrency), asyncio.Semaphore(self.readers))
        producers = [
            asyncio.create_task(self._produce(account, queue, limits)) for account in self.accounts
        ]
        try:
            running = len(producers)
            while running:
                item = await queue.get()
                if isinstance(item, ExportPage):
                    yield item
                    continue
                running -= 1
                if item.error is not None:
                    raise item.error
        finally:
            for producer in producers:
                producer.cancel()
            await asyncio.gather(*producers, return_exceptions=True)

    async def _produce(
        self, account: str, queue: asyncio.Queue[ExportPage | _Done], limits: _Limits
    ) -> None:
        """Run one account's report under an account slot, putting its pages on ``queue``."""
        try:
            async with limits.accounts:
                stream = run_report(self.requestor, account, self.params, policy=self.policy)
                self.stats[account] = stream.stats
                async for job in stream.jobs():
                    pages = job.pages(self.policy.page_size, stream.stats)
                    await _read(account, pages, queue, limits.readers)
                log.info(
                    "graph.export.account_done",
                    account_id=account,
                    jobs=stream.stats.jobs,
                    splits=stream.stats.splits,
                    rows=stream.stats.rows,
                )
        except Exception as error:  # handed to the consumer, who raises it after its pages
            await queue.put(_Done(account, error))
            return
        await queue.put(_Done(account))


@dataclass(frozen=True)
class _Limits:
    accounts: asyncio.Semaphore  # accounts whose report is running
    readers: asyncio.Semaphore  # results pages fetched and not yet on the queue


async def _read(
    account: str,
    pages: AsyncIterator[list[Row]],
    queue: asyncio.Queue[ExportPage | _Done],
    readers: asyncio.Semaphore,
) -> None:
    """Put a job's pages on ``queue``, each fetched and held under a reader slot."""
    while True:
        async with readers:
            rows = await anext(pages, None)
            if rows is None:
                return
            await queue.put(ExportPage(account, rows))


def export_insights(
    requestor: Requestor,
    accounts: Iterable[str],
    *,
    since: date,
    until: date,
    level: Level,
    fields: Sequence[str],
    breakdowns: Sequence[str] = (),
    time_increment: int | str | None = 1,
    extra: Mapping[str, Any] | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    readers: int = DEFAULT_READERS,
    buffer_pages: int = DEFAULT_BUFFER_PAGES,
    policy: ReportPolicy = EXPORT_POLICY,
) -> InsightsExport:
    """Every insights row of ``accounts`` from ``since`` to ``until`` (both included).

    ``time_increment`` is 1 (daily rows) by default; None asks for one row per object over
    the whole range. ``extra`` adds any other insights parameter (``filtering``,
    ``action_attribution_windows``, ...). ``concurrency`` caps the accounts running at once,
    ``readers`` the results pages in flight and ``buffer_pages`` those waiting for the caller.

    Raises:
        RequestValidationError: no accounts, an id that is not ``act_<digits>``, reversed dates, or a
            limit below 1 (raised here, before anything is sent).
    """
    ids = list(accounts)
    _check(
        ids,
        since,
        until,
        {"concurrency": concurrency, "readers": readers, "buffer_pages": buffer_pages},
    )
    params: dict[str, Any] = {
        **(extra or {}),
        "level": level,
        "fields": list(fields),
        "time_range": {"since": since.isoformat(), "until": until.isoformat()},
    }
    if breakdowns:
        params["breakdowns"] = list(breakdowns)
    if time_increment is not None:
        params["time_increment"] = time_increment
    return InsightsExport(
        requestor,
        ids,
        params,
        concurrency=concurrency,
        readers=readers,
        buffer_pages=buffer_pages,
        policy=policy,
    )


def _check(accounts: Sequence[str], since: date, until: date, limits: Mapping[str, int]) -> None:
    if not accounts:
        raise RequestValidationError(
            "give at least one ad account id, e.g. ['act_1234567890']", field="accounts"
        )
    for account in accounts:
        if not (account.startswith("act_") and account[4:].isdigit()):
            raise RequestValidationError(
                f"'{account}' is not an ad account id; use 'act_<digits>'", field="accounts"
            )
    if until < since:
        raise RequestValidationError(
            f"until ({until}) is before since ({since}); swap them", field="until"
        )
    for name, value in limits.items():
        if value < 1:
            raise RequestValidationError(f"{name} is {value}; give 1 or more", field=name)
