"""The MCP performance_report tool: the level asked of Meta, the marketer's report's parts."""

from __future__ import annotations

from meta_agent.graph.client import GraphClient
from meta_agent.sandbox import ManualClock
from meta_agent.service import MetaAgentService
from tests.agents.test_insights import launch
from tests.interfaces.test_mcp import connected, service, structured, text_of  # noqa: F401


async def test_performance_report_without_a_level(
    service: MetaAgentService,  # noqa: F811
    graph_client: GraphClient,
    clock: ManualClock,
) -> None:
    """A campaign id alone: reported at campaign level, with ad set rows, pacing, the previous
    period, the attribution windows asked for, and the synthetic flag."""
    launched = await launch(graph_client, clock, budgets=(50_000, 30_000))
    async with connected(service) as session:
        result = await session.call_tool(
            "performance_report",
            {
                "object_id": launched.campaign,
                "date_preset": "last_7d",
                "attribution_windows": ["1d_click"],
            },
        )
    assert result.is_error is False, text_of(result)
    body = structured(result)
    assert body["level"] == "campaign"
    assert body["synthetic"] is True
    assert len(body["rows"]["adset"]) == 2
    assert body["pacing"]["budget"]["kind"] == "daily"
    assert body["previous"]["changes"][0]["figure"] == "spend_major"
    assert body["attribution"]["windows"] == ["1d_click"]
