"""The previous period beside the current one: same length, ending the day before.

A change is ``current - previous``, and in percent of the previous figure (None when
the previous figure is zero or unknown: a rise from nothing has no percentage).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from meta_agent.agents.report import Metrics, ratio

# The figures compared, as Metrics attributes.
COMPARED = (
    "spend_major", "impressions", "reach", "clicks", "results", "revenue", "ctr", "cpc",
    "cpm", "frequency", "cost_per_result", "roas",
)  # fmt: skip


class Change(BaseModel):
    """One figure now and in the previous period, and the change."""

    model_config = ConfigDict(frozen=True)

    figure: str
    current: Decimal | None
    previous: Decimal | None
    change: Decimal | None
    percent: Decimal | None


class Comparison(BaseModel):
    """The previous period's dates and figures, and each figure's change."""

    model_config = ConfigDict(frozen=True)

    since: date
    until: date
    metrics: Metrics
    changes: list[Change]


def previous_span(since: date, until: date) -> tuple[date, date]:
    """The period of the same length that ends the day before ``since``."""
    length = (until - since).days + 1
    end = since - timedelta(days=1)
    return end - timedelta(days=length - 1), end


def compare(current: Metrics, previous: Metrics) -> list[Change]:
    """Every figure of :data:`COMPARED`, now and before."""
    return [_change(name, _value(current, name), _value(previous, name)) for name in COMPARED]


def _value(metrics: Metrics, name: str) -> Decimal | None:
    value = getattr(metrics, name)
    return None if value is None else Decimal(value)


def _change(name: str, current: Decimal | None, previous: Decimal | None) -> Change:
    if current is None or previous is None:
        return Change(figure=name, current=current, previous=previous, change=None, percent=None)
    delta = current - previous
    return Change(
        figure=name,
        current=current,
        previous=previous,
        change=delta,
        percent=ratio(delta, previous, 100),
    )
