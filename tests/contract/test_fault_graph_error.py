"""The ``graph_error`` fault: any Graph error envelope, at a chosen call, standalone or in a batch."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx2
import pytest

from meta_agent.sandbox import FaultRule, parse_fault_spec
from tests.conftest import INR_ACCOUNT, TOKEN, Graph, error_of

CAMPAIGN: dict[str, str] = {
    "name": "Scripted",
    "objective": "OUTCOME_TRAFFIC",
    "status": "PAUSED",
    "special_ad_categories": "[]",
    "is_adset_budget_sharing_enabled": "false",
}
SPEC = "graph_error:code=100,subcode=1885272,method=POST,path=act_*/campaigns,nth=2"


async def script(client: httpx2.AsyncClient, spec: str) -> None:
    """Install a fault spec through the admin endpoint."""
    response = await client.post("/_sandbox/faults", json={"spec": spec})
    assert response.status_code == 200, response.text


async def test_fires_on_the_nth_matching_write(client: httpx2.AsyncClient, graph: Graph) -> None:
    """The second campaign create fails with the scripted code and subcode; the others succeed."""
    await script(client, SPEC)
    responses = [await graph.post(f"{INR_ACCOUNT}/campaigns", **CAMPAIGN) for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 400, 200]
    error = error_of(responses[1])
    assert (error["code"], error["error_subcode"], error["is_transient"]) == (100, 1885272, False)
    assert error["message"].startswith("(#100)")
    assert "fbtrace_id" in error


async def test_nothing_is_written_when_it_fires(client: httpx2.AsyncClient, graph: Graph) -> None:
    """The scripted error replaces the call: no campaign is created."""
    await script(client, "graph_error:code=100,method=POST,path=act_*/campaigns")
    assert (await graph.post(f"{INR_ACCOUNT}/campaigns", **CAMPAIGN)).status_code == 400
    listed = (await client.get("/_sandbox/objects", params={"kind": "campaign"})).json()
    assert listed["count"] == 0


async def test_message_and_status_are_scripted(client: httpx2.AsyncClient, graph: Graph) -> None:
    """The JSON form carries any message (commas included) and HTTP status."""
    rule = {"kind": "graph_error", "code": 200, "message": "(#200) No, really, no", "status": 403}
    response = await client.post("/_sandbox/faults", json=[rule])
    assert response.status_code == 200, response.text
    answer = await graph.get("me")
    assert answer.status_code == 403
    assert error_of(answer)["message"] == "(#200) No, really, no"
    assert "error_subcode" not in error_of(answer)


async def test_fails_one_batch_item_alone(client: httpx2.AsyncClient) -> None:
    """Inside a batch only the Nth matching item carries the error; its neighbours succeed."""
    await script(client, SPEC)
    body = "&".join(f"{key}={value}" for key, value in CAMPAIGN.items())
    items = [{"method": "POST", "relative_url": f"{INR_ACCOUNT}/campaigns", "body": body}] * 3
    response = await client.post(
        "/v25.0/", params={"access_token": TOKEN}, data={"batch": json.dumps(items)}
    )
    slots: list[dict[str, Any]] = response.json()
    assert [slot["code"] for slot in slots] == [200, 400, 200]
    error = json.loads(slots[1]["body"])["error"]
    assert (error["code"], error["error_subcode"]) == (100, 1885272)


def test_compact_spec_expresses_code_subcode_and_message() -> None:
    """The compact form sets code, subcode, message and status."""
    rules = parse_fault_spec("graph_error:code=100,subcode=33,message=(#100) Gone,status=400,nth=1")
    assert rules == [
        FaultRule(kind="graph_error", code=100, subcode=33, message="(#100) Gone", nth=1)
    ]


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("graph_error:subcode=33", "graph_error needs code="),
        ("transient:subcode=33", "apply only to graph_error"),
        ("graph_error:code=100,status=99", "status"),
    ],
)
def test_spec_mistakes_are_named(spec: str, says: str) -> None:
    """A graph_error without a code, or its options on another kind, are refused clearly."""
    with pytest.raises(ValueError, match=re.escape(says)):
        parse_fault_spec(spec)
