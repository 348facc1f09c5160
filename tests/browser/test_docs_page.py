"""The HTTP service's /docs in Chromium, offline: Swagger UI lists every operation of
/openapi.json, and the page asks nothing of any other host."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import httpx2
import pytest

from tests.browser.conftest import Offline
from tests.browser.live import http_service
from tests.interfaces.conftest import _restore_logging, data_dir  # noqa: F401

if TYPE_CHECKING:
    from playwright.async_api import Page

METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options", "trace"})
# Swagger UI draws one .opblock per operation; the path is in data-path (4.x) or the text.
OPERATIONS_JS = """() => [...document.querySelectorAll('.opblock')].map(o => [
  o.querySelector('.opblock-summary-method').innerText.trim().toLowerCase(),
  (o.querySelector('.opblock-summary-path').getAttribute('data-path')
   || o.querySelector('.opblock-summary-path').innerText).replace(/\\u200b/g, '').trim()])"""
RENDER_TIMEOUT_MS = 10_000


# FastAPI's own page would load Swagger UI from jsDelivr, which the offline browser blocks: the
# service serves a bundled copy (interfaces/http/docs.py).
async def test_docs_lists_every_operation_offline(
    page: Page, offline: Offline, tmp_path: Path
) -> None:
    """Over loopback, /docs renders one operation per method and path of /openapi.json,
    with no request leaving the server (no CDN, no online validator)."""
    async with http_service(tmp_path) as served:
        offline.allow(served.url)
        async with httpx2.AsyncClient(base_url=served.url) as http:
            spec = (await http.get("/openapi.json")).json()
        expected = sorted(
            (method, path)
            for path, item in spec["paths"].items()
            for method in item
            if method in METHODS
        )
        response = await page.goto(f"{served.url}/docs")
        assert response is not None
        assert response.status == 200
        assert offline.blocked == []  # fails fast: a CDN asked for on load never answers
        await _wait_for_operations(page)
        shown = sorted(tuple(pair) for pair in await page.evaluate(OPERATIONS_JS))
    assert offline.blocked == []
    assert shown == expected


async def _wait_for_operations(page: Page) -> None:
    """Wait until Swagger UI has drawn an operation; fail with what the page says instead."""
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    try:
        await page.locator(".opblock").first.wait_for(timeout=RENDER_TIMEOUT_MS)
    except PlaywrightTimeout:
        said = (await page.inner_text("body")).strip()[:400]
        pytest.fail(f"/docs drew no operation in {RENDER_TIMEOUT_MS} ms; the page says: {said!r}")
