"""Where workflows and agent operations run: here, or on a worker, through one interface.

Every workflow is a DBOS workflow (:func:`carry_on`) whose id is the journal's workflow id,
so a workflow runs once however often it is started, and the workflows of a process that
dies are run again from their journal: by the same process when it restarts (DBOS recovers
what its executor id left PENDING), or by another one that declared it dead
(:mod:`meta_agent.service.workers`). ``carry_on`` is the only body: a first run and a
recovery are the same function, whose completed steps replay from the journal.

:class:`Dispatch` is the one interface the orchestrator calls:

* embedded (the default; the demo, one process): ``carry_on`` runs here, now, and every step
  runs in this process;
* distributed: ``carry_on`` goes on the orchestrator's queue, and each step that names an
  agent goes on that agent's queue as :func:`agent_step`, partitioned by ad account, for a
  worker listening there. The agent's worker rebuilds the step from the journal (it runs the
  workflow's ``prepare`` and replays the completed steps up to that one, all deterministic),
  runs it, and returns its output; the orchestrator journals the outcome as it would have for
  a step run here. A step's child id is ``<workflow>.<step>``, so a workflow re-run after a
  crash joins the operation it had handed off instead of sending it twice.
"""

from __future__ import annotations

import pickle
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import structlog
from dbos import DBOS

from meta_agent.durable import (
    ORCHESTRATOR_QUEUE,
    DurableClient,
    DurableConfig,
    DurableRuntime,
    register_world,
    world,
)
from meta_agent.errors import MetaAgentError, error_from_dict
from meta_agent.observability import metrics
from meta_agent.store.journal import NewResource

if TYPE_CHECKING:
    from meta_agent.orchestrator.orchestrator import Orchestrator

log = structlog.get_logger("meta_agent.dispatch")

CARRY_ON = "meta_agent.carry_on"
AGENT_STEP = "meta_agent.agent_step"
BEGAN = "meta_agent.agent_step.began"
PLAN_BYTES = 256 * 1024
# No cap on re-runs after a crash: a workflow only ever ends in the journal's terms (the saga
# handles every failure), and a run cut short by a dead process must always carry on; a
# dead-lettered workflow would leave its caller waiting and its objects half built.
_MAX_RECOVERY_ATTEMPTS = None


@DBOS.workflow(name=CARRY_ON, max_recovery_attempts=_MAX_RECOVERY_ATTEMPTS)
async def carry_on(world_key: str, workflow_id: str, plan: Any = None) -> dict[str, Any]:
    """Run, or carry on from its journal, the workflow ``workflow_id``; its response.

    ``plan`` is what the process that received the request prepared, when small enough to
    travel (else, and on a recovery elsewhere, the runner prepares again: reads only).
    """
    orchestrator: Orchestrator = world(world_key)
    response = await orchestrator.carry_on(workflow_id, plan)
    metrics.QUEUE_DONE.labels(queue=ORCHESTRATOR_QUEUE, outcome=response.status).inc()
    return response.model_dump(mode="json")


@DBOS.step(name=BEGAN)
async def _began() -> bool:
    """A checkpoint that marks an attempt of an agent's step as begun."""
    return True


@DBOS.workflow(name=AGENT_STEP, max_recovery_attempts=_MAX_RECOVERY_ATTEMPTS)
async def agent_step(
    world_key: str, workflow_id: str, step: str, resumed: bool, agent: str, plan: Any = None
) -> dict[str, Any]:
    """Run one step of ``workflow_id`` on this (the agent's) process; its output, or its error.

    A re-run (this process died mid-step, or the orchestrator's run of the step was
    interrupted before) first adopts what an earlier attempt created.
    """
    orchestrator: Orchestrator = world(world_key)
    # Asked outside DBOS's checkpoints (a query inside the workflow would replay its first
    # answer): has an earlier attempt of this very workflow already begun?
    client = await orchestrator.dispatch.client()
    again = resumed or BEGAN in await client.step_names(DBOS.workflow_id or "")
    await _began()
    try:
        output, created = await orchestrator.run_step_here(
            workflow_id, step, again=again, plan=plan
        )
    except MetaAgentError as error:
        metrics.QUEUE_DONE.labels(queue=agent, outcome="error").inc()
        return {"error": error.to_dict()}
    metrics.QUEUE_DONE.labels(queue=agent, outcome="ok").inc()
    return {
        "output": output,
        "created": [
            {"kind": r.kind, "object_id": r.object_id, "undo": r.undo, "details": r.details}
            for r in created
        ],
    }


def _small(plan: Any) -> bool:
    """Whether ``plan`` may travel with a hand-off (picklable, at most ``PLAN_BYTES``)."""
    if plan is None:
        return False
    try:
        return len(pickle.dumps(plan)) <= PLAN_BYTES
    except Exception:  # a plan holding something unpicklable is prepared by the agent
        return False


@dataclass
class Dispatch:
    """Runs workflows here (embedded) or hands them to the queues (distributed)."""

    config: DurableConfig = field(default_factory=DurableConfig)
    distributed: bool = False
    partitioned: frozenset[str] = frozenset()
    key: str = field(default_factory=lambda: uuid.uuid4().hex)
    _client: DurableClient | None = None

    def timeouts(self) -> dict[str, float]:
        """Seconds a step of each agent may take, where its queue sets a limit."""
        return {
            name: limits.timeout
            for name, limits in self.config.limits.items()
            if limits.timeout is not None
        }

    def bind(self, orchestrator: Orchestrator) -> None:
        """Let this process's workflows find ``orchestrator``."""
        register_world(self.key, orchestrator)

    async def runtime(self) -> DurableRuntime:
        """This process's DBOS, launched on first use (from the loop that runs workflows)."""
        return await DurableRuntime.ensure(self.config)

    async def client(self) -> DurableClient:
        """The queues, seen from outside (any process: it runs nothing)."""
        if self._client is None:
            url = self.config.url or (await self.runtime()).url
            self._client = DurableClient(url, partitioned=self.partitioned)
        return self._client

    async def workflow(
        self, workflow_id: str, run_id: str | None = None, *, plan: Any = None
    ) -> dict[str, Any]:
        """Run ``workflow_id`` to its end (here, or on a worker); its response.

        ``run_id`` (default: the workflow's id) is the DBOS workflow id of this run: the same
        id joins a run under way or answers with its result, a new one runs again (a
        workflow reopened by an approval).
        """
        run_id = run_id or workflow_id
        if DBOS.workflow_id is not None:
            # Inside another workflow (a bulk's item): run as part of it. A DBOS child would
            # be a checkpointed operation of the parent, and the parent's re-run, which answers
            # finished items from the journal without starting them, would not replay the
            # same operations in the same order; an item on the queue would wait for a slot
            # its own parent holds.
            orchestrator: Orchestrator = world(self.key)
            return (await orchestrator.carry_on(workflow_id)).model_dump(mode="json")
        if not self.distributed:
            runtime = await self.runtime()
            result: dict[str, Any] = await runtime.run(carry_on, run_id, self.key, workflow_id)
            return result
        client = await self.client()
        shipped = plan if _small(plan) else None
        await client.enqueue(ORCHESTRATOR_QUEUE, CARRY_ON, run_id, self.key, workflow_id, shipped)
        answer: dict[str, Any] = await client.result(run_id)
        return answer

    async def resume(self, workflow_id: str) -> dict[str, Any] | None:
        """Run an interrupted workflow again from its DBOS checkpoint, on whichever process
        listens to its queue; None when DBOS has no unfinished run of it (the caller then
        runs it as a new DBOS workflow)."""
        client = await self.client()
        status = await client.status(workflow_id)
        if status not in ("PENDING", "ENQUEUED"):
            return None
        if not self.distributed:
            await self.runtime()  # this process runs it: DBOS must be listening
        await client.resume(workflow_id)
        answer: dict[str, Any] = await client.result(workflow_id)
        return answer

    async def step(
        self,
        agent: str,
        workflow_id: str,
        step: str,
        account_id: str | None,
        resumed: bool,
        *,
        plan: Any = None,
    ) -> tuple[dict[str, Any], list[NewResource]]:
        """Hand ``step`` of ``workflow_id`` to ``agent``'s queue; its output and the objects it
        created that the orchestrator journals with the step.

        ``plan`` (what ``prepare`` returned) travels with the step when it is small, so the
        agent need not read it all again from Meta; a large one (images as bytes) does not
        go into the system database, and the agent prepares its own.

        Raises:
            MetaAgentError: what the step raised on the agent's worker.
        """
        client = await self.client()
        child = f"{workflow_id}.{step}"
        shipped = plan if _small(plan) else None
        await client.enqueue(
            agent,
            AGENT_STEP,
            child,
            self.key,
            workflow_id,
            step,
            resumed,
            agent,
            shipped,
            partition=account_id,
        )
        answer: dict[str, Any] = await client.result(child)
        if "error" in answer:
            raise error_from_dict(answer["error"])
        created = [NewResource(**item) for item in answer.get("created", [])]
        return answer["output"], created

    def close(self) -> None:
        """Release the client's connections."""
        if self._client is not None:
            self._client.close()
            self._client = None
