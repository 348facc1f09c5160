"""Ad labels: created on an account, attached to campaigns, ad sets and ads, listed both ways."""

from __future__ import annotations

import json

from meta_agent.sandbox import Sandbox
from tests.conftest import INR_ACCOUNT, USD_ACCOUNT, Graph, error_of
from tests.contract.test_ads import make_ad, tree
from tests.contract.test_sandbox_business import ids, ok

EDGE = f"{INR_ACCOUNT}/adlabels"


async def new_label(graph: Graph, name: str, account: str = INR_ACCOUNT) -> str:
    """Create a label; returns its id."""
    response = await graph.post(f"{account}/adlabels", name=name)
    assert response.status_code == 200, response.text
    label_id: str = response.json()["id"]
    return label_id


async def test_create_list_and_read_a_label(graph: Graph) -> None:
    """POST answers ``{"id"}``; the label is listed on its account only and reads as a node."""
    label_id = await new_label(graph, "Q4 push")
    listed = await ok(graph, EDGE, fields="id,name,account")
    assert listed["data"] == [{"id": label_id, "name": "Q4 push", "account": {"id": INR_ACCOUNT}}]
    assert (await ok(graph, f"{USD_ACCOUNT}/adlabels")) == {"data": []}
    node = await ok(graph, label_id, fields="name,created_time,updated_time")
    assert node["name"] == "Q4 push"
    assert node["created_time"].endswith("+0530")
    assert await new_label(graph, "Q4 push") == label_id  # one label per name in an account


async def test_create_needs_a_name(graph: Graph) -> None:
    """No name, or an unknown parameter, is #100 naming it."""
    missing = error_of(await graph.post(EDGE))
    assert missing["code"] == 100
    assert "name is required" in missing["message"]
    unknown = error_of(await graph.post(EDGE, name="x", colour="red"))
    assert "colour" in unknown["message"]


async def test_attach_by_id_and_by_name(graph: Graph, sandbox: Sandbox) -> None:
    """``POST /{object}/adlabels`` adds labels; a new name creates the label on the account."""
    objects = await tree(graph, sandbox)
    ad_id = await make_ad(graph, objects["adset"], objects["creative"])
    label_id = await new_label(graph, "Evergreen")
    for object_id in (objects["campaign"], objects["adset"], ad_id):
        reply = await graph.post(f"{object_id}/adlabels", adlabels=json.dumps([{"id": label_id}]))
        assert reply.json() == {"success": True}, reply.text
    by_name = json.dumps([{"name": "Holiday"}, {"id": label_id}])
    assert (await graph.post(f"{ad_id}/adlabels", adlabels=by_name)).status_code == 200
    holiday = next(label for label in (await ok(graph, EDGE))["data"] if label["id"] != label_id)
    ad = await ok(graph, ad_id, fields="adlabels")
    assert ad["adlabels"] == [
        {"id": label_id, "name": "Evergreen"},
        {"id": holiday["id"], "name": "Holiday"},
    ]
    campaign = await ok(graph, objects["campaign"], fields="adlabels")
    assert campaign["adlabels"] == [{"id": label_id, "name": "Evergreen"}]
    assert ids(await ok(graph, f"{label_id}/campaigns")) == [objects["campaign"]]
    assert ids(await ok(graph, f"{label_id}/adsets")) == [objects["adset"]]
    assert ids(await ok(graph, f"{label_id}/ads")) == [ad_id]
    assert ids(await ok(graph, f"{holiday['id']}/ads")) == [ad_id]
    assert ids(await ok(graph, f"{holiday['id']}/campaigns")) == []


async def test_attaching_is_recorded_as_an_activity(graph: Graph, sandbox: Sandbox) -> None:
    """An ad's new labels show on the account's activity log as ``update_ad_labels``."""
    objects = await tree(graph, sandbox)
    ad_id = await make_ad(graph, objects["adset"], objects["creative"])
    await graph.post(f"{ad_id}/adlabels", adlabels=json.dumps([{"name": "Logged"}]))
    log = await ok(graph, f"{INR_ACCOUNT}/activities", fields="event_type,object_id")
    assert log["data"][0] == {"event_type": "update_ad_labels", "object_id": ad_id}


async def test_labels_given_on_create_are_matched(graph: Graph, sandbox: Sandbox) -> None:
    """A campaign created with ``adlabels=[{"id"}]`` is listed on that label's campaigns."""
    label_id = await new_label(graph, "At launch")
    response = await graph.post(
        f"{INR_ACCOUNT}/campaigns",
        name="Labelled",
        objective="OUTCOME_TRAFFIC",
        special_ad_categories="[]",
        is_adset_budget_sharing_enabled="false",
        adlabels=json.dumps([{"id": label_id}]),
    )
    assert response.status_code == 200, response.text
    assert ids(await ok(graph, f"{label_id}/campaigns")) == [response.json()["id"]]


async def test_detach_rename_and_delete(graph: Graph, sandbox: Sandbox) -> None:
    """DELETE on the edge detaches; renaming shows on objects; deleting removes it everywhere."""
    objects = await tree(graph, sandbox)
    campaign = objects["campaign"]
    keep, drop = await new_label(graph, "Keep"), await new_label(graph, "Drop")
    both = json.dumps([{"id": keep}, {"id": drop}])
    await graph.post(f"{campaign}/adlabels", adlabels=both)
    detached = await graph.delete(f"{campaign}/adlabels", adlabels=json.dumps([{"id": drop}]))
    assert detached.json() == {"success": True}
    assert (await ok(graph, campaign, fields="adlabels"))["adlabels"] == [
        {"id": keep, "name": "Keep"}
    ]
    assert (await graph.post(keep, name="Kept")).json() == {"success": True}
    renamed = await ok(graph, campaign, fields="adlabels")
    assert renamed["adlabels"] == [{"id": keep, "name": "Kept"}]
    assert (await graph.delete(keep)).json() == {"success": True}
    assert (await ok(graph, campaign, fields="adlabels")).get("adlabels", []) == []
    gone = error_of(await graph.get(keep))
    assert (gone["code"], gone["error_subcode"]) == (100, 33)


async def test_attach_refuses_bad_entries(graph: Graph, sandbox: Sandbox) -> None:
    """A label of another account is 100/33; a malformed list is #100 on adlabels."""
    campaign = (await tree(graph, sandbox))["campaign"]
    foreign = await new_label(graph, "Elsewhere", USD_ACCOUNT)
    wrong = error_of(
        await graph.post(f"{campaign}/adlabels", adlabels=json.dumps([{"id": foreign}]))
    )
    assert (wrong["code"], wrong["error_subcode"]) == (100, 33)
    for bad in ("[]", '["x"]', '[{"colour": "red"}]'):
        error = error_of(await graph.post(f"{campaign}/adlabels", adlabels=bad))
        assert error["code"] == 100, bad
        assert "adlabels" in error["message"], bad
    assert error_of(await graph.post(f"{campaign}/adlabels"))["code"] == 100
    assert (await graph.delete(campaign)).status_code == 200
    deleted = error_of(await graph.post(f"{campaign}/adlabels", adlabels='[{"name": "Late"}]'))
    assert (deleted["code"], deleted["error_subcode"]) == (100, 33)


async def test_account_lists_objects_by_labels(graph: Graph, sandbox: Sandbox) -> None:
    """``/act_X/adsbylabels``: ANY (the default) or ALL of ``ad_label_ids``."""
    objects = await tree(graph, sandbox)
    first = await make_ad(graph, objects["adset"], objects["creative"])
    second = await make_ad(graph, objects["adset"], objects["creative"])
    red, blue = await new_label(graph, "Red"), await new_label(graph, "Blue")
    await graph.post(f"{first}/adlabels", adlabels=json.dumps([{"id": red}, {"id": blue}]))
    await graph.post(f"{second}/adlabels", adlabels=json.dumps([{"id": red}]))
    both = json.dumps([red, blue])
    edge = f"{INR_ACCOUNT}/adsbylabels"
    assert ids(await ok(graph, edge, ad_label_ids=both)) == [first, second]
    assert ids(await ok(graph, edge, ad_label_ids=both, operator="ALL")) == [first]
    assert ids(await ok(graph, f"{INR_ACCOUNT}/campaignsbylabels", ad_label_ids=both)) == []
    missing = error_of(await graph.get(edge))
    assert "ad_label_ids is required" in missing["message"]
    foreign = await new_label(graph, "Other", USD_ACCOUNT)
    error = error_of(await graph.get(edge, ad_label_ids=json.dumps([foreign])))
    assert "not an ad label of this ad account" in error["message"]
    bad = error_of(await graph.get(edge, ad_label_ids=both, operator="SOME"))
    assert "operator must be one of" in bad["message"]
