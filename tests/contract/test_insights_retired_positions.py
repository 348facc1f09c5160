"""Placement rows stop at the placements Meta retired (§13.2, rules/changes.py's calendar).

From 2026-10-27 (the day v26's removals reach every version) ad sets with automatic
placements deliver nothing to the Instagram Explore feed or Messenger stories: a report
that starts on or after that day has no row for them, a daily report spanning the day shows
them at zero from it, and every day's rows still add up to that day's total. Days before
are as they were.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

from meta_agent.sandbox import Sandbox
from meta_agent.sandbox.synth import Segment, without_retired
from tests.conftest import Graph
from tests.contract.test_insights import METRICS, rows, seed_tree, total

BREAKDOWNS = "publisher_platform,platform_position"
RETIRED = {"instagram_explore", "messenger_stories"}
REMOVED_ON = date(2026, 10, 27)


def window(since: str, until: str) -> str:
    """A ``time_range``."""
    return json.dumps({"since": since, "until": until})


def positions(found: list[dict[str, Any]]) -> set[str]:
    """The positions the rows name."""
    return {row["platform_position"] for row in found}


async def test_before_the_removal_every_automatic_position_delivers(
    graph: Graph, sandbox: Sandbox
) -> None:
    """A window ending the day before has Explore and Messenger story rows with impressions."""
    ids = seed_tree(sandbox, age_days=40)
    found = await rows(
        graph,
        ids["adset"],
        fields=METRICS,
        breakdowns=BREAKDOWNS,
        time_range=window("2026-10-12", "2026-10-26"),
    )
    by_position = {row["platform_position"]: row for row in found}
    assert set(by_position) >= RETIRED
    assert all(int(by_position[name]["impressions"]) > 0 for name in RETIRED)


async def test_from_the_removal_the_rows_are_gone_and_totals_hold(
    graph: Graph, sandbox: Sandbox
) -> None:
    """From the removal day: no retired rows; impressions, clicks, spend and reach still sum."""
    ids = seed_tree(sandbox, age_days=40)
    after = window("2026-10-27", "2026-11-10")
    whole = await rows(graph, ids["adset"], fields=METRICS, time_range=after)
    found = await rows(graph, ids["adset"], fields=METRICS, breakdowns=BREAKDOWNS, time_range=after)
    assert not positions(found) & RETIRED
    assert {"instagram_stories", "messenger_inbox", "feed"} <= positions(found)
    for name in ("impressions", "clicks", "spend", "reach"):
        assert total(found, name) == Decimal(whole[0][name]), name


async def test_a_daily_report_across_the_removal(graph: Graph, sandbox: Sandbox) -> None:
    """Retired positions deliver until the day before, nothing from the day; days still sum."""
    ids = seed_tree(sandbox, age_days=40)
    span = window("2026-10-24", "2026-10-30")
    daily = await rows(graph, ids["adset"], fields=METRICS, time_range=span, time_increment="1")
    found = await rows(
        graph,
        ids["adset"],
        fields=METRICS,
        breakdowns=BREAKDOWNS,
        time_range=span,
        time_increment="1",
    )
    for day in daily:
        same_day = [row for row in found if row["date_start"] == day["date_start"]]
        for name in ("impressions", "clicks", "spend"):
            assert total(same_day, name) == Decimal(day[name]), (day["date_start"], name)
        retired = [row for row in same_day if row["platform_position"] in RETIRED]
        delivered = total(retired, "impressions")
        if date.fromisoformat(day["date_start"]) < REMOVED_ON:
            assert delivered > 0, day["date_start"]
        else:
            assert delivered == 0, day["date_start"]


async def test_days_before_the_removal_are_unchanged(graph: Graph, sandbox: Sandbox) -> None:
    """A pre-removal day reads the same whether or not the report runs past the removal."""
    ids = seed_tree(sandbox, age_days=40)
    params: dict[str, Any] = {"fields": METRICS, "breakdowns": BREAKDOWNS, "time_increment": "1"}
    short = await rows(graph, ids["adset"], time_range=window("2026-10-25", "2026-10-26"), **params)
    long = await rows(graph, ids["adset"], time_range=window("2026-10-25", "2026-10-28"), **params)
    assert [row for row in long if row["date_start"] <= "2026-10-26"] == short


def test_segments_lose_only_the_retired_shares_from_the_day() -> None:
    """The model's pure step: before the day the list is untouched, from it retired get zero."""
    dims = ("publisher_platform", "platform_position")
    segments = [
        Segment(("instagram", "instagram_explore"), ("1", "3"), 0.05, 0.9, 1.0),
        Segment(("instagram", "instagram_stories"), ("1", "1"), 0.3, 0.7, 0.9),
        Segment(("messenger", "messenger_stories"), ("3", "1"), 0.4, 0.8, 0.9),
    ]
    assert without_retired(segments, dims, date(2026, 10, 26)) == segments
    shares = [s.share for s in without_retired(segments, dims, REMOVED_ON)]
    assert shares == [0.0, 0.3, 0.0]
    assert without_retired(segments, ("age",), REMOVED_ON) == segments
