"""Values Meta writes as strings, read strictly: numeric ids and counts, decimals, times, money.

Meta writes numbers as strings (``"daily_budget": "5000"``, ``"spend": "5339.5"``) and times
with an offset without a colon (``2026-11-23T10:00:00+0530``). The annotated types here turn
those into ``int``, ``Decimal`` and aware ``datetime`` and refuse anything else (``"12.5"`` for
an integer, ``true`` for a number), so a model never silently coerces a wrong type.

:class:`Money` holds an amount in the currency's minor unit with the currency, and knows the
zero-decimal currencies (reference §4.6): 1000 JPY minor units are ¥1000, 1000 USD are $10.00.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict

ZERO_DECIMAL_CURRENCIES = frozenset(
    {"CLP", "COP", "CRC", "HUF", "ISK", "IDR", "JPY", "KRW", "PYG", "TWD", "VND"}
)
_INT = re.compile(r"-?\d+")
_DECIMAL = re.compile(r"-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?")


def as_int(value: object) -> object:
    """A numeric string as an int; anything else is left for the strict check to judge."""
    if isinstance(value, str) and _INT.fullmatch(value):
        return int(value)
    return value


def _decimal(value: object) -> object:
    if isinstance(value, str) and _DECIMAL.fullmatch(value):
        return Decimal(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    if isinstance(value, float) and value == value and abs(value) != float("inf"):
        # A JSON number: its shortest repr is exactly the text Meta sent.
        return Decimal(repr(value))
    return value


def _time(value: object) -> object:
    if isinstance(value, int) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        if _INT.fullmatch(value):
            return datetime.fromtimestamp(int(value), UTC)
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            raise ValueError(f"a Graph time carries its UTC offset, {value!r} does not")
        return parsed
    return value


def _date(value: object) -> object:
    return date.fromisoformat(value) if isinstance(value, str) else value


GraphInt = Annotated[int, BeforeValidator(as_int), Strict()]
"""An integer Meta may send as a numeric string (``"5000"``); ``"12.5"`` or ``true`` are errors."""
GraphDecimal = Annotated[Decimal, BeforeValidator(_decimal), Strict()]
"""A decimal Meta sends as a string (``"1.805592"``)."""
GraphTime = Annotated[datetime, BeforeValidator(_time), Strict()]
"""An aware datetime from ``2026-11-23T10:00:00+0530`` or a Unix timestamp."""
GraphDate = Annotated[date, BeforeValidator(_date), Strict()]
"""A ``YYYY-MM-DD`` date (insights ``date_start``/``date_stop``)."""


def minor_unit_factor(currency: str) -> int:
    """Minor units per major unit: 1 for zero-decimal currencies (JPY, KRW, ...), else 100."""
    return 1 if currency.upper() in ZERO_DECIMAL_CURRENCIES else 100


class Money(BaseModel):
    """An amount in the currency's minor unit: ``Money(amount_minor=1000, currency="JPY")`` is ¥1000."""

    model_config = ConfigDict(frozen=True, strict=True)

    amount_minor: int
    currency: str = Field(pattern=r"^[A-Z]{3}$")

    @classmethod
    def from_major(cls, amount: Decimal | int | str, currency: str) -> Money:
        """Money from an amount in major units (``"5339.5"`` INR → 533950 paise), half-up rounded.

        Raises:
            ValueError: ``amount`` is not a number.
        """
        parsed = _decimal(amount)
        if not isinstance(parsed, Decimal):
            raise ValueError(f"not an amount: {amount!r}")
        minor = (parsed * minor_unit_factor(currency)).quantize(Decimal(1), ROUND_HALF_UP)
        return cls(amount_minor=int(minor), currency=currency.upper())

    @property
    def major(self) -> Decimal:
        """The amount in major units (``Decimal("10.00")`` for 1000 cents, ``Decimal("1000")`` yen)."""
        factor = minor_unit_factor(self.currency)
        places = Decimal(1) if factor == 1 else Decimal("0.01")
        return (Decimal(self.amount_minor) / factor).quantize(places)

    def __add__(self, other: Money) -> Money:
        return Money(amount_minor=self.amount_minor + self._same(other), currency=self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(amount_minor=self.amount_minor - self._same(other), currency=self.currency)

    def _same(self, other: Money) -> int:
        if other.currency != self.currency:
            raise ValueError(f"cannot combine {self.currency} with {other.currency}")
        return other.amount_minor

    def __str__(self) -> str:
        return f"{self.major} {self.currency}"


class GraphModel(BaseModel):
    """What Meta sends: declared fields are strictly typed, new ones are kept in ``model_extra``."""

    model_config = ConfigDict(strict=True, extra="allow", frozen=True)


class GraphNode(GraphModel):
    """A Graph object with an id; ``DEFAULT_FIELDS`` is what services ask for when not told."""

    DEFAULT_FIELDS: ClassVar[tuple[str, ...]] = ("id",)

    id: str


def money_of(minor: int | None, currency: str) -> Money | None:
    """``Money`` for a minor-unit amount read from an object, or ``None`` when absent."""
    return None if minor is None else Money(amount_minor=minor, currency=currency.upper())
