"""Ad creatives: story specs, media checks, carousel, video, immutability (reference §3.3, §5.8).

The helpers at the top are shared with ``test_ads``: they create the parents an ad needs
through HTTP, and place media records straight into the state where a media upload is not
the behaviour under test.
"""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest

from meta_agent.sandbox import ManualClock, Sandbox
from meta_agent.sandbox.state import INSTAGRAM_USER_ID
from tests.conftest import INR_ACCOUNT, PAGE_ID, USD_ACCOUNT, Graph, error_of

HASH = "8cf726a44ab7008c5cc6b4ebd2491234"
LINK = "https://example.com/coffee"
IMAGE_PATH = ["object_story_spec", "link_data", "image_hash"]
TARGETING = {
    "geo_locations": {"countries": ["IN"]},
    "targeting_automation": {"advantage_audience": 0},
}


def add_image(sandbox: Sandbox, image_hash: str = HASH, account: str = INR_ACCOUNT) -> str:
    """Put an uploaded image into an account's library; returns its hash."""
    digits = account.removeprefix("act_")
    now = sandbox.clock.now()
    sandbox.state.add(
        {
            "kind": "adimage",
            "id": f"{digits}:{image_hash}",
            "account_id": digits,
            "hash": image_hash,
            "name": "hero.png",
            "width": 1080,
            "height": 1080,
            "status": "ACTIVE",
            "url": f"https://scontent.sandbox.invalid/{image_hash}.png",
            "created_time": now,
            "updated_time": now,
            "size": 2048,
        }
    )
    return image_hash


def add_video(sandbox: Sandbox, ready_in: float = 0.0, account: str = INR_ACCOUNT) -> str:
    """Put an uploaded video into an account, ready after ``ready_in`` seconds; returns its id."""
    now = sandbox.clock.now()
    video_id = sandbox.new_id()
    sandbox.state.add(
        {
            "kind": "advideo",
            "id": video_id,
            "account_id": account.removeprefix("act_"),
            "title": "clip.mp4",
            "name": "clip.mp4",
            "description": "",
            "size": 4096,
            "created_time": now,
            "ready_at": now + ready_in,
        }
    )
    return video_id


def created_id(response: httpx2.Response) -> str:
    """The id of a successful create."""
    body = response.json()
    assert response.status_code == 200, body
    object_id: str = body["id"]
    return object_id


async def make_campaign(graph: Graph, status: str = "PAUSED", account: str = INR_ACCOUNT) -> str:
    """A traffic campaign without campaign budget."""
    response = await graph.post(
        f"{account}/campaigns",
        name="Coffee traffic",
        objective="OUTCOME_TRAFFIC",
        special_ad_categories="[]",
        status=status,
        is_adset_budget_sharing_enabled="false",
    )
    return created_id(response)


async def make_adset(graph: Graph, campaign_id: str, status: str = "PAUSED") -> str:
    """A link-click ad set with its own daily budget, in the INR account."""
    response = await graph.post(
        f"{INR_ACCOUNT}/adsets",
        name="Coffee lovers",
        campaign_id=campaign_id,
        billing_event="IMPRESSIONS",
        optimization_goal="LINK_CLICKS",
        daily_budget="50000",
        targeting=json.dumps(TARGETING),
        status=status,
    )
    return created_id(response)


def story(**link_data: Any) -> str:
    """An ``object_story_spec`` for a link ad on the seeded Page, as a JSON string."""
    data = {"link": LINK, "message": "Fresh beans daily", **link_data}
    return json.dumps({"page_id": PAGE_ID, "link_data": data})


async def make_creative(graph: Graph, sandbox: Sandbox, name: str = "Beans") -> str:
    """A link creative using an uploaded image."""
    spec = story(image_hash=add_image(sandbox), call_to_action={"type": "SHOP_NOW"})
    return created_id(
        await graph.post(f"{INR_ACCOUNT}/adcreatives", name=name, object_story_spec=spec)
    )


def blame(error: dict[str, Any]) -> list[list[str]]:
    """The ``blame_field_specs`` of an error."""
    specs: list[list[str]] = json.loads(error["error_data"])["blame_field_specs"]
    return specs


async def refused(graph: Graph, **form: Any) -> dict[str, Any]:
    """Create a creative that must fail; returns the error."""
    response = await graph.post(f"{INR_ACCOUNT}/adcreatives", **form)
    assert response.status_code == 400, response.text
    return error_of(response)


def card(index: int, **extra: Any) -> dict[str, Any]:
    """One carousel card."""
    return {"link": f"{LINK}/{index}", "picture": f"https://example.com/{index}.png", **extra}


async def test_link_creative_reads_back_its_spec_and_derived_fields(
    graph: Graph, sandbox: Sandbox
) -> None:
    """A link creative stores its spec and exposes hash, thumbnail, CTA and story id."""
    creative_id = await make_creative(graph, sandbox)
    fields = (
        "name,status,object_story_spec,image_hash,thumbnail_url,effective_object_story_id,"
        "call_to_action_type,object_type,link_url,body,actor_id,account_id"
    )
    body = (await graph.get(creative_id, fields=fields)).json()
    assert body["name"] == "Beans"
    assert body["status"] == "ACTIVE"
    assert body["object_story_spec"]["link_data"]["image_hash"] == HASH
    assert body["image_hash"] == HASH
    assert body["thumbnail_url"] == f"https://scontent.sandbox.invalid/{HASH}.png"
    assert body["effective_object_story_id"] == f"{PAGE_ID}_{creative_id}"
    assert body["call_to_action_type"] == "SHOP_NOW"
    assert body["object_type"] == "SHARE"
    assert body["link_url"] == LINK
    assert body["body"] == "Fresh beans daily"
    assert body["actor_id"] == PAGE_ID
    assert body["account_id"] == "1234567890"


async def test_picture_url_stands_in_for_an_image_hash(graph: Graph) -> None:
    """link_data.picture (an image URL) is accepted instead of an uploaded image."""
    spec = story(picture="https://example.com/p.png")
    creative_id = created_id(await graph.post(f"{INR_ACCOUNT}/adcreatives", object_story_spec=spec))
    body = (await graph.get(creative_id, fields="name,thumbnail_url,image_url")).json()
    assert body["thumbnail_url"] == "https://example.com/p.png"
    assert body["name"].startswith("Creative ")


async def test_default_read_is_id_only_and_unknown_fields_are_refused(
    graph: Graph, sandbox: Sandbox
) -> None:
    """GET /{creative_id} without fields gives the id; an unknown field is code 100."""
    creative_id = await make_creative(graph, sandbox)
    assert (await graph.get(creative_id)).json() == {"id": creative_id}
    error = error_of(await graph.get(creative_id, fields="bogus"))
    assert error["code"] == 100
    assert "(AdCreative)" in error["message"]


@pytest.mark.parametrize(
    ("spec", "path"),
    [
        ({"link_data": {"link": LINK}}, ["object_story_spec", "page_id"]),
        ({"page_id": "999", "link_data": {"link": LINK}}, ["object_story_spec", "page_id"]),
        ({"page_id": PAGE_ID}, ["object_story_spec"]),
        (
            {"page_id": PAGE_ID, "link_data": {"picture": "https://e.com/p.png"}},
            ["object_story_spec", "link_data", "link"],
        ),
        ({"page_id": PAGE_ID, "link_data": {"link": LINK}}, IMAGE_PATH),
        ({"page_id": PAGE_ID, "bogus_data": {}}, ["object_story_spec", "bogus_data"]),
        ({"page_id": PAGE_ID, "link_data": "x"}, ["object_story_spec", "link_data"]),
    ],
    ids=[
        "no-page",
        "foreign-page",
        "no-content",
        "no-link",
        "no-image",
        "unknown-key",
        "not-object",
    ],
)
async def test_story_spec_rules_blame_the_offending_path(
    graph: Graph, spec: dict[str, Any], path: list[str]
) -> None:
    """Each story-spec rule answers code 100 and blames the exact path to fix."""
    error = await refused(graph, object_story_spec=json.dumps(spec))
    assert (error["code"], error.get("error_subcode")) == (100, None)
    assert blame(error) == [path]
    assert error["error_user_title"]


async def test_two_story_types_at_once_are_refused(graph: Graph) -> None:
    """A spec with both link_data and photo_data is refused, blaming the second."""
    spec = {
        "page_id": PAGE_ID,
        "link_data": {"link": LINK, "picture": "https://e.com/p.png"},
        "photo_data": {"url": "https://e.com/p.png"},
    }
    error = await refused(graph, object_story_spec=json.dumps(spec))
    assert blame(error) == [["object_story_spec", "photo_data"]]


async def test_image_hash_must_be_in_this_accounts_library(graph: Graph, sandbox: Sandbox) -> None:
    """An image hash unknown to the account (even if another account has it) is code 100."""
    add_image(sandbox, account=USD_ACCOUNT)
    error = await refused(graph, object_story_spec=story(image_hash=HASH))
    assert (error["code"], error.get("error_subcode")) == (100, None)
    assert blame(error) == [IMAGE_PATH]
    assert HASH in error["message"]
    assert "adimages" in error["error_user_msg"]


async def test_deleted_image_cannot_be_used(graph: Graph, sandbox: Sandbox) -> None:
    """A deleted image no longer backs a creative."""
    add_image(sandbox)
    sandbox.state.get(f"1234567890:{HASH}")["status"] = "DELETED"
    error = await refused(graph, object_story_spec=story(image_hash=HASH))
    assert blame(error) == [IMAGE_PATH]


@pytest.mark.parametrize(
    ("link", "title"),
    [
        ("example.com/no-scheme", "Invalid link"),
        ("ftp://example.com/file", "Invalid link"),
        ("https://example.com/" + "a" * 990, "Link too long"),
        ("https://www.facebook.com/somepage", "Facebook link not allowed"),
        ("https://facebook.com/x", "Facebook link not allowed"),
    ],
)
async def test_bad_links_are_refused(graph: Graph, link: str, title: str) -> None:
    """Links must be http(s) URLs of at most 1000 characters, and not facebook.com."""
    error = await refused(graph, object_story_spec=story(link=link, picture="https://e.com/p.png"))
    assert error["code"] == 100
    assert error["error_user_title"] == title
    assert blame(error) == [["object_story_spec", "link_data", "link"]]


async def test_url_of_exactly_1000_characters_is_accepted(graph: Graph) -> None:
    """The URL limit is inclusive: 1000 characters pass."""
    link = "https://example.com/" + "a" * 980
    assert len(link) == 1000
    spec = story(link=link, picture="https://e.com/p.png")
    created_id(await graph.post(f"{INR_ACCOUNT}/adcreatives", object_story_spec=spec))


async def test_facebook_link_is_fine_for_a_messaging_call_to_action(graph: Graph) -> None:
    """A MESSAGE_PAGE ad may point at a Facebook URL: it is not a website destination."""
    spec = story(
        link="https://www.facebook.com/102030405060708",
        picture="https://e.com/p.png",
        call_to_action={"type": "MESSAGE_PAGE", "value": {"app_destination": "MESSENGER"}},
    )
    created_id(await graph.post(f"{INR_ACCOUNT}/adcreatives", object_story_spec=spec))


@pytest.mark.parametrize(
    ("cta", "path"),
    [
        ({"type": "CLICK_HERE"}, ["object_story_spec", "link_data", "call_to_action", "type"]),
        ("LEARN_MORE", ["object_story_spec", "link_data", "call_to_action"]),
        (
            {"type": "LEARN_MORE", "value": {"link": "not a url"}},
            ["object_story_spec", "link_data", "call_to_action", "value", "link"],
        ),
    ],
    ids=["unknown-type", "not-object", "bad-value-link"],
)
async def test_call_to_action_rules(graph: Graph, cta: Any, path: list[str]) -> None:
    """call_to_action is an object whose type is in the §4.4 enum and whose link is a URL."""
    spec = story(picture="https://e.com/p.png", call_to_action=cta)
    error = await refused(graph, object_story_spec=spec)
    assert error["code"] == 100
    assert blame(error) == [path]


async def test_carousel_of_three_cards_is_accepted(graph: Graph, sandbox: Sandbox) -> None:
    """child_attachments with 2 to 10 cards make a carousel; cards may use hashes or pictures."""
    add_image(sandbox)
    cards = [card(0), card(1, image_hash=HASH), card(2, call_to_action={"type": "SHOP_NOW"})]
    spec = story(child_attachments=cards, multi_share_optimized=True)
    creative_id = created_id(await graph.post(f"{INR_ACCOUNT}/adcreatives", object_story_spec=spec))
    body = (await graph.get(creative_id, fields="object_story_spec")).json()
    assert len(body["object_story_spec"]["link_data"]["child_attachments"]) == 3


@pytest.mark.parametrize("count", [1, 11])
async def test_carousel_needs_two_to_ten_cards(graph: Graph, count: int) -> None:
    """Fewer than 2 or more than 10 cards is code 100 blaming child_attachments."""
    spec = story(child_attachments=[card(i) for i in range(count)])
    error = await refused(graph, object_story_spec=spec)
    assert error["code"] == 100
    assert blame(error) == [["object_story_spec", "link_data", "child_attachments"]]


async def test_each_carousel_card_is_checked(graph: Graph) -> None:
    """A card without a link is refused, blaming that card's link."""
    spec = story(child_attachments=[card(0), {"picture": "https://e.com/1.png"}])
    error = await refused(graph, object_story_spec=spec)
    assert blame(error) == [["object_story_spec", "link_data", "child_attachments", "1", "link"]]


async def test_carousel_card_may_carry_a_ready_video(graph: Graph, sandbox: Sandbox) -> None:
    """A card with a processed video needs no picture."""
    video_id = add_video(sandbox)
    spec = story(child_attachments=[card(0), {"link": LINK, "video_id": video_id}])
    created_id(await graph.post(f"{INR_ACCOUNT}/adcreatives", object_story_spec=spec))


def video_spec(video_id: str, **extra: Any) -> str:
    """An ``object_story_spec`` for a video ad, as a JSON string."""
    data = {"video_id": video_id, "title": "Brew guide", "message": "Watch", **extra}
    return json.dumps({"page_id": PAGE_ID, "video_data": data})


async def test_video_creative_with_ready_video(graph: Graph, sandbox: Sandbox) -> None:
    """video_data with a processed video and a thumbnail makes a VIDEO creative."""
    video_id = add_video(sandbox)
    spec = video_spec(
        video_id,
        image_url="https://example.com/thumb.png",
        call_to_action={"type": "LEARN_MORE", "value": {"link": LINK}},
    )
    creative_id = created_id(await graph.post(f"{INR_ACCOUNT}/adcreatives", object_story_spec=spec))
    body = (await graph.get(creative_id, fields="video_id,object_type,thumbnail_url,title")).json()
    assert body["video_id"] == video_id
    assert body["object_type"] == "VIDEO"
    assert body["thumbnail_url"] == "https://example.com/thumb.png"
    assert body["title"] == "Brew guide"


async def test_video_still_processing_is_refused_until_ready(
    graph: Graph, sandbox: Sandbox, clock: ManualClock
) -> None:
    """A video still processing is refused with a clear message; once ready it is accepted."""
    video_id = add_video(sandbox, ready_in=20)
    spec = video_spec(video_id, image_hash=add_image(sandbox))
    error = await refused(graph, object_story_spec=spec)
    assert (error["code"], error.get("error_subcode")) == (100, None)
    assert "processing" in error["message"]
    assert blame(error) == [["object_story_spec", "video_data", "video_id"]]
    clock.advance(21)
    created_id(await graph.post(f"{INR_ACCOUNT}/adcreatives", object_story_spec=spec))


async def test_video_must_belong_to_the_account(graph: Graph, sandbox: Sandbox) -> None:
    """A video of another ad account (or no video at all) is not found."""
    video_id = add_video(sandbox, account=USD_ACCOUNT)
    spec = video_spec(video_id, image_url="https://e.com/t.png")
    error = await refused(graph, object_story_spec=spec)
    assert error["error_user_title"] == "Video not found"
    assert blame(error) == [["object_story_spec", "video_data", "video_id"]]


async def test_video_needs_a_thumbnail(graph: Graph, sandbox: Sandbox) -> None:
    """video_data without image_url or image_hash is refused."""
    error = await refused(graph, object_story_spec=video_spec(add_video(sandbox)))
    assert blame(error) == [["object_story_spec", "video_data", "image_hash"]]
    assert "image_url" in error["message"]


async def test_photo_creative(graph: Graph, sandbox: Sandbox) -> None:
    """photo_data with an uploaded image makes a PHOTO creative."""
    spec = json.dumps({"page_id": PAGE_ID, "photo_data": {"image_hash": add_image(sandbox)}})
    creative_id = created_id(await graph.post(f"{INR_ACCOUNT}/adcreatives", object_story_spec=spec))
    body = (await graph.get(creative_id, fields="object_type,image_hash")).json()
    assert body == {"object_type": "PHOTO", "image_hash": HASH, "id": creative_id}


async def test_existing_post_by_object_story_id(graph: Graph) -> None:
    """object_story_id of a Page post is a creative of its own; it is its effective story."""
    post = f"{PAGE_ID}_555"
    creative_id = created_id(await graph.post(f"{INR_ACCOUNT}/adcreatives", object_story_id=post))
    body = (await graph.get(creative_id, fields="object_story_id,effective_object_story_id")).json()
    assert body["object_story_id"] == body["effective_object_story_id"] == post


@pytest.mark.parametrize(
    ("form", "path"),
    [
        ({"object_story_id": "12345"}, ["object_story_id"]),
        ({"object_story_id": "999_555"}, ["object_story_id"]),
        ({"object_story_id": f"{PAGE_ID}_1", "object_story_spec": story()}, ["object_story_id"]),
        ({"name": "nothing to show"}, ["object_story_spec"]),
    ],
    ids=["malformed", "foreign-page", "both", "neither"],
)
async def test_content_source_rules(graph: Graph, form: dict[str, Any], path: list[str]) -> None:
    """Exactly one of object_story_spec and object_story_id; the post's Page must be usable."""
    error = await refused(graph, **form)
    assert error["code"] == 100
    assert blame(error) == [path]


async def test_instagram_actor_id_is_refused_with_a_pointer_to_instagram_user_id(
    graph: Graph,
) -> None:
    """instagram_actor_id (top level or in the spec) is refused from v22 on."""
    spec = json.loads(story(picture="https://e.com/p.png"))
    inner = await refused(graph, object_story_spec=json.dumps({**spec, "instagram_actor_id": "1"}))
    outer = await refused(
        graph, object_story_spec=json.dumps(spec), instagram_actor_id=INSTAGRAM_USER_ID
    )
    assert blame(inner) == [["object_story_spec", "instagram_actor_id"]]
    assert blame(outer) == [["instagram_actor_id"]]
    for error in (inner, outer):
        assert error["code"] == 100
        assert "instagram_user_id" in error["message"]


async def test_instagram_user_id_must_be_the_pages_account(graph: Graph) -> None:
    """The Page's connected Instagram account is accepted and read back; another is refused."""
    spec = json.loads(story(picture="https://e.com/p.png"))
    good = json.dumps({**spec, "instagram_user_id": INSTAGRAM_USER_ID})
    creative_id = created_id(await graph.post(f"{INR_ACCOUNT}/adcreatives", object_story_spec=good))
    body = (await graph.get(creative_id, fields="instagram_user_id")).json()
    assert body["instagram_user_id"] == INSTAGRAM_USER_ID
    error = await refused(graph, object_story_spec=json.dumps(spec), instagram_user_id="42")
    assert blame(error) == [["instagram_user_id"]]


async def test_asset_feed_spec_dynamic_creative(graph: Graph, sandbox: Sandbox) -> None:
    """asset_feed_spec with a Page-only story spec is accepted and read back."""
    feed = {
        "images": [{"hash": add_image(sandbox)}],
        "bodies": [{"text": "Fresh"}, {"text": "Roasted"}],
        "titles": [{"text": "Beans"}],
        "link_urls": [{"website_url": LINK}],
        "call_to_action_types": ["SHOP_NOW"],
        "ad_formats": ["SINGLE_IMAGE"],
    }
    response = await graph.post(
        f"{INR_ACCOUNT}/adcreatives",
        object_story_spec=json.dumps({"page_id": PAGE_ID}),
        asset_feed_spec=json.dumps(feed),
    )
    body = (await graph.get(created_id(response), fields="asset_feed_spec")).json()
    assert body["asset_feed_spec"]["bodies"][1] == {"text": "Roasted"}


@pytest.mark.parametrize(
    ("feed", "path"),
    [
        ({"images": [{"hash": "nope"}]}, ["asset_feed_spec", "images", "0", "hash"]),
        ({"call_to_action_types": ["CLICK"]}, ["asset_feed_spec", "call_to_action_types", "0"]),
        (
            {"link_urls": [{"website_url": "x"}]},
            ["asset_feed_spec", "link_urls", "0", "website_url"],
        ),
        ({"images": {"hash": "x"}}, ["asset_feed_spec", "images"]),
    ],
    ids=["unknown-hash", "bad-cta", "bad-url", "not-array"],
)
async def test_asset_feed_spec_rules(graph: Graph, feed: dict[str, Any], path: list[str]) -> None:
    """Dynamic-creative assets are checked one by one, blaming the asset's path."""
    error = await refused(
        graph,
        object_story_spec=json.dumps({"page_id": PAGE_ID}),
        asset_feed_spec=json.dumps(feed),
    )
    assert error["code"] == 100
    assert blame(error) == [path]


async def test_degrees_of_freedom_spec(graph: Graph) -> None:
    """Per-feature enrolment is kept; opting in to the retired bundle is refused."""
    spec = story(picture="https://e.com/p.png")

    def dof(feature: str, status: str) -> str:
        return json.dumps({"creative_features_spec": {feature: {"enroll_status": status}}})

    response = await graph.post(
        f"{INR_ACCOUNT}/adcreatives",
        object_story_spec=spec,
        degrees_of_freedom_spec=dof("standard_enhancements", "OPT_OUT"),
    )
    body = (await graph.get(created_id(response), fields="degrees_of_freedom_spec")).json()
    assert body["degrees_of_freedom_spec"]["creative_features_spec"]
    bundle = await refused(
        graph,
        object_story_spec=spec,
        degrees_of_freedom_spec=dof("standard_enhancements", "OPT_IN"),
    )
    path = ["degrees_of_freedom_spec", "creative_features_spec", "standard_enhancements"]
    assert blame(bundle) == [[*path, "enroll_status"]]
    wrong = await refused(
        graph, object_story_spec=spec, degrees_of_freedom_spec=dof("image_touchups", "MAYBE")
    )
    assert wrong["error_user_title"] == "Invalid value"


@pytest.mark.parametrize(
    ("form", "path"),
    [
        ({"name": "n" * 101}, ["name"]),
        ({"authorization_category": "SECRET"}, ["authorization_category"]),
        ({"colour": "blue"}, ["colour"]),
        ({"url_tags": "u=" + "x" * 1000}, ["url_tags"]),
    ],
    ids=["long-name", "bad-authorization", "unknown-param", "long-url-tags"],
)
async def test_top_level_parameter_rules(
    graph: Graph, form: dict[str, Any], path: list[str]
) -> None:
    """Name ≤ 100, authorization_category from its enum, url_tags ≤ 1000, no unknown params."""
    error = await refused(graph, object_story_spec=story(picture="https://e.com/p.png"), **form)
    assert error["code"] == 100
    assert blame(error) == [path]


async def test_url_tags_and_authorization_category_read_back(graph: Graph) -> None:
    """url_tags and authorization_category are stored as sent."""
    response = await graph.post(
        f"{INR_ACCOUNT}/adcreatives",
        object_story_spec=story(picture="https://e.com/p.png"),
        url_tags="utm_source=facebook&utm_medium=paid",
        authorization_category="POLITICAL",
    )
    fields = "url_tags,authorization_category,effective_authorization_category"
    body = (await graph.get(created_id(response), fields=fields)).json()
    assert body["url_tags"] == "utm_source=facebook&utm_medium=paid"
    assert body["authorization_category"] == body["effective_authorization_category"]


async def test_json_body_is_accepted(client: httpx2.AsyncClient) -> None:
    """A JSON request body carries the spec as a nested object."""
    response = await client.post(
        f"/v25.0/{INR_ACCOUNT}/adcreatives",
        json={
            "access_token": "sandbox-token",
            "name": "json",
            "object_story_spec": json.loads(story(picture="https://e.com/p.png")),
        },
    )
    created_id(response)


async def test_validate_only_stores_nothing(graph: Graph, sandbox: Sandbox) -> None:
    """execution_options=["validate_only"] validates and answers success without a creative."""
    response = await graph.post(
        f"{INR_ACCOUNT}/adcreatives",
        object_story_spec=story(picture="https://e.com/p.png"),
        execution_options='["validate_only"]',
    )
    assert response.json() == {"success": True}
    assert list(sandbox.state.of_kind("adcreative")) == []


async def test_only_name_status_and_labels_can_change(graph: Graph, sandbox: Sandbox) -> None:
    """A creative's name and status update; everything else is the immutable-creative error."""
    creative_id = await make_creative(graph, sandbox)
    ok = await graph.post(creative_id, name="Renamed", status="WITH_ISSUES", adlabels="[]")
    assert ok.json() == {"success": True}
    body = (await graph.get(creative_id, fields="name,status")).json()
    assert (body["name"], body["status"]) == ("Renamed", "WITH_ISSUES")
    for name, value in [("object_story_spec", story()), ("url_tags", "a=b"), ("title", "t")]:
        error = error_of(await graph.post(creative_id, **{name: value}))
        assert (error["code"], error.get("error_subcode")) == (100, None)
        assert blame(error) == [[name]]
        assert "creative_id" in error["error_user_msg"]
    error = error_of(await graph.post(creative_id, status="PAUSED"))
    assert blame(error) == [["status"]]


async def test_delete_keeps_the_creative_readable_but_unlisted(
    graph: Graph, sandbox: Sandbox
) -> None:
    """DELETE marks the creative DELETED; it reads by id and leaves the account's listing."""
    creative_id = await make_creative(graph, sandbox)
    assert (await graph.delete(creative_id)).json() == {"success": True}
    assert (await graph.get(creative_id, fields="status")).json()["status"] == "DELETED"
    listing = (await graph.get(f"{INR_ACCOUNT}/adcreatives")).json()
    assert listing["data"] == []
    error = error_of(await graph.post(creative_id, status="ACTIVE"))
    assert error["code"] == 100


async def test_listing_pages_with_cursors_and_summary(graph: Graph, sandbox: Sandbox) -> None:
    """GET /act_{id}/adcreatives pages by cursor and reports total_count on request."""
    ids = [await make_creative(graph, sandbox, name=f"C{i}") for i in range(3)]
    first = (
        await graph.get(f"{INR_ACCOUNT}/adcreatives", limit=2, summary="true", fields="name")
    ).json()
    assert [row["name"] for row in first["data"]] == ["C0", "C1"]
    assert first["summary"] == {"total_count": 3}
    assert "next" in first["paging"]
    after = first["paging"]["cursors"]["after"]
    second = (await graph.get(f"{INR_ACCOUNT}/adcreatives", limit=2, after=after)).json()
    assert [row["id"] for row in second["data"]] == ids[2:]
    assert "next" not in second["paging"]
    other = (await graph.get(f"{USD_ACCOUNT}/adcreatives")).json()
    assert other["data"] == []
