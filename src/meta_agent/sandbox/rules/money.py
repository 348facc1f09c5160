"""Currencies, minor units and the minimum budgets per currency (reference §4.6, §5.3).

Figures are in minor units. Tier-A currencies follow Meta's USD-style floors ($1 / $5 / $40
a day); the others use the $0.50 / $2.50 / $20 floors converted at a fixed sandbox rate.
They drift with exchange rates in the real API, which is why they are data, not code.
"""

from __future__ import annotations

from dataclasses import dataclass

ZERO_DECIMAL = frozenset(
    {"CLP", "COP", "CRC", "HUF", "ISK", "IDR", "JPY", "KRW", "PYG", "TWD", "VND"}
)
SYMBOLS = {"USD": "$", "INR": "₹", "EUR": "€", "GBP": "£", "JPY": "¥"}


@dataclass(frozen=True)
class MinimumBudgets:
    """Daily floors by billing frequency, in minor units (``GET /act_X/minimum_budgets``)."""

    currency: str
    impressions: int
    high_frequency: int
    low_frequency: int
    video_views: int


MINIMUM_BUDGETS: dict[str, MinimumBudgets] = {
    "USD": MinimumBudgets("USD", 100, 500, 4000, 500),
    "EUR": MinimumBudgets("EUR", 100, 500, 4000, 500),
    "GBP": MinimumBudgets("GBP", 100, 500, 4000, 500),
    "INR": MinimumBudgets("INR", 4000, 20000, 160000, 20000),
    "JPY": MinimumBudgets("JPY", 150, 750, 6000, 750),
}
LIFETIME_BUDGET_CEILING_USD_MINOR = 100_000_000  # lifetime budgets over US$1M are refused
SPEND_CAP_FLOOR_USD_MINOR = 10_000  # campaign spend caps start at about US$100
USD_RATE = {"USD": 1.0, "EUR": 0.92, "GBP": 0.79, "INR": 88.0, "JPY": 150.0}


def minimums(currency: str) -> MinimumBudgets:
    """The floors for ``currency`` (USD's when the sandbox has no figures for it)."""
    return MINIMUM_BUDGETS.get(currency, MINIMUM_BUDGETS["USD"])


def from_usd_minor(amount_usd_minor: int, currency: str) -> int:
    """Convert a USD amount in cents to ``currency``'s minor units at the sandbox rate."""
    rate = USD_RATE.get(currency, 1.0)
    factor = 1 if currency in ZERO_DECIMAL else 100
    return round(amount_usd_minor / 100 * rate * factor)


def format_amount(minor: int, currency: str) -> str:
    """``4000, INR`` → ``₹40.00``; ``1000, JPY`` → ``¥1000``."""
    symbol = SYMBOLS.get(currency, currency + " ")
    if currency in ZERO_DECIMAL:
        return f"{symbol}{minor}"
    return f"{symbol}{minor / 100:,.2f}"
