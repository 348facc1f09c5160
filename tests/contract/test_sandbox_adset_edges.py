"""An ad set's ``adcreatives`` and ``activities`` edges answer what its ads and its log hold.

Meta's SDK lists both on AdSet (not on Campaign): the creatives are those the ad set's ads
show, and the activity log is the account's, kept to the ad set and its ads, with the same
``fields``/``since``/``until`` handling as ``/act_X/activities``.
"""

from __future__ import annotations

import json

from meta_agent.sandbox import ManualClock, Sandbox
from meta_agent.sandbox.data.sdk import sdk_object
from tests.conftest import INR_ACCOUNT, Graph, error_of
from tests.contract.test_ads import make_ad, tree
from tests.contract.test_creatives import make_adset, make_creative
from tests.contract.test_sandbox_business import ids, ok


def test_the_sdk_lists_these_edges_on_ad_sets_only() -> None:
    """The edges served here are the SDK's (Campaign has neither)."""
    assert {"adcreatives", "activities"} <= set(sdk_object("AdSet").edges)
    assert not {"adcreatives", "activities"} & set(sdk_object("Campaign").edges)


async def test_adset_adcreatives_are_its_ads_creatives(graph: Graph, sandbox: Sandbox) -> None:
    """Each creative once, oldest ad first; deleted ads and other ad sets' ads stay out."""
    objects = await tree(graph, sandbox)
    second = await make_creative(graph, sandbox, name="Roast")
    dropped = await make_creative(graph, sandbox, name="Dropped")
    await make_ad(graph, objects["adset"], objects["creative"], name="One")
    await make_ad(graph, objects["adset"], second, name="Two")
    await make_ad(graph, objects["adset"], objects["creative"], name="Three")
    gone = await make_ad(graph, objects["adset"], dropped, name="Gone")
    assert (await graph.delete(gone)).status_code == 200
    other_adset = await make_adset(graph, objects["campaign"])
    await make_ad(graph, other_adset, dropped, name="Elsewhere")

    listed = await ok(graph, f"{objects['adset']}/adcreatives", fields="id,name")
    assert listed["data"] == [
        {"id": objects["creative"], "name": "Beans"},
        {"id": second, "name": "Roast"},
    ]
    assert ids(await ok(graph, f"{other_adset}/adcreatives")) == [dropped]
    expanded = await ok(graph, objects["adset"], fields="adcreatives.limit(1){name}")
    assert [item["name"] for item in expanded["adcreatives"]["data"]] == ["Beans"]
    paged = await ok(graph, f"{objects['adset']}/adcreatives", limit="1")
    assert paged["data"] == [{"id": objects["creative"]}]
    assert "next" in paged["paging"]


async def test_adset_adcreatives_without_ads_is_empty(graph: Graph, sandbox: Sandbox) -> None:
    """An ad set with no ads has no creatives; an unknown field is #100 naming AdCreative."""
    objects = await tree(graph, sandbox)
    assert await ok(graph, f"{objects['adset']}/adcreatives") == {"data": []}
    await make_ad(graph, objects["adset"], objects["creative"])
    error = error_of(await graph.get(f"{objects['adset']}/adcreatives", fields="made_up"))
    assert error["code"] == 100
    assert "made_up" in error["message"]


def _events(body: dict[str, list[dict[str, str]]]) -> list[tuple[str, str]]:
    return [(item["event_type"], item["object_id"]) for item in body["data"]]


async def test_adset_activities_are_its_own_and_its_ads(graph: Graph, sandbox: Sandbox) -> None:
    """The ad set's log: it and its ads, newest first; the campaign and other ad sets stay out."""
    objects = await tree(graph, sandbox)
    adset = objects["adset"]
    ad_id = await make_ad(graph, adset, objects["creative"])
    other_adset = await make_adset(graph, objects["campaign"])
    await make_ad(graph, other_adset, objects["creative"], name="Elsewhere")
    assert (await graph.post(adset, daily_budget="60000")).status_code == 200
    assert (await graph.post(ad_id, name="Renamed")).status_code == 200
    assert (await graph.post(objects["campaign"], name="Campaign renamed")).status_code == 200

    body = await ok(graph, f"{adset}/activities", fields="event_type,object_id,extra_data")
    assert _events(body) == [
        ("update_ad_friendly_name", ad_id),
        ("update_ad_set_budget", adset),
        ("create_ad", ad_id),
        ("create_ad_set", adset),
    ]
    assert json.loads(body["data"][0]["extra_data"])["new_value"] == "Renamed"
    account_log = _events(await ok(graph, f"{INR_ACCOUNT}/activities", limit="50"))
    assert ("update_campaign_name", objects["campaign"]) in account_log


async def test_adset_activities_fields_and_time_window(
    graph: Graph, sandbox: Sandbox, clock: ManualClock
) -> None:
    """``since``/``until`` bound the entries, ``fields`` is held to AdActivity, and it expands."""
    objects = await tree(graph, sandbox)
    adset = objects["adset"]
    clock.advance(3600)
    middle = clock.now()
    clock.advance(3600)
    assert (await graph.post(adset, name="Later name")).status_code == 200

    later = await ok(graph, f"{adset}/activities", since=str(int(middle)), fields="event_type")
    assert later["data"] == [{"event_type": "update_ad_set_name"}]
    earlier = await ok(graph, f"{adset}/activities", until=str(int(middle)))
    assert [item["event_type"] for item in earlier["data"]] == ["create_ad_set"]
    assert set(earlier["data"][0]) >= {"actor_id", "event_time", "object_type", "object_name"}
    expanded = await ok(graph, adset, fields="activities.limit(1){event_type,object_id}")
    assert expanded["activities"]["data"] == [
        {"event_type": "update_ad_set_name", "object_id": adset}
    ]
    error = error_of(await graph.get(f"{adset}/activities", fields="made_up"))
    assert "(made_up) on node type (AdActivity)" in error["message"]
    bad_time = error_of(await graph.get(f"{adset}/activities", since="not a time"))
    assert bad_time["code"] == 100
