"""Ads: creation rules, review, effective statuses, creative swap, lifecycle (§3.4, §3.7, §5.9)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from meta_agent.sandbox import ManualClock, Sandbox, SandboxConfig
from tests.conftest import INR_ACCOUNT, PAGE_ID, USD_ACCOUNT, Graph, error_of
from tests.contract.test_creatives import (
    add_image,
    blame,
    created_id,
    make_adset,
    make_campaign,
    make_creative,
    story,
)


async def make_ad(
    graph: Graph, adset_id: str, creative_id: str, status: str = "PAUSED", name: str = "Ad"
) -> str:
    """An ad in ``adset_id`` showing ``creative_id``."""
    response = await graph.post(
        f"{INR_ACCOUNT}/ads",
        name=name,
        adset_id=adset_id,
        creative=json.dumps({"creative_id": creative_id}),
        status=status,
    )
    return created_id(response)


async def tree(graph: Graph, sandbox: Sandbox, *, active: bool = False) -> dict[str, str]:
    """Campaign, ad set and creative ready for ads (all ACTIVE when ``active``)."""
    status = "ACTIVE" if active else "PAUSED"
    campaign_id = await make_campaign(graph, status=status)
    adset_id = await make_adset(graph, campaign_id, status=status)
    creative_id = await make_creative(graph, sandbox)
    return {"campaign": campaign_id, "adset": adset_id, "creative": creative_id}


async def read(graph: Graph, object_id: str, fields: str) -> dict[str, Any]:
    """GET /{id} with fields."""
    response = await graph.get(object_id, fields=fields)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_ad_reads_back_with_expanded_references(graph: Graph, sandbox: Sandbox) -> None:
    """An ad reads back with its ids, and creative/adset/campaign expand with sub-fields."""
    ids = await tree(graph, sandbox)
    ad_id = await make_ad(graph, ids["adset"], ids["creative"])
    body = await read(
        graph,
        ad_id,
        "name,status,configured_status,effective_status,adset_id,campaign_id,account_id,"
        "creative{id,name,object_story_spec},adset{name},campaign{name,objective},created_time",
    )
    assert body["name"] == "Ad"
    assert body["status"] == body["configured_status"] == body["effective_status"] == "PAUSED"
    assert (body["adset_id"], body["campaign_id"]) == (ids["adset"], ids["campaign"])
    assert body["account_id"] == "1234567890"
    assert body["creative"]["id"] == ids["creative"]
    assert body["creative"]["name"] == "Beans"
    assert body["creative"]["object_story_spec"]["page_id"] == PAGE_ID
    assert body["adset"] == {"name": "Coffee lovers", "id": ids["adset"]}
    assert body["campaign"]["objective"] == "OUTCOME_TRAFFIC"
    assert body["created_time"].endswith("+0530")


async def test_unexpanded_references_are_id_objects(graph: Graph, sandbox: Sandbox) -> None:
    """fields=creative,adset,campaign gives {"id": ...} objects, as Meta sends them."""
    ids = await tree(graph, sandbox)
    ad_id = await make_ad(graph, ids["adset"], ids["creative"])
    body = await read(graph, ad_id, "creative,adset,campaign")
    assert body["creative"] == {"id": ids["creative"]}
    assert body["adset"] == {"id": ids["adset"]}
    assert body["campaign"] == {"id": ids["campaign"]}


@pytest.mark.parametrize("missing", ["name", "adset_id", "creative"])
async def test_missing_required_parameter_is_code_194(
    graph: Graph, sandbox: Sandbox, missing: str
) -> None:
    """name, adset_id and creative are required; a missing one is code 194 blaming it."""
    ids = await tree(graph, sandbox)
    form = {
        "name": "Ad",
        "adset_id": ids["adset"],
        "creative": json.dumps({"creative_id": ids["creative"]}),
    }
    del form[missing]
    error = error_of(await graph.post(f"{INR_ACCOUNT}/ads", **form))
    assert (error["code"], error.get("error_subcode")) == (194, None)
    assert error["message"] == f"(#194) Requires all of the params: {missing}"
    assert blame(error) == [[missing]]


async def test_ad_set_must_exist_in_the_account(graph: Graph, sandbox: Sandbox) -> None:
    """An unknown ad set, or one of another account, is 100/33."""
    ids = await tree(graph, sandbox)
    creative = json.dumps({"creative_id": ids["creative"]})
    unknown = await graph.post(f"{INR_ACCOUNT}/ads", name="A", adset_id="1", creative=creative)
    foreign = await graph.post(
        f"{USD_ACCOUNT}/ads", name="A", adset_id=ids["adset"], creative=creative
    )
    for response in (unknown, foreign):
        error = error_of(response)
        assert (error["code"], error["error_subcode"]) == (100, 33)


async def test_deleted_ad_set_takes_no_new_ads(graph: Graph, sandbox: Sandbox) -> None:
    """A deleted ad set is refused as a parent, blaming adset_id."""
    ids = await tree(graph, sandbox)
    await graph.delete(ids["adset"])
    error = error_of(
        await graph.post(
            f"{INR_ACCOUNT}/ads",
            name="A",
            adset_id=ids["adset"],
            creative=json.dumps({"creative_id": ids["creative"]}),
        )
    )
    assert error["code"] == 100
    assert blame(error) == [["adset_id"]]


async def test_ad_set_under_a_deleted_campaign_takes_no_new_ads(
    graph: Graph, sandbox: Sandbox
) -> None:
    """Deleting the campaign closes its ad sets to new ads, blaming adset_id."""
    ids = await tree(graph, sandbox)
    await graph.delete(ids["campaign"])
    error = error_of(
        await graph.post(
            f"{INR_ACCOUNT}/ads",
            name="A",
            adset_id=ids["adset"],
            creative=json.dumps({"creative_id": ids["creative"]}),
        )
    )
    assert error["code"] == 100
    assert blame(error) == [["adset_id"]]


@pytest.mark.parametrize("case", ["unknown", "deleted", "foreign", "not-a-creative"])
async def test_creative_id_must_name_a_live_creative_of_the_account(
    graph: Graph, sandbox: Sandbox, case: str
) -> None:
    """creative_id must be a non-deleted creative of the same account."""
    ids = await tree(graph, sandbox)
    creative_id = {"unknown": "42", "foreign": "", "not-a-creative": ids["adset"]}.get(
        case, ids["creative"]
    )
    if case == "deleted":
        await graph.delete(creative_id)
    if case == "foreign":
        creative_id = ids["creative"]
        sandbox.state.get(creative_id)["account_id"] = "9876543210"
    error = error_of(
        await graph.post(
            f"{INR_ACCOUNT}/ads",
            name="A",
            adset_id=ids["adset"],
            creative=json.dumps({"creative_id": creative_id}),
        )
    )
    assert (error["code"], error.get("error_subcode")) == (100, None)
    assert blame(error) == [["creative", "creative_id"]]


async def test_inline_creative_spec_creates_a_creative(graph: Graph, sandbox: Sandbox) -> None:
    """creative={"object_story_spec": ...} makes a new creative and uses it."""
    ids = await tree(graph, sandbox)
    inline = {
        "name": "Inline",
        "object_story_spec": json.loads(story(image_hash=add_image(sandbox))),
    }
    ad_id = created_id(
        await graph.post(
            f"{INR_ACCOUNT}/ads", name="A", adset_id=ids["adset"], creative=json.dumps(inline)
        )
    )
    body = await read(graph, ad_id, "creative{name,image_hash}")
    assert body["creative"]["name"] == "Inline"
    assert body["creative"]["id"] != ids["creative"]
    assert len(list(sandbox.state.of_kind("adcreative"))) == 2


async def test_inline_creative_errors_blame_under_creative(graph: Graph, sandbox: Sandbox) -> None:
    """A rule broken inside an inline creative blames the path under 'creative'."""
    ids = await tree(graph, sandbox)
    inline = {"object_story_spec": {"link_data": {"link": "https://example.com"}}}
    error = error_of(
        await graph.post(
            f"{INR_ACCOUNT}/ads", name="A", adset_id=ids["adset"], creative=json.dumps(inline)
        )
    )
    assert error["code"] == 100
    assert blame(error) == [["creative", "object_story_spec", "page_id"]]
    assert len(list(sandbox.state.of_kind("adcreative"))) == 1


async def test_validate_only_creates_neither_ad_nor_inline_creative(
    graph: Graph, sandbox: Sandbox
) -> None:
    """validate_only checks the whole ad, inline creative included, and stores nothing."""
    ids = await tree(graph, sandbox)
    inline = {"object_story_spec": json.loads(story(picture="https://example.com/p.png"))}
    response = await graph.post(
        f"{INR_ACCOUNT}/ads",
        name="A",
        adset_id=ids["adset"],
        creative=json.dumps(inline),
        execution_options='["validate_only"]',
    )
    assert response.json() == {"success": True}
    assert list(sandbox.state.of_kind("ad")) == []
    assert len(list(sandbox.state.of_kind("adcreative"))) == 1


@pytest.mark.parametrize(
    ("form", "path"),
    [
        ({"status": "ARCHIVED"}, ["status"]),
        ({"bid_amount": "100"}, ["bid_amount"]),
        ({"colour": "blue"}, ["colour"]),
        ({"name": "n" * 401}, ["name"]),
    ],
    ids=["archived-at-creation", "bid-amount", "unknown-param", "long-name"],
)
async def test_create_parameter_rules(
    graph: Graph, sandbox: Sandbox, form: dict[str, Any], path: list[str]
) -> None:
    """Status ACTIVE/PAUSED only, no bid_amount on ads, no unknown params, name ≤ 400."""
    ids = await tree(graph, sandbox)
    base = {
        "name": "A",
        "adset_id": ids["adset"],
        "creative": json.dumps({"creative_id": ids["creative"]}),
    }
    error = error_of(await graph.post(f"{INR_ACCOUNT}/ads", **{**base, **form}))
    assert error["code"] == 100
    assert blame(error) == [path]


class TestAdsPerAdSetLimit:
    """The ads-per-ad-set ceiling counts ads that are neither archived nor deleted."""

    @pytest.fixture
    def config(self) -> SandboxConfig:
        """Two ads per ad set, to reach the limit quickly."""
        return SandboxConfig(max_ads_per_adset=2)

    async def test_third_ad_is_refused_until_one_is_deleted(
        self, graph: Graph, sandbox: Sandbox
    ) -> None:
        """At the limit a new ad is code 100 blaming adset_id; deleting one makes room."""
        ids = await tree(graph, sandbox)
        first = await make_ad(graph, ids["adset"], ids["creative"])
        await make_ad(graph, ids["adset"], ids["creative"])
        creative = json.dumps({"creative_id": ids["creative"]})
        response = await graph.post(
            f"{INR_ACCOUNT}/ads", name="A", adset_id=ids["adset"], creative=creative
        )
        error = error_of(response)
        assert (error["code"], error.get("error_subcode")) == (100, None)
        assert blame(error) == [["adset_id"]]
        await graph.delete(first)
        await make_ad(graph, ids["adset"], ids["creative"])


async def test_new_active_ad_is_pending_review_for_30_seconds(
    graph: Graph, sandbox: Sandbox, clock: ManualClock
) -> None:
    """An ACTIVE ad under ACTIVE parents reads PENDING_REVIEW, then ACTIVE after review."""
    ids = await tree(graph, sandbox, active=True)
    ad_id = await make_ad(graph, ids["adset"], ids["creative"], status="ACTIVE")
    body = await read(graph, ad_id, "status,effective_status")
    assert (body["status"], body["effective_status"]) == ("ACTIVE", "PENDING_REVIEW")
    volume = (await graph.get(f"{INR_ACCOUNT}/ads_volume")).json()
    assert volume == {"data": [{"ads_running_or_in_review_count": 1}]}
    clock.advance(31)
    assert (await read(graph, ad_id, "effective_status"))["effective_status"] == "ACTIVE"


async def test_paused_ad_in_review_reads_paused(
    graph: Graph, sandbox: Sandbox, clock: ManualClock
) -> None:
    """A PAUSED ad reads PAUSED during review and does not count in ads_volume."""
    ids = await tree(graph, sandbox, active=True)
    ad_id = await make_ad(graph, ids["adset"], ids["creative"], status="PAUSED")
    assert (await read(graph, ad_id, "effective_status"))["effective_status"] == "PAUSED"
    volume = (await graph.get(f"{INR_ACCOUNT}/ads_volume")).json()
    assert volume["data"][0]["ads_running_or_in_review_count"] == 0


async def test_parents_shadow_the_ads_effective_status(
    graph: Graph, sandbox: Sandbox, clock: ManualClock
) -> None:
    """A paused ad set reads ADSET_PAUSED on its ads; a paused campaign CAMPAIGN_PAUSED."""
    ids = await tree(graph, sandbox, active=True)
    ad_id = await make_ad(graph, ids["adset"], ids["creative"], status="ACTIVE")
    clock.advance(31)
    await graph.post(ids["adset"], status="PAUSED")
    assert (await read(graph, ad_id, "effective_status"))["effective_status"] == "ADSET_PAUSED"
    await graph.post(ids["campaign"], status="PAUSED")
    assert (await read(graph, ad_id, "effective_status"))["effective_status"] == "CAMPAIGN_PAUSED"


async def test_listings_filter_by_effective_status(
    graph: Graph, sandbox: Sandbox, clock: ManualClock
) -> None:
    """effective_status filters ads on the account, ad set and campaign edges alike."""
    ids = await tree(graph, sandbox, active=True)
    paused = await make_ad(graph, ids["adset"], ids["creative"], name="paused")
    reviewing = await make_ad(graph, ids["adset"], ids["creative"], status="ACTIVE", name="new")
    for parent in (INR_ACCOUNT, ids["adset"], ids["campaign"]):
        pending = await graph.get(f"{parent}/ads", effective_status='["PENDING_REVIEW"]')
        assert [row["id"] for row in pending.json()["data"]] == [reviewing]
        both = await graph.get(f"{parent}/ads", effective_status="PAUSED,PENDING_REVIEW")
        assert [row["id"] for row in both.json()["data"]] == [paused, reviewing]
    clock.advance(31)
    active = await graph.get(f"{INR_ACCOUNT}/ads", effective_status='["ACTIVE"]')
    assert [row["id"] for row in active.json()["data"]] == [reviewing]
    await graph.post(ids["adset"], status="PAUSED")
    shadowed = await graph.get(f"{ids['campaign']}/ads", effective_status='["ADSET_PAUSED"]')
    assert [row["id"] for row in shadowed.json()["data"]] == [reviewing]


async def test_effective_status_filter_rules(graph: Graph) -> None:
    """Filtering on DELETED, or on an unknown status, is code 100 blaming effective_status."""
    for value in ('["DELETED"]', '["SLEEPING"]'):
        error = error_of(await graph.get(f"{INR_ACCOUNT}/ads", effective_status=value))
        assert error["code"] == 100
        assert blame(error) == [["effective_status"]]


async def test_listings_page_and_summarise(graph: Graph, sandbox: Sandbox) -> None:
    """Ads listings page by cursor and report total_count; other ad sets' ads stay out."""
    ids = await tree(graph, sandbox)
    other = await make_adset(graph, ids["campaign"])
    await make_ad(graph, other, ids["creative"], name="elsewhere")
    made = [await make_ad(graph, ids["adset"], ids["creative"], name=f"A{i}") for i in range(3)]
    first = (await graph.get(f"{ids['adset']}/ads", limit=2, summary="true")).json()
    assert [row["id"] for row in first["data"]] == made[:2]
    assert first["summary"] == {"total_count": 3}
    after = first["paging"]["cursors"]["after"]
    second = (await graph.get(f"{ids['adset']}/ads", limit=2, after=after)).json()
    assert [row["id"] for row in second["data"]] == made[2:]
    assert "next" not in second["paging"]
    by_campaign = (await graph.get(f"{ids['campaign']}/ads", summary="true")).json()
    assert by_campaign["summary"] == {"total_count": 4}


async def test_ads_expand_as_an_edge_of_the_ad_set(graph: Graph, sandbox: Sandbox) -> None:
    """GET /{adset_id}?fields=ads{name} nests the ad set's ads."""
    ids = await tree(graph, sandbox)
    ad_id = await make_ad(graph, ids["adset"], ids["creative"], name="nested")
    body = await read(graph, ids["adset"], "name,ads{name}")
    assert body["ads"]["data"] == [{"name": "nested", "id": ad_id}]


async def test_creative_swap_points_the_ad_at_a_new_creative_and_re_reviews(
    graph: Graph, sandbox: Sandbox, clock: ManualClock
) -> None:
    """POST /{ad_id} creative={"creative_id": new} swaps the creative and restarts review."""
    ids = await tree(graph, sandbox, active=True)
    ad_id = await make_ad(graph, ids["adset"], ids["creative"], status="ACTIVE")
    clock.advance(31)
    new_creative = await make_creative(graph, sandbox, name="Beans v2")
    response = await graph.post(ad_id, creative=json.dumps({"creative_id": new_creative}))
    assert response.json() == {"success": True}
    body = await read(graph, ad_id, "creative{name},effective_status")
    assert body["creative"] == {"name": "Beans v2", "id": new_creative}
    assert body["effective_status"] == "PENDING_REVIEW"
    old = await read(graph, ids["creative"], "name,status")
    assert (old["name"], old["status"]) == ("Beans", "ACTIVE")
    clock.advance(31)
    assert (await read(graph, ad_id, "effective_status"))["effective_status"] == "ACTIVE"


async def test_swap_to_a_missing_creative_is_refused(graph: Graph, sandbox: Sandbox) -> None:
    """Swapping to an unknown creative leaves the ad unchanged."""
    ids = await tree(graph, sandbox)
    ad_id = await make_ad(graph, ids["adset"], ids["creative"])
    error = error_of(await graph.post(ad_id, creative=json.dumps({"creative_id": "42"})))
    assert blame(error) == [["creative", "creative_id"]]
    assert (await read(graph, ad_id, "creative"))["creative"] == {"id": ids["creative"]}


async def test_adset_id_is_immutable(graph: Graph, sandbox: Sandbox) -> None:
    """An ad can't move to another ad set."""
    ids = await tree(graph, sandbox)
    other = await make_adset(graph, ids["campaign"])
    ad_id = await make_ad(graph, ids["adset"], ids["creative"])
    error = error_of(await graph.post(ad_id, adset_id=other))
    assert (error["code"], error.get("error_subcode")) == (100, None)
    assert blame(error) == [["adset_id"]]


async def test_update_name_status_and_tracking(graph: Graph, sandbox: Sandbox) -> None:
    """Name, status and tracking specs update and read back; read-after-write honours fields."""
    ids = await tree(graph, sandbox)
    ad_id = await make_ad(graph, ids["adset"], ids["creative"])
    specs = [{"action.type": ["offsite_conversion"], "fb_pixel": ["555000000000001"]}]
    response = await graph.post(
        ad_id, name="Renamed", status="ACTIVE", tracking_specs=json.dumps(specs), fields="name"
    )
    assert response.json() == {"success": True, "name": "Renamed", "id": ad_id}
    body = await read(graph, ad_id, "status,tracking_specs,updated_time")
    assert body["status"] == "ACTIVE"
    assert body["tracking_specs"] == specs


async def test_archived_ad_takes_only_a_rename_or_deletion(graph: Graph, sandbox: Sandbox) -> None:
    """An archived ad refuses reactivation and creative swaps with 1885088; rename and delete work."""
    ids = await tree(graph, sandbox)
    ad_id = await make_ad(graph, ids["adset"], ids["creative"])
    assert (await graph.post(ad_id, status="ARCHIVED")).json() == {"success": True}
    assert (await graph.post(ad_id, name="Old")).json() == {"success": True}
    for form in ({"status": "ACTIVE"}, {"creative": json.dumps({"creative_id": ids["creative"]})}):
        error = error_of(await graph.post(ad_id, **form))
        assert (error["code"], error["error_subcode"]) == (100, 1885088)
    listing = (await graph.get(f"{INR_ACCOUNT}/ads")).json()
    assert listing["data"] == []
    archived = (await graph.get(f"{INR_ACCOUNT}/ads", effective_status='["ARCHIVED"]')).json()
    assert [row["id"] for row in archived["data"]] == [ad_id]
    assert (await graph.delete(ad_id)).json() == {"success": True}


async def test_deleted_ad_reads_by_id_but_leaves_listings(graph: Graph, sandbox: Sandbox) -> None:
    """DELETE keeps the ad readable as DELETED, out of every listing, and no longer editable."""
    ids = await tree(graph, sandbox)
    ad_id = await make_ad(graph, ids["adset"], ids["creative"])
    assert (await graph.post(ad_id, status="DELETED")).json() == {"success": True}
    body = await read(graph, ad_id, "status,effective_status")
    assert body["status"] == body["effective_status"] == "DELETED"
    for parent in (INR_ACCOUNT, ids["adset"], ids["campaign"]):
        assert (await graph.get(f"{parent}/ads")).json()["data"] == []
    error = error_of(await graph.post(ad_id, status="PAUSED"))
    assert error["code"] == 100


async def test_unknown_ad_is_100_33(graph: Graph) -> None:
    """Reading an id that does not exist is Meta's 100/33 GraphMethodException."""
    error = error_of(await graph.get("120210000000099999", fields="name"))
    assert (error["code"], error["error_subcode"], error["type"]) == (
        100,
        33,
        "GraphMethodException",
    )
