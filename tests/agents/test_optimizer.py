"""The optimizer: pure plans over hand-made insights, and applying them to the sandbox."""

from __future__ import annotations

from decimal import Decimal

import pytest

from meta_agent.agents.insights import InsightsAgent, InsightsParams
from meta_agent.agents.optimizer import (
    AdSetState,
    AdState,
    CampaignStructure,
    OptimizationPolicy,
    Performance,
    PlannedChange,
    apply_plan,
    load_structure,
    performances,
    plan_optimization,
)
from meta_agent.errors import RequestValidationError
from meta_agent.graph.client import GraphClient
from meta_agent.graph.models import Money
from meta_agent.sandbox import ManualClock
from tests.agents.test_insights import launch, row

POLICY = OptimizationPolicy(min_impressions=1000, min_days=3, max_change_percent=Decimal(20))


def perf(
    object_id: str, spend: str, results: int, impressions: int = 10_000, **more: object
) -> Performance:
    """A performance with enough data by default (10,000 impressions over 7 days)."""
    values: dict[str, object] = {
        "object_id": object_id,
        "impressions": impressions,
        "clicks": impressions // 50,
        "spend": Decimal(spend),
        "results": Decimal(results),
        "days": 7,
        **more,
    }
    return Performance.model_validate(values)


def abo(*budgets: int, ads: int = 1) -> CampaignStructure:
    """An INR campaign with one ad set per budget (ABO), ``ads`` active ads each."""
    adsets = [
        AdSetState(
            id=f"s{index}",
            daily_budget=budget,
            ads=[AdState(id=f"s{index}a{n}") for n in range(ads)],
        )
        for index, budget in enumerate(budgets)
    ]
    return CampaignStructure(id="c1", currency="INR", adsets=adsets)


def budget_total(changes: list[PlannedChange], side: str) -> int:
    """Sum of the ``before`` or ``after`` budgets of the changes."""
    return sum(getattr(change, side).amount_minor for change in changes)


def test_budget_moves_from_worst_to_best_conserved_and_capped() -> None:
    """The cheapest-per-result ad set gains what the dearest loses, capped at 20% of the smaller."""
    structure = abo(50_000, 30_000, 20_000)
    adsets = {
        "s0": perf("s0", "1000", 10),  # 100 per result: worst
        "s1": perf("s1", "1000", 40),  # 25 per result: best
        "s2": perf("s2", "1000", 20),  # 50: middle, untouched
    }
    plan = plan_optimization(structure, adsets, {}, POLICY)
    shifts = [c for c in plan.changes if c.kind == "shift_budget"]
    assert [(c.object_id, c.before, c.after) for c in shifts] == [
        (
            "s0",
            Money(amount_minor=50_000, currency="INR"),
            Money(amount_minor=44_000, currency="INR"),
        ),
        (
            "s1",
            Money(amount_minor=30_000, currency="INR"),
            Money(amount_minor=36_000, currency="INR"),
        ),
    ]
    assert budget_total(shifts, "before") == budget_total(shifts, "after")
    for change in shifts:
        assert change.before is not None
        assert change.after is not None
        moved = abs(change.after.amount_minor - change.before.amount_minor)
        assert moved <= change.before.amount_minor * 20 // 100
    assert "25.0000" in shifts[0].rationale
    assert "100.0000" in shifts[0].rationale
    assert "60.00 INR" in shifts[0].rationale
    assert "20%" in shifts[0].rationale


def test_four_ad_sets_shift_in_pairs_and_the_sum_is_kept() -> None:
    """Best pairs with worst, second with third; every budget changes once; the sum is kept."""
    structure = abo(40_000, 40_000, 40_000, 40_000)
    adsets = {f"s{i}": perf(f"s{i}", "1000", results) for i, results in enumerate((5, 50, 20, 10))}
    plan = plan_optimization(structure, adsets, {}, POLICY)
    after = {c.object_id: c.after.amount_minor for c in plan.changes if c.after is not None}
    assert after == {"s0": 32_000, "s1": 48_000, "s3": 32_000, "s2": 48_000}
    assert sum(after.values()) == 4 * 40_000


def test_ranking_by_roas_prefers_revenue() -> None:
    """Ranked by ROAS, the ad set earning more per rupee gains budget."""
    policy = POLICY.model_copy(update={"rank_by": "roas"})
    adsets = {
        "s0": perf("s0", "1000", 10, revenue=Decimal(5000)),
        "s1": perf("s1", "1000", 10, revenue=Decimal(1500)),
    }
    plan = plan_optimization(abo(30_000, 30_000), adsets, {}, policy)
    gains = [
        c.object_id
        for c in plan.changes
        if c.after and c.before and c.after.amount_minor > c.before.amount_minor
    ]
    assert gains == ["s0"]
    assert "roas 5.0000" in plan.changes[0].rationale


def test_too_little_data_changes_nothing_and_says_why() -> None:
    """Below the minimums the plan is empty and its note gives the numbers that fell short."""
    adsets = {
        "s0": perf("s0", "10", 0, impressions=300, days=1),
        "s1": perf("s1", "10", 1, impressions=400, days=2),
    }
    plan = plan_optimization(abo(50_000, 30_000, ads=2), adsets, {}, POLICY)
    assert plan.changes == []
    assert plan.notes == [
        "campaign c1: not enough data to act (700 impressions < 1000, 2 days of data < 3); "
        "nothing changed"
    ]


def test_one_ad_set_short_of_data_keeps_its_budget() -> None:
    """An ad set under the minimums is neither ranked nor touched; the note says why."""
    adsets = {"s0": perf("s0", "1000", 10), "s1": perf("s1", "100", 4, impressions=900)}
    plan = plan_optimization(abo(50_000, 30_000), adsets, {}, POLICY)
    assert plan.changes == []
    assert "ad set s1: budget left alone, not enough data (900 impressions < 1000)" in plan.notes


def test_pauses_bad_ads_but_never_the_last_active_one() -> None:
    """Two failing ads in one ad set: the worse is paused, the other kept as the last one."""
    policy = POLICY.model_copy(update={"pause_cost_per_result_above": Decimal(80)})
    structure = abo(50_000, ads=2)
    ads = {"s0a0": perf("s0a0", "900", 10), "s0a1": perf("s0a1", "900", 0)}
    plan = plan_optimization(structure, {"s0": perf("s0", "1800", 10)}, ads, policy)
    assert [(c.object_id, c.kind) for c in plan.changes] == [("s0a1", "pause_ad")]
    assert "spent 900.00 INR with no results" in plan.changes[0].rationale
    assert any("s0a0" in note and "last active ad in ad set s0" in note for note in plan.notes)


def test_pauses_by_ctr_only_with_enough_data_of_the_ads_own() -> None:
    """A low-CTR ad with enough data is paused; one with too little data is kept, noted."""
    policy = POLICY.model_copy(update={"pause_ctr_below": Decimal("1.0")})
    structure = abo(50_000, ads=3)
    ads = {
        "s0a0": perf("s0a0", "300", 5),  # CTR 2%
        "s0a1": perf("s0a1", "300", 5, clicks=40),  # CTR 0.4%
        "s0a2": perf("s0a2", "30", 1, impressions=500, clicks=1),  # CTR 0.2% but 500 impressions
    }
    plan = plan_optimization(structure, {"s0": perf("s0", "630", 11)}, ads, policy)
    assert [c.object_id for c in plan.changes] == ["s0a1"]
    assert "CTR 0.40% (40 clicks / 10000 impressions) < 1.0%" in plan.changes[0].rationale
    assert any(note.startswith("ad s0a2: kept despite CTR 0.20%") for note in plan.notes)


def test_campaign_budget_is_not_shifted_but_can_follow_a_target() -> None:
    """CBO: no ad-set shifts; under the target cost per result the campaign budget rises 20%."""
    structure = CampaignStructure(
        id="c1",
        currency="INR",
        daily_budget=100_000,
        adsets=[AdSetState(id="s0"), AdSetState(id="s1")],
    )
    adsets = {"s0": perf("s0", "1000", 10), "s1": perf("s1", "1000", 40)}
    plain = plan_optimization(structure, adsets, {}, POLICY)
    assert plain.changes == []
    assert "budget is on the campaign (CBO): not shifted between ad sets" in plain.notes
    targeted = plan_optimization(
        structure, adsets, {}, POLICY.model_copy(update={"target_cost_per_result": Decimal(60)})
    )
    [change] = targeted.changes
    assert (change.object_id, change.kind, change.level) == ("c1", "increase_budget", "campaign")
    assert change.after == Money(amount_minor=120_000, currency="INR")
    assert "cost per result 40.0000 vs target 60.0000" in change.rationale


def test_performances_from_daily_rows_count_delivering_days() -> None:
    """Daily rows group per object; days are the distinct days with impressions."""
    rows = [
        row("2026-11-01", adset_id="s0", impressions="100", clicks="2", spend="5"),
        row("2026-11-02", adset_id="s0", impressions="0", spend="0"),
        row("2026-11-03", adset_id="s0", impressions="300", clicks="4", spend="7.5"),
        row("2026-11-03", adset_id="s1", impressions="50", spend="1"),
    ]
    found = performances(rows, "adset_id", "INR")
    assert found["s0"].days == 2
    assert found["s0"].impressions == 400
    assert found["s0"].spend == Decimal("12.5")
    assert found["s1"].days == 1


async def test_apply_refuses_a_shift_aimed_at_a_campaign(graph_client: GraphClient) -> None:
    """A shift_budget on a campaign (CBO) is refused before any write."""
    change = PlannedChange(
        object_id="c1",
        level="campaign",
        kind="shift_budget",
        before=Money(amount_minor=1, currency="INR"),
        after=Money(amount_minor=2, currency="INR"),
        rationale="x",
    )
    with pytest.raises(RequestValidationError) as caught:
        await apply_plan(graph_client, [change])
    assert caught.value.field == "changes.level"


# -- against the sandbox --------------------------------------------------------------------------


async def test_plan_from_sandbox_insights_and_validate_only_changes_nothing(
    graph_client: GraphClient, clock: ManualClock
) -> None:
    """A plan from a week of sandbox delivery; validate_only writes nothing, a real apply does."""
    launched = await launch(graph_client, clock, budgets=(50_000, 30_000), ads_per_adset=2)
    structure = await load_structure(graph_client, launched.campaign)
    assert sorted(a.daily_budget or 0 for a in structure.adsets) == [30_000, 50_000]
    agent = InsightsAgent(graph_client)
    fields = ("adset_id", "ad_id", "impressions", "clicks", "spend", "actions")
    base = {
        "object_id": launched.campaign,
        "date_preset": "maximum",
        "fields": fields,
        "time_increment": 1,
    }
    adset_rows = await agent.get_insights(InsightsParams.build(level="adset", **base))
    ad_rows = await agent.get_insights(InsightsParams.build(level="ad", **base))
    policy = OptimizationPolicy(rank_by="cpc", pause_ctr_below=Decimal(100))
    plan = plan_optimization(
        structure,
        performances(adset_rows, "adset_id", "INR"),
        performances(ad_rows, "ad_id", "INR"),
        policy,
    )
    shifts = [c for c in plan.changes if c.kind == "shift_budget"]
    pauses = [c for c in plan.changes if c.kind == "pause_ad"]
    assert len(shifts) == 2
    assert budget_total(shifts, "before") == budget_total(shifts, "after") == 80_000
    assert len(pauses) == 2  # every ad fails CTR < 100%, one per ad set survives

    checked = await apply_plan(graph_client, plan.changes, validate_only=True)
    assert {item.status for item in checked} == {"validated"}
    assert await load_structure(graph_client, launched.campaign) == structure

    applied = await apply_plan(graph_client, plan.changes)
    assert {item.status for item in applied} == {"applied"}
    assert [item.change.lowers_spend for item in applied] == [True, True, True, False]
    after = await load_structure(graph_client, launched.campaign)
    budgets = {a.id: a.daily_budget for a in after.adsets}
    assert budgets == {c.object_id: c.after.amount_minor for c in shifts if c.after}
    assert [sum(ad.status == "ACTIVE" for ad in a.ads) for a in after.adsets] == [1, 1]
