"""The service probe the PostgreSQL and Redis suites rely on: skip locally, fail in CI."""

from __future__ import annotations

import socket

import pytest

from tests.conftest import free_port
from tests.services import REQUIRE_ENV, Service, answers, require

NOBODY = Service("Nothing", "127.0.0.1", free_port(), "nothing to start")


def test_a_down_service_skips_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    """Locally, a test needing a stopped server is skipped, saying which and how to start it."""
    monkeypatch.delenv(REQUIRE_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"Nothing is not answering on 127\.0\.0\.1"):
        require(NOBODY)


def test_a_down_service_fails_when_required(monkeypatch: pytest.MonkeyPatch) -> None:
    """With META_AGENT_REQUIRE_SERVICES=1 (CI) the same test fails instead of skipping."""
    monkeypatch.setenv(REQUIRE_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match=REQUIRE_ENV):
        require(NOBODY)


def test_probe_sees_a_listening_port() -> None:
    """A port with a listener answers; the probe does not mistake it for down."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        assert answers(Service("Listener", "127.0.0.1", server.getsockname()[1], ""))
