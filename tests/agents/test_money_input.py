"""Money as a request states it: minor units, or '50.00 USD' converted with the currency's offset."""

from __future__ import annotations

import pytest

from meta_agent.agents.params import AdSetParams
from meta_agent.agents.validation import validate
from meta_agent.errors import RequestValidationError


def _adset(budget: object) -> AdSetParams:
    data = {
        "name": "x",
        "optimization_goal": "LINK_CLICKS",
        "daily_budget": budget,
        "targeting": {"countries": ["US"]},
    }
    return validate(AdSetParams, data, "data.adsets[0]")


@pytest.mark.parametrize(
    ("stated", "minor"),
    [("50.00 USD", 5000), ("50 usd", 5000), ("12.5 EUR", 1250), ("1000 JPY", 1000), (700, 700)],
)
def test_amounts_convert_with_the_currency_offset(stated: object, minor: int) -> None:
    """Two decimals for cents currencies, none for zero-decimal ones; integers stay as sent."""
    assert _adset(stated).daily_budget == minor


@pytest.mark.parametrize(
    ("stated", "says"),
    [
        ("10.5 JPY", "JPY has no minor unit"),
        ("lots", "an integer of minor units (5000) or the amount and currency"),
        ("0.00 USD", "more than zero"),
        ("50,00 USD", "is not an amount"),
    ],
)
def test_a_bad_amount_names_the_field_and_the_fix(stated: str, says: str) -> None:
    """Every refusal names data.adsets[0].daily_budget and says what to write instead."""
    with pytest.raises(RequestValidationError) as caught:
        _adset(stated)
    assert caught.value.field == "data.adsets[0].daily_budget"
    assert says in caught.value.message
