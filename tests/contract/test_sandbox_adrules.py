"""The ad rules library: create with Meta's required specs, list, read, update, delete."""

from __future__ import annotations

import json
from typing import Any

import pytest

from meta_agent.sandbox import Sandbox
from meta_agent.sandbox.state import USER_ID
from tests.conftest import INR_ACCOUNT, USD_ACCOUNT, Graph, error_of
from tests.contract.test_ads import make_ad, tree
from tests.contract.test_sandbox_business import ids, ok

EDGE = f"{INR_ACCOUNT}/adrules_library"
ENTITY = {"field": "entity_type", "value": "AD", "operator": "EQUAL"}
EVALUATION = {
    "evaluation_type": "SCHEDULE",
    "filters": [
        ENTITY,
        {"field": "time_preset", "value": "LIFETIME", "operator": "EQUAL"},
        {"field": "cost_per_result", "value": 50000, "operator": "GREATER_THAN"},
    ],
}
EXECUTION = {"execution_type": "PAUSE"}
SCHEDULE = {"schedule_type": "SEMI_HOURLY"}


def rule(**overrides: Any) -> dict[str, Any]:
    """A create request Meta accepts, specs JSON-encoded; None drops a parameter."""
    specs = {
        "name": "Pause expensive ads",
        "evaluation_spec": EVALUATION,
        "execution_spec": EXECUTION,
        "schedule_spec": SCHEDULE,
        **overrides,
    }
    return {
        key: json.dumps(value) if isinstance(value, dict) else value
        for key, value in specs.items()
        if value is not None
    }


async def create(graph: Graph, **overrides: Any) -> str:
    """Create a rule; returns its id."""
    response = await graph.post(EDGE, **rule(**overrides))
    assert response.status_code == 200, response.text
    rule_id: str = response.json()["id"]
    return rule_id


async def test_create_list_and_read(graph: Graph) -> None:
    """A rule reads back with its specs, ENABLED by default, on its own account only."""
    rule_id = await create(graph)
    fields = "name,evaluation_spec,execution_spec,schedule_spec,status,created_by,created_time"
    node = await ok(graph, rule_id, fields=fields)
    assert node["evaluation_spec"] == EVALUATION
    assert node["execution_spec"] == EXECUTION
    assert node["schedule_spec"] == SCHEDULE
    assert node["status"] == "ENABLED"
    assert node["created_by"]["id"] == USER_ID
    assert node["created_time"].endswith("+0530")
    assert ids(await ok(graph, EDGE)) == [rule_id]
    assert await ok(graph, f"{USD_ACCOUNT}/adrules_library") == {"data": []}
    assert await ok(graph, f"{rule_id}/history") == {"data": []}


async def test_a_trigger_rule(graph: Graph) -> None:
    """TRIGGER rules need a trigger and take no schedule."""
    trigger = {
        "type": "STATS_MILESTONE",
        "field": "impressions",
        "value": 1000,
        "operator": "EQUAL",
    }
    evaluation = {"evaluation_type": "TRIGGER", "filters": [ENTITY], "trigger": trigger}
    rule_id = await create(
        graph,
        evaluation_spec=evaluation,
        schedule_spec=None,
        execution_spec={"execution_type": "NOTIFICATION"},
    )
    assert (await ok(graph, rule_id, fields="evaluation_spec"))["evaluation_spec"] == evaluation
    no_trigger = {"evaluation_type": "TRIGGER", "filters": [ENTITY]}
    error = error_of(await graph.post(EDGE, **rule(evaluation_spec=no_trigger, schedule_spec=None)))
    assert "evaluation_spec.trigger is required" in error["message"]
    scheduled = error_of(await graph.post(EDGE, **rule(evaluation_spec=evaluation)))
    assert "only for SCHEDULE rules" in scheduled["message"]


@pytest.mark.parametrize(
    ("overrides", "snippet"),
    [
        pytest.param({"name": None}, "name is required", id="no-name"),
        pytest.param({"evaluation_spec": None}, "evaluation_spec is required", id="no-evaluation"),
        pytest.param({"execution_spec": None}, "execution_spec is required", id="no-execution"),
        pytest.param(
            {"evaluation_spec": {"evaluation_type": "SOMETIMES", "filters": [ENTITY]}},
            "evaluation_type must be one of",
            id="bad-evaluation-type",
        ),
        pytest.param(
            {"evaluation_spec": {"evaluation_type": "SCHEDULE", "filters": []}},
            "entity_type filter",
            id="no-entity-type",
        ),
        pytest.param(
            {
                "evaluation_spec": {
                    "evaluation_type": "SCHEDULE",
                    "filters": [{"field": "entity_type"}],
                }
            },
            "filters.value is required",
            id="filter-without-value",
        ),
        pytest.param(
            {
                "evaluation_spec": {
                    "evaluation_type": "SCHEDULE",
                    "filters": [{**ENTITY, "operator": "IS"}],
                }
            },
            "operator must be one of",
            id="bad-operator",
        ),
        pytest.param(
            {"execution_spec": {"execution_type": "EXPLODE"}}, "execution_type", id="bad-action"
        ),
        pytest.param(
            {"schedule_spec": {"schedule_type": "WEEKLY"}}, "schedule_type", id="bad-schedule"
        ),
        pytest.param(
            {"schedule_spec": {"schedule_type": "CUSTOM"}},
            "schedule is required",
            id="custom-empty",
        ),
        pytest.param({"evaluation_spec": "[1]"}, "must be a JSON object", id="spec-not-object"),
        pytest.param({"status": "RUNNING"}, "status must be one of", id="bad-status"),
        pytest.param({"colour": "red"}, "not a valid parameter", id="unknown-param"),
    ],
)
async def test_create_refuses_bad_input(
    graph: Graph, overrides: dict[str, Any], snippet: str
) -> None:
    """Each refusal is #100 naming what to fix; nothing is stored."""
    error = error_of(await graph.post(EDGE, **rule(**overrides)))
    assert error["code"] == 100
    assert snippet in error["message"], error["message"]
    assert await ok(graph, EDGE) == {"data": []}


async def test_update_and_delete(graph: Graph) -> None:
    """Status and specs change on POST /{id}; DELETE takes it off the library."""
    rule_id = await create(graph)
    assert (await graph.post(rule_id, status="DISABLED")).json() == {"success": True}
    new_execution = {"execution_type": "UNPAUSE"}
    assert (await graph.post(rule_id, execution_spec=json.dumps(new_execution))).status_code == 200
    node = await ok(graph, rule_id, fields="status,execution_spec,evaluation_spec")
    assert node["status"] == "DISABLED"
    assert node["execution_spec"] == new_execution
    assert node["evaluation_spec"] == EVALUATION
    bad = error_of(await graph.post(rule_id, status="RUNNING"))
    assert bad["code"] == 100
    assert (await graph.delete(rule_id)).json() == {"success": True}
    assert await ok(graph, EDGE) == {"data": []}
    again = error_of(await graph.delete(rule_id))
    assert (again["code"], again["error_subcode"]) == (100, 33)


async def test_rules_governing_an_object(graph: Graph, sandbox: Sandbox) -> None:
    """``/{object}/adrules_governed``: rules at its level, and by id when a rule names ids."""
    objects = await tree(graph, sandbox)
    ad_id = await make_ad(graph, objects["adset"], objects["creative"])
    every_ad = await create(graph)
    named = {
        **EVALUATION,
        "filters": [*EVALUATION["filters"], {"field": "id", "value": [ad_id], "operator": "IN"}],
    }
    this_ad = await create(graph, evaluation_spec=named)
    other = {
        **EVALUATION,
        "filters": [*EVALUATION["filters"], {"field": "id", "value": ["1"], "operator": "IN"}],
    }
    await create(graph, evaluation_spec=other)
    adset_level = {"evaluation_type": "SCHEDULE", "filters": [{**ENTITY, "value": "ADSET"}]}
    for_adsets = await create(graph, evaluation_spec=adset_level)
    assert ids(await ok(graph, f"{ad_id}/adrules_governed")) == [every_ad, this_ad]
    assert ids(await ok(graph, f"{objects['adset']}/adrules_governed")) == [for_adsets]
    assert await ok(graph, f"{objects['campaign']}/adrules_governed") == {"data": []}
    await graph.delete(every_ad)
    assert ids(await ok(graph, f"{ad_id}/adrules_governed")) == [this_ad]
