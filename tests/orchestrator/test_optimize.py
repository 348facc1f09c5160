"""optimize_campaign end to end: planned from a week of delivery, checked, applied or undone."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from meta_agent.errors import RequestValidationError
from meta_agent.gate.policy import AccountPolicy, PolicyBook
from meta_agent.orchestrator.orchestrator import Orchestrator
from meta_agent.sandbox import ManualClock, Sandbox
from tests.conftest import INR_ACCOUNT, USD_ACCOUNT
from tests.orchestrator.conftest import full_campaign_request
from tests.orchestrator.test_insights_workflows import launch_and_deliver

# Pause every ad under 50% CTR: all of them, except the last active ad of each ad set.
PAUSE_ALL: dict[str, Any] = {"pause_ctr_below": 50}


def optimize_request(
    campaign_id: str,
    request_id: str = "opt-1",
    policy: dict[str, Any] | None = None,
    **options: Any,
) -> dict[str, Any]:
    """An optimize_campaign request over the last seven days."""
    data: dict[str, Any] = {"campaign_id": campaign_id}
    if policy is not None:
        data["policy"] = policy
    return {
        "request_id": request_id,
        "action": "optimize_campaign",
        "account_id": INR_ACCOUNT,
        "data": data,
        "options": options,
    }


@pytest.fixture
async def launched(orchestrator: Orchestrator, clock: ManualClock) -> dict[str, Any]:
    """An ACTIVE campaign, three ad sets at ₹500 a day with two ads each, a week after launch."""
    return await launch_and_deliver(orchestrator, clock)


async def snapshot(client: httpx2.AsyncClient) -> dict[str, tuple[str, int | None]]:
    """Every ad set and ad by id: its status and daily budget, as the sandbox holds them."""
    found = {}
    for kind in ("campaign", "adset", "ad"):
        listing = (await client.get("/_sandbox/objects", params={"kind": kind})).json()
        for record in listing["data"]:
            budget = record.get("daily_budget")
            found[record["id"]] = (record["status"], int(budget) if budget else None)
    return found


def writes(sandbox: Sandbox) -> int:
    """POSTs the sandbox has served so far (a batch counts once)."""
    return sum(n for route, n in sandbox.counters.by_route.items() if route.startswith("POST"))


def by_kind(result: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    """The result's changes of one kind."""
    return [change for change in result["changes"] if change["kind"] == kind]


async def test_a_dry_run_plans_with_rationale_and_changes_nothing(
    orchestrator: Orchestrator, client: httpx2.AsyncClient, launched: dict[str, Any]
) -> None:
    """The plan: a budget shift between the best and worst ad set and pauses, each with why."""
    before = await snapshot(client)
    response = await orchestrator.execute(
        optimize_request(launched["campaign"]["id"], policy=PAUSE_ALL, dry_run=True)
    )
    assert response.status == "COMPLETED", response.error
    assert response.dry_run
    assert response.result is not None
    shifts, pauses = by_kind(response.result, "shift_budget"), by_kind(response.result, "pause_ad")
    assert sorted(change["after"]["daily_budget"] for change in shifts) == [40_000, 60_000]
    assert [change["before"] for change in shifts] == [{"daily_budget": 50_000}] * 2
    assert len(pauses) == 3  # one of the two ads in each ad set
    for change in response.result["changes"]:
        assert change["rationale"]
        assert change["applied"] is False
        assert change["validated"], change["error"]
    assert any("last active ad" in note for note in response.result["notes"])
    assert await snapshot(client) == before


async def test_the_plan_is_applied_and_read_back(
    orchestrator: Orchestrator, client: httpx2.AsyncClient, launched: dict[str, Any]
) -> None:
    """Budgets move and ads pause on Meta as planned; the result marks each change applied."""
    response = await orchestrator.execute(
        optimize_request(launched["campaign"]["id"], policy=PAUSE_ALL)
    )
    assert response.status == "COMPLETED", response.error
    assert response.result is not None
    now = await snapshot(client)
    assert len(response.result["changes"]) == 5
    for change in response.result["changes"]:
        assert change["applied"]
        status, budget = now[change["object_id"]]
        if change["kind"] == "pause_ad":
            assert status == "PAUSED"
        else:
            assert budget == change["after"]["daily_budget"]
    budgets = [now[adset["id"]][1] for adset in launched["adsets"]]
    assert sorted(budgets) == [40_000, 50_000, 60_000]


async def test_a_failure_on_the_second_change_restores_the_first(
    orchestrator: Orchestrator, client: httpx2.AsyncClient, launched: dict[str, Any]
) -> None:
    """The raise fails at Meta after the cut went through; the rollback puts the cut back."""
    campaign = launched["campaign"]["id"]
    dry = await orchestrator.execute(optimize_request(campaign, "plan", dry_run=True))
    assert dry.result is not None, dry.error
    cut, raised = by_kind(dry.result, "shift_budget")
    assert cut["after"]["daily_budget"] < raised["after"]["daily_budget"]
    # Every direct POST to it fails, through the client's retries; the rollback's restores
    # go in one batch, which the fault spares.
    fault = f"unknown:method=POST,path={raised['object_id']},in_batch=false"
    assert (await client.post("/_sandbox/faults", json={"spec": fault})).status_code == 200
    response = await orchestrator.execute(optimize_request(campaign))
    assert response.status == "ROLLED_BACK", response
    assert response.error is not None
    assert response.error["step"] == f"change:{raised['object_id']}"
    now = await snapshot(client)
    assert now[cut["object_id"]][1] == now[raised["object_id"]][1] == 50_000


async def test_a_repeated_request_id_changes_nothing_again(
    orchestrator: Orchestrator,
    client: httpx2.AsyncClient,
    sandbox: Sandbox,
    launched: dict[str, Any],
) -> None:
    """The same request again is answered from the journal: no new plan, no write."""
    request = optimize_request(launched["campaign"]["id"], "again")
    first = await orchestrator.execute(request)
    assert first.status == "COMPLETED", first.error
    assert first.result is not None
    assert first.result["changes"]
    after_first, posts = await snapshot(client), writes(sandbox)
    again = await orchestrator.execute(request)
    assert again.replayed
    assert again.result == first.result
    # Run again, the plan would shift the new budgets once more.
    assert await snapshot(client) == after_first
    assert writes(sandbox) == posts


async def test_without_delivery_nothing_changes_and_the_notes_say_why(
    orchestrator: Orchestrator, client: httpx2.AsyncClient
) -> None:
    """A campaign with no data yet: no change, a note naming the shortfall."""
    created = await orchestrator.execute(full_campaign_request("fresh", activate=True))
    assert created.result is not None, created.error
    response = await orchestrator.execute(optimize_request(created.result["campaign"]["id"]))
    assert response.result is not None, response.error
    assert response.result["changes"] == []
    assert "not enough data" in response.result["notes"][0]


class TestAccountPolicy:
    """The account's policy is held against every increase the plan makes, before writing."""

    @pytest.fixture
    def policies(self) -> PolicyBook:
        """+10% per change at most on the INR account."""
        return PolicyBook(accounts={INR_ACCOUNT: AccountPolicy(max_increase_pct=10)})

    async def test_an_over_cap_raise_is_dropped_with_a_note_and_the_rest_applies(
        self, orchestrator: Orchestrator, client: httpx2.AsyncClient, launched: dict[str, Any]
    ) -> None:
        """A +20% shift is dropped (both halves) with the policy's reason; pauses still apply."""
        response = await orchestrator.execute(
            optimize_request(launched["campaign"]["id"], policy=PAUSE_ALL)
        )
        assert response.status == "COMPLETED", response.error
        assert response.result is not None
        assert by_kind(response.result, "shift_budget") == []
        assert len(by_kind(response.result, "pause_ad")) == 3
        notes = response.result["notes"]
        assert any("at most 10% per change" in note and "Dropped" in note for note in notes)
        assert any("budget cut dropped" in note for note in notes)
        now = await snapshot(client)
        assert [now[adset["id"]][1] for adset in launched["adsets"]] == [50_000] * 3
        for change in by_kind(response.result, "pause_ad"):
            assert now[change["object_id"]][0] == "PAUSED"

    async def test_a_raise_within_the_cap_goes_ahead(
        self, orchestrator: Orchestrator, client: httpx2.AsyncClient, launched: dict[str, Any]
    ) -> None:
        """With the optimizer's own step at 10%, the shift fits the account's cap and applies."""
        response = await orchestrator.execute(
            optimize_request(launched["campaign"]["id"], policy={"max_change_percent": 10})
        )
        assert response.result is not None, response.error
        shifts = by_kind(response.result, "shift_budget")
        assert sorted(change["after"]["daily_budget"] for change in shifts) == [45_000, 55_000]
        now = await snapshot(client)
        assert all(now[c["object_id"]][1] == c["after"]["daily_budget"] for c in shifts)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"campaign_id": "abc"}, "data.campaign_id"),
        ({"campaign_id": "999999"}, "data.campaign_id"),
        (
            {"campaign_id": "{campaign}", "policy": {"max_change_percent": 0}},
            "data.policy.max_change_percent",
        ),
        ({"campaign_id": "{campaign}", "policy": {"rank_by": "vibes"}}, "data.policy.rank_by"),
        (
            {
                "campaign_id": "{campaign}",
                "date_preset": "last_7d",
                "time_range": {"since": "2026-01-01", "until": "2026-01-02"},
            },
            "data.time_range",
        ),
    ],
)
async def test_a_bad_request_names_its_path(
    orchestrator: Orchestrator,
    client: httpx2.AsyncClient,
    launched: dict[str, Any],
    data: dict[str, Any],
    field: str,
) -> None:
    """Validation names the path under data; nothing is changed."""
    before = await snapshot(client)
    if data["campaign_id"] == "{campaign}":
        data = {**data, "campaign_id": launched["campaign"]["id"]}
    request = optimize_request(data["campaign_id"])
    request["data"] = data
    with pytest.raises(RequestValidationError) as caught:
        await orchestrator.execute(request)
    assert caught.value.field == field
    assert await snapshot(client) == before


async def test_a_campaign_of_another_account_is_refused(
    orchestrator: Orchestrator, launched: dict[str, Any]
) -> None:
    """Under account_id, only that account's campaigns can be optimized."""
    request = optimize_request(launched["campaign"]["id"])
    request["account_id"] = USD_ACCOUNT
    with pytest.raises(RequestValidationError) as caught:
        await orchestrator.execute(request)
    assert caught.value.field == "data.campaign_id"
    assert "act_1234567890" in caught.value.message
