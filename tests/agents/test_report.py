"""The report's arithmetic and its recommendation rules, on hand-made figures."""

from __future__ import annotations

from decimal import Decimal

from meta_agent.agents.report import (
    Context,
    Metrics,
    daily_series,
    display,
    ratio,
    recommend,
    segments,
    summarize,
)
from meta_agent.graph.models import Money
from tests.agents.test_insights import row


def metrics(**values: object) -> Metrics:
    """INR metrics with healthy defaults, overridden by ``values``."""
    base: dict[str, object] = {
        "currency": "INR",
        "impressions": 10_000,
        "reach": 5_000,
        "clicks": 200,
        "spend_major": Decimal("1000"),
        "results": Decimal(20),
        "result_action": "landing_page_view",
    }
    return Metrics.model_validate({**base, **values})


def codes(found: list[object]) -> list[str]:
    """The codes of the recommendations found."""
    return [getattr(item, "code", "") for item in found]


def test_ratio_and_display() -> None:
    """Ratios are exact Decimals (None on zero); only display rounds, half up."""
    assert ratio(1, 3, 100) == Decimal(100) / 3
    assert ratio(5, 0) is None
    assert ratio(None, 4) is None
    assert display(Decimal("1.005")) == "1.01"
    assert display(None) == "-"


def test_mean_of_daily_ctrs_is_not_the_ctr() -> None:
    """Day 1: 10/100 = 10%, day 2: 10/1000 = 1%: the mean says 5.5%, the totals 20/1100."""
    rows = [
        row("2026-11-01", impressions="100", clicks="10", spend="5"),
        row("2026-11-02", impressions="1000", clicks="10", spend="20"),
    ]
    total = summarize(rows, "USD")
    assert total.ctr == Decimal(2000) / 1100
    daily = daily_series(rows, lambda group: summarize(group, "USD"))
    mean = sum((p.metrics.ctr or Decimal(0) for p in daily), Decimal(0)) / 2
    assert mean == Decimal("5.5")
    assert display(total.ctr) == "1.82"
    assert total.cpm == Decimal(25) * 1000 / 1100
    assert total.spend == Money(amount_minor=2500, currency="USD")


def test_results_come_from_actions_and_revenue_from_action_values() -> None:
    """The deepest funnel action present is the result; its action_values are the revenue."""
    rows = [
        row(
            "2026-11-01",
            spend="100",
            actions=[
                {"action_type": "link_click", "value": "40"},
                {"action_type": "purchase", "value": "2"},
            ],
            action_values=[{"action_type": "purchase", "value": "350.50"}],
        ),
        row("2026-11-02", spend="50", actions=[{"action_type": "purchase", "value": "1"}]),
    ]
    total = summarize(rows, "INR")
    assert total.result_action == "purchase"
    assert total.results == 3
    assert total.cost_per_result == 50
    assert total.roas == Decimal("350.50") / 150
    assert summarize(rows, "INR", result_action="link_click").results == 40


def test_segments_group_by_dimension_values_biggest_spend_first() -> None:
    """Breakdown rows group by their dimension values; unknown values are labelled."""
    rows = [
        row("2026-11-01", age="18-24", gender="male", spend="3", impressions="10"),
        row("2026-11-01", age="25-34", gender="female", spend="9", impressions="30"),
        row("2026-11-01", age="25-34", spend="1", impressions="5"),
    ]
    found = segments(rows, ("age", "gender"), lambda group: summarize(group, "USD"))
    assert [s.values for s in found] == [
        {"age": "25-34", "gender": "female"},
        {"age": "18-24", "gender": "male"},
        {"age": "25-34", "gender": "unknown"},
    ]


def test_healthy_figures_raise_nothing() -> None:
    """CTR 2%, frequency 2, results, spend on budget: no recommendation."""
    budget = Money(amount_minor=14_286, currency="INR")
    found = recommend(metrics(), Context(days=7, account=metrics(), daily_budget=budget))
    assert found == []


def test_each_rule_fires_with_its_numbers() -> None:
    """Low CTR, high CPM vs account, fatigue, spend without results and pacing, numbers in text."""
    weak = metrics(clicks=50, reach=2_500, results=Decimal(0), spend_major=Decimal(3000))
    account = metrics(spend_major=Decimal(1000))
    context = Context(
        days=7, account=account, daily_budget=Money(amount_minor=100_000, currency="INR")
    )
    found = recommend(weak, context)
    assert codes(found) == [
        "low_ctr",
        "high_cpm",
        "frequency_fatigue",
        "spend_without_results",
        "underpacing",
    ]
    text = {item.code: item.message for item in found}
    assert "0.50%" in text["low_ctr"]
    assert "50 clicks / 10000 impressions" in text["low_ctr"]
    assert "300.00 INR" in text["high_cpm"]
    assert "3.00x" in text["high_cpm"]
    assert "4.00" in text["frequency_fatigue"]
    assert "3000.00 INR" in text["spend_without_results"]
    assert "7000.00 expected" in text["underpacing"]
    assert "43%" in text["underpacing"]


def test_rules_wait_for_enough_impressions() -> None:
    """Below the minimum impressions, CTR and CPM are not judged."""
    few = metrics(impressions=500, clicks=1, reach=400, spend_major=Decimal(900))
    assert codes(recommend(few, Context(days=1, account=metrics()))) == []


def test_overpacing() -> None:
    """Spend well over budget x days is flagged as overpacing."""
    context = Context(days=2, daily_budget=Money(amount_minor=30_000, currency="INR"))
    assert codes(recommend(metrics(), context)) == ["overpacing"]
