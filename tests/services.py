"""Real services for tests (PostgreSQL, Redis on loopback): probe fast, skip or fail clearly.

A test that needs a server calls :func:`require` first. When the port does not answer the
test is skipped with the reason shown in pytest's summary, unless
``META_AGENT_REQUIRE_SERVICES=1`` (set by ``.ci/run``): then it fails, so CI cannot go green
by skipping.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from typing import NoReturn

import pytest

REQUIRE_ENV = "META_AGENT_REQUIRE_SERVICES"


@dataclass(frozen=True)
class Service:
    """A server the tests can use, with how to start it when it is down."""

    name: str
    host: str
    port: int
    start_hint: str


POSTGRES = Service(
    "PostgreSQL",
    "127.0.0.1",
    5432,
    "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
)
REDIS = Service("Redis", "127.0.0.1", 6379, "redis-server --daemonize yes --port 6379")

# Overridable so a developer can point the suites at another server or database.
POSTGRES_ADMIN_URL = os.environ.get(
    "META_AGENT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("META_AGENT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

_answers: dict[Service, bool] = {}


def answers(service: Service, timeout: float = 0.25) -> bool:
    """True when the service's TCP port accepts a connection (remembered per session)."""
    if service not in _answers:
        try:
            with socket.create_connection((service.host, service.port), timeout=timeout):
                _answers[service] = True
        except OSError:
            _answers[service] = False
    return _answers[service]


def services_required() -> bool:
    """True when missing services must fail the tests instead of skipping them."""
    return os.environ.get(REQUIRE_ENV, "") == "1"


def require(service: Service) -> None:
    """Skip the calling test (or fail it, under ``META_AGENT_REQUIRE_SERVICES=1``) if down."""
    if answers(service):
        return
    reason = (
        f"{service.name} is not answering on {service.host}:{service.port}"
        f" (start it with: {service.start_hint})"
    )
    unavailable(reason, REQUIRE_ENV)


def unavailable(reason: str, require_env: str) -> NoReturn:
    """Skip the calling test for ``reason``, or fail it when ``require_env`` is ``1`` (CI)."""
    if os.environ.get(require_env, "") == "1":
        pytest.fail(f"{reason}; {require_env}=1 makes it required", pytrace=False)
    pytest.skip(reason)


def unique_name(stem: str) -> str:
    """A name no other test run uses (databases, schemas, key prefixes)."""
    return f"{stem}_{uuid.uuid4().hex[:12]}"
