"""The marketer's report: the performance report plus rows per level, placements, pacing,
the previous period, attribution named, and a note when there is too little to judge.

Every query goes through :func:`~meta_agent.agents.reporting.fetch.fetch_rows`; every row
counts the same result action as the summary, so each level's rows add up to the totals.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from meta_agent.agents.insights import REPORT_FIELDS, DatePreset, DateSpan, InsightsAgent
from meta_agent.agents.report import (
    Level,
    Metrics,
    PerformanceReport,
    Segment,
    data_note,
    segments,
    summarize,
)
from meta_agent.agents.reporting.fetch import fetch_rows
from meta_agent.agents.reporting.levels import LEVELS_BELOW, LevelRow, creative_rows, level_rows
from meta_agent.agents.reporting.pacing import Pacing, budget_of, pace
from meta_agent.agents.reporting.periods import Comparison, compare, previous_span
from meta_agent.graph.models import InsightsRow

ACCOUNT_DEFAULT = "the account's default (each ad set's attribution setting)"
PLACEMENT = ("publisher_platform", "platform_position")


class Attribution(BaseModel):
    """Which attribution the figures use: the setting, and the windows asked for."""

    model_config = ConfigDict(frozen=True)

    setting: str = ACCOUNT_DEFAULT
    windows: list[str] = Field(default_factory=list)
    dropped: list[str] = Field(default_factory=list)


class MarketerReport(PerformanceReport):
    """The performance report with rows per level, pacing, the previous period and notes."""

    rows: dict[str, list[LevelRow]] = Field(default_factory=dict)
    placements: list[Segment] = Field(default_factory=list)
    pacing: Pacing | None = None
    previous: Comparison | None = None
    attribution: Attribution = Field(default_factory=Attribution)
    synthetic: bool = False
    note: str | None = None


class _Scope:
    """What every query of one report shares: the object, the dates, the counting."""

    def __init__(
        self, agent: InsightsAgent, object_id: str, base: PerformanceReport, windows: Sequence[str]
    ) -> None:
        self.agent = agent
        self.object_id = object_id
        self.base = base
        self.windows = tuple(windows)
        self.action = base.summary.result_action

    def metrics(self, rows: Sequence[InsightsRow]) -> Metrics:
        return summarize(rows, self.base.currency, result_action=self.action)

    async def rows(self, level: Level, since: date, until: date, **extra: Any) -> list[InsightsRow]:
        query: dict[str, Any] = {
            "object_id": self.object_id,
            "level": level,
            "time_range": {"since": since, "until": until},
            "fields": extra.pop("fields", REPORT_FIELDS),
            **extra,
        }
        if self.windows:
            query["action_attribution_windows"] = self.windows
        return await fetch_rows(self.agent, **query)


async def marketer_report(
    agent: InsightsAgent,
    object_id: str,
    level: Level,
    *,
    date_preset: DatePreset | None = None,
    time_range: DateSpan | Mapping[str, Any] | None = None,
    result_action: str | None = None,
    attribution_windows: Sequence[str] = (),
    synthetic: bool = False,
) -> MarketerReport:
    """Everything a marketer reads about one object over one period.

    Raises:
        RequestValidationError: bad dates or windows, named.
        ApiError: Meta refused a query.
    """
    base = await agent.performance_report(
        object_id,
        level,
        date_preset=date_preset,
        time_range=time_range,
        result_action=result_action,
        attribution_windows=attribution_windows,
    )
    extra: dict[str, Any] = {
        "synthetic": synthetic,
        "note": data_note(base.summary, agent.thresholds),
        "attribution": _attribution(base.summary, attribution_windows),
    }
    if base.since is not None and base.until is not None:
        scope = _Scope(agent, object_id, base, attribution_windows)
        rows, placements, pacing, previous = await asyncio.gather(
            _level_tables(scope, level, base.since, base.until),
            scope.rows(level, base.since, base.until, breakdowns=PLACEMENT),
            _pacing(scope, level, base.since, base.until),
            _previous(scope, level, base.since, base.until),
        )
        setting = next((r.attribution_setting for t in rows.values() for r in t), None)
        extra |= {
            "rows": rows,
            "placements": segments(placements, PLACEMENT, scope.metrics),
            "pacing": pacing,
            "previous": previous,
            "attribution": extra["attribution"].model_copy(
                update={"setting": setting or ACCOUNT_DEFAULT}
            ),
        }
    return MarketerReport(**base.model_dump(), **extra)


def _attribution(summary: Metrics, asked: Sequence[str]) -> Attribution:
    """The windows asked for, and those Meta no longer returns (only judged with actions)."""
    returned = [window for window in asked if window in summary.windows]
    dropped = [window for window in asked if window not in summary.windows and summary.actions]
    return Attribution(windows=returned, dropped=dropped)


async def _level_tables(
    scope: _Scope, level: Level, since: date, until: date
) -> dict[str, list[LevelRow]]:
    below = LEVELS_BELOW[level]
    fetched = await asyncio.gather(
        *(
            scope.rows(
                name,
                since,
                until,
                fields=(*REPORT_FIELDS, f"{name}_id", f"{name}_name", "attribution_setting"),
            )
            for name in below
        )
    )
    tables: dict[str, list[LevelRow]] = {
        name: level_rows(rows, name, scope.metrics)
        for name, rows in zip(below, fetched, strict=True)
    }
    if "ad" in below:
        ad_rows = fetched[below.index("ad")]
        tables["creative"] = await creative_rows(scope.agent.graph, ad_rows, scope.metrics)
    return tables


async def _pacing(scope: _Scope, level: Level, since: date, until: date) -> Pacing | None:
    budget = await budget_of(scope.agent.graph, scope.object_id, level, scope.base.currency)
    if budget is None:
        return None
    start = budget.start or since
    schedule = await scope.rows(level, start, until, fields=("spend",)) if start <= until else []
    return pace(
        budget,
        spent_major=scope.base.summary.spend_major,
        schedule_spent_major=sum((row.spend or Decimal(0) for row in schedule), Decimal(0)),
        since=since,
        until=until,
        thresholds=scope.agent.thresholds,
    )


async def _previous(scope: _Scope, level: Level, since: date, until: date) -> Comparison:
    first, last = previous_span(since, until)
    rows = await scope.rows(level, first, last)
    before = scope.metrics(rows)
    return Comparison(
        since=first, until=last, metrics=before, changes=compare(scope.base.summary, before)
    )
