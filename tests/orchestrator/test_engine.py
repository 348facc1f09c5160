"""The saga engine: lost answers reconciled, failed compensations recorded, rollback that a
cancel cannot stop halfway, events after the journal."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import httpx2
import pytest

from meta_agent.errors import InvalidParameterError, WorkflowFailedError
from meta_agent.orchestrator import events as ev
from meta_agent.orchestrator.engine import (
    Found,
    StepRun,
    UndoResult,
    WorkflowContext,
    WorkflowEngine,
    shielded,
)
from meta_agent.orchestrator.env import Env
from meta_agent.orchestrator.orchestrator import Orchestrator
from meta_agent.store.journal import ResourceRecord, StepStatus, WorkflowStatus
from meta_agent.store.sql import SqlJournal
from tests.orchestrator.conftest import full_campaign_request, live_objects


def _kinds(objects: list[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for record in objects:
        counts[record["kind"]] = counts.get(record["kind"], 0) + 1
    return counts


async def test_a_launch_whose_answer_is_lost_is_reconciled_not_duplicated(
    orchestrator: Orchestrator, client: httpx2.AsyncClient
) -> None:
    """The batch is committed, then the connection drops: everything is found by key, nothing resent."""
    rule = {
        "kind": "drop_after_commit",
        "method": "POST",
        "path": "",
        "in_batch": False,
        "times": 1,
    }
    assert (await client.post("/_sandbox/faults", json=[rule])).status_code == 200
    response = await orchestrator.execute(full_campaign_request("lost-answer"))
    assert response.status == "COMPLETED", response.error
    counts = _kinds(await live_objects(client))
    assert counts == {"campaign": 1, "adset": 3, "adcreative": 6, "ad": 6}
    assert response.result is not None
    assert {ad["id"] for ad in response.result["ads"]} == {
        record["id"] for record in await live_objects(client, ("ad",))
    }


async def test_a_failed_compensation_is_recorded_and_the_rest_carries_on(
    orchestrator: Orchestrator, client: httpx2.AsyncClient, journal: SqlJournal
) -> None:
    """One delete refused during rollback: ROLLBACK_FAILED, that object named, all else deleted."""
    faults = "graph_error:code=100,method=POST,path=act_*/ads,nth=6;graph_error:code=200,method=DELETE,nth=1"
    assert (await client.post("/_sandbox/faults", json={"spec": faults})).status_code == 200
    response = await orchestrator.execute(full_campaign_request("compensation-fails"))
    assert response.status == "ROLLBACK_FAILED"
    assert response.error is not None
    leftovers = response.error["leftovers"]
    assert len(leftovers) == 1
    assert [record["id"] for record in await live_objects(client)] == leftovers
    assert response.workflow_id is not None
    steps = await journal.steps(response.workflow_id)
    rollback = [s for s in steps if s.kind == "compensation"]
    assert [s.status for s in rollback] == [StepStatus.FAILED]


class SlowCompensator:
    """A compensator whose undo takes a while, to cancel the caller in the middle of it."""

    def __init__(self) -> None:
        self.undone: list[str] = []
        self.started = asyncio.Event()

    async def find(self, account_id: str, prefix: str) -> list[Found]:
        """Nothing on Meta beyond what the journal knows."""
        return []

    async def undo(self, resources: Sequence[ResourceRecord]) -> list[UndoResult]:
        """Undo each resource slowly."""
        self.started.set()
        results = []
        for resource in resources:
            await asyncio.sleep(0.01)
            self.undone.append(resource.object_id)
            results.append(UndoResult(resource))
        return results


async def test_rollback_is_not_stopped_halfway_by_a_cancel(journal: SqlJournal) -> None:
    """Cancelling the caller mid-rollback: every compensation still runs, then the cancel lands."""
    compensator = SlowCompensator()
    engine = WorkflowEngine(journal, ev.EventBus(), compensator)
    ctx = await engine.begin("cancel-me", "create_campaign", "act_1", {"a": 1}, "abcdef")
    assert isinstance(ctx, WorkflowContext)

    async def body(context: WorkflowContext) -> dict[str, Any]:
        async def make(run: StepRun) -> dict[str, Any]:
            for index in range(5):
                await run.created("ad", f"ad-{index}")
            raise InvalidParameterError("refused", code=100)

        return await context.step("launch", make)

    task = asyncio.ensure_future(engine.run(ctx, body))
    await compensator.started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert compensator.undone == [f"ad-{index}" for index in reversed(range(5))]
    record = await journal.get_workflow(ctx.workflow_id)
    assert record is not None
    assert record.status is WorkflowStatus.ROLLED_BACK


async def test_shielded_returns_the_result_when_not_cancelled() -> None:
    """The shield is transparent when nobody cancels."""

    async def answer() -> int:
        return 42

    assert await shielded(answer()) == 42


async def test_a_completed_step_is_replayed_not_rerun(journal: SqlJournal) -> None:
    """Resuming returns a completed step's journaled output without calling it again."""
    engine = WorkflowEngine(journal, ev.EventBus(), SlowCompensator())
    ctx = await engine.begin("replay", "create_campaign", "act_1", {}, "abcdef")
    assert isinstance(ctx, WorkflowContext)
    calls: list[str] = []

    async def step(run: StepRun) -> dict[str, Any]:
        calls.append("ran")
        return {"id": "1"}

    assert await ctx.step("one", step) == {"id": "1"}
    resumed = await engine.context(ctx.workflow_id, "abcdef")
    assert await resumed.step("one", step) == {"id": "1"}
    assert calls == ["ran"]


async def test_a_bug_in_a_workflow_still_rolls_back(journal: SqlJournal) -> None:
    """An unexpected exception is reported as an internal error, after the rollback."""
    compensator = SlowCompensator()
    engine = WorkflowEngine(journal, ev.EventBus(), compensator)
    ctx = await engine.begin("bug", "create_campaign", "act_1", {}, "abcdef")
    assert isinstance(ctx, WorkflowContext)

    async def body(context: WorkflowContext) -> dict[str, Any]:
        async def make(run: StepRun) -> dict[str, Any]:
            await run.created("campaign", "c-1")
            return {}

        await context.step("launch", make)
        raise KeyError("oops")

    with pytest.raises(WorkflowFailedError) as caught:
        await engine.run(ctx, body)
    assert caught.value.details["cause"]["internal"] is True
    assert compensator.undone == ["c-1"]


async def test_events_follow_the_journal_and_a_failing_subscriber_is_harmless(
    env: Env, orchestrator: Orchestrator
) -> None:
    """campaign_created reaches subscribers (the insights agent tracks it); a raising one is skipped."""
    seen: list[str] = []

    async def broken(event: ev.Event) -> None:
        raise RuntimeError("subscriber bug")

    async def record(event: ev.Event) -> None:
        seen.append(event.type)

    env.bus.subscribe(ev.CAMPAIGN_CREATED, broken)
    env.bus.subscribe(ev.ANY, record)
    response = await orchestrator.execute(full_campaign_request("events"))
    assert response.status == "COMPLETED"
    assert response.result is not None
    assert seen[0] == ev.WORKFLOW_STARTED
    assert ev.CAMPAIGN_CREATED in seen
    assert seen[-1] == ev.WORKFLOW_COMPLETED
    assert response.result["campaign"]["id"] in env.insights.tracked()
