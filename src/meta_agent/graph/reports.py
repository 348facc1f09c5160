"""Async insights report jobs (reference §9.2): start, poll, stream, and split what fails.

::

    run_report(requestor, "act_1", params)       every row of the report, in a stable order
      └── parts: the whole query first; a part that fails too large (or times out) is split
          ├── by date range: two halves cut on a bucket boundary, so rows stay the same
          └── by level: one part per child object (account → campaigns → ad sets → ads)
    ReportJob                                    one report run
      start()    POST /{object}/insights          → report_run_id
      wait()     GET /{report_run_id}, backing off until "Job Completed" (and 100%)
      results()  GET /{report_run_id}/insights     page by page (pages(): whole pages)

The pure parts (:class:`RunStatus`, :func:`run_error`, :func:`on_failure`, :func:`date_cut`,
:func:`split_dates`, :func:`child_level`) carry the decisions and are tested without HTTP;
they live in :mod:`~meta_agent.graph.report_plan`, one job in
:mod:`~meta_agent.graph.report_job`, and every name stays importable from here.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Generic, TypeVar, overload

import structlog
from pydantic import BaseModel

from meta_agent.errors import ApiError, TransientError
from meta_agent.graph.report_job import ReportJob, next_cursor
from meta_agent.graph.report_plan import (
    FAILED,
    LEVELS,
    LIST_PARAMS,
    QUERY_TIMED_OUT,
    TOO_LARGE,
    Action,
    Level,
    ReportPolicy,
    ReportStats,
    Row,
    RunStatus,
    State,
    child_level,
    date_cut,
    job_timeout,
    level_of,
    normalise,
    on_failure,
    pin_dates,
    run_error,
    split_dates,
)
from meta_agent.graph.requestor import Requestor

__all__ = [
    "FAILED",
    "LEVELS",
    "LIST_PARAMS",
    "QUERY_TIMED_OUT",
    "TOO_LARGE",
    "Action",
    "Level",
    "Part",
    "ReportJob",
    "ReportPolicy",
    "ReportStats",
    "ReportStream",
    "Row",
    "RunStatus",
    "State",
    "child_level",
    "date_cut",
    "job_timeout",
    "normalise",
    "on_failure",
    "pin_dates",
    "run_error",
    "run_report",
    "split_dates",
]

log = structlog.get_logger("meta_agent.graph.reports")

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Part:
    """One slice of a report: the object it runs on, that object's level, the query."""

    object_id: str
    object_level: Level | None
    params: Mapping[str, Any] = field(default_factory=dict)


class ReportStream(Generic[T]):
    """The rows of a report as an async iterator; :attr:`stats` says what it took."""

    def __init__(
        self,
        requestor: Requestor,
        root: Part,
        policy: ReportPolicy,
        convert: Callable[[Row], T],
    ) -> None:
        self.requestor = requestor
        self.root = root
        self.policy = policy
        self.convert = convert
        self.stats = ReportStats()
        self._last_error: ApiError | None = None

    def __aiter__(self) -> AsyncIterator[T]:
        return self._rows()

    async def _rows(self) -> AsyncIterator[T]:
        async for job in self.jobs():
            async for row in job.results(self.policy.page_size, self.stats):
                yield self.convert(row)

    async def jobs(self) -> AsyncIterator[ReportJob]:
        """The completed jobs that cover the report, parts in order, splitting what fails.

        For callers that read the pages themselves (:mod:`~meta_agent.graph.export` limits
        the pages in flight across accounts): read each with ``job.pages(page_size, stats)``
        before asking for the next job.

        Raises:
            ApiError: as iterating the stream does.
        """
        queue = deque([self.root])
        while queue:
            part = queue.popleft()
            outcome = await self._complete(part)
            if isinstance(outcome, list):
                queue.extendleft(reversed(outcome))  # children run next, in their order
                continue
            yield outcome

    async def _complete(self, part: Part) -> ReportJob | list[Part]:
        """Run ``part`` until it completes (the job) or must be split (its parts)."""
        failures = 0
        while True:
            job, error = await self._attempt(part)
            if error is None:
                return job
            failures += 1
            self._last_error = error
            action = on_failure(error, failures, self.policy)
            log.info(
                "graph.report.failed",
                report_run_id=job.run_id,
                action=action,
                code=error.code,
                subcode=error.subcode,
                failures=failures,
            )
            if action == "rerun":
                self.stats.reruns += 1
                continue
            parts = await self._split(part, job.status) if action == "split" else None
            if not parts:
                raise error
            self.stats.splits += 1
            return parts

    async def _attempt(self, part: Part) -> tuple[ReportJob, ApiError | None]:
        """Start ``part``'s job and settle it: the job and its failure, None when completed.

        A start Meta refuses as too large or timed out (-3/1504045, 100/1504018) counts as a
        failed job, so it is split like one; any other refusal is the caller's to fix.
        """
        if self.stats.jobs >= self.policy.max_jobs:
            raise _gave_up(self._last_error, self.policy.max_jobs)
        job = ReportJob(self.requestor, part.object_id, part.params, self.policy)
        self.stats.jobs += 1
        try:
            await job.start()
        except ApiError as error:
            if (error.code, error.subcode) not in (TOO_LARGE, QUERY_TIMED_OUT):
                raise
            return job, error
        return job, await job.settle()

    async def _split(self, part: Part, status: RunStatus | None) -> list[Part] | None:
        """Halves by date when the query allows it, else one part per child object."""
        dates = _dates(part, status)
        if dates is None:
            return None
        since, until = dates
        halves = split_dates(part.params, since, until)
        if halves is not None:
            return [Part(part.object_id, part.object_level, half) for half in halves]
        return await self._split_by_level(part, since, until)

    async def _split_by_level(self, part: Part, since: date, until: date) -> list[Part] | None:
        query_level = level_of(part.params.get("level") or part.object_level)
        if part.object_level is None or query_level is None:
            return None
        child = child_level(part.object_level, query_level)
        if child is None:
            return None
        params = {**pin_dates(part.params, since, until), "level": query_level}
        ids = await self._children(part.object_id, child, params)
        return [Part(child_id, child, params) for child_id in ids]

    async def _children(self, object_id: str, level: Level, params: Mapping[str, Any]) -> list[str]:
        """Ids of the ``level`` objects under ``object_id`` that have rows in the query's dates."""
        query: dict[str, Any] = {
            "level": level,
            "fields": [f"{level}_id"],
            "limit": 500,
            **{k: params[k] for k in ("time_range", "time_ranges", "filtering") if k in params},
        }
        seen: dict[str, None] = {}
        while True:
            body = (await self.requestor.call("GET", f"{object_id}/insights", query)).body
            seen.update(dict.fromkeys(str(row[f"{level}_id"]) for row in body.get("data") or []))
            after = next_cursor(body)
            if after is None:
                return list(seen)
            query["after"] = after


@overload
def run_report(
    requestor: Requestor,
    object_id: str,
    params: Mapping[str, Any],
    *,
    object_level: Level | None = None,
    policy: ReportPolicy | None = None,
    model: None = None,
) -> ReportStream[Row]: ...


@overload
def run_report(
    requestor: Requestor,
    object_id: str,
    params: Mapping[str, Any],
    *,
    object_level: Level | None = None,
    policy: ReportPolicy | None = None,
    model: type[M],
) -> ReportStream[M]: ...


@overload
def run_report(
    requestor: Requestor,
    object_id: str,
    params: Mapping[str, Any],
    *,
    object_level: Level | None = None,
    policy: ReportPolicy | None = None,
    model: Callable[[Row], T],
) -> ReportStream[T]: ...


def run_report(
    requestor: Requestor,
    object_id: str,
    params: Mapping[str, Any],
    *,
    object_level: Level | None = None,
    policy: ReportPolicy | None = None,
    model: type[BaseModel] | Callable[[Row], Any] | None = None,
) -> ReportStream[Any]:
    """Every row of an async insights report: ``async for row in run_report(...)``.

    Parts run one after another and their rows come out in a stable order: date halves
    oldest first, child objects in the order Meta lists them. Splitting by level needs the
    object's level: ``act_`` ids are accounts; pass ``object_level`` for other objects.
    Splitting keeps each row as it would be, but ``sort`` and ``summary`` apply per part.
    ``model`` converts each row: a pydantic model (``graph.models.InsightsRow``) or any callable.

    Raises:
        ApiError: Meta refused the query, a part failed and could not be split further (the
            last failure, e.g. -3/1504045 at one ad on one day), or ``policy.max_jobs`` ran out.
    """
    level = object_level or ("account" if object_id.startswith("act_") else None)
    root = Part(object_id, level, normalise(params))
    convert = _converter(model)
    return ReportStream(requestor, root, policy or ReportPolicy(), convert)


# -- helpers ------------------------------------------------------------------------------------


def _dates(part: Part, status: RunStatus | None) -> tuple[date, date] | None:
    """The days a part covers: as its run reported them, else its own ``time_range``."""
    if status is not None and status.date_start is not None and status.date_stop is not None:
        return status.date_start, status.date_stop
    span = part.params.get("time_range")
    if isinstance(span, str):
        span = _json_object(span)
    if not isinstance(span, Mapping):
        return None  # a preset's days are Meta's to say; a refused start never said them
    try:
        return date.fromisoformat(str(span["since"])), date.fromisoformat(str(span["until"]))
    except (KeyError, ValueError):
        return None


def _json_object(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None


def _gave_up(error: ApiError | None, jobs: int) -> ApiError:
    reason = f"gave up after {jobs} report jobs"
    if error is None:
        return TransientError(f"Report {reason}", reason="max_jobs")
    return type(error)(f"{error.message} ({reason})", **{**error.details, "reason": "max_jobs"})


def _converter(model: type[BaseModel] | Callable[[Row], Any] | None) -> Callable[[Row], Any]:
    if model is None:
        return _same
    if isinstance(model, type) and issubclass(model, BaseModel):
        return model.model_validate
    return model


def _same(row: Row) -> Row:
    return row
