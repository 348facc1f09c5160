"""`report` for marketers through the CLI: the HTML page parsed, CSV and Parquet per table,
across accounts, on a schedule into a folder and to a signed webhook; synthetic data said."""

from __future__ import annotations

import csv
import json
import sys
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from meta_agent.errors import TransientError
from meta_agent.interfaces.cli_common import open_service
from meta_agent.interfaces.http.webhooks import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    verify_signature,
)
from meta_agent.interfaces.report_html import render_any_html
from meta_agent.interfaces.report_request import AnyReport, ReportRequest
from meta_agent.interfaces.report_schedule import (
    PRESETS,
    RETRY_SECONDS,
    STATE_FILE,
    Cadence,
    Schedule,
)
from tests.conftest import LiveServer
from tests.interfaces.conftest import invoke, json_of, write_request
from tests.interfaces.test_insights_report import INR_ACCOUNT, campaign_id  # noqa: F401
from tests.interfaces.test_run import _small_request

SYNTHETIC = "sandbox (synthetic)"


class Page(HTMLParser):
    """The page's tables by id (rows of cell texts), element ids, and every src/href."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.scripts = 0
        self._table: str | None = None
        self._cell: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if named.get("id"):
            self.ids.add(str(named["id"]))
        self.links += [str(v) for k, v in attrs if k in {"src", "href"}]
        self.scripts += tag == "script"
        if tag == "table":
            self._table = str(named.get("id"))
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif tag in {"td", "th"} and self._table:
            self._cell = []

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag in {"td", "th"} and self._cell is not None and self._table:
            self.tables[self._table][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._table = None

    def column(self, table: str, name: str) -> list[str]:
        """The cells of column ``name`` (by its header), header row excluded."""
        header, *rows = self.tables[table]
        index = header.index(name)
        return [row[index] for row in rows]


def amount(cell: str) -> Decimal:
    """``INR 1,234.56`` as 1234.56."""
    return Decimal(cell.split(" ", 1)[1].replace(",", ""))


def test_html_page_has_every_efficiency_table_and_says_synthetic(
    campaign_id: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    """Parsed: ad set, ad, creative, platform, placement, age x gender, pacing and previous
    period tables; ad set spends add up to the JSON total; synthetic banner; no script."""
    model = json_of(invoke("report", campaign_id, "--json"))
    assert model["level"] == "campaign"  # asked of Meta: no --level given
    assert model["synthetic"] is True
    page_file = tmp_path / "report.html"
    assert invoke("report", campaign_id, "--format", "html", "--out", str(page_file)).exit_code == 0
    page = Page(page_file.read_text())
    for table in ("adset", "ad", "creative", "platforms", "placements", "age-gender"):
        assert f"table-{table}" in page.tables, table
    assert {"table-pacing", "table-previous", "synthetic", "attribution"} <= page.ids
    spends = [amount(cell) for cell in page.column("table-adset", "Spend")]
    total = Decimal(model["summary"]["spend_major"])
    assert abs(sum(spends) - total) <= Decimal("0.01") * len(spends)
    assert page.column("table-previous", "Figure")[0] == "Spend"
    # The persisted sandbox keeps no image bytes between runs: no thumbnail, and no link.
    assert len(page.column("table-creative", "Name")) == len(model["rows"]["creative"]) > 0
    assert page.scripts == 0
    assert not [link for link in page.links if link.startswith(("http:", "https:"))]


def test_csv_per_table_adds_up_and_says_synthetic(
    campaign_id: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    """--format csv --out DIR: one file per table; each level's spend is the summary's."""
    folder = tmp_path / "csv"
    result = invoke("report", campaign_id, "--format", "csv", "--out", str(folder))
    assert result.exit_code == 0, result.output
    tables = {path.stem: _rows(path) for path in folder.glob("*.csv")}
    assert {"summary", "daily", "adsets", "ads", "creatives", "placements", "age_gender"} <= set(
        tables
    )
    assert {"pacing", "comparison", "conversions", "recommendations"} <= set(tables)
    total = Decimal(tables["summary"][0]["spend"])
    for name in ("adsets", "ads", "creatives", "placements", "platforms", "age_gender"):
        rows = tables[name]
        assert abs(sum(Decimal(row["spend"]) for row in rows) - total) <= Decimal("0.005") * len(
            rows
        ), name
    assert all(row["source"] == SYNTHETIC for rows in tables.values() for row in rows)
    conversions = tables["conversions"]
    assert {row["attribution"] for row in conversions} == {"7d_click_1d_view"}
    for level in ("adset", "ad", "creative"):
        counts = [
            Decimal(row["count"])
            for row in conversions
            if row["level"] == level and row["action_type"] == "link_click"
        ]
        total_clicks = next(
            Decimal(row["count"])
            for row in conversions
            if row["level"] == "total" and row["action_type"] == "link_click"
        )
        assert sum(counts) == total_clicks > 0, level


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_parquet_keeps_exact_decimals_and_the_source(
    campaign_id: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    """--format parquet: the same tables, decimals exact, provenance in the file metadata."""
    parquet = pytest.importorskip("pyarrow.parquet")
    folder = tmp_path / "pq"
    result = invoke("report", campaign_id, "--format", "parquet", "--out", str(folder))
    assert result.exit_code == 0, result.output
    summary = parquet.read_table(folder / "summary.parquet")
    assert summary.schema.metadata[b"meta_agent.source"] == SYNTHETIC.encode()
    model = json_of(invoke("report", campaign_id, "--json"))
    spend = summary.column("spend").to_pylist()[0]
    assert spend == Decimal(model["summary"]["spend_major"]).quantize(Decimal("0.01"))
    adsets = parquet.read_table(folder / "adsets.parquet")
    assert adsets.num_rows == len(model["rows"]["adset"])


def test_parquet_without_pyarrow_says_how_to_install_it(
    campaign_id: str,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No pyarrow: exit 2 naming the 'parquet' extra, nothing written."""
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    folder = tmp_path / "pq"
    result = invoke("report", campaign_id, "--format", "parquet", "--out", str(folder))
    assert result.exit_code == 2, result.output
    assert "meta-agent[parquet]" in result.output
    assert not folder.exists()


def test_csv_needs_a_folder(campaign_id: str) -> None:  # noqa: F811
    """--format csv without --out is a usage error naming --out."""
    result = invoke("report", campaign_id, "--format", "csv")
    assert result.exit_code == 2
    assert "--out DIR" in result.output


def test_across_accounts_keeps_currencies_apart(
    campaign_id: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    """report all: a row per account, a total per currency, a converted total only at a
    stated rate (a missing rate is a usage error naming it)."""
    report = json_of(invoke("report", "all", "--json"))
    assert report["synthetic"] is True
    currencies = {group["currency"] for group in report["currencies"]}
    assert {"INR", "USD"} <= currencies
    assert report["converted"] is None
    missing = invoke("report", "all", "--convert-to", "INR", "--json")
    assert missing.exit_code == 2
    assert json_of(missing)["error"]["field"] == "rates"
    rates = [arg for c in sorted(currencies - {"INR"}) for arg in ("--rate", f"{c}=80")]
    converted = json_of(invoke("report", "all", "--convert-to", "INR", *rates, "--json"))
    assert converted["converted"]["rates"] == dict.fromkeys(currencies - {"INR"}, "80")
    table = invoke("report", f"{INR_ACCOUNT},act_9876543210")
    assert table.exit_code == 0, table.output
    assert "never added across currencies" in table.stdout
    assert "Synthetic data" in table.stdout
    page = tmp_path / "accounts.html"
    assert invoke("report", "all", "--format", "html", "--out", str(page)).exit_code == 0
    parsed = Page(page.read_text())
    assert set(parsed.column("table-currencies", "Currency")) == currencies
    assert len(parsed.column("table-accounts", "Account")) == len(report["accounts"])
    assert "synthetic" in parsed.ids


def test_a_scheduled_report_runs_once_a_day_and_remembers(
    campaign_id: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    """--schedule daily --runs 1: today's folder with the page, JSON and CSVs; the state
    file records the run, so the schedule knows the next one is due tomorrow."""
    folder = tmp_path / "daily"
    args = ("report", campaign_id, "--schedule", "daily", "--out", str(folder), "--runs", "1")
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    today = datetime.now(UTC).date().isoformat()
    run = folder / today
    assert {"report.html", "report.json", "summary.csv", "adsets.csv"} <= {
        p.name for p in run.iterdir()
    }
    state = json.loads((folder / STATE_FILE).read_text())
    assert [entry["day"] for entry in state["runs"]] == [today]
    assert json.loads((run / "report.json").read_text())["date_preset"] == "yesterday"
    assert Page((run / "report.html").read_text()).ids >= {"synthetic"}


def test_a_scheduled_report_is_delivered_signed_to_the_webhook(
    campaign_id: str,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """--webhook: the JSON is POSTed with a signature the receiver verifies; the egress
    guard refuses loopback unless the setting allows it; no secret is a usage error."""
    got: list[tuple[bytes, dict[str, str]]] = []

    async def hook(request: Request) -> Response:
        got.append((await request.body(), dict(request.headers)))
        return Response(status_code=204)

    folder = tmp_path / "hooked"
    with LiveServer(Starlette(routes=[Route("/hook", hook, methods=["POST"])])) as live:
        args = ("report", campaign_id, "--schedule", "weekly", "--out", str(folder))
        hooked = (*args, "--runs", "1", "--webhook", f"{live.url}/hook")
        unsigned = invoke(*hooked)
        assert unsigned.exit_code == 2
        assert "webhook_secret" in unsigned.output
        monkeypatch.setenv("META_AGENT_SERVICE__WEBHOOK_SECRET", "s3cret")
        refused = invoke(*hooked)
        assert refused.exit_code == 2
        assert "loopback" in refused.output
        monkeypatch.setenv("META_AGENT_SERVICE__EGRESS_ALLOW_LOOPBACK", "true")
        result = invoke(*hooked)
        assert result.exit_code == 0, result.output
    assert len(got) == 1
    body, headers = got[0]
    signature = headers[SIGNATURE_HEADER.lower()]
    assert verify_signature("s3cret", headers[TIMESTAMP_HEADER.lower()], body, signature)
    delivered = json.loads(body)
    assert delivered["source"] == SYNTHETIC
    assert delivered["report"]["date_preset"] == "last_7d"
    state = json.loads((folder / STATE_FILE).read_text())
    assert state["runs"][-1]["delivered"] is True


def test_insights_of_no_delivery_say_so(campaign_id: str) -> None:  # noqa: F811
    """A period before the campaign existed: words, not a blank line (CSV: on stderr)."""
    span = ("--since", "2025-01-01", "--until", "2025-01-07")
    result = invoke("insights", campaign_id, *span)
    assert result.exit_code == 0, result.output
    assert "No delivery" in result.stdout
    as_csv = invoke("insights", campaign_id, *span, "--format", "csv")
    assert as_csv.stdout == ""
    assert "No delivery" in as_csv.stderr


async def test_a_restarted_schedule_runs_only_when_due(
    campaign_id: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    """Restarted the same day, a daily schedule waits for midnight, then runs for the new day;
    a weekly one is not due again for seven days."""
    clock = [datetime(2026, 12, 3, 9, 0, tzinfo=UTC)]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += timedelta(seconds=seconds)

    async with open_service(None, announce=False) as service:
        request = ReportRequest(campaign_id)

        def plan(cadence: Cadence) -> Schedule:
            return Schedule(
                build=lambda: request.build(service, {"date_preset": PRESETS[cadence]}),
                cadence=cadence,
                folder=tmp_path / cadence,
                render_html=render_any_html,
            )

        assert await plan("daily").run(now=lambda: clock[0], sleep=sleep, runs=1) == 1
        assert await plan("daily").run(now=lambda: clock[0], sleep=sleep, runs=1) == 1
        assert slept == [15 * 3600]
        state = json.loads((tmp_path / "daily" / STATE_FILE).read_text())
        assert [entry["day"] for entry in state["runs"]] == ["2026-12-03", "2026-12-04"]
        weekly = plan("weekly")
        await weekly.run_once(date(2026, 12, 1))
        assert not weekly.due(date(2026, 12, 7))
        assert weekly.due(date(2026, 12, 8))


def test_a_report_without_delivery_says_so_in_words(tmp_path: Path) -> None:
    """A paused campaign: the table and the page say there was no delivery, advise nothing."""
    request = _small_request("idle")
    created = invoke("run", str(write_request(tmp_path, request)), "--json")
    assert created.exit_code == 0, created.output
    campaign = str(json_of(created)["result"]["campaign"]["id"])
    shown = invoke("report", campaign)
    assert shown.exit_code == 0, shown.output
    assert "No delivery in this period" in shown.stdout
    assert "within its threshold" not in shown.stdout
    page_file = tmp_path / "idle.html"
    assert invoke("report", campaign, "--format", "html", "--out", str(page_file)).exit_code == 0
    page = Page(page_file.read_text())
    assert "note" in page.ids
    assert "within its threshold" not in page_file.read_text()


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--schedule", "daily", "--date-preset", "last_30d", "--out", "x"), "picks the period"),
        (("--webhook", "https://example.com/hook"), "go with --schedule"),
        (("--schedule", "daily"), "--out DIR"),
        (("--rate", "USD=lots"), "CUR=RATE"),
    ],
)
def test_report_options_that_do_not_fit_are_usage_errors(args: tuple[str, ...], words: str) -> None:
    """Each mismatch exits 2 with a message that names the fix."""
    result = invoke("report", INR_ACCOUNT, *args)
    assert result.exit_code == 2, result.output
    assert words in result.output


async def test_a_run_meta_fails_is_retried_later_not_lost(
    campaign_id: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    """Meta failing a run: nothing recorded, a wait of RETRY_SECONDS, then the same day runs."""
    clock = [datetime(2026, 12, 3, 9, 0, tzinfo=UTC)]
    slept: list[float] = []
    failures = [TransientError("Meta is having a moment", code=2)]

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += timedelta(seconds=seconds)

    async with open_service(None, announce=False) as service:
        request = ReportRequest(campaign_id)

        async def build() -> AnyReport:
            if failures:
                raise failures.pop()
            return await request.build(service, {"date_preset": "yesterday"})

        plan = Schedule(build, "daily", tmp_path / "retry", render_any_html)
        assert await plan.run(now=lambda: clock[0], sleep=sleep, runs=1) == 1
    assert slept == [RETRY_SECONDS]
    state = json.loads((tmp_path / "retry" / STATE_FILE).read_text())
    assert [entry["day"] for entry in state["runs"]] == ["2026-12-03"]
