"""Budget rules shared by campaigns and ad sets (reference §5.2, §5.3)."""

from __future__ import annotations

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
