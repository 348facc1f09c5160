"""The HTML performance report in Chromium: offline, the synthetic notice shown, every table's
figures the JSON report's, thumbnails decoded, and readable on a 375 px wide phone.

The page comes three ways: from the CLI (``report --format html --out``) opened as a file,
from the HTTP service over loopback (``GET /v1/reports/{id}?format=html``), and from the
service on an in-process sandbox whose creative has an image (so a thumbnail is inlined).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx2
import pytest
from starlette.applications import Starlette

from meta_agent.graph.client import GraphClient
from meta_agent.sandbox import ManualClock
from tests.agents.test_insights import Launched, launch
from tests.browser.conftest import PHONE_WIDTH, Offline
from tests.browser.live import http_service
from tests.interfaces.conftest import _restore_logging, data_dir, invoke, json_of  # noqa: F401
from tests.interfaces.test_http_support import open_harness
from tests.interfaces.test_insights_report import campaign_id  # noqa: F401

if TYPE_CHECKING:
    from playwright.async_api import Page

PERIOD = ("--date-preset", "last_7d")
# The breakdown tables: their id, the JSON list they show, and how many label columns lead.
SEGMENT_TABLES = (
    ("table-platforms", "platforms", 1),
    ("table-placements", "placements", 2),
    ("table-age-gender", "demographics", 2),
)
# Money and ratio columns, each the JSON metric it shows; cells are rounded to 2 places.
FIGURES = {
    "Spend": "spend_major",
    "Results": "results",
    "Cost/result": "cost_per_result",
    "CTR %": "ctr",
    "CPC": "cpc",
    "CPM": "cpm",
}
TABLES_JS = """() => Object.fromEntries([...document.querySelectorAll('table.eff')].map(
  t => [t.id, [...t.rows].map(r => [...r.cells].map(c => c.innerText.trim()))]))"""
IMAGES_JS = "() => [...document.images].map(i => [i.complete, i.naturalWidth, i.src.slice(0, 15)])"
WIDTHS_JS = "() => [document.documentElement.scrollWidth, window.innerWidth]"


@dataclass(frozen=True)
class Report:
    """One report as its JSON model and its HTML page."""

    model: dict[str, Any]
    html: str


@pytest.fixture
def cli_report(campaign_id: str, tmp_path: Path) -> tuple[Report, Path]:  # noqa: F811
    """The last week of the ten-day campaign through the CLI: ``--json``, and the page file."""
    model = json_of(invoke("report", campaign_id, *PERIOD, "--json"))
    page_file = tmp_path / "report.html"
    result = invoke("report", campaign_id, *PERIOD, "--format", "html", "--out", str(page_file))
    assert result.exit_code == 0, result.output
    return Report(model, page_file.read_text()), page_file


@pytest.fixture
async def launched(graph_client: GraphClient, clock: ManualClock) -> Launched:
    """On the in-process sandbox: two ad sets of two ads, an image creative, a week of delivery."""
    return await launch(graph_client, clock, budgets=(50_000, 30_000), ads_per_adset=2)


@pytest.fixture
async def harness_report(
    app: Starlette,
    clock: ManualClock,
    launched: Launched,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Report]:
    """That campaign's report from the service (in process): JSON, and the page."""
    async with open_harness(app, clock, tmp_path, monkeypatch) as harness, harness.client() as http:
        yield await _fetch_report(http, f"/v1/reports/{launched.campaign}")


async def _fetch_report(http: httpx2.AsyncClient, path: str) -> Report:
    params = {"date_preset": "last_7d"}
    model = await http.get(path, params=params)
    page = await http.get(path, params={**params, "format": "html"})
    assert model.status_code == page.status_code == 200, (model.text, page.text)
    return Report(model.json(), page.text)


async def test_the_cli_page_opened_as_a_file(
    page: Page, offline: Offline, cli_report: tuple[Report, Path]
) -> None:
    """report --format html, opened from disk: nothing fetched from outside, the synthetic
    notice visible, each table's figures the JSON's, and no sideways scroll on a phone."""
    report, page_file = cli_report
    await page.goto(page_file.as_uri())
    await _assert_matches_report(page, report.model)
    await _assert_readable_on_a_phone(page)
    assert offline.blocked == []


async def test_the_page_the_http_service_serves(
    page: Page,
    offline: Offline,
    campaign_id: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    """GET /v1/reports/{id}?format=html over loopback with an API key: the same checks, and
    the figures those of the JSON the same endpoint answers."""
    async with http_service(tmp_path) as served:
        offline.allow(served.url)
        async with httpx2.AsyncClient(base_url=served.url, headers=served.headers) as http:
            report = await _fetch_report(http, f"/v1/reports/{campaign_id}")
        await page.set_extra_http_headers(served.headers)
        response = await page.goto(
            f"{served.url}/v1/reports/{campaign_id}?format=html&date_preset=last_7d"
        )
        assert response is not None
        assert response.status == 200, await response.text()
        assert response.headers["content-type"].startswith("text/html")
        await _assert_matches_report(page, report.model)
    await _assert_readable_on_a_phone(page)
    assert offline.blocked == []


async def test_an_inlined_thumbnail_is_decoded(
    page: Page, offline: Offline, harness_report: Report, tmp_path: Path
) -> None:
    """The creative's image, inlined as a data: URI, decodes in the browser (a real width);
    the four ads' rows carry the JSON's figures."""
    page_file = tmp_path / "with-thumbnail.html"
    page_file.write_text(harness_report.html)
    await page.goto(page_file.as_uri())
    images = await _decoded_images(page)
    assert images == ["data:image/png;"]
    tables = await _assert_matches_report(page, harness_report.model)
    assert len(tables["table-ad"]) == 1 + 4
    await _assert_readable_on_a_phone(page)
    assert offline.blocked == []


async def test_the_guard_records_a_request_to_the_internet(
    page: Page, offline: Offline, tmp_path: Path
) -> None:
    """The offline guard itself: an image from an outside host is blocked and recorded."""
    page_file = tmp_path / "leaky.html"
    page_file.write_text('<img src="https://cdn.example.com/pixel.png"><p>hello</p>')
    await page.goto(page_file.as_uri())
    assert offline.blocked == ["https://cdn.example.com/pixel.png"]


async def _assert_matches_report(page: Page, model: dict[str, Any]) -> dict[str, list[list[str]]]:
    """The notice is visible, every level and breakdown table shows the JSON's rows, and
    every image (a thumbnail) is decoded."""
    notice = page.locator("#synthetic")
    assert await notice.is_visible()
    assert "Synthetic data" in await notice.inner_text()
    tables: dict[str, list[list[str]]] = await page.evaluate(TABLES_JS)
    for level, rows in model["rows"].items():
        _assert_rows(tables[f"table-{level}"], {(row["id"],): row for row in rows}, ("ID",))
    for table_id, key, labels in SEGMENT_TABLES:
        segments = {tuple(s["values"].values()): s for s in model[key]}
        header = tables[table_id][0]
        _assert_rows(tables[table_id], segments, tuple(header[:labels]))
    for table_id in tables:
        assert await page.locator(f"#{table_id}").is_visible(), table_id
    await _decoded_images(page)
    return tables


async def _decoded_images(page: Page) -> list[str]:
    """The start of each image's URL, every one of them loaded with a real width."""
    images = await page.evaluate(IMAGES_JS)
    assert all(done and width > 0 for done, width, _ in images), images
    return [start for _, _, start in images]


def _assert_rows(
    table: list[list[str]], expected: dict[tuple[str, ...], dict[str, Any]], keys: tuple[str, ...]
) -> None:
    """One row per expected object (found by ``keys`` columns), each figure within rounding."""
    header, *body = table
    assert len(body) == len(expected) > 0, (header, len(body), len(expected))
    for cells in body:
        shown = dict(zip(header, cells, strict=True))
        metrics = expected[tuple(shown[key] for key in keys)]["metrics"]
        for column, field in FIGURES.items():
            _assert_figure(shown[column], metrics[field], column)


def _assert_figure(cell: str, value: Any, column: str) -> None:
    """``INR 1,234.57`` or ``12.35`` shows ``value`` rounded (``-`` when there is none)."""
    if value is None:
        assert cell == "-", column
        return
    shown = Decimal(cell.rsplit(" ", 1)[-1].replace(",", ""))
    places = Decimal(1) if column == "Results" else Decimal("0.01")
    assert abs(shown - Decimal(str(value))) <= places / 2, (column, cell, value)


async def _assert_readable_on_a_phone(page: Page) -> None:
    """At 375 px wide the page does not scroll sideways (wide tables scroll in their box)."""
    await page.set_viewport_size({"width": PHONE_WIDTH, "height": 812})
    scroll_width, inner_width = await page.evaluate(WIDTHS_JS)
    assert inner_width == PHONE_WIDTH
    assert scroll_width <= inner_width + 1, f"the page is {scroll_width} px wide on a phone"
