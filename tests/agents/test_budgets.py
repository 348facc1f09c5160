"""Minimum budgets: per currency and billing class, in the currency's major units."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from meta_agent.agents.budgets import (
    DEFAULT_MINIMUM_BUDGETS,
    CurrencyFloors,
    check_minimums,
    shown,
)
from meta_agent.agents.campaigns import CampaignAgent
from meta_agent.agents.params import AdSetParams, CampaignParams
from meta_agent.errors import RequestValidationError
from meta_agent.sandbox import Sandbox
from tests.conftest import INR_ACCOUNT, USD_ACCOUNT

START = datetime(2026, 12, 1, tzinfo=UTC)


def adset(**fields: Any) -> AdSetParams:
    """An ad set in India with the given overrides."""
    values: dict[str, Any] = {
        "name": "A",
        "optimization_goal": "REACH",
        "targeting": {"countries": ["IN"]},
        "daily_budget": 100_000,
    }
    return AdSetParams.model_validate({**values, **fields})


def test_inr_impressions_floor_message() -> None:
    """An INR impressions-billed ad set under ₹40 is refused, the floor in rupees."""
    with pytest.raises(RequestValidationError) as caught:
        check_minimums(adset(daily_budget=100), "INR", at="adsets[0]")
    assert caught.value.field == "adsets[0].daily_budget"
    assert caught.value.message == (
        "adsets[0].daily_budget: ₹40.00 is the minimum for INR impressions-billed ad sets; "
        "got ₹1.00"
    )


def test_usd_click_billed_floor() -> None:
    """A USD link-click-billed ad set needs $5 a day; $5 exactly passes."""
    clicks = {"optimization_goal": "LINK_CLICKS", "billing_event": "LINK_CLICKS"}
    with pytest.raises(RequestValidationError, match=r"\$5\.00 is the minimum for USD click"):
        check_minimums(adset(daily_budget=499, **clicks), "USD")
    check_minimums(adset(daily_budget=500, **clicks), "USD")


def test_lifetime_floor_scales_with_days() -> None:
    """A lifetime budget must cover the daily floor for every day of the schedule."""
    params = adset(
        daily_budget=None,
        lifetime_budget=1000,
        start_time=START,
        end_time=START + timedelta(days=20),
    )
    with pytest.raises(RequestValidationError, match=r"\$20\.00 .* over 20 days; got \$10\.00"):
        check_minimums(params, "USD")


def test_campaign_budget_covers_its_adsets() -> None:
    """A campaign budget must cover the floors of the ad sets it funds."""
    campaign = CampaignParams(name="C", objective="OUTCOME_AWARENESS", daily_budget=7000)
    adsets = [adset(daily_budget=None), adset(daily_budget=None)]
    check_minimums(campaign, "INR", adsets=adsets[:1])
    with pytest.raises(RequestValidationError, match=r"₹80\.00"):
        check_minimums(campaign, "INR", adsets=adsets)


def test_live_floors_and_custom_tables_win() -> None:
    """Floors passed in (from Meta) beat the table; an unknown currency is left to Meta."""
    floors = CurrencyFloors(
        currency="INR", impressions=50, high_frequency=50, low_frequency=50, video_views=50
    )
    check_minimums(adset(daily_budget=100), "INR", floors=floors)
    check_minimums(adset(daily_budget=1), "XAF")
    table = {"XAF": DEFAULT_MINIMUM_BUDGETS["USD"].model_copy(update={"currency": "XAF"})}
    with pytest.raises(RequestValidationError, match=r"XAF 1\.00"):
        check_minimums(adset(daily_budget=1), "XAF", table=table)


def test_amounts_shown_in_major_units() -> None:
    """Zero-decimal currencies show whole units, others two decimals with separators."""
    assert shown(160000, "INR") == "₹1,600.00"
    assert shown(150, "JPY") == "¥150"


async def test_agent_reads_meta_minimums_once(
    campaign_agent: CampaignAgent, sandbox: Sandbox
) -> None:
    """The agent asks act_X/minimum_budgets once and then answers from its cache."""
    first = await campaign_agent.minimum_budgets(USD_ACCOUNT)
    second = await campaign_agent.minimum_budgets(USD_ACCOUNT)
    assert first == second
    assert first is not None
    assert (first.currency, first.impressions, first.low_frequency) == ("USD", 100, 4000)
    assert sandbox.counters.by_route.get("GET {adaccount}/minimum_budgets") == 1
    inr = await campaign_agent.minimum_budgets(INR_ACCOUNT)
    assert inr is not None
    assert inr.impressions == 4000
