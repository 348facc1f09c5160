"""Async insights report jobs (reference §9.2): start, poll, stream, and split what fails.

::

    run_report(requestor, "act_1", params)       every row of the report, in a stable order
      └── parts: the whole query first; a part that fails too large (or times out) is split
          ├── by date range: two halves cut on a bucket boundary, so rows stay the same
          └── by level: one part per child object (account → campaigns → ad sets → ads)
    ReportJob                                    one report run
      start()    POST /{object}/insights          → report_run_id
      wait()     GET /{report_run_id}, backing off until "Job Completed" (and 100%)
      results()  GET /{report_run_id}/insights     one page in memory at a time

The pure parts (:class:`RunStatus`, :func:`run_error`, :func:`on_failure`, :func:`date_cut`,
:func:`split_dates`, :func:`child_level`) carry the decisions and are tested without HTTP.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Generic, Literal, TypeVar, overload

import structlog
from pydantic import BaseModel

from meta_agent.errors import (
    ApiError,
    OutcomeUnknownError,
    RateLimitedError,
    TransientError,
    UsageError,
)
from meta_agent.graph.error_table import build_error
from meta_agent.graph.requestor import CallOptions, GraphResponse, Requestor

log = structlog.get_logger("meta_agent.graph.reports")

Row = dict[str, Any]
Level = Literal["account", "campaign", "adset", "ad"]
LEVELS: tuple[Level, ...] = ("account", "campaign", "adset", "ad")
_LEVEL_NAMES: dict[str, Level] = {name: name for name in LEVELS}
State = Literal["running", "completed", "failed"]
Action = Literal["rerun", "split", "raise"]
T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

FAILED = frozenset({"Job Failed", "Job Skipped"})
TOO_LARGE = (-3, 1504045)
QUERY_TIMED_OUT = (100, 1504018)
# Params that hold lists; Meta wants them JSON-encoded, so a comma string is made a list.
LIST_PARAMS = ("fields", "breakdowns", "action_breakdowns", "action_attribution_windows")


@dataclass(frozen=True)
class ReportPolicy:
    """How patient a report is: polling curve, job timeout, page size, re-runs and splits.

    ``reruns`` is how often a job that failed for a passing reason is started again before it
    is split (Airbyte splits after two failures); ``max_jobs`` caps the report runs one
    report may start, splits included.
    """

    page_size: int = 500
    poll_first: float = 2.0
    poll_factor: float = 1.5
    poll_max: float = 30.0
    job_timeout: float = 3600.0
    reruns: int = 1
    max_jobs: int = 64


@dataclass
class ReportStats:
    """What one report cost: jobs started, re-runs, splits, pages, rows, largest page held."""

    jobs: int = 0
    reruns: int = 0
    splits: int = 0
    pages: int = 0
    rows: int = 0
    max_page_rows: int = 0

    def page(self, size: int) -> None:
        """Count one page of ``size`` rows."""
        self.pages += 1
        self.rows += size
        self.max_page_rows = max(self.max_page_rows, size)


# -- pure: a poll, a failure, what to do about it -----------------------------------------------


@dataclass(frozen=True)
class RunStatus:
    """One poll of a report run, parsed."""

    run_id: str
    status: str
    percent: int
    account_id: str | None = None
    date_start: date | None = None
    date_stop: date | None = None
    error: ApiError | None = None

    @classmethod
    def parse(cls, run_id: str, body: Mapping[str, Any]) -> RunStatus:
        """Read Meta's report run node (``async_status``, ``async_percent_completion``, ...)."""
        status = str(body.get("async_status") or "Job Not Started")
        return cls(
            run_id=run_id,
            status=status,
            percent=int(body.get("async_percent_completion") or 0),
            account_id=_opt_str(body.get("account_id")),
            date_start=_opt_date(body.get("date_start")),
            date_stop=_opt_date(body.get("date_stop")),
            error=run_error(run_id, body) if status in FAILED else None,
        )

    @property
    def state(self) -> State:
        """``completed`` only when Meta says "Job Completed" *and* 100%; unknown is running."""
        if self.status in FAILED:
            return "failed"
        if self.status == "Job Completed" and self.percent >= 100:
            return "completed"
        return "running"


def run_error(run_id: str, body: Mapping[str, Any]) -> ApiError:
    """The error a failed or skipped run stands for, through the same table as any Graph error.

    Since v25 a failed run carries ``error_code``/``error_subcode``/``error_message``/
    ``error_user_title``/``error_user_msg``; older runs (and skipped ones) carry none.
    """
    status = str(body.get("async_status"))
    context = {"report_run_id": run_id, "async_status": status}
    if body.get("error_code") is None:
        return TransientError(f"Report run {run_id} ended '{status}' without an error", **context)
    envelope = {
        "error": {
            "code": body.get("error_code"),
            "error_subcode": body.get("error_subcode"),
            "message": f"Report run {run_id} failed: {body.get('error_message') or status}",
            "error_user_title": body.get("error_user_title"),
            "error_user_msg": body.get("error_user_msg"),
        }
    }
    error = build_error(envelope, http_status=200)
    error.details.update(context)
    return error


def job_timeout(status: RunStatus, seconds: float) -> TransientError:
    """The error for a run that did not finish within the policy's job timeout."""
    return TransientError(
        f"Report run {status.run_id} still '{status.status}' ({status.percent}%) after {seconds:.0f}s",
        report_run_id=status.run_id,
        async_status=status.status,
        reason="job_timeout",
    )


def on_failure(error: ApiError, failures: int, policy: ReportPolicy) -> Action:
    """What to do after a job's ``failures``-th failure with ``error``.

    Too large, Meta's query timeout and our job timeout split at once (running the same job
    again cannot help); passing failures re-run up to ``policy.reruns`` times, then split;
    anything else (invalid parameter, permission, auth) is raised.
    """
    key = (error.code, error.subcode)
    if key in (TOO_LARGE, QUERY_TIMED_OUT) or error.details.get("reason") == "job_timeout":
        return "split"
    if isinstance(error, TransientError | RateLimitedError) or type(error) is ApiError:
        return "rerun" if failures <= policy.reruns else "split"
    return "raise"


# -- pure: splitting ----------------------------------------------------------------------------


def date_cut(since: date, until: date, increment: Any) -> date | None:
    """The first day of the second half, on a bucket boundary; None when halving would change rows.

    With ``time_increment`` N days the buckets start at ``since`` every N days; ``monthly``
    buckets are calendar months; ``all_days`` (the default) is one bucket, which cannot be cut.
    """
    text = "all_days" if increment is None else str(increment)
    if text == "monthly":
        months = (until.year - since.year) * 12 + until.month - since.month
        if months < 1:
            return None
        index = since.year * 12 + since.month - 1 + (months + 1) // 2
        return date(index // 12, index % 12 + 1, 1)
    if not text.isdigit() or int(text) < 1:
        return None
    step = int(text)
    buckets = ((until - since).days + step) // step
    if buckets < 2:
        return None
    return since + timedelta(days=step * (buckets // 2))


def split_dates(params: Mapping[str, Any], since: date, until: date) -> list[dict[str, Any]] | None:
    """Two halves of a query by date (``time_ranges`` by list), or None when it cannot be cut."""
    ranges = _json(params.get("time_ranges"))
    if isinstance(ranges, list) and ranges:
        if len(ranges) < 2:
            return None
        middle = len(ranges) // 2
        return [
            {**params, "time_ranges": ranges[:middle]},
            {**params, "time_ranges": ranges[middle:]},
        ]
    cut = date_cut(since, until, params.get("time_increment"))
    if cut is None:
        return None
    first = pin_dates(params, since, cut - timedelta(days=1))
    return [first, pin_dates(params, cut, until)]


def pin_dates(params: Mapping[str, Any], since: date, until: date) -> dict[str, Any]:
    """``params`` over exactly ``since``..``until`` (a preset would move with the clock)."""
    pinned = {key: value for key, value in params.items() if key != "date_preset"}
    if _json(params.get("time_ranges")):
        return pinned
    pinned["time_range"] = {"since": since.isoformat(), "until": until.isoformat()}
    return pinned


def child_level(object_level: Level, query_level: Level) -> Level | None:
    """The level one below ``object_level``, if rows at ``query_level`` split cleanly across it."""
    below = LEVELS.index(object_level) + 1
    if below >= len(LEVELS) or below > LEVELS.index(query_level):
        return None
    return LEVELS[below]


def normalise(params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` with list parameters given as comma strings turned into lists."""
    out = dict(params)
    for name in LIST_PARAMS:
        value = out.get(name)
        if isinstance(value, str) and not value.lstrip().startswith("["):
            out[name] = [part.strip() for part in value.split(",") if part.strip()]
    return out


# -- one job ------------------------------------------------------------------------------------


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
        """Every row of a completed run, fetched one page at a time (only one page is held).

        When Meta answers a page with code 1 (too much data) even after the requestor's
        retries, the page size is halved and the same page asked for again.

        Raises:
            ApiError: a page could not be read after the requestor's retries.
            UsageError: the job was not started.
        """
        run_id, stats = self._require_run(), stats or ReportStats()
        params: dict[str, Any] = {"limit": page_size or self.policy.page_size}
        while True:
            page, after, params = await self._next_page(run_id, params)
            stats.page(len(page))
            for row in page:
                yield row
            del page  # released before the next page is fetched: one page held at a time
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
            return body.get("data") or [], _next_cursor(body), params

    async def _get(self, path: str, params: dict[str, Any]) -> GraphResponse:
        account = self.status.account_id if self.status else None
        return await self.requestor.call("GET", path, params, options=CallOptions(account=account))

    def _require_run(self) -> str:
        if self.run_id is None:
            raise UsageError("start() the report job before polling or reading it")
        return self.run_id


# -- a whole report -----------------------------------------------------------------------------


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
        queue = deque([self.root])
        while queue:
            part = queue.popleft()
            outcome = await self._complete(part)
            if isinstance(outcome, list):
                queue.extendleft(reversed(outcome))  # children run next, in their order
                continue
            async for row in outcome.results(self.policy.page_size, self.stats):
                yield self.convert(row)

    async def _complete(self, part: Part) -> ReportJob | list[Part]:
        """Run ``part`` until it completes (the job) or must be split (its parts)."""
        failures = 0
        while True:
            job = await self._start(part)
            error = await job.settle()
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

    async def _start(self, part: Part) -> ReportJob:
        if self.stats.jobs >= self.policy.max_jobs:
            raise _gave_up(self._last_error, self.policy.max_jobs)
        job = ReportJob(self.requestor, part.object_id, part.params, self.policy)
        self.stats.jobs += 1
        await job.start()
        return job

    async def _split(self, part: Part, status: RunStatus | None) -> list[Part] | None:
        """Halves by date when the query allows it, else one part per child object."""
        if status is None or status.date_start is None or status.date_stop is None:
            return None
        since, until = status.date_start, status.date_stop
        halves = split_dates(part.params, since, until)
        if halves is not None:
            return [Part(part.object_id, part.object_level, half) for half in halves]
        return await self._split_by_level(part, since, until)

    async def _split_by_level(self, part: Part, since: date, until: date) -> list[Part] | None:
        query_level = _level(part.params.get("level") or part.object_level)
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
            after = _next_cursor(body)
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


def _gave_up(error: ApiError | None, jobs: int) -> ApiError:
    reason = f"gave up after {jobs} report jobs"
    if error is None:
        return TransientError(f"Report {reason}", reason="max_jobs")
    return type(error)(f"{error.message} ({reason})", **{**error.details, "reason": "max_jobs"})


def _next_cursor(body: Mapping[str, Any]) -> str | None:
    paging = body.get("paging") or {}
    if not paging.get("next"):
        return None
    after = (paging.get("cursors") or {}).get("after")
    return str(after) if after else None


def _json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _opt_str(value: Any) -> str | None:
    return str(value) if value is not None else None


def _opt_date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _level(value: Any) -> Level | None:
    return _LEVEL_NAMES.get(str(value))


def _converter(model: type[BaseModel] | Callable[[Row], Any] | None) -> Callable[[Row], Any]:
    if model is None:
        return _same
    if isinstance(model, type) and issubclass(model, BaseModel):
        return model.model_validate
    return model


def _same(row: Row) -> Row:
    return row
