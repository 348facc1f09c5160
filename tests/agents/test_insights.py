"""The InsightsAgent over the sandbox: params checked before sending, rows sync or async,
a short-lived cache, and a performance report whose arithmetic is done from totals.

``launch`` builds a live structure through the client's services and lets a simulated week
pass, the way ``interfaces/walkthrough.py`` does; ``test_optimizer`` reuses it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from meta_agent.agents.insights import InsightsAgent, InsightsParams, estimate_rows
from meta_agent.agents.report import summarize
from meta_agent.cache.memory import MemoryCache
from meta_agent.errors import RequestValidationError
from meta_agent.graph.client import GraphClient
from meta_agent.graph.models import (
    CallToAction,
    InsightsRow,
    LinkData,
    ObjectStorySpec,
    TargetingSpec,
)
from meta_agent.graph.services import (
    AdCreate,
    AdCreativeCreate,
    AdSetCreate,
    CampaignCreate,
    CreativeRef,
)
from meta_agent.interfaces.walkthrough import solid_png
from meta_agent.sandbox import ManualClock, Sandbox
from tests.conftest import INR_ACCOUNT, PAGE_ID

WEEK = 7 * 86_400
KOLKATA = timedelta(hours=5, minutes=30)
TARGETING = TargetingSpec(
    geo_locations={"countries": ["IN"]},
    age_min=21,
    age_max=45,
    targeting_automation={"advantage_audience": 0},
)


@dataclass
class Launched:
    """Ids of a launched structure: one campaign, its ad sets and their ads."""

    campaign: str
    adsets: list[str] = field(default_factory=list)
    ads: dict[str, list[str]] = field(default_factory=dict)


def today(clock: ManualClock) -> date:
    """The INR account's current date (Asia/Kolkata, no DST)."""
    return (datetime.fromtimestamp(clock.now(), UTC) + KOLKATA).date()


async def image_creative(graph: GraphClient, name: str, link: str, message: str) -> str:
    """A link creative on the INR account showing a freshly uploaded image; its id."""
    image = await graph.images.upload_bytes(INR_ACCOUNT, solid_png(1080, 1080, (201, 111, 47)))
    story = ObjectStorySpec(
        page_id=PAGE_ID,
        link_data=LinkData(
            link=link,
            message=message,
            image_hash=image.hash,
            call_to_action=CallToAction(type="SHOP_NOW"),
        ),
    )
    spec = AdCreativeCreate(name=name, object_story_spec=story)
    creative = (await graph.creatives.create(INR_ACCOUNT, spec)).id
    assert creative is not None
    return creative


async def launch(
    graph: GraphClient,
    clock: ManualClock,
    budgets: tuple[int, ...] = (50_000,),
    ads_per_adset: int = 1,
    campaign_budget: int | None = None,
) -> Launched:
    """Campaign, ad sets (ABO budgets, or one CBO budget) and ads, activated; a week passes."""
    spec = CampaignCreate(
        name="Coffee week",
        objective="OUTCOME_TRAFFIC",
        daily_budget=campaign_budget,
        is_adset_budget_sharing_enabled=None if campaign_budget else False,
    )
    campaign = (await graph.campaigns.create(INR_ACCOUNT, spec)).id
    assert campaign is not None
    creative = await image_creative(graph, "Roast", "https://example.com/coffee", "Fresh roast")
    launched = Launched(campaign)
    for index, budget in enumerate(budgets or (0,)):
        adset_spec = AdSetCreate(
            name=f"Ad set {index}",
            campaign_id=campaign,
            billing_event="IMPRESSIONS",
            optimization_goal="LINK_CLICKS",
            bid_amount=1_500,
            daily_budget=None if campaign_budget else budget,
            targeting=TARGETING,
        )
        adset = (await graph.adsets.create(INR_ACCOUNT, adset_spec)).id
        assert adset is not None
        launched.adsets.append(adset)
        launched.ads[adset] = []
        for number in range(ads_per_adset):
            ad_spec = AdCreate(
                name=f"Ad {index}.{number}",
                adset_id=adset,
                creative=CreativeRef(creative_id=creative),
            )
            ad = (await graph.ads.create(INR_ACCOUNT, ad_spec)).id
            assert ad is not None
            launched.ads[adset].append(ad)
            await graph.ads.activate(ad)
        await graph.adsets.activate(adset)
    await graph.campaigns.activate(campaign)
    clock.advance(WEEK)
    return launched


def row(day: str, **metrics: object) -> InsightsRow:
    """A hand-made insights row for one day, metrics as Meta writes them (strings)."""
    return InsightsRow.model_validate({"date_start": day, "date_stop": day, **metrics})


# -- params ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "where", "hint"),
    [
        ({"fields": ("impresions",)}, "fields", "did you mean 'impressions'"),
        ({"breakdowns": ("age", "publisher_platform")}, "breakdowns", "age+gender"),
        ({"time_increment": 91}, "time_increment", "1-90"),
        ({"action_attribution_windows": ("7d_clik",)}, "action_attribution_windows", "7d_click"),
        ({"date_preset": "last_week"}, "date_preset", "last_7d"),
        ({"time_range": {"since": "2026-02-01", "until": "2026-01-01"}}, "time_range", "swap"),
        ({"date_preset": None}, "date_preset", "exactly one"),
        (
            {
                "breakdowns": ("hourly_stats_aggregated_by_advertiser_time_zone",),
                "fields": ("reach",),
            },
            "fields",
            "hourly",
        ),
    ],
)
def test_params_name_the_field_and_the_fix(data: dict[str, object], where: str, hint: str) -> None:
    """Each invalid query is refused before sending, naming the field and how to fix it."""
    values: dict[str, object] = {"level": "campaign", "object_id": "120", "date_preset": "last_7d"}
    values.update(data)
    if "time_range" in data:
        values.pop("date_preset")
    with pytest.raises(RequestValidationError) as caught:
        InsightsParams.build(**values)
    assert caught.value.field == where
    assert hint in caught.value.message


def test_params_become_the_graph_query() -> None:
    """A valid query maps onto the client's InsightsQuery, dates as a range."""
    params = InsightsParams.build(
        level="adset",
        object_id="act_1",
        time_range={"since": "2026-01-01", "until": "2026-01-31"},
        fields=("spend", "impressions", "spend"),
        breakdowns=("age", "gender"),
        time_increment=1,
    )
    wire = params.query().to_params()
    assert wire["fields"] == "spend,impressions"
    assert wire["time_range"] == {"since": "2026-01-01", "until": "2026-01-31"}
    assert wire["level"] == "adset"
    assert params.days() == 31


def test_size_estimate_picks_async_for_many_days_times_breakdowns() -> None:
    """Many daily buckets x age x gender at ad level goes async; a weekly total stays sync."""
    small = InsightsParams(level="campaign", object_id="120", date_preset="last_7d")
    big = InsightsParams(
        level="ad",
        object_id="act_1",
        date_preset="last_90d",
        time_increment=1,
        breakdowns=("age", "gender"),
    )
    agent = InsightsAgent.__new__(InsightsAgent)
    agent.sync_row_limit = 2000
    assert estimate_rows(small) == 1
    assert estimate_rows(big) == 90 * 18 * 64
    assert not agent.uses_async(small)
    assert agent.uses_async(big)
    assert agent.uses_async(small.model_copy(update={"async_": True}))


# -- rows -----------------------------------------------------------------------------------------


async def test_cache_serves_a_repeat_until_the_ttl_passes(
    graph_client: GraphClient, clock: ManualClock, sandbox: Sandbox
) -> None:
    """A repeated query is answered from the cache (no request); after the TTL it is re-read."""
    launched = await launch(graph_client, clock)
    cache = MemoryCache(now=clock.now)
    agent = InsightsAgent(graph_client, cache, today=lambda: today(clock))
    params = InsightsParams(
        level="campaign",
        object_id=launched.campaign,
        date_preset="today",
        fields=("impressions", "spend", "actions"),
    )
    first = await agent.get_insights(params)
    served = sandbox.counters.total
    again = await agent.get_insights(params)
    assert sandbox.counters.total == served
    assert [r.model_dump() for r in again] == [r.model_dump() for r in first]
    assert first[0].impressions
    clock.advance(301)  # "today" is an open range: five minutes
    await agent.get_insights(params)
    assert sandbox.counters.total == served + 1


async def test_closed_ranges_are_cached_longer(
    graph_client: GraphClient, clock: ManualClock
) -> None:
    """A range that ended yesterday lives an hour in the cache, one reaching today five minutes."""
    agent = InsightsAgent(graph_client, MemoryCache(now=clock.now), today=lambda: today(clock))
    day = today(clock)
    closed = InsightsParams(
        level="account",
        object_id=INR_ACCOUNT,
        time_range={"since": day - timedelta(7), "until": day - timedelta(1)},
    )
    open_ = closed.model_copy(
        update={"time_range": closed.time_range.model_copy(update={"until": day})}
    )  # type: ignore[union-attr]
    assert agent._ttl(closed) == 3600
    assert agent._ttl(open_) == 300


async def test_async_report_returns_the_rows_sync_does(
    graph_client: GraphClient, clock: ManualClock
) -> None:
    """The same closed-range query read through an async report job gives the same rows."""
    launched = await launch(graph_client, clock, budgets=(50_000, 30_000))
    agent = InsightsAgent(graph_client)
    day = today(clock)
    params = InsightsParams(
        level="adset",
        object_id=launched.campaign,
        time_range={"since": day - timedelta(8), "until": day - timedelta(1)},
        time_increment=1,
        fields=("adset_id", "impressions", "clicks", "spend"),
    )
    sync_rows = await agent.get_insights(params)
    async_rows = await agent.get_insights(params.model_copy(update={"async_": True}))
    assert len(sync_rows) >= 12
    key = lambda r: (r.adset_id, r.date_start)  # noqa: E731
    assert sorted((key(r), r.impressions, r.spend) for r in async_rows) == sorted(
        (key(r), r.impressions, r.spend) for r in sync_rows
    )


def test_tracking_keeps_each_campaign_once() -> None:
    """``track`` remembers campaigns in order, without duplicates."""
    agent = InsightsAgent.__new__(InsightsAgent)
    agent._tracked = {}
    agent.track("1")
    agent.track("2")
    agent.track("1")
    assert agent.tracked() == ["1", "2"]


# -- the performance report -----------------------------------------------------------------------


async def test_report_totals_add_up_and_ratios_come_from_totals(
    graph_client: GraphClient, clock: ManualClock
) -> None:
    """Additive totals equal the daily sums; CTR is clicks/impressions of the totals, not a mean."""
    launched = await launch(graph_client, clock)
    agent = InsightsAgent(graph_client)
    report = await agent.performance_report(launched.campaign, "campaign", date_preset="maximum")
    summary, daily = report.summary, report.daily
    assert len(daily) >= 7
    assert summary.impressions == sum(p.metrics.impressions for p in daily) > 0
    assert summary.clicks == sum(p.metrics.clicks for p in daily)
    assert summary.link_clicks == sum(p.metrics.link_clicks for p in daily)
    assert summary.spend_major == sum((p.metrics.spend_major for p in daily), Decimal(0))
    assert summary.spend.amount_minor == sum(p.metrics.spend.amount_minor for p in daily)
    assert summary.spend.currency == "INR"
    assert summary.results == sum((p.metrics.results for p in daily), Decimal(0)) > 0
    # Reach is people, not additive over days: it comes from the undivided query.
    assert summary.reach is not None
    assert summary.reach < sum(p.metrics.reach or 0 for p in daily)
    ours = Decimal(summary.clicks) * 100 / Decimal(summary.impressions)
    mean_of_days = sum((p.metrics.ctr or Decimal(0) for p in daily), Decimal(0)) / len(daily)
    assert summary.ctr == ours
    assert summary.ctr != mean_of_days
    assert summary.cpm == summary.spend_major * 1000 / summary.impressions
    assert summary.cpc == summary.spend_major / summary.clicks
    assert summary.frequency == Decimal(summary.impressions) / summary.reach
    assert sum(s.metrics.impressions for s in report.platforms) == summary.impressions
    assert sum(s.metrics.spend_major for s in report.demographics) == summary.spend_major
    assert {s.values["publisher_platform"] for s in report.platforms} >= {"facebook", "instagram"}
    assert all(set(s.values) == {"age", "gender"} for s in report.demographics)


async def test_report_ctr_matches_metas_own_ratio(
    graph_client: GraphClient, clock: ManualClock
) -> None:
    """Our CTR from totals agrees with the ratio Meta computes on the same undivided row."""
    launched = await launch(graph_client, clock)
    agent = InsightsAgent(graph_client)
    rows = await agent.get_insights(
        InsightsParams(
            level="campaign",
            object_id=launched.campaign,
            date_preset="maximum",
            fields=("impressions", "clicks", "spend", "ctr", "cpm", "account_currency"),
        )
    )
    summary = summarize(rows, "INR")
    assert rows[0].ctr is not None
    assert summary.ctr is not None
    assert abs(summary.ctr - rows[0].ctr) < Decimal("0.000001")


async def test_report_of_a_campaign_that_never_delivered(
    graph_client: GraphClient, sandbox: Sandbox
) -> None:
    """No delivery: empty series, zero totals, ratios None, currency read from the account."""
    created = await graph_client.campaigns.create(
        INR_ACCOUNT,
        CampaignCreate(
            name="Idle", objective="OUTCOME_TRAFFIC", is_adset_budget_sharing_enabled=False
        ),
    )
    assert created.id is not None
    report = await InsightsAgent(graph_client).performance_report(
        created.id, "campaign", date_preset="last_7d"
    )
    assert report.currency == "INR"
    assert report.daily == []
    assert report.summary.impressions == 0
    assert report.summary.ctr is None
    assert report.summary.cpm is None
    assert report.recommendations == []


def test_zero_impression_rows_give_none_not_errors() -> None:
    """Rows with no impressions, clicks or reach: every ratio is None, sums still add up."""
    empty = row("2026-11-01", impressions="0", clicks="0", spend="0", reach="0")
    summary = summarize([empty], "INR")
    assert (summary.ctr, summary.cpc, summary.cpm, summary.frequency) == (None, None, None, None)
    assert summary.cost_per_result is None
    assert summary.spend.amount_minor == 0
    mixed = summarize(
        [empty, row("2026-11-02", impressions="400", clicks="6", spend="12.5")], "INR"
    )
    assert mixed.ctr == Decimal("1.5")
    assert mixed.cpc == Decimal("12.5") / 6
    assert mixed.reach is None  # two days of reach cannot be summed
    assert mixed.frequency is None
