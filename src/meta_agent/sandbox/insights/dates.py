"""The days an insights query covers: date presets, time ranges and time increments.

A query's days arrive as *buckets*, inclusive ``(since, until)`` pairs: one per
``time_increment`` step of a single range or preset (contiguous), or one per entry of
``time_ranges`` (not contiguous, possibly overlapping). All dates are in the account's
calendar.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from meta_agent.sandbox.errors import GraphError, invalid_param
from meta_agent.sandbox.insights.enums import DATE_PRESETS
from meta_agent.sandbox.params import Params

Bucket = tuple[date, date]
MAX_LOOKBACK_MONTHS = 37


def parse_buckets(params: Params, today: date) -> tuple[tuple[Bucket, ...], bool]:
    """The query's buckets, and whether they tile one contiguous range.

    Raises:
        GraphError: a malformed range or increment, or a start beyond 37 months (code 3018).
    """
    ranges = params.json_("time_ranges")
    if ranges:
        return _listed(ranges, today), False
    time_range = params.object_("time_range")
    if time_range is not None:
        since, until = _range(time_range, "time_range")
    else:
        preset = params.enum_("date_preset", DATE_PRESETS) or "last_30d"
        since, until = preset_range(preset, today)
    _check_lookback(since, today)
    return tuple(_increments(since, until, _increment(params))), True


def _listed(ranges: Any, today: date) -> tuple[Bucket, ...]:
    """One bucket per ``time_ranges`` entry, in the caller's order."""
    if not isinstance(ranges, list):
        raise invalid_param("Param time_ranges must be an array", blame="time_ranges")
    buckets = tuple(_range(item, "time_ranges") for item in ranges)
    for since, _ in buckets:
        _check_lookback(since, today)
    return buckets


def _range(value: Any, name: str) -> Bucket:
    try:
        since = date.fromisoformat(str(value["since"]))
        until = date.fromisoformat(str(value["until"]))
    except (KeyError, TypeError, ValueError):
        raise invalid_param(
            f"Param {name} must be like {{'since':'YYYY-MM-DD','until':'YYYY-MM-DD'}}",
            blame=name,
            user_msg=f"Send '{name}' with 'since' and 'until' dates as YYYY-MM-DD.",
        ) from None
    if until < since:
        raise invalid_param(
            f"Param {name}: 'until' must not be before 'since'",
            blame=name,
            user_msg="Swap the dates: 'since' is the first day, 'until' the last.",
        )
    return since, until


def _check_lookback(since: date, today: date) -> None:
    if since < months_back(today, MAX_LOOKBACK_MONTHS):
        raise GraphError(
            message="(#3018) The start date of the time range cannot be beyond 37 months from "
            "the current date",
            code=3018,
        )


def _increment(params: Params) -> int | str:
    raw = params.str_("time_increment")
    if raw is None or raw in {"all_days", "monthly"}:
        return raw or "all_days"
    if raw.isdigit() and 1 <= int(raw) <= 90:
        return int(raw)
    raise invalid_param(
        "Param time_increment must be 'monthly', 'all_days' or an integer between 1 and 90",
        blame="time_increment",
        user_msg="Use time_increment=1 for daily rows, 7 for weekly, or 'monthly'.",
    )


def _increments(since: date, until: date, step: int | str) -> Iterable[Bucket]:
    if step == "all_days":
        yield since, until
        return
    start = since
    while start <= until:
        if step == "monthly":
            stop = _month_end(start)
        else:
            assert isinstance(step, int)
            stop = start + timedelta(days=step - 1)
        yield start, min(stop, until)
        start = min(stop, until) + timedelta(days=1)


def preset_range(preset: str, today: date) -> Bucket:
    """The dates a ``date_preset`` covers, in the account's calendar."""
    one = timedelta(days=1)
    if preset.startswith("last_") and preset.endswith("d"):
        days = int(preset[5:-1])
        return today - timedelta(days=days), today - one
    if preset in {"maximum", "data_maximum"}:
        return months_back(today, MAX_LOOKBACK_MONTHS), today
    if preset in {"today", "yesterday"}:
        day = today if preset == "today" else today - one
        return day, day
    if "week" in preset:
        return _week(preset, today)
    return _calendar(preset, today)


def _week(preset: str, today: date) -> Bucket:
    offset = today.weekday() if "mon" in preset else (today.weekday() + 1) % 7
    start = today - timedelta(days=offset)
    if preset.startswith("this_"):
        return start, today
    return start - timedelta(days=7), start - timedelta(days=1)


def _calendar(preset: str, today: date) -> Bucket:
    if preset == "this_month":
        return today.replace(day=1), today
    if preset == "last_month":
        end = today.replace(day=1) - timedelta(days=1)
        return end.replace(day=1), end
    if preset == "this_year":
        return date(today.year, 1, 1), today
    if preset == "last_year":
        return date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)
    quarter_start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    if preset == "this_quarter":
        return quarter_start, today
    end = quarter_start - timedelta(days=1)
    return months_back(quarter_start, 3), end


def months_back(day: date, months: int) -> date:
    """The same day of the month ``months`` earlier (clamped to the month's length)."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    first = date(year, month + 1, 1)
    return min(first + timedelta(days=day.day - 1), _month_end(first))


def _month_end(day: date) -> date:
    following = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return following - timedelta(days=1)
