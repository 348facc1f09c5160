"""`insights` and `report` as table, CSV, JSON and the self-contained HTML page."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from tests.interfaces.conftest import age_sandbox, invoke, json_of, write_request
from tests.interfaces.test_run import _small_request

INR_ACCOUNT = "act_1234567890"


@pytest.fixture
def campaign_id(tmp_path: Path, data_dir: Path) -> str:
    """An ACTIVE campaign in the persisted sandbox with ten days of history."""
    request = _small_request("history", activate=True)
    result = invoke("run", str(write_request(tmp_path, request)), "--json")
    assert result.exit_code == 0, result.output
    age_sandbox(data_dir, days=10)
    return str(json_of(result)["result"]["campaign"]["id"])


def test_insights_json_csv_and_table_agree(campaign_id: str) -> None:
    """The same daily query as JSON, CSV and a table: same rows, same spend."""
    args = ("insights", campaign_id, "--level", "campaign", "--date-preset", "last_7d")
    rows = json_of(invoke(*args, "--time-increment", "1", "--json"))
    assert len(rows) == 7
    total = sum(Decimal(row["spend"]) for row in rows)
    assert total > 0
    text = invoke(*args, "--time-increment", "1", "--format", "csv").stdout
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert sum(Decimal(row["spend"]) for row in parsed) == total
    assert any(name.startswith("actions.") for name in parsed[0])
    table = invoke(*args, "--time-increment", "1")
    assert table.exit_code == 0, table.output
    assert rows[0]["date_start"] in table.stdout


def test_insights_breakdowns_and_time_range(campaign_id: str) -> None:
    """--breakdowns and --since/--until reach Meta's query: one row per platform."""
    rows = json_of(
        invoke(
            "insights",
            campaign_id,
            "--since",
            _day(-7),
            "--until",
            _day(-1),
            "--breakdowns",
            "publisher_platform",
            "--json",
        )
    )
    platforms = {row["publisher_platform"] for row in rows}
    assert "facebook" in platforms
    assert len(platforms) == len(rows)


def _day(offset: int) -> str:
    """A day relative to today (inside the ten days of history either way round midnight)."""
    return (date.today() + timedelta(days=offset)).isoformat()


def test_insights_bad_breakdown_is_a_usage_error(campaign_id: str) -> None:
    """A breakdown mix Meta does not serve exits 2 before anything is sent, naming the field."""
    result = invoke("insights", campaign_id, "--breakdowns", "age,publisher_platform", "--json")
    assert result.exit_code == 2, result.output
    assert json_of(result)["error"]["field"].endswith("breakdowns")


def test_insights_half_a_range_is_a_usage_error() -> None:
    """--since without --until exits 2."""
    result = invoke("insights", INR_ACCOUNT, "--since", "2026-01-01")
    assert result.exit_code == 2
    assert "--until" in result.stderr


def test_insights_of_an_unknown_object_is_an_api_error() -> None:
    """Meta (the sandbox) does not know the object: exit 3, Meta's message shown."""
    result = invoke("insights", "120219999999999999", "--level", "campaign", "--json")
    assert result.exit_code == 3, result.output
    assert json_of(result)["error"]["kind"] in {"not_found", "invalid_parameter"}
    assert "Traceback" not in result.output


def test_report_html_has_charts_and_the_models_numbers(campaign_id: str, tmp_path: Path) -> None:
    """report --format html: one page, three SVG charts, the spend total of the JSON report."""
    model = json_of(invoke("report", campaign_id, "--level", "campaign", "--json"))
    spend = Decimal(model["summary"]["spend_major"])
    assert spend > 0
    page_file = tmp_path / "report.html"
    result = invoke("report", campaign_id, "--format", "html", "--out", str(page_file))
    assert result.exit_code == 0, result.output
    page = page_file.read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert f"INR {spend:,.2f}" in page
    for chart in ("chart-daily", "chart-platforms", "chart-demographics"):
        assert f'<svg id="{chart}"' in page
    assert len(re.findall(r'<rect class="bar"', page)) >= 7 + 2
    assert "<script" not in page
    assert not re.search(r"""(src|href)=["']https?:""", page)


def test_report_table_and_file_output(campaign_id: str, tmp_path: Path) -> None:
    """report as tables on stdout, or as plain text in --out."""
    shown = invoke("report", campaign_id)
    assert shown.exit_code == 0, shown.output
    assert "By platform" in shown.stdout
    saved = tmp_path / "report.txt"
    assert invoke("report", campaign_id, "--out", str(saved)).exit_code == 0
    assert "By age and gender" in saved.read_text()
