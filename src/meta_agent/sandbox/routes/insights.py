"""Insights (§9): ``GET|POST /{object}/insights`` and async report runs ``/{report_run_id}``.

Thin handlers over :mod:`meta_agent.sandbox.insights`, whose package docstring explains
how a query becomes rows and where each part lives.
"""

from __future__ import annotations

from typing import Any

from meta_agent.sandbox.core import Ctx
from meta_agent.sandbox.errors import GraphError
from meta_agent.sandbox.insights.enums import LEVEL_OF_KIND, QUERY_PARAMS
from meta_agent.sandbox.insights.layout import build_report
from meta_agent.sandbox.insights.optin import check_run_quota, needs_opt_in
from meta_agent.sandbox.insights.reports import (
    REPORT_RUN_DEFAULTS,
    REPORT_RUN_FIELDS,
    completed_report,
    new_run,
    render_run,
)
from meta_agent.sandbox.nodes import Edge, NodeType, Record, Registry
from meta_agent.sandbox.params import check_known


def register(registry: Registry) -> None:
    """Register the report run node and the ``insights`` edge on every object that has one."""
    registry.node(
        NodeType(
            "report_run",
            "AdReportRun",
            REPORT_RUN_FIELDS,
            render_run,
            REPORT_RUN_DEFAULTS,
            edges={"insights": Edge(get=_run_results)},
        )
    )
    for kind in LEVEL_OF_KIND:
        if kind in registry.node_types:
            registry.add_edge(kind, "insights", Edge(get=_sync, post=_start))


def _sync(ctx: Ctx, node: Record) -> Any:
    check_known(ctx.params, QUERY_PARAMS, "AdsInsights")
    report = build_report(ctx, node, ctx.params, ctx.now())
    if needs_opt_in(ctx.sb.config, report.model, report.query):
        return {"data": []}  # what Meta answers: no rows, no error (reference §13.1)
    if len(report) > ctx.sb.config.sync_insights_max_rows:
        raise GraphError(
            message="Please reduce the amount of data you're asking for, then retry your request",
            code=1,
            status=500,
        )
    return report.page(ctx)


def _start(ctx: Ctx, node: Record) -> Any:
    check_known(ctx.params, QUERY_PARAMS, "AdsInsights")
    now = ctx.now()
    report = build_report(ctx, node, ctx.params, now)
    record = new_run(ctx, node, report, now)
    if needs_opt_in(ctx.sb.config, report.model, report.query):
        check_run_quota(ctx.sb.config, ctx.state, report.model)
        record["needs_opt_in"] = True  # counted against the account's daily quota
    ctx.state.add(record)
    return {"report_run_id": record["id"]}


def _run_results(ctx: Ctx, run: Record) -> Any:
    return completed_report(ctx, run).page(ctx)
