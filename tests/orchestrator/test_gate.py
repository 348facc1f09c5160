"""The write gate as callers meet it: every write passes it, whatever path made it."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import httpx2
import pytest

from meta_agent.errors import AccessDeniedError, ConfigError, PolicyViolationError
from meta_agent.gate.policy import AccountPolicy, PolicyBook, default_policy
from meta_agent.graph.client import GraphClient
from meta_agent.graph.guard import UNGUARDED
from meta_agent.orchestrator.orchestrator import Orchestrator
from meta_agent.principals import Principal, Role, acting_as
from tests.conftest import INR_ACCOUNT, USD_ACCOUNT, make_graph_client
from tests.orchestrator.conftest import ManualClock, live_objects
from tests.orchestrator.test_updates import campaign_request, read, update_request

ONLY_USD = Principal(id="k-usd", name="usd agent", accounts=frozenset({USD_ACCOUNT}))
SRC = Path(__file__).resolve().parents[2] / "src" / "meta_agent"


@pytest.fixture
async def inr_structure(orchestrator: Orchestrator) -> dict[str, Any]:
    """A PAUSED campaign with two ad sets on the INR account, made by the local operator."""
    response = await orchestrator.execute(campaign_request("setup"))
    assert response.result is not None, response.error
    return response.result


async def test_a_scoped_principal_cannot_update_another_account_through_bulk(
    orchestrator: Orchestrator, client: httpx2.AsyncClient, inr_structure: dict[str, Any]
) -> None:
    """A bulk item with account_id null cannot reach an INR ad set for a USD-only key."""
    adset = inr_structure["adsets"][0]["id"]
    change = {"object_id": adset, "level": "adset", "changes": {"daily_budget": 60_000}}
    bulk = {
        "request_id": "bulk-1",
        "action": "bulk",
        "account_id": USD_ACCOUNT,
        "data": {"requests": [{**update_request([change]), "account_id": None}]},
    }
    response = await orchestrator.execute(bulk, ONLY_USD)
    assert response.result is not None
    item = response.result["results"][0]
    assert "result" not in item
    assert item["error"]["kind"] in {"access_denied", "request_validation_error"}
    assert int((await read(client, adset))["daily_budget"]) == 50_000


async def test_a_scoped_principal_cannot_pause_another_accounts_object(
    orchestrator: Orchestrator, client: httpx2.AsyncClient, inr_structure: dict[str, Any]
) -> None:
    """An update naming only the object id is refused at the gate: its account is INR's."""
    campaign = inr_structure["campaign"]["id"]
    change = {"object_id": campaign, "level": "campaign", "changes": {"name": "hijacked"}}
    with pytest.raises(AccessDeniedError) as caught:
        await orchestrator.execute(update_request([change], "upd-x"), ONLY_USD)
    assert caught.value.details["account"] == INR_ACCOUNT
    assert (await read(client, campaign))["name"] != "hijacked"


async def test_status_active_in_data_waits_for_approval(
    orchestrator: Orchestrator, client: httpx2.AsyncClient
) -> None:
    """status ACTIVE inside data is an activation: with the policy asking, nothing goes ACTIVE."""
    orchestrator.env.gate.policies = PolicyBook(
        accounts={INR_ACCOUNT: AccountPolicy(activation_requires_approval=True)}
    )
    request = campaign_request("active-in-data")
    request["data"]["campaign"]["status"] = "ACTIVE"
    for adset in request["data"]["adsets"]:
        adset["status"] = "ACTIVE"
    response = await orchestrator.execute(request)
    assert response.status == "PENDING_APPROVAL", response
    live = await live_objects(client, ("campaign", "adset"))
    assert [record for record in live if record.get("status") == "ACTIVE"] == []


async def test_a_lifetime_budget_counts_per_day_of_its_schedule(
    orchestrator: Orchestrator, client: httpx2.AsyncClient
) -> None:
    """With only a daily cap, a huge lifetime budget over two days is refused at its daily rate."""
    orchestrator.env.gate.policies = PolicyBook(
        accounts={INR_ACCOUNT: AccountPolicy(max_daily_budget=100_000)}
    )
    request = campaign_request("lifetime")
    for adset in request["data"]["adsets"]:
        adset.pop("daily_budget")
        adset["lifetime_budget"] = 100_000_000
        adset["start_time"] = "2030-01-01T00:00:00+00:00"
        adset["end_time"] = "2030-01-03T00:00:00+00:00"
    response = await orchestrator.execute(request)
    assert response.error is not None
    cause = response.error.get("cause", response.error)
    assert cause["limit"] == "max_daily_budget"
    assert cause["requested"] == 50_000_000  # 100,000,000 over 2 days
    assert "INR 500,000.00 (50000000) a day" in cause["message"]
    assert await live_objects(client, ("adset",)) == []


async def test_the_account_daily_total_holds_across_requests(
    orchestrator: Orchestrator, client: httpx2.AsyncClient
) -> None:
    """₹1,500 a day total: the first launch (₹1,000) goes, the second (₹1,000 more) does not."""
    orchestrator.env.gate.policies = PolicyBook(
        accounts={INR_ACCOUNT: AccountPolicy(max_account_daily_total=150_000)}
    )
    first = await orchestrator.execute(campaign_request("total-1"))
    assert first.status == "COMPLETED", first.error
    second = await orchestrator.execute(campaign_request("total-2"))
    assert second.status == "ROLLED_BACK"
    assert second.error is not None
    assert second.error["cause"]["limit"] == "max_account_daily_total"
    assert len(await live_objects(client, ("adset",))) == 2


async def test_increases_over_a_day_are_capped_not_only_per_change(
    orchestrator: Orchestrator, client: httpx2.AsyncClient, inr_structure: dict[str, Any]
) -> None:
    """Two +20% raises on one day pass a 25% per-change cap but not a 30% daily cap."""
    orchestrator.env.gate.policies = PolicyBook(
        accounts={
            INR_ACCOUNT: AccountPolicy(max_increase_pct=25, max_daily_increase_pct=30)  # type: ignore[arg-type]
        }
    )
    adset = inr_structure["adsets"][0]["id"]

    def raise_to(amount: int, request_id: str) -> dict[str, Any]:
        change = {"object_id": adset, "level": "adset", "changes": {"daily_budget": amount}}
        return update_request([change], request_id)

    assert (await orchestrator.execute(raise_to(60_000, "r1"))).status == "COMPLETED"
    second = await orchestrator.execute(raise_to(72_000, "r2"))
    assert second.error is not None
    assert second.error["cause"]["limit"] == "max_daily_increase_pct"
    assert int((await read(client, adset))["daily_budget"]) == 60_000


async def test_the_default_policy_applies_with_none_configured(
    orchestrator: Orchestrator, client: httpx2.AsyncClient
) -> None:
    """No policy configured: a budget past the built-in cap (≈USD 1,000 a day) is refused."""
    cap = default_policy("INR").max_daily_budget
    assert cap is not None
    request = campaign_request("default-cap")
    for adset in request["data"]["adsets"]:
        adset["daily_budget"] = cap + 100
    with pytest.raises(PolicyViolationError) as caught:
        await orchestrator.execute(request)
    assert caught.value.details["limit"] == "max_daily_budget"
    assert await live_objects(client, ("adset",)) == []


async def test_a_write_with_no_principal_bound_is_refused(orchestrator: Orchestrator) -> None:
    """Code that calls the client directly, outside any request, sends no write."""
    graph = orchestrator.env.graph
    with pytest.raises(AccessDeniedError, match="no principal"):
        await graph.post(f"{INR_ACCOUNT}/campaigns", {"name": "stray"})


async def test_a_client_without_a_guard_sends_no_write(app: Any, clock: ManualClock) -> None:
    """A GraphClient nobody gave a guard refuses writes before sending them (reads still go)."""
    client = make_graph_client(app, clock)
    bare = GraphClient(client.settings, app=app)
    with pytest.raises(ConfigError, match="no write guard"):
        await bare.post(f"{INR_ACCOUNT}/campaigns", {"name": "stray"})
    assert (await bare.get(INR_ACCOUNT, {"fields": "currency"}))["currency"] == "INR"
    await bare.aclose()
    await client.aclose()


async def test_the_orchestrators_client_writes_only_through_its_gate(
    orchestrator: Orchestrator,
) -> None:
    """Env.build installs the gate as the guard of the client every agent shares."""
    env = orchestrator.env
    assert env.graph.requestor.guard is env.gate
    assert env.graph.requestor.guard is not UNGUARDED
    stranger = Principal(id="x", role=Role.AGENT, accounts=frozenset({USD_ACCOUNT}))
    with acting_as(stranger), pytest.raises(AccessDeniedError):
        await env.graph.post(f"{INR_ACCOUNT}/campaigns", {"name": "stray"})


def test_only_the_requestor_sends_to_the_transport() -> None:
    """No module but graph/requestor.py calls transport.send: the guard sits on the one door."""
    senders = []
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr == "send"
                and isinstance(node.value, ast.Attribute)
                and node.value.attr == "transport"
            ):
                senders.append(path.relative_to(SRC).as_posix())
    assert sorted(set(senders)) == ["graph/requestor.py"]


def test_only_the_service_world_and_library_scripts_choose_a_guard() -> None:
    """UNGUARDED appears in src only in the guard module and the raw-client walkthrough."""
    users = sorted(
        path.relative_to(SRC).as_posix()
        for path in SRC.rglob("*.py")
        if "UNGUARDED" in path.read_text(encoding="utf-8")
    )
    assert users == ["graph/guard.py", "interfaces/walkthrough.py"]


async def test_a_dry_run_shows_budgets_in_major_units_and_the_policys_verdict(
    orchestrator: Orchestrator, client: httpx2.AsyncClient
) -> None:
    """The dry run names each object with its budget as INR 500.00 (50000), and what policy does."""
    orchestrator.env.policies = PolicyBook(
        accounts={INR_ACCOUNT: AccountPolicy(activation_requires_approval=True)}
    )
    request = campaign_request("dry")
    request["options"] = {"dry_run": True, "activate": True}
    response = await orchestrator.execute(request)
    assert response.result is not None, response.error
    adsets = [o for o in response.result["objects"] if o["kind"] == "adset"]
    assert adsets[0]["daily_budget"] == "INR 500.00 (50000)"
    assert response.result["policy"]["activation"] == "waits for an approval"
    assert await live_objects(client) == []
