"""Insights as Meta answers them today: action breakdowns with breakdowns, retired windows (§13.1)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from meta_agent.sandbox import ManualClock, Sandbox
from tests.conftest import INR_ACCOUNT, Graph, error_of
from tests.contract.test_insights import one, rows, seed_tree, total

ACTIONS = "actions,impressions"
TARGET_KEYS = ("action_target_id", "action_destination")


def _purchase_entries(row: dict[str, Any]) -> list[dict[str, str]]:
    return [a for a in row.get("actions", []) if a["action_type"] == "purchase"]


# -- breakdowns with action breakdowns -----------------------------------------------------------


@pytest.mark.parametrize(
    ("breakdowns", "action_breakdowns"),
    [
        ("age", "action_type,action_target_id"),
        ("gender", "action_type,action_destination"),
        ("age,gender", "action_type,action_target_id,action_destination"),
        ("country", "action_target_id"),
        ("region", "action_type,action_destination"),
        ("country,region", "action_type,action_target_id"),
        ("publisher_platform,platform_position", "action_type,action_target_id"),
    ],
)
async def test_breakdowns_combine_with_action_target_and_destination(
    graph: Graph, sandbox: Sandbox, breakdowns: str, action_breakdowns: str
) -> None:
    """Rows split by the breakdowns; action entries carry the action breakdowns' keys."""
    tree = seed_tree(sandbox, ads=1, age_days=30)
    dims = breakdowns.split(",")
    asked = action_breakdowns.split(",")
    found = await rows(
        graph,
        fields=ACTIONS,
        breakdowns=breakdowns,
        action_breakdowns=action_breakdowns,
        date_preset="last_7d",
        level="ad",
    )
    assert len(found) > 1
    assert all(all(dim in row for dim in dims) for row in found)
    entries = [entry for row in found for entry in row.get("actions", [])]
    assert entries
    for entry in entries:
        for key in TARGET_KEYS:
            assert (key in entry) == (key in asked), entry
        assert ("action_type" in entry) == ("action_type" in asked), entry
    if "action_target_id" in asked:
        assert {entry["action_target_id"] for entry in entries} == {tree["ads"][0]}
    # The split by breakdown keeps the totals of the unbroken query.
    whole = await one(graph, fields=ACTIONS, date_preset="last_7d")
    assert total(found, "impressions") == Decimal(whole["impressions"])


async def test_target_and_destination_come_from_the_creative(
    graph: Graph, sandbox: Sandbox
) -> None:
    """With a Page and a link on the creative, they are the target id and the destination."""
    tree = seed_tree(sandbox, ads=1, age_days=30)
    sandbox.state.add(
        {
            "kind": "adcreative",
            "id": "777",
            "account_id": INR_ACCOUNT.removeprefix("act_"),
            "object_story_spec": {
                "page_id": "4242",
                "link_data": {"link": "https://shop.example/sale"},
            },
        }
    )
    sandbox.state.objects[tree["ads"][0]]["creative_id"] = "777"
    found = await rows(
        graph,
        path=tree["ads"][0],
        fields="actions",
        breakdowns="age",
        action_breakdowns="action_type,action_target_id,action_destination",
        date_preset="last_7d",
    )
    entries = [entry for row in found for entry in row.get("actions", [])]
    assert entries
    assert {(e["action_target_id"], e["action_destination"]) for e in entries} == {
        ("4242", "https://shop.example/sale")
    }


async def test_invalid_breakdown_set_with_action_target_is_refused(
    graph: Graph, sandbox: Sandbox
) -> None:
    """age with country stays invalid whatever the action breakdowns: code 100 naming them."""
    seed_tree(sandbox)
    response = await graph.get(
        f"{INR_ACCOUNT}/insights",
        breakdowns="age,country",
        action_breakdowns="action_type,action_target_id",
    )
    error = error_of(response)
    assert (error["code"], error.get("error_subcode")) == (100, None)
    assert error["message"] == (
        "(#100) Current combination of data breakdown columns "
        "(action_target_id, action_type, age, country) is invalid"
    )


async def test_action_device_with_age_is_still_refused(graph: Graph, sandbox: Sandbox) -> None:
    """action_device combines with delivery breakdowns only."""
    seed_tree(sandbox)
    response = await graph.get(
        f"{INR_ACCOUNT}/insights", breakdowns="age", action_breakdowns="action_device"
    )
    assert error_of(response)["code"] == 100


# -- attribution windows -------------------------------------------------------------------------

WINDOWS = '["7d_click","1d_view","7d_view","28d_view"]'


async def test_view_windows_are_not_returned_after_2026_01_12(
    graph: Graph, sandbox: Sandbox
) -> None:
    """On today's clock 7d_view and 28d_view are accepted but silently not returned."""
    seed_tree(sandbox, age_days=60)
    row = await one(graph, fields="actions", action_attribution_windows=WINDOWS)
    purchase = _purchase_entries(row)[0]
    assert "7d_view" not in purchase
    assert "28d_view" not in purchase
    assert int(purchase["7d_click"]) + int(purchase["1d_view"]) == int(purchase["value"])


async def test_only_view_windows_asked_gives_plain_actions(graph: Graph, sandbox: Sandbox) -> None:
    seed_tree(sandbox, age_days=60)
    row = await one(graph, fields="actions", action_attribution_windows='["28d_view"]')
    assert all("28d_view" not in entry for entry in row["actions"])
    assert all("value" in entry for entry in row["actions"])


class TestBeforeTheRetirement:
    """On a manual clock set before 2026-01-12 the view windows are still returned."""

    @pytest.fixture
    def clock(self) -> ManualClock:
        return ManualClock(start=datetime(2026, 1, 5, 12, tzinfo=UTC).timestamp())

    async def test_view_windows_are_returned(self, graph: Graph, sandbox: Sandbox) -> None:
        seed_tree(sandbox, age_days=60)
        row = await one(graph, fields="actions", action_attribution_windows=WINDOWS)
        purchase = _purchase_entries(row)[0]
        assert int(purchase["28d_view"]) >= int(purchase["7d_view"]) >= int(purchase["1d_view"])

    async def test_they_stop_when_the_clock_passes_the_date(
        self, graph: Graph, sandbox: Sandbox, clock: ManualClock
    ) -> None:
        seed_tree(sandbox, age_days=60)
        clock.advance(8 * 86_400.0)  # 2026-01-13
        row = await one(graph, fields="actions", action_attribution_windows=WINDOWS)
        purchase = _purchase_entries(row)[0]
        assert "7d_view" not in purchase
        assert "28d_view" not in purchase
