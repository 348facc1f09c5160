"""A sales campaign's report: revenue and ROAS are the sandbox's own purchase values."""

from __future__ import annotations

from decimal import Decimal

from meta_agent.agents.insights import InsightsAgent
from meta_agent.agents.reporting.builder import marketer_report
from meta_agent.graph.client import GraphClient
from meta_agent.graph.services import AdCreate, AdSetCreate, CampaignCreate
from meta_agent.graph.services.ads import CreativeRef
from meta_agent.sandbox import ManualClock
from meta_agent.sandbox.state import PIXEL_ID
from tests.agents.test_insights import TARGETING, WEEK, image_creative
from tests.conftest import INR_ACCOUNT


async def _sales_campaign(graph: GraphClient, clock: ManualClock) -> str:
    """A purchase-optimised campaign with one ad, active for a week of sandbox time."""
    spec = CampaignCreate(
        name="Beans sale", objective="OUTCOME_SALES", is_adset_budget_sharing_enabled=False
    )
    campaign = (await graph.campaigns.create(INR_ACCOUNT, spec)).id
    assert campaign is not None
    creative = await image_creative(
        graph, "Sale", "https://example.com/beans", "Whole beans, 20% off"
    )
    adset = await graph.adsets.create(
        INR_ACCOUNT,
        AdSetCreate(
            name="Buyers",
            campaign_id=campaign,
            billing_event="IMPRESSIONS",
            optimization_goal="OFFSITE_CONVERSIONS",
            destination_type="WEBSITE",
            promoted_object={"pixel_id": PIXEL_ID, "custom_event_type": "PURCHASE"},
            bid_amount=1_500,
            daily_budget=200_000,
            targeting=TARGETING,
        ),
    )
    assert adset.id is not None
    ad = await graph.ads.create(
        INR_ACCOUNT,
        AdCreate(name="Sale ad", adset_id=adset.id, creative=CreativeRef(creative_id=creative)),
    )
    assert ad.id is not None
    await graph.ads.activate(ad.id)
    await graph.adsets.activate(adset.id)
    await graph.campaigns.activate(campaign)
    clock.advance(WEEK)
    return campaign


async def test_revenue_and_roas_are_the_sandboxs_purchase_values(
    graph_client: GraphClient, clock: ManualClock
) -> None:
    campaign = await _sales_campaign(graph_client, clock)
    report = await marketer_report(
        InsightsAgent(graph_client), campaign, "campaign", date_preset="last_7d"
    )
    summary = report.summary
    body = await graph_client.get(
        f"{campaign}/insights",
        {"fields": "spend,actions,action_values", "date_preset": "last_7d"},
    )
    (row,) = body["data"]
    purchases = {a["action_type"]: Decimal(a["value"]) for a in row["action_values"]}
    assert summary.result_action is not None
    assert "purchase" in summary.result_action
    assert summary.revenue == purchases[summary.result_action]
    assert summary.revenue > 0
    assert summary.spend_major == Decimal(row["spend"])
    assert summary.roas is not None
    assert abs(summary.roas - summary.revenue / summary.spend_major) < Decimal("0.01")
    # Every ad set row carries the same result action, so their revenue adds up to the total.
    assert sum(r.metrics.revenue or 0 for r in report.rows["adset"]) == summary.revenue
