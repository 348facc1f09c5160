"""meta-agent never relies on what apps created after 2026-11-04 may not use (§13.1).

The sandbox runs with ``new_app=True``: multi-id reads, method override, field aliases,
``date_format``, JSONP and async batch requests are refused. A full launch (images, a
campaign, ad sets, creatives and ads in a batch, then activation), an insights read, a
performance report and a client batch all go through meta-agent's own Orchestrator and
GraphClient; every legacy check the sandbox ran is recorded, and none refused a call.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

import meta_agent.sandbox.core as sandbox_core
from meta_agent.errors import ApiError
from meta_agent.graph.client import GraphClient
from meta_agent.orchestrator.orchestrator import Orchestrator
from meta_agent.sandbox import ManualClock, SandboxConfig
from meta_agent.sandbox.errors import GraphError
from meta_agent.sandbox.legacy import refuse_legacy
from meta_agent.sandbox.wire import GraphRequest
from tests.conftest import INR_ACCOUNT
from tests.orchestrator.test_insights_workflows import (
    insights_request,
    launch_and_deliver,
    report_request,
)


@pytest.fixture
def config() -> SandboxConfig:
    """A sandbox that answers as Meta answers an app created after the cut-off."""
    return SandboxConfig(new_app=True)


@pytest.fixture
def refusals(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every legacy check the sandbox makes, recording the ones that refused."""
    refused: list[str] = []
    checked: list[GraphRequest] = []

    def recording(req: GraphRequest) -> None:
        checked.append(req)
        try:
            refuse_legacy(req)
        except GraphError as error:
            refused.append(f"{req.method} {req.path}: {error.message}")
            raise

    monkeypatch.setattr(sandbox_core, "refuse_legacy", recording)
    yield refused
    assert checked, "the switch was on, so every call should have been checked"


async def test_launch_insights_report_and_batch_use_no_legacy_feature(
    orchestrator: Orchestrator,
    graph_client: GraphClient,
    clock: ManualClock,
    refusals: list[str],
) -> None:
    """Launch, a week of delivery, get_insights, performance_report and a batch: none refused.

    The launch itself sends its writes in two batches; the last batch here is a read batch
    from the client directly (writes outside the orchestrator are refused by the gate).
    """
    launched = await launch_and_deliver(orchestrator, clock)
    campaign = launched["campaign"]["id"]
    rows = await orchestrator.execute(
        insights_request(
            level="adset",
            object_id=campaign,
            date_preset="last_7d",
            fields=["adset_id", "impressions", "spend"],
        )
    )
    assert rows.status == "COMPLETED", rows.error
    assert rows.result is not None
    assert sum(Decimal(row["spend"]) for row in rows.result["rows"]) > 0
    report = await orchestrator.execute(
        report_request(object_id=campaign, level="campaign", date_preset="last_7d")
    )
    assert report.status == "COMPLETED", report.error
    batch = graph_client.batch()
    batch.get(campaign, {"fields": "name,status"}, name="campaign")
    batch.get(f"{campaign}/adsets", {"fields": "name", "limit": 10})
    batch.get(f"{INR_ACCOUNT}/insights", {"fields": "spend", "date_preset": "last_7d"})
    results = await batch.execute()
    assert not results.errors()
    assert refusals == []


async def test_the_switch_is_on(graph_client: GraphClient, refusals: list[str]) -> None:
    """The same sandbox refuses a multi-id read, so the test above proves something."""
    with pytest.raises(ApiError):
        await graph_client.get("", {"ids": f"{INR_ACCOUNT},me", "fields": "id"})
    assert len(refusals) == 1
    assert "Multi-id reads" in refusals[0]
