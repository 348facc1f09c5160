"""A real browser for the web pages: Debian's Chromium driven by Playwright, offline.

The browser is the system's (``/usr/bin/chromium``, installed by ``.ci/run``); Playwright
never downloads one. Every request leaving ``file:``, ``data:`` and the origins a test
allows is aborted and recorded, so a page that tries to reach the internet fails its test
instead of silently loading (or hanging on) a CDN. Without Chromium or Playwright the tests
skip, naming the install command, unless ``META_AGENT_REQUIRE_BROWSER=1`` (set by ``.ci/run``).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.services import unavailable

if TYPE_CHECKING:
    from playwright.async_api import Page, Route

REQUIRE_ENV = "META_AGENT_REQUIRE_BROWSER"
CHROMIUM = Path(os.environ.get("META_AGENT_TEST_CHROMIUM", "/usr/bin/chromium"))
INSTALL_HINT = "apt-get install -y --no-install-recommends chromium"
# Headless, and nothing of its own on the network: no updates, sync, QUIC or first-run pages.
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
PHONE_WIDTH = 375


@dataclass
class Offline:
    """Which URLs the page may load (by prefix), and every other one it tried."""

    allowed: list[str] = field(default_factory=lambda: ["file:", "data:"])
    blocked: list[str] = field(default_factory=list)

    def allow(self, origin: str) -> None:
        """Let the page load from ``origin`` too (a loopback server under test)."""
        self.allowed.append(origin.rstrip("/") + "/")

    async def handle(self, route: Route) -> None:
        """Continue an allowed request; abort and record any other."""
        url = route.request.url
        if url.startswith(tuple(self.allowed)):
            await route.continue_()
            return
        self.blocked.append(url)
        await route.abort("blockedbyclient")


def _require_browser() -> None:
    """Skip (or fail, in CI) when Chromium or Playwright is missing."""
    if not CHROMIUM.exists():
        unavailable(
            f"Chromium is not installed at {CHROMIUM} (install it: {INSTALL_HINT})", REQUIRE_ENV
        )
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        unavailable("Playwright is not installed (pip install -e '.[dev]')", REQUIRE_ENV)


@pytest.fixture
def offline() -> Offline:
    """The page's network policy: file: and data: only, until a test allows an origin."""
    return Offline()


@pytest.fixture
async def page(offline: Offline, tmp_path: Path) -> AsyncIterator[Page]:
    """A fresh Chromium page (its own profile) whose outside requests ``offline`` blocks."""
    _require_browser()
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            tmp_path / "chromium-profile",
            executable_path=CHROMIUM,
            headless=True,
            args=list(CHROMIUM_ARGS),
            service_workers="block",
        )
        try:
            await context.route("**/*", offline.handle)
            yield context.pages[0] if context.pages else await context.new_page()
        finally:
            await context.close()
