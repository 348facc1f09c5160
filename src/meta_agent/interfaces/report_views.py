"""The marketer's report as terminal tables: levels, placements, pacing, the previous period.

The column set (:data:`EFFICIENCY`) and the wording of notes are shared with the HTML page
(:mod:`meta_agent.interfaces.report_html_tables`), so both show the same figures.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from meta_agent.agents.report import Metrics, Segment
from meta_agent.agents.reporting.accounts import AccountsReport, Converted
from meta_agent.agents.reporting.builder import MarketerReport
from meta_agent.agents.reporting.levels import LevelRow
from meta_agent.agents.reporting.pacing import Pacing
from meta_agent.agents.reporting.periods import Comparison
from meta_agent.interfaces.render import add_row, money, number, report_views

SYNTHETIC_NOTICE = "Synthetic data: these figures come from the meta-agent sandbox, not from Meta."
LEVEL_TITLES = {"campaign": "Campaigns", "adset": "Ad sets", "ad": "Ads", "creative": "Creatives"}
FIGURE_LABELS = {
    "spend_major": "Spend", "impressions": "Impressions", "reach": "Reach", "clicks": "Clicks",
    "results": "Results", "revenue": "Conversion value", "ctr": "CTR %", "cpc": "CPC",
    "cpm": "CPM", "frequency": "Frequency", "cost_per_result": "Cost per result", "roas": "ROAS",
}  # fmt: skip
Cell = Callable[[Metrics], str]
COUNTS = frozenset({"impressions", "reach", "clicks", "results"})


EFFICIENCY: tuple[tuple[str, Cell], ...] = (
    ("Spend", lambda m: money(m.spend_major, m.currency)),
    ("Results", lambda m: number(m.results, 0)),
    ("Cost/result", lambda m: money(m.cost_per_result, m.currency)),
    ("CTR %", lambda m: number(m.ctr)),
    ("CPC", lambda m: money(m.cpc, m.currency)),
    ("CPM", lambda m: money(m.cpm, m.currency)),
    ("Freq.", lambda m: number(m.frequency)),
    ("Value", lambda m: money(m.revenue, m.currency)),
    ("ROAS", lambda m: number(m.roas)),
)


def efficiency_cells(m: Metrics) -> list[str]:
    """The efficiency columns of one object or segment."""
    return [cell(m) for _, cell in EFFICIENCY]


def attribution_line(report: MarketerReport) -> str:
    """Which attribution every conversion figure uses, and the windows shown or dropped."""
    text = f"Conversions counted with {report.attribution.setting}"
    if report.attribution.windows:
        text += f"; windows shown: {', '.join(report.attribution.windows)}"
    if report.attribution.dropped:
        text += f"; not returned by Meta any more: {', '.join(report.attribution.dropped)}"
    return text + "."


def pacing_lines(p: Pacing) -> list[tuple[str, str]]:
    """Pacing as (label, value)."""
    budget = f"{money(p.budget.amount.major, p.budget.amount.currency)} {p.budget.kind}"
    end = str(p.budget.end) if p.budget.end else "no end date"
    share = "-" if p.share is None else f"{number(p.share * 100, 0)}%"
    projected = "-" if p.projected is None else money(p.projected.major, p.projected.currency)
    return [
        ("Budget", budget),
        ("Schedule", f"{p.budget.start or '-'} to {end}"),
        ("Spent in the period", money(p.spent.major, p.spent.currency)),
        ("Spent since the start", money(p.schedule_spent.major, p.schedule_spent.currency)),
        ("Expected by now", money(p.expected.major, p.expected.currency)),
        ("Pace", f"{share} ({p.status.replace('_', ' ')})"),
        ("Daily average", money(p.daily_average.major, p.daily_average.currency)),
        ("Projected to the end", projected),
    ]


def change_cells(report: MarketerReport) -> list[list[str]]:
    """Each compared figure: label, now, before, change, change %."""
    if report.previous is None:
        return []
    rows = []
    for c in report.previous.changes:
        places = 0 if c.figure in COUNTS else 2
        rows.append(
            [
                FIGURE_LABELS.get(c.figure, c.figure),
                number(c.current, places),
                number(c.previous, places),
                number(c.change, places),
                "-" if c.percent is None else f"{number(c.percent, 1)}%",
            ]
        )
    return rows


def previous_title(previous: Comparison) -> str:
    """``Against the previous period (2026-11-11 to 2026-11-17)``."""
    return f"Against the previous period ({previous.since} to {previous.until})"


def marketer_views(report: MarketerReport) -> list[RenderableType]:
    """The whole report as terminal views: the performance report, then everything added."""
    views: list[RenderableType] = []
    if report.synthetic:
        views.append(Text(SYNTHETIC_NOTICE, style="bold yellow"))
    base = report_views(report)
    views += base[:-1]
    views.append(_advice(report, base[-1]))
    views.append(Text(attribution_line(report), style="dim"))
    for level, rows in report.rows.items():
        views.append(_level_table(LEVEL_TITLES.get(level, level), rows))
    if report.placements:
        views.append(_segments("By placement", ["Platform", "Position"], report.placements))
    if report.pacing is not None:
        views.append(_pairs("Pacing", pacing_lines(report.pacing)))
    if report.previous is not None:
        views.append(_changes(report))
    return views


def _advice(report: MarketerReport, recommendations: RenderableType) -> RenderableType:
    """The note in words when there is nothing to judge, else the recommendations."""
    return Text(report.note, style="yellow") if report.note else recommendations


def _level_table(title: str, rows: Sequence[LevelRow]) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("Name")
    table.add_column("ID")
    for label, _ in EFFICIENCY:
        table.add_column(label, justify="right")
    for row in rows:
        add_row(table, row.name, row.id, *efficiency_cells(row.metrics))
    return table


def _segments(title: str, labels: list[str], segments: Sequence[Segment]) -> Table:
    table = Table(title=title, title_justify="left")
    for label in labels:
        table.add_column(label)
    for label, _ in EFFICIENCY:
        table.add_column(label, justify="right")
    for segment in segments:
        add_row(table, *segment.values.values(), *efficiency_cells(segment.metrics))
    return table


def _pairs(title: str, pairs: Sequence[tuple[str, str]]) -> Table:
    table = Table(title=title, title_justify="left", show_header=False)
    table.add_column("Figure")
    table.add_column("Value", justify="right")
    for label, value in pairs:
        add_row(table, label, value)
    return table


def _changes(report: MarketerReport) -> Table:
    assert report.previous is not None
    table = Table(title=previous_title(report.previous), title_justify="left")
    for column in ("Figure", "This period", "Previous", "Change", "Change %"):
        table.add_column(column, justify="left" if column == "Figure" else "right")
    for cells in change_cells(report):
        add_row(table, *cells)
    return table


def accounts_views(report: AccountsReport) -> list[RenderableType]:
    """The accounts report: one row per account, then totals per currency (never mixed)."""
    views: list[RenderableType] = []
    if report.synthetic:
        views.append(Text(SYNTHETIC_NOTICE, style="bold yellow"))
    span = f"{report.since} to {report.until}" if report.since else report.date_preset or "-"
    accounts = Table(title=f"Accounts, {span}", title_justify="left")
    for column in ("Account", "Name", "Currency"):
        accounts.add_column(column)
    for label, _ in EFFICIENCY:
        accounts.add_column(label, justify="right")
    for item in report.accounts:
        add_row(
            accounts, item.account_id, item.name, item.currency, *efficiency_cells(item.metrics)
        )
    totals = Table(
        title="Totals per currency (never added across currencies)", title_justify="left"
    )
    totals.add_column("Currency")
    totals.add_column("Accounts", justify="right")
    for label, _ in EFFICIENCY:
        totals.add_column(label, justify="right")
    for group in report.currencies:
        add_row(totals, group.currency, str(group.accounts), *efficiency_cells(group.metrics))
    views += [accounts, totals]
    if report.converted is not None:
        views.append(Text(converted_line(report.converted)))
    return views


def converted_line(c: Converted) -> str:
    """The converted total in words, with the rates it used."""
    rates = ", ".join(f"1 {k} = {v} {c.currency}" for k, v in c.rates.items()) or "none"
    return (
        f"Converted at stated rates ({rates}): spend {money(c.spend.major, c.currency)}, "
        f"conversion value {money(c.revenue.major, c.currency)}."
    )
