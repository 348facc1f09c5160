"""Approvals: writes the gate held, granted or rejected by an approver, or left to expire.

A workflow whose write the policy holds waits in PENDING_APPROVAL with one approval naming
the exact writes (:meth:`WorkflowEngine._hold`). Only a principal with the approver (or admin)
role for that account, and never the one who asked, can decide it. Granting it reopens the
workflow and resumes it as its own principal: the gate then admits exactly the approved
writes. Rejecting it, or letting it expire, ends the workflow, rolling back what it created
when the request asked for that (its ``rollback_on_failure``, true by default).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

import structlog

from meta_agent.agents.keys import workflow_prefix
from meta_agent.errors import (
    AccessDeniedError,
    ConflictError,
    PolicyViolationError,
    UnknownRecordError,
)
from meta_agent.orchestrator.engine import WorkflowEngine, journaled_principal
from meta_agent.orchestrator.requests import OrchestratorResponse
from meta_agent.principals import Principal, acting_as
from meta_agent.store.journal import (
    ApprovalRecord,
    ApprovalStatus,
    JournalStore,
    WorkflowStatus,
)

log = structlog.get_logger("meta_agent.approvals")


class Lifecycle(Protocol):
    """What the desk needs of the Orchestrator."""

    async def resume(self, workflow_id: str) -> OrchestratorResponse:
        """Carry on a workflow as its own principal."""

    async def answer(self, workflow_id: str) -> OrchestratorResponse:
        """A workflow's answer as it stands."""


class ApprovalDesk:
    """Lists, grants, rejects and expires approvals (the Orchestrator's ``approvals``)."""

    def __init__(
        self,
        store: JournalStore,
        engine: WorkflowEngine,
        orchestrator: Lifecycle,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.engine = engine
        self.orchestrator = orchestrator
        self.now = now

    async def list(
        self, principal: Principal, *, status: ApprovalStatus | None = None, limit: int = 50
    ) -> list[ApprovalRecord]:
        """Approvals of the principal's accounts, newest first (expired ones marked so)."""
        await self.expire_due()
        found = await self.store.list_approvals(status=status, limit=max(limit * 4, 200))
        return [a for a in found if principal.allows_account(a.account_id)][:limit]

    async def get(self, approval_id: str, principal: Principal) -> ApprovalRecord:
        """One approval the principal may see.

        Raises:
            ConflictError: no such approval, or not of the principal's accounts.
        """
        await self.expire_due()
        approval = await self.store.get_approval(approval_id)
        if approval is None or not principal.allows_account(approval.account_id):
            raise UnknownRecordError(f"No approval {approval_id!r}", field="approval_id")
        return approval

    async def approve(
        self, approval_id: str, approver: Principal, note: str | None = None
    ) -> OrchestratorResponse:
        """Grant an approval and carry on its workflow.

        Raises:
            AccessDeniedError: the approver lacks the role or the account, or asked itself.
            ConflictError: no such approval, or it is decided or expired.
        """
        approval = await self._decidable(approval_id, approver)
        await self.store.decide_approval(approval_id, ApprovalStatus.APPROVED, approver.id, note)
        log.info("approval.granted", approval_id=approval_id, by=approver.id)
        await self.engine.reopen(approval.workflow_id)
        return await self.orchestrator.resume(approval.workflow_id)

    async def reject(
        self, approval_id: str, approver: Principal, note: str | None = None
    ) -> OrchestratorResponse:
        """Reject an approval and end its workflow (rolled back unless it asked otherwise).

        Raises:
            AccessDeniedError: the approver lacks the role or the account, or asked itself.
            ConflictError: no such approval, or it is decided or expired.
        """
        await self._decidable(approval_id, approver)
        decided = await self.store.decide_approval(
            approval_id, ApprovalStatus.REJECTED, approver.id, note
        )
        log.info("approval.rejected", approval_id=approval_id, by=approver.id)
        return await self._end(decided, f"rejected by {approver.label}")

    async def wait(
        self, approval_id: str, principal: Principal, *, seconds: float, poll: float = 1.0
    ) -> ApprovalRecord:
        """The approval once decided (or as it is when ``seconds`` have passed)."""
        deadline = time.monotonic() + max(0.0, seconds)
        while True:
            approval = await self.get(approval_id, principal)
            if approval.status is not ApprovalStatus.PENDING or time.monotonic() >= deadline:
                return approval
            await asyncio.sleep(min(poll, max(0.0, deadline - time.monotonic())))

    async def expire_due(self) -> int:
        """Expire every PENDING approval past its time and end its workflow; how many."""
        now = self.now()
        pending = await self.store.list_approvals(status=ApprovalStatus.PENDING, limit=500)
        expired = 0
        for approval in pending:
            if approval.expires_at > now:
                continue
            try:
                decided = await self.store.decide_approval(
                    approval.id, ApprovalStatus.EXPIRED, None, "expired"
                )
            except ConflictError:
                continue  # decided meanwhile, by someone else
            await self._end(decided, f"expired at {approval.expires_at.isoformat()}")
            expired += 1
        return expired

    async def _decidable(self, approval_id: str, approver: Principal) -> ApprovalRecord:
        approval = await self.get(approval_id, approver)
        if approval.status is not ApprovalStatus.PENDING:
            raise ConflictError(
                f"Approval {approval_id} is {approval.status.value}, not PENDING",
                field="approval_id",
                status=approval.status.value,
            )
        if not approver.may_approve(approval.account_id):
            raise AccessDeniedError(
                f"{approver.label} may not approve writes on {approval.account_id}: that needs "
                "the approver or admin role for the account",
                principal=approver.id,
                account=approval.account_id,
            )
        if approver.id == approval.requested_by:
            raise AccessDeniedError(
                f"{approver.label} asked for this approval and cannot grant or reject it; "
                "another approver must",
                principal=approver.id,
            )
        return approval

    async def _end(self, approval: ApprovalRecord, why: str) -> OrchestratorResponse:
        record = await self.store.get_workflow(approval.workflow_id)
        if record is None or record.status is not WorkflowStatus.PENDING_APPROVAL:
            raise ConflictError(f"Workflow {approval.workflow_id} is not waiting for approval")
        error = PolicyViolationError(
            f"approval {approval.id} {why}: the held writes were not sent",
            limit="approval",
            approval_id=approval.id,
        ).to_dict()
        rollback = bool(record.request.get("options", {}).get("rollback_on_failure", True))
        if not rollback:
            await self.store.finish_workflow(record.id, WorkflowStatus.FAILED, error=error)
            return await self.orchestrator.answer(record.id)
        with acting_as(journaled_principal(record), record.id):
            await self.store.finish_workflow(record.id, WorkflowStatus.FAILED, error=error)
            await self.engine.rollback(
                record.id, workflow_prefix(record.account_id, record.request_id)
            )
        return await self.orchestrator.answer(record.id)
