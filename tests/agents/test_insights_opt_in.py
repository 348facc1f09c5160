"""The InsightsAgent and the breakdowns that need an opt-in since 2026-08-03 (reference
§13.1): it sends them as async report runs, which answer on accounts that have not opted
in, where a sync query would silently answer no rows."""

from __future__ import annotations

from datetime import timedelta

from meta_agent.agents.insights import InsightsAgent, InsightsParams
from meta_agent.graph.client import GraphClient
from meta_agent.sandbox import ManualClock, Sandbox
from tests.agents.test_insights import launch, today


async def test_opt_in_breakdowns_go_async_and_answer_rows(
    graph_client: GraphClient, clock: ManualClock, sandbox: Sandbox
) -> None:
    """publisher_platform+impression_device rows arrive through a report run, not sync."""
    launched = await launch(graph_client, clock)
    agent = InsightsAgent(graph_client)
    day = today(clock)
    params = InsightsParams(
        level="campaign",
        object_id=launched.campaign,
        time_range={"since": day - timedelta(7), "until": day - timedelta(1)},
        fields=("impressions", "spend"),
        breakdowns=("publisher_platform", "impression_device"),
    )
    assert agent.uses_async(params)
    found = await agent.get_insights(params)
    assert {row.impression_device for row in found} >= {"iphone", "android_smartphone"}
    assert len(list(sandbox.state.of_kind("report_run"))) == 1
    plain = params.model_copy(update={"breakdowns": ("publisher_platform",)})
    assert not agent.uses_async(plain)
    frequency = InsightsParams.build(
        level="campaign",
        object_id=launched.campaign,
        date_preset="last_7d",
        fields=("impressions", "reach"),
        breakdowns=("frequency_value",),
    )
    assert agent.uses_async(frequency)
    assert sum(int(row.reach or 0) for row in await agent.get_insights(frequency)) > 0
