"""Labels given by name when a campaign, ad set, ad or creative is created or updated.

Meta creates a label the account does not have yet; a name it has is the same label, an id
must be one of the account's labels, and a refused or validate-only request creates none.
"""

from __future__ import annotations

import json
from typing import Any

from meta_agent.sandbox import Sandbox
from tests.conftest import INR_ACCOUNT, USD_ACCOUNT, Graph, error_of
from tests.contract.test_ads import tree
from tests.contract.test_creatives import TARGETING, add_image, story
from tests.contract.test_sandbox_business import ids, ok
from tests.contract.test_sandbox_labels import new_label

LABELS = f"{INR_ACCOUNT}/adlabels"


def named(*names: str) -> str:
    """``adlabels`` naming labels."""
    return json.dumps([{"name": name} for name in names])


async def labels_by_name(graph: Graph) -> dict[str, str]:
    """The account's labels, name -> id."""
    return {item["name"]: item["id"] for item in (await ok(graph, LABELS))["data"]}


async def create(graph: Graph, edge: str, **params: Any) -> str:
    """POST a create; returns the new id."""
    response = await graph.post(f"{INR_ACCOUNT}/{edge}", **params)
    assert response.status_code == 200, response.text
    object_id: str = response.json()["id"]
    return object_id


async def test_create_by_name_makes_the_label(graph: Graph, sandbox: Sandbox) -> None:
    """Each of the four creates makes a new name a label; a known name reuses that label."""
    known = await new_label(graph, "Evergreen")
    campaign = await create(
        graph,
        "campaigns",
        name="Q4 campaign",
        objective="OUTCOME_TRAFFIC",
        special_ad_categories="[]",
        is_adset_budget_sharing_enabled="false",
        adlabels=named("Q4", "Evergreen"),
    )
    adset = await create(
        graph,
        "adsets",
        name="Q4 ad set",
        campaign_id=campaign,
        billing_event="IMPRESSIONS",
        optimization_goal="LINK_CLICKS",
        daily_budget="50000",
        targeting=json.dumps(TARGETING),
        adlabels=named("Q4"),
    )
    spec = story(image_hash=add_image(sandbox), call_to_action={"type": "SHOP_NOW"})
    creative = await create(
        graph, "adcreatives", name="Q4 creative", object_story_spec=spec, adlabels=named("Q4")
    )
    ad = await create(
        graph,
        "ads",
        name="Q4 ad",
        adset_id=adset,
        creative=json.dumps({"creative_id": creative}),
        adlabels=named("Holiday"),
    )
    labels = await labels_by_name(graph)
    assert set(labels) == {"Evergreen", "Q4", "Holiday"}  # one label per name
    assert labels["Evergreen"] == known
    q4 = labels["Q4"]
    assert (await ok(graph, campaign, fields="adlabels"))["adlabels"] == [
        {"id": q4, "name": "Q4"},
        {"id": known, "name": "Evergreen"},
    ]
    assert ids(await ok(graph, f"{q4}/campaigns")) == [campaign]
    assert ids(await ok(graph, f"{q4}/adsets")) == [adset]
    assert ids(await ok(graph, f"{q4}/adcreatives")) == [creative]
    assert ids(await ok(graph, f"{labels['Holiday']}/ads")) == [ad]
    by_label = await ok(
        graph, f"{INR_ACCOUNT}/adsbylabels", ad_label_ids=json.dumps([labels["Holiday"]])
    )
    assert ids(by_label) == [ad]
    assert (await ok(graph, f"{USD_ACCOUNT}/adlabels"))["data"] == []


async def test_update_by_name_makes_the_label(graph: Graph, sandbox: Sandbox) -> None:
    """Updates set the object's labels the same way, on all four kinds."""
    objects = await tree(graph, sandbox)
    ad = await create(
        graph,
        "ads",
        name="Ad",
        adset_id=objects["adset"],
        creative=json.dumps({"creative_id": objects["creative"]}),
    )
    for object_id in (objects["campaign"], objects["adset"], objects["creative"], ad):
        reply = await graph.post(object_id, adlabels=named("Spring"))
        assert reply.json() == {"success": True}, reply.text
    spring = (await labels_by_name(graph))["Spring"]
    for object_id in (objects["campaign"], objects["adset"], objects["creative"], ad):
        body = await ok(graph, object_id, fields="adlabels")
        assert body["adlabels"] == [{"id": spring, "name": "Spring"}], object_id
    assert (await graph.post(spring, name="Spring sale")).json() == {"success": True}
    renamed = await ok(graph, objects["campaign"], fields="adlabels")
    assert renamed["adlabels"] == [{"id": spring, "name": "Spring sale"}]
    log = await ok(graph, f"{INR_ACCOUNT}/activities", fields="event_type,object_id")
    assert log["data"][0] == {"event_type": "update_ad_labels", "object_id": ad}


async def test_refused_and_dry_run_writes_make_no_label(graph: Graph, sandbox: Sandbox) -> None:
    """A refused create, a validate-only one, and a bad entry leave the account's labels alone."""
    refused = await graph.post(
        f"{INR_ACCOUNT}/campaigns", name="No objective", adlabels=named("Refused")
    )
    assert refused.status_code == 400
    dry = await graph.post(
        f"{INR_ACCOUNT}/campaigns",
        name="Dry run",
        objective="OUTCOME_TRAFFIC",
        special_ad_categories="[]",
        is_adset_budget_sharing_enabled="false",
        execution_options='["validate_only"]',
        adlabels=named("Dry"),
    )
    assert dry.json() == {"success": True}, dry.text
    campaign = (await tree(graph, sandbox))["campaign"]
    for bad in ('["x"]', '[{"colour": "red"}]'):
        error = error_of(await graph.post(campaign, adlabels=bad))
        assert error["code"] == 100, bad
        assert "adlabels" in error["message"], bad
    foreign = await new_label(graph, "Elsewhere", USD_ACCOUNT)
    wrong = error_of(await graph.post(campaign, adlabels=json.dumps([{"id": foreign}])))
    assert (wrong["code"], wrong["error_subcode"]) == (100, 33)
    assert await labels_by_name(graph) == {}
