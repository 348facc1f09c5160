"""Ad sets: create, read, list, update, delete, minimum budgets, and every §5 rule on them."""

from __future__ import annotations

from typing import Any

import pytest

from meta_agent.sandbox import ManualClock, Sandbox, SandboxConfig
from meta_agent.sandbox.state import CUSTOM_AUDIENCE_IDS, PIXEL_ID
from tests.conftest import INR_ACCOUNT, PAGE_ID, USD_ACCOUNT, Graph
from tests.contract.test_campaigns import DAY, assert_error, create_campaign, form

NOW = 1_795_000_000  # the ManualClock's start
END = NOW + 10 * DAY
TARGETING: dict[str, Any] = {
    "geo_locations": {"countries": ["IN"]},
    "targeting_automation": {"advantage_audience": 0},
}
CBO: dict[str, Any] = {"daily_budget": 100000, "is_adset_budget_sharing_enabled": None}
OWN_AUDIENCE, OTHER_ACCOUNTS_AUDIENCE = CUSTOM_AUDIENCE_IDS


def t(**changes: Any) -> dict[str, Any]:
    """The default targeting with ``changes`` applied (None drops a key)."""
    spec = {**TARGETING, **changes}
    return {key: value for key, value in spec.items() if value is not None}


def adset_params(campaign_id: str, /, **overrides: Any) -> dict[str, str]:
    """A valid daily-budget traffic ad set, with ``overrides`` applied (None drops a key)."""
    params: dict[str, Any] = {
        "name": "India 18-65",
        "campaign_id": campaign_id,
        "daily_budget": 50000,
        "billing_event": "IMPRESSIONS",
        "optimization_goal": "LINK_CLICKS",
        "targeting": TARGETING,
        "status": "PAUSED",
    }
    params.update(overrides)
    return form(**{k: v for k, v in params.items() if v is not None})


async def create_adset(
    graph: Graph, campaign_id: str, account: str = INR_ACCOUNT, **overrides: Any
) -> str:
    """Create an ad set and return its id (failing the test if Meta would refuse it)."""
    response = await graph.post(f"{account}/adsets", **adset_params(campaign_id, **overrides))
    assert response.status_code == 200, response.text
    adset_id: str = response.json()["id"]
    return adset_id


async def test_create_then_read_back(graph: Graph) -> None:
    """A created ad set reads back with its values, normalized targeting and the campaign id."""
    campaign_id = await create_campaign(graph)
    adset_id = await create_adset(graph, campaign_id)
    fields = "name,campaign_id,campaign,status,effective_status,daily_budget,billing_event,optimization_goal,bid_strategy,targeting"
    body = (await graph.get(adset_id, fields=fields)).json()
    assert body["campaign_id"] == campaign_id
    assert body["campaign"] == {"id": campaign_id}
    assert (body["status"], body["effective_status"]) == ("PAUSED", "PAUSED")
    assert (body["daily_budget"], body["bid_strategy"]) == ("50000", "LOWEST_COST_WITHOUT_CAP")
    assert body["targeting"]["age_min"] == 18
    assert body["targeting"]["age_max"] == 65
    assert body["targeting"]["geo_locations"] == {
        "countries": ["IN"],
        "location_types": ["home", "recent"],
    }
    assert body["targeting"]["targeting_automation"] == {"advantage_audience": 0}


async def test_campaign_field_expands(graph: Graph) -> None:
    """``fields=campaign{name,objective}`` expands the parent campaign in place."""
    campaign_id = await create_campaign(graph)
    adset_id = await create_adset(graph, campaign_id)
    body = (await graph.get(adset_id, fields="campaign{name,objective}")).json()
    assert body["campaign"] == {
        "id": campaign_id,
        "name": "Coffee launch",
        "objective": "OUTCOME_TRAFFIC",
    }


async def test_read_after_write_on_create(graph: Graph) -> None:
    """A create with ``fields`` answers with the ad set read back."""
    campaign_id = await create_campaign(graph)
    response = await graph.post(
        f"{INR_ACCOUNT}/adsets", **adset_params(campaign_id, fields="name,targeting{age_min}")
    )
    body = response.json()
    assert body["name"] == "India 18-65"
    assert body["targeting"] == {"age_min": 18}


async def test_validate_only_creates_nothing(graph: Graph, sandbox: Sandbox) -> None:
    """``validate_only`` answers success and stores no ad set."""
    campaign_id = await create_campaign(graph)
    params = adset_params(campaign_id, execution_options=["validate_only"])
    assert (await graph.post(f"{INR_ACCOUNT}/adsets", **params)).json() == {"success": True}
    assert list(sandbox.state.of_kind("adset")) == []


@pytest.mark.parametrize(
    ("objective", "goal"),
    [
        ("OUTCOME_TRAFFIC", "LINK_CLICKS"),
        ("OUTCOME_AWARENESS", "REACH"),
        ("OUTCOME_ENGAGEMENT", "POST_ENGAGEMENT"),
    ],
)
async def test_optimization_goal_defaults_per_objective(
    graph: Graph, objective: str, goal: str
) -> None:
    """Without ``optimization_goal`` the ad set gets its objective's default goal."""
    campaign_id = await create_campaign(graph, objective=objective)
    adset_id = await create_adset(
        graph, campaign_id, optimization_goal=None, promoted_object={"page_id": PAGE_ID}
    )
    assert (await graph.get(adset_id, fields="optimization_goal")).json()[
        "optimization_goal"
    ] == goal


@pytest.mark.parametrize(
    ("objective", "extra"),
    [
        pytest.param(
            "OUTCOME_SALES",
            {
                "optimization_goal": "OFFSITE_CONVERSIONS",
                "promoted_object": {"pixel_id": PIXEL_ID, "custom_event_type": "PURCHASE"},
            },
            id="sales-pixel",
        ),
        pytest.param(
            "OUTCOME_APP_PROMOTION",
            {
                "optimization_goal": "APP_INSTALLS",
                "promoted_object": {
                    "application_id": "1000000000000001",
                    "object_store_url": "https://play.google.com/store/apps/details?id=x",
                },
            },
            id="app-install",
        ),
        pytest.param(
            "OUTCOME_LEADS",
            {
                "optimization_goal": "LEAD_GENERATION",
                "destination_type": "ON_AD",
                "promoted_object": {"page_id": PAGE_ID},
            },
            id="instant-form",
        ),
        pytest.param(
            "OUTCOME_ENGAGEMENT",
            {
                "optimization_goal": "THRUPLAY",
                "billing_event": "THRUPLAY",
                "destination_type": "ON_VIDEO",
                "promoted_object": {"page_id": PAGE_ID},
            },
            id="thruplay",
        ),
    ],
)
async def test_valid_objective_combinations_are_accepted(
    graph: Graph, objective: str, extra: dict[str, Any]
) -> None:
    """Goal, destination, billing event and promoted object that fit the objective pass."""
    campaign_id = await create_campaign(graph, objective=objective)
    await create_adset(graph, campaign_id, **extra)


SPECIAL = {"special_ad_categories": ["HOUSING"]}


@pytest.mark.parametrize(
    ("campaign", "adset", "code", "subcode", "blame"),
    [
        # required fields and parameters
        pytest.param({}, {"name": None}, 100, None, ["name"], id="name-required"),
        pytest.param({}, {"campaign_id": None}, 100, None, ["campaign_id"], id="campaign-required"),
        pytest.param({}, {"billing_event": None}, 100, None, ["billing_event"], id="billing-required"),
        pytest.param({}, {"targeting": None}, 100, None, ["targeting"], id="targeting-required"),
        pytest.param({}, {"targeting": "{geo"}, 100, None, ["targeting"], id="targeting-not-json"),
        pytest.param({}, {"campaign_id": "999"}, 100, 33, None, id="campaign-unknown"),
        pytest.param({}, {"status": "ARCHIVED"}, 100, None, ["status"], id="status-at-create"),
        pytest.param({}, {"colour": "blue"}, 100, None, ["colour"], id="unknown-param"),
        # objective, destination, goal, billing event, promoted object
        pytest.param({}, {"optimization_goal": "FAME"}, 100, None, ["optimization_goal"], id="goal-enum"),
        pytest.param({}, {"billing_event": "HUGS"}, 100, None, ["billing_event"], id="billing-enum"),
        pytest.param({}, {"optimization_goal": "POST_ENGAGEMENT"}, 100, 2490408, ["optimization_goal"], id="goal-vs-objective"),
        pytest.param({}, {"destination_type": "ON_POST"}, 100, 2490408, ["destination_type"], id="destination-vs-objective"),
        pytest.param({}, {"destination_type": "INSTAGRAM_PROFILE"}, 100, 2490408, ["optimization_goal"], id="goal-vs-destination"),
        pytest.param({}, {"optimization_goal": "REACH", "billing_event": "LINK_CLICKS"}, 100, 2490408, ["billing_event"], id="billing-vs-goal"),
        pytest.param({"objective": "OUTCOME_SALES"}, {"optimization_goal": "OFFSITE_CONVERSIONS"}, 100, None, ["promoted_object", "pixel_id"], id="pixel-required"),
        pytest.param({"objective": "OUTCOME_SALES"}, {"optimization_goal": "OFFSITE_CONVERSIONS", "promoted_object": {"pixel_id": PIXEL_ID}}, 100, None, ["promoted_object", "custom_event_type"], id="event-type-required"),
        pytest.param({"objective": "OUTCOME_ENGAGEMENT"}, {"optimization_goal": "POST_ENGAGEMENT"}, 100, None, ["promoted_object", "page_id"], id="page-required"),
        pytest.param({"objective": "OUTCOME_ENGAGEMENT"}, {"optimization_goal": "POST_ENGAGEMENT", "promoted_object": {"page_id": "42"}}, 100, None, ["promoted_object", "page_id"], id="page-unknown"),
        pytest.param({"objective": "OUTCOME_APP_PROMOTION"}, {"optimization_goal": "APP_INSTALLS"}, 100, None, ["promoted_object", "application_id"], id="app-required"),
        # budgets and schedule
        pytest.param(CBO, {}, 100, 1885621, ["daily_budget"], id="budget-on-both-levels"),
        pytest.param({}, {"daily_budget": None}, 100, None, ["daily_budget"], id="abo-needs-adset-budget"),
        pytest.param({}, {"lifetime_budget": 500000, "end_time": END}, 100, None, ["lifetime_budget"], id="daily-and-lifetime"),
        pytest.param({}, {"daily_budget": None, "lifetime_budget": 500000}, 100, 1885204, ["end_time"], id="lifetime-needs-end"),
        pytest.param({}, {"start_time": NOW + 3600, "end_time": NOW + 20 * 3600}, 100, None, ["end_time"], id="daily-needs-24h"),
        pytest.param({}, {"start_time": NOW + 5 * DAY, "end_time": NOW + 4 * DAY}, 100, 1487033, ["end_time"], id="end-before-start"),
        pytest.param({}, {"start_time": NOW - 5 * DAY, "end_time": NOW - DAY}, 100, 1487033, ["end_time"], id="end-in-past"),
        pytest.param({}, {"daily_budget": 3999}, 100, 1885272, ["daily_budget"], id="below-floor"),
        pytest.param({}, {"daily_budget": None, "lifetime_budget": 9_000_000_000, "end_time": END}, 100, 1885261, ["lifetime_budget"], id="lifetime-ceiling"),
        pytest.param({}, {"daily_budget": "500.50"}, 100, None, ["daily_budget"], id="budget-not-integer"),
        # bidding
        pytest.param({}, {"bid_strategy": "COST_CAP"}, 100, 1815857, ["bid_amount"], id="bid-amount-required"),
        pytest.param({**CBO, "bid_strategy": "LOWEST_COST_WITH_BID_CAP"}, {"daily_budget": None}, 100, 1815857, ["bid_amount"], id="bid-amount-required-by-campaign"),
        pytest.param({}, {"bid_strategy": "COST_CAP", "bid_amount": "15.00"}, 100, None, ["bid_amount"], id="bid-amount-integer"),
        pytest.param(CBO, {"daily_budget": None, "bid_strategy": "COST_CAP", "bid_amount": 500}, 100, None, ["bid_strategy"], id="bid-strategy-under-cbo"),
        pytest.param({}, {"bid_strategy": "LOWEST_COST_WITH_MIN_ROAS", "optimization_goal": "LANDING_PAGE_VIEWS"}, 100, None, ["bid_constraints", "roas_average_floor"], id="roas-floor-required"),
        # targeting: locations
        pytest.param({}, {"targeting": t(geo_locations=None)}, 100, None, ["targeting", "geo_locations"], id="location-required"),
        pytest.param({}, {"targeting": t(geo_locations={"location_types": ["home"]})}, 100, None, ["targeting", "geo_locations"], id="location-empty"),
        pytest.param({}, {"targeting": t(geo_locations={"countries": ["India"]})}, 100, None, ["targeting", "geo_locations", "countries"], id="country-code"),
        pytest.param({}, {"targeting": t(geo_locations={"countries": ["IN"], "location_types": ["work"]})}, 100, 1870199, ["targeting", "geo_locations", "location_types"], id="location-types"),
        pytest.param({}, {"targeting": t(geo_locations={"cities": [{"key": "2420379", "radius": 5, "distance_unit": "mile"}]})}, 100, None, ["targeting", "geo_locations", "cities"], id="city-radius"),
        pytest.param({}, {"targeting": t(geo_locations={"custom_locations": [{"latitude": 19.0, "longitude": 72.8, "radius": 90, "distance_unit": "kilometer"}]})}, 100, None, ["targeting", "geo_locations", "custom_locations"], id="custom-location-radius"),
        pytest.param({}, {"targeting": t(geo_locations={"regions": [{"key": str(k)} for k in range(201)]})}, 100, None, ["targeting", "geo_locations", "regions"], id="too-many-regions"),
        pytest.param({}, {"targeting": t(geo_locations={"countries": ["DE"]})}, 100, None, ["dsa_beneficiary"], id="eu-needs-beneficiary"),
        pytest.param({}, {"targeting": t(geo_locations={"countries": ["FR"]}), "dsa_beneficiary": "Sandbox Coffee"}, 100, None, ["dsa_payor"], id="eu-needs-payor"),
        # targeting: audiences
        pytest.param({}, {"targeting": t(exclusions={"custom_audiences": [{"id": OWN_AUDIENCE}]})}, 100, None, ["targeting", "exclusions", "custom_audiences"], id="audiences-in-exclusions"),
        pytest.param({}, {"targeting": t(custom_audiences=[{"id": "23859999999999999"}])}, 100, None, ["targeting", "custom_audiences"], id="audience-unknown"),
        pytest.param({}, {"targeting": t(excluded_custom_audiences=[{"id": OTHER_ACCOUNTS_AUDIENCE}])}, 100, None, ["targeting", "excluded_custom_audiences"], id="audience-other-account"),
        # targeting: Advantage+ audience, age, gender, special ad categories
        pytest.param(SPECIAL, {"targeting": t(targeting_automation=None)}, 100, 1870227, ["targeting", "targeting_automation", "advantage_audience"], id="advantage-flag-required-housing"),
        pytest.param({}, {"targeting": t(targeting_automation={"advantage_audience": 2})}, 100, None, ["targeting", "targeting_automation", "advantage_audience"], id="advantage-flag-value"),
        pytest.param({}, {"targeting": t(age_min=12)}, 100, None, ["targeting", "age_min"], id="age-min-13"),
        pytest.param({}, {"targeting": t(age_max=70)}, 100, None, ["targeting", "age_max"], id="age-max-65"),
        pytest.param({}, {"targeting": t(age_min=40, age_max=30)}, 100, None, ["targeting", "age_min"], id="age-order"),
        pytest.param({}, {"targeting": t(targeting_automation={"advantage_audience": 1}, age_max=50)}, 100, 1870189, ["targeting", "age_max"], id="advantage-age-max"),
        pytest.param({}, {"targeting": t(genders=[3])}, 100, None, ["targeting", "genders"], id="genders"),
        pytest.param(SPECIAL, {"targeting": t(age_min=25)}, 100, None, ["targeting", "age_min"], id="special-age"),
        pytest.param(SPECIAL, {"targeting": t(genders=[2])}, 100, None, ["targeting", "genders"], id="special-gender"),
        pytest.param(SPECIAL, {"targeting": t(geo_locations={"zips": [{"key": "US:94110"}]})}, 100, None, ["targeting", "geo_locations"], id="special-zip"),
        pytest.param(SPECIAL, {"targeting": t(geo_locations={"cities": [{"key": "2420379", "radius": 10, "distance_unit": "mile"}]})}, 100, None, ["targeting", "geo_locations"], id="special-radius"),
        # targeting: placements
        pytest.param({}, {"targeting": t(publisher_platforms=["audience_network"])}, 100, None, ["targeting", "publisher_platforms"], id="audience-network-alone"),
        pytest.param({}, {"targeting": t(publisher_platforms=["myspace"])}, 100, None, ["targeting", "publisher_platforms"], id="platform-enum"),
        pytest.param({}, {"targeting": t(facebook_positions=["billboard"])}, 100, None, ["targeting", "facebook_positions"], id="position-enum"),
        pytest.param({}, {"targeting": t(facebook_positions=["feed", "video_feeds"])}, 100, None, ["targeting", "facebook_positions"], id="video-feeds-gone-v24"),
        pytest.param({}, {"targeting": t(facebook_positions=["story"])}, 100, None, ["targeting", "facebook_positions"], id="story-needs-feed"),
        pytest.param({}, {"targeting": t(instagram_positions=["reels"], threads_positions=["threads_stream"])}, 100, None, ["targeting", "threads_positions"], id="threads-needs-stream"),
        pytest.param({}, {"targeting": t(device_platforms=["tv"])}, 100, None, ["targeting", "device_platforms"], id="device-enum"),
    ],
)  # fmt: skip
async def test_create_rules(
    graph: Graph,
    campaign: dict[str, Any],
    adset: dict[str, Any],
    code: int,
    subcode: int | None,
    blame: list[str] | None,
) -> None:
    """Each creation rule answers with Meta's code, subcode and blamed field (on v25.0)."""
    campaign_id = await create_campaign(graph, **campaign)
    response = await graph.post(f"{INR_ACCOUNT}/adsets", **adset_params(campaign_id, **adset))
    error = assert_error(response, code, subcode, blame)
    assert error["message"].startswith(f"(#{code})") or subcode == 33


@pytest.mark.parametrize(
    ("spec", "extra"),
    [
        pytest.param(t(geo_locations=None, custom_audiences=[{"id": OWN_AUDIENCE}]), {}, id="audience-instead-of-location"),
        pytest.param(t(geo_locations={"countries": ["DE"]}), {"dsa_beneficiary": "Sandbox Coffee", "dsa_payor": "Sandbox Coffee"}, id="eu-with-dsa"),
        pytest.param(t(publisher_platforms=["facebook", "instagram"], facebook_positions=["feed", "story", "facebook_reels"], instagram_positions=["stream", "story", "reels"]), {}, id="placements"),
        pytest.param(t(age_min=21, age_max=45, genders=[2]), {}, id="age-and-gender"),
        pytest.param(t(targeting_automation={"advantage_audience": 1}), {}, id="advantage-on"),
    ],
)  # fmt: skip
async def test_valid_targeting_is_accepted(
    graph: Graph, spec: dict[str, Any], extra: dict[str, Any]
) -> None:
    """Specs inside every rule are accepted."""
    campaign_id = await create_campaign(graph)
    await create_adset(graph, campaign_id, targeting=spec, **extra)


@pytest.mark.parametrize(
    ("account", "budget", "floor"),
    [
        pytest.param(INR_ACCOUNT, {"daily_budget": 3999}, "₹40.00", id="inr-impressions"),
        pytest.param(USD_ACCOUNT, {"daily_budget": 99}, "$1.00", id="usd-impressions"),
        pytest.param(USD_ACCOUNT, {"daily_budget": 499, "billing_event": "LINK_CLICKS"}, "$5.00", id="usd-link-clicks"),
        pytest.param(USD_ACCOUNT, {"daily_budget": None, "lifetime_budget": 999, "end_time": END}, "$10.00", id="usd-lifetime-10-days"),
    ],
)  # fmt: skip
async def test_minimum_budget_message_names_the_floor(
    graph: Graph, account: str, budget: dict[str, Any], floor: str
) -> None:
    """1885272's user message states the floor in the account's currency, like Meta's."""
    campaign_id = await create_campaign(graph, account)
    response = await graph.post(f"{account}/adsets", **adset_params(campaign_id, **budget))
    error = assert_error(response, 100, 1885272)
    assert error["error_user_title"] == "Budget Too Low"
    assert error["error_user_msg"] == (
        f"Your ad set budget must be more than {floor} or your ads may not be delivered."
    )


async def test_minimum_budgets_edge(graph: Graph) -> None:
    """GET /act_X/minimum_budgets lists the account currency's floors in minor units."""
    body = (await graph.get(f"{USD_ACCOUNT}/minimum_budgets")).json()
    assert body == {
        "data": [
            {
                "currency": "USD",
                "min_daily_budget_imp": 100,
                "min_daily_budget_high_freq": 500,
                "min_daily_budget_low_freq": 4000,
                "min_daily_budget_video_views": 500,
            }
        ]
    }
    inr = (await graph.get(f"{INR_ACCOUNT}/minimum_budgets")).json()["data"][0]
    assert (inr["currency"], inr["min_daily_budget_imp"]) == ("INR", 4000)


@pytest.mark.parametrize("status", ["DELETED", "ARCHIVED"])
async def test_parent_campaign_must_be_live(graph: Graph, status: str) -> None:
    """A deleted or archived campaign can't take new ad sets (code 100, blaming campaign_id)."""
    campaign_id = await create_campaign(graph)
    await graph.post(campaign_id, status=status)
    response = await graph.post(f"{INR_ACCOUNT}/adsets", **adset_params(campaign_id))
    assert_error(response, 100, None, ["campaign_id"])


async def test_parent_campaign_must_be_in_the_same_account(graph: Graph) -> None:
    """A campaign of another account is 'not found' (100/33), as Meta answers."""
    campaign_id = await create_campaign(graph, USD_ACCOUNT)
    response = await graph.post(f"{INR_ACCOUNT}/adsets", **adset_params(campaign_id))
    assert_error(response, 100, 33)


async def test_cbo_ad_set_uses_the_campaign_bid_strategy(graph: Graph) -> None:
    """Under a campaign budget the ad set carries no budget and reads the campaign's strategy."""
    campaign_id = await create_campaign(graph, **CBO, bid_strategy="COST_CAP")
    adset_id = await create_adset(graph, campaign_id, daily_budget=None, bid_amount=300)
    body = (await graph.get(adset_id, fields="bid_strategy,bid_amount,daily_budget")).json()
    assert body == {"id": adset_id, "bid_strategy": "COST_CAP", "bid_amount": 300}


async def test_bid_amount_alone_implies_a_bid_cap(graph: Graph) -> None:
    """Sending only bid_amount on an ad-set-budget ad set means LOWEST_COST_WITH_BID_CAP."""
    campaign_id = await create_campaign(graph)
    adset_id = await create_adset(graph, campaign_id, bid_amount=250)
    body = (await graph.get(adset_id, fields="bid_strategy")).json()
    assert body["bid_strategy"] == "LOWEST_COST_WITH_BID_CAP"


async def test_update_changes_read_back(graph: Graph) -> None:
    """POST /{adset_id} with name, status, budget, schedule, targeting and bid answers success."""
    campaign_id = await create_campaign(graph)
    adset_id = await create_adset(graph, campaign_id)
    changes = form(
        name="Renamed",
        status="ACTIVE",
        daily_budget=70000,
        end_time=END,
        targeting=t(age_min=25),
        bid_strategy="COST_CAP",
        bid_amount=400,
    )
    assert (await graph.post(adset_id, **changes)).json() == {"success": True}
    fields = "name,status,daily_budget,end_time,bid_strategy,bid_amount,targeting{age_min}"
    body = (await graph.get(adset_id, fields=fields)).json()
    assert body["name"] == "Renamed"
    assert (body["status"], body["daily_budget"]) == ("ACTIVE", "70000")
    assert (body["bid_strategy"], body["bid_amount"]) == ("COST_CAP", 400)
    assert body["targeting"] == {"age_min": 25}
    assert body["end_time"].startswith("2026-11-")


@pytest.mark.parametrize(
    ("changes", "code", "subcode", "blame"),
    [
        pytest.param({"daily_budget": 100}, 100, 1885272, ["daily_budget"], id="below-floor"),
        pytest.param({"targeting": t(age_min=12)}, 100, None, ["targeting", "age_min"], id="targeting-rechecked"),
        pytest.param({"end_time": NOW - DAY}, 100, 1487033, ["end_time"], id="end-in-past"),
        pytest.param({"bid_strategy": "COST_CAP"}, 100, 1815857, ["bid_amount"], id="bid-needs-amount"),
        pytest.param({"lifetime_budget": 500000}, 100, None, ["lifetime_budget"], id="both-budgets"),
        pytest.param({"optimization_goal": "PAGE_LIKES"}, 100, 2490408, ["optimization_goal"], id="goal-rechecked"),
        pytest.param({"campaign_id": "123"}, 100, None, ["campaign_id"], id="campaign-fixed"),
        pytest.param({"status": "SLEEPING"}, 100, None, ["status"], id="status-enum"),
        pytest.param({"colour": "blue"}, 100, None, ["colour"], id="unknown-param"),
    ],
)  # fmt: skip
async def test_update_rules(
    graph: Graph, changes: dict[str, Any], code: int, subcode: int | None, blame: list[str]
) -> None:
    """Updates are checked against the ad set as it would become."""
    campaign_id = await create_campaign(graph)
    adset_id = await create_adset(graph, campaign_id)
    assert_error(await graph.post(adset_id, **form(**changes)), code, subcode, blame)


async def test_budget_under_cbo_campaign_refused_on_update(graph: Graph) -> None:
    """Giving an ad set its own budget under a campaign budget is 100/1885621."""
    campaign_id = await create_campaign(graph, **CBO)
    adset_id = await create_adset(graph, campaign_id, daily_budget=None)
    assert_error(await graph.post(adset_id, daily_budget="50000"), 100, 1885621, ["daily_budget"])


async def test_budget_changes_are_limited_to_four_an_hour(graph: Graph, clock: ManualClock) -> None:
    """A fifth budget change within the hour is 613/1487632; an hour later it goes through."""
    campaign_id = await create_campaign(graph)
    adset_id = await create_adset(graph, campaign_id)
    for budget in (51000, 52000, 53000, 54000):
        assert (await graph.post(adset_id, daily_budget=str(budget))).json() == {"success": True}
        clock.advance(60)
    assert (await graph.post(adset_id, name="not a budget change")).json() == {"success": True}
    assert_error(await graph.post(adset_id, daily_budget="55000"), 613, 1487632, ["daily_budget"])
    clock.advance(3600)
    assert (await graph.post(adset_id, daily_budget="55000")).json() == {"success": True}


async def test_lifetime_budget_cannot_drop_below_spend(graph: Graph, sandbox: Sandbox) -> None:
    """A lifetime budget under 110% of what was spent is refused, blaming lifetime_budget."""
    campaign_id = await create_campaign(graph)
    adset_id = await create_adset(
        graph, campaign_id, daily_budget=None, lifetime_budget=900000, end_time=END
    )
    sandbox.state.objects[adset_id]["spent"] = 500000  # as if delivery had spent ₹5,000
    assert_error(
        await graph.post(adset_id, lifetime_budget="520000"), 100, None, ["lifetime_budget"]
    )
    assert (await graph.post(adset_id, lifetime_budget="560000")).json() == {"success": True}


async def test_archived_ad_set_takes_only_a_name_or_deletion(graph: Graph) -> None:
    """Archived: name and status DELETED only; other edits and reactivation are refused."""
    campaign_id = await create_campaign(graph)
    adset_id = await create_adset(graph, campaign_id)
    await graph.post(adset_id, status="ARCHIVED")
    assert_error(await graph.post(adset_id, daily_budget="60000"), 100, 1885088)
    assert_error(await graph.post(adset_id, status="ACTIVE"), 100, 1885088)
    assert (await graph.post(adset_id, name="Old")).json() == {"success": True}
    assert (await graph.post(adset_id, status="DELETED")).json() == {"success": True}


async def test_deleted_ad_set_takes_only_a_name(graph: Graph) -> None:
    """Deleted: every change but the name is refused."""
    campaign_id = await create_campaign(graph)
    adset_id = await create_adset(graph, campaign_id)
    assert (await graph.delete(adset_id)).json() == {"success": True}
    assert_error(await graph.post(adset_id, daily_budget="60000"), 100, None)
    assert (await graph.post(adset_id, name="Gone")).json() == {"success": True}


@pytest.mark.parametrize("how", ["delete", "status"])
async def test_deleted_ad_set_readable_by_id_not_on_edges(graph: Graph, how: str) -> None:
    """DELETE or status=DELETED: readable by id as DELETED, absent from both edges."""
    campaign_id = await create_campaign(graph)
    kept = await create_adset(graph, campaign_id, name="Kept")
    gone = await create_adset(graph, campaign_id, name="Gone")
    if how == "delete":
        await graph.delete(gone)
    else:
        await graph.post(gone, status="DELETED")
    assert (await graph.get(gone, fields="status")).json()["status"] == "DELETED"
    for edge in (f"{INR_ACCOUNT}/adsets", f"{campaign_id}/adsets"):
        assert [a["id"] for a in (await graph.get(edge)).json()["data"]] == [kept]


@pytest.mark.parametrize("edge", ["account", "campaign"])
async def test_listing_pages_with_cursors(graph: Graph, edge: str) -> None:
    """limit=2 over five ad sets: follow ``after`` until no ``next``, seeing each once."""
    campaign_id = await create_campaign(graph)
    created = [await create_adset(graph, campaign_id, name=f"A{i}") for i in range(5)]
    path = f"{INR_ACCOUNT}/adsets" if edge == "account" else f"{campaign_id}/adsets"
    seen: list[str] = []
    params = {"limit": "2", "fields": "name", "summary": "true"}
    pages = 0
    while True:
        body = (await graph.get(path, **params)).json()
        pages += 1
        assert body["summary"] == {"total_count": 5}
        seen += [item["id"] for item in body["data"]]
        if "next" not in body["paging"]:
            break
        params["after"] = body["paging"]["cursors"]["after"]
    assert (seen, pages) == (created, 3)


async def test_campaign_edge_lists_only_its_ad_sets(graph: Graph) -> None:
    """/{campaign_id}/adsets lists that campaign's ad sets; the account edge lists all."""
    first, second = await create_campaign(graph), await create_campaign(graph)
    a = await create_adset(graph, first)
    b = await create_adset(graph, second)
    assert [x["id"] for x in (await graph.get(f"{first}/adsets")).json()["data"]] == [a]
    assert [x["id"] for x in (await graph.get(f"{INR_ACCOUNT}/adsets")).json()["data"]] == [a, b]


async def test_effective_status_campaign_paused(graph: Graph) -> None:
    """An active ad set under a paused campaign is CAMPAIGN_PAUSED, and filters as such."""
    campaign_id = await create_campaign(graph)
    adset_id = await create_adset(graph, campaign_id, status="ACTIVE")
    paused_id = await create_adset(graph, campaign_id)
    body = (await graph.get(adset_id, fields="status,effective_status")).json()
    assert (body["status"], body["effective_status"]) == ("ACTIVE", "CAMPAIGN_PAUSED")

    async def ids(statuses: str) -> list[str]:
        body = (await graph.get(f"{INR_ACCOUNT}/adsets", effective_status=statuses)).json()
        return [item["id"] for item in body["data"]]

    assert await ids('["CAMPAIGN_PAUSED"]') == [adset_id]
    assert await ids('["PAUSED"]') == [paused_id]
    await graph.post(campaign_id, status="ACTIVE")
    assert await ids('["ACTIVE"]') == [adset_id]


@pytest.mark.parametrize("value", ['["DELETED"]', '["SNOOZING"]'])
async def test_listing_refuses_bad_status_filters(graph: Graph, value: str) -> None:
    """DELETED and unknown values in the effective_status filter are refused with code 100."""
    response = await graph.get(f"{INR_ACCOUNT}/adsets", effective_status=value)
    assert_error(response, 100, None, ["effective_status"])


async def test_campaign_adsets_expand_as_an_edge(graph: Graph) -> None:
    """``GET /{campaign_id}?fields=adsets{name}`` nests the ad sets as a ``data`` list."""
    campaign_id = await create_campaign(graph)
    adset_id = await create_adset(graph, campaign_id)
    body = (await graph.get(campaign_id, fields="name,adsets{name}")).json()
    assert body["adsets"]["data"] == [{"id": adset_id, "name": "India 18-65"}]


class TestObjectLimits:
    """Ad set counts per campaign and per account are capped by SandboxConfig."""

    @pytest.fixture
    def config(self) -> SandboxConfig:
        """Tiny limits so a test can reach them."""
        return SandboxConfig(max_adsets_per_campaign=2, max_adsets_per_account=3)

    async def test_per_campaign_limit(self, graph: Graph) -> None:
        """The third ad set in a campaign is refused; deleting one frees a slot."""
        campaign_id = await create_campaign(graph)
        first = await create_adset(graph, campaign_id)
        await create_adset(graph, campaign_id)
        response = await graph.post(f"{INR_ACCOUNT}/adsets", **adset_params(campaign_id))
        assert_error(response, 100, None, ["campaign_id"])
        await graph.delete(first)
        await create_adset(graph, campaign_id)

    async def test_per_account_limit(self, graph: Graph) -> None:
        """The account's fourth live ad set is refused, whatever the campaign."""
        campaigns = [await create_campaign(graph) for _ in range(2)]
        for campaign_id in (campaigns[0], campaigns[0], campaigns[1]):
            await create_adset(graph, campaign_id)
        response = await graph.post(f"{INR_ACCOUNT}/adsets", **adset_params(campaigns[1]))
        assert_error(response, 100, None, ["campaign_id"])


@pytest.mark.parametrize(
    "overrides",
    [
        {"targeting": "[1, 2]"},
        {"targeting": {"geo_locations": ["IN"], "custom_audiences": "x", "targeting_automation": {"advantage_audience": 0}}},
        {"targeting": t(geo_locations={"countries": "IN"})},
        {"targeting": t(geo_locations={"cities": [{"key": "1", "radius": "far"}]})},
        {"targeting": t(genders=[[1]], age_min="abc")},
        {"targeting": t(publisher_platforms="facebook", exclusions=["x"])},
        {"targeting": t(targeting_automation={"advantage_audience": "1"})},
        {"promoted_object": "[1]"},
        {"start_time": "yesterday-ish"},
        {"bid_constraints": "[]"},
    ],
)  # fmt: skip
async def test_malformed_input_gets_an_error_envelope(
    graph: Graph, overrides: dict[str, Any]
) -> None:
    """Odd shapes anywhere in the request get a code 100 envelope, never a crash."""
    campaign_id = await create_campaign(graph)
    response = await graph.post(f"{INR_ACCOUNT}/adsets", **adset_params(campaign_id, **overrides))
    assert_error(response, 100, None)
