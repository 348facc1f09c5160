"""Every table of a report as plain rows, for CSV and Parquet (and anything tabular).

A cell is an ``int``, a ``Decimal`` (money and ratios rounded to a fixed number of places
per column, so a column has one scale), a ``str`` or ``None``. Every row says where its
figures come from (``source``: ``sandbox (synthetic)`` or ``meta``) and in which currency.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from meta_agent.agents.report import Metrics, Segment
from meta_agent.agents.reporting.accounts import AccountsReport
from meta_agent.agents.reporting.builder import MarketerReport
from meta_agent.agents.reporting.levels import LevelRow

SYNTHETIC = "sandbox (synthetic)"
LIVE = "meta"
METRIC_COLUMNS = (
    "currency", "spend", "impressions", "reach", "clicks", "link_clicks", "result_action",
    "results", "cost_per_result", "ctr", "cpc", "cpm", "frequency", "revenue", "roas",
)  # fmt: skip
MONEY_PLACES = 2
RATIO_PLACES = 4


@dataclass(frozen=True)
class Table:
    """A named table: its columns, in order, and its rows."""

    name: str
    columns: tuple[str, ...]
    rows: list[dict[str, Any]]


def _places(value: Decimal | None, places: int) -> Decimal | None:
    if value is None:
        return None
    return value.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)


def metric_cells(m: Metrics) -> dict[str, Any]:
    """One ``Metrics`` as cells: amounts in major units, ratios to four places."""
    return {
        "currency": m.currency,
        "spend": _places(m.spend_major, MONEY_PLACES),
        "impressions": m.impressions,
        "reach": m.reach,
        "clicks": m.clicks,
        "link_clicks": m.link_clicks,
        "result_action": m.result_action,
        "results": _places(m.results, RATIO_PLACES),
        "cost_per_result": _places(m.cost_per_result, MONEY_PLACES),
        "ctr": _places(m.ctr, RATIO_PLACES),
        "cpc": _places(m.cpc, MONEY_PLACES),
        "cpm": _places(m.cpm, MONEY_PLACES),
        "frequency": _places(m.frequency, RATIO_PLACES),
        "revenue": _places(m.revenue, MONEY_PLACES),
        "roas": _places(m.roas, RATIO_PLACES),
    }


def _table(name: str, keys: Sequence[str], rows: Iterable[dict[str, Any]], source: str) -> Table:
    columns = ("source", *keys)
    return Table(name, columns, [{"source": source, **row} for row in rows])


def report_tables(report: MarketerReport) -> list[Table]:
    """Every table of ``report``: summary, days, levels, segments, conversions, pacing..."""
    source = SYNTHETIC if report.synthetic else LIVE
    attribution = report.attribution.setting
    tables = [
        _table(
            "summary",
            ("object_id", "level", "since", "until", "attribution", *METRIC_COLUMNS),
            [_head(report) | {"attribution": attribution} | metric_cells(report.summary)],
            source,
        ),
        _table(
            "daily",
            ("day", *METRIC_COLUMNS),
            ({"day": p.day} | metric_cells(p.metrics) for p in report.daily),
            source,
        ),
    ]
    for level, rows in report.rows.items():
        tables.append(_level_table(level, rows, source))
    tables += [
        _segment_table("platforms", ("publisher_platform",), report.platforms, source),
        _segment_table(
            "placements", ("publisher_platform", "platform_position"), report.placements, source
        ),
        _segment_table("age_gender", ("age", "gender"), report.demographics, source),
        _conversions(report, source),
        _pacing(report, source),
        _comparison(report, source),
        _table(
            "recommendations",
            ("code", "message"),
            ({"code": r.code, "message": r.message} for r in report.recommendations),
            source,
        ),
    ]
    return tables


def _head(report: MarketerReport) -> dict[str, Any]:
    return {
        "object_id": report.object_id,
        "level": report.level,
        "since": report.since,
        "until": report.until,
    }


def _level_table(level: str, rows: Sequence[LevelRow], source: str) -> Table:
    keys = ("id", "name", "attribution_setting", "thumbnail_url", *METRIC_COLUMNS)
    cells = (
        {
            "id": row.id,
            "name": row.name,
            "attribution_setting": row.attribution_setting,
            "thumbnail_url": row.thumbnail_url,
        }
        | metric_cells(row.metrics)
        for row in rows
    )
    return _table(f"{level}s", keys, cells, source)


def _segment_table(
    name: str, dimensions: tuple[str, ...], segments: Sequence[Segment], source: str
) -> Table:
    cells = ({d: s.values.get(d) for d in dimensions} | metric_cells(s.metrics) for s in segments)
    return _table(name, (*dimensions, *METRIC_COLUMNS), cells, source)


def _conversions(report: MarketerReport, source: str) -> Table:
    """Conversions by action type: count and value per object, and the count per window.

    ``count`` and ``value`` use the attribution setting (column ``attribution``); each
    ``count_<window>`` column is one window asked for and still returned by Meta.
    """
    windows = report.attribution.windows
    objects = [("total", report.object_id, report.summary)]
    objects += [(row.level, row.id, row.metrics) for rows in report.rows.values() for row in rows]
    keys = ("level", "id", "action_type", "attribution", "count", "value", "currency")
    cells = [
        {
            "level": level,
            "id": object_id,
            "action_type": action,
            "attribution": report.attribution.setting,
            "count": count,
            "value": _places(m.action_values.get(action), MONEY_PLACES),
            "currency": m.currency,
        }
        | {f"count_{w}": m.windows.get(w, {}).get(action) for w in windows}
        for level, object_id, m in objects
        for action, count in sorted(m.actions.items())
    ]
    return _table("conversions", (*keys, *(f"count_{w}" for w in windows)), cells, source)


def _pacing(report: MarketerReport, source: str) -> Table:
    keys = (
        "budget_kind", "budget", "currency", "schedule_start", "schedule_end", "period_days",
        "spent", "schedule_spent", "expected", "share", "daily_average", "days_left",
        "projected", "status",
    )  # fmt: skip
    p = report.pacing
    rows = []
    if p is not None:
        rows.append(
            {
                "budget_kind": p.budget.kind,
                "budget": p.budget.amount.major,
                "currency": p.budget.amount.currency,
                "schedule_start": p.budget.start,
                "schedule_end": p.budget.end,
                "period_days": p.period_days,
                "spent": p.spent.major,
                "schedule_spent": p.schedule_spent.major,
                "expected": p.expected.major,
                "share": _places(p.share, RATIO_PLACES),
                "daily_average": p.daily_average.major,
                "days_left": p.days_left,
                "projected": None if p.projected is None else p.projected.major,
                "status": p.status,
            }
        )
    return _table("pacing", keys, rows, source)


def _comparison(report: MarketerReport, source: str) -> Table:
    keys = (
        "figure",
        "current",
        "previous",
        "change",
        "percent",
        "previous_since",
        "previous_until",
    )
    c = report.previous
    if c is None:
        return _table("comparison", keys, [], source)
    rows = [
        {
            "figure": change.figure,
            "current": _places(change.current, RATIO_PLACES),
            "previous": _places(change.previous, RATIO_PLACES),
            "change": _places(change.change, RATIO_PLACES),
            "percent": _places(change.percent, RATIO_PLACES),
            "previous_since": c.since,
            "previous_until": c.until,
        }
        for change in c.changes
    ]
    return _table("comparison", keys, rows, source)


def accounts_tables(report: AccountsReport) -> list[Table]:
    """The accounts report's tables: per account, per currency, and the converted total."""
    source = SYNTHETIC if report.synthetic else LIVE
    tables = [
        _table(
            "accounts",
            ("account_id", "name", *METRIC_COLUMNS),
            (
                {"account_id": a.account_id, "name": a.name} | metric_cells(a.metrics)
                for a in report.accounts
            ),
            source,
        ),
        _table(
            "currencies",
            ("accounts", *METRIC_COLUMNS),
            ({"accounts": c.accounts} | metric_cells(c.metrics) for c in report.currencies),
            source,
        ),
    ]
    converted = report.converted
    rows = []
    if converted is not None:
        rows = [
            {
                "currency": converted.currency,
                "spend": converted.spend.major,
                "revenue": converted.revenue.major,
                "rates": ", ".join(
                    f"1 {k} = {v} {converted.currency}" for k, v in converted.rates.items()
                ),
            }
        ]
    tables.append(_table("converted", ("currency", "spend", "revenue", "rates"), rows, source))
    return tables
