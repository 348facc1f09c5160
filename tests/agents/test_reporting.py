"""The marketer's report over the sandbox: rows per level add up to the sandbox's totals,
pacing and the previous period follow from its figures, attribution is named, accounts keep
their currencies apart, and nothing is advised on too little data."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from meta_agent.agents.insights import InsightsAgent, InsightsParams
from meta_agent.agents.report import (
    Context,
    Metrics,
    ReportThresholds,
    data_note,
    recommend,
    summarize,
)
from meta_agent.agents.reporting.accounts import accounts_report
from meta_agent.agents.reporting.builder import MarketerReport, marketer_report
from meta_agent.agents.reporting.levels import object_level
from meta_agent.agents.reporting.pacing import Budget, pace
from meta_agent.agents.reporting.periods import previous_span
from meta_agent.errors import NotFoundError, RequestValidationError
from meta_agent.graph.client import GraphClient
from meta_agent.graph.services import AdSetUpdate, CampaignCreate
from meta_agent.graph.values import Money
from meta_agent.sandbox import ManualClock
from tests.agents.test_insights import launch, today
from tests.conftest import INR_ACCOUNT, USD_ACCOUNT

ADDITIVE = ("spend_major", "impressions", "clicks", "link_clicks", "results")


def assert_adds_up(parts: list[Metrics], total: Metrics) -> None:
    """Every additive counter of ``parts`` sums to ``total``'s."""
    for name in ADDITIVE:
        assert sum(Decimal(getattr(m, name)) for m in parts) == Decimal(getattr(total, name)), name


async def _report(graph: GraphClient, clock: ManualClock, **options: object) -> MarketerReport:
    launched = await launch(graph, clock, budgets=(50_000, 30_000), ads_per_adset=2)
    return await marketer_report(
        InsightsAgent(graph), launched.campaign, "campaign", date_preset="last_7d", **options
    )


async def test_rows_per_level_add_up_to_the_campaigns_totals(
    graph_client: GraphClient, clock: ManualClock
) -> None:
    """Ad sets, ads, creatives and placements each sum to the campaign's own totals."""
    report = await _report(graph_client, clock)
    assert report.summary.impressions > 0
    assert set(report.rows) == {"adset", "ad", "creative"}
    assert len(report.rows["adset"]) == 2
    assert len(report.rows["ad"]) == 4
    for level in ("adset", "ad", "creative"):
        assert_adds_up([row.metrics for row in report.rows[level]], report.summary)
    assert_adds_up([s.metrics for s in report.placements], report.summary)
    assert all(
        set(s.values) == {"publisher_platform", "platform_position"} for s in report.placements
    )
    creative = report.rows["creative"][0]
    assert creative.thumbnail_url
    assert creative.name == "Roast"
    # One result action for every row, so results add up too.
    assert {row.metrics.result_action for rows in report.rows.values() for row in rows} == {
        report.summary.result_action
    }


async def test_account_rows_per_campaign_match_the_account(
    graph_client: GraphClient, clock: ManualClock
) -> None:
    """An account's report has a row per campaign; together they are the account's totals."""
    await launch(graph_client, clock)
    report = await marketer_report(
        InsightsAgent(graph_client), INR_ACCOUNT, "account", date_preset="last_7d"
    )
    assert set(report.rows) == {"campaign", "adset", "ad", "creative"}
    assert_adds_up([row.metrics for row in report.rows["campaign"]], report.summary)
    assert report.pacing is None


async def test_pacing_of_a_daily_budget_comes_from_the_sandboxs_spend(
    graph_client: GraphClient, clock: ManualClock
) -> None:
    """Two ad set budgets (500 + 300 INR a day) over seven days: 5,600 INR expected."""
    report = await _report(graph_client, clock)
    pacing = report.pacing
    assert pacing is not None
    assert pacing.budget.kind == "daily"
    assert pacing.budget.amount == Money(amount_minor=80_000, currency="INR")
    assert pacing.period_days == 7
    assert pacing.expected == Money(amount_minor=560_000, currency="INR")
    assert pacing.spent.major == report.summary.spend_major
    assert pacing.share == report.summary.spend_major / Decimal(5600)
    assert pacing.projected is None  # no end date: no end to project to


def test_pacing_of_a_lifetime_budget_projects_to_the_schedules_end() -> None:
    """10 of 30 days gone, 3,000 of 9,000 spent (300 a day): on track, 9,000 projected."""
    budget = Budget(
        kind="lifetime",
        amount=Money.from_major(9000, "INR"),
        start=date(2026, 11, 1),
        end=date(2026, 11, 30),
    )
    pacing = pace(
        budget,
        spent_major=Decimal(2100),
        schedule_spent_major=Decimal(3000),
        since=date(2026, 11, 4),
        until=date(2026, 11, 10),
    )
    assert pacing.expected == Money.from_major(3000, "INR")
    assert pacing.share == 1
    assert pacing.status == "on_track"
    assert pacing.days_left == 20
    assert pacing.daily_average == Money.from_major(300, "INR")
    assert pacing.projected == Money.from_major(9000, "INR")


async def test_previous_period_is_the_same_length_just_before(
    graph_client: GraphClient, clock: ManualClock
) -> None:
    """Three days against the three before: the sandbox's own figures, and their change."""
    launched = await launch(graph_client, clock)
    agent = InsightsAgent(graph_client)
    end = today(clock) - timedelta(days=1)
    span = {"since": end - timedelta(days=2), "until": end}
    report = await marketer_report(agent, launched.campaign, "campaign", time_range=span)
    assert report.previous is not None
    first, last = previous_span(span["since"], span["until"])
    assert (
        (report.previous.since, report.previous.until)
        == (first, last)
        == (
            end - timedelta(days=5),
            end - timedelta(days=3),
        )
    )
    rows = await agent.get_insights(
        InsightsParams(
            level="campaign",
            object_id=launched.campaign,
            time_range={"since": first, "until": last},  # type: ignore[arg-type]
            fields=("spend", "impressions", "clicks"),
        )
    )
    before = summarize(rows, "INR")
    assert before.spend_major > 0
    assert report.previous.metrics.spend_major == before.spend_major
    spend = next(c for c in report.previous.changes if c.figure == "spend_major")
    assert spend.change == report.summary.spend_major - before.spend_major
    assert spend.percent == spend.change * 100 / before.spend_major


async def test_attribution_is_named_and_retired_windows_are_said(
    graph_client: GraphClient, clock: ManualClock
) -> None:
    """The ad sets' setting on every row; 7d_view, retired by Meta, is listed as dropped."""
    report = await _report(graph_client, clock, attribution_windows=("1d_click", "7d_view"))
    assert report.attribution.setting == "7d_click_1d_view"
    assert report.attribution.windows == ["1d_click"]
    assert report.attribution.dropped == ["7d_view"]
    clicks = report.summary.windows["1d_click"]
    assert (
        sum(row.metrics.windows["1d_click"]["link_click"] for row in report.rows["ad"])
        == (clicks["link_click"])
    )
    assert all(row.attribution_setting == "7d_click_1d_view" for row in report.rows["adset"])


async def test_zero_delivery_is_said_in_words_with_no_advice(graph_client: GraphClient) -> None:
    """A campaign that never delivered: a note saying so, no rows, no recommendation."""
    created = await graph_client.campaigns.create(
        INR_ACCOUNT,
        CampaignCreate(
            name="Idle", objective="OUTCOME_TRAFFIC", is_adset_budget_sharing_enabled=False
        ),
    )
    assert created.id is not None
    report = await marketer_report(
        InsightsAgent(graph_client), created.id, "campaign", date_preset="last_7d"
    )
    assert report.note is not None
    assert report.note.startswith("No delivery in this period")
    assert report.recommendations == []
    assert report.rows == {}


def test_too_little_data_gives_no_advice_but_says_why() -> None:
    """500 impressions and spend without results: no rule fires; the note gives the numbers."""
    few = Metrics(currency="INR", impressions=500, clicks=0, spend_major=Decimal(900))
    context = Context(days=7, daily_budget=Money(amount_minor=10_000, currency="INR"))
    assert recommend(few, context) == []
    note = data_note(few, ReportThresholds())
    assert note is not None
    assert "500 impressions, under the 1000" in note


async def test_the_level_of_an_object_is_asked_of_meta(
    graph_client: GraphClient, clock: ManualClock
) -> None:
    """A campaign, an ad set and an ad are told apart; an unknown id is not found."""
    launched = await launch(graph_client, clock)
    adset = launched.adsets[0]
    assert await object_level(graph_client, INR_ACCOUNT) == "account"
    assert await object_level(graph_client, launched.campaign) == "campaign"
    assert await object_level(graph_client, adset) == "adset"
    assert await object_level(graph_client, launched.ads[adset][0]) == "ad"
    with pytest.raises(NotFoundError):
        await object_level(graph_client, "120219999999999999")


async def test_accounts_keep_their_currencies_apart(
    graph_client: GraphClient, clock: ManualClock
) -> None:
    """Every account the token reaches, one total per currency, a converted total on request."""
    await launch(graph_client, clock)
    agent = InsightsAgent(graph_client)
    dates = {"date_preset": "last_7d"}
    report = await accounts_report(agent, None, dates=dates)
    assert report.until == today(clock) - timedelta(days=1)
    ids = {item.account_id for item in report.accounts}
    assert {INR_ACCOUNT, USD_ACCOUNT} <= ids
    inr = next(item for item in report.accounts if item.account_id == INR_ACCOUNT)
    assert inr.metrics.spend_major > 0
    totals = {group.currency: group for group in report.currencies}
    assert {"INR", "USD"} <= set(totals)
    in_inr = [a.metrics for a in report.accounts if a.currency == "INR"]
    assert_adds_up(in_inr, totals["INR"].metrics)
    with pytest.raises(RequestValidationError) as refused:
        await accounts_report(agent, None, dates=dates, convert_to="INR")
    assert refused.value.field == "rates"
    assert "USD=" in refused.value.message
    rates = {c: Decimal("83.5") for c in totals if c != "INR"}
    converted = await accounts_report(agent, None, dates=dates, convert_to="INR", rates=rates)
    assert converted.converted is not None
    expected = sum(
        (g.metrics.spend_major * (1 if g.currency == "INR" else Decimal("83.5")))
        for g in converted.currencies
    )
    assert converted.converted.spend == Money.from_major(expected, "INR")
    assert converted.converted.rates == rates


async def test_pacing_of_a_lifetime_budget_from_the_sandbox(
    graph_client: GraphClient, clock: ManualClock
) -> None:
    """A 30-day, 21,000 INR lifetime ad set, a week in: the expected share of the budget and
    the projection to its end follow from the sandbox's own spend."""
    start = datetime.fromtimestamp(clock.now(), UTC)
    launched = await launch(graph_client, clock, budgets=(50_000,))
    adset = launched.adsets[0]
    await graph_client.adsets.update(
        adset,
        AdSetUpdate(
            daily_budget=0,
            lifetime_budget=2_100_000,
            start_time=start,
            end_time=start + timedelta(days=30),
        ),
    )
    agent = InsightsAgent(graph_client)
    report = await marketer_report(agent, adset, "adset", date_preset="last_7d")
    pacing = report.pacing
    assert pacing is not None
    assert pacing.budget.kind == "lifetime"
    assert pacing.budget.amount == Money.from_major(21_000, "INR")
    assert pacing.budget.start is not None
    assert pacing.budget.end is not None
    assert report.until is not None
    assert report.since is not None
    total = (pacing.budget.end - pacing.budget.start).days + 1
    elapsed = (report.until - pacing.budget.start).days + 1
    expected = Decimal(21_000) * elapsed / total
    assert pacing.expected == Money.from_major(expected, "INR")
    assert pacing.share == pacing.schedule_spent.major / expected
    span = {"since": pacing.budget.start, "until": report.until}
    rows = await agent.get_insights(
        InsightsParams.build(object_id=adset, level="adset", fields=("spend",), time_range=span)
    )
    assert pacing.schedule_spent.major == sum((r.spend or Decimal(0) for r in rows), Decimal(0))
    days_left = (pacing.budget.end - report.until).days
    assert pacing.days_left == days_left
    average = report.summary.spend_major / 7
    projected = pacing.schedule_spent.major + average * days_left
    assert pacing.projected == Money.from_major(projected, "INR")
