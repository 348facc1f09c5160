"""An orchestrator over the in-process sandbox, a SQLite journal and a memory cache."""

from __future__ import annotations

import base64
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from PIL import Image

from meta_agent.cache import MemoryCache
from meta_agent.gate.policy import PolicyBook
from meta_agent.graph.client import GraphClient
from meta_agent.orchestrator.env import Env
from meta_agent.orchestrator.orchestrator import Orchestrator
from meta_agent.sandbox import ManualClock, Sandbox
from meta_agent.store.sql import SqlJournal
from tests.conftest import INR_ACCOUNT, PAGE_ID

COLOURS = ["red", "green", "blue", "orange", "purple", "teal", "navy", "olive"]


def image_data(index: int, size: tuple[int, int] = (1200, 1200)) -> str:
    """A distinct PNG (by colour), base64, large enough for Meta's feed."""
    buffer = io.BytesIO()
    Image.new("RGB", size, COLOURS[index % len(COLOURS)]).save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def full_campaign_request(
    request_id: str = "req-1",
    *,
    images: int = 6,
    adsets: int = 3,
    ads_per_adset: int = 2,
    account: str = INR_ACCOUNT,
    daily_budget: int = 50_000,
    **options: Any,
) -> dict[str, Any]:
    """A full-campaign request: images, 1 campaign, ad sets with ABO budgets, one ad each image."""
    adset_list = [
        {
            "name": f"Adults {index}",
            "optimization_goal": "LINK_CLICKS",
            "billing_event": "IMPRESSIONS",
            "daily_budget": daily_budget,
            "targeting": {"countries": ["IN"], "age_min": 18 + index, "age_max": 45},
        }
        for index in range(adsets)
    ]
    ads = [
        {
            "name": f"Ad {a}-{n}",
            "adset_ref": f"Adults {a}",
            "creative": {
                "kind": "image",
                "name": f"Creative {a}-{n}",
                "page_id": PAGE_ID,
                "image_ref": f"img{(a * ads_per_adset + n) % images}",
                "link": "https://example.com/shoes",
                "message": "Run further.",
                "call_to_action": "SHOP_NOW",
            },
        }
        for a in range(adsets)
        for n in range(ads_per_adset)
    ]
    return {
        "request_id": request_id,
        "agent_id": "tests",
        "action": "create_full_campaign",
        "account_id": account,
        "data": {
            "images": [{"name": f"img{i}", "data": image_data(i)} for i in range(images)],
            "campaign": {"name": "Winter shoes", "objective": "OUTCOME_TRAFFIC"},
            "adsets": adset_list,
            "ads": ads,
        },
        "options": options,
    }


async def live_objects(
    client: httpx2.AsyncClient, kinds: tuple[str, ...] = ("campaign", "adset", "adcreative", "ad")
) -> list[dict[str, Any]]:
    """Objects of ``kinds`` that are not DELETED, per the sandbox's admin listing (the witness)."""
    found = []
    for kind in kinds:
        listing = (await client.get("/_sandbox/objects", params={"kind": kind})).json()
        found += [record for record in listing["data"] if record.get("status") != "DELETED"]
    return found


@pytest.fixture
async def journal(tmp_path: Path) -> AsyncIterator[SqlJournal]:
    """A SQLite journal in a temporary file."""
    store = SqlJournal(f"sqlite:///{tmp_path / 'journal.db'}")
    await store.open()
    yield store
    await store.close()


@pytest.fixture
def policies() -> PolicyBook:
    """The default policy (tests override by redefining this fixture)."""
    return PolicyBook()


@pytest.fixture
async def env(graph_client: GraphClient, journal: SqlJournal, policies: PolicyBook) -> Env:
    """The orchestrator's world over the in-process sandbox."""
    return Env.build(graph_client, journal, cache=MemoryCache(), policies=policies)


@pytest.fixture
async def orchestrator(env: Env) -> Orchestrator:
    """The orchestrator under test."""
    return Orchestrator(env)


def request_count(sandbox: Sandbox) -> int:
    """HTTP requests the sandbox has served so far (a batch counts once)."""
    return int(sandbox.counters.total)


__all__ = ["ManualClock", "full_campaign_request", "image_data", "live_objects", "request_count"]
