"""The performance report (specification §4.5) and the arithmetic behind it.

Every figure is computed from summed counters, never averaged from per-row ratios:

- counts (impressions, clicks, actions) and ``spend`` add up across rows (days, segments);
- CTR = clicks / impressions x 100, CPC = spend / clicks, CPM = spend / impressions x 1000,
  frequency = impressions / reach, cost per result = spend / results, ROAS = revenue / spend,
  each from the totals of the rows it describes; a zero denominator gives ``None``;
- reach does not add up across days (a person seen on Monday and Tuesday is one person), so
  a total's reach comes from a query without ``time_increment`` (:func:`summarize` takes it
  from a single row, or from the caller, and otherwise leaves it unknown).

Amounts are exact ``Decimal`` (spend in major units as Meta reports it) and :class:`Money`;
nothing is rounded except by :func:`display`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

from meta_agent.graph.models import ActionValue, InsightsRow
from meta_agent.graph.values import Money

Level = Literal["account", "campaign", "adset", "ad"]

# What counts as a "result" when the caller does not say: the deepest funnel step present.
RESULT_ACTIONS = (
    "purchase",
    "offsite_conversion.fb_pixel_purchase",
    "omni_purchase",
    "lead",
    "onsite_conversion.lead_grouped",
    "complete_registration",
    "mobile_app_install",
    "landing_page_view",
    "link_click",
)


def ratio(
    numerator: Decimal | int | None, denominator: Decimal | int | None, scale: int = 1
) -> Decimal | None:
    """``numerator / denominator x scale`` exactly, or None when either is missing or zero."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return Decimal(numerator) * scale / Decimal(denominator)


def display(value: Decimal | None, places: int = 2) -> str:
    """A figure for people: rounded half-up to ``places``; ``-`` when there is none."""
    if value is None:
        return "-"
    return str(value.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP))


class Metrics(BaseModel):
    """Summed counters of some rows, and the ratios computed from those sums."""

    model_config = ConfigDict(frozen=True)

    currency: str
    impressions: int = 0
    reach: int | None = None
    clicks: int = 0
    link_clicks: int = 0
    spend_major: Decimal = Decimal(0)
    results: Decimal = Decimal(0)
    result_action: str | None = None
    revenue: Decimal | None = None
    actions: dict[str, Decimal] = Field(default_factory=dict)
    action_values: dict[str, Decimal] = Field(default_factory=dict)
    windows: dict[str, dict[str, Decimal]] = Field(default_factory=dict)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def spend(self) -> Money:
        """Spend as ``Money`` in the account currency's minor unit."""
        return Money.from_major(self.spend_major, self.currency)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ctr(self) -> Decimal | None:
        """Clicks per 100 impressions."""
        return ratio(self.clicks, self.impressions, 100)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def cpc(self) -> Decimal | None:
        """Spend per click, major units."""
        return ratio(self.spend_major, self.clicks)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def cpm(self) -> Decimal | None:
        """Spend per 1,000 impressions, major units."""
        return ratio(self.spend_major, self.impressions, 1000)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def frequency(self) -> Decimal | None:
        """Impressions per person reached (None when reach is unknown)."""
        return ratio(self.impressions, self.reach)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def cost_per_result(self) -> Decimal | None:
        """Spend per result, major units (None without results)."""
        return ratio(self.spend_major, self.results)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def roas(self) -> Decimal | None:
        """Revenue per unit of spend (None without revenue or spend)."""
        return ratio(self.revenue, self.spend_major)


def result_action_of(actions: dict[str, Decimal]) -> str | None:
    """The action that counts as a result: the first of :data:`RESULT_ACTIONS` present."""
    return next((name for name in RESULT_ACTIONS if actions.get(name)), None)


def _add_actions(totals: dict[str, Decimal], items: Iterable[ActionValue] | None) -> None:
    for item in items or []:
        totals[item.action_type] = totals.get(item.action_type, Decimal(0)) + item.value


def _add_windows(
    totals: dict[str, dict[str, Decimal]], items: Iterable[ActionValue] | None
) -> None:
    """Per attribution window (``7d_click``...), the actions counted in it."""
    for item in items or []:
        for window, value in item.windows.items():
            per_action = totals.setdefault(window, {})
            per_action[item.action_type] = per_action.get(item.action_type, Decimal(0)) + value


def summarize(
    rows: Sequence[InsightsRow],
    currency: str,
    *,
    result_action: str | None = None,
    reach: int | None = None,
) -> Metrics:
    """The totals of ``rows`` and the ratios from them.

    ``reach`` is the caller's (from a query over the whole period), else the reach of a
    single row; the reach of several rows is not summed, because people repeat across them.
    ``result_action`` defaults to :func:`result_action_of` the summed actions.
    """
    actions: dict[str, Decimal] = {}
    values: dict[str, Decimal] = {}
    windows: dict[str, dict[str, Decimal]] = {}
    for row in rows:
        _add_actions(actions, row.actions)
        _add_actions(values, row.action_values)
        _add_windows(windows, row.actions)
    action = result_action or result_action_of(actions)
    if reach is None and len(rows) == 1:
        reach = rows[0].reach
    return Metrics(
        currency=currency,
        impressions=sum(row.impressions or 0 for row in rows),
        reach=reach,
        clicks=sum(row.clicks or 0 for row in rows),
        link_clicks=sum(row.inline_link_clicks or 0 for row in rows),
        spend_major=sum((row.spend or Decimal(0) for row in rows), Decimal(0)),
        results=actions.get(action, Decimal(0)) if action else Decimal(0),
        result_action=action,
        revenue=values.get(action) if action else None,
        actions=actions,
        action_values=values,
        windows=windows,
    )


class DailyPoint(BaseModel):
    """One day of the daily series."""

    model_config = ConfigDict(frozen=True)

    day: date
    metrics: Metrics


class Segment(BaseModel):
    """One breakdown segment: its dimension values (``{"age": "25-34", "gender": "female"}``)."""

    model_config = ConfigDict(frozen=True)

    values: dict[str, str]
    metrics: Metrics


def daily_series(
    rows: Sequence[InsightsRow], metrics: Callable[[list[InsightsRow]], Metrics]
) -> list[DailyPoint]:
    """Rows of a ``time_increment=1`` query as one point per day, oldest first."""
    by_day: dict[date, list[InsightsRow]] = {}
    for row in rows:
        by_day.setdefault(row.date_start, []).append(row)
    return [DailyPoint(day=day, metrics=metrics(by_day[day])) for day in sorted(by_day)]


def segments(
    rows: Sequence[InsightsRow],
    dimensions: Sequence[str],
    metrics: Callable[[list[InsightsRow]], Metrics],
) -> list[Segment]:
    """Rows of a breakdown query grouped by their ``dimensions``, biggest spend first."""
    groups: dict[tuple[str, ...], list[InsightsRow]] = {}
    for row in rows:
        key = tuple(_dimension(row, name) for name in dimensions)
        groups.setdefault(key, []).append(row)
    out = [
        Segment(values=dict(zip(dimensions, key, strict=True)), metrics=metrics(group))
        for key, group in groups.items()
    ]
    return sorted(
        out, key=lambda segment: (-segment.metrics.spend_major, tuple(segment.values.values()))
    )


def _dimension(row: InsightsRow, name: str) -> str:
    value = getattr(row, name, None) or (row.model_extra or {}).get(name)
    return "unknown" if value is None else str(value)


# -- recommendations ----------------------------------------------------------------------------

RecommendationCode = Literal[
    "low_ctr", "high_cpm", "frequency_fatigue", "spend_without_results", "underpacing", "overpacing"
]


class Recommendation(BaseModel):
    """A rule that fired, with the numbers that made it fire."""

    model_config = ConfigDict(frozen=True)

    code: RecommendationCode
    message: str


class ReportThresholds(BaseModel):
    """When the recommendation rules fire (ratios in percent or plain multiples)."""

    model_config = ConfigDict(frozen=True)

    min_impressions: int = 1000
    low_ctr_percent: Decimal = Decimal("1.0")
    cpm_vs_account: Decimal = Decimal("1.5")
    max_frequency: Decimal = Decimal(3)
    no_result_spend_major: Decimal = Decimal(0)
    underpacing: Decimal = Decimal("0.7")
    overpacing: Decimal = Decimal("1.25")


class Context(BaseModel):
    """What the rules compare against: the account's figures, the budget, the days covered."""

    model_config = ConfigDict(frozen=True)

    days: int
    account: Metrics | None = None
    daily_budget: Money | None = None


Rule = Callable[[Metrics, Context, ReportThresholds], Recommendation | None]


def _low_ctr(m: Metrics, _: Context, t: ReportThresholds) -> Recommendation | None:
    if m.impressions < t.min_impressions or m.ctr is None or m.ctr >= t.low_ctr_percent:
        return None
    return Recommendation(
        code="low_ctr",
        message=f"CTR is {display(m.ctr)}% ({m.clicks} clicks / {m.impressions} impressions), "
        f"under {t.low_ctr_percent}%: refresh the creatives or tighten the targeting.",
    )


def _high_cpm(m: Metrics, c: Context, t: ReportThresholds) -> Recommendation | None:
    account_cpm = c.account.cpm if c.account else None
    if m.impressions < t.min_impressions or m.cpm is None or account_cpm is None:
        return None
    if m.cpm <= account_cpm * t.cpm_vs_account:
        return None
    return Recommendation(
        code="high_cpm",
        message=f"CPM is {display(m.cpm)} {m.currency}, {display(m.cpm / account_cpm)}x the "
        f"account's {display(account_cpm)}: broaden the audience or review placements.",
    )


def _frequency(m: Metrics, _: Context, t: ReportThresholds) -> Recommendation | None:
    if m.frequency is None or m.frequency <= t.max_frequency:
        return None
    return Recommendation(
        code="frequency_fatigue",
        message=f"Frequency is {display(m.frequency)} ({m.impressions} impressions / {m.reach} "
        f"people), over {t.max_frequency}: expand the audience or rotate creatives.",
    )


def _no_results(m: Metrics, _: Context, t: ReportThresholds) -> Recommendation | None:
    if m.spend_major <= t.no_result_spend_major or m.results > 0:
        return None
    wanted = m.result_action or "any result action"
    return Recommendation(
        code="spend_without_results",
        message=f"Spent {m.spend} with no {wanted}: check the pixel/event setup and the offer.",
    )


def _pacing(m: Metrics, c: Context, t: ReportThresholds) -> Recommendation | None:
    if c.daily_budget is None or c.days <= 0 or c.daily_budget.amount_minor <= 0:
        return None
    expected = c.daily_budget.major * c.days
    share = m.spend_major / expected
    if t.underpacing <= share <= t.overpacing:
        return None
    code: RecommendationCode = "underpacing" if share < t.underpacing else "overpacing"
    advice = "raise bids or broaden the audience" if code == "underpacing" else "review the budget"
    return Recommendation(
        code=code,
        message=f"Spent {display(m.spend_major)} {m.currency} of {display(expected)} expected "
        f"({c.daily_budget} a day x {c.days} days, {display(share * 100, 0)}%): {advice}.",
    )


RULES: tuple[Rule, ...] = (_low_ctr, _high_cpm, _frequency, _no_results, _pacing)


def recommend(
    summary: Metrics, context: Context, thresholds: ReportThresholds | None = None
) -> list[Recommendation]:
    """Every rule that fires for ``summary``, in a fixed order; none on too little data.

    Under ``min_impressions`` no figure is judged at all: a handful of impressions says
    nothing about a creative, a price or a budget.
    """
    limits = thresholds or ReportThresholds()
    if summary.impressions < limits.min_impressions:
        return []
    found = (rule(summary, context, limits) for rule in RULES)
    return [item for item in found if item is not None]


def data_note(summary: Metrics, thresholds: ReportThresholds | None = None) -> str | None:
    """Why no advice is given, in words: no delivery at all, or too little of it."""
    limits = thresholds or ReportThresholds()
    if summary.impressions == 0 and summary.spend_major == 0:
        return "No delivery in this period: no impressions, no spend, so nothing to judge."
    if summary.impressions < limits.min_impressions:
        return (
            f"Too little data for advice: {summary.impressions} impressions, under the "
            f"{limits.min_impressions} the rules need before they judge any figure."
        )
    return None


class PerformanceReport(BaseModel):
    """Summary, daily series, platform and demographic breakdowns, recommendations."""

    model_config = ConfigDict(frozen=True)

    object_id: str
    level: Level
    date_preset: str | None = None
    since: date | None = None
    until: date | None = None
    currency: str
    summary: Metrics
    daily: list[DailyPoint]
    platforms: list[Segment]
    demographics: list[Segment]
    recommendations: list[Recommendation]
