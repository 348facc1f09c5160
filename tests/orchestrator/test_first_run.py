"""What ``execute`` does while a request's preparation reads are out: the journal's row and
(embedded) the durable run begin beside them. A request the reads refuse leaves nothing
behind (no workflow, no run pending, no event), and a caller that gives up stops its run."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import pytest
from dbos import DBOS
from starlette.applications import Starlette

from meta_agent.errors import RequestValidationError
from meta_agent.orchestrator import events as ev
from meta_agent.orchestrator.orchestrator import Orchestrator
from meta_agent.sandbox import ManualClock, SandboxConfig, create_app
from meta_agent.store.journal import StepStatus, WorkflowStatus
from meta_agent.store.sql import SqlJournal
from tests.orchestrator.conftest import full_campaign_request

Scope = MutableMapping[str, Any]
ASGI = Callable[[Scope, Any, Any], Awaitable[None]]


class HeldBatches:
    """ASGI middleware over the sandbox that holds every batch until released."""

    def __init__(self, app: Starlette) -> None:
        self.app = app
        self.state = app.state  # the ``sandbox`` fixture reads app.state.sandbox
        self.reached = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        is_batch = scope["type"] == "http" and scope["method"] == "POST"
        if is_batch and scope["path"].rstrip("/").count("/") == 1:  # POST /vNN.0/
            self.reached.set()
            await self.release.wait()
        await self.app(scope, receive, send)


@pytest.fixture
def app(config: SandboxConfig, clock: ManualClock) -> HeldBatches:
    """The sandbox, its batches held (released by each test)."""
    return HeldBatches(create_app(config, clock=clock))


async def _pending_runs() -> list[str]:
    rows = await asyncio.to_thread(DBOS.list_workflows, status="PENDING", load_input=False)
    return [row.workflow_id for row in rows]


async def test_a_request_its_reads_refuse_leaves_no_workflow_and_no_run(
    orchestrator: Orchestrator, journal: SqlJournal, app: HeldBatches
) -> None:
    """A budget under the account currency's floor (known only once the account is read) is
    refused; its row, begun beside the reads, is gone, its run was called off (none left
    pending), no subscriber heard it start, and the same request_id then runs when the
    budget is right."""
    app.release.set()
    await orchestrator.dispatch.runtime()  # DBOS up, so that no run can start unseen
    started: list[str] = []

    async def hear(event: ev.Event) -> None:
        started.append(event.workflow_id)

    orchestrator.env.bus.subscribe(ev.WORKFLOW_STARTED, hear)
    with pytest.raises(RequestValidationError) as caught:
        await orchestrator.execute(full_campaign_request("floor", daily_budget=100))
    assert caught.value.field == "data.adsets[0].daily_budget"
    assert await journal.list_workflows() == []
    assert await journal.find_by_request("floor") is None
    assert started == []
    assert await _pending_runs() == []
    response = await orchestrator.execute(full_campaign_request("floor"))
    assert response.status == "COMPLETED"
    assert started == [response.workflow_id]


async def test_a_caller_that_gives_up_stops_its_run_which_can_then_be_resumed(
    orchestrator: Orchestrator, journal: SqlJournal, app: HeldBatches
) -> None:
    """Cancelled while its launch batch is held, the run stops with the caller (it does not
    go on in the background): RUNNING with its launch STARTED, and a resume completes it."""
    running = asyncio.ensure_future(orchestrator.execute(full_campaign_request("given-up")))
    await asyncio.wait_for(app.reached.wait(), timeout=10)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    app.release.set()
    await asyncio.sleep(0.5)  # a run left going on would complete meanwhile
    record = await journal.find_by_request("given-up")
    assert record is not None
    assert record.status is WorkflowStatus.RUNNING
    steps = await journal.steps(record.id)
    assert [(s.name, s.status) for s in steps] == [("launch", StepStatus.STARTED)]
    resumed = await orchestrator.resume(record.id)
    assert resumed.status == "COMPLETED"
