"""Minimum daily budgets per currency (reference §5.3), as data, and the check against them.

Meta's floors depend on the currency's tier and on what the ad set is billed for: tier-A
currencies (USD, EUR, GBP, JPY...) start at $1 a day for impressions, $5 for clicks and other
frequent events, $40 for rare ones (installs, purchases); the others at half that, converted.
The figures drift with exchange rates, so the live ``GET act_X/minimum_budgets`` wins when it
answers (``CampaignAgent.minimum_budgets``), and this table is the fallback. A currency the
table does not know is left for Meta to judge.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from meta_agent.agents.money_input import check_stated_currency
from meta_agent.agents.params import AdSetParams, CampaignParams
from meta_agent.agents.validation import join_path
from meta_agent.errors import RequestValidationError
from meta_agent.graph.client import GraphClient
from meta_agent.graph.services._base import act
from meta_agent.graph.values import Money

DAY_SECONDS = 86_400


class CurrencyFloors(BaseModel):
    """One currency's daily floors, in minor units (the row ``act_X/minimum_budgets`` returns)."""

    model_config = ConfigDict(frozen=True)

    currency: str
    impressions: int
    high_frequency: int
    low_frequency: int
    video_views: int

    @classmethod
    def from_graph(cls, row: Mapping[str, Any]) -> CurrencyFloors:
        """From Meta's ``{"min_daily_budget_imp": 100, ...}`` row."""
        return cls(
            currency=str(row["currency"]),
            impressions=int(row["min_daily_budget_imp"]),
            high_frequency=int(row["min_daily_budget_high_freq"]),
            low_frequency=int(row["min_daily_budget_low_freq"]),
            video_views=int(row["min_daily_budget_video_views"]),
        )


MinimumBudgets = Mapping[str, CurrencyFloors]
"""Floors by ISO currency code; pass your own to ``check_minimums(table=...)``."""


def _row(currency: str, imp: int, high: int, low: int) -> tuple[str, CurrencyFloors]:
    return currency, CurrencyFloors(
        currency=currency, impressions=imp, high_frequency=high, low_frequency=low, video_views=high
    )


# Tier A at $1 / $5 / $40; INR at the ₹40 floor Meta states; TRY, CLP and MYR from observed
# impressions floors (reference §5.3), scaled x5 and x40 like the others.
DEFAULT_MINIMUM_BUDGETS: MinimumBudgets = dict(
    [
        _row("USD", 100, 500, 4000),
        _row("EUR", 100, 500, 4000),
        _row("GBP", 100, 500, 4000),
        _row("AUD", 100, 500, 4000),
        _row("CAD", 100, 500, 4000),
        _row("JPY", 150, 750, 6000),
        _row("INR", 4000, 20000, 160000),
        _row("TRY", 4934, 24670, 197360),
        _row("CLP", 918, 4590, 36720),
        _row("MYR", 412, 2060, 16480),
    ]
)
# Billing events Meta counts as frequent or rare when it sets the floor; others: impressions.
HIGH_FREQUENCY = frozenset({"LINK_CLICKS", "PAGE_LIKES", "POST_ENGAGEMENT"})
LOW_FREQUENCY = frozenset({"APP_INSTALLS", "OFFER_CLAIMS", "PURCHASE", "LISTING_INTERACTION"})
SYMBOLS = {"USD": "$", "INR": "₹", "EUR": "€", "GBP": "£", "JPY": "¥", "AUD": "A$", "CAD": "C$"}


def billing_class(billing_event: str) -> tuple[str, str]:
    """The floor an ad set billed on ``billing_event`` meets, and how a message names it."""
    if billing_event == "THRUPLAY":
        return "video_views", "video-view-billed"
    if billing_event in HIGH_FREQUENCY:
        return "high_frequency", "click- or engagement-billed"
    if billing_event in LOW_FREQUENCY:
        return "low_frequency", "install- or purchase-billed"
    return "impressions", "impressions-billed"


def shown(minor: int, currency: str) -> str:
    """``4000, INR`` → ``₹40.00``; ``1000, JPY`` → ``¥1000``."""
    major = Money(amount_minor=minor, currency=currency).major
    symbol = SYMBOLS.get(currency, f"{currency} ")
    return f"{symbol}{major:,}"


def schedule_days(start: datetime | None, end: datetime | None) -> int:
    """Whole days a schedule spans (at least one): lifetime floors are daily floors x days."""
    if start is None or end is None or end <= start:
        return 1
    return max(1, math.ceil((end - start).total_seconds() / DAY_SECONDS))


def check_minimums(
    params: CampaignParams | AdSetParams,
    currency: str,
    *,
    floors: CurrencyFloors | None = None,
    table: MinimumBudgets = DEFAULT_MINIMUM_BUDGETS,
    adsets: Sequence[AdSetParams] = (),
    at: str = "",
) -> None:
    """Refuse a budget below the currency's floor, saying the floor in major units.

    ``floors`` (from Meta) wins over ``table``. An ad set's floor follows its billing event;
    a campaign budget must cover its ``adsets``' floors (the impressions floor when none are
    given). Lifetime budgets must cover the daily floor for each day of the schedule.

    Raises:
        RequestValidationError: e.g. ``adsets[0].daily_budget: ₹40.00 is the minimum for INR
            impressions-billed ad sets; got ₹1.00``; or an amount stated in another
            currency than ``currency``.
    """
    check_stated_currency(params, currency, at)
    row = floors or table.get(currency.upper())
    if row is None:
        return
    daily_floor, label = _floor(params, row, adsets)
    end = params.stop_time if isinstance(params, CampaignParams) else params.end_time
    days = schedule_days(params.start_time, end)
    check_floor(params.daily_budget, params.lifetime_budget, daily_floor, days, row, label, at)


def check_floor(
    daily: int | None,
    lifetime: int | None,
    daily_floor: int,
    days: int,
    row: CurrencyFloors,
    label: str,
    at: str = "",
) -> None:
    """Refuse ``daily`` below ``daily_floor`` or ``lifetime`` below ``daily_floor`` x ``days``.

    Raises:
        RequestValidationError: naming the field, the floor and the amount in major units.
    """
    for field, amount, minimum in (
        ("daily_budget", daily, daily_floor),
        ("lifetime_budget", lifetime, daily_floor * days),
    ):
        if amount is not None and amount < minimum:
            path = join_path(at, field)
            span = f" over {days} days" if field == "lifetime_budget" else ""
            message = (
                f"{path}: {shown(minimum, row.currency)} is the minimum for {row.currency} "
                f"{label}{span}; got {shown(amount, row.currency)}"
            )
            raise RequestValidationError(message, field=path, minimum=minimum)


def adset_floor(row: CurrencyFloors, billing_event: str) -> tuple[int, str]:
    """An ad set's daily floor for its billing event, and how a message names the class."""
    attribute, label = billing_class(billing_event)
    return int(getattr(row, attribute)), f"{label} ad sets"


def _floor(
    params: CampaignParams | AdSetParams, row: CurrencyFloors, adsets: Sequence[AdSetParams]
) -> tuple[int, str]:
    if isinstance(params, AdSetParams):
        return adset_floor(row, params.billing_event)
    if not adsets:
        return row.impressions, "campaign budgets"
    total = sum(adset_floor(row, adset.billing_event)[0] for adset in adsets)
    return total, f"campaign budgets over {len(adsets)} ad sets"


async def fetch_minimums(graph: GraphClient, account_id: str) -> CurrencyFloors | None:
    """The account's floors from ``GET act_X/minimum_budgets``, or None when Meta lists none.

    Raises:
        ApiError: the call failed (the caller decides whether to fall back to the table).
    """
    body = await graph.get(f"{act(account_id)}/minimum_budgets")
    rows = (body or {}).get("data") or []
    return CurrencyFloors.from_graph(rows[0]) if rows else None
