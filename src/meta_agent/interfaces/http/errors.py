"""Every error the HTTP service answers, in one JSON shape, from one set of handlers.

``{"error": {"kind": ..., "message": ..., "field"?: ..., ...details}}``. The mapping:

==============================================  =====  ==========================================
error                                           HTTP   why
==============================================  =====  ==========================================
body/query/path validation (FastAPI, pydantic)  422    the caller's mistake; ``field`` names it
RequestValidationError, PolicyViolationError    422    the caller's mistake; ``field`` names it
ConflictError                                   409    the request_id is taken or still running
AccessDeniedError                               403    the key's principal lacks the account or action
other UsageError                                400    the caller's mistake
no API key, wrong key                           401    ``kind: unauthenticated``
key without the account or action               403    ``kind: forbidden``; names what is missing
unknown route, workflow, request or approval id  404    ``kind: not_found``
ConfigError                                     500    the operator's mistake, named
NotFoundError (Meta)                            404    the object does not exist or is not visible
InvalidParameterError (Meta)                    422    Meta refused the input (blame fields)
RateLimitedError (Meta)                         429    with ``Retry-After`` when Meta said
TransientError, TransportError (Meta)           503    try again later
other ApiError (auth, permission, version...)   502    Meta refused the service itself
anything else                                   500    generic message; ``error_id`` is logged
==============================================  =====  ==========================================

A workflow that ran and failed is not an HTTP error: it is a 200 whose body carries the
workflow's ``status`` and ``error`` (it ran; it failed).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError as BodyValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from meta_agent.agents.validation import fix, join_path
from meta_agent.errors import (
    AccessDeniedError,
    ApiError,
    ConfigError,
    ConflictError,
    InvalidParameterError,
    MetaAgentError,
    NotFoundError,
    PolicyViolationError,
    RateLimitedError,
    RequestValidationError,
    TransientError,
    TransportError,
    UnknownRecordError,
    UsageError,
)

log = structlog.get_logger("meta_agent.http")

# Most specific first: the first class an error is an instance of decides its status.
_STATUS: tuple[tuple[type[MetaAgentError], int], ...] = (
    (ConfigError, 500),
    (RequestValidationError, 422),
    (PolicyViolationError, 422),
    (ConflictError, 409),
    (AccessDeniedError, 403),
    (UnknownRecordError, 404),
    (UsageError, 400),
    (NotFoundError, 404),
    (InvalidParameterError, 422),
    (RateLimitedError, 429),
    (TransientError, 503),
    (TransportError, 503),
    (ApiError, 502),
)
_HTTP_KINDS = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
}


class HttpError(Exception):
    """An error the HTTP layer itself raises (auth, unknown ids): status, kind, details."""

    def __init__(self, status: int, kind: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.message = message
        self.details = details


def envelope(kind: str, message: str, **details: Any) -> dict[str, Any]:
    """The one error shape."""
    return {"error": {"kind": kind, "message": message, **details}}


def status_of(error: MetaAgentError) -> int:
    """The HTTP status for a domain error."""
    for cls, status in _STATUS:
        if isinstance(error, cls):
            return status
    return 500


def install(app: FastAPI) -> None:
    """Register the handlers that turn every exception into the one error shape."""
    app.add_exception_handler(HttpError, _http_error)
    app.add_exception_handler(MetaAgentError, _domain_error)
    app.add_exception_handler(BodyValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _starlette_error)
    app.add_exception_handler(Exception, _internal_error)


async def _http_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HttpError)
    headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
    body = envelope(error.kind, error.message, **error.details)
    return JSONResponse(body, status_code=error.status, headers=headers)


async def _domain_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, MetaAgentError)
    status = status_of(error)
    if status == 500 and not isinstance(error, ConfigError):
        return await _internal_error(request, error)
    headers = _retry_after(error)
    return JSONResponse({"error": error.to_dict()}, status, headers=headers)


async def _validation_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, BodyValidationError)
    problems = [(_field(item.get("loc", ())), _fix(item)) for item in error.errors()]
    field, fix = problems[0] if problems else ("request", "is not valid")
    body = envelope(
        RequestValidationError.kind,
        f"{field}: {fix}",
        field=field,
        problems=[f"{path}: {text}" for path, text in problems],
    )
    return JSONResponse(body, status_code=422)


async def _starlette_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)
    kind = _HTTP_KINDS.get(error.status_code, "http_error")
    return JSONResponse(envelope(kind, str(error.detail)), error.status_code, headers=error.headers)


async def _internal_error(request: Request, error: Exception) -> JSONResponse:
    error_id = uuid.uuid4().hex
    log.error(
        "http.error.internal",
        error_id=error_id,
        path=request.url.path,
        error_type=type(error).__name__,
        exc_info=error,
    )
    message = f"internal error; quote error_id {error_id} to the operator"
    return JSONResponse(envelope("internal_error", message, error_id=error_id), 500)


def _retry_after(error: MetaAgentError) -> dict[str, str] | None:
    if isinstance(error, RateLimitedError) and error.retry_after is not None:
        return {"Retry-After": str(max(1, math.ceil(error.retry_after)))}
    return None


def _field(loc: Sequence[Any]) -> str:
    """A pydantic location as a dotted path, without FastAPI's ``body``/``query`` root."""
    parts = list(loc)
    if parts and parts[0] in {"body", "query", "path", "header"}:
        parts = parts[1:]
    return join_path(*parts) or "body"


def _fix(item: Mapping[str, Any]) -> str:
    if item.get("type") == "json_invalid":
        return "is not valid JSON; send a JSON object"
    return fix(item)
