"""Insights: sync rows, breakdowns, dates, filters, paging, errors and async report runs (§9)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from decimal import Decimal
from itertools import count
from typing import Any

import httpx2
import pytest

from meta_agent.sandbox import ManualClock, Sandbox, SandboxConfig, create_app
from tests.conftest import INR_ACCOUNT, USD_ACCOUNT, Graph, error_of
from tests.contract.test_ads import make_ad, tree

DAY = 86_400.0
TODAY_IN_KOLKATA = date(2026, 11, 18)  # the ManualClock's start, in the INR account's zone
TARGETING = {"geo_locations": {"countries": ["IN", "US"]}, "age_min": 21, "age_max": 50}


def seed_tree(
    sandbox: Sandbox,
    *,
    ads: int = 2,
    objective: str = "OUTCOME_SALES",
    status: str = "ACTIVE",
    ad_status: str = "ACTIVE",
    age_days: float = 20,
    account: str = INR_ACCOUNT,
    daily_budget: int | None = 500_000,
    campaign_budget: int | None = None,
    new_id: Callable[[], str] | None = None,
) -> dict[str, Any]:
    """A campaign, an ad set and ``ads`` ads put straight into state, created ``age_days`` ago."""
    make_id = new_id or sandbox.new_id
    created = sandbox.clock.now() - age_days * DAY
    campaign_id = make_id()
    sandbox.state.add(
        {
            "kind": "campaign",
            "id": campaign_id,
            "account_id": account.removeprefix("act_"),
            "name": f"Campaign {campaign_id}",
            "objective": objective,
            "status": status,
            "special_ad_categories": [],
            "daily_budget": campaign_budget,
            "created_time": created,
            "updated_time": created,
        }
    )
    budget = None if campaign_budget else daily_budget
    adset_id, ad_ids = add_adset(sandbox, campaign_id, ads, budget, ad_status, make_id)
    return {"campaign": campaign_id, "adset": adset_id, "ads": ad_ids}


def add_adset(
    sandbox: Sandbox,
    campaign_id: str,
    ads: int = 2,
    daily_budget: int | None = None,
    ad_status: str = "ACTIVE",
    new_id: Callable[[], str] | None = None,
) -> tuple[str, list[str]]:
    """An ad set with ``ads`` ads under a stored campaign, created when the campaign was."""
    make_id = new_id or sandbox.new_id
    campaign = sandbox.state.objects[campaign_id]
    created = campaign["created_time"]
    common = {
        "account_id": campaign["account_id"],
        "created_time": created,
        "updated_time": created,
    }
    adset_id = make_id()
    sandbox.state.add(
        {
            **common,
            "kind": "adset",
            "id": adset_id,
            "campaign_id": campaign_id,
            "name": f"Ad set {adset_id}",
            "status": "ACTIVE",
            "optimization_goal": "LINK_CLICKS",
            "billing_event": "IMPRESSIONS",
            "daily_budget": daily_budget,
            "targeting": TARGETING,
            "start_time": created,
        }
    )
    ad_ids = [make_id() for _ in range(ads)]
    for ad_id in ad_ids:
        sandbox.state.add(
            {
                **common,
                "kind": "ad",
                "id": ad_id,
                "campaign_id": campaign_id,
                "adset_id": adset_id,
                "creative_id": "0",
                "name": f"Ad {ad_id}",
                "status": ad_status,
                "review_until": created,
            }
        )
    return adset_id, ad_ids


async def rows(graph: Graph, path: str = INR_ACCOUNT, **params: Any) -> list[dict[str, Any]]:
    """Every row of a sync insights query (following the cursors)."""
    out: list[dict[str, Any]] = []
    params.setdefault("limit", 500)
    while True:
        response = await graph.get(f"{path}/insights", **params)
        assert response.status_code == 200, response.text
        body = response.json()
        out.extend(body["data"])
        if "next" not in body.get("paging", {}):
            return out
        params["after"] = body["paging"]["cursors"]["after"]


async def one(graph: Graph, path: str = INR_ACCOUNT, **params: Any) -> dict[str, Any]:
    """The single row of a query that must have exactly one."""
    found = await rows(graph, path, **params)
    assert len(found) == 1, found
    return found[0]


def total(found: list[dict[str, Any]], name: str) -> Decimal:
    """The sum of a numeric string column."""
    return sum((Decimal(row.get(name, "0")) for row in found), Decimal(0))


METRICS = "impressions,clicks,spend,reach"


# -- rows and values -----------------------------------------------------------------------------


async def test_metrics_are_strings_and_spend_is_in_major_units(
    graph: Graph, sandbox: Sandbox
) -> None:
    """Every metric is a string; spend is in rupees with at most two decimals, within budget."""
    seed_tree(sandbox)
    row = await one(
        graph,
        fields="account_id,account_currency,impressions,reach,frequency,clicks,spend,cpc,cpm,ctr",
        date_preset="last_7d",
    )
    assert row["account_id"] == "1234567890"
    assert row["account_currency"] == "INR"
    assert all(isinstance(value, str) for value in row.values())
    spend = Decimal(row["spend"])
    assert spend.as_tuple().exponent >= -2  # type: ignore[operator]
    assert 0 < spend <= Decimal(5000 * 7)  # ₹5,000 a day in paise is 500,000
    assert Decimal(row["cpm"]) == pytest.approx(
        spend * 1000 / int(row["impressions"]), rel=Decimal("1e-5")
    )
    assert (row["date_start"], row["date_stop"]) == ("2026-11-11", "2026-11-17")


@pytest.mark.parametrize(
    ("level", "ids"),
    [
        ("ad", {"ad_id", "adset_id", "campaign_id", "ad_name"}),
        ("adset", {"adset_id", "campaign_id", "adset_name"}),
        ("campaign", {"campaign_id", "campaign_name"}),
        ("account", {"account_id", "account_name"}),
    ],
)
async def test_each_level_has_one_row_per_object(
    graph: Graph, sandbox: Sandbox, level: str, ids: set[str]
) -> None:
    """level=ad|adset|campaign|account gives one row per object, with that level's ids."""
    seed_tree(sandbox, ads=3)
    seed_tree(sandbox, ads=1)
    fields = "ad_id,ad_name,adset_id,adset_name,campaign_id,campaign_name,account_id,account_name"
    found = await rows(graph, fields=f"{fields},impressions", level=level)
    expected = {"ad": 4, "adset": 2, "campaign": 2, "account": 1}[level]
    assert len(found) == expected
    for row in found:
        assert ids <= set(row)
        assert set(row) - ids - {"impressions", "date_start", "date_stop"} <= {
            "account_id",
            "account_name",
            "campaign_id",
            "campaign_name",
            "adset_id",
            "adset_name",
        }


async def test_object_edges_default_to_their_own_level(graph: Graph, sandbox: Sandbox) -> None:
    """/{campaign}/insights gives campaign rows, /{ad}/insights the ad's own row."""
    ids = seed_tree(sandbox, ads=2)
    campaign_row = await one(graph, ids["campaign"])
    ad_row = await one(graph, ids["ads"][0])
    assert campaign_row["campaign_id"] == ids["campaign"]
    assert ad_row["ad_id"] == ids["ads"][0]
    assert set(campaign_row) == {"campaign_id", "impressions", "spend", "date_start", "date_stop"}
    per_ad = await rows(graph, ids["adset"], level="ad", fields="spend")
    assert sum(Decimal(r["spend"]) for r in per_ad) == Decimal(campaign_row["spend"])


async def test_account_totals_equal_the_sum_of_campaigns(graph: Graph, sandbox: Sandbox) -> None:
    """The account row's counters and reach are the sums of its campaigns' rows."""
    for _ in range(3):
        seed_tree(sandbox)
    account = await one(graph, fields=METRICS, level="account")
    campaigns = await rows(graph, fields=METRICS, level="campaign")
    assert len(campaigns) == 3
    for name in METRICS.split(","):
        assert total(campaigns, name) == Decimal(account[name]), name


async def test_paused_objects_spend_nothing(graph: Graph, sandbox: Sandbox) -> None:
    """Paused campaigns and ads have no rows; the account total is the active ads' total."""
    seed_tree(sandbox, status="PAUSED")
    live = seed_tree(sandbox, ads=1)
    seed_tree(sandbox, ad_status="PAUSED")
    found = await rows(graph, fields="ad_id,spend", level="ad")
    assert [row["ad_id"] for row in found] == live["ads"]
    account = await one(graph, fields="spend")
    assert account["spend"] == found[0]["spend"]


async def test_ads_created_over_http_start_spending_after_review(
    graph: Graph, sandbox: Sandbox, clock: ManualClock
) -> None:
    """An ACTIVE ad made over HTTP spends from when its review ends; a PAUSED one never does."""
    ids = await tree(graph, sandbox, active=True)
    active = await make_ad(graph, ids["adset"], ids["creative"], status="ACTIVE")
    paused = await make_ad(graph, ids["adset"], ids["creative"], status="PAUSED")
    assert await rows(graph, active, date_preset="today") == []
    clock.advance(3 * DAY)
    found = await rows(
        graph, ids["campaign"], level="ad", fields="ad_id,spend", date_preset="maximum"
    )
    assert [row["ad_id"] for row in found] == [active]
    assert Decimal(found[0]["spend"]) > 0
    assert await rows(graph, paused, date_preset="maximum") == []


async def test_a_missing_metric_is_omitted_not_zero(graph: Graph, sandbox: Sandbox) -> None:
    """A traffic campaign has no purchase values: action_values and purchase_roas are absent."""
    seed_tree(sandbox, objective="OUTCOME_TRAFFIC")
    row = await one(graph, fields="actions,action_values,purchase_roas,video_p25_watched_actions")
    assert "action_values" not in row
    assert "purchase_roas" not in row
    assert "video_p25_watched_actions" not in row
    kinds = {action["action_type"] for action in row["actions"]}
    assert {"link_click", "landing_page_view"} <= kinds
    assert not kinds & {"purchase", "lead"}


async def test_sales_rows_carry_purchases_values_and_roas(graph: Graph, sandbox: Sandbox) -> None:
    """Purchases appear in actions, action_values, cost_per_action_type and purchase_roas."""
    seed_tree(sandbox, age_days=60)
    fields = "spend,actions,action_values,cost_per_action_type,purchase_roas,conversions"
    row = await one(graph, fields=fields, date_preset="last_30d")
    actions = {a["action_type"]: int(a["value"]) for a in row["actions"]}
    values = {a["action_type"]: Decimal(a["value"]) for a in row["action_values"]}
    costs = {a["action_type"]: Decimal(a["value"]) for a in row["cost_per_action_type"]}
    purchases = actions["offsite_conversion.fb_pixel_purchase"]
    assert purchases == actions["omni_purchase"] > 0
    spend = Decimal(row["spend"])
    assert costs["omni_purchase"] == pytest.approx(spend / purchases, rel=Decimal("1e-5"))
    roas = Decimal(row["purchase_roas"][0]["value"])
    assert roas == pytest.approx(values["omni_purchase"] / spend, rel=Decimal("1e-5"))
    assert {c["action_type"] for c in row["conversions"]} >= {"purchase", "add_to_cart"}


async def test_attribution_windows_add_keys_inside_actions(graph: Graph, sandbox: Sandbox) -> None:
    """action_attribution_windows adds 7d_click/1d_view keys; together they make the value."""
    seed_tree(sandbox, age_days=60)
    row = await one(
        graph,
        fields="actions",
        date_preset="last_30d",
        action_attribution_windows='["7d_click","1d_view","28d_click"]',
    )
    purchase = next(a for a in row["actions"] if a["action_type"] == "purchase")
    assert int(purchase["7d_click"]) + int(purchase["1d_view"]) == int(purchase["value"])
    assert int(purchase["28d_click"]) >= int(purchase["7d_click"])
    link = next(a for a in row["actions"] if a["action_type"] == "link_click")
    assert link["7d_click"] == link["value"]


async def test_video_metrics_exist_only_for_video_creatives(graph: Graph, sandbox: Sandbox) -> None:
    """An ad whose creative has a video_id reports video_p25..p100 and thruplays."""
    ids = seed_tree(sandbox, ads=1, objective="OUTCOME_AWARENESS")
    sandbox.state.add({"kind": "adcreative", "id": "777", "account_id": "1234567890"})
    sandbox.state.objects["777"]["video_id"] = "888"
    sandbox.state.objects[ids["ads"][0]]["creative_id"] = "777"
    fields = "video_p25_watched_actions,video_p100_watched_actions,video_thruplay_watched_actions"
    row = await one(graph, fields=fields)
    p25 = int(row["video_p25_watched_actions"][0]["value"])
    p100 = int(row["video_p100_watched_actions"][0]["value"])
    assert p25 > p100 > 0
    assert row["video_thruplay_watched_actions"][0]["action_type"] == "video_view"


# -- determinism -----------------------------------------------------------------------------


async def test_the_same_query_twice_gives_the_same_rows(graph: Graph, sandbox: Sandbox) -> None:
    """Synthetic data is deterministic: two identical queries return identical bodies."""
    seed_tree(sandbox, ads=3)
    params = {"fields": f"{METRICS},actions", "level": "ad", "time_increment": "1"}
    first = await graph.get(f"{INR_ACCOUNT}/insights", **params)
    second = await graph.get(f"{INR_ACCOUNT}/insights", **params)
    assert first.json() == second.json()


async def test_another_seed_gives_other_numbers(graph: Graph, sandbox: Sandbox) -> None:
    """The same objects under another config seed deliver different (but similar) numbers."""
    other_clock = ManualClock()
    other_app = create_app(SandboxConfig(seed=99), clock=other_clock)
    other: Sandbox = other_app.state.sandbox
    bodies = []
    for target, app_graph in ((sandbox, graph), (other, None)):
        seed_tree(target, ads=2, new_id=_fixed_ids())
        if app_graph is None:
            transport = httpx2.ASGITransport(app=other_app)
            async with httpx2.AsyncClient(transport=transport, base_url="http://t") as client:
                bodies.append(await one(Graph(client), fields=METRICS))
        else:
            bodies.append(await one(app_graph, fields=METRICS))
    assert bodies[0] != bodies[1]
    ratio = Decimal(bodies[0]["impressions"]) / Decimal(bodies[1]["impressions"])
    assert Decimal("0.5") < ratio < Decimal(2)


def _fixed_ids() -> Callable[[], str]:
    numbers: Iterator[int] = count(1)
    return lambda: str(120_219_000_000_000_000 + next(numbers))


# -- breakdowns and time increments ----------------------------------------------------------


@pytest.mark.parametrize(
    "breakdowns",
    [
        "age",
        "gender",
        "age,gender",
        "country",
        "region",
        "publisher_platform",
        "publisher_platform,platform_position",
        "publisher_platform,platform_position,impression_device",
        "device_platform",
        "hourly_stats_aggregated_by_advertiser_time_zone",
    ],
)
async def test_breakdown_rows_sum_exactly_to_the_total(
    graph: Graph, sandbox: Sandbox, breakdowns: str
) -> None:
    """For every breakdown, the rows' impressions, clicks, spend and reach sum to the total."""
    sandbox.state.objects[INR_ACCOUNT]["breakdown_opt_in"] = True  # impression_device (§13.1)
    seed_tree(sandbox, ads=2)
    seed_tree(sandbox, ads=1, objective="OUTCOME_TRAFFIC")
    whole = await one(graph, fields=METRICS, date_preset="last_14d")
    parts = await rows(graph, fields=METRICS, date_preset="last_14d", breakdowns=breakdowns)
    assert len(parts) > 1
    names = breakdowns.split(",")
    assert all(all(name in row for name in names) for row in parts)
    hourly = breakdowns.startswith("hourly")
    for name in ("impressions", "clicks", "spend") + (() if hourly else ("reach",)):
        assert total(parts, name) == Decimal(whole[name]), name
    if hourly:
        assert all("reach" not in row for row in parts)


async def test_age_breakdown_respects_targeting(graph: Graph, sandbox: Sandbox) -> None:
    """Age rows only cover the targeted 21-50 range; gender rows include 'unknown'."""
    seed_tree(sandbox)
    ages = {row["age"] for row in await rows(graph, fields="impressions", breakdowns="age")}
    assert ages == {"18-24", "25-34", "35-44", "45-54"}
    genders = {r["gender"] for r in await rows(graph, fields="impressions", breakdowns="gender")}
    assert genders == {"female", "male", "unknown"}


async def test_daily_rows_sum_to_the_all_days_row(graph: Graph, sandbox: Sandbox) -> None:
    """time_increment=1 gives one row per day whose counters add up to the all_days row."""
    ids = seed_tree(sandbox, ads=2, age_days=10)
    whole = await one(graph, ids["campaign"], fields=METRICS, date_preset="last_30d")
    daily = await rows(
        graph, ids["campaign"], fields=METRICS, date_preset="last_30d", time_increment="1"
    )
    assert 10 <= len(daily) <= 11  # the first day is partial, and counts
    assert all(row["date_start"] == row["date_stop"] for row in daily)
    for name in ("impressions", "clicks", "spend"):
        assert total(daily, name) == Decimal(whole[name]), name
    assert total(daily, "reach") > Decimal(whole["reach"])  # reach does not add up over days


async def test_weekly_and_monthly_buckets(graph: Graph, sandbox: Sandbox) -> None:
    """time_increment=7 rows span 7 days; monthly rows follow calendar months."""
    seed_tree(sandbox, age_days=90)
    weekly = await rows(graph, fields="spend", date_preset="last_28d", time_increment="7")
    spans = [
        (date.fromisoformat(r["date_start"]), date.fromisoformat(r["date_stop"])) for r in weekly
    ]
    assert len(spans) == 4
    assert all((stop - start).days == 6 for start, stop in spans)
    monthly = await rows(graph, fields="spend", date_preset="last_90d", time_increment="monthly")
    assert [row["date_start"][5:7] for row in monthly] == ["08", "09", "10", "11"]
    assert monthly[1]["date_start"] == "2026-09-01"
    assert monthly[1]["date_stop"] == "2026-09-30"


async def test_date_preset_equals_the_same_time_range(graph: Graph, sandbox: Sandbox) -> None:
    """last_7d is the seven days before today in the account's zone, same as its time_range."""
    seed_tree(sandbox)
    preset = await one(graph, fields=METRICS, date_preset="last_7d")
    since = (TODAY_IN_KOLKATA - timedelta(days=7)).isoformat()
    until = (TODAY_IN_KOLKATA - timedelta(days=1)).isoformat()
    ranged = await one(
        graph, fields=METRICS, time_range=json.dumps({"since": since, "until": until})
    )
    assert preset == ranged
    assert (preset["date_start"], preset["date_stop"]) == (since, until)


async def test_time_ranges_give_one_row_per_range(graph: Graph, sandbox: Sandbox) -> None:
    """time_ranges=[...] returns one row per range, each with its own dates."""
    seed_tree(sandbox)
    ranges = [
        {"since": "2026-11-01", "until": "2026-11-07"},
        {"since": "2026-11-08", "until": "2026-11-14"},
    ]
    found = await rows(graph, fields="spend", time_ranges=json.dumps(ranges))
    assert [(r["date_start"], r["date_stop"]) for r in found] == [
        ("2026-11-01", "2026-11-07"),
        ("2026-11-08", "2026-11-14"),
    ]


# -- filtering, sorting, paging, summary -------------------------------------------------------


async def test_filtering_on_campaign_id_and_effective_status(
    graph: Graph, sandbox: Sandbox
) -> None:
    """filtering narrows the ads counted: by campaign.id IN, and by ad.effective_status."""
    first = seed_tree(sandbox)
    seed_tree(sandbox)
    by_id = [{"field": "campaign.id", "operator": "IN", "value": [first["campaign"]]}]
    found = await rows(graph, level="campaign", fields="campaign_id", filtering=json.dumps(by_id))
    assert [row["campaign_id"] for row in found] == [first["campaign"]]
    paused = [{"field": "ad.effective_status", "operator": "IN", "value": ["PAUSED"]}]
    assert await rows(graph, level="ad", filtering=json.dumps(paused)) == []


async def test_filtering_on_spend_greater_than(graph: Graph, sandbox: Sandbox) -> None:
    """A spend GREATER_THAN filter keeps only the rows above the amount (in major units)."""
    seed_tree(sandbox, ads=1, daily_budget=200_000)
    big = seed_tree(sandbox, ads=1, daily_budget=2_000_000)
    everything = await rows(graph, level="ad", fields="ad_id,spend")
    cut = min(Decimal(row["spend"]) for row in everything)
    rule = [{"field": "spend", "operator": "GREATER_THAN", "value": str(cut)}]
    found = await rows(graph, level="ad", fields="ad_id,spend", filtering=json.dumps(rule))
    assert [row["ad_id"] for row in found] == big["ads"]


async def test_sort_by_spend_descending(graph: Graph, sandbox: Sandbox) -> None:
    """sort=["spend_descending"] orders rows by spend, largest first."""
    for budget in (300_000, 900_000, 600_000):
        seed_tree(sandbox, ads=1, daily_budget=budget)
    found = await rows(graph, level="ad", fields="spend", sort='["spend_descending"]')
    spends = [Decimal(row["spend"]) for row in found]
    assert spends == sorted(spends, reverse=True)
    assert len(spends) == 3


async def test_paging_walks_every_row_once(graph: Graph, sandbox: Sandbox) -> None:
    """limit + after cursors return every daily row exactly once, with next until the end."""
    seed_tree(sandbox, ads=3, age_days=15)
    params = {"level": "ad", "fields": "ad_id,spend", "time_increment": "1"}
    everything = await rows(graph, **params, limit=1000)
    paged = await rows(graph, **params, limit=7)
    assert paged == everything
    days = 15  # from creation 15 days ago (a partial first day) until yesterday
    assert len({(r["ad_id"], r["date_start"]) for r in paged}) == len(paged) == 3 * days


async def test_default_summary_totals_every_row(graph: Graph, sandbox: Sandbox) -> None:
    """default_summary=true adds a summary whose counters are the totals of all rows."""
    seed_tree(sandbox, ads=3)
    response = await graph.get(
        f"{INR_ACCOUNT}/insights",
        level="ad",
        fields="impressions,spend",
        default_summary="true",
        limit=1,
    )
    body = response.json()
    everything = await rows(graph, level="ad", fields="impressions,spend")
    assert len(body["data"]) == 1
    assert Decimal(body["summary"]["spend"]) == total(everything, "spend")
    assert Decimal(body["summary"]["impressions"]) == total(everything, "impressions")


# -- errors ------------------------------------------------------------------------------------


async def test_invalid_breakdown_combination_is_refused(graph: Graph, sandbox: Sandbox) -> None:
    """age with country is not a combination Meta serves: code 100 naming the columns."""
    seed_tree(sandbox)
    error = error_of(await graph.get(f"{INR_ACCOUNT}/insights", breakdowns="age,country"))
    assert (error["code"], error.get("error_subcode")) == (100, None)
    assert error["message"] == (
        "(#100) Current combination of data breakdown columns (action_type, age, country) is invalid"
    )


async def test_unknown_field_is_code_100_naming_it(graph: Graph) -> None:
    """A field insights does not have is refused with code 100, naming the field."""
    error = error_of(
        await graph.get(f"{INR_ACCOUNT}/insights", fields="impressions,landing_page_views")
    )
    assert (error["code"], error.get("error_subcode")) == (100, None)
    assert error["message"].startswith("(#100) landing_page_views is not valid for fields param")


@pytest.mark.parametrize(
    ("param", "value"),
    [("breakdowns", "age,astrology"), ("date_preset", "last_2d"), ("level", "creative")],
)
async def test_unknown_enum_values_are_code_100(graph: Graph, param: str, value: str) -> None:
    """An unknown breakdown, date_preset or level is code 100 listing the choices."""
    error = error_of(await graph.get(f"{INR_ACCOUNT}/insights", **{param: value}))
    assert (error["code"], error.get("error_subcode")) == (100, None)
    assert f"param {param} must be one of" in error["message"]


async def test_start_older_than_37_months_is_3018(graph: Graph) -> None:
    """A time_range starting more than 37 months back is refused with code 3018."""
    too_old = json.dumps({"since": "2023-10-17", "until": "2023-12-31"})
    error = error_of(await graph.get(f"{INR_ACCOUNT}/insights", time_range=too_old))
    assert error["code"] == 3018
    oldest = json.dumps({"since": "2023-10-18", "until": "2023-12-31"})
    assert (await graph.get(f"{INR_ACCOUNT}/insights", time_range=oldest)).status_code == 200


async def test_throttle_header_on_insights_responses(graph: Graph, sandbox: Sandbox) -> None:
    """Every /insights response carries X-FB-Ads-Insights-Throttle as a JSON object."""
    ids = seed_tree(sandbox)
    for path in (INR_ACCOUNT, ids["campaign"]):
        response = await graph.get(f"{path}/insights")
        throttle = json.loads(response.headers["x-fb-ads-insights-throttle"])
        assert {"app_id_util_pct", "acc_id_util_pct"} <= set(throttle)


class TestRowLimits:
    """Queries too large for sync fail with code 1; async jobs too large fail with -3/1504045."""

    @pytest.fixture
    def config(self) -> SandboxConfig:
        return SandboxConfig(sync_insights_max_rows=20, report_max_rows=20)

    async def test_sync_query_with_too_many_rows_is_code_1_http_500(
        self, graph: Graph, sandbox: Sandbox
    ) -> None:
        """Over the sync row limit Meta answers code 1 'Please reduce the amount of data'."""
        seed_tree(sandbox, ads=2)
        response = await graph.get(f"{INR_ACCOUNT}/insights", level="ad", time_increment="1")
        error = error_of(response)
        assert response.status_code == 500
        assert error["code"] == 1
        assert error["message"].startswith("Please reduce the amount of data")
        assert (await graph.get(f"{INR_ACCOUNT}/insights", level="ad")).status_code == 200

    async def test_too_large_job_fails_with_1504045(
        self, graph: Graph, sandbox: Sandbox, clock: ManualClock
    ) -> None:
        """A report estimated above report_max_rows ends 'Job Failed' with -3/1504045."""
        seed_tree(sandbox, ads=2)
        run_id = await start(graph, level="ad", time_increment="1")
        clock.advance(60)
        run = (await graph.get(run_id)).json()
        assert run["async_status"] == "Job Failed"
        assert (run["error_code"], run["error_subcode"]) == (-3, 1504045)
        assert all(run[key] for key in ("error_message", "error_user_title", "error_user_msg"))
        assert run["is_running"] is False
        assert error_of(await graph.get(f"{run_id}/insights"))["code"] == 100


async def test_campaign_budget_is_split_across_its_ad_sets(graph: Graph, sandbox: Sandbox) -> None:
    """A CBO campaign spends at most its daily budget each day, shared by its ad sets."""
    ids = seed_tree(sandbox, campaign_budget=300_000)
    add_adset(sandbox, ids["campaign"], ads=3)
    daily = await rows(graph, ids["campaign"], fields="spend", time_increment="1")
    assert all(0 < Decimal(row["spend"]) <= 3000 for row in daily)
    per_adset = await rows(graph, ids["campaign"], level="adset", fields="spend")
    assert len(per_adset) == 2
    assert all(Decimal(row["spend"]) > 0 for row in per_adset)


async def test_today_counts_only_the_elapsed_part_of_the_day(
    graph: Graph, sandbox: Sandbox
) -> None:
    """At 16:36 in Kolkata, today's spend is below any full day's."""
    seed_tree(sandbox, ads=1)
    today = await one(graph, fields="spend", date_preset="today")
    days = await rows(graph, fields="spend", date_preset="last_7d", time_increment="1")
    assert Decimal(today["spend"]) < min(Decimal(row["spend"]) for row in days)
    assert today["date_start"] == today["date_stop"] == TODAY_IN_KOLKATA.isoformat()


@pytest.mark.parametrize(
    ("rule", "fragment"),
    [
        ({"field": "campaign.colour", "operator": "IN", "value": ["red"]}, "campaign.colour"),
        ({"field": "spend", "operator": "GREATER_THAN", "value": "lots"}, "not a number"),
        ({"field": "ad.effective_status", "operator": "IN", "value": ["SLEEPING"]}, "must be"),
        ({"field": "spend", "operator": "SOMETIMES", "value": 1}, "must be one of"),
    ],
)
async def test_invalid_filters_are_code_100(
    graph: Graph, rule: dict[str, Any], fragment: str
) -> None:
    """An unsupported filter field, a non-numeric bound, a bad status or operator is code 100."""
    error = error_of(await graph.get(f"{INR_ACCOUNT}/insights", filtering=json.dumps([rule])))
    assert (error["code"], error.get("error_subcode")) == (100, None)
    assert fragment in error["message"]


@pytest.mark.parametrize("value", ["0", "91", "weekly"])
async def test_invalid_time_increment_is_code_100(graph: Graph, value: str) -> None:
    """time_increment must be 1-90, monthly or all_days."""
    error = error_of(await graph.get(f"{INR_ACCOUNT}/insights", time_increment=value))
    assert error["code"] == 100
    assert "time_increment" in error["message"]


# -- async report runs -------------------------------------------------------------------------


async def start(graph: Graph, path: str = INR_ACCOUNT, **form: Any) -> str:
    """POST an async report; returns its report_run_id."""
    response = await graph.post(f"{path}/insights", **form)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"report_run_id"}
    run_id: str = body["report_run_id"]
    return run_id


async def test_report_run_moves_through_meta_statuses(
    graph: Graph, sandbox: Sandbox, clock: ManualClock
) -> None:
    """A run goes Not Started → Started → Running (rising %) → 100% Running → Completed."""
    seed_tree(sandbox)
    run_id = await start(graph, fields='["impressions","spend"]', level="ad")
    seen: list[tuple[str, int]] = []
    for _ in range(14):
        run = (await graph.get(run_id)).json()
        seen.append((run["async_status"], run["async_percent_completion"]))
        clock.advance(0.5)
    statuses = [status for status, _ in seen]
    assert list(dict.fromkeys(statuses)) == [
        "Job Not Started",
        "Job Started",
        "Job Running",
        "Job Completed",
    ]
    percents = [percent for _, percent in seen]
    assert percents == sorted(percents)
    assert ("Job Running", 100) in seen  # Meta says 100% a moment before it says Completed
    assert seen[-1] == ("Job Completed", 100)


async def test_report_run_node_fields(graph: Graph, sandbox: Sandbox, clock: ManualClock) -> None:
    """A completed run reads back with id, account, times, dates and is_running false."""
    seed_tree(sandbox)
    run_id = await start(graph, date_preset="last_7d")
    created = int(clock.now())
    clock.advance(10)
    run = (await graph.get(run_id)).json()
    assert run["id"] == run_id
    assert run["account_id"] == "1234567890"
    assert run["time_ref"] == created
    assert run["time_completed"] == created + 6
    assert (run["date_start"], run["date_stop"]) == ("2026-11-11", "2026-11-17")
    assert run["is_running"] is False
    assert "error_code" not in run


async def test_report_results_equal_the_sync_query(
    graph: Graph, sandbox: Sandbox, clock: ManualClock
) -> None:
    """The results of a completed run page exactly like the sync query made at its start."""
    ids = seed_tree(sandbox, ads=3)
    params = {
        "level": "ad",
        "fields": "ad_id,impressions,spend,reach,actions",
        "time_increment": "1",
    }
    sync = await rows(graph, ids["campaign"], **params)
    run_id = await start(
        graph, ids["campaign"], **{**params, "fields": json.dumps(params["fields"].split(","))}
    )
    early = error_of(await graph.get(f"{run_id}/insights"))
    assert early["code"] == 100
    clock.advance(3 * DAY)  # results are a snapshot: later delivery does not leak in
    results = await rows(graph, run_id, limit=9)
    assert results == sync


async def test_usd_account_reports_dollars(graph: Graph, sandbox: Sandbox) -> None:
    """The USD account's rows are in dollars and its days follow Los Angeles time."""
    seed_tree(sandbox, account=USD_ACCOUNT, daily_budget=10_000)
    row = await one(graph, USD_ACCOUNT, fields="spend,account_currency", date_preset="yesterday")
    assert row["account_currency"] == "USD"
    assert 0 < Decimal(row["spend"]) <= Decimal(100)
    assert row["date_start"] == "2026-11-17"  # 03:06 on the 18th in Los Angeles
