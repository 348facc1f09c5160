"""Output for people and machines: rich tables, CSV and JSON-ready rows.

Figures are formatted here and nowhere else: amounts with two decimals and thousands
separators, ratios with two decimals, ``-`` for a figure that does not exist (a ratio over
zero). Nothing here computes a figure: the report model did.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from rich import box
from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from meta_agent.agents.report import Metrics, PerformanceReport, Segment
from meta_agent.interfaces.plan_render import is_plan, plan_views, shown
from meta_agent.orchestrator.requests import OrchestratorResponse
from meta_agent.service.health import HealthReport
from meta_agent.store.journal import WorkflowRecord

STATUS_STYLES = {
    "COMPLETED": "green",
    "ACTIVE": "green",
    "PAUSED": "yellow",
    "RUNNING": "cyan",
    "FAILED": "red",
    "ROLLED_BACK": "yellow",
    "ROLLBACK_FAILED": "bold red",
}
CREATED_KINDS = (("campaign", "campaign"), ("adsets", "ad set"), ("creatives", "creative"))


def number(value: Decimal | int | float | None, places: int = 2) -> str:
    """A figure for people: thousands separators, ``places`` decimals, ``-`` when missing."""
    if value is None:
        return "-"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{Decimal(value):,.{places}f}"


def money(value: Decimal | None, currency: str) -> str:
    """An amount in major units with its currency: ``INR 8,573.53``."""
    return "-" if value is None else f"{currency} {number(value)}"


def styled(status: str | None) -> Text:
    """A status word in its colour."""
    text = status or "-"
    return Text(text, style=STATUS_STYLES.get(text, ""))


def add_row(table: Table, *values: str | Text) -> None:
    """Add a row whose plain strings are shown as they are (never read as rich markup)."""
    table.add_row(*(Text(value) if isinstance(value, str) else value for value in values))


# -- workflows -----------------------------------------------------------------------------


def response_view(response: OrchestratorResponse) -> list[RenderableType]:
    """A workflow's response: its headline, then what it created (or its result as JSON)."""
    headline = Text.assemble(
        (f"{response.action} ", "bold"),
        styled(response.status),
        f"  workflow {response.workflow_id or '-'}  request {response.request_id}",
        (" (dry run: nothing was created)" if response.dry_run else "", "yellow"),
        (" (replayed: this request_id was seen before)" if response.replayed else "", "cyan"),
    )
    views: list[RenderableType] = [headline]
    result = response.result or {}
    if response.dry_run and is_plan(result):
        views += plan_views(result)
    elif any(key in result for key in ("campaign", "adsets", "ads")):
        views.append(created_table(result))
    elif result:
        views.append(json.dumps(result, indent=2, default=str))
    return views


def created_rows(result: Mapping[str, Any]) -> list[dict[str, str]]:
    """What a launch created, one row per object: kind, id, name, status."""
    rows: list[dict[str, str]] = []
    campaign = result.get("campaign")
    if isinstance(campaign, Mapping):
        rows.append(_created("campaign", campaign))
    for key, kind in CREATED_KINDS[1:]:
        rows += [_created(kind, item) for item in result.get(key) or []]
    rows += [_created("ad", item) for item in result.get("ads") or []]
    images = result.get("images") or {}
    rows += [
        {"kind": "image", "id": str(h), "name": str(n), "status": "-"} for n, h in images.items()
    ]
    videos = result.get("videos") or {}
    rows += [
        {"kind": "video", "id": str(v), "name": str(n), "status": "-"} for n, v in videos.items()
    ]
    return rows


def _created(kind: str, item: Mapping[str, Any]) -> dict[str, str]:
    return {
        "kind": kind,
        "id": str(item.get("id", "-")),
        "name": str(item.get("name", "-")),
        "status": str(item.get("status") or "-"),
    }


def created_table(result: Mapping[str, Any], title: str = "Created") -> Table:
    """The objects a launch created."""
    table = Table(title=title, title_justify="left")
    for column in ("Kind", "ID", "Name", "Status"):
        table.add_column(column, no_wrap=column != "Name")
    for row in created_rows(result):
        add_row(table, row["kind"], row["id"], row["name"], styled(row["status"]))
    return table


def compact_table(title: str) -> Table:
    """A table with no vertical rules, for rows whose ids must stay whole at 80 columns."""
    return Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
        pad_edge=False,
        collapse_padding=True,
    )


def when(moment: datetime | str) -> str:
    """A timestamp on two short lines: ``2026-12-03`` over ``15:21:09``."""
    text = moment.strftime("%Y-%m-%d %H:%M:%S") if isinstance(moment, datetime) else moment
    return text[:19].replace("T", " ").replace(" ", "\n", 1)


def workflows_table(records: Sequence[WorkflowRecord]) -> Table:
    """Journaled workflows, newest first; the id and action over each other, so that an id
    stays whole (to copy into ``workflows show``) in 80 columns."""
    table = compact_table("Workflows")
    table.add_column("Workflow / action", no_wrap=True)
    table.add_column("Status", no_wrap=True)
    table.add_column("Account / request", overflow="fold")
    table.add_column("Updated", no_wrap=True)
    for record in records:
        add_row(
            table,
            Text.assemble(record.id, "\n", (record.action, "dim")),
            styled(record.status.value),
            f"{record.account_id or '-'}\n{record.request_id}",
            when(record.updated_at),
        )
    return table


def workflow_views(detail: Mapping[str, Any]) -> list[RenderableType]:
    """One workflow: its record, its steps, the resources it created."""
    record = detail["workflow"]
    views: list[RenderableType] = [
        Text.assemble(
            (f"workflow {record['id']} ", "bold"),
            styled(record["status"]),
            f"  {record['action']}  account {record.get('account_id') or '-'}  "
            f"request {record['request_id']}",
        )
    ]
    steps = Table(title="Steps", title_justify="left")
    for column in ("#", "Step", "Kind", "Status", "Error"):
        steps.add_column(column)
    for step in detail["steps"]:
        error = (step.get("error") or {}).get("message", "")
        add_row(steps, str(step["seq"]), step["name"], step["kind"], styled(step["status"]), error)
    views.append(steps)
    resources = Table(title="Resources", title_justify="left")
    for column in ("Kind", "ID", "Step", "Undo", "Undone"):
        resources.add_column(column)
    for item in detail["resources"]:
        add_row(
            resources,
            item["kind"],
            item["object_id"],
            item["step"],
            item["undo"],
            str(item["undone"]),
        )
    views.append(resources)
    if record.get("error"):
        views.append(Text(f"error: {record['error'].get('message')}", style="red"))
    return views


# -- insights --------------------------------------------------------------------------------


def flatten(row: Mapping[str, Any]) -> dict[str, Any]:
    """One flat row: ``actions`` lists become ``actions.link_click`` columns, dicts dotted."""
    flat: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, list) and all(_is_action(item) for item in value):
            for item in value:
                flat[f"{key}.{item['action_type']}"] = item.get("value")
        elif isinstance(value, Mapping):
            for sub, inner in value.items():
                flat[f"{key}.{sub}"] = inner
        elif isinstance(value, list):
            flat[key] = json.dumps(value, default=str)
        else:
            flat[key] = value
    return flat


def _is_action(item: Any) -> bool:
    return isinstance(item, Mapping) and "action_type" in item


def columns_of(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every column of ``rows``, in the order they first appear."""
    seen: dict[str, None] = {}
    for row in rows:
        seen.update(dict.fromkeys(row))
    return list(seen)


def insights_csv(rows: Sequence[Mapping[str, Any]]) -> str:
    """Insights rows as CSV (flattened; a header row first)."""
    flat = [flatten(row) for row in rows]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns_of(flat), lineterminator="\n")
    writer.writeheader()
    writer.writerows(flat)
    return buffer.getvalue()


def insights_table(rows: Sequence[Mapping[str, Any]], title: str = "Insights") -> Table:
    """Insights rows as a table (flattened)."""
    flat = [flatten(row) for row in rows]
    table = Table(title=f"{title} ({len(rows)} rows)", title_justify="left")
    names = columns_of(flat)
    for name in names:
        table.add_column(name, justify="left" if _is_text(name) else "right")
    for row in flat:
        add_row(table, *("" if row.get(name) is None else str(row[name]) for name in names))
    return table


def _is_text(column: str) -> bool:
    return column.endswith(("_id", "_name", "date_start", "date_stop")) or column in {
        "age",
        "gender",
        "publisher_platform",
        "account_currency",
    }


# -- the performance report ----------------------------------------------------------------------


def summary_rows(report: PerformanceReport) -> list[tuple[str, str]]:
    """The report's headline figures as (label, value)."""
    m, cur = report.summary, report.currency
    return [
        ("Spend", money(m.spend_major, cur)),
        ("Impressions", number(m.impressions)),
        ("Reach", number(m.reach)),
        ("Clicks", number(m.clicks)),
        ("Link clicks", number(m.link_clicks)),
        (f"Results ({m.result_action or 'none'})", number(m.results, 0)),
        ("CTR", f"{number(m.ctr)}%" if m.ctr is not None else "-"),
        ("CPC", money(m.cpc, cur)),
        ("CPM", money(m.cpm, cur)),
        ("Cost per result", money(m.cost_per_result, cur)),
        ("Frequency", number(m.frequency)),
        ("ROAS", number(m.roas)),
    ]


def period(report: PerformanceReport) -> str:
    """``2026-11-18 to 2026-11-24 (last_7d)``."""
    span = f"{report.since} to {report.until}" if report.since else ""
    preset = f"({report.date_preset})" if report.date_preset else ""
    return " ".join(part for part in (span, preset) if part) or "-"


def report_views(report: PerformanceReport) -> list[RenderableType]:
    """The performance report as tables: summary, days, platforms, people, recommendations."""
    title = f"Performance of {report.level} {report.object_id}, {period(report)}"
    summary = Table(title=title, title_justify="left", show_header=False)
    summary.add_column("Figure")
    summary.add_column("Value", justify="right")
    for label, value in summary_rows(report):
        add_row(summary, label, value)
    daily = _metrics_table(
        "By day", ["Day"], [([str(p.day)], p.metrics) for p in report.daily], report.currency
    )
    platforms = _segments_table("By platform", ["Platform"], report.platforms, report.currency)
    people = _segments_table(
        "By age and gender", ["Age", "Gender"], report.demographics, report.currency
    )
    return [summary, daily, platforms, people, recommendations_view(report)]


def _segments_table(
    title: str, labels: list[str], segments: Sequence[Segment], currency: str
) -> Table:
    keyed = [(list(segment.values.values()), segment.metrics) for segment in segments]
    return _metrics_table(title, labels, keyed, currency)


def _metrics_table(
    title: str, labels: list[str], rows: Sequence[tuple[list[str], Metrics]], currency: str
) -> Table:
    table = Table(title=title, title_justify="left")
    for label in labels:
        table.add_column(label)
    for column in ("Spend", "Impr.", "Clicks", "CTR %", "Results", f"CPC {currency}"):
        table.add_column(column, justify="right")
    for keys, m in rows:
        add_row(
            table,
            *keys,
            number(m.spend_major),
            number(m.impressions),
            number(m.clicks),
            number(m.ctr),
            number(m.results, 0),
            number(m.cpc),
        )
    return table


def recommendations_view(report: PerformanceReport) -> RenderableType:
    """The recommendations, or a line saying none fired."""
    if not report.recommendations:
        return Text("Recommendations: none; every rule is within its threshold.", style="green")
    table = Table(title="Recommendations", title_justify="left")
    table.add_column("Rule", no_wrap=True)
    table.add_column("Finding and advice")
    for item in report.recommendations:
        add_row(table, item.code, item.message)
    return table


# -- health ----------------------------------------------------------------------------------------


def health_table(report: HealthReport) -> Table:
    """Each health check: ok or not, latency, detail or error."""
    verdict = "green" if report.status == "healthy" else "red"
    table = Table(title=f"[{verdict}]{report.status}[/] ({report.mode} mode)", title_justify="left")
    for column in ("Check", "OK", "ms", "Detail"):
        table.add_column(column)
    for name, check in report.checks.items():
        detail = check.error or ", ".join(f"{k}={v}" for k, v in check.detail.items())
        mark = Text("yes", style="green") if check.ok else Text("no", style="red")
        add_row(table, name, mark, f"{check.latency_ms:.1f}", detail)
    return table


def approvals_table(rows: Sequence[Mapping[str, Any]]) -> Table:
    """Approvals, newest first: what holds them and until when (ids whole at 80 columns)."""
    table = compact_table("Approvals")
    table.add_column("Approval / account", no_wrap=True)
    table.add_column("Status", no_wrap=True)
    table.add_column("Writes", justify="right")
    table.add_column("Rules", overflow="fold")
    table.add_column("Expires", no_wrap=True)
    for row in rows:
        add_row(
            table,
            f"{row['id']}\n{row['account_id']}",
            styled(str(row["status"])),
            str(len(row.get("diff", []))),
            ", ".join(row.get("rules", [])),
            when(str(row["expires_at"])),
        )
    return table


def keys_table(rows: Sequence[Mapping[str, Any]]) -> Table:
    """API keys (never their secrets): id, name, role or revoked, accounts and actions."""
    table = Table(title="API keys", title_justify="left")
    for column in ("ID", "Name", "Role", "Accounts", "Actions"):
        table.add_column(column, no_wrap=column == "ID", overflow="fold")
    for row in rows:
        state = Text("revoked", style="red") if row["revoked"] else Text(str(row["role"]))
        add_row(
            table,
            str(row["id"]),
            str(row["name"]),
            state,
            ", ".join(row["accounts"]),
            ", ".join(row["actions"]),
        )
    return table


def approval_view(detail: Mapping[str, Any]) -> RenderableType:
    """One approval: who asked, why it is held, and each write exactly as it will be sent."""
    table = Table(
        title=f"Approval {detail['id']} ({detail['status']}) on {detail['account_id']}, asked by "
        f"{detail['requested_by']}, expires {str(detail['expires_at'])[:19]}",
        title_justify="left",
    )
    for column in ("Write", "Parameters", "Why held"):
        table.add_column(column)
    for write in detail.get("diff", []):
        currency = write.get("currency")
        params = ", ".join(
            f"{k}={shown(k, v, currency)}" for k, v in sorted(write.get("params", {}).items())
        )
        add_row(
            table,
            f"{write.get('method')} {write.get('path')}",
            params,
            "; ".join(write.get("holds", [])),
        )
    return table
