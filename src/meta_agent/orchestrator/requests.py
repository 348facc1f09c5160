"""What the ambient agent sends and gets back (specification §7, in pydantic v2).

An :class:`OrchestratorRequest` names an ``action`` and carries that action's ``data``, which
the action's workflow validates with its own model, so an error names the whole path
(``data.adsets[1].daily_budget``) and the fix. Credentials never travel in a request: they
are the service's configuration, and nothing in a request is a secret, so the journal can
keep requests whole.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from meta_agent.agents.validation import validate
from meta_agent.errors import RequestValidationError

ACTIONS = (
    "create_full_campaign",
    "create_campaign",
    "update_campaign",
    "update_creative",
    "get_insights",
    "performance_report",
    "optimize_campaign",
    "bulk",
)
Action = Literal[
    "create_full_campaign",
    "create_campaign",
    "update_campaign",
    "update_creative",
    "get_insights",
    "performance_report",
    "optimize_campaign",
    "bulk",
]
_ACCOUNT = re.compile(r"^(act_)?\d{1,20}$")
M = TypeVar("M", bound=BaseModel)


class RequestOptions(BaseModel):
    """How to run the request."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dry_run: bool = Field(
        default=False,
        description="validate the whole plan with Meta (validate_only); create nothing",
    )
    activate: bool = Field(
        default=False,
        description="set everything ACTIVE once all of it exists; where the account's policy "
        "asks for an approval, the workflow waits in PENDING_APPROVAL until an approver grants it",
    )
    rollback_on_failure: bool = Field(
        default=True, description="undo what was created when a step fails"
    )


class OrchestratorRequest(BaseModel):
    """One request from the ambient agent (or a person at the CLI)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    request_id: str = Field(
        default_factory=lambda: uuid.uuid4().hex,
        min_length=1,
        max_length=200,
        description="the caller's id for this request: sending it again returns the first result",
    )
    agent_id: str = Field(default="unknown", max_length=200)
    timestamp: datetime | None = None
    action: Action
    account_id: str | None = Field(default=None, description="the ad account, act_<digits>")
    data: dict[str, Any] = Field(default_factory=dict)
    options: RequestOptions = RequestOptions()

    @field_validator("account_id")
    @classmethod
    def _account(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not _ACCOUNT.match(value):
            raise ValueError("an ad account id is act_ followed by digits, e.g. act_1234567890")
        return value if value.startswith("act_") else f"act_{value}"

    @classmethod
    def parse(cls, payload: Mapping[str, Any]) -> OrchestratorRequest:
        """Validate a request as the ambient agent sent it.

        Raises:
            RequestValidationError: naming the field path and the fix.
        """
        if isinstance(payload, Mapping) and "credentials" in payload:
            raise RequestValidationError(
                "credentials: requests never carry credentials; configure the access token on "
                "the service (environment, token file or Vault) and remove this field",
                field="credentials",
            )
        return validate(cls, payload)

    def journal_form(self) -> dict[str, Any]:
        """The request as the journal keeps it (and compares it on a repeated request_id)."""
        return self.model_dump(mode="json", exclude={"timestamp", "agent_id"})

    @property
    def journal_id(self) -> str:
        """The id the journal keeps this request under (a dry run has its own)."""
        return self.request_id + (":dry-run" if self.options.dry_run else "")

    def require_account(self) -> str:
        """The ad account, which this action needs.

        Raises:
            RequestValidationError: no ``account_id``.
        """
        if self.account_id is None:
            raise RequestValidationError(
                f"account_id: {self.action} needs the ad account (act_<digits>)",
                field="account_id",
            )
        return self.account_id


class OrchestratorResponse(BaseModel):
    """The answer: the workflow's outcome, with its result or its error."""

    model_config = ConfigDict(frozen=True)

    request_id: str
    workflow_id: str | None
    action: str
    status: str
    dry_run: bool = False
    replayed: bool = Field(
        default=False, description="True when this request_id was seen before: nothing was redone"
    )
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        """True when the workflow completed."""
        return self.error is None
