"""Rendering: figures formatted once, text shown as given (never markup), the page escaped."""

from __future__ import annotations

import io
from decimal import Decimal

from rich.console import Console

from meta_agent.agents.report import Metrics, PerformanceReport, Recommendation, Segment
from meta_agent.interfaces.render import created_table, flatten, insights_csv, number
from meta_agent.interfaces.report_html import nice_ceiling, render_html


def _report(platform: str, recommendation: str) -> PerformanceReport:
    metrics = Metrics(currency="USD", impressions=1200, clicks=7, spend_major=Decimal("1234.5"))
    return PerformanceReport(
        object_id="120210000000000001",
        level="campaign",
        date_preset="last_7d",
        currency="USD",
        summary=metrics,
        daily=[],
        platforms=[Segment(values={"publisher_platform": platform}, metrics=metrics)],
        demographics=[],
        recommendations=[Recommendation(code="low_ctr", message=recommendation)],
    )


def test_numbers_have_separators_and_a_dash_for_nothing() -> None:
    """1234.5 shows as 1,234.50, an int as 1,234, a missing ratio as -."""
    assert number(Decimal("1234.5")) == "1,234.50"
    assert number(1234) == "1,234"
    assert number(None) == "-"


def test_table_cells_are_never_read_as_markup() -> None:
    """A name with [brackets] appears as written in the created table."""
    buffer = io.StringIO()
    result = {"campaign": {"id": "1", "name": "[bold]Sale[/bold] [page_id]", "status": "PAUSED"}}
    Console(file=buffer, width=120).print(created_table(result))
    assert "[bold]Sale[/bold] [page_id]" in buffer.getvalue()


def test_actions_flatten_into_columns_for_csv() -> None:
    """actions lists become actions.<type> columns; the CSV header names them."""
    row = {"spend": "1.00", "actions": [{"action_type": "link_click", "value": "3"}]}
    assert flatten(row) == {"spend": "1.00", "actions.link_click": "3"}
    assert insights_csv([row]).splitlines() == ["spend,actions.link_click", "1.00,3"]


def test_html_escapes_text_and_says_when_a_chart_is_empty() -> None:
    """Text from Meta or the caller is escaped; a chart without data says so, still an SVG."""
    page = render_html(_report("<script>alert(1)</script>", "CTR is low & <b>bad</b>"))
    assert "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "CTR is low &amp; &lt;b&gt;bad&lt;/b&gt;" in page
    assert page.count("No data for this period.") == 2
    assert page.count("<svg ") == 3
    assert "USD 1,234.50" in page


def test_chart_scales_round_up_to_readable_numbers() -> None:
    """Axis tops are 1, 2, 2.5 or 5 times a power of ten, at or above the peak."""
    assert nice_ceiling(0) == 1.0
    assert nice_ceiling(1447.59) == 2000.0
    assert nice_ceiling(2915.11) == 5000.0
    assert nice_ceiling(240) == 250.0
