"""One async insights report run (reference §9.2): start, poll with backoff, stream the rows.

::

    ReportJob
      start()    POST /{object}/insights          → report_run_id
      wait()     GET /{report_run_id}, backing off until "Job Completed" (and 100%)
      results()  GET /{report_run_id}/insights     page by page (pages(): whole pages)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import structlog

from meta_agent.errors import ApiError, OutcomeUnknownError, TransientError, UsageError
from meta_agent.graph.pagination import read_ahead
from meta_agent.graph.report_plan import (
    ReportPolicy,
    ReportStats,
    Row,
    RunStatus,
    job_timeout,
    normalise,
)
from meta_agent.graph.requestor import CallOptions, GraphResponse, Requestor

log = structlog.get_logger("meta_agent.graph.reports")


class ReportJob:
    """One async report run: :meth:`start`, :meth:`wait` (or :meth:`poll`), :meth:`results`."""

    def __init__(
        self,
        requestor: Requestor,
        object_id: str,
        params: Mapping[str, Any],
        policy: ReportPolicy | None = None,
    ) -> None:
        self.requestor = requestor
        self.object_id = object_id
        self.params = normalise(params)
        self.policy = policy or ReportPolicy()
        self.run_id: str | None = None
        self.status: RunStatus | None = None

    @classmethod
    def attach(
        cls, requestor: Requestor, run_id: str, policy: ReportPolicy | None = None
    ) -> ReportJob:
        """A job for a report run started elsewhere (to poll or read it)."""
        job = cls(requestor, "", {}, policy)
        job.run_id = run_id
        return job

    async def start(self) -> str:
        """Start the run: ``POST /{object}/insights``; returns the ``report_run_id``.

        A start whose answer was lost is sent again: a duplicate run costs nothing.

        Raises:
            ApiError: Meta refused the query (invalid parameter, permission, ...).
        """
        path = f"{self.object_id}/insights"
        try:
            response = await self.requestor.call("POST", path, self.params)
        except OutcomeUnknownError:
            response = await self.requestor.call("POST", path, self.params)
        self.run_id = str(response.body["report_run_id"])
        self.status = None
        log.info("graph.report.started", report_run_id=self.run_id)
        return self.run_id

    async def poll(self) -> RunStatus:
        """Read the run's status once: ``GET /{report_run_id}``.

        Raises:
            ApiError: the poll itself failed after the requestor's retries.
            UsageError: the job was not started.
        """
        run_id = self._require_run()
        response = await self._get(run_id, {})
        self.status = RunStatus.parse(run_id, response.body)
        log.info(
            "graph.report.polled",
            report_run_id=run_id,
            async_status=self.status.status,
            percent=self.status.percent,
        )
        return self.status

    async def settle(self) -> ApiError | None:
        """Poll with backoff until the run completes (None) or fails or times out (its error)."""
        policy, now = self.policy, self.requestor.now
        deadline, interval = now() + policy.job_timeout, policy.poll_first
        while True:
            status = await self.poll()
            if status.state == "completed":
                return None
            if status.state == "failed":
                return status.error
            if now() >= deadline:
                return job_timeout(status, policy.job_timeout)
            await self.requestor.sleep(min(interval, deadline - now()))
            interval = min(policy.poll_max, interval * policy.poll_factor)

    async def wait(self) -> RunStatus:
        """Poll until "Job Completed"; returns the final status.

        Raises:
            ApiError: the run failed or was skipped (Meta's error through the error table, with
                ``report_run_id``), or :class:`TransientError` with ``reason="job_timeout"``.
        """
        error = await self.settle()
        if error is not None:
            raise error
        assert self.status is not None
        return self.status

    async def results(
        self, page_size: int | None = None, stats: ReportStats | None = None
    ) -> AsyncIterator[Row]:
        """Every row of a completed run, page by page, with bounded memory.

        With ``policy.read_ahead`` (off by default: see ReportPolicy) page k+1 is fetched
        while the caller consumes page k (:func:`~meta_agent.graph.pagination.read_ahead`:
        two pages held at most, an error on page k+1 raised after page k's last row);
        otherwise one page at a time.
        When Meta answers a page with code 1 (too much data) even after the requestor's
        retries, the page size is halved and the same page asked for again.

        Raises:
            ApiError: a page could not be read after the requestor's retries.
            UsageError: the job was not started.
        """
        pages = self.pages(page_size, stats)
        if self.policy.read_ahead:
            async for row in read_ahead(pages):
                yield row
            return
        async for page in pages:
            for row in page:
                yield row
            del page  # released before the next page is fetched: one page held at a time

    async def pages(
        self, page_size: int | None = None, stats: ReportStats | None = None
    ) -> AsyncIterator[list[Row]]:
        """The run's pages in order, following the ``after`` cursor, one fetched at a time.

        Raises:
            ApiError: a page could not be read after the requestor's retries.
            UsageError: the job was not started.
        """
        run_id, stats = self._require_run(), stats or ReportStats()
        params: dict[str, Any] = {"limit": page_size or self.policy.page_size}
        while True:
            page, after, params = await self._next_page(run_id, params)
            stats.page(len(page))
            yield page
            del page  # the caller holds it as long as it needs it; we must not while fetching
            if after is None:
                return
            params = {**params, "after": after}

    async def _next_page(
        self, run_id: str, params: dict[str, Any]
    ) -> tuple[list[Row], str | None, dict[str, Any]]:
        """One page and the cursor after it; code 1 ("reduce the amount of data") halves ``limit``."""
        while True:
            try:
                body = (await self._get(f"{run_id}/insights", params)).body
            except TransientError as error:
                limit = int(params["limit"])
                if error.code != 1 or limit <= 1:
                    raise
                params = {**params, "limit": limit // 2}
                log.info("graph.report.page_shrunk", report_run_id=run_id, limit=limit // 2)
                continue
            return body.get("data") or [], next_cursor(body), params

    async def _get(self, path: str, params: dict[str, Any]) -> GraphResponse:
        account = self.status.account_id if self.status else None
        return await self.requestor.call("GET", path, params, options=CallOptions(account=account))

    def _require_run(self) -> str:
        if self.run_id is None:
            raise UsageError("start() the report job before polling or reading it")
        return self.run_id


def next_cursor(body: Mapping[str, Any]) -> str | None:
    """The ``after`` cursor of a page that has a next one, else None."""
    paging = body.get("paging") or {}
    if not paging.get("next"):
        return None
    after = (paging.get("cursors") or {}).get("after")
    return str(after) if after else None
