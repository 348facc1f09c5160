"""Models parse what Meta sends: numbers from strings, aware times, Money, tolerated extras.

Live payloads come from the sandbox (objects created through the services, then read back);
the insights literal is the example row of reference §9.1.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from meta_agent.graph.models import (
    AdAccount,
    AdSet,
    Campaign,
    InsightsRow,
    Money,
    Page,
    TargetingSpec,
)
from meta_agent.graph.requestor import Requestor
from meta_agent.graph.services import AccountService, AdService, CampaignService
from meta_agent.graph.values import minor_unit_factor
from meta_agent.sandbox import Sandbox
from tests.conftest import INR_ACCOUNT
from tests.graph.test_services import campaign_spec, make_tree

IST = timedelta(hours=5, minutes=30)

# Reference §9.1's sync insights row, as Meta sends it.
INSIGHTS_ROW: dict[str, Any] = {
    "account_id": "1234567890",
    "campaign_id": "120210000000000001",
    "campaign_name": "Spring Sale",
    "impressions": "361324",
    "reach": "200114",
    "frequency": "1.805592",
    "clicks": "5207",
    "spend": "5339.5",
    "cpc": "1.025447",
    "cpm": "14.777651",
    "ctr": "1.441089",
    "actions": [
        {"action_type": "link_click", "value": "4211"},
        {
            "action_type": "offsite_conversion.fb_pixel_purchase",
            "value": "87",
            "7d_click": "80",
            "1d_view": "7",
        },
    ],
    "action_values": [{"action_type": "offsite_conversion.fb_pixel_purchase", "value": "9423.11"}],
    "cost_per_action_type": [{"action_type": "link_click", "value": "1.268"}],
    "date_start": "2025-01-01",
    "date_stop": "2025-01-31",
}


# -- live payloads from the sandbox ---------------------------------------------------------------


async def test_campaign_read_back_is_typed(requestor: Requestor) -> None:
    """A campaign with a budget reads back with int minor units, aware times and Money."""
    campaigns = CampaignService(requestor)
    spec = campaign_spec(daily_budget=250_000, is_adset_budget_sharing_enabled=None)
    created = await campaigns.create(INR_ACCOUNT, spec)
    assert created.id is not None
    campaign = await campaigns.get(created.id)
    assert campaign.daily_budget == 250_000
    assert campaign.budget_remaining == 250_000
    assert campaign.budget("INR") == Money(amount_minor=250_000, currency="INR")
    assert isinstance(campaign.created_time, datetime)
    assert campaign.created_time.utcoffset() == IST  # "+0530" from the INR account's zone
    assert campaign.special_ad_categories == []


async def test_nested_objects_parse_as_models(requestor: Requestor, sandbox: Sandbox) -> None:
    """An ad read with expanded adset{...} gets an AdSet with its own typed targeting."""
    ids = await make_tree(requestor, sandbox)
    ad = await AdService(requestor).get(
        ids["ad"], ["adset{daily_budget,targeting,end_time}", "campaign", "created_time"]
    )
    assert isinstance(ad.adset, AdSet)
    assert ad.adset.daily_budget == 50_000
    assert isinstance(ad.adset.targeting, TargetingSpec)
    assert ad.adset.targeting.age_min == 25
    assert isinstance(ad.campaign, Campaign)
    assert ad.campaign.id == ids["campaign"]


async def test_account_money_is_paired_with_its_currency(requestor: Requestor) -> None:
    """amount_spent, balance and spend_cap become Money in the account's currency."""
    account = await AccountService(requestor).get(INR_ACCOUNT, ["amount_spent", "balance"])
    assert account.currency == "INR"  # added by the service: money needs it
    assert account.amount_spent == Money(amount_minor=0, currency="INR")
    assert isinstance(account.balance, Money)


async def test_unknown_fields_are_kept_as_extras(requestor: Requestor) -> None:
    """Fields the model does not declare (Meta adds them every version) are kept, untyped."""
    created = await CampaignService(requestor).create(INR_ACCOUNT, campaign_spec())
    assert created.id is not None
    campaign = await CampaignService(requestor).get(
        created.id, ["name", "advantage_state_info", "can_use_spend_cap"]
    )
    extras = campaign.model_extra or {}
    assert extras["can_use_spend_cap"] is True
    assert extras["advantage_state_info"]["advantage_budget_state"] == "DISABLED"


# -- strictness -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        {"id": "1", "daily_budget": "10.50"},  # budgets are whole minor units
        {"id": "1", "daily_budget": True},
        {"id": "1", "daily_budget": 10.5},
        {"id": 1},  # ids are strings
        {"id": "1", "name": 7},
        {"id": "1", "created_time": "2026-11-23T10:00:00"},  # no offset: ambiguous
        {"id": "1", "created_time": "next tuesday"},
        {"id": "1", "is_adset_budget_sharing_enabled": "yes"},
    ],
)
def test_declared_fields_are_strict(payload: dict[str, Any]) -> None:
    """A declared field of the wrong type is an error, never a silent coercion."""
    with pytest.raises(ValidationError):
        Campaign.model_validate(payload)


def test_graph_times_and_numbers_parse() -> None:
    """Offsets without a colon, Unix timestamps and numeric strings all parse."""
    campaign = Campaign.model_validate(
        {"id": "1", "start_time": "2026-11-23T10:00:00+0530", "stop_time": 1795420800}
    )
    assert campaign.start_time is not None
    assert campaign.start_time.utcoffset() == IST
    assert campaign.stop_time is not None
    assert campaign.stop_time.utcoffset() == timedelta(0)
    assert Campaign.model_validate({"id": "1", "spend_cap": "922337203685478"}).spend_cap == (
        922_337_203_685_478
    )


def test_account_money_needs_the_currency() -> None:
    """Money fields read without the currency are refused rather than guessed."""
    with pytest.raises(ValidationError):
        AdAccount.model_validate({"id": "act_1", "balance": "100"})


def test_page_token_never_prints() -> None:
    """A Page access token is a SecretStr: absent from repr and from JSON dumps."""
    page = Page.model_validate({"id": "1", "access_token": "EAAB-page-secret"})
    assert page.access_token is not None
    assert page.access_token.get_secret_value() == "EAAB-page-secret"
    assert "EAAB" not in repr(page)
    assert "EAAB" not in page.model_dump_json()


# -- Money ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("currency", "minor", "major"),
    [
        ("USD", 1000, Decimal("10.00")),
        ("INR", 533950, Decimal("5339.50")),
        ("JPY", 1000, Decimal("1000")),
        ("KRW", 15000, Decimal("15000")),
        ("CLP", 918, Decimal("918")),
    ],
)
def test_money_knows_zero_decimal_currencies(currency: str, minor: int, major: Decimal) -> None:
    """Minor units are cents for most currencies and whole units for JPY, KRW, CLP..."""
    money = Money(amount_minor=minor, currency=currency)
    assert money.major == major
    assert Money.from_major(major, currency) == money


def test_money_from_major_rounds_half_up_to_the_minor_unit() -> None:
    """Spend in major units converts to minor units; sub-unit digits round half up."""
    assert Money.from_major("5339.5", "INR").amount_minor == 533950
    assert Money.from_major("0.005", "USD").amount_minor == 1
    assert Money.from_major("1234.5", "JPY").amount_minor == 1235
    assert minor_unit_factor("jpy") == 1
    assert minor_unit_factor("EUR") == 100


def test_money_refuses_mixing_currencies() -> None:
    """Adding INR to USD is an error; the same currency adds up."""
    rupees = Money(amount_minor=100, currency="INR")
    assert rupees + rupees == Money(amount_minor=200, currency="INR")
    assert str(rupees - rupees) == "0.00 INR"
    with pytest.raises(ValueError, match="cannot combine"):
        rupees + Money(amount_minor=100, currency="USD")
    with pytest.raises(ValidationError):
        Money(amount_minor=1, currency="rupees")


# -- insights rows --------------------------------------------------------------------------------


def test_insights_row_from_the_reference_example() -> None:
    """Counts become int, ratios and spend Decimal, dates date, action lists ActionValue."""
    row = InsightsRow.model_validate(INSIGHTS_ROW)
    assert (row.impressions, row.reach, row.clicks) == (361324, 200114, 5207)
    assert row.frequency == Decimal("1.805592")
    assert row.spend == Decimal("5339.5")
    assert row.spend_money("INR") == Money(amount_minor=533950, currency="INR")
    assert (row.date_start, row.date_stop) == (date(2025, 1, 1), date(2025, 1, 31))
    assert row.actions is not None
    purchase = row.actions[1]
    assert purchase.value == Decimal(87)
    assert purchase.windows == {"7d_click": Decimal(80), "1d_view": Decimal(7)}
    assert row.action("link_click") == Decimal(4211)
    assert row.action("offsite_conversion.fb_pixel_purchase", of="action_values") == Decimal(
        "9423.11"
    )
    assert row.action("lead") is None


def test_insights_row_keeps_breakdowns_and_unknown_metrics() -> None:
    """Undeclared breakdown columns and new metrics stay on the row as extras."""
    row = InsightsRow.model_validate(
        {**INSIGHTS_ROW, "dma": "Mumbai", "new_metric": "3", "gender": "female"}
    )
    assert row.gender == "female"
    assert row.model_extra == {"dma": "Mumbai", "new_metric": "3"}


def test_insights_spend_needs_a_currency() -> None:
    """Without account_currency on the row, spend_money wants the currency passed in."""
    row = InsightsRow.model_validate(INSIGHTS_ROW)
    with pytest.raises(ValueError, match="currency"):
        row.spend_money()
    with_currency = InsightsRow.model_validate({**INSIGHTS_ROW, "account_currency": "JPY"})
    assert with_currency.spend_money() == Money(amount_minor=5340, currency="JPY")


@pytest.mark.parametrize(
    "change",
    [{"impressions": "36.5"}, {"spend": "lots"}, {"date_start": "01/01/2025"}, {"actions": "x"}],
)
def test_insights_row_is_strict(change: dict[str, Any]) -> None:
    """A metric that does not parse as its type is an error."""
    with pytest.raises(ValidationError):
        InsightsRow.model_validate({**INSIGHTS_ROW, **change})
