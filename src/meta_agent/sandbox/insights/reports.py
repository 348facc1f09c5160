"""Async report runs (``POST /{object}/insights``, then ``GET /{report_run_id}``).

A run stores its query's parameters, not its rows: the rows are recomputed as of the
run's ``time_ref`` whenever they are read. Its status follows Meta's sequence on the
sandbox clock, 'Job Not Started' → 'Job Started' → 'Job Running' → 'Job Completed', over
``report_run_seconds``; a run estimated above ``report_max_rows`` fails half-way instead,
with Meta's "report too large" error.
"""

from __future__ import annotations

from typing import Any

from meta_agent.sandbox.core import Ctx
from meta_agent.sandbox.errors import invalid_param
from meta_agent.sandbox.insights.enums import words
from meta_agent.sandbox.insights.layout import Report, build_report
from meta_agent.sandbox.nodes import Record, compact
from meta_agent.sandbox.params import Params

REPORT_RUN_FIELDS = frozenset(
    words(
        """id account_id async_percent_completion async_report_url async_status date_start date_stop
    emails error_code error_message error_subcode error_user_msg error_user_title friendly_name
    is_async_export is_bookmarked is_running schedule_id time_completed time_ref
    action_attribution_windows action_breakdowns action_report_time breakdowns date_preset
    default_summary fields filtering level sort time_increment time_range time_ranges"""
    )
)
REPORT_RUN_DEFAULTS = words(
    """id account_id time_ref time_completed async_status async_percent_completion date_start
    date_stop is_running error_code error_message error_subcode error_user_title error_user_msg"""
)
ECHOED = ("action_attribution_windows", "action_breakdowns", "breakdowns", "fields", "filtering")
ECHOED_SCALARS = ("action_report_time", "date_preset", "level", "time_increment")
# Credentials and paging belong to the request that started the run, not to its query.
_NOT_STORED = frozenset({"access_token", "appsecret_proof", "method", "limit", "after", "before"})
RUNNING = frozenset({"Job Not Started", "Job Started", "Job Running"})


def new_run(ctx: Ctx, node: Record, report: Report, now: float) -> Record:
    """The record of a run of ``report`` on ``node``, started at ``now`` (not yet stored)."""
    stored = {k: v for k, v in ctx.params.raw.items() if k not in _NOT_STORED and v is not None}
    return {
        "kind": "report_run",
        "id": ctx.sb.new_id(),
        "account_id": report.model.account["account_id"],
        "object_id": node["id"],
        "params": stored,
        "created_time": now,
        "estimated_rows": len(report),
        "date_start": report.query.since.isoformat(),
        "date_stop": report.query.until.isoformat(),
    }


def completed_report(ctx: Ctx, run: Record) -> Report:
    """The report a completed run snapshots, recomputed as of its ``time_ref``.

    The layout is kept per run until the state changes (``Sandbox.memo``), so reading
    page k costs one page of rows, not the whole layout again.

    Raises:
        GraphError: the run has not completed (code 100).
    """
    status = _phase(ctx, run)[0]
    if status != "Job Completed":
        raise invalid_param(
            f"Report run {run['id']} has no results to read: its async_status is '{status}'",
            user_msg="Poll the report run until async_status is 'Job Completed', then read.",
        )
    return ctx.sb.memo.get(("report_run", run["id"]), ctx.state, lambda: _rebuild(ctx, run))


def _rebuild(ctx: Ctx, run: Record) -> Report:
    node = ctx.state.get(str(run["object_id"]))
    params = Params(dict(run["params"]))
    return build_report(ctx, node, params, float(run["created_time"]))


def render_run(ctx: Ctx, run: Record) -> dict[str, Any]:
    """A report run as Meta shows it while it moves from 'Job Not Started' to its end."""
    status, percent, finished = _phase(ctx, run)
    out = _progress(run, status, percent, finished)
    if status == "Job Failed":
        out.update(_too_large(run))
    out.update(_echoed(run))
    return compact(out)


def _progress(run: Record, status: str, percent: int, finished: float | None) -> dict[str, Any]:
    return {
        "id": run["id"],
        "account_id": run["account_id"],
        "time_ref": int(run["created_time"]),
        "time_completed": int(finished) if finished is not None else None,
        "async_status": status,
        "async_percent_completion": percent,
        "date_start": run.get("date_start"),
        "date_stop": run.get("date_stop"),
        "is_running": status in RUNNING,
        "is_bookmarked": False,
        "is_async_export": 0,
    }


def _echoed(run: Record) -> dict[str, Any]:
    """The query parameters a run reads back with."""
    params = Params(dict(run["params"]))
    out: dict[str, Any] = {}
    for name in ECHOED:
        out[name] = params.list_(name) if name != "filtering" else params.json_(name)
    for name in ECHOED_SCALARS:
        out[name] = params.str_(name)
    out["time_range"] = {"since": run.get("date_start"), "until": run.get("date_stop")}
    return out


def _phase(ctx: Ctx, run: Record) -> tuple[str, int, float | None]:
    """Status, percent and completion time of a run at sandbox time (Meta's sequence)."""
    took = ctx.sb.config.report_run_seconds
    created = float(run["created_time"])
    elapsed = ctx.now() - created
    failing = int(run.get("estimated_rows", 0)) > ctx.sb.config.report_max_rows
    if failing and elapsed >= 0.5 * took:
        return "Job Failed", _percent(0.5 * took, took), created + 0.5 * took
    if elapsed >= took:
        return "Job Completed", 100, created + took
    if elapsed < 0.1 * took:
        return "Job Not Started", 0, None
    if elapsed < 0.25 * took:
        return "Job Started", 0, None
    return "Job Running", _percent(elapsed, took), None


def _percent(elapsed: float, took: float) -> int:
    # Meta reports 100% a little before it says "Job Completed"; clients must wait for both.
    if elapsed >= 0.85 * took:
        return 100
    return max(1, min(99, int((elapsed - 0.25 * took) / (0.6 * took) * 100)))


def _too_large(run: Record) -> dict[str, Any]:
    return {
        "error_code": -3,
        "error_subcode": 1504045,
        "error_message": "The report you requested is too large to be processed",
        "error_user_title": "Report too large",
        "error_user_msg": (
            f"This report would have about {run.get('estimated_rows')} rows. Split it into "
            "shorter date ranges or run it per campaign or ad set."
        ),
    }
