"""``filtering`` on the ad-object list edges: fields, operators, parents, and code 100 errors."""

from __future__ import annotations

import json
from typing import Any

import pytest

from meta_agent.sandbox import Sandbox
from tests.conftest import INR_ACCOUNT, Graph, error_of
from tests.contract.test_ads import make_ad
from tests.contract.test_creatives import created_id, make_adset, make_creative

TAG = "[ma:0a1b2c3d4e]"


def flt(field: str, operator: str, value: Any) -> str:
    """One ``filtering`` entry as the JSON string Meta takes."""
    return json.dumps([{"field": field, "operator": operator, "value": value}])


async def campaign(graph: Graph, name: str, status: str = "PAUSED") -> str:
    """A campaign named ``name``."""
    response = await graph.post(
        f"{INR_ACCOUNT}/campaigns",
        name=name,
        objective="OUTCOME_TRAFFIC",
        special_ad_categories="[]",
        status=status,
        is_adset_budget_sharing_enabled="false",
    )
    return created_id(response)


async def ids(graph: Graph, path: str, **params: Any) -> list[str]:
    """The ids a listing returns."""
    response = await graph.get(path, **params)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["data"]]


async def test_name_contain_finds_the_idempotency_tag(graph: Graph) -> None:
    """CONTAIN on name finds the one campaign carrying the tag, case-insensitively."""
    await campaign(graph, "Spring sale [ma:ffffffffff]")
    tagged = await campaign(graph, f"Spring sale {TAG}")
    found = await ids(graph, f"{INR_ACCOUNT}/campaigns", filtering=flt("name", "CONTAIN", TAG))
    assert found == [tagged]
    upper = flt("name", "CONTAIN", TAG.upper())
    assert await ids(graph, f"{INR_ACCOUNT}/campaigns", filtering=upper) == [tagged]


@pytest.mark.parametrize(
    ("operator", "pick"),
    [("EQUAL", [1]), ("NOT_EQUAL", [0, 2]), ("IN", [0, 2]), ("NOT_IN", [1])],
)
async def test_id_operators(graph: Graph, operator: str, pick: list[int]) -> None:
    """EQUAL, NOT_EQUAL, IN and NOT_IN compare ids exactly."""
    made = [await campaign(graph, f"C{index}") for index in range(3)]
    value: Any = made[1] if operator.endswith("EQUAL") else [made[0], made[2]]
    found = await ids(graph, f"{INR_ACCOUNT}/campaigns", filtering=flt("id", operator, value))
    assert found == [made[index] for index in pick]


async def test_not_contain_excludes_the_tagged(graph: Graph) -> None:
    """NOT_CONTAIN keeps the names without the text."""
    plain = await campaign(graph, "Plain")
    await campaign(graph, f"Tagged {TAG}")
    listed = await ids(graph, f"{INR_ACCOUNT}/campaigns", filtering=flt("name", "NOT_CONTAIN", TAG))
    assert listed == [plain]


async def test_adsets_by_parent_campaign_id(graph: Graph) -> None:
    """campaign.id IN [...] on act_X/adsets keeps the ad sets of those campaigns."""
    first, second = await campaign(graph, "One"), await campaign(graph, "Two")
    wanted = await make_adset(graph, first)
    await make_adset(graph, second)
    found = await ids(graph, f"{INR_ACCOUNT}/adsets", filtering=flt("campaign.id", "IN", [first]))
    assert found == [wanted]


async def test_child_edge_filters_by_name(graph: Graph) -> None:
    """campaign/adsets takes filtering too; adset.name is the same as name there."""
    parent = await campaign(graph, "Parent")
    tagged = await make_adset(graph, parent)
    await make_adset(graph, parent)
    assert (await graph.post(tagged, name=f"Set {TAG}")).status_code == 200
    for field in ("name", "adset.name"):
        found = await ids(graph, f"{parent}/adsets", filtering=flt(field, "CONTAIN", TAG))
        assert found == [tagged]


async def test_ads_by_adset_id_and_name(graph: Graph, sandbox: Sandbox) -> None:
    """act_X/ads combines entries: every one must pass (adset.id and name)."""
    parent = await campaign(graph, "Ads parent")
    adset = await make_adset(graph, parent)
    other = await make_adset(graph, parent)
    creative = await make_creative(graph, sandbox)
    tagged = await make_ad(graph, adset, creative, name=f"Ad {TAG}")
    await make_ad(graph, adset, creative, name="Ad plain")
    await make_ad(graph, other, creative, name=f"Ad elsewhere {TAG}")
    both = json.dumps(
        [
            {"field": "adset.id", "operator": "EQUAL", "value": adset},
            {"field": "name", "operator": "CONTAIN", "value": TAG},
        ]
    )
    assert await ids(graph, f"{INR_ACCOUNT}/ads", filtering=both) == [tagged]
    assert await ids(graph, f"{adset}/ads", filtering=flt("name", "CONTAIN", TAG)) == [tagged]


async def test_adcreatives_by_name(graph: Graph, sandbox: Sandbox) -> None:
    """act_X/adcreatives filters on name."""
    tagged = await make_creative(graph, sandbox, name=f"Creative {TAG}")
    await make_creative(graph, sandbox, name="Creative plain")
    listed = await ids(graph, f"{INR_ACCOUNT}/adcreatives", filtering=flt("name", "CONTAIN", TAG))
    assert listed == [tagged]


async def test_effective_status_entry_reaches_archived(graph: Graph) -> None:
    """An effective_status entry lists ARCHIVED objects, which the default listing hides."""
    archived = await campaign(graph, "Old")
    live = await campaign(graph, "New")
    assert (await graph.post(archived, status="ARCHIVED")).status_code == 200
    assert await ids(graph, f"{INR_ACCOUNT}/campaigns") == [live]
    status = flt("effective_status", "IN", ["ARCHIVED"])
    assert await ids(graph, f"{INR_ACCOUNT}/campaigns", filtering=status) == [archived]


async def test_parent_effective_status(graph: Graph) -> None:
    """campaign.effective_status filters ad sets by their campaign's status."""
    active, paused = await campaign(graph, "On", "ACTIVE"), await campaign(graph, "Off")
    wanted = await make_adset(graph, active)
    await make_adset(graph, paused)
    status = flt("campaign.effective_status", "IN", ["ACTIVE"])
    assert await ids(graph, f"{INR_ACCOUNT}/adsets", filtering=status) == [wanted]


@pytest.mark.parametrize(
    ("filtering", "says"),
    [
        (flt("name", "LIKE", "x"), "filtering.operator"),
        (flt("spend", "GREATER_THAN", 1), "Filtering field spend with operation GREATER_THAN"),
        (flt("name", "GREATER_THAN", "x"), "Filtering field name with operation GREATER_THAN"),
        (flt("ad.name", "CONTAIN", "x"), "Filtering field ad.name with operation CONTAIN"),
        (flt("id", "IN", "123"), "Filter on id: IN needs a list value"),
        (flt("effective_status", "IN", ["SLEEPING"]), "filtering.value must be one of"),
        (json.dumps({"field": "name"}), "Param filtering must be an array of objects"),
    ],
)
async def test_bad_entries_are_code_100_naming_the_filter(
    graph: Graph, filtering: str, says: str
) -> None:
    """Each bad entry is refused with code 100 and a message naming what is wrong."""
    response = await graph.get(f"{INR_ACCOUNT}/campaigns", filtering=filtering)
    error = error_of(response)
    assert response.status_code == 400
    assert error["code"] == 100
    assert says in error["message"]
