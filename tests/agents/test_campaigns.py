"""CampaignAgent: campaigns and ad sets through the real client into the sandbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from meta_agent.agents import keys
from meta_agent.agents.campaigns import CampaignAgent, adset_spec, campaign_spec
from meta_agent.agents.params import (
    AdSetChanges,
    AdSetParams,
    CampaignChanges,
    CampaignParams,
    check_budget_level,
    check_delivery,
)
from meta_agent.agents.validation import validate
from meta_agent.errors import RequestValidationError
from meta_agent.graph.models import Money, TargetingSpec
from meta_agent.sandbox import Sandbox, parse_fault_spec
from tests.conftest import INR_ACCOUNT, PAGE_ID, USD_ACCOUNT

START = datetime(2026, 12, 1, tzinfo=UTC)  # the sandbox's manual clock reads 2026-11-27
K1 = keys.derive_key("req-1", "campaign")
K2 = keys.derive_key("req-1", "adset:0")
PIXEL = {"pixel_id": "555000000000001", "custom_event_type": "PURCHASE"}


def records(sandbox: Sandbox, kind: str) -> list[dict[str, Any]]:
    """The sandbox's stored objects of one kind."""
    return list(sandbox.state.of_kind(kind))


def campaign(**fields: Any) -> CampaignParams:
    """A traffic campaign with ad set budgets, with overrides."""
    return CampaignParams.model_validate(
        {"name": "Diwali", "objective": "OUTCOME_TRAFFIC", **fields}
    )


def adset(**fields: Any) -> AdSetParams:
    """A link-click ad set in India with a ₹500 daily budget, with overrides."""
    values: dict[str, Any] = {
        "name": "Mumbai runners",
        "optimization_goal": "LINK_CLICKS",
        "destination_type": "WEBSITE",
        "targeting": {"places": ["Mumbai"], "interests": ["Running"]},
        "daily_budget": 50_000,
    }
    return AdSetParams.model_validate({**values, **fields})


async def test_create_campaign_tags_name_and_sends_sharing_flag(
    campaign_agent: CampaignAgent, sandbox: Sandbox
) -> None:
    """A created campaign is PAUSED, tagged with its key, and says whether ad sets share budget."""
    result = await campaign_agent.create_campaign(INR_ACCOUNT, campaign(), idempotency_key=K1)
    [stored] = records(sandbox, "campaign")
    assert result.id == stored["id"]
    assert stored["name"] == f"Diwali [ma:{K1}]"
    assert stored["status"] == "PAUSED"
    assert stored["is_adset_budget_sharing_enabled"] is False
    assert not result.adopted


async def test_validate_only_creates_nothing(
    campaign_agent: CampaignAgent, sandbox: Sandbox
) -> None:
    """A dry run is checked by Meta and stores nothing; the result has no id."""
    result = await campaign_agent.create_campaign(
        USD_ACCOUNT, campaign(daily_budget=2000), idempotency_key="k", validate_only=True
    )
    assert result.id is None
    assert result.daily_budget == Money(amount_minor=2000, currency="USD")
    assert records(sandbox, "campaign") == []


async def test_campaign_budget_below_minimum_never_sent(
    campaign_agent: CampaignAgent, sandbox: Sandbox
) -> None:
    """A campaign budget under the INR floor is refused before any POST."""
    with pytest.raises(RequestValidationError) as caught:
        await campaign_agent.create_campaign(
            INR_ACCOUNT, campaign(daily_budget=100), idempotency_key="k"
        )
    assert caught.value.field == "daily_budget"
    assert "₹40.00" in caught.value.message
    assert "POST {adaccount}/campaigns" not in sandbox.counters.by_route


async def test_get_update_pause_resume_delete_campaign(
    campaign_agent: CampaignAgent, sandbox: Sandbox
) -> None:
    """Reads carry Money in the account currency; a rename keeps the tag; status changes land."""
    created = await campaign_agent.create_campaign(
        INR_ACCOUNT, campaign(daily_budget=100_000), idempotency_key=K1
    )
    assert created.id is not None
    got = await campaign_agent.get_campaign(created.id)
    assert got.daily_budget == Money(amount_minor=100_000, currency="INR")
    assert (got.name, got.idempotency_key) == ("Diwali", K1)
    changed = await campaign_agent.update_campaign(
        created.id, CampaignChanges(name="Diwali 2", daily_budget=150_000)
    )
    assert changed.daily_budget == Money(amount_minor=150_000, currency="INR")
    assert sandbox.state.get(created.id)["name"] == f"Diwali 2 [ma:{K1}]"
    with pytest.raises(RequestValidationError, match=r"₹40\.00"):
        await campaign_agent.update_campaign(created.id, CampaignChanges(daily_budget=10))
    await campaign_agent.resume_campaign(created.id)
    assert sandbox.state.get(created.id)["status"] == "ACTIVE"
    await campaign_agent.pause_campaign(created.id)
    assert sandbox.state.get(created.id)["status"] == "PAUSED"
    await campaign_agent.delete_campaign(created.id)
    assert sandbox.state.get(created.id)["status"] == "DELETED"


async def test_adset_life_cycle(campaign_agent: CampaignAgent, sandbox: Sandbox) -> None:
    """An ad set is created with resolved targeting, listed, read, changed, paused and deleted."""
    parent = await campaign_agent.create_campaign(INR_ACCOUNT, campaign(), idempotency_key="p")
    assert parent.id is not None
    created = await campaign_agent.create_adset(INR_ACCOUNT, parent.id, adset(), idempotency_key=K2)
    assert created.id is not None
    stored = sandbox.state.get(created.id)
    assert stored["name"] == f"Mumbai runners [ma:{K2}]"
    assert stored["targeting"]["geo_locations"] == {"cities": [{"key": "1035086"}]}
    assert stored["targeting"]["targeting_automation"] == {"advantage_audience": 0}
    [listed] = await campaign_agent.list_adsets(parent.id)
    assert listed.daily_budget == Money(amount_minor=50_000, currency="INR")
    assert listed.name == "Mumbai runners"
    changed = await campaign_agent.update_adset(
        created.id, AdSetChanges(name="Runners", daily_budget=60_000)
    )
    assert changed.daily_budget == Money(amount_minor=60_000, currency="INR")
    assert sandbox.state.get(created.id)["name"] == f"Runners [ma:{K2}]"
    await campaign_agent.resume_adset(created.id)
    assert (await campaign_agent.get_adset(created.id)).status == "ACTIVE"
    await campaign_agent.pause_adset(created.id)
    await campaign_agent.delete_adset(created.id)
    assert sandbox.state.get(created.id)["status"] == "DELETED"
    assert await campaign_agent.list_adsets(parent.id) == []


async def test_adset_checked_against_its_campaign(
    campaign_agent: CampaignAgent, sandbox: Sandbox
) -> None:
    """A goal the objective lacks, or a budget under a campaign budget, is refused unsent."""
    parent = await campaign_agent.create_campaign(
        INR_ACCOUNT, campaign(daily_budget=100_000), idempotency_key="p"
    )
    assert parent.id is not None
    with pytest.raises(RequestValidationError) as caught:
        await campaign_agent.create_adset(INR_ACCOUNT, parent.id, adset(), idempotency_key="k")
    assert caught.value.field == "daily_budget"
    with pytest.raises(RequestValidationError) as caught:
        await campaign_agent.create_adset(
            INR_ACCOUNT,
            parent.id,
            adset(daily_budget=None, optimization_goal="THRUPLAY"),
            idempotency_key="k",
        )
    assert caught.value.field == "optimization_goal"
    assert records(sandbox, "adset") == []


async def test_adset_below_minimum_in_usd(campaign_agent: CampaignAgent) -> None:
    """A USD click-billed ad set under $5 a day is refused with the floor in dollars."""
    parent = await campaign_agent.create_campaign(USD_ACCOUNT, campaign(), idempotency_key="p")
    assert parent.id is not None
    params = adset(
        daily_budget=300,
        billing_event="LINK_CLICKS",
        targeting={"countries": ["US"]},
    )
    with pytest.raises(RequestValidationError) as caught:
        await campaign_agent.create_adset(USD_ACCOUNT, parent.id, params, idempotency_key="k")
    assert caught.value.message == (
        "daily_budget: $5.00 is the minimum for USD click- or engagement-billed ad sets; got $3.00"
    )


async def test_ambiguous_create_is_adopted_not_duplicated(
    campaign_agent: CampaignAgent, sandbox: Sandbox
) -> None:
    """A campaign committed but whose answer was lost is found by its key, not created twice."""
    sandbox.faults.replace(
        parse_fault_spec("drop_after_commit:method=POST,path=act_*/campaigns,nth=1")
    )
    result = await campaign_agent.create_campaign(INR_ACCOUNT, campaign(), idempotency_key=K1)
    [stored] = records(sandbox, "campaign")
    assert result.adopted
    assert result.id == stored["id"]


async def test_ambiguous_adset_create_is_adopted(
    campaign_agent: CampaignAgent, sandbox: Sandbox
) -> None:
    """The same reconciliation holds for ad sets."""
    parent = await campaign_agent.create_campaign(INR_ACCOUNT, campaign(), idempotency_key="p")
    assert parent.id is not None
    sandbox.faults.replace(
        parse_fault_spec("drop_after_commit:method=POST,path=act_*/adsets,nth=1")
    )
    result = await campaign_agent.create_adset(INR_ACCOUNT, parent.id, adset(), idempotency_key=K2)
    [stored] = records(sandbox, "adset")
    assert (result.id, result.adopted) == (stored["id"], True)


def test_specs_are_pure_conversions() -> None:
    """The batch converters tag names and carry every set field in wire form."""
    spec = campaign_spec(campaign(special_ad_categories=["NONE"]), K1)
    assert spec.name == f"Diwali [ma:{K1}]"
    assert spec.special_ad_categories == []
    assert spec.is_adset_budget_sharing_enabled is False
    with_budget = campaign_spec(campaign(daily_budget=5000), None)
    assert (with_budget.name, with_budget.is_adset_budget_sharing_enabled) == ("Diwali", None)
    params = adset(
        optimization_goal="OFFSITE_CONVERSIONS",
        promoted_object=PIXEL,
        attribution_spec=[{"event_type": "CLICK_THROUGH", "window_days": 7}],
    )
    targeting = TargetingSpec(geo_locations={"countries": ["IN"]})
    wire = adset_spec(params, "42", targeting, K2).to_params()
    assert wire["name"] == f"Mumbai runners [ma:{K2}]"
    assert wire["promoted_object"] == PIXEL
    assert wire["attribution_spec"] == [{"event_type": "CLICK_THROUGH", "window_days": 7}]
    assert (wire["campaign_id"], wire["billing_event"]) == ("42", "IMPRESSIONS")
    assert keys.key_of(wire["name"]) == K2


@pytest.mark.parametrize(
    ("data", "field", "fix"),
    [
        ({"objective": "LINK_CLICKS"}, "objective", "use OUTCOME_TRAFFIC"),
        ({"objective": "SALES"}, "objective", "OUTCOME_SALES"),
        ({"daily_budget": 10.5}, "daily_budget", "integer"),
        ({"daily_budget": 100, "lifetime_budget": 100}, "lifetime_budget", "not both"),
        ({"bid_strategy": "COST_CAP"}, "bid_strategy", "campaign budget"),
        ({"start_time": START, "stop_time": START}, "stop_time", "after start_time"),
        ({"start_time": "2026-12-01T00:00:00"}, "start_time", "timezone"),
        ({"special_ad_categories": ["NONE", "HOUSING"]}, "special_ad_categories", "NONE"),
    ],
)
def test_invalid_campaign_names_the_field(data: dict[str, Any], field: str, fix: str) -> None:
    """Each campaign rule refuses with the field's path and the fix."""
    with pytest.raises(RequestValidationError) as caught:
        validate(CampaignParams, {"name": "C", "objective": "OUTCOME_SALES", **data})
    assert caught.value.field == field
    assert fix in caught.value.message


@pytest.mark.parametrize(
    ("data", "field", "fix"),
    [
        (
            {"optimization_goal": "REACH", "billing_event": "LINK_CLICKS"},
            "billing_event",
            "IMPRESSIONS",
        ),
        ({"optimization_goal": "GOAL"}, "optimization_goal", "LINK_CLICKS"),
        ({"daily_budget": None, "lifetime_budget": 900_000}, "end_time", "lifetime budget"),
        (
            {"start_time": START, "end_time": START + timedelta(hours=20)},
            "end_time",
            "24 hours",
        ),
        ({"bid_strategy": "COST_CAP"}, "bid_amount", "bid_amount"),
        ({"targeting": {"countries": ["FR"]}}, "dsa_beneficiary", "DSA"),
        ({"status": "DELETED"}, "status", "ACTIVE"),
        ({"budget": 5}, "budget", "is not a known field"),
    ],
)
def test_invalid_adset_names_the_field(data: dict[str, Any], field: str, fix: str) -> None:
    """Each ad set rule refuses with the field's path (under ``at``) and the fix."""
    values: dict[str, Any] = {
        "name": "A",
        "optimization_goal": "LINK_CLICKS",
        "targeting": {"countries": ["IN"]},
        "daily_budget": 50_000,
        **data,
    }
    with pytest.raises(RequestValidationError) as caught:
        validate(AdSetParams, values, at="adsets[3]")
    assert caught.value.field == f"adsets[3].{field}"
    assert fix in caught.value.message


def test_delivery_fits_the_objective() -> None:
    """Goals, destinations and promoted objects are checked against the campaign objective."""
    check_delivery("OUTCOME_TRAFFIC", adset())
    with pytest.raises(RequestValidationError) as caught:
        check_delivery("OUTCOME_SALES", adset(optimization_goal="OFFSITE_CONVERSIONS"), "adsets[0]")
    assert caught.value.field == "adsets[0].promoted_object.pixel_id"
    with pytest.raises(RequestValidationError) as caught:
        check_delivery("OUTCOME_LEADS", adset(destination_type="ON_POST"))
    assert caught.value.field == "destination_type"
    awareness = adset(optimization_goal="REACH", destination_type=None)
    with pytest.raises(RequestValidationError, match="page_id"):
        check_delivery("OUTCOME_AWARENESS", awareness)
    check_delivery(
        "OUTCOME_AWARENESS", adset(optimization_goal="REACH", promoted_object={"page_id": PAGE_ID})
    )


def test_budget_level_is_campaign_xor_adsets() -> None:
    """A budget on both levels, or on neither, names the ad set at fault."""
    with pytest.raises(RequestValidationError) as caught:
        check_budget_level(campaign(daily_budget=9000), [adset(daily_budget=None), adset()])
    assert caught.value.field == "adsets[1].daily_budget"
    with pytest.raises(RequestValidationError) as caught:
        check_budget_level(campaign(), [adset(), adset(daily_budget=None)])
    assert caught.value.field == "adsets[1].daily_budget"
    lifetime = campaign(lifetime_budget=900_000)
    with pytest.raises(RequestValidationError) as caught:
        check_budget_level(lifetime, [adset(daily_budget=None)])
    assert caught.value.field == "adsets[0].end_time"
    check_budget_level(campaign(), [adset(), adset()])
