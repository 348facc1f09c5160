"""Every field of the SDK's ``AdsInsights.Field`` is accepted, sync and async; the video
histograms (``video_play_curve_actions``, ``video_play_retention_*``) come back as Meta's
``AdsHistogramStats`` lists for video ads and are left out for the others."""

from __future__ import annotations

from typing import Any

from facebook_business.adobjects.adsinsights import AdsInsights

from meta_agent.sandbox import ManualClock, Sandbox
from tests.conftest import Graph
from tests.contract.test_insights import one, rows, seed_tree, start

SDK_FIELDS = sorted(
    value for name, value in vars(AdsInsights.Field).items() if not name.startswith("_")
)
HISTOGRAMS = {
    "video_play_curve_actions": 22,
    "video_play_retention_0_to_15s_actions": 16,
    "video_play_retention_20_to_60s_actions": 9,
    "video_play_retention_graph_actions": 21,
}


def with_video(sandbox: Sandbox, ad_id: str) -> None:
    """Give the ad a creative that has a video."""
    sandbox.state.add({"kind": "adcreative", "id": "777", "account_id": "1234567890"})
    sandbox.state.objects["777"]["video_id"] = "888"
    sandbox.state.objects[ad_id]["creative_id"] = "777"


def counted(row: dict[str, Any], name: str) -> int:
    """The value of a one-entry action list."""
    return int(row[name][0]["value"])


async def test_every_sdk_field_is_accepted(graph: Graph, sandbox: Sandbox) -> None:
    """All of AdsInsights.Field in one query is a 200 whose keys are all SDK fields."""
    assert len(SDK_FIELDS) > 200
    ids = seed_tree(sandbox, ads=1, objective="OUTCOME_AWARENESS")
    with_video(sandbox, ids["ads"][0])
    row = await one(graph, level="ad", fields=",".join(SDK_FIELDS))
    assert set(row) <= set(SDK_FIELDS)
    assert {"impressions", "spend", "ad_id", *HISTOGRAMS} <= set(row)


async def test_video_histograms_have_meta_shape(graph: Graph, sandbox: Sandbox) -> None:
    """Each histogram is [{action_type: video_view, value: [percent, ...]}], falling from 100."""
    ids = seed_tree(sandbox, ads=1, objective="OUTCOME_AWARENESS")
    with_video(sandbox, ids["ads"][0])
    row = await one(graph, fields=",".join(HISTOGRAMS))
    for name, points in HISTOGRAMS.items():
        (entry,) = row[name]
        assert entry["action_type"] == "video_view"
        values = entry["value"]
        assert len(values) == points, name
        assert all(isinstance(value, int) and 0 <= value <= 100 for value in values)
        assert values == sorted(values, reverse=True), name
    assert row["video_play_curve_actions"][0]["value"][0] == 100


async def test_seconds_watched_fall_with_the_seconds(graph: Graph, sandbox: Sandbox) -> None:
    """Plays reaching 6, 15 and 30 seconds shrink in that order, below all plays."""
    ids = seed_tree(sandbox, ads=1, objective="OUTCOME_AWARENESS")
    with_video(sandbox, ids["ads"][0])
    names = "video_play_actions,video_6_sec_watched_actions,video_15_sec_watched_actions"
    row = await one(graph, fields=f"{names},video_30_sec_watched_actions")
    plays = counted(row, "video_play_actions")
    six, fifteen = (
        counted(row, "video_6_sec_watched_actions"),
        counted(row, "video_15_sec_watched_actions"),
    )
    assert plays > six > fifteen
    assert fifteen >= counted(row, "video_30_sec_watched_actions")


async def test_no_video_no_histograms(graph: Graph, sandbox: Sandbox) -> None:
    """An ad without a video leaves the histogram fields out, as Meta omits empty fields."""
    seed_tree(sandbox, ads=1)
    row = await one(graph, fields="impressions," + ",".join(HISTOGRAMS))
    assert set(row) == {"impressions", "date_start", "date_stop"}


async def test_async_runs_accept_every_field(
    graph: Graph, sandbox: Sandbox, clock: ManualClock
) -> None:
    """A report run with every SDK field completes with the rows a sync query gives."""
    ids = seed_tree(sandbox, ads=2, objective="OUTCOME_AWARENESS")
    with_video(sandbox, ids["ads"][0])
    fields = ",".join(SDK_FIELDS)
    run_id = await start(graph, level="ad", fields=fields)
    expected = await rows(graph, level="ad", fields=fields)
    clock.advance(sandbox.config.report_run_seconds)
    assert await rows(graph, run_id) == expected
