"""The OrchestratorAgent: one request in, one workflow run, one response out.

``execute`` validates the request and its action's data, checks the account's policy (reads
only), then runs the action's workflow under the engine. A ``request_id`` seen before returns
the first outcome and does nothing; one still running is a conflict (resume it, or roll it
back). A dry run is journaled under its own id, so it never blocks the real request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog

from meta_agent.agents.keys import workflow_prefix
from meta_agent.errors import (
    AccessDeniedError,
    ConflictError,
    MetaAgentError,
    UsageError,
    WorkflowFailedError,
)
from meta_agent.orchestrator import events as ev
from meta_agent.orchestrator.approvals import ApprovalDesk
from meta_agent.orchestrator.dispatch import Dispatch
from meta_agent.orchestrator.engine import (
    StepReached,
    StepRun,
    WorkflowContext,
    journaled_principal,
    require_interrupted,
)
from meta_agent.orchestrator.env import Env
from meta_agent.orchestrator.requests import OrchestratorRequest, OrchestratorResponse
from meta_agent.orchestrator.settle import expectations, renames, settle, settled
from meta_agent.orchestrator.undo import plan as undo_plan
from meta_agent.orchestrator.undo import survey
from meta_agent.orchestrator.workflows import WORKFLOWS, Workflow
from meta_agent.orchestrator.workflows.launch import WAVE_CONCURRENCY
from meta_agent.principals import LOCAL_OPERATOR, Principal, acting_as, current_principal
from meta_agent.store.journal import (
    NewResource,
    ResourceRecord,
    StepRecord,
    WorkflowRecord,
    WorkflowStatus,
)

log = structlog.get_logger("meta_agent.orchestrator")


class Orchestrator:
    """Routes requests to workflows and owns their life cycle (run, resume, roll back)."""

    def __init__(self, env: Env, dispatch: Dispatch | None = None) -> None:
        self.env = env
        self.engine = env.engine
        env.runner = self.execute
        env.bus.subscribe(ev.CAMPAIGN_CREATED, self._track_campaign)
        self.approvals = ApprovalDesk(env.store, env.engine, self)
        self.dispatch = dispatch or Dispatch()
        """Where workflows run: here (embedded), or on workers (distributed)."""
        self.dispatch.bind(self)
        # What ``execute`` parsed, prepared and began, for the first run of its workflow (a
        # recovery, in this process or another, reads it back and prepares again).
        self._first_runs: dict[str, _FirstRun] = {}

    async def execute(
        self,
        request: OrchestratorRequest | Mapping[str, Any],
        principal: Principal | None = None,
    ) -> OrchestratorResponse:
        """Run one request to its end, on behalf of ``principal``.

        ``principal`` defaults to the one already bound (a bulk's items inherit the bulk's),
        else the local operator. It is journaled with the workflow, so a resume acts with
        the same rights.

        Raises:
            UsageError: the request, its data or the account's policy refuse it (nothing
                was written, and nothing journaled).
            AccessDeniedError: the principal may not perform the action on the account.
            ConflictError: the ``request_id`` is running, or was used for another request.
        """
        principal = principal or current_principal() or LOCAL_OPERATOR
        parsed = (
            request
            if isinstance(request, OrchestratorRequest)
            else OrchestratorRequest.parse(request)
        )
        _authorize(principal, parsed)
        workflow = WORKFLOWS[parsed.action]
        structlog.contextvars.bind_contextvars(request_id=parsed.request_id, action=parsed.action)
        try:
            with acting_as(principal):
                return await self._execute(parsed, workflow, principal)
        finally:
            structlog.contextvars.unbind_contextvars("request_id", "action", "workflow_id")

    async def resume(self, workflow_id: str) -> OrchestratorResponse:
        """Carry on an interrupted (RUNNING) workflow now, rather than when its process
        restarts or is declared dead (DBOS's checkpoint, on whichever process listens).

        Raises:
            ConflictError: no such workflow, or it has finished.
        """
        record = await self._record(workflow_id)
        require_interrupted(record, WorkflowStatus.RUNNING, WorkflowStatus.ROLLING_BACK)
        answer = await self.dispatch.resume(workflow_id)
        if answer is None:
            # DBOS holds no unfinished run of it (it was reopened, or ran elsewhere): a new
            # run, named by the journal's state, so two resumes at once join one run.
            steps = await self.env.store.steps(workflow_id)
            run_id = f"{workflow_id}.resume-{len(steps)}-{record.status.value.lower()}"
            answer = await self.dispatch.workflow(workflow_id, run_id)
        return OrchestratorResponse.model_validate(answer)

    async def carry_on(self, workflow_id: str, plan: Any = None) -> OrchestratorResponse:
        """The one body of every workflow run: the first, and any after a crash.

        Completed steps replay from the journal; a step interrupted mid-call adopts what it
        had created; a rollback interrupted halfway finishes; a finished workflow answers.
        """
        handoff = self._handoff if self.dispatch.distributed else None
        first = self._first_runs.pop(workflow_id, None)
        if first is not None:
            # Begun here a moment ago: its record, empty history and request as ``execute``
            # made them, not read back from the journal; the plan as it is prepared.
            prepared = await first.plan
            if prepared is _CALLED_OFF:
                return first.called_off()
            first.context.handoff = handoff
            with acting_as(journaled_principal(first.context.record)):
                return await self._run(first.context, first.request, first.workflow, prepared)
        record = await self._record(workflow_id)
        if record.status is WorkflowStatus.ROLLING_BACK:
            return await self.rollback(workflow_id)
        if record.status is not WorkflowStatus.RUNNING:
            return _response(record, replayed=False)
        request = OrchestratorRequest.parse(_original(record))
        workflow = WORKFLOWS[request.action]
        structlog.contextvars.bind_contextvars(request_id=record.request_id, action=record.action)
        with acting_as(journaled_principal(record)):
            if plan is None:
                plan = await workflow.prepare(request, self.env)
            ctx = await self.engine.context(
                workflow_id,
                workflow_prefix(record.account_id, record.request_id),
                handoff=handoff,
            )
            return await self._run(ctx, request, workflow, plan)

    async def run_step_here(
        self, workflow_id: str, step: str, *, again: bool = False, plan: Any = None
    ) -> tuple[dict[str, Any], list[NewResource]]:
        """Run one step of ``workflow_id`` in this process (an agent's worker): prepare, replay
        the completed steps before it, run it; its output and the objects to journal with it.

        Raises:
            ConflictError: the workflow is not running, or never reaches ``step``.
            MetaAgentError: what the step raised.
        """
        record = await self._record(workflow_id)
        request = OrchestratorRequest.parse(_original(record))
        workflow = WORKFLOWS[request.action]
        with acting_as(journaled_principal(record), workflow_id):
            if plan is None:  # not shipped with the hand-off: prepare here (reads only)
                plan = await workflow.prepare(request, self.env)
            ctx = await self.engine.context(
                workflow_id,
                workflow_prefix(record.account_id, record.request_id),
                target=step,
                again=again,
            )
            ctx.timeouts = self.dispatch.timeouts()
            try:
                await workflow.run(ctx, request, plan, self.env)
            except StepReached as reached:
                return reached.output, reached.created
        raise ConflictError(f"workflow {workflow_id} ended without reaching step {step}", step=step)

    async def _handoff(
        self, ctx: WorkflowContext, agent: str, step: str, resumed: bool
    ) -> tuple[dict[str, Any], list[NewResource]]:
        return await self.dispatch.step(
            agent, ctx.workflow_id, step, ctx.account_id, resumed, plan=ctx.plan
        )

    async def rollback(self, workflow_id: str) -> OrchestratorResponse:
        """Undo what an interrupted or failed workflow created, as its own principal.

        Raises:
            ConflictError: no such workflow, or it completed.
        """
        record = await self._record(workflow_id)
        with acting_as(journaled_principal(record), workflow_id):
            finished = await self.engine.rollback(
                workflow_id, workflow_prefix(record.account_id, record.request_id)
            )
        return _response(finished, replayed=False)

    async def answer(self, workflow_id: str) -> OrchestratorResponse:
        """A workflow's answer as the journal has it now.

        Raises:
            ConflictError: no such workflow.
        """
        return _response(await self._record(workflow_id), replayed=False)

    async def workflow(
        self, workflow_id: str
    ) -> tuple[WorkflowRecord, list[StepRecord], list[ResourceRecord]]:
        """A workflow with its steps and resources, as journaled.

        Raises:
            ConflictError: no such workflow.
        """
        record = await self._record(workflow_id)
        store = self.env.store
        return record, await store.steps(workflow_id), await store.resources(workflow_id)

    async def _execute(
        self, request: OrchestratorRequest, workflow: Workflow, principal: Principal
    ) -> OrchestratorResponse:
        # Whatever does not depend on ``prepare``'s reads (the journal's lookup, the
        # workflow's row and, embedded, the start of its durable run) is done while those
        # reads are on their way. A request they refuse leaves nothing behind.
        preparing = asyncio.ensure_future(workflow.prepare(request, self.env))
        try:
            begun = await self._begin(request, principal)
        except BaseException:
            await _call_off(preparing)
            raise
        if isinstance(begun, WorkflowRecord):
            await _call_off(preparing)  # answered from the journal: its reads are not needed
            return await self._earlier(begun, request, principal)
        return await self._first_run(begun, request, workflow, preparing)

    async def _begin(
        self, request: OrchestratorRequest, principal: Principal
    ) -> WorkflowContext | WorkflowRecord:
        """A new workflow for ``request``, or the earlier one of its ``request_id``."""
        request_id = request.journal_id
        earlier = await self.env.store.find_by_request(request_id)
        if earlier is not None and earlier.status.finished:
            return earlier
        return await self.engine.begin(
            request_id,
            request.action,
            request.account_id,
            request.journal_form(),
            workflow_prefix(request.account_id, request_id),
            principal=principal.journal_form(),
            announce=False,
        )

    async def _earlier(
        self, record: WorkflowRecord, request: OrchestratorRequest, principal: Principal
    ) -> OrchestratorResponse:
        """The answer to a request_id seen before: its outcome, or its run under way.

        Raises:
            ConflictError: the request_id is another account's, or was used for another
                request.
        """
        _visible(principal, record)
        record = self.engine.same_request(record, request.action, request.journal_form())
        if self.dispatch.distributed and not record.status.finished:
            # Another replica began it: join its run (enqueueing its id joins, never starts a
            # second), and answer as it does.
            answer = await self.dispatch.workflow(record.id)
            return OrchestratorResponse.model_validate({**answer, "replayed": True})
        return _replay(record)

    async def _first_run(
        self,
        ctx: WorkflowContext,
        request: OrchestratorRequest,
        workflow: Workflow,
        preparing: asyncio.Future[Any],
    ) -> OrchestratorResponse:
        """Run the workflow ``ctx`` began, once ``preparing`` has its plan.

        Embedded, the durable run starts at once and waits for the plan; distributed, the
        plan travels with the workflow to its queue, so it is enqueued once prepared.
        """
        first = _FirstRun(request, workflow, ctx)
        self._first_runs[ctx.workflow_id] = first
        running = None
        try:
            if not self.dispatch.distributed:
                running = asyncio.ensure_future(self.dispatch.workflow(ctx.workflow_id))
            try:
                plan = await preparing
            except BaseException:
                first.call_off()
                if running is not None:
                    await _settled(running)
                await self.engine.discard(ctx)
                raise
            await self.engine.announce(ctx)
            first.go(plan)
            if running is None:
                answer = await self.dispatch.workflow(ctx.workflow_id, plan=plan)
            else:
                # Awaited, not shielded: a caller that gives up cancels its run with it (the
                # run stays RUNNING, to be resumed), as if it ran in the caller's own task.
                answer = await running
        finally:
            self._first_runs.pop(ctx.workflow_id, None)
        return OrchestratorResponse.model_validate(answer)

    async def _run(
        self, ctx: WorkflowContext, request: OrchestratorRequest, workflow: Workflow, plan: Any
    ) -> OrchestratorResponse:
        structlog.contextvars.bind_contextvars(workflow_id=ctx.workflow_id)
        ctx.plan = plan
        ctx.timeouts = self.dispatch.timeouts()

        async def body(context: WorkflowContext) -> dict[str, Any]:
            result = await workflow.run(context, request, plan, self.env)
            if not request.options.dry_run:
                await self._settle(context)
            return result

        rollback = request.options.rollback_on_failure
        principal = current_principal() or journaled_principal(ctx.record)
        try:
            with acting_as(principal, ctx.workflow_id):
                finished = await self.engine.run(ctx, body, rollback_on_failure=rollback)
        except WorkflowFailedError as failure:
            log.warning("workflow.failed", error=failure.message)
            record = await self._record(ctx.workflow_id)
            return _response(record, replayed=False, error=failure)
        return _response(finished, replayed=False, dry_run=request.options.dry_run)

    async def _settle(self, ctx: WorkflowContext) -> None:
        """The last step: names given back, unless the activation did (see ``settle.py``)."""
        if self.env.naming_keys == "keep":
            return
        resources = await self.env.store.resources(ctx.workflow_id)
        if not renames(resources, self.env.naming_keys):
            return
        if settled(await self.env.store.steps(ctx.workflow_id)):
            return

        async def give_names_back(run: StepRun) -> dict[str, Any]:
            try:
                output = await settle(
                    self.env.graph, resources, self.env.naming_keys, concurrency=WAVE_CONCURRENCY
                )
            except MetaAgentError as error:  # the objects are made and right: keep going
                log.warning("workflow.settle_failed", error=error.message)
                return {"error": error.to_dict()}
            output.pop("failed")  # no writes of its own: nothing else can have failed
            return output

        await ctx.step("settle", give_names_back)

    async def undo(
        self, workflow_id: str, *, dry_run: bool = True, force: bool = False
    ) -> dict[str, Any]:
        """Undo a completed workflow: delete what it created, restore what it changed.

        ``dry_run`` (the default) only says what would happen. Objects changed since the
        workflow finished are named with each changed field, and are undone only with
        ``force``.

        Raises:
            ConflictError: no such workflow, it did not complete (roll it back instead), or
                objects changed since and ``force`` is not set.
        """
        record = await self._record(workflow_id)
        if record.status is not WorkflowStatus.COMPLETED:
            hint = (
                "nothing is left to undo"
                if record.status is WorkflowStatus.ROLLED_BACK
                else f"undo is for completed workflows; roll it back: meta-agent workflows "
                f"rollback {workflow_id}"
            )
            raise ConflictError(
                f"Workflow {workflow_id} is {record.status.value}: {hint}",
                workflow_id=workflow_id,
                status=record.status.value,
            )
        steps = await self.env.store.steps(workflow_id)
        resources = await self.env.store.resources(workflow_id)
        with acting_as(journaled_principal(record), workflow_id):
            items = await survey(self.env.graph, resources, expectations(resources, steps))
        view = undo_plan(workflow_id, items)
        if dry_run:
            return view
        forced = [item for item in items if item.needs_force]
        if forced and not force:
            raise ConflictError(
                f"{len(forced)} object(s) of workflow {workflow_id} changed since it finished "
                "(or could not be compared); undoing would overwrite those changes. Review "
                "them (workflows undo --dry-run) and undo with force to go ahead",
                workflow_id=workflow_id,
                changed=[item.to_dict() for item in forced],
            )
        with acting_as(journaled_principal(record), workflow_id):
            finished = await self.engine.rollback(
                workflow_id, workflow_prefix(record.account_id, record.request_id), completed=True
            )
        answer = _response(finished, replayed=False).model_dump(mode="json")
        return {**answer, "dry_run": False, "undo": view}

    async def _record(self, workflow_id: str) -> WorkflowRecord:
        record = await self.env.store.get_workflow(workflow_id)
        if record is None:
            raise ConflictError(f"No workflow {workflow_id!r} in the journal", field="workflow_id")
        return record

    async def _track_campaign(self, event: ev.Event) -> None:
        campaign_id = event.data.get("campaign_id")
        if isinstance(campaign_id, str):
            self.env.insights.track(campaign_id)


_CALLED_OFF = object()


@dataclass
class _FirstRun:
    """A workflow ``execute`` began: what its first run needs, in hand or on its way."""

    request: OrchestratorRequest
    workflow: Workflow
    context: WorkflowContext
    plan: asyncio.Future[Any] = field(default_factory=asyncio.Future)

    def go(self, plan: Any) -> None:
        """The plan is ready: the run may start."""
        self.plan.set_result(plan)

    def call_off(self) -> None:
        """The request was refused: the run ends without doing anything."""
        self.plan.set_result(_CALLED_OFF)

    def called_off(self) -> OrchestratorResponse:
        """What a called-off run answers (to no one: the caller has the refusal)."""
        return OrchestratorResponse(
            request_id=self.context.record.request_id,
            workflow_id=self.context.workflow_id,
            action=self.request.action,
            status="CALLED_OFF",
        )


async def _call_off(task: asyncio.Future[Any]) -> None:
    """Cancel ``task`` and wait until it has stopped (what it raised is of no interest; the
    caller's own cancellation still goes through)."""
    task.cancel()
    await _settled(task)


async def _settled(task: asyncio.Future[Any]) -> None:
    """Wait for ``task`` to end, whatever it returns or raises."""
    await asyncio.wait([task])
    if not task.cancelled():
        task.exception()  # looked at, so asyncio does not report it as never retrieved


def _authorize(principal: Principal, request: OrchestratorRequest) -> None:
    """Refuse early what the gate would refuse anyway: an action or account not granted."""
    if not principal.allows_action(request.action):
        raise AccessDeniedError(
            f"action: {principal.label} may not perform {request.action}",
            field="action",
            principal=principal.id,
            action=request.action,
        )
    if request.account_id is not None and not principal.allows_account(request.account_id):
        raise AccessDeniedError(
            f"account_id: {principal.label} may not act on ad account {request.account_id}",
            field="account_id",
            principal=principal.id,
            account=request.account_id,
        )


def _visible(principal: Principal, record: WorkflowRecord) -> None:
    """Never reveal another account's workflow through a reused request_id."""
    if record.account_id is not None and not principal.allows_account(record.account_id):
        raise ConflictError(
            "request_id: this request_id is already in use; choose another", field="request_id"
        )


def _original(record: WorkflowRecord) -> dict[str, Any]:
    return {**record.request, "request_id": record.request_id}


def _replay(record: WorkflowRecord) -> OrchestratorResponse:
    if not record.status.finished:
        raise ConflictError(
            f"request_id {record.request_id!r} is still running as workflow {record.id}; "
            f"resume it (meta-agent workflows resume {record.id}) or roll it back",
            field="request_id",
            workflow_id=record.id,
        )
    return _response(record, replayed=True)


RETRY_HINT = (
    "this is the first outcome of this request_id, replayed: nothing was tried again; "
    "send the request with a new request_id to retry"
)


def _response(
    record: WorkflowRecord,
    *,
    replayed: bool,
    dry_run: bool = False,
    error: MetaAgentError | None = None,
) -> OrchestratorResponse:
    failure = error.to_dict() if error is not None else record.error
    if record.status in (WorkflowStatus.COMPLETED, WorkflowStatus.PENDING_APPROVAL):
        failure = None
    if replayed and failure is not None:
        failure = {**failure, "hint": RETRY_HINT}
    return OrchestratorResponse(
        request_id=record.request_id.removesuffix(":dry-run"),
        workflow_id=record.id,
        action=record.action,
        status=record.status.value,
        dry_run=dry_run or record.request_id.endswith(":dry-run"),
        replayed=replayed,
        result=record.result,
        error=failure,
    )


__all__ = ["Orchestrator", "UsageError"]
