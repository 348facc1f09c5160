"""Budget rules shared by campaigns and ad sets (reference §5.2, §5.3)."""

from __future__ import annotations

import math

from meta_agent.sandbox.errors import invalid_param
from meta_agent.sandbox.rules import money


def check_budget_pair(daily: int | None, lifetime: int | None) -> None:
    """Only one of ``daily_budget`` and ``lifetime_budget`` may be set on one object.

    Raises:
        GraphError: both are positive.
    """
    if daily and lifetime:
        raise invalid_param(
            "Only one of daily_budget and lifetime_budget can be set",
            blame="lifetime_budget",
            title="Choose one budget type",
            user_msg="Set either a daily budget or a lifetime budget, not both.",
        )


def check_lifetime_ceiling(lifetime: int | None, currency: str) -> None:
    """Lifetime budgets above about US$1M are refused (subcode 1885261).

    Raises:
        GraphError: the budget is above the ceiling.
    """
    ceiling = money.from_usd_minor(money.LIFETIME_BUDGET_CEILING_USD_MINOR, currency)
    if lifetime is not None and lifetime > ceiling:
        raise invalid_param(
            "Lifetime budget is too high",
            subcode=1885261,
            blame="lifetime_budget",
            title="Budget too high",
            user_msg=f"Lifetime budgets can't exceed {money.format_amount(ceiling, currency)}.",
        )


# Billing events Meta counts as frequent (clicks, likes, engagement) or rare (installs,
# offers, purchases) when it sets the daily floor (§5.3); impressions have their own floor.
HIGH_FREQUENCY_BILLING = frozenset({"LINK_CLICKS", "CLICKS", "PAGE_LIKES", "POST_ENGAGEMENT"})
LOW_FREQUENCY_BILLING = frozenset(
    {"APP_INSTALLS", "OFFER_CLAIMS", "PURCHASE", "LISTING_INTERACTION"}
)
BID_CAPPED = frozenset({"LOWEST_COST_WITH_BID_CAP", "COST_CAP"})
BUDGET_CHANGES_PER_HOUR = 4
SPENT_MARGIN = 1.1  # a new lifetime budget must stay 10% above what was already spent
DAY = 86_400.0


def daily_floor(currency: str, billing_event: str | None) -> int:
    """The smallest daily budget, in minor units, for ad sets billed on ``billing_event``."""
    table = money.minimums(currency)
    if billing_event == "THRUPLAY":
        return table.video_views
    if billing_event in HIGH_FREQUENCY_BILLING:
        return table.high_frequency
    if billing_event in LOW_FREQUENCY_BILLING:
        return table.low_frequency
    return table.impressions


def schedule_days(start: float, end: float | None) -> int:
    """Whole days an ad set runs (at least one): lifetime floors scale with it."""
    if end is None or end <= start:
        return 1
    return max(1, math.ceil((end - start) / DAY))


def check_minimum(
    daily: int | None, lifetime: int | None, floor: int, days: int, currency: str, level: str
) -> None:
    """Budgets below the currency's floor are refused (100/1885272); lifetime = floor x days.

    Raises:
        GraphError: the budget is below the floor, with the floor in the account currency.
    """
    for name, amount, minimum in (
        ("daily_budget", daily, floor),
        ("lifetime_budget", lifetime, floor * days),
    ):
        if amount is not None and amount < minimum:
            shown = money.format_amount(minimum, currency)
            raise invalid_param(
                f"Invalid parameter: {name} is below the minimum of {minimum} {currency} ({shown})",
                subcode=1885272,
                blame=name,
                title="Budget Too Low",
                user_msg=f"Your {level} budget must be more than {shown} or your ads may not be delivered.",
            )


def check_budget_level(campaign_budget: bool, daily: int | None, lifetime: int | None) -> None:
    """The budget lives on the campaign or on each of its ad sets, never both, never neither.

    Raises:
        GraphError: 100/1885621 for both; code 100 for an ABO ad set without a budget.
    """
    blame = "lifetime_budget" if lifetime else "daily_budget"
    if campaign_budget and (daily or lifetime):
        raise invalid_param(
            "Budget can't be set on both the campaign and its ad sets",
            subcode=1885621,
            blame=blame,
            title="Campaign uses Advantage campaign budget",
            user_msg="This campaign has its own budget: remove the ad set budget.",
        )
    if not campaign_budget and not (daily or lifetime):
        raise invalid_param(
            "An ad set budget is required: the campaign has no campaign budget",
            blame="daily_budget",
            title="Ad set budget required",
            user_msg="Give the ad set a daily_budget or lifetime_budget, or give the campaign a budget.",
        )


def check_schedule(start: float, end: float | None, now: float, *, future: bool = True) -> None:
    """``end_time`` must come after ``start_time`` and, when being set, after now (1487033).

    Raises:
        GraphError: 100/1487033 blaming ``end_time``.
    """
    if end is None:
        return
    if end <= start or (future and end <= now):
        past = end <= now
        raise invalid_param(
            "The end time must be in the future"
            if past
            else "The end time must be after the start time",
            subcode=1487033,
            blame="end_time",
            title="End date in the past" if past else "Invalid schedule",
            user_msg="Choose an end_time after start_time and in the future.",
        )


def check_budget_schedule(
    daily: int | None, needs_end: bool, start: float, end: float | None
) -> None:
    """Lifetime budgets need an ``end_time``; daily budgets need more than 24 hours.

    Raises:
        GraphError: 100/1885204 when ``needs_end`` and there is no ``end_time``; code 100 for
            a daily budget on a schedule of 24 hours or less.
    """
    if needs_end and end is None:
        raise invalid_param(
            "end_time is required for an ad set with a lifetime budget",
            subcode=1885204,
            blame="end_time",
            title="End date required",
            user_msg="Ad sets with a lifetime budget need an end_time.",
        )
    if daily and end is not None and end - start <= DAY:
        raise invalid_param(
            "Ad sets with a daily budget must run for more than 24 hours",
            blame="end_time",
            title="Schedule too short for a daily budget",
            user_msg="Extend end_time beyond 24 hours after start_time, or use a lifetime budget.",
        )


def effective_bid_strategy(
    own: str | None, bid_amount: int | None, campaign_strategy: str | None, cbo: bool
) -> str:
    """The strategy an ad set bids with: its campaign's under a campaign budget, else its own.

    Raises:
        GraphError: ``bid_strategy`` sent on an ad set whose campaign holds the budget.
    """
    if cbo and own is not None:
        raise invalid_param(
            "bid_strategy can't be set on an ad set whose campaign uses a campaign budget",
            blame="bid_strategy",
            title="Bid strategy belongs on the campaign",
            user_msg="Set bid_strategy on the campaign, or remove it from the ad set.",
        )
    if cbo:
        return campaign_strategy or "LOWEST_COST_WITHOUT_CAP"
    implied = "LOWEST_COST_WITH_BID_CAP" if bid_amount is not None else "LOWEST_COST_WITHOUT_CAP"
    return own or implied


def check_bid(strategy: str, bid_amount: int | None, constraints: dict[str, object] | None) -> None:
    """Capped strategies need ``bid_amount`` (1815857); minimum-ROAS needs a ROAS floor.

    Raises:
        GraphError: the bid the strategy needs is missing.
    """
    if strategy in BID_CAPPED and bid_amount is None:
        raise invalid_param(
            f"Invalid parameter: bid_amount is required for bid strategy {strategy}",
            subcode=1815857,
            blame="bid_amount",
            title="Bid amount required",
            user_msg=f"Add a bid_amount (in minor units) for the {strategy} bid strategy.",
        )
    if strategy == "LOWEST_COST_WITH_MIN_ROAS" and not (constraints or {}).get(
        "roas_average_floor"
    ):
        raise invalid_param(
            "bid_constraints.roas_average_floor is required for LOWEST_COST_WITH_MIN_ROAS",
            blame=("bid_constraints", "roas_average_floor"),
            title="ROAS floor required",
            user_msg='Send bid_constraints {"roas_average_floor": N} (ROAS x 10000).',
        )


def recent_budget_changes(times: list[float], now: float) -> list[float]:
    """Budget changes within the last hour, refusing a fifth (613/1487632).

    Raises:
        GraphError: the ad set's budget already changed four times this hour.
    """
    recent = [t for t in times if now - t < 3600]
    if len(recent) >= BUDGET_CHANGES_PER_HOUR:
        raise invalid_param(
            "Calls to this api have exceeded the rate limit: an ad set budget can change at "
            f"most {BUDGET_CHANGES_PER_HOUR} times per hour",
            code=613,
            subcode=1487632,
            blame="daily_budget",
            title="Too many budget changes",
            user_msg="You changed this ad set's budget too often; wait an hour and try again.",
        )
    return recent


def check_above_spent(lifetime: int | None, spent: int, currency: str) -> None:
    """A lifetime budget can't drop below what the ad set already spent (plus a margin).

    Raises:
        GraphError: the new lifetime budget is too close to or below the amount spent.
    """
    floor = math.ceil(spent * SPENT_MARGIN)
    if lifetime is not None and spent > 0 and lifetime < floor:
        shown = money.format_amount(floor, currency)
        raise invalid_param(
            "The lifetime budget can't be lower than the amount already spent",
            blame="lifetime_budget",
            title="Budget below amount spent",
            user_msg=f"This ad set has already spent part of its budget; set at least {shown}.",
        )
