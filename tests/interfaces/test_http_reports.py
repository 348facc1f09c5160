"""GET /v1/reports over HTTP: the level asked of Meta, the HTML page, and the new parts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import httpx2
import pytest
from starlette.applications import Starlette

from meta_agent.graph.client import GraphClient
from meta_agent.sandbox import ManualClock
from tests.agents.test_insights import Launched, launch
from tests.interfaces.test_http_support import Harness, open_harness
from tests.interfaces.test_reports_export import Page


@pytest.fixture
async def http(
    app: Starlette, clock: ManualClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx2.AsyncClient]:
    """A client holding the all-powerful key, on the in-process sandbox."""
    async with open_harness(app, clock, tmp_path, monkeypatch) as harness:
        built: Harness = harness
        async with built.client() as client:
            yield client


@pytest.fixture
async def launched(graph_client: GraphClient, clock: ManualClock) -> Launched:
    """A campaign with two ad sets of two ads, a week of delivery behind it."""
    return await launch(graph_client, clock, budgets=(50_000, 30_000), ads_per_adset=2)


async def test_the_level_is_asked_of_meta_when_not_given(
    http: httpx2.AsyncClient, launched: Launched
) -> None:
    """A campaign id and an ad set id without ``level``: each reported at its own level."""
    params = {"date_preset": "last_7d"}
    campaign = await http.get(f"/v1/reports/{launched.campaign}", params=params)
    assert campaign.status_code == 200, campaign.text
    body = campaign.json()
    assert body["level"] == "campaign"
    assert body["synthetic"] is True
    spend = Decimal(body["summary"]["spend_major"])
    assert sum(Decimal(r["metrics"]["spend_major"]) for r in body["rows"]["adset"]) == spend
    adset = await http.get(f"/v1/reports/{launched.adsets[0]}", params=params)
    assert adset.status_code == 200, adset.text
    assert adset.json()["level"] == "adset"
    assert set(adset.json()["rows"]) == {"ad", "creative"}


async def test_format_html_answers_the_page(http: httpx2.AsyncClient, launched: Launched) -> None:
    """``format=html``: text/html, the efficiency tables and the synthetic notice."""
    response = await http.get(
        f"/v1/reports/{launched.campaign}", params={"date_preset": "last_7d", "format": "html"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    page = Page(response.text)
    assert {"table-adset", "table-ad", "table-creative", "table-placements"} <= set(page.tables)
    assert "synthetic" in page.ids
    assert len(page.column("table-ad", "Spend")) == 4
    assert [src[:15] for src in page.links] == ["data:image/png;"]  # the one creative, inlined


async def test_an_unknown_object_is_a_404(http: httpx2.AsyncClient) -> None:
    """An id Meta does not know, level left out: 404, not a guess."""
    response = await http.get("/v1/reports/120219999999999999")
    assert response.status_code == 404, response.text
