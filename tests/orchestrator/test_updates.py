"""update_campaign end to end against the sandbox: checked first, undone on failure."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx2
import pytest

from meta_agent.errors import PolicyViolationError, RequestValidationError
from meta_agent.gate.policy import AccountPolicy, PolicyBook
from meta_agent.orchestrator.orchestrator import Orchestrator
from meta_agent.principals import Principal, Role
from meta_agent.sandbox import Sandbox
from tests.conftest import INR_ACCOUNT, USD_ACCOUNT


def campaign_request(request_id: str, *, cbo: bool = False) -> dict[str, Any]:
    """A campaign with two ad sets: budgets on the ad sets (₹500 a day), or on the campaign."""
    adsets = [
        {
            "name": f"Adults {index}",
            "optimization_goal": "LINK_CLICKS",
            "billing_event": "IMPRESSIONS",
            "targeting": {"countries": ["IN"], "age_min": 18 + index},
            **({} if cbo else {"daily_budget": 50_000}),
        }
        for index in range(2)
    ]
    campaign: dict[str, Any] = {"name": "Winter shoes", "objective": "OUTCOME_TRAFFIC"}
    if cbo:
        campaign["daily_budget"] = 100_000
    return {
        "request_id": request_id,
        "action": "create_campaign",
        "account_id": INR_ACCOUNT,
        "data": {"campaign": campaign, "adsets": adsets},
    }


def update_request(
    updates: list[dict[str, Any]], request_id: str = "upd-1", **options: Any
) -> dict[str, Any]:
    """An update_campaign request."""
    return {
        "request_id": request_id,
        "action": "update_campaign",
        "data": {"updates": updates},
        "options": options,
    }


@pytest.fixture
async def structure(orchestrator: Orchestrator) -> dict[str, Any]:
    """A PAUSED campaign with two ad sets at ₹500 a day each."""
    response = await orchestrator.execute(campaign_request("setup"))
    assert response.result is not None, response.error
    return response.result


def write_count(sandbox: Sandbox) -> int:
    """POST and DELETE requests the sandbox has served so far."""
    routes = sandbox.counters.by_route.items()
    return sum(count for route, count in routes if route.startswith(("POST", "DELETE")))


async def read(client: httpx2.AsyncClient, object_id: str) -> dict[str, Any]:
    """An object as the sandbox holds it (the admin listing is the witness)."""
    for kind in ("campaign", "adset", "ad"):
        listing = (await client.get("/_sandbox/objects", params={"kind": kind})).json()
        for record in listing["data"]:
            if record["id"] == object_id:
                return dict(record)
    raise AssertionError(f"no object {object_id}")


async def test_budgets_and_names_change_and_the_result_says_before_and_after(
    orchestrator: Orchestrator, client: httpx2.AsyncClient, structure: dict[str, Any]
) -> None:
    """Two ad sets changed in one request; the result lists each object's before and after."""
    first, second = (adset["id"] for adset in structure["adsets"])
    response = await orchestrator.execute(
        update_request(
            [
                {"object_id": first, "level": "adset", "changes": {"daily_budget": 60_000}},
                {"object_id": second, "level": "adset", "changes": {"name": "Renamed"}},
            ]
        )
    )
    assert response.status == "COMPLETED", response.error
    assert response.result is not None
    first_change = response.result["updates"][0]
    assert first_change["before"] == {"daily_budget": 50_000}
    assert first_change["after"] == {"daily_budget": 60_000}
    assert int((await read(client, first))["daily_budget"]) == 60_000
    renamed = (await read(client, second))["name"]
    assert renamed == "Renamed"  # the tag left the name when the launch completed


async def test_the_one_object_shorthand_is_accepted(
    orchestrator: Orchestrator, client: httpx2.AsyncClient, structure: dict[str, Any]
) -> None:
    """{"object_id", "level", "changes"} without the list changes one object."""
    campaign = structure["campaign"]["id"]
    response = await orchestrator.execute(
        {
            "request_id": "short",
            "action": "update_campaign",
            "data": {"object_id": campaign, "level": "campaign", "changes": {"name": "Spring"}},
        }
    )
    assert response.status == "COMPLETED", response.error
    assert (await read(client, campaign))["name"].startswith("Spring")


async def test_a_failed_second_update_restores_the_first(
    orchestrator: Orchestrator, client: httpx2.AsyncClient, structure: dict[str, Any]
) -> None:
    """The second change fails at Meta; the rollback puts the first ad set's budget back."""
    first, second = (adset["id"] for adset in structure["adsets"])
    fault = f"unknown:method=POST,path={second},in_batch=false"
    assert (await client.post("/_sandbox/faults", json={"spec": fault})).status_code == 200
    response = await orchestrator.execute(
        update_request(
            [
                {"object_id": first, "level": "adset", "changes": {"daily_budget": 70_000}},
                {"object_id": second, "level": "adset", "changes": {"daily_budget": 70_000}},
            ]
        )
    )
    assert response.status == "ROLLED_BACK", response
    assert response.error is not None
    assert response.error["step"] == f"update:{second}"
    assert int((await read(client, first))["daily_budget"]) == 50_000
    assert int((await read(client, second))["daily_budget"]) == 50_000


async def test_a_dry_run_changes_nothing_and_returns_the_plan(
    orchestrator: Orchestrator, client: httpx2.AsyncClient, structure: dict[str, Any]
) -> None:
    """dry_run: Meta validates the change, the budget stays, the plan says before and after."""
    first = structure["adsets"][0]["id"]
    change = {"object_id": first, "level": "adset", "changes": {"daily_budget": 55_000}}
    response = await orchestrator.execute(update_request([change], dry_run=True))
    assert response.status == "COMPLETED", response.error
    assert response.dry_run
    assert response.result is not None
    assert response.result["updates"][0]["before"] == {"daily_budget": 50_000}
    assert int((await read(client, first))["daily_budget"]) == 50_000


async def test_a_repeated_request_id_changes_nothing_again(
    orchestrator: Orchestrator, sandbox: Sandbox, structure: dict[str, Any]
) -> None:
    """The same request_id again is answered from the journal: no write reaches Meta."""
    first = structure["adsets"][0]["id"]
    request = update_request(
        [{"object_id": first, "level": "adset", "changes": {"status": "PAUSED"}}], "again"
    )
    before = await orchestrator.execute(request)
    writes = write_count(sandbox)
    again = await orchestrator.execute(request)
    assert again.replayed
    assert again.result == before.result
    assert write_count(sandbox) == writes


async def test_a_budget_on_an_adset_under_a_campaign_budget_is_refused(
    orchestrator: Orchestrator,
) -> None:
    """Under campaign budget optimisation the ad set has no budget: the field is named."""
    created = await orchestrator.execute(campaign_request("cbo", cbo=True))
    assert created.result is not None, created.error
    adset = created.result["adsets"][1]["id"]
    with pytest.raises(RequestValidationError) as caught:
        await orchestrator.execute(
            update_request(
                [{"object_id": adset, "level": "adset", "changes": {"daily_budget": 60_000}}]
            )
        )
    assert caught.value.field == "data.updates[0].changes.daily_budget"
    assert "campaign budget" in caught.value.message


async def test_a_budget_below_the_floor_is_refused_in_rupees(
    orchestrator: Orchestrator, structure: dict[str, Any]
) -> None:
    """₹10 a day is under the INR floor; the error names the field and the floor."""
    first = structure["adsets"][0]["id"]
    with pytest.raises(RequestValidationError) as caught:
        await orchestrator.execute(
            update_request(
                [{"object_id": first, "level": "adset", "changes": {"daily_budget": 1_000}}]
            )
        )
    assert caught.value.field == "data.updates[0].changes.daily_budget"
    assert "₹" in caught.value.message


@pytest.mark.parametrize(
    ("update", "field"),
    [
        ({"level": "adset", "changes": {"colour": "red"}}, "data.updates[0].changes.colour"),
        ({"level": "campaign", "changes": {"bid_amount": 5}}, "data.updates[0].changes.bid_amount"),
        ({"level": "adset", "changes": {}}, "data.updates[0].changes"),
        ({"level": "team", "changes": {"name": "x"}}, "data.updates[0].level"),
        ({"level": "adset", "changes": {"status": "ARCHIVED"}}, "data.updates[0].changes.status"),
        (
            {
                "level": "adset",
                "changes": {
                    "end_time": "2030-01-01T00:00:00+00:00",
                    "stop_time": "2030-01-01T00:00:00+00:00",
                },
            },
            "data.updates[0].changes.stop_time",
        ),
        (
            {"level": "adset", "changes": {"daily_budget": 60_000, "lifetime_budget": 9_000_000}},
            "data.updates[0].changes.lifetime_budget",
        ),
    ],
)
async def test_a_bad_change_names_its_path(
    orchestrator: Orchestrator, structure: dict[str, Any], update: dict[str, Any], field: str
) -> None:
    """Validation errors name the full path under data; nothing is sent."""
    target = structure["adsets"][0]["id"]
    with pytest.raises(RequestValidationError) as caught:
        await orchestrator.execute(update_request([{"object_id": target, **update}]))
    assert caught.value.field == field


async def test_an_object_of_another_account_is_refused(
    orchestrator: Orchestrator, structure: dict[str, Any]
) -> None:
    """An update under account_id must change that account's objects only."""
    request = update_request(
        [{"object_id": structure["campaign"]["id"], "level": "campaign", "changes": {"name": "x"}}]
    )
    request["account_id"] = USD_ACCOUNT
    with pytest.raises(RequestValidationError) as caught:
        await orchestrator.execute(request)
    assert caught.value.field == "data.updates[0].object_id"


APPROVER = Principal(id="ana", name="Ana", role=Role.APPROVER)


class TestPolicy:
    """The account's policy is checked against the object's values now, before any write."""

    @pytest.fixture
    def policies(self) -> PolicyBook:
        """₹1,000 a day at most, +20% per change at most, approval to activate."""
        policy = AccountPolicy(
            max_daily_budget=100_000, max_increase_pct=20, activation_requires_approval=True
        )
        return PolicyBook(accounts={INR_ACCOUNT: policy})

    async def test_an_increase_over_the_limit_is_refused(
        self, orchestrator: Orchestrator, client: httpx2.AsyncClient, structure: dict[str, Any]
    ) -> None:
        """₹500 → ₹700 is +40% against a 20% limit: refused, naming the most allowed."""
        first = structure["adsets"][0]["id"]
        change = {"object_id": first, "level": "adset", "changes": {"daily_budget": 70_000}}
        with pytest.raises(PolicyViolationError) as caught:
            await orchestrator.execute(update_request([change]))
        assert caught.value.details["limit"] == "max_increase_pct"
        assert caught.value.details["allowed"] == 60_000
        assert int((await read(client, first))["daily_budget"]) == 50_000

    async def test_a_budget_over_the_cap_is_refused(
        self, orchestrator: Orchestrator, structure: dict[str, Any]
    ) -> None:
        """A campaign budget over ₹1,000 is refused with the excess."""
        created = await orchestrator.execute(campaign_request("cbo", cbo=True))
        assert created.result is not None, created.error
        campaign = created.result["campaign"]["id"]
        change = {"object_id": campaign, "level": "campaign", "changes": {"daily_budget": 110_000}}
        with pytest.raises(PolicyViolationError) as caught:
            await orchestrator.execute(update_request([change]))
        assert caught.value.details["limit"] == "max_daily_budget"
        assert caught.value.details["excess"] == 10_000

    async def test_activation_waits_for_an_approver(
        self, orchestrator: Orchestrator, client: httpx2.AsyncClient, structure: dict[str, Any]
    ) -> None:
        """Setting a PAUSED ad set ACTIVE waits for an approval; granted, it goes ahead."""
        first = structure["adsets"][0]["id"]
        change = {"object_id": first, "level": "adset", "changes": {"status": "ACTIVE"}}
        held = await orchestrator.execute(update_request([change]))
        assert held.status == "PENDING_APPROVAL"
        assert (await read(client, first))["status"] == "PAUSED"
        assert held.result is not None
        approval_id = held.result["approval"]["id"]
        response = await orchestrator.approvals.approve(approval_id, APPROVER)
        assert response.status == "COMPLETED", response.error
        assert (await read(client, first))["status"] == "ACTIVE"


async def test_a_schedule_change_takes_end_time_or_stop_time_at_either_level(
    orchestrator: Orchestrator, client: httpx2.AsyncClient, structure: dict[str, Any]
) -> None:
    """end_time on a campaign is its stop_time; stop_time on an ad set is its end_time."""
    campaign, adset = structure["campaign"]["id"], structure["adsets"][0]["id"]
    end = "2030-06-01T00:00:00+00:00"
    response = await orchestrator.execute(
        update_request(
            [
                {"object_id": campaign, "level": "campaign", "changes": {"end_time": end}},
                {"object_id": adset, "level": "adset", "changes": {"stop_time": end}},
            ]
        )
    )
    assert response.status == "COMPLETED", response.error
    stamp = datetime.fromisoformat(end).timestamp()  # the sandbox keeps epoch seconds
    assert (await read(client, campaign))["stop_time"] == stamp
    assert (await read(client, adset))["end_time"] == stamp
