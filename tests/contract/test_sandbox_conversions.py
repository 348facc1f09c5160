"""Custom conversions: the seeded one per account, create with Meta's checks, read, delete."""

from __future__ import annotations

import json
from typing import Any

import pytest

from meta_agent.sandbox.state import BUSINESS_ID, PIXEL_ID
from tests.conftest import INR_ACCOUNT, USD_ACCOUNT, Graph, error_of
from tests.contract.test_sandbox_business import ids, ok

EDGE = f"{INR_ACCOUNT}/customconversions"
RULE = json.dumps({"url": {"i_contains": "/signup/done"}})


def valid(**overrides: Any) -> dict[str, Any]:
    """A create request Meta accepts, with some parameters replaced (None drops one)."""
    params = {
        "name": "Signed up",
        "custom_event_type": "COMPLETE_REGISTRATION",
        "event_source_id": PIXEL_ID,
        "rule": RULE,
        **overrides,
    }
    return {key: value for key, value in params.items() if value is not None}


async def test_each_account_lists_its_seeded_conversion(graph: Graph) -> None:
    """One purchase conversion per account, on the shared pixel, in no other account."""
    inr = await ok(graph, EDGE, fields="name,custom_event_type,pixel,rule,account_id")
    usd = await ok(graph, f"{USD_ACCOUNT}/customconversions")
    assert len(inr["data"]) == len(usd["data"]) == 1
    assert not set(ids(inr)) & set(ids(usd))
    seeded = inr["data"][0]
    assert seeded["custom_event_type"] == "PURCHASE"
    assert seeded["pixel"] == {"id": PIXEL_ID}
    assert seeded["account_id"] == INR_ACCOUNT.removeprefix("act_")
    assert json.loads(seeded["rule"])


async def test_create_then_read_and_list(graph: Graph) -> None:
    """A created conversion answers ``{"id"}``, reads back as a node and joins the listing."""
    response = await graph.post(EDGE, **valid(default_conversion_value="500"))
    assert response.status_code == 200, response.text
    conversion_id = response.json()["id"]
    fields = "name,custom_event_type,event_source_id,rule,default_conversion_value,business"
    node = await ok(graph, conversion_id, fields=fields + ",is_archived,creation_time")
    assert node["name"] == "Signed up"
    assert node["custom_event_type"] == "COMPLETE_REGISTRATION"
    assert node["event_source_id"] == PIXEL_ID
    assert json.loads(node["rule"]) == json.loads(RULE)
    assert node["default_conversion_value"] == 500
    assert node["business"]["id"] == BUSINESS_ID
    assert node["is_archived"] is False
    assert node["creation_time"].endswith("+0530")  # the INR account's time zone
    assert ids(await ok(graph, EDGE))[-1] == conversion_id
    pixel = await ok(graph, conversion_id, fields="pixel{name}")
    assert pixel["pixel"] == {"id": PIXEL_ID, "name": "Sandbox Pixel"}


@pytest.mark.parametrize(
    ("params", "blame", "snippet"),
    [
        pytest.param(valid(name=None), "name", "name is required", id="no-name"),
        pytest.param(
            valid(custom_event_type=None),
            "custom_event_type",
            "custom_event_type is required",
            id="no-event-type",
        ),
        pytest.param(
            valid(custom_event_type="BUY"), "custom_event_type", "must be one of", id="bad-type"
        ),
        pytest.param(valid(event_source_id=None), "event_source_id", "is required", id="no-pixel"),
        pytest.param(
            valid(event_source_id="999"), "event_source_id", "not a pixel", id="unknown-pixel"
        ),
        pytest.param(valid(rule=None), "rule", "rule is required", id="no-rule"),
        pytest.param(valid(rule="{not json"), "rule", "JSON", id="rule-not-json"),
        pytest.param(valid(rule="{}"), "rule", "must not be empty", id="empty-rule"),
        pytest.param(valid(colour="red"), "colour", "not a valid parameter", id="unknown-param"),
    ],
)
async def test_create_refuses_bad_input_with_100(
    graph: Graph, params: dict[str, Any], blame: str, snippet: str
) -> None:
    """Each refusal is Meta's #100, naming the parameter; nothing is created."""
    before = ids(await ok(graph, EDGE))
    error = error_of(await graph.post(EDGE, **params))
    assert error["code"] == 100
    assert snippet in error["message"]
    assert json.loads(error["error_data"])["blame_field_specs"] == [[blame]]
    assert ids(await ok(graph, EDGE)) == before


async def test_advanced_rule_stands_in_for_rule(graph: Graph) -> None:
    """``advanced_rule`` alone is enough."""
    advanced = json.dumps({"and": [{"event": {"eq": "Lead"}}]})
    response = await graph.post(EDGE, **valid(rule=None, advanced_rule=advanced))
    assert response.status_code == 200, response.text
    node = await ok(graph, response.json()["id"], fields="advanced_rule,rule")
    assert json.loads(node["advanced_rule"]) == json.loads(advanced)
    assert "rule" not in node


async def test_validate_only_creates_nothing(graph: Graph) -> None:
    """``execution_options=["validate_only"]`` checks and answers success, storing nothing."""
    before = ids(await ok(graph, EDGE))
    response = await graph.post(EDGE, **valid(execution_options='["validate_only"]'))
    assert response.json() == {"success": True}
    assert ids(await ok(graph, EDGE)) == before


async def test_delete_takes_it_off_the_listing(graph: Graph) -> None:
    """DELETE answers success; the conversion stays readable by id, archived."""
    conversion_id = (await graph.post(EDGE, **valid())).json()["id"]
    assert (await graph.delete(conversion_id)).json() == {"success": True}
    assert conversion_id not in ids(await ok(graph, EDGE))
    assert (await ok(graph, conversion_id, fields="is_archived"))["is_archived"] is True
    again = error_of(await graph.delete(conversion_id))
    assert (again["code"], again["error_subcode"]) == (100, 33)


async def test_update_changes_name_description_and_value(graph: Graph) -> None:
    """``POST /{id}`` takes name, description and default_conversion_value only."""
    conversion_id = (await graph.post(EDGE, **valid())).json()["id"]
    reply = await graph.post(
        conversion_id, name="Renamed", description="Sign-ups", default_conversion_value="12.5"
    )
    assert reply.json() == {"success": True}, reply.text
    node = await ok(graph, conversion_id, fields="name,description,default_conversion_value")
    assert (node["name"], node["description"], node["default_conversion_value"]) == (
        "Renamed",
        "Sign-ups",
        12,
    )
    refused = error_of(await graph.post(conversion_id, rule=RULE))
    assert "rule" in refused["message"]
    for bad in ("-1", "lots", "inf"):
        error = error_of(await graph.post(conversion_id, default_conversion_value=bad))
        assert "default_conversion_value" in error["message"], bad
    await graph.delete(conversion_id)
    gone = error_of(await graph.post(conversion_id, name="Late"))
    assert (gone["code"], gone["error_subcode"]) == (100, 33)
