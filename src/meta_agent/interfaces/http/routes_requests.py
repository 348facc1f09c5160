"""Requests and the workflow journal: submit, status, list, journal, resume, roll back, undo."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any
from urllib.parse import quote

import structlog
from fastapi import APIRouter, Body, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from meta_agent.interfaces.http.auth import RESUME, ROLLBACK, ApiKey
from meta_agent.interfaces.http.deps import (
    Caller,
    HttpState,
    State,
    authorize_request,
    require_action,
    require_visible,
    visible,
)
from meta_agent.interfaces.http.errors import HttpError
from meta_agent.interfaces.http.schemas import (
    META_STATUSES,
    OUTCOME_EXAMPLE,
    SUBMIT_EXAMPLES,
    Accepted,
    RequestOutcome,
    SubmitBody,
    WorkflowJournal,
    WorkflowList,
    WorkflowSummary,
    error_responses,
)
from meta_agent.interfaces.http.webhooks import check_callback_url
from meta_agent.orchestrator.requests import OrchestratorRequest, OrchestratorResponse
from meta_agent.store.journal import WorkflowRecord, WorkflowStatus

router = APIRouter(responses=error_responses(401, 422))
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
        202: {
            "model": Accepted,
            "description": "runs in the background (asked for, or still running after "
            "service.sync_wait_seconds); poll the Location",
            "headers": {"Location": {"description": "GET this for the outcome", "schema": {}}},
        },
        **error_responses(400, 403, 409, 413, *META_STATUSES),
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
    then at ``GET /v1/requests/{request_id}`` and POSTed, signed, to the callback URL. A
    synchronous request still running after ``service.sync_wait_seconds`` (30 s by default) is
    answered the same 202, with its ``workflow_id``, and carries on. Sending a ``request_id``
    again returns the first outcome and does nothing. A workflow that ran and failed is a 200
    whose ``status`` and ``error`` say so.

    Rules across fields (each refusal is a 422 naming the field): ``data`` is validated
    against the ``action`` (``create_full_campaign``: ``campaign``, ``adsets``, ``ads``;
    ``get_insights``: the insights query; ...); each image gives exactly one of ``url`` or
    ``data`` (base64; ``path`` is refused over HTTP), at most 30 MB and 36 megapixels; an ad
    set has ``daily_budget`` or ``lifetime_budget`` (with ``end_time``), at least Meta's
    floor in the account's currency; every ``adset_ref`` and ``image_ref`` names an ad set
    or image of the same request; ``callback_url`` needs the service's webhook secret.
    """
    request = body.to_request()
    structlog.contextvars.bind_contextvars(request_id=request.request_id, action=request.action)
    await authorize_request(key, state.service, request)
    if run_async or body.callback_url is not None:
        await check_callback_url(state.jobs.sender, body.callback_url)
        return _accept(state, key, request, body.callback_url)
    running = state.jobs.start(request, key.principal())
    await asyncio.wait({running}, timeout=state.sync_wait)
    if not running.done():
        return await _still_running(state, key, request, running)
    response = running.result()
    _bind(response)
    return JSONResponse(response.model_dump(mode="json"))


@router.get(
    "/v1/requests/{request_id}",
    tags=["requests"],
    summary="A request's status and outcome",
    response_model=RequestOutcome,
    responses=error_responses(403, 404),
)
async def request_status(
    request_id: Annotated[str, Path(max_length=200)], key: Caller, state: State
) -> Any:
    """Where a request stands: ACCEPTED, RUNNING, or its outcome (by the caller's request id)."""
    structlog.contextvars.bind_contextvars(request_id=request_id)
    record = await _by_request(state, request_id)
    if record is not None and not key.allows_account(record.account_id):
        record = None  # another account's workflow: unknown to this caller, not forbidden
    if record is not None:
        require_visible(key, record)
        return _outcome(record)
    job = state.jobs.get(request_id)
    if job is None or not key.allows_account(job.request.account_id):
        raise HttpError(404, "not_found", f"no request {request_id!r}", field="request_id")
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
    responses=error_responses(403, 404),
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
    responses=error_responses(400, 403, 409, *META_STATUSES),
)
async def resume(workflow_id: WorkflowId, key: Caller, state: State) -> Any:
    """Carry on a RUNNING workflow from its journal (409 when it has finished)."""
    await _owned_workflow(state, key, workflow_id)
    require_action(key, RESUME)
    response = await state.service.resume(workflow_id)
    return JSONResponse(response.model_dump(mode="json"))


@router.post(
    "/v1/workflows/{workflow_id}/rollback",
    tags=["workflows"],
    summary="Roll a workflow back",
    response_model=RequestOutcome,
    responses=error_responses(400, 403, 409, *META_STATUSES),
)
async def rollback(workflow_id: WorkflowId, key: Caller, state: State) -> Any:
    """Undo what an interrupted or failed workflow created (409 when it completed)."""
    await _owned_workflow(state, key, workflow_id)
    require_action(key, ROLLBACK)
    response = await state.service.rollback(workflow_id)
    return JSONResponse(response.model_dump(mode="json"))


class UndoBody(BaseModel):
    """What ``POST /v1/workflows/{id}/undo`` is asked to do."""

    model_config = ConfigDict(extra="forbid")

    dry_run: bool = Field(
        default=True, description="only say what would be deleted or restored (the default)"
    )
    force: bool = Field(
        default=False,
        description="also undo objects that changed since the workflow finished (a dry run "
        "lists them under changed_since)",
    )


@router.post(
    "/v1/workflows/{workflow_id}/undo",
    tags=["workflows"],
    summary="Undo a completed workflow",
    responses=error_responses(400, 403, 409, 413, *META_STATUSES),
)
async def undo(
    workflow_id: WorkflowId,
    key: Caller,
    state: State,
    body: Annotated[UndoBody | None, Body()] = None,
) -> Any:
    """Delete what a COMPLETED workflow created and restore what it changed.

    A dry run by default: every object with its action (delete, restore, none when already
    gone) and, for objects edited since the workflow finished, each changed field. Send
    ``{"dry_run": false}`` to undo; objects changed since make that a 409 naming them unless
    ``"force": true``. The answer is then the workflow's outcome (ROLLED_BACK, or
    ROLLBACK_FAILED naming what is left) with the plan under ``undo``. Needs the rollback
    permission.
    """
    await _owned_workflow(state, key, workflow_id)
    require_action(key, ROLLBACK)
    asked = body or UndoBody()
    answer = await state.service.undo(workflow_id, dry_run=asked.dry_run, force=asked.force)
    return JSONResponse(answer)


def _accept(
    state: HttpState, key: ApiKey, request: OrchestratorRequest, callback_url: str | None
) -> Any:
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
    job = state.jobs.submit(request, callback_url, key.principal())
    accepted = Accepted(
        request_id=job.request_id,
        action=request.action,
        status_url=_status_url(job.request_id),
        callback_url=callback_url,
    )
    return _answer_202(accepted)


async def _still_running(
    state: HttpState,
    key: ApiKey,
    request: OrchestratorRequest,
    running: asyncio.Task[OrchestratorResponse],
) -> Any:
    """202 for a synchronous request that outlasted ``service.sync_wait_seconds``."""
    job = state.jobs.adopt(request, running, key.principal())
    record = await _by_request(state, request.request_id)
    accepted = Accepted(
        request_id=job.request_id,
        workflow_id=record.id if record is not None else None,
        action=request.action,
        status=record.status.value if record is not None else "ACCEPTED",
        status_url=_status_url(job.request_id),
    )
    return _answer_202(accepted)


def _status_url(request_id: str) -> str:
    """Where to poll: the id percent-encoded, as any id may hold what a URL cannot."""
    return f"/v1/requests/{quote(request_id, safe='')}"


def _answer_202(accepted: Accepted) -> JSONResponse:
    headers = {"Location": accepted.status_url}
    return JSONResponse(accepted.model_dump(), status_code=202, headers=headers)


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


async def _owned_workflow(state: HttpState, key: ApiKey, workflow_id: str) -> WorkflowRecord:
    record = await _workflow(state, workflow_id)
    if not key.allows_account(record.account_id):
        # Another account's workflow is unknown to this key, not merely forbidden.
        raise HttpError(404, "not_found", f"no workflow {workflow_id!r}", field="workflow_id")
    return record


async def _visible_workflow(state: HttpState, key: ApiKey, workflow_id: str) -> WorkflowRecord:
    record = await _owned_workflow(state, key, workflow_id)
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
