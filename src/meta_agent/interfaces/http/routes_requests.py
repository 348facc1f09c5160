"""Requests and the workflow journal: submit, status, list, journal, resume, roll back."""

from __future__ import annotations

from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Body, Path, Query
from fastapi.responses import JSONResponse

from meta_agent.interfaces.http.auth import RESUME, ROLLBACK, ApiKey
from meta_agent.interfaces.http.deps import (
    Caller,
    HttpState,
    State,
    authorize_request,
    require_account,
    require_action,
    require_visible,
    visible,
)
from meta_agent.interfaces.http.errors import HttpError
from meta_agent.interfaces.http.schemas import (
    AUTH_RESPONSES,
    OUTCOME_EXAMPLE,
    SUBMIT_EXAMPLES,
    Accepted,
    RequestOutcome,
    SubmitBody,
    WorkflowJournal,
    WorkflowList,
    WorkflowSummary,
)
from meta_agent.orchestrator.requests import OrchestratorRequest, OrchestratorResponse
from meta_agent.store.journal import WorkflowRecord, WorkflowStatus

router = APIRouter(responses=AUTH_RESPONSES)
DRY_RUN = ":dry-run"
MAX_LIST = 500
WorkflowId = Annotated[str, Path(description="the workflow's id", max_length=200)]


@router.post(
    "/v1/requests",
    tags=["requests"],
    summary="Submit a request",
    response_model=RequestOutcome,
    responses={
        200: {"content": {"application/json": {"example": OUTCOME_EXAMPLE}}},
        202: {"model": Accepted, "description": "accepted; runs in the background"},
        409: {"description": "the request_id is running (resume it or roll it back)"},
    },
)
async def submit(
    body: Annotated[SubmitBody, Body(openapi_examples=SUBMIT_EXAMPLES)],
    key: Caller,
    state: State,
    run_async: Annotated[
        bool, Query(alias="async", description="run in the background and answer 202")
    ] = False,
) -> Any:
    """Run one request: synchronously (200 with the outcome), or in the background (202).

    A request runs in the background with ``?async=true`` or a ``callback_url``; the outcome is
    then at ``GET /v1/requests/{request_id}`` and POSTed, signed, to the callback URL. Sending
    a ``request_id`` again returns the first outcome and does nothing. A workflow that ran and
    failed is a 200 whose ``status`` and ``error`` say so.
    """
    request = body.to_request()
    structlog.contextvars.bind_contextvars(request_id=request.request_id, action=request.action)
    await authorize_request(key, state.service, request)
    if run_async or body.callback_url is not None:
        return _accept(state, request, body.callback_url)
    response = await state.service.execute(request)
    _bind(response)
    return JSONResponse(response.model_dump(mode="json"))


@router.get(
    "/v1/requests/{request_id}",
    tags=["requests"],
    summary="A request's status and outcome",
    response_model=RequestOutcome,
)
async def request_status(
    request_id: Annotated[str, Path(max_length=200)], key: Caller, state: State
) -> Any:
    """Where a request stands: ACCEPTED, RUNNING, or its outcome (by the caller's request id)."""
    structlog.contextvars.bind_contextvars(request_id=request_id)
    record = await _by_request(state, request_id)
    if record is not None:
        require_visible(key, record)
        return _outcome(record)
    job = state.jobs.get(request_id)
    if job is None:
        raise HttpError(404, "not_found", f"no request {request_id!r}", field="request_id")
    require_account(key, job.request.account_id)
    if not key.allows_action(job.request.action):
        require_action(key, "read")
    return job.view()


@router.get(
    "/v1/workflows", tags=["workflows"], summary="List workflows", response_model=WorkflowList
)
async def list_workflows(
    key: Caller,
    state: State,
    status: Annotated[WorkflowStatus | None, Query(description="only this status")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIST)] = 50,
) -> WorkflowList:
    """Journaled workflows this key may see, newest first (request bodies left out)."""
    fetch = limit if key.all_accounts and key.allows_action("read") else MAX_LIST
    records = await state.service.workflows(status=status, limit=fetch)
    shown = [WorkflowSummary.of(record) for record in records if visible(key, record)]
    return WorkflowList(data=shown[:limit])


@router.get(
    "/v1/workflows/{workflow_id}",
    tags=["workflows"],
    summary="A workflow's journal",
    response_model=WorkflowJournal,
)
async def workflow_journal(workflow_id: WorkflowId, key: Caller, state: State) -> Any:
    """The workflow, every step it took (in order) and every object it created."""
    await _visible_workflow(state, key, workflow_id)
    return await state.service.workflow(workflow_id)


@router.post(
    "/v1/workflows/{workflow_id}/resume",
    tags=["workflows"],
    summary="Resume an interrupted workflow",
    response_model=RequestOutcome,
)
async def resume(workflow_id: WorkflowId, key: Caller, state: State) -> Any:
    """Carry on a RUNNING workflow from its journal (409 when it has finished)."""
    record = await _workflow(state, workflow_id)
    require_action(key, RESUME)
    require_account(key, record.account_id)
    response = await state.service.resume(workflow_id)
    return JSONResponse(response.model_dump(mode="json"))


@router.post(
    "/v1/workflows/{workflow_id}/rollback",
    tags=["workflows"],
    summary="Roll a workflow back",
    response_model=RequestOutcome,
)
async def rollback(workflow_id: WorkflowId, key: Caller, state: State) -> Any:
    """Undo what an interrupted or failed workflow created (409 when it completed)."""
    record = await _workflow(state, workflow_id)
    require_action(key, ROLLBACK)
    require_account(key, record.account_id)
    response = await state.service.rollback(workflow_id)
    return JSONResponse(response.model_dump(mode="json"))


def _accept(state: HttpState, request: OrchestratorRequest, callback_url: str | None) -> Any:
    if callback_url is not None and not state.callbacks_enabled:
        raise HttpError(
            422,
            "request_validation_error",
            "callback_url: this service has no webhook secret (service.webhook_secret), so it "
            "cannot sign callbacks; poll GET /v1/requests/{request_id} with ?async=true instead",
            field="callback_url",
        )
    if state.jobs.running(request.request_id):
        raise HttpError(
            409,
            "conflict",
            f"request_id {request.request_id!r} is already running here; poll its status",
            field="request_id",
        )
    job = state.jobs.submit(request, callback_url)
    status_url = f"/v1/requests/{job.request_id}"
    accepted = Accepted(
        request_id=job.request_id,
        action=request.action,
        status_url=status_url,
        callback_url=callback_url,
    )
    return JSONResponse(accepted.model_dump(), status_code=202, headers={"Location": status_url})


async def _by_request(state: HttpState, request_id: str) -> WorkflowRecord | None:
    store = state.service.parts.store
    return await store.find_by_request(request_id) or await store.find_by_request(
        request_id + DRY_RUN
    )


async def _workflow(state: HttpState, workflow_id: str) -> WorkflowRecord:
    structlog.contextvars.bind_contextvars(workflow_id=workflow_id)
    record = await state.service.parts.store.get_workflow(workflow_id)
    if record is None:
        raise HttpError(404, "not_found", f"no workflow {workflow_id!r}", field="workflow_id")
    return record


async def _visible_workflow(state: HttpState, key: ApiKey, workflow_id: str) -> WorkflowRecord:
    record = await _workflow(state, workflow_id)
    require_visible(key, record)
    return record


def _outcome(record: WorkflowRecord) -> RequestOutcome:
    completed = record.status is WorkflowStatus.COMPLETED
    return RequestOutcome(
        request_id=record.request_id.removesuffix(DRY_RUN),
        workflow_id=record.id,
        action=record.action,
        status=record.status.value,
        dry_run=record.request_id.endswith(DRY_RUN),
        result=record.result,
        error=None if completed else record.error,
    )


def _bind(response: OrchestratorResponse) -> None:
    structlog.contextvars.bind_contextvars(
        request_id=response.request_id, workflow_id=response.workflow_id
    )
