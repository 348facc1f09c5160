"""What every route depends on: the service, the caller's key, and what that key may do."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

import structlog
from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from meta_agent.interfaces.http.auth import READ, ApiKey, ApiKeyStore
from meta_agent.interfaces.http.errors import HttpError
from meta_agent.interfaces.http.jobs import Jobs
from meta_agent.orchestrator.requests import OrchestratorRequest
from meta_agent.orchestrator.workflows.bulk import item_account
from meta_agent.service import MetaAgentService
from meta_agent.store.journal import WorkflowRecord

# Actions whose data names an object by id that the orchestrator does not tie to the account.
_OBJECT_ACTIONS = frozenset({"get_insights", "performance_report"})

_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer <API key>")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="X-API-Key: <API key>")


@dataclass
class HttpState:
    """What the app holds: the facade, the accepted keys, the background jobs."""

    service: MetaAgentService
    keys: ApiKeyStore
    jobs: Jobs
    callbacks_enabled: bool
    metrics_enabled: bool = True
    sync_wait: float = 30.0
    """How long a synchronous request is waited for before it is answered 202."""


def http_state(request: Request) -> HttpState:
    """The app's state."""
    state: HttpState = request.app.state.http
    return state


State = Annotated[HttpState, Depends(http_state)]


async def caller(
    state: State,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    header: Annotated[str | None, Depends(_header)],
) -> ApiKey:
    """The API key the request carries (the secret never leaves this function).

    Raises:
        HttpError: 401 when no key is sent or the key is not valid.
    """
    plaintext = bearer.credentials if bearer is not None else header
    if not plaintext:
        raise HttpError(
            401,
            "unauthenticated",
            "send an API key: 'Authorization: Bearer <key>' or 'X-API-Key: <key>'",
        )
    key = await asyncio.to_thread(state.keys.authenticate, plaintext)
    if key is None:
        raise HttpError(401, "unauthenticated", "the API key is not valid (unknown or revoked)")
    structlog.contextvars.bind_contextvars(api_key_id=key.id)
    return key


Caller = Annotated[ApiKey, Depends(caller)]


def require_action(key: ApiKey, action: str) -> None:
    """Refuse a key that may not perform ``action``.

    Raises:
        HttpError: 403 naming the action.
    """
    if not key.allows_action(action):
        raise HttpError(
            403,
            "forbidden",
            f"this API key ({key.name}) may not perform {action}; its actions are "
            f"{', '.join(key.actions)}",
            missing={"action": action},
        )


def require_account(key: ApiKey, account_id: str | None) -> None:
    """Refuse a key that may not act on ``account_id``.

    Raises:
        HttpError: 403 naming the account (or asking for one, for a limited key).
    """
    if key.allows_account(account_id):
        return
    if account_id is None:
        raise HttpError(
            403,
            "forbidden",
            f"this API key ({key.name}) is limited to ad accounts {', '.join(key.accounts)}; "
            "name the account_id",
            field="account_id",
            missing={"account": None},
        )
    raise HttpError(
        403,
        "forbidden",
        f"this API key ({key.name}) may not act on ad account {account_id}; its accounts are "
        f"{', '.join(key.accounts)}",
        missing={"account": account_id},
    )


def require_visible(key: ApiKey, record: WorkflowRecord) -> None:
    """Refuse a key that may not see ``record`` (its account, and ``read`` or its action).

    Raises:
        HttpError: 403 naming what is missing.
    """
    require_account(key, record.account_id)
    if not key.allows_action(record.action):
        require_action(key, READ)


def visible(key: ApiKey, record: WorkflowRecord) -> bool:
    """Whether ``key`` may see ``record``."""
    return key.allows_account(record.account_id) and (
        key.allows_action(READ) or key.allows_action(record.action)
    )


async def owner(service: MetaAgentService, object_id: str) -> str:
    """The ad account an object belongs to (an account is its own).

    Raises:
        NotFoundError: Meta has no such object (or this service cannot see it).
    """
    if object_id.startswith("act_"):
        return object_id
    body = await service.parts.graph.get(object_id, {"fields": "account_id"})
    account = str(body.get("account_id", "")) if isinstance(body, Mapping) else ""
    return account if account.startswith("act_") else f"act_{account}"


async def require_object(key: ApiKey, service: MetaAgentService, object_id: str) -> None:
    """Refuse a key limited to accounts when ``object_id`` lies outside them.

    Raises:
        HttpError: 403 naming the object's account.
    """
    if not key.all_accounts:
        require_account(key, await owner(service, object_id))


async def authorize_request(
    key: ApiKey, service: MetaAgentService, request: OrchestratorRequest
) -> None:
    """Refuse a request (or any item of a bulk) outside the key's accounts and actions.

    Raises:
        HttpError: 403 naming the first missing account or action.
    """
    for action, account_id, data in _scopes(request):
        require_action(key, action)
        if action != "bulk" or account_id is not None:  # a bulk's account is only a default
            require_account(key, account_id)
        object_id = data.get("object_id")
        if action in _OBJECT_ACTIONS and isinstance(object_id, str):
            await require_object(key, service, object_id)


def _scopes(request: OrchestratorRequest) -> Iterator[tuple[str, str | None, Mapping[str, Any]]]:
    """``(action, account_id, data)`` of the request and, for a bulk, of each item."""
    yield request.action, request.account_id, request.data
    if request.action != "bulk":
        return
    items = request.data.get("requests")
    for index, item in enumerate(items if isinstance(items, list) else []):
        action = item.get("action") if isinstance(item, Mapping) else None
        if not isinstance(item, Mapping) or not isinstance(action, str):
            continue  # the orchestrator refuses a malformed item before running anything
        data = item.get("data")
        yield (
            action,
            item_account(request.account_id, item, index),
            data if isinstance(data, Mapping) else {},
        )
