"""Optimization as a plan over insights: pure rules first, Graph writes apart.

::

    plan_optimization(structure, adset_perf, ad_perf, policy)   pure: no Graph call
      ├── nothing at all while the campaign has less data than the policy's minimums
      ├── budgets: ad-set budgets (ABO) move from the worst-ranked to the best-ranked ad sets,
      │   in pairs, each change capped at ``max_change_percent`` of either budget, so the sum
      │   of daily budgets is conserved; a campaign budget (CBO) is never split across ad sets,
      │   it rises or falls against ``target_cost_per_result`` instead
      └── ads: paused under the CTR or cost-per-result thresholds, only with enough data of
          their own, and never the last active ad of an ad set
    apply_plan(graph, changes, validate_only=False)             the writes, decreases first

Every change and every decision not to act carries a rationale with the numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from meta_agent.agents.report import display, ratio, summarize
from meta_agent.errors import ApiError, RequestValidationError
from meta_agent.graph.client import GraphClient
from meta_agent.graph.models import InsightsRow, Money
from meta_agent.graph.services import AdSetUpdate, AdUpdate, CampaignUpdate

RankMetric = Literal["cost_per_result", "roas", "ctr", "cpc"]
ChangeKind = Literal["shift_budget", "pause_ad", "increase_budget", "decrease_budget"]
_FROZEN = ConfigDict(frozen=True, extra="forbid")


class OptimizationPolicy(BaseModel):
    """When the optimizer may act, how far, and what it ranks by.

    Amounts in major units (``Decimal``) are in the account's currency; ``min_spend`` too.
    """

    model_config = _FROZEN

    min_impressions: int = Field(default=1000, ge=0)
    min_spend: Decimal = Field(default=Decimal(0), ge=0)
    min_days: int = Field(default=3, ge=0)
    max_change_percent: Decimal = Field(default=Decimal(20), gt=0, le=100)
    min_daily_budget_minor: int = Field(default=0, ge=0)
    pause_ctr_below: Decimal | None = Field(default=None, ge=0)
    pause_cost_per_result_above: Decimal | None = Field(default=None, gt=0)
    target_cost_per_result: Decimal | None = Field(default=None, gt=0)
    rank_by: RankMetric = "cost_per_result"


class AdState(BaseModel):
    """An ad as the optimizer sees it."""

    model_config = _FROZEN

    id: str
    name: str = ""
    status: str = "ACTIVE"


class AdSetState(BaseModel):
    """An ad set with its daily budget (minor units, None under CBO) and its ads."""

    model_config = _FROZEN

    id: str
    name: str = ""
    status: str = "ACTIVE"
    daily_budget: int | None = None
    ads: list[AdState] = Field(default_factory=list)


class CampaignStructure(BaseModel):
    """A campaign, its budget (set: CBO), its ad sets and ads."""

    model_config = _FROZEN

    id: str
    currency: str
    daily_budget: int | None = None
    adsets: list[AdSetState] = Field(default_factory=list)


class Performance(BaseModel):
    """One object's summed delivery over the period looked at, and its ratios."""

    model_config = _FROZEN

    object_id: str
    impressions: int = 0
    clicks: int = 0
    spend: Decimal = Decimal(0)
    results: Decimal = Decimal(0)
    revenue: Decimal | None = None
    days: int = 0

    def metric(self, name: RankMetric) -> Decimal | None:
        """A ranking metric computed from the totals (None when undefined)."""
        if name == "ctr":
            return ratio(self.clicks, self.impressions, 100)
        if name == "cpc":
            return ratio(self.spend, self.clicks)
        if name == "roas":
            return ratio(self.revenue, self.spend)
        return ratio(self.spend, self.results)


class PlannedChange(BaseModel):
    """One write the optimizer proposes; ``before``/``after`` are budgets (None for a pause)."""

    model_config = _FROZEN

    object_id: str
    level: Literal["campaign", "adset", "ad"]
    kind: ChangeKind
    before: Money | None = None
    after: Money | None = None
    rationale: str

    @property
    def lowers_spend(self) -> bool:
        """True for pauses and budget cuts (applied first)."""
        if self.kind == "pause_ad":
            return True
        if self.before is None or self.after is None:
            return False
        return self.after.amount_minor < self.before.amount_minor


class OptimizationPlan(BaseModel):
    """The changes to make and, in ``notes``, why anything else was left alone."""

    model_config = _FROZEN

    campaign_id: str
    changes: list[PlannedChange] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


# -- insights rows into performances ------------------------------------------------------------


def performances(
    rows: Sequence[InsightsRow],
    id_field: Literal["campaign_id", "adset_id", "ad_id"],
    currency: str,
    *,
    result_action: str | None = None,
) -> dict[str, Performance]:
    """Rows (daily or not) grouped by ``id_field`` into one :class:`Performance` per object.

    ``days`` counts the distinct days covered by rows with impressions.
    """
    groups: dict[str, list[InsightsRow]] = {}
    for row in rows:
        object_id = getattr(row, id_field)
        if object_id is not None:
            groups.setdefault(str(object_id), []).append(row)
    return {
        object_id: _performance(object_id, group, currency, result_action)
        for object_id, group in groups.items()
    }


def _performance(
    object_id: str, rows: list[InsightsRow], currency: str, result_action: str | None
) -> Performance:
    totals = summarize(rows, currency, result_action=result_action)
    days: set[date] = set()
    for row in rows:
        if row.impressions:
            span = (row.date_stop - row.date_start).days + 1
            days.update(row.date_start + timedelta(days=n) for n in range(span))
    return Performance(
        object_id=object_id,
        impressions=totals.impressions,
        clicks=totals.clicks,
        spend=totals.spend_major,
        results=totals.results,
        revenue=totals.revenue,
        days=len(days),
    )


def combined(object_id: str, parts: Sequence[Performance]) -> Performance:
    """Several objects' performances added up (days: the longest of them)."""
    revenues = [part.revenue for part in parts if part.revenue is not None]
    return Performance(
        object_id=object_id,
        impressions=sum(part.impressions for part in parts),
        clicks=sum(part.clicks for part in parts),
        spend=sum((part.spend for part in parts), Decimal(0)),
        results=sum((part.results for part in parts), Decimal(0)),
        revenue=sum(revenues, Decimal(0)) if revenues else None,
        days=max((part.days for part in parts), default=0),
    )


# -- the rules ----------------------------------------------------------------------------------


def shortfall(perf: Performance | None, policy: OptimizationPolicy) -> str | None:
    """Why ``perf`` is too little data to act on, or None when it is enough."""
    if perf is None:
        return "no insights"
    gaps = []
    if perf.impressions < policy.min_impressions:
        gaps.append(f"{perf.impressions} impressions < {policy.min_impressions}")
    if perf.spend < policy.min_spend:
        gaps.append(f"spend {display(perf.spend)} < {display(policy.min_spend)}")
    if perf.days < policy.min_days:
        gaps.append(f"{perf.days} days of data < {policy.min_days}")
    return ", ".join(gaps) or None


def plan_optimization(
    structure: CampaignStructure,
    adset_perf: Mapping[str, Performance],
    ad_perf: Mapping[str, Performance],
    policy: OptimizationPolicy | None = None,
) -> OptimizationPlan:
    """The changes ``policy`` allows for one campaign, each with its rationale (pure)."""
    policy = policy or OptimizationPolicy()
    adsets = [a for a in structure.adsets if a.status == "ACTIVE"]
    total = combined(structure.id, [adset_perf[a.id] for a in adsets if a.id in adset_perf])
    gap = shortfall(total, policy)
    if gap is not None:
        note = f"campaign {structure.id}: not enough data to act ({gap}); nothing changed"
        return OptimizationPlan(campaign_id=structure.id, notes=[note])
    changes: list[PlannedChange] = []
    notes: list[str] = []
    if structure.daily_budget is not None:
        _campaign_budget(structure, total, policy, changes, notes)
    else:
        _shift_budgets(structure, adsets, adset_perf, policy, changes, notes)
    for adset in adsets:
        _pause_ads(adset, ad_perf, structure.currency, policy, changes, notes)
    return OptimizationPlan(campaign_id=structure.id, changes=changes, notes=notes)


def _rank_key(metric: RankMetric) -> Callable[[Decimal | None], Decimal]:
    """Smaller is better: costs as they are, rates negated; an undefined metric ranks last."""
    worst = Decimal("Infinity")
    if metric in ("cost_per_result", "cpc"):
        return lambda value: worst if value is None else value
    return lambda value: worst if value is None else -value


def _shift_budgets(
    structure: CampaignStructure,
    adsets: list[AdSetState],
    perf: Mapping[str, Performance],
    policy: OptimizationPolicy,
    changes: list[PlannedChange],
    notes: list[str],
) -> None:
    eligible: list[AdSetState] = []
    for adset in adsets:
        gap = shortfall(perf.get(adset.id), policy)
        if not adset.daily_budget:
            notes.append(f"ad set {adset.id}: no daily budget to shift")
        elif gap is not None:
            notes.append(f"ad set {adset.id}: budget left alone, not enough data ({gap})")
        else:
            eligible.append(adset)
    if len(eligible) < 2:
        notes.append("budgets: fewer than two ad sets with enough data; nothing to shift")
        return
    key = _rank_key(policy.rank_by)
    ranked = sorted(eligible, key=lambda a: (key(perf[a.id].metric(policy.rank_by)), a.id))
    for index in range(len(ranked) // 2):
        best, worst = ranked[index], ranked[-1 - index]
        _shift_pair(structure.currency, best, worst, perf, policy, changes, notes)


def _shift_pair(
    currency: str,
    best: AdSetState,
    worst: AdSetState,
    perf: Mapping[str, Performance],
    policy: OptimizationPolicy,
    changes: list[PlannedChange],
    notes: list[str],
) -> None:
    name = policy.rank_by
    good, bad = perf[best.id].metric(name), perf[worst.id].metric(name)
    key = _rank_key(name)
    if key(good) >= key(bad):
        notes.append(f"ad sets {best.id} and {worst.id}: {name} equal ({_fmt(good)}); no shift")
        return
    budgets = {best.id: best.daily_budget or 0, worst.id: worst.daily_budget or 0}
    cap = _percent(min(budgets.values()), policy.max_change_percent)
    amount = min(cap, budgets[worst.id] - policy.min_daily_budget_minor)
    if amount <= 0:
        notes.append(f"ad set {worst.id}: already at the minimum budget; no shift")
        return
    moved = Money(amount_minor=amount, currency=currency)
    why = (
        f"{name} {_fmt(good)} on ad set {best.id} vs {_fmt(bad)} on ad set {worst.id}: "
        f"move {moved} a day (capped at {policy.max_change_percent}% of the smaller budget)"
    )
    for adset, sign in ((worst, -1), (best, 1)):
        before = Money(amount_minor=budgets[adset.id], currency=currency)
        after = Money(amount_minor=budgets[adset.id] + sign * amount, currency=currency)
        changes.append(
            PlannedChange(
                object_id=adset.id,
                level="adset",
                kind="shift_budget",
                before=before,
                after=after,
                rationale=why,
            )
        )


def _campaign_budget(
    structure: CampaignStructure,
    total: Performance,
    policy: OptimizationPolicy,
    changes: list[PlannedChange],
    notes: list[str],
) -> None:
    """A CBO budget is Meta's to spread; it only moves against a target cost per result."""
    notes.append("budget is on the campaign (CBO): not shifted between ad sets")
    target, cost = policy.target_cost_per_result, total.metric("cost_per_result")
    if target is None or cost is None or cost == target or not structure.daily_budget:
        return
    budget = structure.daily_budget
    step = _percent(budget, policy.max_change_percent)
    after = budget + step if cost < target else max(policy.min_daily_budget_minor, budget - step)
    if after == budget:
        return
    kind: ChangeKind = "increase_budget" if after > budget else "decrease_budget"
    changes.append(
        PlannedChange(
            object_id=structure.id,
            level="campaign",
            kind=kind,
            before=Money(amount_minor=budget, currency=structure.currency),
            after=Money(amount_minor=after, currency=structure.currency),
            rationale=f"cost per result {_fmt(cost)} vs target {_fmt(target)} "
            f"({total.results} results for {display(total.spend)} {structure.currency}): "
            f"{kind.replace('_', ' ')} by {policy.max_change_percent}%",
        )
    )


def _pause_ads(
    adset: AdSetState,
    perf: Mapping[str, Performance],
    currency: str,
    policy: OptimizationPolicy,
    changes: list[PlannedChange],
    notes: list[str],
) -> None:
    active = [ad for ad in adset.ads if ad.status == "ACTIVE"]
    failing: list[tuple[AdState, str]] = []
    for ad in active:
        reasons = _pause_reasons(perf.get(ad.id), currency, policy)
        gap = shortfall(perf.get(ad.id), policy)
        if reasons and gap is not None:
            notes.append(f"ad {ad.id}: kept despite {reasons}, not enough data ({gap})")
        elif reasons:
            failing.append((ad, reasons))
    left = len(active)
    key = _rank_key("cost_per_result")
    failing.sort(key=lambda item: (key(perf[item[0].id].metric("cost_per_result")), item[0].id))
    for ad, reasons in reversed(failing):  # the worst first
        if left <= 1:
            notes.append(f"ad {ad.id}: kept despite {reasons}; last active ad in ad set {adset.id}")
            continue
        left -= 1
        changes.append(
            PlannedChange(
                object_id=ad.id, level="ad", kind="pause_ad", rationale=f"pause: {reasons}"
            )
        )


def _pause_reasons(perf: Performance | None, currency: str, policy: OptimizationPolicy) -> str:
    if perf is None:
        return ""
    reasons = []
    ctr, cost = perf.metric("ctr"), perf.metric("cost_per_result")
    if policy.pause_ctr_below is not None and ctr is not None and ctr < policy.pause_ctr_below:
        reasons.append(
            f"CTR {display(ctr)}% ({perf.clicks} clicks / {perf.impressions} impressions) "
            f"< {policy.pause_ctr_below}%"
        )
    limit = policy.pause_cost_per_result_above
    if limit is not None and cost is not None and cost > limit:
        reasons.append(f"cost per result {display(cost)} {currency} > {limit} {currency}")
    if limit is not None and cost is None and perf.spend > limit:
        reasons.append(f"spent {display(perf.spend)} {currency} with no results (limit {limit})")
    return "; ".join(reasons)


def _percent(amount: int, percent: Decimal) -> int:
    return int((Decimal(amount) * percent / 100).to_integral_value(ROUND_FLOOR))


def _fmt(value: Decimal | None) -> str:
    return display(value, 4) if value is not None else "n/a"


# -- applying -----------------------------------------------------------------------------------


class AppliedChange(BaseModel):
    """What became of one planned change."""

    model_config = _FROZEN

    change: PlannedChange
    status: Literal["applied", "validated", "failed", "skipped"]
    error: dict[str, Any] | None = None


async def apply_plan(
    graph: GraphClient, changes: Sequence[PlannedChange], *, validate_only: bool = False
) -> list[AppliedChange]:
    """Make the changes: spend-lowering ones first, then the rest.

    When a cut fails, the raises are skipped, so a shift never adds budget it did not take.
    With ``validate_only`` Meta checks every write and stores nothing.

    Raises:
        RequestValidationError: a budget shift aimed at something other than an ad set.
    """
    for change in changes:
        if change.kind == "shift_budget" and change.level != "adset":
            raise RequestValidationError(
                f"shift_budget moves ad-set budgets; {change.object_id} is a {change.level}",
                field="changes.level",
            )
    ordered = sorted(changes, key=lambda change: not change.lowers_spend)
    done: list[AppliedChange] = []
    for change in ordered:
        if not change.lowers_spend and any(item.status == "failed" for item in done):
            done.append(AppliedChange(change=change, status="skipped"))
            continue
        done.append(await _apply(graph, change, validate_only))
    return done


async def _apply(graph: GraphClient, change: PlannedChange, validate_only: bool) -> AppliedChange:
    try:
        await _write(graph, change, validate_only)
    except ApiError as error:
        return AppliedChange(change=change, status="failed", error=error.to_dict())
    return AppliedChange(change=change, status="validated" if validate_only else "applied")


async def _write(graph: GraphClient, change: PlannedChange, validate_only: bool) -> None:
    if change.kind == "pause_ad":
        await graph.ads.update(
            change.object_id, AdUpdate(status="PAUSED"), validate_only=validate_only
        )
        return
    assert change.after is not None
    budget = change.after.amount_minor
    if change.level == "campaign":
        update = CampaignUpdate(daily_budget=budget)
        await graph.campaigns.update(change.object_id, update, validate_only=validate_only)
    else:
        spec = AdSetUpdate(daily_budget=budget)
        await graph.adsets.update(change.object_id, spec, validate_only=validate_only)


async def load_structure(graph: GraphClient, campaign_id: str) -> CampaignStructure:
    """Read a campaign's budget, ad sets and ads into a :class:`CampaignStructure`.

    Raises:
        NotFoundError: no such campaign.
    """
    campaign = await graph.campaigns.get(campaign_id, ["id", "account_id", "daily_budget"])
    account = await graph.accounts.get(str(campaign.account_id), ["currency"])
    adset_fields = ["id", "name", "effective_status", "daily_budget"]
    adsets = await graph.adsets.list_for_campaign(campaign_id, fields=adset_fields).collect()
    states = []
    for adset in adsets:
        listing = graph.ads.list_for_adset(adset.id, fields=["id", "name", "effective_status"])
        ads = [
            AdState(id=ad.id, name=ad.name or "", status=ad.effective_status or "ACTIVE")
            for ad in await listing.collect()
        ]
        states.append(
            AdSetState(
                id=adset.id,
                name=adset.name or "",
                status=adset.effective_status or "ACTIVE",
                daily_budget=adset.daily_budget,
                ads=ads,
            )
        )
    return CampaignStructure(
        id=campaign_id,
        currency=account.currency or "USD",
        daily_budget=campaign.daily_budget,
        adsets=states,
    )
