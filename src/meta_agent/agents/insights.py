"""The InsightsAgent (specification §4.5): insights rows, the performance report, tracking.

::

    InsightsParams            one validated query: level, object, dates, fields, breakdowns
    InsightsAgent
      get_insights(params)    sync service for small queries, async report job for large ones
                              (or when asked, or when Meta says the sync query is too big);
                              cached: 5 min while the range includes today, 1 h once closed
      performance_report()    summary, daily series, platforms, age x gender, recommendations
      track() / tracked()     campaigns to follow (the orchestrator calls track on creation)

The arithmetic lives in :mod:`meta_agent.agents.report`; this module only asks Meta.
"""

from __future__ import annotations

import asyncio
import difflib
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from meta_agent.agents.report import (
    Context,
    Level,
    Metrics,
    PerformanceReport,
    ReportThresholds,
    daily_series,
    recommend,
    segments,
    summarize,
)
from meta_agent.agents.reporting.pacing import budget_of
from meta_agent.agents.validation import validate
from meta_agent.cache.base import Cache
from meta_agent.errors import ApiError, RequestValidationError
from meta_agent.graph.client import GraphClient
from meta_agent.graph.models import ATTRIBUTION_WINDOWS, InsightsRow, Money
from meta_agent.graph.reports import run_report
from meta_agent.graph.services import InsightsQuery, TimeRange

DatePreset = Literal[
    "today", "yesterday", "this_month", "last_month", "this_quarter", "maximum", "data_maximum",
    "last_3d", "last_7d", "last_14d", "last_28d", "last_30d", "last_90d", "last_week_mon_sun",
    "last_week_sun_sat", "last_quarter", "last_year", "this_week_mon_today",
    "this_week_sun_today", "this_year",
]  # fmt: skip
# Roughly how many days each preset covers (only for the sync-or-async size estimate).
PRESET_DAYS: dict[str, int] = {
    "today": 1, "yesterday": 1, "last_3d": 3, "last_7d": 7, "last_14d": 14, "last_28d": 28,
    "last_30d": 30, "last_90d": 90, "this_month": 31, "last_month": 31, "this_quarter": 92,
    "last_quarter": 92, "last_week_mon_sun": 7, "last_week_sun_sat": 7,
    "this_week_mon_today": 7, "this_week_sun_today": 7, "this_year": 366, "last_year": 366,
    "maximum": 1127, "data_maximum": 1127,
}  # fmt: skip
# Presets whose numbers still move today: cached briefly.
OPEN_PRESETS = frozenset(
    {"today", "this_month", "this_quarter", "this_year", "this_week_mon_today",
     "this_week_sun_today", "maximum", "data_maximum"}
)  # fmt: skip
# The insights fields meta-agent asks for (reference §9.1, SDK AdsInsights.Field).
KNOWN_FIELDS = frozenset(
    """account_currency account_id account_name ad_id ad_name adset_id adset_name campaign_id
    campaign_name objective optimization_goal buying_type attribution_setting impressions reach
    frequency clicks unique_clicks inline_link_clicks inline_link_click_ctr outbound_clicks
    outbound_clicks_ctr unique_outbound_clicks unique_inline_link_clicks spend cpc cpm cpp ctr
    unique_ctr cost_per_inline_link_click cost_per_unique_click cost_per_outbound_click
    cost_per_unique_inline_link_click inline_post_engagement actions unique_actions
    action_values conversions conversion_values cost_per_action_type cost_per_conversion
    purchase_roas website_purchase_roas video_play_actions video_p25_watched_actions
    video_p50_watched_actions video_p75_watched_actions video_p95_watched_actions
    video_p100_watched_actions video_thruplay_watched_actions video_avg_time_watched_actions
    cost_per_thruplay quality_ranking engagement_rate_ranking conversion_rate_ranking
    date_start date_stop created_time updated_time""".split()  # noqa: SIM905 (a block reads better)
)
HOURLY = frozenset(
    {
        "hourly_stats_aggregated_by_advertiser_time_zone",
        "hourly_stats_aggregated_by_audience_time_zone",
    }
)
# Breakdown combinations Meta serves (reference §4.5); other mixes are refused with code 100.
BREAKDOWN_COMBINATIONS = frozenset(
    frozenset(combo.split("+"))
    for combo in """age gender age+gender country region country+region publisher_platform
    publisher_platform+platform_position publisher_platform+platform_position+impression_device
    publisher_platform+impression_device device_platform publisher_platform+device_platform
    hourly_stats_aggregated_by_advertiser_time_zone
    hourly_stats_aggregated_by_audience_time_zone frequency_value""".split()  # noqa: SIM905
)
# Since 2026-08-03 these need an Ads Manager opt-in for synchronous reads; without it a sync
# query answers no rows and no error, while async report runs still work (reference §13.1).
OPT_IN_BREAKDOWNS = frozenset(
    {"impression_device", "frequency_value", "hourly_stats_aggregated_by_audience_time_zone"}
)
# Typical segments per breakdown value (only for the size estimate).
SEGMENTS = {
    "age": 6, "gender": 3, "country": 5, "region": 10, "publisher_platform": 4,
    "platform_position": 6, "impression_device": 6, "device_platform": 3, "frequency_value": 11,
}  # fmt: skip
UNIQUE_FIELDS = ("reach", "frequency", "cpp")
REPORT_FIELDS = (
    "account_id", "account_currency", "impressions", "reach", "clicks", "inline_link_clicks",
    "spend", "actions", "action_values",
)  # fmt: skip
OPEN_TTL = 300.0
CLOSED_TTL = 3600.0


class DateSpan(BaseModel):
    """``{"since": "2026-01-01", "until": "2026-01-31"}``, both days included."""

    model_config = ConfigDict(frozen=True)

    since: date
    until: date

    @model_validator(mode="after")
    def _ordered(self) -> DateSpan:
        if self.until < self.since:
            raise ValueError(f"until ({self.until}) is before since ({self.since}); swap them")
        return self


class InsightsParams(BaseModel):
    """One insights query, checked before anything is sent (reference §4.5, §9.1).

    Give exactly one of ``date_preset`` and ``time_range``. ``async_`` forces an async
    report job; otherwise the agent picks by the query's estimated size.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    level: Level
    object_id: str = Field(pattern=r"^(act_)?\d+$")
    date_preset: DatePreset | None = None
    time_range: DateSpan | None = None
    fields: tuple[str, ...] = ("impressions", "clicks", "spend", "actions")
    breakdowns: tuple[str, ...] = ()
    time_increment: int | Literal["monthly", "all_days"] | None = None
    action_attribution_windows: tuple[str, ...] = ()
    action_report_time: Literal["impression", "conversion", "mixed", "lifetime"] | None = None
    async_: bool = False

    @field_validator("fields")
    @classmethod
    def _known_fields(cls, fields: tuple[str, ...]) -> tuple[str, ...]:
        if not fields:
            raise ValueError("ask for at least one field, e.g. ('impressions', 'spend')")
        for name in fields:
            if name not in KNOWN_FIELDS:
                raise ValueError(f"'{name}' is not an insights field{_suggest(name, KNOWN_FIELDS)}")
        return tuple(dict.fromkeys(fields))

    @field_validator("breakdowns")
    @classmethod
    def _served_combination(cls, breakdowns: tuple[str, ...]) -> tuple[str, ...]:
        if breakdowns and frozenset(breakdowns) not in BREAKDOWN_COMBINATIONS:
            raise ValueError(
                f"Meta does not serve the breakdowns {'+'.join(breakdowns)} together; use one of "
                "age, gender, age+gender, country(+region), publisher_platform(+platform_position"
                "(+impression_device)), device_platform, or run separate queries"
            )
        return breakdowns

    @field_validator("time_increment")
    @classmethod
    def _increment(cls, value: int | str | None) -> int | str | None:
        if isinstance(value, int) and not 1 <= value <= 90:
            raise ValueError(f"{value} is not 1 to 90 days; use 1-90, 'monthly' or 'all_days'")
        return value

    @field_validator("action_attribution_windows")
    @classmethod
    def _windows(cls, windows: tuple[str, ...]) -> tuple[str, ...]:
        for name in windows:
            if name not in ATTRIBUTION_WINDOWS:
                raise ValueError(
                    f"'{name}' is not an attribution window{_suggest(name, ATTRIBUTION_WINDOWS)}"
                )
        return windows

    @model_validator(mode="after")
    def _consistent(self) -> InsightsParams:
        # Raised as is (pydantic wraps only ValueError): a cross-field error names its field.
        if (self.date_preset is None) == (self.time_range is None):
            raise RequestValidationError(
                "give exactly one of date_preset (e.g. 'last_7d') and time_range "
                "({'since': 'YYYY-MM-DD', 'until': 'YYYY-MM-DD'})",
                field="time_range" if self.time_range else "date_preset",
            )
        if HOURLY & set(self.breakdowns) and set(UNIQUE_FIELDS) & set(self.fields):
            raise RequestValidationError(
                "hourly breakdowns do not support reach, frequency or cpp; drop those fields",
                field="fields",
            )
        return self

    @classmethod
    def build(cls, **data: Any) -> InsightsParams:
        """Validate ``data`` into params, as a domain error.

        Raises:
            RequestValidationError: naming the first offending field and how to fix it.
        """
        return validate(cls, data)

    def query(self) -> InsightsQuery:
        """The graph query these params describe."""
        span = self.time_range
        return InsightsQuery(
            fields=[*self.fields],
            level=self.level,
            date_preset=self.date_preset,
            time_range=TimeRange(since=span.since, until=span.until) if span else None,
            time_increment=self.time_increment,
            breakdowns=[*self.breakdowns] or None,
            action_attribution_windows=[*self.action_attribution_windows] or None,
            action_report_time=self.action_report_time,
        )

    def days(self) -> int:
        """How many days the query covers (a preset's typical length)."""
        if self.time_range is not None:
            return (self.time_range.until - self.time_range.since).days + 1
        return PRESET_DAYS.get(str(self.date_preset), 30)


def _suggest(name: str, known: frozenset[str]) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1)
    return f"; did you mean '{close[0]}'?" if close else "; remove it or fix its spelling"


LEVEL_DEPTH: dict[str, int] = {"account": 0, "campaign": 1, "adset": 2, "ad": 3}


def estimate_rows(params: InsightsParams) -> int:
    """A rough row count: date buckets x breakdown segments x objects below the queried one.

    A non-account object is taken to be a campaign (its own level is not in the params).
    """
    increment = params.time_increment
    days = params.days()
    if isinstance(increment, int):
        buckets = -(-days // increment)
    else:
        buckets = -(-days // 30) if increment == "monthly" else 1
    segments_ = 1
    for name in params.breakdowns:
        segments_ *= 24 if name in HOURLY else SEGMENTS.get(name, 10)
    own = 0 if params.object_id.startswith("act_") else 1
    fanout: int = 4 ** max(0, LEVEL_DEPTH[params.level] - own)
    return buckets * segments_ * fanout


def _too_big_for_sync(error: ApiError) -> bool:
    """Meta's "reduce the amount of data" answers, after which it advises an async job."""
    return error.code == 1 or (error.code, error.subcode) in {(100, 1487534), (100, 1504018)}


class InsightsAgent:
    """Reads insights and builds performance reports; keeps the campaigns it tracks."""

    def __init__(
        self,
        graph: GraphClient,
        cache: Cache | None = None,
        *,
        today: Callable[[], date] = date.today,
        sync_row_limit: int = 2000,
        thresholds: ReportThresholds | None = None,
    ) -> None:
        self.graph = graph
        self.cache = cache
        self.today = today
        self.sync_row_limit = sync_row_limit
        self.thresholds = thresholds or ReportThresholds()
        self._tracked: dict[str, None] = {}

    # -- tracking ----------------------------------------------------------------------------

    def track(self, campaign_id: str) -> None:
        """Follow a campaign (the orchestrator calls this on ``campaign_created``)."""
        self._tracked[campaign_id] = None

    def tracked(self) -> list[str]:
        """The campaigns followed, in the order they were first tracked."""
        return list(self._tracked)

    # -- rows --------------------------------------------------------------------------------

    async def get_insights(self, params: InsightsParams | Mapping[str, Any]) -> list[InsightsRow]:
        """Every row of the query, from the cache when fresh.

        Raises:
            RequestValidationError: ``params`` given as a mapping did not validate.
            ApiError: Meta refused the query or the report job failed.
        """
        query = params if isinstance(params, InsightsParams) else InsightsParams.build(**params)
        key = self._cache_key(query)
        if self.cache is not None:
            cached = await self.cache.get(key)
            if cached is not None:
                return [InsightsRow.model_validate(row) for row in cached]
        rows = await self._fetch(query)
        if self.cache is not None:
            dumped = [row.model_dump(mode="json", exclude_none=True) for row in rows]
            await self.cache.set(key, dumped, ttl=self._ttl(query))
        return rows

    def uses_async(self, params: InsightsParams) -> bool:
        """Whether the query goes to an async report job: asked for, estimated too big, or
        using a breakdown that answers synchronously only on opted-in accounts."""
        if params.async_ or OPT_IN_BREAKDOWNS & set(params.breakdowns):
            return True
        return estimate_rows(params) > self.sync_row_limit

    async def _fetch(self, params: InsightsParams) -> list[InsightsRow]:
        if self.uses_async(params):
            return await self._fetch_async(params)
        try:
            return await self.graph.insights.query(params.object_id, params.query()).collect()
        except ApiError as error:
            if not _too_big_for_sync(error):
                raise
            return await self._fetch_async(params)

    async def _fetch_async(self, params: InsightsParams) -> list[InsightsRow]:
        level: Level | None = "account" if params.object_id.startswith("act_") else None
        stream = run_report(
            self.graph.requestor,
            params.object_id,
            params.query().to_params(),
            object_level=level,
            model=InsightsRow,
        )
        return [row async for row in stream]

    def _cache_key(self, params: InsightsParams) -> str:
        body = params.model_dump(mode="json", exclude={"async_"})
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:24]
        return f"insights:{params.object_id}:{digest}"

    def _ttl(self, params: InsightsParams) -> float:
        """Short while the numbers can still move today, longer once the range is closed."""
        if params.time_range is not None:
            return OPEN_TTL if params.time_range.until >= self.today() else CLOSED_TTL
        return OPEN_TTL if params.date_preset in OPEN_PRESETS else CLOSED_TTL

    async def invalidate(self, object_id: str) -> int:
        """Forget the cached rows of one object; returns how many entries went."""
        return 0 if self.cache is None else await self.cache.invalidate(f"insights:{object_id}:*")

    # -- the performance report --------------------------------------------------------------

    async def performance_report(
        self,
        object_id: str,
        level: Level,
        *,
        date_preset: DatePreset | None = None,
        time_range: DateSpan | Mapping[str, Any] | None = None,
        result_action: str | None = None,
        attribution_windows: Sequence[str] = (),
    ) -> PerformanceReport:
        """Summary, daily series, platform and age x gender breakdowns, recommendations.

        ``level`` is the object's own level (``campaign`` for a campaign id): every query
        runs at that level, so the summary is one object's totals, its reach included.
        ``attribution_windows`` (``7d_click``...) adds each action counted in each window.

        Raises:
            RequestValidationError: bad dates (both, neither, or reversed).
            ApiError: Meta refused a query.
        """
        dates: dict[str, Any] = {"date_preset": date_preset, "time_range": time_range}
        base: dict[str, Any] = {"object_id": object_id, "level": level, "fields": REPORT_FIELDS}
        if attribution_windows:
            base["action_attribution_windows"] = tuple(attribution_windows)
        totals, daily, platforms, people = await asyncio.gather(
            self.get_insights(InsightsParams.build(**base, **dates)),
            self.get_insights(InsightsParams.build(**base, **dates, time_increment=1)),
            self.get_insights(
                InsightsParams.build(**base, **dates, breakdowns=("publisher_platform",))
            ),
            self.get_insights(InsightsParams.build(**base, **dates, breakdowns=("age", "gender"))),
        )
        currency = await self._currency(object_id, totals)

        def metrics(rows: Sequence[InsightsRow]) -> Metrics:
            return summarize(rows, currency, result_action=result_action)

        summary = metrics(totals)
        context = Context(
            days=len({row.date_start for row in daily}),
            account=await self._account_metrics(object_id, level, totals, dates, currency),
            daily_budget=await self._daily_budget(object_id, level, currency),
        )
        return PerformanceReport(
            object_id=object_id,
            level=level,
            date_preset=date_preset,
            since=min((row.date_start for row in totals), default=None),
            until=max((row.date_stop for row in totals), default=None),
            currency=currency,
            summary=summary,
            daily=daily_series(daily, metrics),
            platforms=segments(platforms, ("publisher_platform",), metrics),
            demographics=segments(people, ("age", "gender"), metrics),
            recommendations=recommend(summary, context, self.thresholds),
        )

    async def _currency(self, object_id: str, rows: Sequence[InsightsRow]) -> str:
        for row in rows:
            if row.account_currency:
                return row.account_currency
        account = object_id if object_id.startswith("act_") else await self._account_of(object_id)
        currency = (await self.graph.accounts.get(account, ["currency"])).currency
        return currency or "USD"

    async def _account_of(self, object_id: str) -> str:
        body = await self.graph.get(object_id, {"fields": "account_id"})
        return f"act_{body['account_id']}"

    async def _account_metrics(
        self,
        object_id: str,
        level: Level,
        totals: Sequence[InsightsRow],
        dates: Mapping[str, Any],
        currency: str,
    ) -> Metrics | None:
        """The account's totals over the same dates, to compare the object's CPM against."""
        if level == "account" or not totals or totals[0].account_id is None:
            return None
        account = f"act_{totals[0].account_id}"
        fields = ("impressions", "spend")
        rows = await self.get_insights(
            InsightsParams.build(object_id=account, level="account", fields=fields, **dates)
        )
        return summarize(rows, currency)

    async def _daily_budget(self, object_id: str, level: Level, currency: str) -> Money | None:
        """The daily budget behind the object: its own, or its ad sets' summed (ABO campaigns)."""
        budget = await budget_of(self.graph, object_id, level, currency)
        return budget.amount if budget is not None and budget.kind == "daily" else None
