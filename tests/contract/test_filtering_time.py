"""``filtering`` on ``created_time`` / ``updated_time``: comparisons as incremental syncs read."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from meta_agent.sandbox.clock import ManualClock
from tests.conftest import INR_ACCOUNT, Graph, error_of
from tests.contract.test_creatives import make_adset
from tests.contract.test_edge_filtering import campaign, flt, ids


async def three_campaigns(graph: Graph, clock: ManualClock) -> tuple[list[str], list[int]]:
    """Campaigns made an hour apart, and the Unix second each was made at."""
    made, times = [], []
    for index in range(3):
        times.append(int(clock.now()))
        made.append(await campaign(graph, f"C{index}"))
        clock.advance(3600)
    return made, times


async def test_updated_time_greater_than_reads_only_the_later(
    graph: Graph, clock: ManualClock
) -> None:
    """The incremental-sync read: updated_time GREATER_THAN a time between two campaigns."""
    made, times = await three_campaigns(graph, clock)
    between = times[0] + 1800
    for field in ("updated_time", "campaign.updated_time"):
        found = await ids(
            graph, f"{INR_ACCOUNT}/campaigns", filtering=flt(field, "GREATER_THAN", between)
        )
        assert sorted(found) == sorted(made[1:])


async def test_an_update_moves_updated_time_not_created_time(
    graph: Graph, clock: ManualClock
) -> None:
    """Renaming the first campaign later makes it pass updated_time, but not created_time."""
    made, times = await three_campaigns(graph, clock)
    assert (await graph.post(made[0], name="Renamed")).status_code == 200
    after = times[2] + 1
    path = f"{INR_ACCOUNT}/campaigns"
    assert await ids(graph, path, filtering=flt("updated_time", "GREATER_THAN", after)) == [made[0]]
    assert await ids(graph, path, filtering=flt("created_time", "GREATER_THAN", after)) == []


@pytest.mark.parametrize(
    ("operator", "pick"),
    [
        ("EQUAL", [1]),
        ("NOT_EQUAL", [0, 2]),
        ("GREATER_THAN", [2]),
        ("GREATER_THAN_OR_EQUAL", [1, 2]),
        ("LESS_THAN", [0]),
        ("LESS_THAN_OR_EQUAL", [0, 1]),
        ("AFTER", [2]),
        ("BEFORE", [0]),
        ("ON_OR_AFTER", [1, 2]),
        ("ON_OR_BEFORE", [0, 1]),
    ],
)
@pytest.mark.parametrize("field", ["created_time", "updated_time"])
@pytest.mark.parametrize("form", ["unix", "iso"])
async def test_each_comparison_operator(
    graph: Graph, clock: ManualClock, operator: str, pick: list[int], field: str, form: str
) -> None:
    """Each comparison against the middle campaign's time, given as Unix seconds or ISO-8601."""
    made, times = await three_campaigns(graph, clock)
    middle: Any = times[1]
    if form == "iso":
        middle = datetime.fromtimestamp(times[1], UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")
    found = await ids(graph, f"{INR_ACCOUNT}/campaigns", filtering=flt(field, operator, middle))
    assert sorted(found) == sorted(made[index] for index in pick)


@pytest.mark.parametrize(("operator", "pick"), [("IN_RANGE", [0, 1]), ("NOT_IN_RANGE", [2])])
async def test_range_operators(
    graph: Graph, clock: ManualClock, operator: str, pick: list[int]
) -> None:
    """IN_RANGE and NOT_IN_RANGE take [since, until], both ends included in the range."""
    made, times = await three_campaigns(graph, clock)
    value = [times[0], str(times[1])]
    found = await ids(
        graph, f"{INR_ACCOUNT}/campaigns", filtering=flt("created_time", operator, value)
    )
    assert sorted(found) == sorted(made[index] for index in pick)


async def test_adsets_and_ads_filter_by_time_too(graph: Graph, clock: ManualClock) -> None:
    """act_X/adsets takes updated_time and its parent's campaign.created_time."""
    first = await campaign(graph, "Early")
    early = await make_adset(graph, first)
    clock.advance(3600)
    cut = int(clock.now())
    second = await campaign(graph, "Late")
    late = await make_adset(graph, second)
    path = f"{INR_ACCOUNT}/adsets"
    assert await ids(graph, path, filtering=flt("updated_time", "GREATER_THAN_OR_EQUAL", cut)) == [
        late
    ]
    parent = flt("campaign.created_time", "LESS_THAN", cut)
    assert await ids(graph, path, filtering=parent) == [early]


@pytest.mark.parametrize(
    ("filtering", "says"),
    [
        (
            flt("updated_time", "CONTAIN", "2026"),
            "Filtering field updated_time with operation CONTAIN",
        ),
        (flt("updated_time", "LIKE", 1), "filtering.operator"),
        (flt("created_time", "STARTS_WITH", "x"), "Filtering field created_time with operation"),
        (flt("start_time", "GREATER_THAN", 1), "Filtering field start_time with operation"),
        (flt("updated_time", "GREATER_THAN", "yesterday"), "filtering.value must be a valid"),
        (flt("updated_time", "IN_RANGE", [1]), "IN_RANGE needs a list of two times"),
    ],
)
async def test_bad_time_entries_are_code_100(graph: Graph, filtering: str, says: str) -> None:
    """A field or operator Meta does not allow, or a value that is not a time: code 100."""
    response = await graph.get(f"{INR_ACCOUNT}/campaigns", filtering=filtering)
    error = error_of(response)
    assert response.status_code == 400
    assert error["code"] == 100
    assert says in error["message"], error["message"]
