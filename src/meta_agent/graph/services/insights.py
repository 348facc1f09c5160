"""Sync insights: ``GET /{object}/insights`` as typed rows (reference §9.1).

For large reports use the async report jobs (``graph.reports``): a sync query that asks for
too much fails with code 1 or 100/1487534, and Meta's advice is to go async.
:class:`InsightsQuery` is shared by both, so the same query runs either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from meta_agent.graph.models import InsightsRow
from meta_agent.graph.pagination import Paginator, paginate
from meta_agent.graph.services._base import Service

Level = Literal["ad", "adset", "campaign", "account"]
T = TypeVar("T")


class TimeRange(BaseModel):
    """An inclusive date range in the account's time zone."""

    model_config = ConfigDict(frozen=True, strict=True)

    since: date
    until: date

    @model_validator(mode="after")
    def _ordered(self) -> TimeRange:
        if self.until < self.since:
            raise ValueError("until must not be before since")
        return self


class InsightsFilter(BaseModel):
    """One ``filtering`` clause: ``{"field": "campaign.effective_status", "operator": "IN", ...}``."""

    model_config = ConfigDict(frozen=True, strict=True)

    field: str
    operator: str
    value: Any


class InsightsQuery(BaseModel):
    """What to report: fields, level, dates (a preset or a range), breakdowns, filters.

    With neither ``date_preset`` nor ``time_range`` Meta reports ``last_30d``.
    """

    model_config = ConfigDict(frozen=True, strict=True)

    fields: list[str] = Field(default_factory=lambda: ["impressions", "spend"])
    level: Level | None = None
    date_preset: str | None = None
    time_range: TimeRange | None = None
    time_increment: int | Literal["monthly", "all_days"] | None = None
    breakdowns: list[str] | None = None
    action_breakdowns: list[str] | None = None
    action_attribution_windows: list[str] | None = None
    action_report_time: str | None = None
    filtering: list[InsightsFilter] | None = None
    sort: list[str] | None = None

    @model_validator(mode="after")
    def _one_date_choice(self) -> InsightsQuery:
        if self.date_preset is not None and self.time_range is not None:
            raise ValueError("give date_preset or time_range, not both")
        if isinstance(self.time_increment, int) and not 1 <= self.time_increment <= 90:
            raise ValueError("time_increment is 1 to 90 days, 'monthly' or 'all_days'")
        return self

    def to_params(self) -> dict[str, Any]:
        """The query as Graph parameters (lists and ranges JSON-encoded by the requestor)."""
        params = self.model_dump(mode="json", exclude_none=True)
        params["fields"] = ",".join(self.fields)
        return params


class InsightsService(Service):
    """Sync insights reads as an async iterator of :class:`InsightsRow`."""

    def get(
        self,
        object_id: str,
        *,
        fields: Sequence[str] = ("impressions", "spend"),
        level: Level | None = None,
        date_preset: str | None = None,
        time_range: TimeRange | None = None,
        time_increment: int | Literal["monthly", "all_days"] | None = None,
        breakdowns: Sequence[str] | None = None,
        action_breakdowns: Sequence[str] | None = None,
        action_attribution_windows: Sequence[str] | None = None,
        filtering: Sequence[InsightsFilter] | None = None,
        sort: Sequence[str] | None = None,
        page_size: int | None = None,
    ) -> Paginator[InsightsRow]:
        """Rows for an account (``act_<digits>``), campaign, ad set or ad, page by page.

        Raises:
            pydantic.ValidationError: contradictory arguments (a preset and a range).
        """
        query = InsightsQuery(
            fields=[*fields],
            level=level,
            date_preset=date_preset,
            time_range=time_range,
            time_increment=time_increment,
            breakdowns=_listed(breakdowns),
            action_breakdowns=_listed(action_breakdowns),
            action_attribution_windows=_listed(action_attribution_windows),
            filtering=_listed(filtering),
            sort=_listed(sort),
        )
        return self.query(object_id, query, page_size=page_size)

    def query(
        self, object_id: str, query: InsightsQuery, *, page_size: int | None = None
    ) -> Paginator[InsightsRow]:
        """Rows of ``query`` for one object, lazily (one page in memory at a time)."""
        path = f"{object_id}/insights"
        params = query.to_params()
        return paginate(self._requestor, path, params, model=InsightsRow, page_size=page_size)


def _listed(items: Sequence[T] | None) -> list[T] | None:
    return None if items is None else [*items]
