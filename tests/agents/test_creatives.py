"""The AdCreationAgent end to end against the sandbox: creatives of each kind, ads, a creative
and its ad in one request, replacing an ad's creative and undoing it, validation by field
path, and creates whose answer was lost reconciled by their idempotency key."""

from __future__ import annotations

from typing import Any

import pytest

from meta_agent import errors
from meta_agent.agents.creative_params import (
    AdParams,
    CarouselCreativeParams,
    ImageCreativeParams,
    VideoCreativeParams,
)
from meta_agent.agents.creatives import AdCreationAgent, ad_spec, creative_spec
from meta_agent.agents.keys import derive_key, key_of
from meta_agent.graph.batch import ref
from meta_agent.graph.client import GraphClient
from meta_agent.sandbox import Sandbox, parse_fault_spec
from tests.conftest import INR_ACCOUNT, PAGE_ID
from tests.graph.test_services import PNG, make_adset, make_campaign

LINK = "https://example.com/coffee"
# An MP4 header (size + "ftyp" box), then filler: the sandbox checks only the container magic.
VIDEO = b"\x00\x00\x00\x18ftypmp42" + bytes(4096)


def image_params(**changes: Any) -> dict[str, Any]:
    """A valid single-image creative, as a caller would send it."""
    return {
        "name": "Fresh beans",
        "page_id": PAGE_ID,
        "link": LINK,
        "message": "Roasted this morning",
        "headline": "Fresh beans daily",
        "call_to_action": "SHOP_NOW",
        "image_ref": "hero",
        **changes,
    }


def cards(count: int, **changes: Any) -> list[dict[str, Any]]:
    """``count`` carousel cards, each with its own link and image asset."""
    return [
        {"link": f"{LINK}/{i}", "image_ref": f"img{i}", "headline": f"Blend {i}", **changes}
        for i in range(count)
    ]


def record(sandbox: Sandbox, object_id: str | None) -> dict[str, Any]:
    """The sandbox's stored record of one object."""
    assert object_id is not None
    found = sandbox.state.find(object_id)
    assert found is not None
    return found


def live(sandbox: Sandbox, kind: str) -> list[dict[str, Any]]:
    """The sandbox's records of one kind that are not deleted."""
    return [r for r in sandbox.state.of_kind(kind) if r.get("status") != "DELETED"]


@pytest.fixture
async def image_hash(graph_client: GraphClient) -> str:
    """The hash of an image uploaded to the INR account."""
    return (await graph_client.images.upload_bytes(INR_ACCOUNT, PNG, name="hero.png")).hash


@pytest.fixture
async def adset_id(graph_client: GraphClient) -> str:
    """A paused traffic campaign's ad set in the INR account."""
    return await make_adset(graph_client.requestor, await make_campaign(graph_client.requestor))


@pytest.fixture
async def creative_id(creative_agent: AdCreationAgent, image_hash: str) -> str:
    """A single-image creative's id."""
    params = ImageCreativeParams.parse(image_params(image_ref=None, image_hash=image_hash))
    made = await creative_agent.create_image_creative(INR_ACCOUNT, params, idempotency_key="c-1")
    assert made.id is not None
    return made.id


# -- creatives ----------------------------------------------------------------------------------


async def test_image_creative_resolves_asset_and_tags_its_name(
    creative_agent: AdCreationAgent, sandbox: Sandbox, image_hash: str
) -> None:
    """An image named by asset becomes link_data with its hash, CTA and link; the name carries the key."""
    params = ImageCreativeParams.parse(image_params())
    made = await creative_agent.create_image_creative(
        INR_ACCOUNT, params, idempotency_key="req-1", assets={"hero": image_hash}
    )
    stored = record(sandbox, made.id)
    link_data = stored["object_story_spec"]["link_data"]
    assert link_data["image_hash"] == image_hash
    assert link_data["call_to_action"] == {"type": "SHOP_NOW", "value": {"link": LINK}}
    assert (link_data["name"], link_data["link"]) == ("Fresh beans daily", LINK)
    assert stored["name"] == made.name
    assert made.name.startswith("Fresh beans [ma:")
    assert key_of(made.name) is not None
    assert (made.kind, made.reconciled) == ("image", False)


async def test_unresolved_image_ref_is_refused_before_sending(
    creative_agent: AdCreationAgent, sandbox: Sandbox
) -> None:
    """An image_ref no asset answers to names the field and sends nothing."""
    before = sandbox.counters.total
    with pytest.raises(errors.RequestValidationError) as caught:
        await creative_agent.create_image_creative(
            INR_ACCOUNT, ImageCreativeParams.parse(image_params()), idempotency_key="k"
        )
    assert caught.value.field == "image_ref"
    assert sandbox.counters.total == before


async def test_video_creative_once_the_video_is_ready(
    creative_agent: AdCreationAgent, graph_client: GraphClient, sandbox: Sandbox, image_hash: str
) -> None:
    """A video uploaded and processed (the manual clock advanced) makes a VIDEO creative."""
    video = await graph_client.videos.upload(INR_ACCOUNT, VIDEO, title="Brew guide")
    params = VideoCreativeParams.parse(
        {
            "name": "Brew guide",
            "page_id": PAGE_ID,
            "video_id": video.video_id,
            "thumbnail_hash": image_hash,
            "title": "How we brew",
            "link": LINK,
            "call_to_action": "LEARN_MORE",
        }
    )
    made = await creative_agent.create_video_creative(INR_ACCOUNT, params, idempotency_key="v")
    stored = record(sandbox, made.id)
    assert (stored["object_type"], stored["video_id"]) == ("VIDEO", video.video_id)
    assert stored["object_story_spec"]["video_data"]["image_hash"] == image_hash
    assert made.kind == "video"


async def test_video_still_processing_is_refused_by_meta(
    creative_agent: AdCreationAgent, graph_client: GraphClient, image_hash: str
) -> None:
    """A video not yet processed is Meta's refusal, blamed on video_data.video_id."""
    video = await graph_client.videos.upload(INR_ACCOUNT, VIDEO, wait=False)
    params = VideoCreativeParams.parse(
        {
            "name": "Early",
            "page_id": PAGE_ID,
            "video_id": video.video_id,
            "thumbnail_hash": image_hash,
        }
    )
    with pytest.raises(errors.InvalidParameterError) as caught:
        await creative_agent.create_video_creative(INR_ACCOUNT, params, idempotency_key="v")
    assert "processing" in caught.value.message


async def test_carousel_creative_has_a_card_per_image(
    creative_agent: AdCreationAgent, graph_client: GraphClient, sandbox: Sandbox
) -> None:
    """Three cards, each with its own image, link, headline and call to action."""
    uploads = [
        await graph_client.images.upload_bytes(INR_ACCOUNT, PNG + bytes([i])) for i in range(3)
    ]
    assets = {f"img{i}": image.hash for i, image in enumerate(uploads)}
    params = CarouselCreativeParams.parse(
        {
            "name": "Blends",
            "page_id": PAGE_ID,
            "link": LINK,
            "message": "Pick yours",
            "cards": cards(3, call_to_action="SHOP_NOW"),
        }
    )
    made = await creative_agent.create_carousel_creative(
        INR_ACCOUNT, params, idempotency_key="carousel", assets=assets
    )
    attachments = record(sandbox, made.id)["object_story_spec"]["link_data"]["child_attachments"]
    assert [card["image_hash"] for card in attachments] == [u.hash for u in uploads]
    assert attachments[2] == {
        "link": f"{LINK}/2",
        "image_hash": uploads[2].hash,
        "name": "Blend 2",
        "call_to_action": {"type": "SHOP_NOW", "value": {"link": f"{LINK}/2"}},
    }


async def test_validate_only_creative_creates_nothing(
    creative_agent: AdCreationAgent, sandbox: Sandbox, image_hash: str
) -> None:
    """A dry run is checked by Meta and stores no creative; the result has no id."""
    params = ImageCreativeParams.parse(image_params(image_ref=None, image_hash=image_hash))
    made = await creative_agent.create_image_creative(
        INR_ACCOUNT, params, idempotency_key="dry", validate_only=True
    )
    assert made.id is None
    assert live(sandbox, "adcreative") == []


# -- validation ---------------------------------------------------------------------------------

CAROUSEL = {"name": "Blends", "page_id": PAGE_ID, "link": LINK}


@pytest.mark.parametrize(
    ("model", "data", "field", "fix"),
    [
        (ImageCreativeParams, image_params(call_to_action="SHOP"), "call_to_action", "LEARN_MORE"),
        (ImageCreativeParams, image_params(link="http://example.com"), "link", "https://"),
        (ImageCreativeParams, image_params(image_hash="abc"), "image_ref", "exactly one"),
        (ImageCreativeParams, image_params(image_ref=None), "image_hash", "exactly one"),
        (ImageCreativeParams, image_params(page="1"), "page", "remove it"),
        (CarouselCreativeParams, {**CAROUSEL, "cards": cards(1)}, "cards", "add cards"),
        (CarouselCreativeParams, {**CAROUSEL, "cards": cards(11)}, "cards", "remove cards"),
        (
            CarouselCreativeParams,
            {**CAROUSEL, "cards": [*cards(3), {"link": "http://a.com", "image_hash": "h"}]},
            "cards[3].link",
            "https://",
        ),
        (
            AdParams,
            {
                "name": "Ad",
                "adset_id": "1",
                "creative": {**CAROUSEL, "kind": "carousel", "cards": [*cards(2), {"link": LINK}]},
            },
            "creative.cards[2].image_hash",
            "exactly one",
        ),
        (AdParams, {"name": "Ad", "creative_id": "1"}, "adset_id", "exactly one"),
        (
            AdParams,
            {"name": "Ad", "adset_id": "1", "creative_id": "2", "url_tags": "a=b"},
            "url_tags",
            "on the creative",
        ),
        (
            VideoCreativeParams,
            {
                "name": "V",
                "page_id": PAGE_ID,
                "video_id": "1",
                "thumbnail_url": f"{LINK}.png",
                "call_to_action": "SHOP_NOW",
            },
            "link",
            "add the link",
        ),
    ],
    ids=[
        "bad-cta",
        "http-link",
        "hash-and-ref",
        "no-image",
        "unknown-field",
        "one-card",
        "eleven-cards",
        "card-link",
        "inline-card-image",
        "no-adset",
        "ad-url-tags",
        "video-cta",
    ],
)
def test_validation_names_the_field_path_and_the_fix(
    model: type[ImageCreativeParams], data: dict[str, Any], field: str, fix: str
) -> None:
    """A bad param is refused with its dotted path as ``field`` and a message saying the fix."""
    with pytest.raises(errors.RequestValidationError) as caught:
        model.parse(data)
    assert caught.value.field == field
    assert caught.value.message.startswith(f"{field}: ")
    assert fix in caught.value.message


# -- ads ----------------------------------------------------------------------------------------


async def test_ad_is_created_paused_and_read_back_through_the_cache(
    creative_agent: AdCreationAgent, sandbox: Sandbox, adset_id: str, creative_id: str
) -> None:
    """An ad shows the creative, PAUSED by default; a second read comes from the cache."""
    params = AdParams.parse({"name": "Beans ad", "adset_id": adset_id, "creative_id": creative_id})
    made = await creative_agent.create_ad(INR_ACCOUNT, params, idempotency_key="ad-1")
    stored = record(sandbox, made.id)
    assert (stored["creative_id"], stored["adset_id"], stored["status"]) == (
        creative_id,
        adset_id,
        "PAUSED",
    )
    first = await creative_agent.get_ad(str(made.id))
    calls = sandbox.counters.total
    assert await creative_agent.get_ad(str(made.id)) == first
    assert sandbox.counters.total == calls
    assert (first.name, first.creative_id, first.status) == (made.name, creative_id, "PAUSED")


async def test_creative_and_ad_go_out_in_one_request(
    creative_agent: AdCreationAgent, sandbox: Sandbox, adset_id: str, image_hash: str
) -> None:
    """One HTTP request (a batch of two items) makes the creative and the ad that shows it."""
    params = AdParams.parse(
        {
            "name": "Beans ad",
            "adset_id": adset_id,
            "url_tags": "utm_source=meta",
            "creative": image_params(image_ref=None, image_hash=image_hash),
        }
    )
    before = dict(sandbox.counters.by_route), sandbox.counters.total
    both = await creative_agent.create_creative_and_ad(INR_ACCOUNT, params, idempotency_key="one")
    routes = sandbox.counters.by_route
    assert routes.get("POST /", 0) - before[0].get("POST /", 0) == 1
    assert sandbox.counters.total - before[1] == 3  # the batch and its two items
    assert record(sandbox, both.ad.id)["creative_id"] == both.creative.id
    assert record(sandbox, both.creative.id)["url_tags"] == "utm_source=meta"


async def test_failed_ad_deletes_the_creative_made_for_it(
    creative_agent: AdCreationAgent, sandbox: Sandbox, image_hash: str
) -> None:
    """When the ad is refused, the creative made with it in the batch is deleted again."""
    params = AdParams.parse(
        {
            "name": "Orphan",
            "adset_id": "424242",
            "creative": image_params(image_ref=None, image_hash=image_hash),
        }
    )
    with pytest.raises(errors.ApiError):
        await creative_agent.create_ad(INR_ACCOUNT, params, idempotency_key="orphan")
    assert len(list(sandbox.state.of_kind("adcreative"))) == 1
    assert live(sandbox, "adcreative") == []


async def test_validate_only_creative_and_ad_creates_nothing(
    creative_agent: AdCreationAgent, sandbox: Sandbox, adset_id: str, image_hash: str
) -> None:
    """A dry run of creative + ad is checked by Meta (the creative inline) and stores nothing."""
    params = AdParams.parse(
        {
            "name": "Dry",
            "adset_id": adset_id,
            "creative": image_params(image_ref=None, image_hash=image_hash),
        }
    )
    both = await creative_agent.create_creative_and_ad(
        INR_ACCOUNT, params, idempotency_key="dry", validate_only=True
    )
    assert (both.creative.id, both.ad.id) == (None, None)
    assert live(sandbox, "adcreative") == live(sandbox, "ad") == []


async def test_dry_run_still_reports_meta_refusal(
    creative_agent: AdCreationAgent, adset_id: str
) -> None:
    """A dry run with an image the account lacks is refused, blamed under the ad's creative."""
    params = AdParams.parse(
        {
            "name": "Dry",
            "adset_id": adset_id,
            "creative": image_params(image_ref=None, image_hash="0" * 32),
        }
    )
    with pytest.raises(errors.InvalidParameterError) as caught:
        await creative_agent.create_ad(
            INR_ACCOUNT, params, idempotency_key="dry", validate_only=True
        )
    assert caught.value.details["blame_fields"][0][0] == "creative"


async def test_replace_creative_then_undo(
    creative_agent: AdCreationAgent,
    sandbox: Sandbox,
    adset_id: str,
    creative_id: str,
    image_hash: str,
) -> None:
    """The ad is pointed at a new creative, keeps the old id, and undo points it back."""
    ad = await creative_agent.create_ad(
        INR_ACCOUNT,
        AdParams.parse({"name": "Ad", "adset_id": adset_id, "creative_id": creative_id}),
        idempotency_key="ad",
    )
    assert ad.id is not None
    await creative_agent.get_ad(ad.id)  # cached, so the swap must refresh it
    new = ImageCreativeParams.parse(
        image_params(image_ref=None, image_hash=image_hash, message="New roast")
    )
    swap = await creative_agent.replace_creative(ad.id, new, idempotency_key="swap")
    assert swap.old_creative_id == creative_id
    assert swap.created_creative
    assert record(sandbox, ad.id)["creative_id"] == swap.new_creative_id
    assert (await creative_agent.get_ad(ad.id)).creative_id == swap.new_creative_id
    undone = await creative_agent.undo_replacement(swap, delete_new=True)
    assert record(sandbox, ad.id)["creative_id"] == creative_id == undone.new_creative_id
    assert record(sandbox, swap.new_creative_id)["status"] == "DELETED"


async def test_replace_with_an_existing_creative_id(
    creative_agent: AdCreationAgent, sandbox: Sandbox, adset_id: str, image_hash: str
) -> None:
    """An existing creative's id is used as is: nothing new is created."""
    both = await creative_agent.create_creative_and_ad(
        INR_ACCOUNT,
        AdParams.parse(
            {
                "name": "Ad",
                "adset_id": adset_id,
                "creative": image_params(image_ref=None, image_hash=image_hash),
            }
        ),
        idempotency_key="first",
    )
    other = await creative_agent.create_image_creative(
        INR_ACCOUNT,
        ImageCreativeParams.parse(image_params(image_ref=None, image_hash=image_hash)),
        idempotency_key="second",
    )
    assert both.ad.id is not None
    assert other.id is not None
    swap = await creative_agent.replace_creative(both.ad.id, other.id, idempotency_key="s")
    assert (swap.old_creative_id, swap.new_creative_id) == (both.creative.id, other.id)
    assert not swap.created_creative
    assert len(live(sandbox, "adcreative")) == 2


async def test_pause_and_delete_are_idempotent(
    creative_agent: AdCreationAgent, sandbox: Sandbox, adset_id: str, creative_id: str
) -> None:
    """An ACTIVE ad is paused; deleting an ad or a creative twice is not an error."""
    params = AdParams.parse(
        {"name": "Live", "adset_id": adset_id, "creative_id": creative_id, "status": "ACTIVE"}
    )
    ad = await creative_agent.create_ad(INR_ACCOUNT, params, idempotency_key="live")
    assert ad.id is not None
    assert ad.status == "ACTIVE"
    await creative_agent.pause_ad(ad.id)
    assert (await creative_agent.get_ad(ad.id)).status == "PAUSED"
    for _ in range(2):
        await creative_agent.delete_ad(ad.id)
        await creative_agent.delete_creative(creative_id)
    assert record(sandbox, ad.id)["status"] == record(sandbox, creative_id)["status"] == "DELETED"


# -- lost answers -------------------------------------------------------------------------------


async def test_ambiguous_ad_create_is_reconciled_not_duplicated(
    creative_agent: AdCreationAgent, sandbox: Sandbox, adset_id: str, creative_id: str
) -> None:
    """The connection drops after Meta stored the ad: the agent finds it by key, sends nothing."""
    sandbox.faults.replace(parse_fault_spec("drop_after_commit:method=POST,path=act_*/ads,nth=1"))
    params = AdParams.parse({"name": "Beans ad", "adset_id": adset_id, "creative_id": creative_id})
    made = await creative_agent.create_ad(INR_ACCOUNT, params, idempotency_key="lost")
    ads = live(sandbox, "ad")
    assert [ad["id"] for ad in ads] == [made.id]
    assert made.reconciled
    assert sandbox.counters.by_route["POST {adaccount}/ads"] == 1


async def test_ambiguous_creative_create_is_reconciled(
    creative_agent: AdCreationAgent, sandbox: Sandbox, image_hash: str
) -> None:
    """A creative whose answer was lost is adopted by its key, never made twice."""
    sandbox.faults.replace(
        parse_fault_spec("drop_after_commit:method=POST,path=act_*/adcreatives,nth=1")
    )
    params = ImageCreativeParams.parse(image_params(image_ref=None, image_hash=image_hash))
    made = await creative_agent.create_image_creative(INR_ACCOUNT, params, idempotency_key="x")
    assert [c["id"] for c in live(sandbox, "adcreative")] == [made.id]
    assert made.reconciled


async def test_lost_answer_with_nothing_stored_is_sent_again_once(
    creative_agent: AdCreationAgent, sandbox: Sandbox, creative_id: str
) -> None:
    """Nothing carries the key after a lost answer, so the create is sent once more (and its
    real answer, here Meta's refusal, reaches the caller)."""
    sandbox.faults.replace(parse_fault_spec("drop_after_commit:method=POST,path=act_*/ads,nth=1"))
    params = AdParams.parse({"name": "Ad", "adset_id": "424242", "creative_id": creative_id})
    with pytest.raises(errors.NotFoundError):
        await creative_agent.create_ad(INR_ACCOUNT, params, idempotency_key="gone")
    assert sandbox.counters.by_route["POST {adaccount}/ads"] == 2
    assert sandbox.counters.by_route["GET {adaccount}/ads"] == 1


async def test_lost_batch_answer_reconciles_creative_and_ad(
    creative_agent: AdCreationAgent, sandbox: Sandbox, adset_id: str, image_hash: str
) -> None:
    """The batch of creative + ad is committed but its answer lost: both are found by key."""
    sandbox.faults.replace(parse_fault_spec("drop_after_commit:method=POST,path=,nth=1"))
    params = AdParams.parse(
        {
            "name": "Ad",
            "adset_id": adset_id,
            "creative": image_params(image_ref=None, image_hash=image_hash),
        }
    )
    both = await creative_agent.create_creative_and_ad(INR_ACCOUNT, params, idempotency_key="b")
    assert [c["id"] for c in live(sandbox, "adcreative")] == [both.creative.id]
    assert [a["id"] for a in live(sandbox, "ad")] == [both.ad.id]
    assert both.creative.reconciled
    assert both.ad.reconciled
    assert record(sandbox, both.ad.id)["creative_id"] == both.creative.id


# -- converters for the orchestrator's batch ----------------------------------------------------


def test_specs_carry_batch_references_and_the_key() -> None:
    """creative_spec and ad_spec accept batch references for assets, ad set and creative."""
    hero = ref("img_hero", "$.images.*.hash")
    params = ImageCreativeParams.parse(image_params())
    key = derive_key("req-1", "creative0")
    spec = creative_spec(params, key, assets={"hero": hero})
    assert spec["object_story_spec"]["link_data"]["image_hash"] == hero
    assert spec["name"] == f"Fresh beans [ma:{key}]"
    ad = AdParams.parse({"name": "Ad", "adset_ref": "adset0", "creative_ref": "creative0"})
    wire = ad_spec(ad, ref("adset0"), ref("creative0"), key)
    assert wire == {
        "name": f"Ad [ma:{key}]",
        "adset_id": "{result=adset0:$.id}",
        "creative": {"creative_id": "{result=creative0:$.id}"},
        "status": "PAUSED",
    }


def test_ad_spec_refuses_an_unresolved_reference() -> None:
    """An ad set known only by reference must be resolved first; the error names adset_ref."""
    ad = AdParams.parse({"name": "Ad", "adset_ref": "adset0", "creative_id": "1"})
    with pytest.raises(errors.RequestValidationError) as caught:
        ad_spec(ad, key="k")
    assert caught.value.field == "adset_ref"


def test_long_creative_names_are_trimmed_to_fit_the_tag() -> None:
    """A 100-character creative name keeps its tag and stays within Meta's 100 characters."""
    params = ImageCreativeParams.parse(image_params(name="x" * 100, image_ref=None, image_hash="h"))
    key = derive_key("req-1", "creative0")
    name = creative_spec(params, key)["name"]
    assert len(name) == 100
    assert key_of(name) == key
