"""What the HTTP service reads and writes, with the examples its OpenAPI document shows."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from meta_agent.orchestrator.requests import OrchestratorRequest
from meta_agent.store.journal import WorkflowRecord


class SubmitBody(OrchestratorRequest):
    """An orchestrator request, plus where to send the outcome when it is run in the background."""

    callback_url: str | None = Field(
        default=None,
        max_length=2000,
        description="POST the response here when done (HMAC-signed); implies asynchronous",
        json_schema_extra={"pattern": "^https?://"},
    )

    @field_validator("callback_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("a callback URL starts with https:// (or http://)")
        return value

    def to_request(self) -> OrchestratorRequest:
        """The orchestrator's request, without the HTTP-only fields."""
        return OrchestratorRequest.model_validate(self.model_dump(exclude={"callback_url"}))


class ErrorDetail(BaseModel):
    """The error object: what kind, what happened, and which field when the caller can fix it."""

    model_config = ConfigDict(extra="allow")

    kind: str
    message: str
    field: str | None = None


class ErrorBody(BaseModel):
    """Every error response has this shape."""

    error: ErrorDetail


class RequestOutcome(BaseModel):
    """A request's outcome (or where it stands): the orchestrator's response."""

    request_id: str
    workflow_id: str | None = None
    action: str
    status: str = Field(
        description="ACCEPTED, RUNNING, COMPLETED, FAILED, ROLLING_BACK, ROLLED_BACK, "
        "ROLLBACK_FAILED, PENDING_APPROVAL (result.approval holds the id and the exact writes "
        "waiting; an approver grants them at POST /v1/approvals/{id}/approve), or REJECTED / "
        "ERROR when it was refused before a workflow began"
    )
    dry_run: bool = False
    replayed: bool = False
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None


class Accepted(BaseModel):
    """A request accepted to run in the background (asked for, or it outlasted the sync wait)."""

    request_id: str
    workflow_id: str | None = Field(
        default=None, description="the journaled workflow, once it has begun"
    )
    action: str
    status: str = Field(
        default="ACCEPTED", description="ACCEPTED (not begun) or RUNNING (in the journal)"
    )
    status_url: str = Field(description="GET this for the outcome (also the Location header)")
    callback_url: str | None = None


class WorkflowSummary(BaseModel):
    """One journaled workflow, without its request body."""

    id: str
    request_id: str
    action: str
    account_id: str | None
    status: str
    created_at: str
    updated_at: str
    error: dict[str, Any] | None = None

    @classmethod
    def of(cls, record: WorkflowRecord) -> WorkflowSummary:
        """The summary of a journal record."""
        return cls(
            id=record.id,
            request_id=record.request_id,
            action=record.action,
            account_id=record.account_id,
            status=record.status.value,
            created_at=record.created_at.isoformat(),
            updated_at=record.updated_at.isoformat(),
            error=record.error,
        )


class WorkflowList(BaseModel):
    """Workflows, newest first."""

    data: list[WorkflowSummary]


class WorkflowJournal(BaseModel):
    """One workflow as journaled: the record, every step, and what it created."""

    workflow: dict[str, Any]
    steps: list[dict[str, Any]]
    resources: list[dict[str, Any]]


class InsightsRows(BaseModel):
    """Insights rows as Meta returned them, parsed."""

    data: list[dict[str, Any]]


FULL_CAMPAIGN_EXAMPLE: dict[str, Any] = {
    "request_id": "launch-2026-winter-shoes",
    "agent_id": "ambient-agent",
    "action": "create_full_campaign",
    "account_id": "act_1234567890",
    "data": {
        "images": [{"name": "hero", "url": "https://cdn.example.com/winter-shoes-1200.jpg"}],
        "campaign": {"name": "Winter shoes", "objective": "OUTCOME_TRAFFIC"},
        "adsets": [
            {
                "name": "Adults IN",
                "optimization_goal": "LINK_CLICKS",
                "billing_event": "IMPRESSIONS",
                "daily_budget": 50000,
                "targeting": {"countries": ["IN"], "age_min": 18, "age_max": 45},
            }
        ],
        "ads": [
            {
                "name": "Hero ad",
                "adset_ref": "Adults IN",
                "creative": {
                    "kind": "image",
                    "name": "Hero creative",
                    "page_id": "102030405060708",
                    "image_ref": "hero",
                    "link": "https://example.com/shoes",
                    "message": "Run further.",
                    "call_to_action": "SHOP_NOW",
                },
            }
        ],
    },
    "options": {"dry_run": False, "activate": False},
}

INSIGHTS_REQUEST_EXAMPLE: dict[str, Any] = {
    "request_id": "insights-weekly-1",
    "action": "get_insights",
    "account_id": "act_1234567890",
    "data": {
        "level": "campaign",
        "object_id": "act_1234567890",
        "date_preset": "last_7d",
        "fields": ["impressions", "clicks", "spend"],
    },
}

SUBMIT_EXAMPLES: dict[str, Any] = {
    "create_full_campaign": {
        "summary": "Launch a campaign: images, ad sets, creatives and ads",
        "description": "Budgets are integers in the currency's minor unit (50000 = ₹500.00).",
        "value": FULL_CAMPAIGN_EXAMPLE,
    },
    "create_full_campaign_async": {
        "summary": "The same, in the background, with a signed callback",
        "value": {**FULL_CAMPAIGN_EXAMPLE, "callback_url": "https://agent.example.com/hooks/meta"},
    },
    "get_insights": {
        "summary": "Read insights as a journaled request",
        "value": INSIGHTS_REQUEST_EXAMPLE,
    },
}

INSIGHTS_EXAMPLES: dict[str, Any] = {
    "campaigns_last_7d": {
        "summary": "Each campaign of an account over the last 7 days",
        "value": {
            "level": "campaign",
            "object_id": "act_1234567890",
            "date_preset": "last_7d",
            "fields": ["campaign_id", "impressions", "clicks", "spend"],
        },
    },
    "by_age_gender": {
        "summary": "One campaign by age and gender over a date range",
        "value": {
            "level": "campaign",
            "object_id": "120210000000000001",
            "time_range": {"since": "2026-01-01", "until": "2026-01-31"},
            "breakdowns": ["age", "gender"],
        },
    },
}

OUTCOME_EXAMPLE: dict[str, Any] = {
    "request_id": "launch-2026-winter-shoes",
    "workflow_id": "b28cf0fb60fc4c24981286f0ef6cb1a9",
    "action": "create_full_campaign",
    "status": "COMPLETED",
    "dry_run": False,
    "replayed": False,
    "result": {
        "account_id": "act_1234567890",
        "currency": "INR",
        "campaign": {"id": "120210000000000001", "name": "Winter shoes", "status": "PAUSED"},
        "adsets": [{"id": "120210000000000002", "name": "Adults IN", "status": "PAUSED"}],
        "ads": [{"id": "120210000000000004", "name": "Hero ad", "status": "PAUSED"}],
    },
    "error": None,
}


def error_example(kind: str, message: str, **details: Any) -> dict[str, Any]:
    """An OpenAPI response entry showing the error shape."""
    return {
        "model": ErrorBody,
        "content": {
            "application/json": {
                "example": {"error": {"kind": kind, "message": message, **details}}
            }
        },
    }


def _error(description: str, kind: str, message: str, **details: Any) -> dict[str, Any]:
    return {"description": description, **error_example(kind, message, **details)}


# Every error status the service answers, with when and an example; routes pick theirs.
ERROR_RESPONSES: dict[int, dict[str, Any]] = {
    400: _error(
        "the request cannot be used as sent (a malformed Content-Length; a usage error Meta "
        "or the orchestrator named)",
        "bad_request",
        "Content-Length 'ten' is not a number of bytes",
        field="Content-Length",
    ),
    401: _error(
        "no API key, or one that is unknown or revoked",
        "unauthenticated",
        "send an API key: Authorization: Bearer <key>",
    ),
    403: _error(
        "the key may not act on this ad account, or perform this action; `missing` names it",
        "forbidden",
        "this API key may not act on ad account act_9876543210",
        missing={"account": "act_9876543210"},
    ),
    404: _error(
        "no such request, workflow or approval for this key, or Meta has no such object",
        "not_found",
        "no workflow 'b28cf0fb60fc4c24981286f0ef6cb1a9'",
        field="workflow_id",
    ),
    409: _error(
        "the request_id is running, or the workflow has finished (it cannot be resumed or "
        "rolled back)",
        "conflict",
        "request_id 'launch-2026-winter-shoes' is already running here; poll its status",
        field="request_id",
    ),
    413: _error(
        "the body is over service.max_body_bytes (refused from Content-Length, or as it "
        "streams); send images by url",
        "too_large",
        "the request body is over 50331648 bytes (48 MiB, service.max_body_bytes)",
        limit_bytes=50331648,
    ),
    422: _error(
        "the caller's mistake, with `field` naming it: a body, path or query value that does "
        "not validate, a cross-field rule (see the route's description), a JSON body nested "
        "over service.max_json_depth, a policy refusal, or an input Meta refused",
        "request_validation_error",
        "data.adsets[0].daily_budget: is required; add it",
        field="data.adsets[0].daily_budget",
    ),
    429: _error(
        "Meta rate-limited the call; `Retry-After` says when to try again when Meta said",
        "rate_limited",
        "(#17) User request limit reached",
    ),
    502: _error(
        "Meta refused the service itself (its token, permissions or API version)",
        "auth",
        "(#190) Error validating access token",
    ),
    503: _error(
        "Meta (or the network to it) failed for now; try again later",
        "transient",
        "(#2) Service temporarily unavailable",
    ),
}
META_STATUSES = (404, 422, 429, 502, 503)
"""What a route that calls Meta may also answer: Meta's refusals, mapped."""


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI entries of ``statuses``, from :data:`ERROR_RESPONSES`."""
    return {status: ERROR_RESPONSES[status] for status in sorted(set(statuses))}


AUTH_RESPONSES: dict[int | str, dict[str, Any]] = error_responses(401, 403, 422)


class ApprovalView(BaseModel):
    """Writes the policy held, waiting for an approver (``diff``: exactly what will be sent)."""

    id: str
    workflow_id: str | None = None
    status: str = Field(description="PENDING, APPROVED, REJECTED or EXPIRED")
    account_id: str
    requested_by: str = Field(description="the id of the principal (API key) that asked")
    rules: list[str] = Field(description="the policy settings that hold these writes")
    diff: list[dict[str, Any]]
    created_at: str
    expires_at: str
    decided_by: str | None = None
    note: str | None = None


class ApprovalList(BaseModel):
    """Approvals of the caller's accounts, newest first."""

    data: list[ApprovalView]


class Decision(BaseModel):
    """An approver's decision, with an optional note kept in the journal."""

    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, max_length=2000)
