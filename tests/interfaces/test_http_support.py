"""Helpers for the HTTP service's tests: a service on the in-process sandbox, keys, clients.

No tests here; the test modules build their fixtures from these.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from starlette.applications import Starlette

from meta_agent.config import load_settings
from meta_agent.interfaces.http import ApiKeyStore, create_app, new_api_key
from meta_agent.sandbox import ManualClock
from meta_agent.service import MetaAgentService
from tests.conftest import INR_ACCOUNT

WEBHOOK_SECRET = "whsec-test-secret"
BASE_URL = "http://meta-agent.test"
INR_ACTIONS = (
    "create_campaign",
    "create_full_campaign",
    "get_insights",
    "performance_report",
    "bulk",
)


@dataclass
class Harness:
    """The service, the HTTP app over it, and the plaintext keys it accepts, by role."""

    service: MetaAgentService
    api: FastAPI
    keys: dict[str, str]
    delays: list[float] = field(default_factory=list)

    def client(self, role: str | None = "admin", **options: Any) -> httpx2.AsyncClient:
        """An in-process client sending the ``role`` key as a bearer token (None: no key)."""
        headers = {"Authorization": f"Bearer {self.keys[role]}"} if role else {}
        transport = httpx2.ASGITransport(app=self.api, **options)
        return httpx2.AsyncClient(transport=transport, base_url=BASE_URL, headers=headers)


def key_store() -> tuple[ApiKeyStore, dict[str, str]]:
    """Keys: ``admin`` (everything), ``inr`` (the INR account, a few actions), ``reader``."""
    roles = {
        "admin": (["*"], ["*"]),
        "inr": ([INR_ACCOUNT], [*INR_ACTIONS, "read"]),
        "reader": (["*"], ["read"]),
    }
    store = ApiKeyStore()
    plaintexts = {}
    for role, (accounts, actions) in roles.items():
        plaintext, record = new_api_key(role, accounts, actions)
        store.add(record)
        plaintexts[role] = plaintext
    return store, plaintexts


@asynccontextmanager
async def open_harness(
    sandbox_app: Starlette,
    clock: ManualClock,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    **app_options: Any,
) -> AsyncIterator[Harness]:
    """The service opened on ``sandbox_app`` (journal under ``data_dir``) behind the HTTP app."""
    monkeypatch.setenv("META_AGENT_DATA_DIR", str(data_dir))
    monkeypatch.delenv("META_ACCESS_TOKEN", raising=False)
    service = await MetaAgentService.open(
        load_settings(), sandbox_app=sandbox_app, now=clock.now, sleep=clock.sleep
    )
    delays: list[float] = []

    async def no_wait(seconds: float) -> None:
        delays.append(seconds)

    store, plaintexts = key_store()
    options = {"webhook_secret": SecretStr(WEBHOOK_SECRET), "webhook_sleep": no_wait}
    api = create_app(service, keys=store, **{**options, **app_options})
    try:
        yield Harness(service, api, plaintexts, delays)
    finally:
        await service.aclose()


async def serving(server: Any) -> asyncio.Task[None]:
    """Start ``server`` (an opened ``HttpServer``) and return its task once it listens."""
    task = asyncio.create_task(server.run())
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        await asyncio.sleep(0.01)
    return task


def campaign_request(request_id: str, account: str = INR_ACCOUNT, **extra: Any) -> dict[str, Any]:
    """A create_campaign request: one campaign, one ad set at ₹500 a day."""
    adset = {
        "name": "Adults",
        "optimization_goal": "LINK_CLICKS",
        "billing_event": "IMPRESSIONS",
        "daily_budget": 50_000,
        "targeting": {"countries": ["IN"], "age_min": 18},
    }
    return {
        "request_id": request_id,
        "action": "create_campaign",
        "account_id": account,
        "data": {
            "campaign": {"name": "Winter shoes", "objective": "OUTCOME_TRAFFIC"},
            "adsets": [adset],
        },
        **extra,
    }
