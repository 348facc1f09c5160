"""Meta's v26/v27 and out-of-cycle changes (reference §13.2-§13.4), each before and after its day.

The sandbox's clock decides: a v26 change applies to v26+ calls from 2026-07-29 and to every
version from 2026-10-27; the v27 change to v27 calls from 2026-11-04. Each class sets the
clock to the period it tests; the default clock (2026-11-18) is "after" for every v26 item.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx2
import pytest

from meta_agent.sandbox import ManualClock, Sandbox
from meta_agent.sandbox.state import PIXEL_ID
from tests.conftest import INR_ACCOUNT, TOKEN, Graph, error_of
from tests.contract.test_adsets import TARGETING, adset_params, create_adset, t
from tests.contract.test_campaigns import DAY, assert_error, create_campaign, form
from tests.contract.test_creatives import add_image, created_id, story
from tests.contract.test_insights import seed_tree

BEFORE_V26 = datetime(2026, 7, 1, 12, tzinfo=UTC).timestamp()
V26_ONLY = datetime(2026, 8, 15, 12, tzinfo=UTC).timestamp()  # v26+ changed, v25 not yet
MESSENGER = {
    "publisher_platforms": ["facebook", "messenger"],
    "facebook_positions": ["feed"],
    "messenger_positions": ["messenger_home", "story"],
}
INSTAGRAM_EXPLORE = {
    "publisher_platforms": ["instagram"],
    "instagram_positions": ["stream", "explore"],
}
SALES_PIXEL = {"pixel_id": PIXEL_ID, "custom_event_type": "PURCHASE"}


def on(graph: Graph, version: str) -> Graph:
    """The same test client on another API version."""
    return Graph(graph.client, version)


async def targeting_of(graph: Graph, adset_id: str) -> dict[str, Any]:
    body = (await graph.get(adset_id, fields="targeting")).json()
    spec: dict[str, Any] = body["targeting"]
    return spec


async def sales_campaign(graph: Graph, **overrides: Any) -> str:
    return await create_campaign(graph, objective="OUTCOME_SALES", **overrides)


async def sales_adset(graph: Graph, campaign_id: str, **overrides: Any) -> httpx2.Response:
    params = adset_params(
        campaign_id,
        optimization_goal="OFFSITE_CONVERSIONS",
        promoted_object=SALES_PIXEL,
        **overrides,
    )
    return await graph.post(f"{INR_ACCOUNT}/adsets", **params)


def user_msg(response: httpx2.Response) -> str:
    message: str = error_of(response)["error_user_msg"]
    return message


# -- §13.2 Messenger story: dropped silently -----------------------------------------------------


class TestMessengerStoryV26Only:
    @pytest.fixture
    def clock(self) -> ManualClock:
        return ManualClock(start=V26_ONLY)

    async def test_v25_keeps_story_and_v26_drops_it(self, graph: Graph) -> None:
        campaign_id = await create_campaign(graph)
        kept = await create_adset(graph, campaign_id, targeting=t(**MESSENGER))
        dropped = await create_adset(on(graph, "v26.0"), campaign_id, targeting=t(**MESSENGER))
        assert (await targeting_of(graph, kept))["messenger_positions"] == [
            "messenger_home",
            "story",
        ]
        assert (await targeting_of(graph, dropped))["messenger_positions"] == ["messenger_home"]


async def test_story_dropped_on_every_version_after_2026_10_27(
    graph: Graph, client: httpx2.AsyncClient
) -> None:
    """v25, and an unversioned call, read back without story; so does an update."""
    campaign_id = await create_campaign(graph)
    adset_id = await create_adset(graph, campaign_id, targeting=t(**MESSENGER))
    assert (await targeting_of(graph, adset_id))["messenger_positions"] == ["messenger_home"]
    unversioned = await client.post(
        f"/{INR_ACCOUNT}/adsets",
        params={"access_token": TOKEN},
        data=adset_params(campaign_id, targeting=t(**MESSENGER)),
    )
    assert unversioned.status_code == 200, unversioned.text
    assert (await targeting_of(graph, unversioned.json()["id"]))["messenger_positions"] == [
        "messenger_home"
    ]
    other = await create_adset(graph, campaign_id)
    response = await graph.post(other, **form(targeting=t(**MESSENGER)))
    assert response.json() == {"success": True}
    assert (await targeting_of(graph, other))["messenger_positions"] == ["messenger_home"]


# -- §13.2 Instagram Explore feed: refused -------------------------------------------------------


class TestExploreV26Only:
    @pytest.fixture
    def clock(self) -> ManualClock:
        return ManualClock(start=V26_ONLY)

    async def test_v25_accepts_explore_and_v26_refuses_it(self, graph: Graph) -> None:
        campaign_id = await create_campaign(graph)
        await create_adset(graph, campaign_id, targeting=t(**INSTAGRAM_EXPLORE))
        response = await on(graph, "v26.0").post(
            f"{INR_ACCOUNT}/adsets", **adset_params(campaign_id, targeting=t(**INSTAGRAM_EXPLORE))
        )
        assert_error(response, 100, None, ["targeting", "instagram_positions"])
        assert "explore_home" in user_msg(response)


async def test_explore_refused_everywhere_but_explore_home_still_served(graph: Graph) -> None:
    campaign_id = await create_campaign(graph)
    refused = await graph.post(
        f"{INR_ACCOUNT}/adsets", **adset_params(campaign_id, targeting=t(**INSTAGRAM_EXPLORE))
    )
    assert_error(refused, 100, None, ["targeting", "instagram_positions"])
    home = {"publisher_platforms": ["instagram"], "instagram_positions": ["stream", "explore_home"]}
    adset_id = await create_adset(graph, campaign_id, targeting=t(**home))
    assert (await targeting_of(graph, adset_id))["instagram_positions"] == [
        "stream",
        "explore_home",
    ]


# -- §13.1/§13.2 advantage_audience: defaults to 1, explicit in restricted categories ------------

NO_FLAG = t(targeting_automation=None)
FLAG_PATH = ["targeting", "targeting_automation", "advantage_audience"]


async def test_missing_flag_defaults_to_advantage_audience_on(graph: Graph) -> None:
    """Outside housing, employment and financial campaigns the flag defaults to 1 (§13.1)."""
    campaign_id = await create_campaign(graph)
    adset_id = await create_adset(graph, campaign_id, targeting=NO_FLAG)
    assert (await targeting_of(graph, adset_id))["targeting_automation"] == {
        "advantage_audience": 1
    }


@pytest.mark.parametrize("category", ["HOUSING", "EMPLOYMENT", "FINANCIAL_PRODUCTS_SERVICES"])
async def test_restricted_categories_need_the_flag(graph: Graph, category: str) -> None:
    campaign_id = await create_campaign(graph, special_ad_categories=[category])
    response = await graph.post(
        f"{INR_ACCOUNT}/adsets", **adset_params(campaign_id, targeting=NO_FLAG)
    )
    assert_error(response, 100, 1870227, FLAG_PATH)
    assert "targeting_automation.advantage_audience" in user_msg(response)
    await create_adset(graph, campaign_id, targeting=TARGETING)  # explicit 0 is fine


async def test_restricted_update_needs_the_flag_too(graph: Graph) -> None:
    campaign_id = await create_campaign(graph, special_ad_categories=["HOUSING"])
    adset_id = await create_adset(graph, campaign_id)
    response = await graph.post(adset_id, **form(targeting=NO_FLAG))
    assert_error(response, 100, 1870227, FLAG_PATH)


class TestAdvantageFlagV26Only:
    @pytest.fixture
    def clock(self) -> ManualClock:
        return ManualClock(start=V26_ONLY)

    async def test_v25_defaults_in_housing_and_v26_requires(self, graph: Graph) -> None:
        campaign_id = await create_campaign(graph, special_ad_categories=["HOUSING"])
        adset_id = await create_adset(graph, campaign_id, targeting=NO_FLAG)
        automation = (await targeting_of(graph, adset_id))["targeting_automation"]
        assert automation == {"advantage_audience": 1}
        response = await on(graph, "v26.0").post(
            f"{INR_ACCOUNT}/adsets", **adset_params(campaign_id, targeting=NO_FLAG)
        )
        assert_error(response, 100, 1870227, FLAG_PATH)


# -- §13.2 survey creatives ----------------------------------------------------------------------

SURVEY = {"components": [{"type": "survey", "survey_spec": {"question": "Tea or coffee?"}}]}


async def creative(graph: Graph, sandbox: Sandbox, **extra: Any) -> httpx2.Response:
    spec = story(image_hash=add_image(sandbox), call_to_action={"type": "SHOP_NOW"})
    return await graph.post(
        f"{INR_ACCOUNT}/adcreatives", name="Beans", object_story_spec=spec, **form(**extra)
    )


async def ad(graph: Graph, adset_id: str, creative_id: str) -> httpx2.Response:
    return await graph.post(
        f"{INR_ACCOUNT}/ads",
        **form(name="Ad", adset_id=adset_id, creative={"creative_id": creative_id}),
    )


class TestSurveyV26Only:
    @pytest.fixture
    def clock(self) -> ManualClock:
        return ManualClock(start=V26_ONLY)

    async def test_v25_makes_survey_creatives_and_v26_refuses(
        self, graph: Graph, sandbox: Sandbox
    ) -> None:
        survey_id = created_id(await creative(graph, sandbox, interactive_components_spec=SURVEY))
        v26 = on(graph, "v26.0")
        refused = await creative(v26, sandbox, interactive_components_spec=SURVEY)
        assert_error(refused, 100, None, ["interactive_components_spec"])
        campaign_id = await create_campaign(graph)
        adset_id = await create_adset(graph, campaign_id)
        plain_id = created_id(await creative(graph, sandbox))
        ad_id = created_id(await ad(graph, adset_id, plain_id))
        switch = form(creative={"creative_id": survey_id})
        assert_error(await v26.post(ad_id, **switch), 100, None, ["creative"])
        assert_error(await ad(v26, adset_id, survey_id), 100, None, ["creative"])
        assert (await graph.post(ad_id, **switch)).json() == {"success": True}


async def test_inline_survey_creative_refused_under_creative(
    graph: Graph, sandbox: Sandbox
) -> None:
    campaign_id = await create_campaign(graph)
    adset_id = await create_adset(graph, campaign_id)
    inline = {
        "object_story_spec": json.loads(story(image_hash=add_image(sandbox))),
        "interactive_components_spec": SURVEY,
    }
    response = await graph.post(
        f"{INR_ACCOUNT}/ads", **form(name="Ad", adset_id=adset_id, creative=inline)
    )
    assert_error(response, 100, None, ["creative", "interactive_components_spec"])


# -- §13.2 web_only creatives in website-and-app ad sets -----------------------------------------


async def test_web_only_creative_refused_in_website_and_app_ad_sets(
    graph: Graph, sandbox: Sandbox
) -> None:
    campaign_id = await sales_campaign(graph)
    both = await sales_adset(graph, campaign_id, destination_type="APPLINKS_AUTOMATIC")
    website = await sales_adset(graph, campaign_id, destination_type="WEBSITE")
    both_id, website_id = created_id(both), created_id(website)
    web_only = created_id(await creative(graph, sandbox, applink_treatment="web_only"))
    automatic = created_id(await creative(graph, sandbox, applink_treatment="automatic"))
    assert_error(await ad(graph, both_id, web_only), 100, None, ["creative"])
    ad_id = created_id(await ad(graph, both_id, automatic))
    switch = await graph.post(ad_id, **form(creative={"creative_id": web_only}))
    assert_error(switch, 100, None, ["creative"])
    created_id(await ad(graph, website_id, web_only))  # a website-only ad set takes it
    body = (await graph.get(web_only, fields="applink_treatment")).json()
    assert body["applink_treatment"] == "web_only"


async def test_unknown_applink_treatment_is_refused(graph: Graph, sandbox: Sandbox) -> None:
    response = await creative(graph, sandbox, applink_treatment="app_only")
    assert_error(response, 100, None, ["applink_treatment"])


class TestWebOnlyV26Only:
    @pytest.fixture
    def clock(self) -> ManualClock:
        return ManualClock(start=V26_ONLY)

    async def test_v25_allows_and_v26_refuses(self, graph: Graph, sandbox: Sandbox) -> None:
        campaign_id = await sales_campaign(graph)
        both_id = created_id(
            await sales_adset(graph, campaign_id, destination_type="APPLINKS_AUTOMATIC")
        )
        web_only = created_id(await creative(graph, sandbox, applink_treatment="web_only"))
        assert_error(await ad(on(graph, "v26.0"), both_id, web_only), 100, None, ["creative"])
        created_id(await ad(graph, both_id, web_only))


# -- §13.2 delivery estimate fields --------------------------------------------------------------

REMOVED_ESTIMATES = ("daily_outcomes_curve", "budget_guardrail", "estimate_dau")


async def estimate(graph: Graph) -> dict[str, Any]:
    response = await graph.get(
        f"{INR_ACCOUNT}/delivery_estimate",
        targeting_spec=json.dumps({"geo_locations": {"countries": ["IN"]}}),
        optimization_goal="LINK_CLICKS",
    )
    assert response.status_code == 200, response.text
    row: dict[str, Any] = response.json()["data"][0]
    return row


async def test_delivery_estimate_omits_removed_fields(graph: Graph) -> None:
    row = await estimate(graph)
    assert not set(REMOVED_ESTIMATES) & set(row)
    assert row["estimate_mau_upper_bound"] > row["estimate_mau_lower_bound"] > 0


class TestDeliveryEstimateV26Only:
    @pytest.fixture
    def clock(self) -> ManualClock:
        return ManualClock(start=V26_ONLY)

    async def test_v25_still_has_curve_and_dau_and_v26_not(self, graph: Graph) -> None:
        old = await estimate(graph)
        assert old["daily_outcomes_curve"]
        assert old["estimate_dau"] > 0
        new = await estimate(on(graph, "v26.0"))
        assert not set(REMOVED_ESTIMATES) & set(new)


# -- §13.2 legacy Advantage+ shopping campaigns --------------------------------------------------


class TestLegacyShoppingPause:
    """A v24 ASC campaign splitting budget by existing customers pauses at the v26 release."""

    @pytest.fixture
    def clock(self) -> ManualClock:
        return ManualClock(start=BEFORE_V26)

    async def test_paused_from_2026_07_29(self, graph: Graph, clock: ManualClock) -> None:
        v24 = on(graph, "v24.0")
        campaign_id = await sales_campaign(
            v24, status="ACTIVE", smart_promotion_type="AUTOMATED_SHOPPING_ADS"
        )
        adset_id = created_id(
            await sales_adset(
                v24, campaign_id, status="ACTIVE", existing_customer_budget_percentage=20
            )
        )
        plain_id = await sales_campaign(v24, status="ACTIVE")
        fields = "status,effective_status"
        assert (await graph.get(campaign_id, fields=fields)).json()["effective_status"] == "ACTIVE"
        clock.advance(29 * DAY)  # 2026-07-30
        campaign = (await graph.get(campaign_id, fields=fields)).json()
        assert (campaign["status"], campaign["effective_status"]) == ("ACTIVE", "PAUSED")
        adset = (await graph.get(adset_id, fields=fields)).json()
        assert adset["effective_status"] == "CAMPAIGN_PAUSED"
        assert (await graph.get(plain_id, fields=fields)).json()["effective_status"] == "ACTIVE"


async def test_existing_customer_budget_percentage_refused(graph: Graph) -> None:
    campaign_id = await sales_campaign(graph)
    response = await sales_adset(graph, campaign_id, existing_customer_budget_percentage=20)
    assert_error(response, 100, None, ["existing_customer_budget_percentage"])


# -- §13.3 v27 other mobile devices --------------------------------------------------------------

DEVICES = t(user_os=["iOS_ver_14.0_and_above"])
DEVICE_OFF = t(
    user_os=["iOS_ver_14.0_and_above"],
    targeting_automation={"advantage_audience": 0, "individual_setting": {"device": 0}},
)


async def test_v27_sales_device_ad_sets_reach_other_devices_by_default(graph: Graph) -> None:
    v27 = on(graph, "v27.0")
    campaign_id = await sales_campaign(graph)
    on_id = created_id(await sales_adset(v27, campaign_id, targeting=DEVICES))
    off_id = created_id(await sales_adset(v27, campaign_id, targeting=DEVICE_OFF))
    old_id = created_id(await sales_adset(graph, campaign_id, targeting=DEVICES))
    automation = (await targeting_of(graph, on_id))["targeting_automation"]
    assert automation == {"advantage_audience": 0, "individual_setting": {"device": 1}}
    off = (await targeting_of(graph, off_id))["targeting_automation"]
    assert off["individual_setting"] == {"device": 0}
    assert "individual_setting" not in (await targeting_of(graph, old_id))["targeting_automation"]
    traffic_id = await create_campaign(graph)
    traffic = await create_adset(v27, traffic_id, targeting=DEVICES)
    assert "individual_setting" not in (await targeting_of(graph, traffic))["targeting_automation"]


async def test_device_setting_must_be_0_or_1(graph: Graph) -> None:
    campaign_id = await sales_campaign(graph)
    bad = t(targeting_automation={"advantage_audience": 0, "individual_setting": {"device": 2}})
    response = await sales_adset(on(graph, "v27.0"), campaign_id, targeting=bad)
    assert_error(
        response, 100, None, ["targeting", "targeting_automation", "individual_setting", "device"]
    )


class TestOtherDevicesEverywhere:
    @pytest.fixture
    def clock(self) -> ManualClock:
        return ManualClock(start=datetime(2027, 2, 3, 12, tzinfo=UTC).timestamp())

    async def test_v25_gets_the_default_after_90_days(self, graph: Graph) -> None:
        campaign_id = await sales_campaign(graph)
        adset_id = created_id(await sales_adset(graph, campaign_id, targeting=DEVICES))
        automation = (await targeting_of(graph, adset_id))["targeting_automation"]
        assert automation["individual_setting"] == {"device": 1}


# -- §13.4 creative features, Brazil regulation, instagram_profile_visits ------------------------

ANIMATION = {
    "creative_features_spec": {
        "image_animation": {"enroll_status": "OPT_OUT"},
        "video_filtering": {"enroll_status": "OPT_IN"},
    }
}


async def test_image_animation_and_video_filtering_accepted(graph: Graph, sandbox: Sandbox) -> None:
    creative_id = created_id(await creative(graph, sandbox, degrees_of_freedom_spec=ANIMATION))
    body = (await graph.get(creative_id, fields="degrees_of_freedom_spec")).json()
    assert body["degrees_of_freedom_spec"] == ANIMATION


class TestCreativeFeaturesBefore:
    @pytest.fixture
    def clock(self) -> ManualClock:
        return ManualClock(start=datetime(2026, 6, 1, tzinfo=UTC).timestamp())

    async def test_refused_before_2026_06_28(self, graph: Graph, sandbox: Sandbox) -> None:
        response = await creative(graph, sandbox, degrees_of_freedom_spec=ANIMATION)
        path = ["degrees_of_freedom_spec", "creative_features_spec", "image_animation"]
        assert_error(response, 100, None, path)


BRAZIL = {"regional_regulated_categories": ["BRAZIL_REGULATION"]}


@pytest.mark.parametrize(
    ("identities", "missing"),
    [
        pytest.param(None, "beneficiary", id="none"),
        pytest.param({"universal_payer": "111"}, "beneficiary", id="payer-only"),
        pytest.param({"universal_beneficiary": "222"}, "payer", id="beneficiary-only"),
    ],
)
async def test_brazil_regulation_needs_beneficiary_and_payer(
    graph: Graph, identities: dict[str, str] | None, missing: str
) -> None:
    campaign_id = await create_campaign(graph)
    extra = {**BRAZIL, "regional_regulation_identities": identities} if identities else BRAZIL
    response = await graph.post(f"{INR_ACCOUNT}/adsets", **adset_params(campaign_id, **extra))
    key = f"universal_{missing}"
    error = assert_error(response, 100, None, ["regional_regulation_identities", key])
    assert f"No {missing} provided" in error["message"]


async def test_brazil_regulation_with_both_identities_reads_back(graph: Graph) -> None:
    campaign_id = await create_campaign(graph)
    identities = {"universal_beneficiary": "222", "universal_payer": "111"}
    adset_id = await create_adset(
        graph, campaign_id, **BRAZIL, regional_regulation_identities=identities
    )
    fields = "regional_regulated_categories,regional_regulation_identities"
    body = (await graph.get(adset_id, fields=fields)).json()
    assert body["regional_regulated_categories"] == ["BRAZIL_REGULATION"]
    assert body["regional_regulation_identities"] == identities


class TestBrazilBefore:
    @pytest.fixture
    def clock(self) -> ManualClock:
        return ManualClock(start=datetime(2025, 12, 1, tzinfo=UTC).timestamp())

    async def test_unknown_before_2025_12_08(self, graph: Graph) -> None:
        campaign_id = await create_campaign(graph)
        response = await graph.post(f"{INR_ACCOUNT}/adsets", **adset_params(campaign_id, **BRAZIL))
        assert_error(response, 100, None, ["regional_regulated_categories"])


async def test_instagram_profile_visits_is_an_insights_field(
    graph: Graph, sandbox: Sandbox
) -> None:
    """Listed by the SDK (v26.0.3) and the sandbox's insights fields (§13.4, 2025-10-29).

    Accepted, not refused as unknown. The sandbox computes no value for it yet (insights are
    another part's; reported there), so only acceptance is asserted.
    """
    seed_tree(sandbox)
    response = await graph.get(
        f"{INR_ACCOUNT}/insights", fields="instagram_profile_visits,impressions"
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]


# -- the v26 calendar itself ----------------------------------------------------------------------


class TestBeforeV26:
    @pytest.fixture
    def clock(self) -> ManualClock:
        return ManualClock(start=BEFORE_V26)

    async def test_v26_calls_before_the_release_see_nothing_new(
        self, graph: Graph, sandbox: Sandbox
    ) -> None:
        v26 = on(graph, "v26.0")
        campaign_id = await create_campaign(v26)
        adset_id = await create_adset(v26, campaign_id, targeting=t(**MESSENGER))
        assert "story" in (await targeting_of(graph, adset_id))["messenger_positions"]
        assert (await estimate(v26))["estimate_dau"] > 0


class TestEveryVersionFrom20261027:
    """The day v26 items reach every version: 2026-10-26 is still old, 2026-10-27 is new."""

    @pytest.fixture
    def clock(self) -> ManualClock:
        return ManualClock(start=datetime(2026, 10, 26, 23, 59, tzinfo=UTC).timestamp())

    async def test_v25_changes_at_midnight_utc(self, graph: Graph, clock: ManualClock) -> None:
        campaign_id = await create_campaign(graph)
        before = await create_adset(graph, campaign_id, targeting=t(**MESSENGER))
        assert "story" in (await targeting_of(graph, before))["messenger_positions"]
        clock.advance(60)
        after = await create_adset(graph, campaign_id, targeting=t(**MESSENGER))
        assert "story" not in (await targeting_of(graph, after))["messenger_positions"]
