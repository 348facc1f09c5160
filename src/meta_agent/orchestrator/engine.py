"""The workflow engine: a saga over a durable journal.

A workflow is an async function of a :class:`WorkflowContext`. Each call it makes to Meta is
wrapped in :meth:`WorkflowContext.step`, which journals the step STARTED (input, idempotency
key, the objects it plans to create) before running it and COMPLETED (output) or FAILED
(error) after. Objects a step creates are journaled as resources the moment they exist.

On failure the engine rolls back: it first looks on Meta for objects planned by steps that
did not complete (their outcome may be unknown, or the process died mid-call), then undoes
every resource in reverse order of creation, treating "already gone" as done, journaling a
compensation that fails and carrying on. Rollback runs shielded: cancelling the caller does
not stop it halfway.

Resuming runs the same workflow function again: completed steps return their journaled
output without calling Meta; a step that started but never finished adopts what it had
already created (found by idempotency key) and does the rest.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

import structlog

from meta_agent.errors import (
    ApprovalRequiredError,
    ConflictError,
    MetaAgentError,
    StepTimeoutError,
    WorkflowFailedError,
)
from meta_agent.orchestrator import events as ev
from meta_agent.principals import LOCAL_OPERATOR, Principal, current_principal
from meta_agent.store.journal import (
    ApprovalRecord,
    ApprovalStatus,
    DuplicateRequestError,
    JournalStore,
    NewResource,
    ResourceRecord,
    StepRecord,
    StepStatus,
    WorkflowRecord,
    WorkflowStatus,
)

log = structlog.get_logger("meta_agent.workflow")

T = TypeVar("T")


@dataclass(frozen=True)
class Planned:
    """An object a step may create, findable on Meta by the key in its name."""

    kind: str
    key: str

    def to_dict(self) -> dict[str, str]:
        """As journaled in the step's input."""
        return {"kind": self.kind, "key": self.key}


@dataclass(frozen=True)
class Found:
    """An object found on Meta by its idempotency key (and what it hangs from, if anything)."""

    kind: str
    key: str
    object_id: str
    parent_id: str | None = None


@dataclass(frozen=True)
class UndoResult:
    """What undoing one resource did: ``error`` is None when it is gone (or restored)."""

    resource: ResourceRecord
    error: MetaAgentError | None = None


class Compensator(Protocol):
    """What the engine needs from the outside world to reconcile and undo."""

    async def find(self, account_id: str, prefix: str) -> list[Found]:
        """Every live object on the account whose key starts with ``prefix``."""

    async def undo(self, resources: Sequence[ResourceRecord]) -> list[UndoResult]:
        """Undo each resource (delete, or restore its earlier values); "already gone" is done."""


@dataclass
class StepRun:
    """What a step function is told, and how it records what it created."""

    ctx: WorkflowContext
    name: str
    resumed: bool = False
    found: dict[str, str] = field(default_factory=dict)
    deferred: list[NewResource] = field(default_factory=list)

    async def created(
        self,
        kind: str,
        object_id: str,
        *,
        undo: str = "delete",
        details: dict[str, Any] | None = None,
    ) -> None:
        """Journal an object this step created (or changed: ``undo="restore"``)."""
        await self.ctx.store.add_resource(
            self.ctx.workflow_id, self.name, kind, object_id, undo=undo, details=details
        )

    async def created_many(self, created: Sequence[NewResource], *, planned: bool = False) -> None:
        """Journal several objects at once (one transaction: objects that arrived together).

        ``planned=True`` (the objects carry keys the step announced in ``planned``) lets the
        engine write them with the step's outcome, in the same transaction: should the
        process die before that, the rollback or the resume still finds them by key.
        """
        if planned:
            self.deferred.extend(created)
        elif created:
            await self.ctx.store.add_resources(self.ctx.workflow_id, self.name, created)


StepFunction = Callable[[StepRun], Awaitable[dict[str, Any]]]

Handoff = Callable[
    ["WorkflowContext", str, str, bool], Awaitable[tuple[dict[str, Any], list[NewResource]]]
]
"""Runs step ``name`` of a workflow on ``agent``'s worker: ``(ctx, agent, name, resumed)``."""


class StepReached(BaseException):
    """The step an agent's worker was asked to run has run: its output (ends the replay).

    A BaseException, so no ``except Exception`` in a workflow can swallow it.
    """

    def __init__(self, output: dict[str, Any], created: list[NewResource]) -> None:
        super().__init__("step reached")
        self.output = output
        self.created = created


class WorkflowContext:
    """One run of one workflow: its identity, its journal, and the ``step`` wrapper."""

    def __init__(
        self,
        record: WorkflowRecord,
        store: JournalStore,
        bus: ev.EventBus,
        compensator: Compensator,
        prefix: str,
        history: Sequence[StepRecord] = (),
        *,
        handoff: Handoff | None = None,
        target: str | None = None,
        again: bool = False,
    ) -> None:
        self.record = record
        self.store = store
        self.bus = bus
        self.compensator = compensator
        self.prefix = prefix
        self._history = {step.name: step for step in history if step.kind == "action"}
        self.handoff = handoff
        """Set in distributed mode: steps that name an agent run on that agent's worker."""
        self.target = target
        """Set on an agent's worker: run only this step (replaying those before it)."""
        self.again = again
        """On an agent's worker: the step runs again (adopt what it had created)."""
        self.plan: Any = None
        """What the workflow's ``prepare`` returned, for a hand-off to ship along."""
        self.timeouts: dict[str, float] = {}
        """Seconds a step of each agent may take (``agents.asset.upload_timeout``)."""

    @property
    def workflow_id(self) -> str:
        """The workflow's id."""
        return self.record.id

    @property
    def account_id(self) -> str | None:
        """The ad account the workflow works on."""
        return self.record.account_id

    async def step(
        self,
        name: str,
        fn: StepFunction,
        *,
        input: dict[str, Any] | None = None,
        planned: Iterable[Planned] = (),
        idempotency_key: str | None = None,
        agent: str | None = None,
    ) -> dict[str, Any]:
        """Run ``fn`` as the journaled step ``name`` (unique within the workflow).

        A step the journal shows COMPLETED is not run again: its output is returned.
        ``agent`` names the agent whose work it is (``asset``, ``campaign``,
        ``ad_creation``, ``insights``): in distributed mode it runs on that agent's worker.
        """
        if self.target is not None:
            return await self._step_for_agent(name, fn, list(planned), agent)
        earlier = self._history.get(name)
        if earlier is not None and earlier.status is StepStatus.COMPLETED:
            log.info("workflow.step.replayed", step=name)
            return earlier.output or {}
        planned = list(planned)
        journal_input = {**(input or {}), "planned": [item.to_dict() for item in planned]}
        run = StepRun(self, name, resumed=earlier is not None)
        handoff = self.handoff if agent is not None else None
        if run.resumed and planned and handoff is None:
            run.found = await self._adopt(name, planned)
        record = await self.store.start_step(
            self.workflow_id, name, input=journal_input, idempotency_key=idempotency_key
        )
        try:
            if handoff is not None and agent is not None:
                output, created = await handoff(self, agent, name, run.resumed)
                run.deferred.extend(created)
            else:
                output = await self._bounded(agent, name, fn(run))
        except Exception as error:
            failure = as_meta_error(error)
            failure.details.setdefault("step", name)
            await self.store.fail_step(
                self.workflow_id, record.seq, failure.to_dict(), created=run.deferred, step=name
            )
            if failure is error:
                raise
            raise failure from error
        await self.store.complete_step(
            self.workflow_id, record.seq, output, created=run.deferred, step=name
        )
        await self.bus.emit(ev.Event(ev.STEP_COMPLETED, self.workflow_id, {"step": name}))
        return output

    async def emit(self, event_type: str, **data: Any) -> None:
        """Tell subscribers something happened in this workflow (the orchestrator's process
        does; an agent's worker replaying the workflow does not repeat it)."""
        if self.target is None:
            await self.bus.emit(ev.Event(event_type, self.workflow_id, data))

    async def _step_for_agent(
        self, name: str, fn: StepFunction, planned: list[Planned], agent: str | None
    ) -> dict[str, Any]:
        """On an agent's worker: replay the steps before the target, run it, stop.

        Raises:
            StepReached: the target ran (its output and created objects).
            ConflictError: a step before the target has not completed (out of order).
        """
        if name != self.target:
            earlier = self._history.get(name)
            if earlier is not None and earlier.status is StepStatus.COMPLETED:
                return earlier.output or {}
            raise ConflictError(
                f"step {self.target} of workflow {self.workflow_id} was handed to an agent "
                f"before step {name} completed",
                workflow_id=self.workflow_id,
                step=name,
            )
        run = StepRun(self, name, resumed=self.again)
        if self.again and planned:
            run.found = await self._adopt(name, planned)
        output = await self._bounded(agent, name, fn(run))
        raise StepReached(output, run.deferred)

    async def _bounded(
        self, agent: str | None, name: str, work: Awaitable[dict[str, Any]]
    ) -> dict[str, Any]:
        """``work``, cut off after the agent's time limit, if it has one.

        Raises:
            StepTimeoutError: the limit passed (the step fails; the saga undoes what it made).
        """
        limit = self.timeouts.get(agent or "")
        if limit is None:
            return await work
        try:
            async with asyncio.timeout(limit):
                return await work
        except TimeoutError:
            raise StepTimeoutError(
                f"step {name} took longer than the {agent} agent's {limit:g} s "
                f"(agents.{agent}.upload_timeout)",
                step=name,
                seconds=limit,
            ) from None

    async def _adopt(self, step: str, planned: Sequence[Planned]) -> dict[str, str]:
        """Objects of ``planned`` that already exist: journaled as this step's resources."""
        wanted = {item.key: item for item in planned}
        found = {}
        for item in await self.compensator.find(self.account_id or "", self.prefix):
            if item.key in wanted:
                found[item.key] = item.object_id
                await self.store.add_resource(self.workflow_id, step, item.kind, item.object_id)
        log.info("workflow.step.adopted", step=step, found=len(found), planned=len(planned))
        return found


Body = Callable[[WorkflowContext], Coroutine[Any, Any, dict[str, Any]]]


class WorkflowEngine:
    """Starts, resumes and rolls back workflows over a journal."""

    def __init__(
        self,
        store: JournalStore,
        bus: ev.EventBus,
        compensator: Compensator,
        *,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.bus = bus
        self.compensator = compensator
        self.new_id = new_id
        self.now = now

    async def begin(
        self,
        request_id: str,
        action: str,
        account_id: str | None,
        request: dict[str, Any],
        prefix: str,
        *,
        principal: dict[str, Any] | None = None,
        announce: bool = True,
    ) -> WorkflowContext | WorkflowRecord:
        """A context for a new workflow, or the earlier workflow of this ``request_id``.

        ``announce=False`` leaves telling subscribers to :meth:`announce`, for a caller that
        begins a workflow before it knows the request will run (see :meth:`discard`).

        Raises:
            ConflictError: ``request_id`` was used for a different request.
        """
        try:
            record = await self.store.create_workflow(
                self.new_id(), request_id, action, account_id, request, principal=principal
            )
        except DuplicateRequestError as duplicate:
            return self.same_request(duplicate.existing, action, request)
        ctx = WorkflowContext(record, self.store, self.bus, self.compensator, prefix)
        if announce:
            await self.announce(ctx)
        return ctx

    async def announce(self, ctx: WorkflowContext) -> None:
        """Tell subscribers the workflow has started."""
        action = ctx.record.action
        await self.bus.emit(ev.Event(ev.WORKFLOW_STARTED, ctx.workflow_id, {"action": action}))

    async def discard(self, ctx: WorkflowContext) -> None:
        """Forget a workflow begun but never announced nor run (its request was refused),
        as if it had never been journaled."""
        await self.store.discard_workflow(ctx.workflow_id)

    @staticmethod
    def same_request(
        existing: WorkflowRecord, action: str, request: dict[str, Any]
    ) -> WorkflowRecord:
        """``existing`` when it ran this very request.

        Raises:
            ConflictError: its ``request_id`` was used for a different request.
        """
        return _same_request(existing, action, request)

    async def context(
        self,
        workflow_id: str,
        prefix: str,
        *,
        handoff: Handoff | None = None,
        target: str | None = None,
        again: bool = False,
    ) -> WorkflowContext:
        """A context to run or carry on ``workflow_id``, its completed steps ready to replay
        (``target``: only to run that step, on an agent's worker).

        Raises:
            ConflictError: no such workflow, or it has finished.
        """
        record = await self._get(workflow_id)
        require_interrupted(record, WorkflowStatus.RUNNING)
        history = await self.store.steps(workflow_id)
        return WorkflowContext(
            record,
            self.store,
            self.bus,
            self.compensator,
            prefix,
            history,
            handoff=handoff,
            target=target,
            again=again,
        )

    async def run(
        self, ctx: WorkflowContext, body: Body, *, rollback_on_failure: bool = True
    ) -> WorkflowRecord:
        """Run ``body``; journal its result, or roll back and raise.

        A write the gate holds for an approval does not fail the workflow: it waits in
        PENDING_APPROVAL with an approval recording the exact writes (nothing was sent), and
        granting it resumes the workflow.

        Raises:
            WorkflowFailedError: the workflow failed (after its rollback, when asked).
        """
        try:
            result = await body(ctx)
        except Exception as error:
            # A cancelled run (BaseException) stays RUNNING: it can be resumed or rolled back.
            held = held_for_approval(error)
            if held is not None:
                return await self._hold(ctx, held)
            raise await self._fail(ctx, as_meta_error(error), rollback_on_failure) from error
        finished = await self.store.finish_workflow(
            ctx.workflow_id, WorkflowStatus.COMPLETED, result=result
        )
        await ctx.emit(ev.WORKFLOW_COMPLETED, action=finished.action)
        return finished

    async def _hold(self, ctx: WorkflowContext, held: ApprovalRequiredError) -> WorkflowRecord:
        now = self.now()
        principal = current_principal()
        approval = await self.store.create_approval(
            ApprovalRecord(
                id=uuid.uuid4().hex[:16],
                workflow_id=ctx.workflow_id,
                account_id=str(held.details.get("account_id") or ctx.account_id or ""),
                requested_by=principal.id if principal is not None else "unknown",
                status=ApprovalStatus.PENDING,
                rules=list(held.details.get("rules", [])),
                diff=list(held.details.get("diff", [])),
                fingerprints=list(held.details.get("fingerprints", [])),
                created_at=now,
                expires_at=now + timedelta(hours=float(held.details.get("ttl_hours", 24))),
            )
        )
        log.info("workflow.pending_approval", approval_id=approval.id, rules=approval.rules)
        return await self.store.finish_workflow(
            ctx.workflow_id,
            WorkflowStatus.PENDING_APPROVAL,
            result={"approval": approval_summary(approval)},
            error=held.to_dict(),
        )

    async def reopen(self, workflow_id: str) -> WorkflowRecord:
        """Set a PENDING_APPROVAL workflow RUNNING again, so it can be resumed.

        Raises:
            ConflictError: no such workflow, or it is not waiting for an approval.
        """
        record = await self._get(workflow_id)
        if record.status is not WorkflowStatus.PENDING_APPROVAL:
            raise ConflictError(
                f"Workflow {workflow_id} is {record.status.value}, not waiting for an approval",
                workflow_id=workflow_id,
            )
        return await self.store.finish_workflow(workflow_id, WorkflowStatus.RUNNING)

    async def rollback(
        self, workflow_id: str, prefix: str, *, completed: bool = False
    ) -> WorkflowRecord:
        """Undo what an interrupted or failed workflow created (shielded from cancellation);
        with ``completed``, what a completed one created and changed (``workflows undo``).

        Raises:
            ConflictError: no such workflow, or it completed and ``completed`` is not set.
        """
        record = await self._get(workflow_id)
        cause = record.error
        if record.status is WorkflowStatus.COMPLETED:
            if not completed:
                raise ConflictError(
                    f"Workflow {workflow_id} completed; a rollback is for interrupted or "
                    f"failed workflows. Undo it: meta-agent workflows undo {workflow_id}",
                    workflow_id=workflow_id,
                )
            cause = {"kind": "undone", "message": "undone on request (workflows undo)"}
        return await shielded(self._rollback(record, prefix, cause))

    async def _fail(
        self, ctx: WorkflowContext, error: MetaAgentError, rollback: bool
    ) -> WorkflowFailedError:
        cause = error.to_dict()
        record = ctx.record
        if rollback:
            record = await shielded(self._rollback(record, ctx.prefix, cause))
        else:
            record = await self.store.finish_workflow(
                ctx.workflow_id, WorkflowStatus.FAILED, error=cause
            )
            await ctx.emit(ev.WORKFLOW_FAILED, step=error.details.get("step"))
        resources = await self.store.resources(ctx.workflow_id)
        leftovers = [r.object_id for r in resources if not r.undone and r.undo != "keep"]
        failure = WorkflowFailedError(
            f"{record.action} failed{_at_step(error)}: {error.message}",
            workflow_id=ctx.workflow_id,
            step=error.details.get("step"),
            cause=cause,
            status=record.status.value,
            leftovers=leftovers,
        )
        # The journal keeps the whole story, so a repeated request_id answers the same.
        await self.store.finish_workflow(ctx.workflow_id, record.status, error=failure.to_dict())
        return failure

    async def _rollback(
        self, record: WorkflowRecord, prefix: str, cause: dict[str, Any] | None
    ) -> WorkflowRecord:
        workflow_id = record.id
        await self.store.finish_workflow(workflow_id, WorkflowStatus.ROLLING_BACK, error=cause)
        await self._reconcile(record, prefix)
        pending = [r for r in await self.store.resources(workflow_id) if not r.undone]
        pending = [r for r in reversed(pending) if r.undo != "keep"]
        failed = await self._undo(workflow_id, pending)
        status = WorkflowStatus.ROLLBACK_FAILED if failed else WorkflowStatus.ROLLED_BACK
        finished = await self.store.finish_workflow(workflow_id, status, error=cause)
        await self.bus.emit(
            ev.Event(
                ev.WORKFLOW_ROLLED_BACK,
                workflow_id,
                {"undone": len(pending) - len(failed), "failed": failed},
            )
        )
        log.info("workflow.rolled_back", workflow_id=workflow_id, status=status.value)
        return finished

    async def _reconcile(self, record: WorkflowRecord, prefix: str) -> None:
        """Journal objects that steps which never completed may have created."""
        steps = await self.store.steps(record.id)
        completed = {s.name for s in steps if s.status is StepStatus.COMPLETED}
        planned = {
            item["key"]: step.name
            for step in steps
            if step.kind == "action" and step.name not in completed
            for item in step.input.get("planned", [])
        }
        if not planned or record.account_id is None:
            return
        for found in await self.compensator.find(record.account_id, prefix):
            if found.key in planned:
                await self.store.add_resource(
                    record.id, planned[found.key], found.kind, found.object_id
                )

    async def _undo(self, workflow_id: str, pending: Sequence[ResourceRecord]) -> list[str]:
        """Undo ``pending`` as one journaled compensation; returns the ids left behind."""
        if not pending:
            return []
        entries = [{"kind": r.kind, "id": r.object_id, "undo": r.undo} for r in pending]
        step = await self.store.start_step(
            workflow_id, "rollback", kind="compensation", input={"resources": entries}
        )
        results = await self.compensator.undo(pending)
        failed = []
        for outcome in results:
            if outcome.error is None:
                await self.store.mark_undone(
                    workflow_id, outcome.resource.kind, outcome.resource.object_id
                )
            else:
                failed.append(outcome.resource.object_id)
                log.warning(
                    "workflow.compensation_failed",
                    object_id=outcome.resource.object_id,
                    error=outcome.error.message,
                )
        errors = {o.resource.object_id: o.error.to_dict() for o in results if o.error is not None}
        if errors:
            await self.store.fail_step(
                workflow_id, step.seq, {"kind": "rollback", "failed": errors}
            )
        else:
            await self.store.complete_step(workflow_id, step.seq, {"undone": len(results)})
        return failed

    async def _get(self, workflow_id: str) -> WorkflowRecord:
        record = await self.store.get_workflow(workflow_id)
        if record is None:
            raise ConflictError(f"No workflow {workflow_id!r} in the journal", field="workflow_id")
        return record


async def shielded(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion even if the caller is cancelled, then honour the cancel."""
    task = asyncio.ensure_future(coro)
    cancelled = False
    while True:
        try:
            result = await asyncio.shield(task)
        except asyncio.CancelledError:
            if task.done():
                raise
            cancelled = True
            continue
        if cancelled:
            raise asyncio.CancelledError
        return result


def _same_request(existing: WorkflowRecord, action: str, request: dict[str, Any]) -> WorkflowRecord:
    if existing.action != action or existing.request != request:
        raise ConflictError(
            f"request_id {existing.request_id!r} was already used for a different request "
            f"(workflow {existing.id}); use a new request_id",
            field="request_id",
            workflow_id=existing.id,
        )
    return existing


def _at_step(error: MetaAgentError) -> str:
    step = error.details.get("step")
    return f" at step {step}" if step else ""


def require_interrupted(record: WorkflowRecord, *statuses: WorkflowStatus) -> None:
    """Refuse to carry on ``record`` unless it is in one of ``statuses`` (interrupted).

    Raises:
        ConflictError: it has finished, or waits for an approval.
    """
    if record.status not in statuses:
        raise ConflictError(
            f"Workflow {record.id} is {record.status.value}; only a RUNNING (interrupted) "
            "workflow can be resumed",
            workflow_id=record.id,
            status=record.status.value,
        )


def journaled_principal(record: WorkflowRecord) -> Principal:
    """The principal a workflow runs for (the local operator for one journaled before)."""
    if record.principal is None:
        return LOCAL_OPERATOR
    return Principal.model_validate(record.principal)


def held_for_approval(error: BaseException) -> ApprovalRequiredError | None:
    """The gate's hold behind ``error`` (itself, or its cause), if there is one."""
    seen: BaseException | None = error
    for _ in range(8):
        if seen is None:
            return None
        if isinstance(seen, ApprovalRequiredError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def approval_summary(approval: ApprovalRecord) -> dict[str, Any]:
    """What an answer says of an approval (the diff included: it is what will be sent)."""
    return {
        "id": approval.id,
        "status": approval.status.value,
        "account_id": approval.account_id,
        "requested_by": approval.requested_by,
        "rules": approval.rules,
        "diff": approval.diff,
        "created_at": approval.created_at.isoformat(),
        "expires_at": approval.expires_at.isoformat(),
        "decided_by": approval.decided_by,
        "note": approval.note,
    }


def as_meta_error(error: Exception) -> MetaAgentError:
    """``error`` itself, or a bug in our code as a :class:`MetaAgentError` naming it."""
    if isinstance(error, MetaAgentError):
        return error
    log.error("workflow.internal_error", exc_info=error)
    return MetaAgentError(f"Internal error: {type(error).__name__}: {error}", internal=True)
