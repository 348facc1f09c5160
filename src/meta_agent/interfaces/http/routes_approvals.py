"""Approvals: list, show, wait for, grant or reject the writes a policy held.

Any key may list and wait on the approvals of its accounts (an agent waits here); only a key
whose role is ``approver`` or ``admin`` for the account, and not the key that asked, may grant
or reject (403 otherwise). Granting answers with the workflow's outcome, as it carried on.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query
from fastapi.responses import JSONResponse

from meta_agent.interfaces.http.deps import Caller, State
from meta_agent.interfaces.http.schemas import (
    AUTH_RESPONSES,
    ApprovalList,
    ApprovalView,
    Decision,
    RequestOutcome,
    error_responses,
)
from meta_agent.store.journal import ApprovalStatus

router = APIRouter(responses=AUTH_RESPONSES, tags=["approvals"])
ApprovalId = Annotated[str, Path(description="the approval's id", max_length=64)]
MAX_WAIT = 60.0
_NOT_FOUND = error_responses(404)  # no such approval for this key's accounts
_DECIDED = error_responses(409)  # decided already, or expired


@router.get("/v1/approvals", summary="List approvals", response_model=ApprovalList)
async def list_approvals(
    key: Caller,
    state: State,
    status: Annotated[ApprovalStatus | None, Query(description="only this status")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Any:
    """Approvals of this key's accounts, newest first (expired ones are marked EXPIRED)."""
    found = await state.service.approvals(key.principal(), status=status, limit=limit)
    return {"data": found}


@router.get(
    "/v1/approvals/{approval_id}",
    summary="One approval",
    response_model=ApprovalView,
    responses=_NOT_FOUND,
)
async def show_approval(approval_id: ApprovalId, key: Caller, state: State) -> Any:
    """An approval with the exact writes it holds."""
    return await state.service.approval(approval_id, key.principal())


@router.get(
    "/v1/approvals/{approval_id}/wait",
    summary="Wait for a decision",
    response_model=ApprovalView,
    responses=_NOT_FOUND,
)
async def wait_approval(
    approval_id: ApprovalId,
    key: Caller,
    state: State,
    seconds: Annotated[float, Query(ge=0, le=MAX_WAIT, description="how long to wait")] = 30,
) -> Any:
    """The approval once decided, or still PENDING when ``seconds`` have passed."""
    return await state.service.wait_approval(approval_id, key.principal(), seconds=seconds)


@router.post(
    "/v1/approvals/{approval_id}/{verdict}",
    summary="Grant or reject an approval",
    response_model=RequestOutcome,
    responses={**_NOT_FOUND, **_DECIDED, **error_responses(413)},
)
async def decide(
    approval_id: ApprovalId,
    verdict: Annotated[
        Literal["approve", "reject"],
        Path(description="approve: send the held writes; reject: end the workflow"),
    ],
    key: Caller,
    state: State,
    decision: Annotated[Decision | None, Body()] = None,
) -> Any:
    """Decide the held writes (approver or admin key of the account, never the requester).

    Approving carries the workflow on and answers its outcome; rejecting ends it, rolled back
    unless the request said ``rollback_on_failure: false``.
    """
    note = decision.note if decision is not None else None
    act = state.service.approve if verdict == "approve" else state.service.reject
    response = await act(approval_id, key.principal(), note)
    return JSONResponse(response.model_dump(mode="json"))
