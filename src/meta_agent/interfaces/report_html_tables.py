"""The HTML page's efficiency tables: levels, platforms, placements, age and gender, pacing,
the previous period, and the notices (synthetic data, no delivery, attribution).

Each table has an ``id`` (``table-campaign``, ``table-placements``...) and ``data-`` cells a
parser can read; the figures are the terminal tables' (:mod:`.report_views`). A thumbnail
is shown only when it is embedded (a ``data:`` URI), so the page stays self-contained.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from meta_agent.agents.report import Segment
from meta_agent.agents.reporting.accounts import AccountsReport
from meta_agent.agents.reporting.builder import MarketerReport
from meta_agent.agents.reporting.levels import LevelRow
from meta_agent.interfaces.report_views import (
    EFFICIENCY,
    LEVEL_TITLES,
    SYNTHETIC_NOTICE,
    attribution_line,
    change_cells,
    converted_line,
    efficiency_cells,
    pacing_lines,
    previous_title,
)

# A table is its own scroll box (display:block) holding a full-width grid (the tbody), so a
# wide one scrolls sideways inside the page on a phone instead of widening the page.
CSS = """
table.eff{border-collapse:collapse;background:#fff;border-radius:8px;box-shadow:0 1px 2px #0002;
width:100%;font-size:.85rem;display:block;overflow-x:auto}table.eff>tbody{display:table;width:100%}
table.eff th,table.eff td{padding:5px 8px;border-bottom:1px solid #e4e7eb}
table.eff th{text-align:left;color:#52606d;font-weight:600}table.eff td.n{text-align:right;white-space:nowrap}
.notice{background:#fff3bf;border-radius:8px;padding:10px 12px;margin:12px 0;font-weight:600}
.note{background:#e7f5ff;border-radius:8px;padding:10px 12px}
.attr{color:#52606d;font-size:.85rem}img.thumb{width:48px;height:48px;object-fit:cover}
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def notices(report: MarketerReport) -> str:
    """The synthetic-data banner (sandbox mode) and the attribution line."""
    banner = (
        f'<p class="notice" id="synthetic">{_e(SYNTHETIC_NOTICE)}</p>' if report.synthetic else ""
    )
    return banner + f'<p class="attr" id="attribution">{_e(attribution_line(report))}</p>'


def note(report: MarketerReport) -> str:
    """Why there is no advice, in words (no delivery, too little data); empty otherwise."""
    return f'<p class="note" id="note">{_e(report.note)}</p>' if report.note else ""


def sections(report: MarketerReport) -> list[str]:
    """Every efficiency table, each under its heading."""
    parts: list[str] = []
    for level, rows in report.rows.items():
        title = LEVEL_TITLES.get(level, level)
        parts += [f"<h2>{_e(title)}</h2>", _level_table(level, rows)]
    segments = (
        ("platforms", "Efficiency by platform", ("Platform",), report.platforms),
        ("placements", "Efficiency by placement", ("Platform", "Position"), report.placements),
        ("age-gender", "Efficiency by age and gender", ("Age", "Gender"), report.demographics),
    )
    for key, title, labels, items in segments:
        parts += [f"<h2>{_e(title)}</h2>", _segment_table(key, labels, items)]
    if report.pacing is not None:
        pairs = "".join(
            f'<tr><th>{_e(label)}</th><td class="n">{_e(value)}</td></tr>'
            for label, value in pacing_lines(report.pacing)
        )
        parts += ["<h2>Pacing</h2>", f'<table class="eff" id="table-pacing">{pairs}</table>']
    if report.previous is not None:
        head = ("Figure", "This period", "Previous", "Change", "Change %")
        parts += [
            f"<h2>{_e(previous_title(report.previous))}</h2>",
            _table("table-previous", head, change_cells(report), text_columns=1),
        ]
    return parts


def _level_table(level: str, rows: Sequence[LevelRow]) -> str:
    head = ("Name", "ID", *(label for label, _ in EFFICIENCY))
    body = [[_name_cell(row), _e(row.id), *map(_e, efficiency_cells(row.metrics))] for row in rows]
    return _table(f"table-{level}", head, body, text_columns=2, escaped=True)


def _name_cell(row: LevelRow) -> str:
    url = row.thumbnail_url or ""
    image = f'<img class="thumb" alt="" src="{_e(url)}"> ' if url.startswith("data:image/") else ""
    return image + _e(row.name)


def _segment_table(key: str, labels: Sequence[str], segments: Sequence[Segment]) -> str:
    head = (*labels, *(label for label, _ in EFFICIENCY))
    body = [[*s.values.values(), *efficiency_cells(s.metrics)] for s in segments]
    return _table(f"table-{key}", head, body, text_columns=len(labels))


def _table(
    table_id: str,
    head: Sequence[str],
    body: Sequence[Sequence[str]],
    *,
    text_columns: int,
    escaped: bool = False,
) -> str:
    if not body:
        return f'<p class="note" id="{_e(table_id)}">No delivery to show here.</p>'
    header = "".join(f"<th>{_e(name)}</th>" for name in head)
    rows = "".join(
        "<tr>"
        + "".join(_cell(i >= text_columns, c if escaped else _e(c)) for i, c in enumerate(cells))
        + "</tr>"
        for cells in body
    )
    return f'<table class="eff" id="{_e(table_id)}"><tr>{header}</tr>{rows}</table>'


def _cell(numeric: bool, content: str) -> str:
    return f'<td class="n">{content}</td>' if numeric else f"<td>{content}</td>"


def accounts_sections(report: AccountsReport) -> list[str]:
    """The accounts report's tables: per account, per currency, and the converted total."""
    banner = (
        f'<p class="notice" id="synthetic">{_e(SYNTHETIC_NOTICE)}</p>' if report.synthetic else ""
    )
    efficiency = [label for label, _ in EFFICIENCY]
    accounts = [
        [a.account_id, a.name, a.currency, *efficiency_cells(a.metrics)] for a in report.accounts
    ]
    currencies = [
        [c.currency, str(c.accounts), *efficiency_cells(c.metrics)] for c in report.currencies
    ]
    parts = [
        banner,
        "<h2>Accounts</h2>",
        _table(
            "table-accounts", ("Account", "Name", "Currency", *efficiency), accounts, text_columns=3
        ),
        "<h2>Totals per currency (never added across currencies)</h2>",
        _table(
            "table-currencies", ("Currency", "Accounts", *efficiency), currencies, text_columns=1
        ),
    ]
    if report.converted is not None:
        parts.append(f'<p class="note" id="converted">{_e(converted_line(report.converted))}</p>')
    return parts
