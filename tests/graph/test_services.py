"""The family services against the sandbox: each verb's path, params and model, dry runs,
the priority lane for pauses, and the facade that hangs them off ``GraphClient``.

The helpers at the top build an object tree through the services; ``test_models`` and
``test_pagination`` reuse them.
"""

from __future__ import annotations

import asyncio
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError
from starlette.applications import Starlette

from meta_agent import errors
from meta_agent.graph.client import GraphClient
from meta_agent.graph.guard import UNGUARDED
from meta_agent.graph.models import (
    ActionValue,
    AdAccount,
    AdCreative,
    CallToAction,
    InsightsRow,
    LinkData,
    Money,
    ObjectStorySpec,
    TargetingSpec,
)
from meta_agent.graph.requestor import CallOptions, Requestor
from meta_agent.graph.services import (
    AccountService,
    AdCreate,
    AdCreativeCreate,
    AdCreativeService,
    AdCreativeUpdate,
    AdService,
    AdSetCreate,
    AdSetService,
    CampaignCreate,
    CampaignService,
    CampaignUpdate,
    CreativeRef,
    ImageService,
    InsightsQuery,
    InsightsService,
    TargetingService,
    TimeRange,
)
from meta_agent.graph.settings import GraphSettings
from meta_agent.sandbox import ManualClock, Sandbox, parse_fault_spec
from tests.conftest import INR_ACCOUNT, PAGE_ID, TOKEN, USD_ACCOUNT
from tests.contract.test_creatives import add_image
from tests.contract.test_insights import seed_tree
from tests.graph.conftest import make_requestor

TARGETING = TargetingSpec(
    geo_locations={"countries": ["IN"]},
    age_min=25,
    targeting_automation={"advantage_audience": 0},
)
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)


def campaign_spec(name: str = "Coffee traffic", **changes: object) -> CampaignCreate:
    """A traffic campaign with ad-set budgets."""
    values: dict[str, object] = {
        "name": name,
        "objective": "OUTCOME_TRAFFIC",
        "is_adset_budget_sharing_enabled": False,
        **changes,
    }
    return CampaignCreate.model_validate(values)


async def make_campaign(requestor: Requestor, name: str = "Coffee traffic") -> str:
    """A campaign in the INR account; returns its id."""
    created = await CampaignService(requestor).create(INR_ACCOUNT, campaign_spec(name))
    assert created.id is not None
    return created.id


async def make_adset(requestor: Requestor, campaign_id: str) -> str:
    """A link-click ad set with a ₹500 daily budget; returns its id."""
    spec = AdSetCreate(
        name="Coffee lovers",
        campaign_id=campaign_id,
        billing_event="IMPRESSIONS",
        optimization_goal="LINK_CLICKS",
        daily_budget=50_000,
        bid_amount=1_500,
        targeting=TARGETING,
    )
    created = await AdSetService(requestor).create(INR_ACCOUNT, spec)
    assert created.id is not None
    return created.id


async def make_creative(requestor: Requestor, sandbox: Sandbox) -> str:
    """A link creative on the seeded Page using an image in the library; returns its id."""
    story = ObjectStorySpec(
        page_id=PAGE_ID,
        link_data=LinkData(
            link="https://example.com/coffee",
            message="Fresh beans daily",
            image_hash=add_image(sandbox),
            call_to_action=CallToAction(type="SHOP_NOW"),
        ),
    )
    spec = AdCreativeCreate(name="Beans", object_story_spec=story)
    created = await AdCreativeService(requestor).create(INR_ACCOUNT, spec)
    assert created.id is not None
    return created.id


async def make_tree(requestor: Requestor, sandbox: Sandbox) -> dict[str, str]:
    """Campaign, ad set, creative and ad, all PAUSED; returns their ids by kind."""
    campaign = await make_campaign(requestor)
    adset = await make_adset(requestor, campaign)
    creative = await make_creative(requestor, sandbox)
    spec = AdCreate(name="Ad", adset_id=adset, creative=CreativeRef(creative_id=creative))
    created = await AdService(requestor).create(INR_ACCOUNT, spec)
    assert created.id is not None
    return {"campaign": campaign, "adset": adset, "creative": creative, "ad": created.id}


def stored(sandbox: Sandbox, kind: str) -> list[dict[str, object]]:
    """The sandbox's records of one kind."""
    return list(sandbox.state.of_kind(kind))


# -- campaigns ------------------------------------------------------------------------------------


async def test_campaign_life_cycle(requestor: Requestor, sandbox: Sandbox) -> None:
    """create → get → update → pause → delete, each one call, each seen in the sandbox."""
    campaigns = CampaignService(requestor)
    created = await campaigns.create(INR_ACCOUNT, campaign_spec(status="ACTIVE"))
    assert created.id is not None
    assert not created.validated_only
    assert (await campaigns.get(created.id)).effective_status == "ACTIVE"
    await campaigns.update(created.id, CampaignUpdate(name="Renamed"))
    await campaigns.pause(created.id)
    campaign = await campaigns.get(created.id, fields=["name", "status"])
    assert (campaign.name, campaign.status) == ("Renamed", "PAUSED")
    await campaigns.delete(created.id)
    assert (await campaigns.get(created.id, ["status"])).status == "DELETED"
    assert [c.id async for c in campaigns.list(INR_ACCOUNT)] == []


async def test_validate_only_creates_nothing(requestor: Requestor, sandbox: Sandbox) -> None:
    """A dry-run create is checked by Meta, returns no id, and stores nothing."""
    created = await CampaignService(requestor).create(
        INR_ACCOUNT, campaign_spec(), validate_only=True
    )
    assert created.validated_only
    assert created.id is None
    assert created.success is True
    assert stored(sandbox, "campaign") == []


async def test_validate_only_still_reports_invalid_input(requestor: Requestor) -> None:
    """A dry run of an invalid campaign raises Meta's error with its blame field."""
    spec = campaign_spec(is_adset_budget_sharing_enabled=None)
    with pytest.raises(errors.InvalidParameterError) as caught:
        await CampaignService(requestor).create(INR_ACCOUNT, spec, validate_only=True)
    assert caught.value.blame_fields == [["is_adset_budget_sharing_enabled"]]


async def test_validate_only_update_changes_nothing(requestor: Requestor) -> None:
    """A dry-run update leaves the campaign as it was."""
    campaigns = CampaignService(requestor)
    campaign_id = await make_campaign(requestor)
    await campaigns.update(campaign_id, CampaignUpdate(name="Never"), validate_only=True)
    assert (await campaigns.get(campaign_id, ["name"])).name == "Coffee traffic"


async def test_dropped_create_carries_its_idempotency_key(
    requestor: Requestor, sandbox: Sandbox
) -> None:
    """A create lost after the commit raises OutcomeUnknownError with the caller's key."""
    sandbox.faults.replace(parse_fault_spec("drop_after_commit:method=POST,nth=1"))
    with pytest.raises(errors.OutcomeUnknownError) as caught:
        await CampaignService(requestor).create(
            INR_ACCOUNT, campaign_spec(), idempotency_key="run-7:campaign"
        )
    assert caught.value.details["idempotency_key"] == "run-7:campaign"
    assert len(stored(sandbox, "campaign")) == 1


def test_write_specs_are_strict() -> None:
    """Budgets are integers in minor units: a string or a float is refused before sending."""
    with pytest.raises(ValidationError):
        campaign_spec(daily_budget="1000")
    with pytest.raises(ValidationError):
        campaign_spec(daily_budget=10.5)
    assert campaign_spec(daily_budget=1000).to_params()["daily_budget"] == 1000


class TestPriorityLane:
    """A pause is never queued behind other calls waiting for the same pacing slot."""

    async def test_pause_skips_a_full_queue(self, app: Starlette, clock: ManualClock) -> None:
        """With the only slot taken, a pause still goes out; a plain update waits."""
        requestor = make_requestor(app, clock, max_concurrency=1)
        campaigns = CampaignService(requestor)
        campaign_id = await make_campaign(requestor)
        key = requestor.pacing_key(campaign_id, CallOptions())
        async with requestor.pacer.slot(key):  # a bulk read holding the slot
            update = asyncio.create_task(campaigns.update(campaign_id, CampaignUpdate(name="x")))
            await asyncio.wait_for(campaigns.pause(campaign_id), timeout=5)
            for _ in range(20):
                await asyncio.sleep(0)
            assert not update.done()
        await update
        assert (await campaigns.get(campaign_id, ["status"])).status == "PAUSED"


# -- ad sets, creatives, ads ----------------------------------------------------------------------


async def test_adset_reads_back_typed(requestor: Requestor) -> None:
    """An ad set's budget, bid, targeting and times come back typed."""
    campaign_id = await make_campaign(requestor)
    adsets = AdSetService(requestor)
    adset = await adsets.get(await make_adset(requestor, campaign_id))
    assert (adset.daily_budget, adset.bid_amount) == (50_000, 1_500)
    assert adset.budget("INR") == Money(amount_minor=50_000, currency="INR")
    assert adset.targeting is not None
    assert adset.targeting.age_min == 25
    assert adset.start_time is not None
    assert adset.start_time.utcoffset() is not None
    assert [a.id async for a in adsets.list_for_campaign(campaign_id)] == [adset.id]


async def test_creative_create_rename_and_read(requestor: Requestor, sandbox: Sandbox) -> None:
    """A creative is created from a typed story spec; only its name can change."""
    creatives = AdCreativeService(requestor)
    creative_id = await make_creative(requestor, sandbox)
    await creatives.update(creative_id, AdCreativeUpdate(name="Beans v2"))
    creative = await creatives.get(creative_id)
    assert creative.name == "Beans v2"
    assert creative.object_story_spec is not None
    assert creative.object_story_spec.link_data is not None
    cta = creative.object_story_spec.link_data.call_to_action
    assert cta is not None
    assert cta.type == "SHOP_NOW"


async def test_ad_create_list_pause(requestor: Requestor, sandbox: Sandbox) -> None:
    """An ad shows its creative, lists under its ad set, and pauses."""
    ids = await make_tree(requestor, sandbox)
    ads = AdService(requestor)
    ad = await ads.get(ids["ad"], ["name", "creative{id,name}", "adset_id"])
    assert isinstance(ad.creative, AdCreative)
    assert ad.creative.name == "Beans"
    assert [a.id async for a in ads.list_for_adset(ids["adset"])] == [ids["ad"]]
    await ads.activate(ids["ad"])
    await ads.pause(ids["ad"])
    assert (await ads.get(ids["ad"], ["status"])).status == "PAUSED"


async def test_missing_object_raises_not_found(requestor: Requestor) -> None:
    """Services do not catch: a missing ad arrives as NotFoundError."""
    with pytest.raises(errors.NotFoundError):
        await AdService(requestor).get("424242424242")


# -- accounts -------------------------------------------------------------------------------------


async def test_accounts_and_pages(requestor: Requestor) -> None:
    """me, me/adaccounts, act_X and me/accounts parse; money is Money, tokens stay secret."""
    accounts = AccountService(requestor)
    assert (await accounts.me()).name == "Sandbox Marketer"
    listed = await accounts.ad_accounts(fields=["name", "amount_spent"]).collect()
    assert {a.id for a in listed} >= {INR_ACCOUNT, USD_ACCOUNT}
    assert all(isinstance(a.amount_spent, Money) for a in listed)
    inr = await accounts.get("1234567890")
    assert isinstance(inr, AdAccount)
    assert inr.currency == "INR"
    assert inr.timezone_offset_hours_utc == Decimal("5.5")
    assert inr.money(4_000) == Money(amount_minor=4_000, currency="INR")
    pages = await accounts.pages(fields=["name", "access_token"]).collect()
    assert pages[0].id == PAGE_ID
    assert isinstance(pages[0].access_token, SecretStr)
    assert "sandbox-page-token" not in repr(pages[0])


# -- images and targeting -----------------------------------------------------------------------


async def test_image_upload_by_bytes_and_file(
    requestor: Requestor, sandbox: Sandbox, tmp_path: Path
) -> None:
    """Bytes and multipart uploads both give AdImages whose hashes list back."""
    images = ImageService(requestor)
    first = await images.upload_bytes(INR_ACCOUNT, PNG, name="dot.png")
    path = tmp_path / "hero.png"
    path.write_bytes(PNG + b"\x00")
    second = await images.upload_file(INR_ACCOUNT, path)
    assert first.id == f"1234567890:{first.hash}"
    assert first.name == "dot.png"
    assert (first.width, first.height) == (1, 1)
    found = await images.list_by_hashes(INR_ACCOUNT, [first.hash, second.hash]).collect()
    assert {image.hash for image in found} == {first.hash, second.hash}
    await images.delete(INR_ACCOUNT, first.hash)
    assert [i.hash async for i in images.list(INR_ACCOUNT)] == [second.hash]


async def test_several_images_upload_in_one_request(requestor: Requestor, sandbox: Sandbox) -> None:
    """Three files go out as one multipart request and come back as three AdImages."""
    before = sandbox.counters.total
    sources = [(f"img{i}.png", PNG + bytes([i])) for i in range(3)]
    uploaded = await ImageService(requestor).upload_files(INR_ACCOUNT, sources)
    assert sandbox.counters.total - before == 1
    assert sorted(image.name or "" for image in uploaded) == ["img0.png", "img1.png", "img2.png"]
    assert len({image.hash for image in uploaded}) == 3


async def test_targeting_search(requestor: Requestor) -> None:
    """Interest, place, locale and category searches parse into typed options."""
    targeting = TargetingService(requestor)
    interests = await targeting.search_interests("coffee", limit=5)
    assert interests
    assert all(isinstance(i.audience_size_lower_bound, int) for i in interests)
    related = await targeting.suggest_interests([interests[0].name])
    assert interests[0].id not in {option.id for option in related}
    checked = await targeting.validate_interests(names=[interests[0].name, "no such thing"])
    assert [option.valid for option in checked] == [True, False]
    places = await targeting.search_geolocations("Mumbai", location_types=["city"])
    assert places
    assert places[0].type == "city"
    assert places[0].country_code == "IN"
    locales = await targeting.search_locales("English")
    assert locales
    assert isinstance(locales[0].key, int)
    assert await targeting.browse("behaviors")
    assert await targeting.detailed_search(INR_ACCOUNT, "coffee", classes=["interests"])


async def test_reach_estimate(requestor: Requestor) -> None:
    """A targeting spec is sized as an integer range."""
    estimate = await TargetingService(requestor).reach_estimate(INR_ACCOUNT, TARGETING)
    assert 0 < estimate.users_lower_bound <= estimate.users_upper_bound
    assert estimate.estimate_ready is True


# -- insights -------------------------------------------------------------------------------------


async def test_insights_rows_parse(requestor: Requestor, sandbox: Sandbox) -> None:
    """Sync insights per ad and day: counts int, money Decimal, actions typed, dates date."""
    tree = seed_tree(sandbox, ads=2)
    listing = InsightsService(requestor).get(
        INR_ACCOUNT,
        fields=["ad_id", "account_currency", "impressions", "clicks", "spend", "ctr", "actions"],
        level="ad",
        time_range=TimeRange(since=date(2026, 11, 10), until=date(2026, 11, 12)),
        time_increment=1,
        action_attribution_windows=["1d_click", "7d_click"],
        page_size=4,
    )
    rows = await listing.collect()
    assert len(rows) == 6
    assert {row.ad_id for row in rows} == set(tree["ads"])
    row = rows[0]
    assert isinstance(row, InsightsRow)
    assert isinstance(row.impressions, int)
    assert isinstance(row.spend, Decimal)
    assert isinstance(row.ctr, Decimal)
    assert row.date_start == row.date_stop == date(2026, 11, 10)
    spend = row.spend_money()
    assert spend is not None
    assert spend.currency == "INR"
    assert spend.major == row.spend
    assert row.actions
    assert isinstance(row.actions[0], ActionValue)
    assert set(row.actions[0].windows) <= {"1d_click", "7d_click"}


def test_insights_query_refuses_contradictions() -> None:
    """A preset and a range together, or a 91-day increment, are refused before sending."""
    span = TimeRange(since=date(2026, 1, 1), until=date(2026, 1, 31))
    with pytest.raises(ValidationError):
        InsightsQuery(date_preset="last_7d", time_range=span)
    with pytest.raises(ValidationError):
        InsightsQuery(time_increment=91)
    params = InsightsQuery(fields=["spend"], time_range=span, breakdowns=["age"]).to_params()
    assert params["fields"] == "spend"
    assert params["time_range"] == {"since": "2026-01-01", "until": "2026-01-31"}


# -- the facade -----------------------------------------------------------------------------------


async def test_graph_client_hangs_the_services_off_one_requestor(
    app: Starlette, clock: ManualClock, sandbox: Sandbox
) -> None:
    """``GraphClient`` exposes every family, all sharing its requestor."""
    settings = GraphSettings(
        access_token=SecretStr(TOKEN), base_url="http://sandbox", version="v25.0"
    )
    async with GraphClient(
        settings, app=app, now=clock.now, sleep=clock.sleep, guard=UNGUARDED
    ) as graph:
        created = await graph.campaigns.create(INR_ACCOUNT, campaign_spec())
        assert created.id is not None
        assert (await graph.campaigns.get(created.id)).objective == "OUTCOME_TRAFFIC"
        services = [
            graph.accounts,
            graph.campaigns,
            graph.adsets,
            graph.creatives,
            graph.ads,
            graph.images,
            graph.targeting,
            graph.insights,
        ]
        assert all(service._requestor is graph.requestor for service in services)
