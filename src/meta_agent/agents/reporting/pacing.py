"""Pacing: spend against the daily or lifetime budget, and spend projected to the schedule's end.

- a daily budget expects ``budget x days`` over the period; the share is spend / that;
- a lifetime budget expects the budget's share of the schedule elapsed by the period's
  last day; the share is the schedule's spend so far / that;
- the projection is the schedule's spend so far plus the period's daily average for each
  day left between the period's end and the schedule's end (none without an end date).

The budget is the object's own, or, for a campaign without one (ad set budgets), the sum
of its active ad sets' budgets and the widest of their schedules.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict

from meta_agent.agents.report import Level, ReportThresholds, ratio
from meta_agent.graph.client import GraphClient
from meta_agent.graph.models import AdSet, Campaign
from meta_agent.graph.values import Money

BudgetKind = Literal["daily", "lifetime"]
PaceStatus = Literal["under", "on_track", "over"]
_BUDGET_FIELDS = ["id", "daily_budget", "lifetime_budget", "start_time", "effective_status"]


class Budget(BaseModel):
    """A daily or lifetime budget and the schedule it runs over."""

    model_config = ConfigDict(frozen=True)

    kind: BudgetKind
    amount: Money
    start: date | None = None
    end: date | None = None


class Pacing(BaseModel):
    """How spend compares with the budget, and where it is heading."""

    model_config = ConfigDict(frozen=True)

    budget: Budget
    period_days: int
    spent: Money
    schedule_spent: Money
    expected: Money
    share: Decimal | None
    daily_average: Money
    days_left: int | None
    projected: Money | None
    status: PaceStatus


def pace(
    budget: Budget,
    *,
    spent_major: Decimal,
    schedule_spent_major: Decimal,
    since: date,
    until: date,
    thresholds: ReportThresholds | None = None,
) -> Pacing:
    """The pacing of ``budget`` given the period's spend and the schedule's spend so far."""
    limits = thresholds or ReportThresholds()
    currency = budget.amount.currency
    days = (until - since).days + 1
    expected = _expected(budget, days, until)
    actual = spent_major if budget.kind == "daily" else schedule_spent_major
    share = ratio(actual, expected)
    average = spent_major / days
    days_left = max(0, (budget.end - until).days) if budget.end else None
    projected = None if days_left is None else schedule_spent_major + average * days_left
    return Pacing(
        budget=budget,
        period_days=days,
        spent=Money.from_major(spent_major, currency),
        schedule_spent=Money.from_major(schedule_spent_major, currency),
        expected=Money.from_major(expected, currency),
        share=share,
        daily_average=Money.from_major(average, currency),
        days_left=days_left,
        projected=None if projected is None else Money.from_major(projected, currency),
        status=_status(share, limits),
    )


def _expected(budget: Budget, days: int, until: date) -> Decimal:
    if budget.kind == "daily":
        return budget.amount.major * days
    if budget.start is None or budget.end is None:
        return budget.amount.major
    total = (budget.end - budget.start).days + 1
    elapsed = min(total, max(0, (until - budget.start).days + 1))
    return budget.amount.major * elapsed / total


def _status(share: Decimal | None, limits: ReportThresholds) -> PaceStatus:
    if share is None or share < limits.underpacing:
        return "under"
    return "over" if share > limits.overpacing else "on_track"


async def budget_of(
    graph: GraphClient, object_id: str, level: Level, currency: str
) -> Budget | None:
    """The budget behind a campaign or ad set (None for an account, an ad, or no budget)."""
    if level == "adset":
        adset = await graph.adsets.get(object_id, [*_BUDGET_FIELDS, "end_time"])
        return _budget([adset], currency)
    if level != "campaign":
        return None
    campaign = await graph.campaigns.get(object_id, [*_BUDGET_FIELDS, "stop_time"])
    own = _budget([campaign], currency)
    if own is not None:
        return own
    adsets = await graph.adsets.list_for_campaign(
        object_id, fields=[*_BUDGET_FIELDS, "end_time"]
    ).collect()
    return _budget([a for a in adsets if a.effective_status == "ACTIVE"], currency)


def _budget(objects: Sequence[Campaign | AdSet], currency: str) -> Budget | None:
    """The summed budget of ``objects`` (all daily, or all lifetime) and their widest schedule."""
    for kind in ("daily", "lifetime"):
        amounts = [getattr(item, f"{kind}_budget") or 0 for item in objects]
        if any(amounts):
            return Budget(
                kind=kind,
                amount=Money(amount_minor=sum(amounts), currency=currency),
                start=_earliest(item.start_time for item in objects),
                end=_latest(_end_of(item) for item in objects),
            )
    return None


def _end_of(item: Campaign | AdSet) -> datetime | None:
    return item.stop_time if isinstance(item, Campaign) else item.end_time


def _earliest(times: Iterable[datetime | None]) -> date | None:
    days = [moment.date() for moment in times if moment is not None]
    return min(days, default=None)


def _latest(times: Iterable[datetime | None]) -> date | None:
    """The last end date; None when any object runs without one (it has no end)."""
    ends = list(times)
    if not ends or any(moment is None for moment in ends):
        return None
    return max(moment.date() for moment in ends if moment is not None)
