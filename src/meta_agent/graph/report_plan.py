"""The pure decisions of async report jobs: a poll parsed, a failure judged, a query split.

Nothing here sends a request: :class:`RunStatus`, :func:`run_error`, :func:`on_failure`,
:func:`date_cut`, :func:`split_dates` and :func:`child_level` are tested without HTTP.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

from meta_agent.errors import ApiError, RateLimitedError, TransientError
from meta_agent.graph.error_table import build_error

Row = dict[str, Any]
Level = Literal["account", "campaign", "adset", "ad"]
LEVELS: tuple[Level, ...] = ("account", "campaign", "adset", "ad")
_LEVEL_NAMES: dict[str, Level] = {name: name for name in LEVELS}
State = Literal["running", "completed", "failed"]
Action = Literal["rerun", "split", "raise"]

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
    report may start, splits included. ``read_ahead`` fetches the next page of results
    while the caller consumes the current one (two pages held at most).
    """

    page_size: int = 500
    # Off: measured, it does not pay. bench/insights_scale.py, one account's results() as
    # InsightsRow at pages of 500 (2026-12-03, 2 CPUs): 1.00x, 1.01x and 1.04x in three
    # runs at 300 ms a page (e.g. 1,409 against 1,356 rows/s); 0.86x with no latency
    # (3,127 against 3,626); bench/insights_stream.py at 200k rows, 16.5k against 21.1k.
    # A page's fetch dwarfs what a caller does with its rows, and on loopback the task costs
    # more than the overlap gives. The export overlaps pages across accounts (its readers).
    read_ahead: bool = False
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


def level_of(value: Any) -> Level | None:
    """``value`` as a level name, or None when it is not one."""
    return _LEVEL_NAMES.get(str(value))


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
