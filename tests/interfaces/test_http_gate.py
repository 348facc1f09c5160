"""The write gate through the HTTP service on a real socket: scoped keys, approvals, money caps.

The embedded sandbox's admin listing is the witness: what is live there is what reached Meta.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest

from meta_agent.config import load_settings
from meta_agent.interfaces.http import HttpServer, issue_api_key
from meta_agent.principals import Role
from tests.conftest import INR_ACCOUNT, USD_ACCOUNT, free_port
from tests.interfaces.test_http_support import campaign_request, serving

ALL_ACTIONS = ["*"]


@dataclass
class Live:
    """A running service: its base URL, keys by name, and the sandbox behind it."""

    base: str
    keys: dict[str, str]
    sandbox: httpx2.AsyncClient

    def client(self, key: str) -> httpx2.AsyncClient:
        """A client sending the named key."""
        headers = {"Authorization": f"Bearer {self.keys[key]}"}
        return httpx2.AsyncClient(base_url=self.base, headers=headers, timeout=30)

    async def live(self, kind: str) -> list[dict[str, Any]]:
        """Objects of ``kind`` that are not DELETED."""
        listing = (await self.sandbox.get("/_sandbox/objects", params={"kind": kind})).json()
        return [r for r in listing["data"] if r.get("status") != "DELETED"]


@pytest.fixture
async def live(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Live]:
    """The HTTP service from settings on a free port: INR activation needs an approval."""
    monkeypatch.setenv("META_AGENT_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("META_ACCESS_TOKEN", raising=False)
    keys_file = tmp_path / "keys.json"
    keys = {
        "usd": issue_api_key(keys_file, "usd agent", [USD_ACCOUNT], ALL_ACTIONS)[0],
        "inr": issue_api_key(keys_file, "inr agent", [INR_ACCOUNT], ALL_ACTIONS)[0],
        "approver": issue_api_key(keys_file, "ana", [INR_ACCOUNT], ALL_ACTIONS, Role.APPROVER)[0],
    }
    policy = {"activation_requires_approval": True, "max_daily_budget": 100_000}
    settings = load_settings(
        service={"api_keys_file": keys_file},
        policies={"accounts": {INR_ACCOUNT: policy}},
    )
    async with HttpServer(settings, "127.0.0.1", free_port()) as server:
        task = await serving(server)
        assert server.service is not None
        transport = httpx2.ASGITransport(app=server.service.parts.sandbox_app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://sandbox") as sandbox:
            yield Live(f"http://127.0.0.1:{server.port}", keys, sandbox)
        server.stop()
        await task


async def _created_adset(live: Live) -> str:
    async with live.client("inr") as http:
        outcome = (await http.post("/v1/requests", json=campaign_request("base"))).json()
    assert outcome["status"] == "COMPLETED", outcome
    return str(outcome["result"]["adsets"][0]["id"])


async def test_a_usd_key_cannot_touch_an_inr_ad_set_through_bulk(live: Live) -> None:
    """bulk with an item account_id null: the INR ad set keeps its budget (0 cross-account writes)."""
    adset = await _created_adset(live)
    item = {
        "action": "update_campaign",
        "account_id": None,
        "data": {"updates": [{"object_id": adset, "changes": {"daily_budget": 90_000}}]},
    }
    body = {"action": "bulk", "account_id": USD_ACCOUNT, "data": {"requests": [item]}}
    async with live.client("usd") as http:
        response = await http.post("/v1/requests", json=body)
    assert response.status_code < 500, response.text
    budgets = {int(r["daily_budget"]) for r in await live.live("adset")}
    assert budgets == {50_000}


async def test_status_active_in_data_waits_and_only_another_approver_releases_it(
    live: Live,
) -> None:
    """ACTIVE in data → PENDING_APPROVAL, nothing sent; the agent can't approve, Ana can."""
    request = campaign_request("active")
    request["data"]["campaign"]["status"] = "ACTIVE"
    request["data"]["adsets"][0]["status"] = "ACTIVE"
    async with live.client("inr") as agent:
        outcome = (await agent.post("/v1/requests", json=request)).json()
        assert outcome["status"] == "PENDING_APPROVAL", outcome
        approval_id = outcome["result"]["approval"]["id"]
        assert await live.live("campaign") == []  # the held creates were not sent
        listed = (await agent.get("/v1/approvals")).json()["data"]
        assert [a["id"] for a in listed] == [approval_id]
        refused = await agent.post(f"/v1/approvals/{approval_id}/approve")
        assert refused.status_code == 403
        assert refused.json()["error"]["kind"] == "access_denied"
    async with live.client("usd") as stranger:
        hidden = await stranger.get(f"/v1/approvals/{approval_id}")
        assert hidden.status_code == 404
    async with live.client("approver") as ana:
        granted = await ana.post(f"/v1/approvals/{approval_id}/approve", json={"note": "ok"})
    assert granted.status_code == 200, granted.text
    assert granted.json()["status"] == "COMPLETED"
    assert {r["status"] for r in await live.live("campaign")} == {"ACTIVE"}


async def test_options_approved_by_is_refused_naming_the_field(live: Live) -> None:
    """Free-text approved_by is gone: a 422 names options.approved_by, nothing is created."""
    request = campaign_request("self-approved", options={"activate": True, "approved_by": "me"})
    async with live.client("inr") as http:
        response = await http.post("/v1/requests", json=request)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "options.approved_by"
    assert await live.live("campaign") == []


async def test_a_lifetime_budget_is_capped_per_day(live: Live) -> None:
    """₹1,000,000 over two days against a ₹1,000/day cap: refused in rupees, nothing created."""
    request = campaign_request("lifetime")
    adset = request["data"]["adsets"][0]
    adset.pop("daily_budget")
    adset.update(
        lifetime_budget=100_000_000,
        start_time="2030-01-01T00:00:00+00:00",
        end_time="2030-01-03T00:00:00+00:00",
    )
    async with live.client("inr") as http:
        response = await http.post("/v1/requests", json=request)
    body = response.json()
    error = body.get("error") or {}
    cause = error.get("cause", error)
    assert cause.get("limit") == "max_daily_budget", body
    assert "INR" in cause["message"]
    assert await live.live("adset") == []


async def test_another_accounts_request_id_is_unknown(live: Live) -> None:
    """GET /v1/requests/{id} of an INR request answers 404 to the USD key, not its workflow."""
    await _created_adset(live)
    async with live.client("usd") as http:
        response = await http.get("/v1/requests/base")
    assert response.status_code == 404
    assert "workflow_id" not in response.text
