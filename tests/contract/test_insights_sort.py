"""Insights ``sort`` as Meta documents it: ``<field>_ascending|_descending`` on a requested
field or breakdown (bare names ascending, ``actions:<type>`` by one action), for sync
queries and async report results alike, the same order on every page."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from meta_agent.sandbox import ManualClock, Sandbox
from tests.conftest import INR_ACCOUNT, Graph, error_of
from tests.contract.test_insights import rows, seed_tree, start


def numbers(found: list[dict[str, Any]], name: str) -> list[Decimal]:
    """One numeric column, in row order."""
    return [Decimal(row[name]) for row in found]


def action(row: dict[str, Any], action_type: str) -> Decimal:
    """One entry of a row's ``actions`` (0 when absent)."""
    for entry in row.get("actions") or []:
        if entry["action_type"] == action_type:
            return Decimal(entry["value"])
    return Decimal(0)


async def ad_rows(graph: Graph, sort: list[str], **params: Any) -> list[dict[str, Any]]:
    """Every ad-level row, paged two at a time so the order must hold across cursors."""
    params.setdefault("fields", "ad_id,spend,impressions")
    return await rows(graph, level="ad", sort=json.dumps(sort), limit=2, **params)


async def test_descending_spend_holds_across_pages(graph: Graph, sandbox: Sandbox) -> None:
    """spend_descending orders all rows by spend, page after page, each row once."""
    seed_tree(sandbox, ads=4)
    seed_tree(sandbox, ads=3, objective="OUTCOME_TRAFFIC")
    found = await ad_rows(graph, ["spend_descending"])
    assert len(found) == 7
    assert len({row["ad_id"] for row in found}) == 7
    spends = numbers(found, "spend")
    assert spends == sorted(spends, reverse=True)
    assert spends[0] > spends[-1]


async def test_ascending_and_bare_names_sort_upwards(graph: Graph, sandbox: Sandbox) -> None:
    """impressions_ascending and a bare 'impressions' (Meta's default direction) agree."""
    seed_tree(sandbox, ads=5)
    upwards = await ad_rows(graph, ["impressions_ascending"])
    bare = await ad_rows(graph, ["impressions"])
    impressions = numbers(upwards, "impressions")
    assert impressions == sorted(impressions)
    assert [row["ad_id"] for row in bare] == [row["ad_id"] for row in upwards]


async def test_second_key_breaks_ties(graph: Graph, sandbox: Sandbox) -> None:
    """With a breakdown first, the next key orders the rows within each of its values."""
    seed_tree(sandbox, ads=3)
    found = await ad_rows(graph, ["age_descending", "spend_descending"], breakdowns="age")
    ages = [row["age"] for row in found]
    assert ages == sorted(ages, reverse=True)
    for age in set(ages):
        spends = [Decimal(row["spend"]) for row in found if row["age"] == age]
        assert spends == sorted(spends, reverse=True)


async def test_sort_by_one_action_type(graph: Graph, sandbox: Sandbox) -> None:
    """actions:link_click_descending orders rows by their link_click entry."""
    seed_tree(sandbox, ads=5)
    found = await ad_rows(graph, ["actions:link_click_descending"], fields="ad_id,actions")
    clicks = [action(row, "link_click") for row in found]
    assert clicks == sorted(clicks, reverse=True)
    assert clicks[0] > 0


@pytest.mark.parametrize(
    ("sort", "fields"),
    [
        (["reach_descending"], "ad_id,spend"),  # a field the request does not ask for
        (["spend_sideways"], "ad_id,spend"),  # not a direction: read as a field name
        (["actions:link_click_descending"], "ad_id,spend"),  # actions not requested
    ],
)
async def test_sort_outside_the_requested_fields_is_refused(
    graph: Graph, sandbox: Sandbox, sort: list[str], fields: str
) -> None:
    """A sort key on a column the query does not return is code 100, blaming sort."""
    seed_tree(sandbox)
    response = await graph.get(
        f"{INR_ACCOUNT}/insights", level="ad", fields=fields, sort=json.dumps(sort)
    )
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == 100
    assert "sort" in error["message"]
    assert json.loads(error["error_data"])["blame_field_specs"] == [["sort"]]


async def test_report_run_results_are_sorted_on_every_page(
    graph: Graph, sandbox: Sandbox, clock: ManualClock
) -> None:
    """An async run's results follow its sort, page by page, each row once."""
    seed_tree(sandbox, ads=4)
    seed_tree(sandbox, ads=2, objective="OUTCOME_AWARENESS")
    form = {"level": "ad", "fields": "ad_id,spend", "sort": '["spend_descending"]'}
    run_id = await start(graph, **form)
    clock.advance(10)
    found = await rows(graph, run_id, limit=2)
    spends = numbers(found, "spend")
    assert len({row["ad_id"] for row in found}) == len(found) == 6
    assert spends == sorted(spends, reverse=True)
