"""Campaigns: create, read, list, update, delete, and the §5 rules Meta enforces on them."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest

from meta_agent.sandbox import Sandbox
from tests.conftest import INR_ACCOUNT, USD_ACCOUNT, Graph, error_of

DAY = 86_400


def form(**values: Any) -> dict[str, str]:
    """Encode parameters the way the official SDK does: JSON for lists, dicts and booleans."""
    return {
        key: json.dumps(value, separators=(",", ":"))
        if isinstance(value, dict | list | bool)
        else str(value)
        for key, value in values.items()
    }


def campaign_params(**overrides: Any) -> dict[str, str]:
    """A valid ad-set-budget (ABO) traffic campaign, with ``overrides`` applied (None drops a key)."""
    params: dict[str, Any] = {
        "name": "Coffee launch",
        "objective": "OUTCOME_TRAFFIC",
        "status": "PAUSED",
        "special_ad_categories": [],
        "is_adset_budget_sharing_enabled": False,
    }
    params.update(overrides)
    return form(**{k: v for k, v in params.items() if v is not None})


async def create_campaign(graph: Graph, account: str = INR_ACCOUNT, **overrides: Any) -> str:
    """Create a campaign and return its id (failing the test if Meta would refuse it)."""
    response = await graph.post(f"{account}/campaigns", **campaign_params(**overrides))
    assert response.status_code == 200, response.text
    campaign_id: str = response.json()["id"]
    return campaign_id


def assert_error(
    response: httpx2.Response, code: int, subcode: int | None, blame: list[str] | None = None
) -> dict[str, Any]:
    """The response is Meta's error with this code, subcode and (when given) blame path."""
    error = error_of(response)
    assert response.status_code == 400
    assert (error["code"], error.get("error_subcode")) == (code, subcode), error
    if blame is not None:
        assert json.loads(error["error_data"])["blame_field_specs"] == [blame], error
    return error


async def test_create_then_read_back(graph: Graph) -> None:
    """A created campaign reads back with the sent values and Meta's derived fields."""
    campaign_id = await create_campaign(
        graph, daily_budget=50000, is_adset_budget_sharing_enabled=None
    )
    body = (
        await graph.get(
            campaign_id,
            fields="name,objective,status,effective_status,daily_budget,bid_strategy,special_ad_categories",
        )
    ).json()
    assert body == {
        "id": campaign_id,
        "name": "Coffee launch",
        "objective": "OUTCOME_TRAFFIC",
        "status": "PAUSED",
        "effective_status": "PAUSED",
        "daily_budget": "50000",
        "bid_strategy": "LOWEST_COST_WITHOUT_CAP",
        "special_ad_categories": [],
    }


async def test_read_after_write_returns_requested_fields(graph: Graph) -> None:
    """A create with ``fields`` answers with the new campaign read back."""
    response = await graph.post(f"{INR_ACCOUNT}/campaigns", **campaign_params(fields="name,status"))
    body = response.json()
    assert set(body) == {"id", "name", "status"}
    assert body["name"] == "Coffee launch"


async def test_validate_only_creates_nothing(graph: Graph, sandbox: Sandbox) -> None:
    """``execution_options=["validate_only"]`` answers success and stores nothing."""
    response = await graph.post(
        f"{INR_ACCOUNT}/campaigns", **campaign_params(execution_options=["validate_only"])
    )
    assert response.json() == {"success": True}
    assert list(sandbox.state.of_kind("campaign")) == []


async def test_validate_only_still_validates(graph: Graph) -> None:
    """A validate-only request that breaks a rule gets the rule's error."""
    response = await graph.post(
        f"{INR_ACCOUNT}/campaigns",
        **campaign_params(objective="LINK_CLICKS", execution_options=["validate_only"]),
    )
    assert_error(response, 100, 2490408, ["objective"])


@pytest.mark.parametrize(
    ("overrides", "code", "subcode", "blame"),
    [
        pytest.param({"name": None}, 100, None, ["name"], id="name-required"),
        pytest.param({"objective": None}, 100, None, ["objective"], id="objective-required"),
        pytest.param(
            {"objective": "CONVERSIONS"}, 100, 2490408, ["objective"], id="legacy-objective"
        ),
        pytest.param({"objective": "SELL_STUFF"}, 100, None, ["objective"], id="unknown-objective"),
        pytest.param(
            {"special_ad_categories": None},
            100,
            None,
            ["special_ad_categories"],
            id="categories-required",
        ),
        pytest.param(
            {"special_ad_categories": ["BOATS"]},
            100,
            None,
            ["special_ad_categories"],
            id="bad-category",
        ),
        pytest.param(
            {"is_adset_budget_sharing_enabled": None},
            100,
            None,
            ["is_adset_budget_sharing_enabled"],
            id="sharing-flag-required-without-budget",
        ),
        pytest.param({"status": "ARCHIVED"}, 100, None, ["status"], id="status-archived-at-create"),
        pytest.param({"status": "DELETED"}, 100, None, ["status"], id="status-deleted-at-create"),
        pytest.param(
            {"daily_budget": 3999, "is_adset_budget_sharing_enabled": None},
            100,
            1885272,
            ["daily_budget"],
            id="daily-below-inr-floor",
        ),
        pytest.param(
            {"daily_budget": "15.00", "is_adset_budget_sharing_enabled": None},
            100,
            None,
            ["daily_budget"],
            id="decimal-budget",
        ),
        pytest.param(
            {"daily_budget": 50000, "lifetime_budget": 500000},
            100,
            None,
            ["lifetime_budget"],
            id="daily-and-lifetime",
        ),
        pytest.param(
            {"lifetime_budget": 9_000_000_000, "stop_time": "2027-01-01T00:00:00+0000"},
            100,
            1885261,
            ["lifetime_budget"],
            id="lifetime-ceiling",
        ),
        pytest.param({"spend_cap": 5000}, 100, 2446307, ["spend_cap"], id="spend-cap-floor"),
        pytest.param(
            {"bid_strategy": "COST_CAP"},
            100,
            None,
            ["bid_strategy"],
            id="bid-strategy-without-budget",
        ),
        pytest.param(
            {"start_time": "2027-01-02T00:00:00+0000", "stop_time": "2027-01-01T00:00:00+0000"},
            100,
            1487033,
            ["stop_time"],
            id="stop-before-start",
        ),
        pytest.param(
            {"smart_promotion_type": "GUIDED_CREATION"},
            100,
            None,
            ["smart_promotion_type"],
            id="smart-promotion-gone-in-v25",
        ),
        pytest.param({"colour": "blue"}, 100, None, ["colour"], id="unknown-param"),
    ],
)
async def test_create_rules(
    graph: Graph, overrides: dict[str, Any], code: int, subcode: int | None, blame: list[str]
) -> None:
    """Each creation rule answers with Meta's code, subcode and blamed field."""
    response = await graph.post(f"{INR_ACCOUNT}/campaigns", **campaign_params(**overrides))
    assert_error(response, code, subcode, blame)


@pytest.mark.parametrize(
    ("account", "budget", "floor"),
    [
        pytest.param(INR_ACCOUNT, {"daily_budget": 3999}, "₹40.00", id="inr-daily"),
        pytest.param(USD_ACCOUNT, {"daily_budget": 99}, "$1.00", id="usd-daily"),
        pytest.param(
            USD_ACCOUNT,
            {
                "lifetime_budget": 999,
                "start_time": 1_800_000_000,
                "stop_time": 1_800_000_000 + 10 * DAY,
            },
            "$10.00",
            id="usd-lifetime-is-floor-times-days",
        ),
    ],
)
async def test_minimum_budget_names_the_floor(
    graph: Graph, account: str, budget: dict[str, Any], floor: str
) -> None:
    """A campaign budget under the currency floor is 1885272, the floor in the user message."""
    params = campaign_params(is_adset_budget_sharing_enabled=None, **budget)
    error = assert_error(await graph.post(f"{account}/campaigns", **params), 100, 1885272)
    assert error["error_user_title"] == "Budget Too Low"
    assert floor in error["error_user_msg"]


async def test_minimum_budget_accepts_the_floor(graph: Graph) -> None:
    """A budget exactly at the floor is accepted."""
    await create_campaign(
        graph, USD_ACCOUNT, daily_budget=100, is_adset_budget_sharing_enabled=None
    )


async def test_update_changes_name_status_and_budget(graph: Graph) -> None:
    """POST /{id} answers success and the changes read back."""
    campaign_id = await create_campaign(
        graph, daily_budget=50000, is_adset_budget_sharing_enabled=None
    )
    response = await graph.post(
        campaign_id, **form(name="Renamed", status="ACTIVE", daily_budget=60000)
    )
    assert response.json() == {"success": True}
    body = (await graph.get(campaign_id, fields="name,status,daily_budget")).json()
    assert body == {
        "id": campaign_id,
        "name": "Renamed",
        "status": "ACTIVE",
        "daily_budget": "60000",
    }


@pytest.mark.parametrize(
    ("changes", "code", "subcode", "blame"),
    [
        pytest.param(
            {"objective": "OUTCOME_SALES"}, 100, None, ["objective"], id="objective-fixed"
        ),
        pytest.param(
            {"daily_budget": 100}, 100, 1885272, ["daily_budget"], id="budget-below-floor"
        ),
        pytest.param(
            {"lifetime_budget": 900000}, 100, None, ["lifetime_budget"], id="switch-budget-type"
        ),
        pytest.param({"status": "LIVE"}, 100, None, ["status"], id="unknown-status"),
        pytest.param({"spend_cap": 100}, 100, 2446307, ["spend_cap"], id="spend-cap-floor"),
    ],
)
async def test_update_rules(
    graph: Graph, changes: dict[str, Any], code: int, subcode: int | None, blame: list[str]
) -> None:
    """Updates are held to the same rules as creation."""
    campaign_id = await create_campaign(
        graph, daily_budget=50000, is_adset_budget_sharing_enabled=None
    )
    assert_error(await graph.post(campaign_id, **form(**changes)), code, subcode, blame)


async def test_archived_campaign_takes_only_a_name_or_deletion(graph: Graph) -> None:
    """An archived campaign can be renamed or deleted, but not reactivated (100/1885088)."""
    campaign_id = await create_campaign(graph)
    await graph.post(campaign_id, status="ARCHIVED")
    assert_error(await graph.post(campaign_id, status="ACTIVE"), 100, 1885088)
    assert (await graph.post(campaign_id, name="Old")).json() == {"success": True}
    assert (await graph.post(campaign_id, status="DELETED")).json() == {"success": True}


async def test_deleted_campaign_takes_only_a_name(graph: Graph) -> None:
    """A deleted campaign refuses every change but its name."""
    campaign_id = await create_campaign(graph)
    assert (await graph.delete(campaign_id)).json() == {"success": True}
    assert_error(await graph.post(campaign_id, status="PAUSED"), 100, None)
    assert (await graph.post(campaign_id, name="Gone")).json() == {"success": True}


async def test_deleted_campaign_is_readable_by_id_but_not_listed(graph: Graph) -> None:
    """DELETE keeps the campaign readable by id with status DELETED; edges leave it out."""
    kept = await create_campaign(graph, name="Kept")
    gone = await create_campaign(graph, name="Gone")
    await graph.delete(gone)
    assert (await graph.get(gone, fields="status")).json()["status"] == "DELETED"
    listed = (await graph.get(f"{INR_ACCOUNT}/campaigns")).json()["data"]
    assert [c["id"] for c in listed] == [kept]


async def test_gaining_a_budget_while_ad_sets_have_theirs_is_refused(graph: Graph) -> None:
    """A campaign can't take a budget while its ad sets carry their own (100/1885621)."""
    from tests.contract.test_adsets import create_adset

    campaign_id = await create_campaign(graph)
    await create_adset(graph, campaign_id)
    response = await graph.post(campaign_id, daily_budget="50000")
    assert_error(response, 100, 1885621, ["daily_budget"])


async def test_listing_pages_with_cursors_and_summary(graph: Graph) -> None:
    """limit=2 over five campaigns: three pages via ``after``, the last without ``next``."""
    created = [await create_campaign(graph, name=f"C{i}") for i in range(5)]
    seen: list[str] = []
    params: dict[str, str] = {"limit": "2", "summary": "true", "fields": "name"}
    for _ in range(5):
        body = (await graph.get(f"{INR_ACCOUNT}/campaigns", **params)).json()
        assert body["summary"] == {"total_count": 5}
        seen += [item["id"] for item in body["data"]]
        if "next" not in body["paging"]:
            break
        params["after"] = body["paging"]["cursors"]["after"]
    assert seen == created


async def test_listing_filters_by_effective_status(graph: Graph) -> None:
    """``effective_status=["ACTIVE"]`` keeps only active campaigns; archived ones need asking."""
    active = await create_campaign(graph, status="ACTIVE")
    paused = await create_campaign(graph)
    archived = await create_campaign(graph)
    await graph.post(archived, status="ARCHIVED")

    async def ids(**params: str) -> list[str]:
        body = (await graph.get(f"{INR_ACCOUNT}/campaigns", **params)).json()
        return [item["id"] for item in body["data"]]

    assert await ids(effective_status='["ACTIVE"]') == [active]
    assert await ids() == [active, paused]
    assert await ids(effective_status='["ARCHIVED","PAUSED"]') == [paused, archived]


@pytest.mark.parametrize("value", ['["DELETED"]', '["SLEEPING"]'])
async def test_listing_refuses_bad_status_filters(graph: Graph, value: str) -> None:
    """DELETED and unknown values in the effective_status filter are refused with code 100."""
    response = await graph.get(f"{INR_ACCOUNT}/campaigns", effective_status=value)
    assert_error(response, 100, None, ["effective_status"])
