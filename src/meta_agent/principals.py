"""Who a write goes out for: principals, their accounts and roles, and the one account form.

Every request runs on behalf of a :class:`Principal`: an API key of the HTTP service or the
MCP server, or the CLI's local operator. Its accounts and actions bound what it may do, and
its role says whether it may grant approvals. The principal travels with the workflow (the
journal keeps it), and is bound to the running task with :func:`acting_as`, so the write gate
sees it however deep the write is made, a resume or a webhook included.

Account ids are normalised once, by :func:`normalize_account`: authorisation and execution
read the same value, so a null, an empty string or a missing ``act_`` can never be read one
way by the check and another by the write.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from meta_agent.errors import RequestValidationError

ALL = "*"
_ACCOUNT = re.compile(r"^(act_)?(\d{1,20})$")


class Role(StrEnum):
    """What a principal is for: ``agent`` acts, ``approver`` also approves, ``admin`` all."""

    AGENT = "agent"
    APPROVER = "approver"
    ADMIN = "admin"


class Principal(BaseModel):
    """On whose behalf a request runs: its accounts, its actions and its role."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=200, description="key id, or 'local' for the CLI")
    name: str = Field(default="", max_length=200)
    role: Role = Role.AGENT
    accounts: frozenset[str] = frozenset({ALL})
    actions: frozenset[str] = frozenset({ALL})

    @property
    def all_accounts(self) -> bool:
        """True when the principal is not limited to named accounts."""
        return ALL in self.accounts

    def allows_account(self, account_id: str | None) -> bool:
        """Whether the principal may act on ``account_id`` (None: only an all-accounts one)."""
        if self.all_accounts:
            return True
        return account_id is not None and account_id in self.accounts

    def allows_action(self, action: str) -> bool:
        """Whether the principal may perform ``action``."""
        return ALL in self.actions or action in self.actions

    def may_approve(self, account_id: str) -> bool:
        """Whether this principal may grant approvals for ``account_id``."""
        return self.role in (Role.APPROVER, Role.ADMIN) and self.allows_account(account_id)

    @property
    def label(self) -> str:
        """How logs and messages name it (never a secret)."""
        return f"{self.name} ({self.id})" if self.name else self.id

    def journal_form(self) -> dict[str, Any]:
        """As the journal keeps it."""
        return self.model_dump(mode="json")


LOCAL_OPERATOR = Principal(id="local", name="local operator", role=Role.ADMIN)
"""The person at the CLI of this machine: every account the token reaches, every action."""


def normalize_account(value: object, *, field: str = "account_id") -> str | None:
    """``act_<digits>`` for any accepted spelling; None for missing, null or empty.

    Raises:
        RequestValidationError: not an ad account id (named by ``field``).
    """
    if value is None or value == "":
        return None
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise RequestValidationError(
            f"{field}: an ad account id is a string, act_ followed by digits", field=field
        )
    match = _ACCOUNT.match(str(value).strip())
    if match is None:
        raise RequestValidationError(
            f"{field}: {value!r} is not an ad account id; use act_ followed by digits, e.g. "
            "act_1234567890",
            field=field,
        )
    return f"act_{match.group(2)}"


def normalize_accounts(values: Iterator[str] | list[str] | tuple[str, ...]) -> frozenset[str]:
    """A principal's account list in the one form (``*`` kept as it is).

    Raises:
        RequestValidationError: an entry is not an ad account id.
    """
    out = set()
    for value in values:
        if value == ALL:
            out.add(ALL)
        elif (account := normalize_account(value, field="accounts")) is not None:
            out.add(account)
    return frozenset(out)


_current: ContextVar[Principal | None] = ContextVar("meta_agent_principal", default=None)
_workflow: ContextVar[str | None] = ContextVar("meta_agent_workflow", default=None)


def current_principal() -> Principal | None:
    """The principal the running task acts for, or None outside any request."""
    return _current.get()


def current_workflow() -> str | None:
    """The workflow the running task belongs to (whose approvals the gate may honour)."""
    return _workflow.get()


@contextmanager
def acting_as(principal: Principal, workflow_id: str | None = None) -> Iterator[Principal]:
    """Bind ``principal`` (and the workflow, once known) for the code inside and its tasks."""
    token = _current.set(principal)
    workflow = _workflow.set(workflow_id) if workflow_id is not None else None
    try:
        yield principal
    finally:
        if workflow is not None:
            _workflow.reset(workflow)
        _current.reset(token)
