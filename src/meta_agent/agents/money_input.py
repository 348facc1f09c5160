"""Budget and bid amounts as a request gives them: Meta's minor units, or ``"50.00 USD"``.

Meta takes money as an integer in the currency's minor unit (cents, paise; yen for the
zero-decimal currencies), and so do requests: ``5000`` on a USD account is 50.00 USD a day.
A person may write the amount they mean instead, ``"50.00 USD"``: it is converted with that
currency's offset (``"1000 JPY"`` is 1000, ``"50.00 USD"`` is 5000) and remembers the currency
it was stated in, so that a workflow, once it knows the account's currency, refuses an
amount stated in another one (:func:`check_stated_currency`) instead of quietly spending 100
times more or less than meant.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, Field, ValidatorFunctionWrapHandler, WithJsonSchema, WrapValidator
from pydantic_core import PydanticCustomError

from meta_agent.agents.validation import join_path
from meta_agent.errors import RequestValidationError
from meta_agent.graph.values import minor_unit_factor

_STATED = re.compile(r"^\s*(\d{1,12}(?:\.\d{1,2})?)\s+([A-Za-z]{3})\s*$")
MONEY_FIELDS = ("daily_budget", "lifetime_budget", "spend_cap", "bid_amount")


class StatedAmount(int):
    """An amount in minor units that the request stated in major units, with its currency."""

    currency: str

    def __new__(cls, minor: int, currency: str) -> StatedAmount:
        amount = super().__new__(cls, minor)
        amount.currency = currency
        return amount


def parse_stated(text: str) -> StatedAmount:
    """``"50.00 USD"`` → 5000 (stated in USD); ``"1000 JPY"`` → 1000.

    Raises:
        PydanticCustomError: not an amount and a currency code, or more decimals than the
            currency has (``"10.5 JPY"``), or not more than zero.
    """
    match = _STATED.match(text)
    if match is None:
        raise _refused(
            f"{text!r} is not an amount; give an integer of minor units (5000) or the amount "
            "and currency as text ('50.00 USD')"
        )
    amount, currency = Decimal(match[1]), match[2].upper()
    factor = minor_unit_factor(currency)
    minor = amount * factor
    if minor != minor.to_integral_value():
        raise _refused(
            f"{currency} has no minor unit; give a whole amount, e.g. '{int(amount)} {currency}'"
        )
    if minor <= 0:
        raise _refused("must be more than zero")
    return StatedAmount(int(minor), currency)


def _minor_or_stated(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    return parse_stated(value) if isinstance(value, str) else handler(value)


def _refused(message: str) -> PydanticCustomError:
    return PydanticCustomError("money", "{message}", {"message": message})


MinorUnits = Annotated[
    int,
    Field(gt=0, strict=True),
    WrapValidator(_minor_or_stated),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "exclusiveMinimum": 0},
                {"type": "string", "pattern": _STATED.pattern},
            ],
            "description": "money: an integer in the account currency's minor unit "
            "(5000 = 50.00 USD, 1000 = 1000 JPY), or the amount and currency as text, '50.00 USD'",
        }
    ),
]


def check_stated_currency(params: BaseModel, currency: str, at: str = "") -> None:
    """Refuse an amount of ``params`` stated in another currency than the account's.

    Raises:
        RequestValidationError: naming the field, both currencies, and the fix.
    """
    for name in MONEY_FIELDS:
        amount = getattr(params, name, None)
        if isinstance(amount, StatedAmount) and amount.currency != currency.upper():
            path = join_path(at, name)
            raise RequestValidationError(
                f"{path}: stated in {amount.currency}, but the account pays in "
                f"{currency.upper()}; give the amount in {currency.upper()} (e.g. "
                f"'50.00 {currency.upper()}') or in its minor units",
                field=path,
            )
