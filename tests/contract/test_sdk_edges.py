"""Every GET edge Meta's SDK lists answers Meta's envelope; the ones that matter have content.

An edge the sandbox holds nothing on answers an empty page (``{"data": []}``, as the sandbox's
other listings answer when empty), with ``fields`` held to the SDK's list for the edge's target
type and ``limit`` checked. A name the SDK does not list stays ``2500 Unknown path components``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from meta_agent.sandbox import ManualClock, Sandbox
from meta_agent.sandbox.data.sdk import sdk_object
from meta_agent.sandbox.state import USER_ID
from tests.conftest import INR_ACCOUNT, USD_ACCOUNT, Graph, error_of
from tests.contract.test_ads import make_ad, tree

# Served edges that, as on Meta, refuse a read without parameters of their own.
NEEDS_PARAMS = {
    ("AdAccount", "delivery_estimate"),
    ("AdAccount", "reachestimate"),
    ("AdAccount", "targetingsearch"),
    ("AdAccount", "adcreativesbylabels"),
    ("AdAccount", "adsbylabels"),
    ("AdAccount", "adsetsbylabels"),
    ("AdAccount", "campaignsbylabels"),
}


async def objects(graph: Graph, sandbox: Sandbox) -> dict[str, str]:
    """A campaign, ad set, ad, the INR account and the token's user, by SDK class name."""
    ids = await tree(graph, sandbox)
    return {
        "Campaign": ids["campaign"],
        "AdSet": ids["adset"],
        "Ad": await make_ad(graph, ids["adset"], ids["creative"]),
        "AdAccount": INR_ACCOUNT,
        "User": "me",
    }


async def body_of(graph: Graph, path: str, **params: Any) -> dict[str, Any]:
    """GET a path that must answer 200."""
    response = await graph.get(path, **params)
    assert response.status_code == 200, (path, response.text)
    body: dict[str, Any] = response.json()
    return body


async def test_every_sdk_get_edge_answers_an_envelope(graph: Graph, sandbox: Sandbox) -> None:
    """Each GET edge the SDK lists for the five types answers 200 with a ``data`` list."""
    failures = []
    checked = 0
    found = await objects(graph, sandbox)
    for graph_name, object_id in found.items():
        for edge in sorted(sdk_object(graph_name).edges):
            response = await graph.get(f"{object_id}/{edge}")
            if (graph_name, edge) in NEEDS_PARAMS:
                assert error_of(response)["code"] == 100, (edge, response.text)
                continue
            body = response.json()
            checked += 1
            if response.status_code != 200 or not isinstance(body.get("data"), list):
                failures.append((graph_name, edge, response.status_code, response.text[:200]))
    assert not failures
    assert checked == sum(len(sdk_object(name).edges) for name in found) - len(NEEDS_PARAMS)


async def test_an_empty_edge_is_the_bare_envelope(graph: Graph) -> None:
    """Nothing held: ``{"data": []}``, no paging block, the summary when asked."""
    assert await body_of(graph, f"{INR_ACCOUNT}/deprecatedtargetingadsets") == {"data": []}
    body = await body_of(graph, f"{INR_ACCOUNT}/deprecatedtargetingadsets", summary="true")
    assert body == {"data": [], "summary": {"total_count": 0}}


async def test_an_empty_edge_checks_fields_and_limit(graph: Graph) -> None:
    """Fields of the target type pass, others are #100 on that type; a bad limit is refused."""
    ok = await body_of(
        graph, f"{INR_ACCOUNT}/deprecatedtargetingadsets", fields="id,name,targeting"
    )
    assert ok == {"data": []}
    error = error_of(
        await graph.get(f"{INR_ACCOUNT}/deprecatedtargetingadsets", fields="id,made_up")
    )
    assert error["code"] == 100
    assert "(made_up) on node type (AdSet)" in error["message"]
    bad_limit = await graph.get(f"{INR_ACCOUNT}/deprecatedtargetingadsets", limit="-1")
    assert bad_limit.status_code == 400
    bad_cursor = await graph.get(f"{INR_ACCOUNT}/deprecatedtargetingadsets", after="not-a-cursor")
    assert error_of(bad_cursor)["code"] == 2642


@pytest.mark.parametrize(
    "path", [f"{INR_ACCOUNT}/made_up_edge", "me/made_up_edge", f"{INR_ACCOUNT}/activities/x"]
)
async def test_an_edge_the_sdk_does_not_list_is_still_2500(graph: Graph, path: str) -> None:
    """A name on no list keeps Meta's unknown-path error."""
    error = error_of(await graph.get(path))
    assert error["code"] == 2500
    assert error["message"] == f"Unknown path components: /{path}"


async def test_a_write_to_an_empty_edge_is_still_2500(graph: Graph) -> None:
    """Only reads are accepted on edges the sandbox holds nothing on."""
    error = error_of(await graph.post(f"{INR_ACCOUNT}/agencies", name="x"))
    assert error["code"] == 2500


async def test_issue_examples_answer_200(graph: Graph, sandbox: Sandbox) -> None:
    """The edges users were refused before."""
    ad_id = (await objects(graph, sandbox))["Ad"]
    for path in (
        f"{INR_ACCOUNT}/activities",
        f"{INR_ACCOUNT}/customaudiences",
        f"{INR_ACCOUNT}/customconversions",
        "me/business_users",
        f"{ad_id}/adcreatives",
    ):
        assert isinstance((await body_of(graph, path))["data"], list)


async def test_custom_audiences_are_the_accounts_own(graph: Graph, sandbox: Sandbox) -> None:
    """Each account lists its seeded audience, with the fields asked for."""
    inr = await body_of(graph, f"{INR_ACCOUNT}/customaudiences", fields="id,name,account_id")
    usd = await body_of(graph, f"{USD_ACCOUNT}/customaudiences")
    expected = {
        a["id"]
        for a in sandbox.state.of_kind(
            "customaudience", account_id=INR_ACCOUNT.removeprefix("act_")
        )
    }
    assert {a["id"] for a in inr["data"]} == expected
    assert expected
    assert all(a["name"] and a["account_id"] == INR_ACCOUNT[4:] for a in inr["data"])
    assert not expected & {a["id"] for a in usd["data"]}
    error = error_of(await graph.get(f"{INR_ACCOUNT}/customaudiences", fields="made_up"))
    assert "(made_up) on node type (CustomAudience)" in error["message"]


async def test_an_ads_creatives_are_its_creative(graph: Graph, sandbox: Sandbox) -> None:
    """``/{ad_id}/adcreatives`` lists the creative the ad shows."""
    ids = await tree(graph, sandbox)
    ad_id = await make_ad(graph, ids["adset"], ids["creative"])
    body = await body_of(graph, f"{ad_id}/adcreatives", fields="id,name")
    assert [c["id"] for c in body["data"]] == [ids["creative"]]
    assert body["data"][0]["name"]
    as_field = await body_of(graph, ad_id, fields="adcreatives{id}")
    assert as_field["adcreatives"]["data"] == [{"id": ids["creative"]}]


async def test_account_users_are_the_tokens_user(graph: Graph) -> None:
    """``/act_X/users``: the token's user, with its tasks."""
    body = await body_of(graph, f"{INR_ACCOUNT}/users")
    assert [u["id"] for u in body["data"]] == [USER_ID]
    assert body["data"][0]["name"] == "Sandbox Marketer"
    assert "ADVERTISE" in body["data"][0]["tasks"]
    only = await body_of(graph, f"{INR_ACCOUNT}/users", fields="id")
    assert only["data"] == [{"id": USER_ID}]
    error = error_of(await graph.get(f"{INR_ACCOUNT}/users", fields="email"))
    assert "(email) on node type (AdAccountUser)" in error["message"]


def _events(body: dict[str, Any]) -> list[tuple[str, str]]:
    return [(item["event_type"], item["object_id"]) for item in body["data"]]


async def test_activities_record_every_write(graph: Graph, sandbox: Sandbox) -> None:
    """Creates, updates and deletes appear newest first with Meta's event types and values."""
    ids = await tree(graph, sandbox)
    ad_id = await make_ad(graph, ids["adset"], ids["creative"])
    assert (await graph.post(ids["campaign"], status="ACTIVE")).status_code == 200
    assert (await graph.post(ids["adset"], daily_budget="60000")).status_code == 200
    assert (await graph.post(ad_id, name="Renamed ad")).status_code == 200
    assert (await graph.delete(ad_id)).status_code == 200
    body = await body_of(graph, f"{INR_ACCOUNT}/activities", limit="50")
    events = _events(body)
    assert events[:4] == [
        ("update_ad_run_status", ad_id),
        ("update_ad_friendly_name", ad_id),
        ("update_ad_set_budget", ids["adset"]),
        ("update_campaign_run_status", ids["campaign"]),
    ]
    assert ("create_ad", ad_id) in events
    assert ("create_ad_set", ids["adset"]) in events
    assert ("create_campaign_group", ids["campaign"]) in events
    assert ("unknown", ids["creative"]) in events  # the SDK has no creative-created event
    run_status = json.loads(body["data"][0]["extra_data"])
    assert (run_status["old_value"], run_status["new_value"]) == ("PAUSED", "DELETED")
    budget = json.loads(body["data"][2]["extra_data"])
    assert budget["new_value"] == 60000 or str(budget["new_value"]) == "60000"
    assert budget["currency"] == "INR"
    first = body["data"][0]
    assert first["actor_id"] == USER_ID
    assert first["object_type"] == "ADGROUP"
    assert first["object_name"] == "Renamed ad"
    assert first["event_time"]
    # Nothing of this account shows on the other one.
    assert (await body_of(graph, f"{USD_ACCOUNT}/activities"))["data"] == []


async def test_refused_and_validate_only_writes_are_not_recorded(graph: Graph) -> None:
    """Meta logs what it applied only."""
    refused = await graph.post(f"{INR_ACCOUNT}/campaigns", name="x")
    assert refused.status_code == 400
    dry = await graph.post(
        f"{INR_ACCOUNT}/campaigns",
        name="Dry run",
        objective="OUTCOME_TRAFFIC",
        special_ad_categories="[]",
        is_adset_budget_sharing_enabled="false",
        execution_options='["validate_only"]',
    )
    assert dry.status_code == 200, dry.text
    assert (await body_of(graph, f"{INR_ACCOUNT}/activities"))["data"] == []


async def test_activities_fields_and_time_window(
    graph: Graph, sandbox: Sandbox, clock: ManualClock
) -> None:
    """``fields`` selects and is checked; ``since``/``until`` bound the events' time."""
    ids = await tree(graph, sandbox)
    clock.advance(3600)
    middle = clock.now()
    clock.advance(3600)
    assert (await graph.post(ids["campaign"], name="Later name")).status_code == 200
    later = await body_of(
        graph, f"{INR_ACCOUNT}/activities", since=str(int(middle)), fields="event_type,extra_data"
    )
    assert later["data"] == [
        {
            "event_type": "update_campaign_name",
            "extra_data": later["data"][0]["extra_data"],
        }
    ]
    assert json.loads(later["data"][0]["extra_data"])["new_value"] == "Later name"
    earlier = await body_of(graph, f"{INR_ACCOUNT}/activities", until=str(int(middle)))
    assert "update_campaign_name" not in {e for e, _ in _events(earlier)}
    assert earlier["data"]
    error = error_of(await graph.get(f"{INR_ACCOUNT}/activities", fields="made_up"))
    assert "(made_up) on node type (AdActivity)" in error["message"]


async def test_activities_are_read_as_an_account_field(graph: Graph, sandbox: Sandbox) -> None:
    """``fields=activities{event_type}`` on the account expands the same log."""
    ids = await tree(graph, sandbox)
    body = await body_of(graph, INR_ACCOUNT, fields="activities.limit(1){event_type,object_id}")
    assert body["activities"]["data"] == [{"event_type": "unknown", "object_id": ids["creative"]}]
