"""Every error meta-agent raises, sorted by what the caller should do next.

::

    MetaAgentError
    ├── UsageError                  fix the input or the configuration; never retried
    │   ├── ConfigError             a setting is missing or wrong
    │   ├── RequestValidationError  a request failed our own validation (names field and fix)
    │   ├── PolicyViolationError    the account's policy forbids it (names the limit, by how much)
    │   │   └── ApprovalRequiredError   policy holds the write until an approver grants it
    │   ├── AccessDeniedError       the principal may not act on that account or action
    │   ├── UnknownRecordError      no such approval (or workflow) for this principal
    │   └── ConflictError           the request_id is in use (running, or sent with another body)
    └── ApiError                    Meta answered with an error, or did not answer
        ├── RateLimitedError        wait ``retry_after`` seconds, then retry
        ├── TransientError          retry with backoff
        ├── AuthError               re-authenticate (token expired, invalid, revoked)
        ├── PermissionDeniedError   grant the app or user the permission
        ├── InvalidParameterError   fix the input; carries Meta's blame fields
        ├── NotFoundError           the object does not exist or is not visible
        ├── VersionError            the API version is unsupported
        ├── OutcomeUnknownError     a write may or may not have happened: reconcile first
        ├── TransportError          the network failed before a request was sent
        └── DependencyFailedError   a batch item not run because an item it needs failed
    WorkflowFailedError             a workflow stopped; carries its cause and what rollback did

The specification's taxonomy maps onto this: its ``ValidationError`` is
:class:`RequestValidationError` (ours) or :class:`InvalidParameterError` (Meta's),
``AuthenticationError`` is :class:`AuthError`, and the per-agent errors (asset, campaign, ad,
insights, workflow) are raised by the agents with one of these as their cause.

Every error serialises to a JSON-compatible dict and back (:meth:`to_dict`,
:func:`error_from_dict`), because the workflow journal stores them.
"""

from __future__ import annotations

from typing import Any, ClassVar


class MetaAgentError(Exception):
    """Root of meta-agent's errors."""

    kind: ClassVar[str] = "meta_agent_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details

    def to_dict(self) -> dict[str, Any]:
        """A JSON-compatible form that :func:`error_from_dict` turns back into this error."""
        return {"kind": self.kind, "message": self.message, **self.details}

    def __reduce__(self) -> tuple[Any, ...]:
        return (error_from_dict, (self.to_dict(),))


class UsageError(MetaAgentError):
    """The caller's or the operator's mistake: retrying cannot help."""

    kind = "usage_error"


class ConfigError(UsageError):
    """A setting is missing or invalid."""

    kind = "config_error"


class RequestValidationError(UsageError):
    """A request failed validation before anything was sent; ``field`` says where."""

    kind = "request_validation_error"

    @property
    def field(self) -> str | None:
        """Dotted path of the offending field."""
        value = self.details.get("field")
        return str(value) if value is not None else None


class PolicyViolationError(UsageError):
    """The account's policy forbids the request.

    ``details`` carries ``field``, ``limit`` (the policy setting), ``allowed`` and ``requested``
    and, for amounts, ``excess``; nothing was sent to Meta.
    """

    kind = "policy_violation"


class ApprovalRequiredError(PolicyViolationError):
    """Policy holds these writes until a principal with the approver role grants them.

    ``details`` carries ``account_id``, ``rules`` (the policy settings that hold it) and
    ``diff`` (the exact writes that would be sent); the workflow waits, nothing was sent.
    """

    kind = "approval_required"


class AccessDeniedError(UsageError):
    """The principal may not act on this account, or perform this action.

    ``details`` carries ``principal`` (its id), and ``account`` or ``action``.
    """

    kind = "access_denied"


class UnknownRecordError(UsageError):
    """No such record (an approval) that this principal may see; ``field`` names the id."""

    kind = "not_found"


class ConflictError(UsageError):
    """The ``request_id`` is taken: its workflow is still running, or it carried another request."""

    kind = "conflict"


class WorkflowFailedError(MetaAgentError):
    """A workflow stopped at ``step``; ``cause`` is the error there, ``rollback`` what was undone.

    ``details`` carries ``workflow_id``, ``step``, ``cause`` (an error dict), ``status`` (the
    workflow's final status) and ``leftovers`` (objects a failed compensation left behind).
    """

    kind = "workflow_failed"

    @property
    def cause(self) -> MetaAgentError | None:
        """The error that stopped the workflow, rebuilt."""
        value = self.details.get("cause")
        return error_from_dict(value) if isinstance(value, dict) else None


class StepTimeoutError(MetaAgentError):
    """A step ran past its agent's time limit (``agents.<agent>.upload_timeout``); the
    workflow fails there and is rolled back like any failed step."""

    kind = "step_timeout"


class ApiError(MetaAgentError):
    """An error from the Graph API (or from talking to it).

    ``details`` carries Meta's ``code``, ``subcode``, ``fbtrace_id``, ``user_title``,
    ``user_msg``, ``http_status``, ``is_transient`` and ``blame_fields`` when Meta sent them.
    """

    kind = "api_error"

    @property
    def code(self) -> int | None:
        """Meta's error code."""
        return _int(self.details.get("code"))

    @property
    def subcode(self) -> int | None:
        """Meta's error subcode."""
        return _int(self.details.get("subcode"))

    @property
    def user_message(self) -> str:
        """The text meant for a person: Meta's ``error_user_msg`` when it sent one."""
        return str(self.details.get("user_msg") or self.message)


class RateLimitedError(ApiError):
    """A rate limit was hit; ``retry_after`` is how long to wait (None when Meta did not say)."""

    kind = "rate_limited"

    @property
    def retry_after(self) -> float | None:
        """Seconds to wait before trying again."""
        value = self.details.get("retry_after")
        return float(value) if value is not None else None


class TransientError(ApiError):
    """Meta had a temporary problem; the same request may succeed later."""

    kind = "transient"


class AuthError(ApiError):
    """The access token is invalid, expired or revoked."""

    kind = "auth"


class PermissionDeniedError(ApiError):
    """The token lacks a permission or the app a capability."""

    kind = "permission_denied"


class InvalidParameterError(ApiError):
    """Meta refused the input; ``blame_fields`` lists the offending field paths."""

    kind = "invalid_parameter"

    @property
    def blame_fields(self) -> list[list[str]]:
        """Meta's ``blame_field_specs``: field paths, outermost first."""
        value = self.details.get("blame_fields") or []
        return [list(map(str, path)) for path in value]


class NotFoundError(ApiError):
    """The object does not exist, or this token cannot see it."""

    kind = "not_found"


class VersionError(ApiError):
    """The Graph API version is unsupported or past its sunset."""

    kind = "version"


class OutcomeUnknownError(ApiError):
    """A write was sent but its answer was lost: it may or may not have taken effect.

    It is never retried blindly. ``details`` carries ``method``, ``path`` and
    ``idempotency_key`` (when the caller gave one) so the object can be looked up first.
    """

    kind = "outcome_unknown"


class TransportError(ApiError):
    """The request could not be delivered (connection refused, DNS, TLS, a timeout before sending)."""

    kind = "transport"


class DependencyFailedError(ApiError):
    """A batch item was not run because an item it depends on failed.

    ``details`` carries ``dependency`` (the failed item's name) and ``dependency_error`` (that
    item's error as a dict); fix the dependency and send both again.
    """

    kind = "dependency_failed"


_KINDS: dict[str, type[MetaAgentError]] = {
    cls.kind: cls
    for cls in (
        MetaAgentError,
        UsageError,
        ConfigError,
        RequestValidationError,
        PolicyViolationError,
        ApprovalRequiredError,
        AccessDeniedError,
        UnknownRecordError,
        ConflictError,
        WorkflowFailedError,
        StepTimeoutError,
        ApiError,
        RateLimitedError,
        TransientError,
        AuthError,
        PermissionDeniedError,
        InvalidParameterError,
        NotFoundError,
        VersionError,
        OutcomeUnknownError,
        TransportError,
        DependencyFailedError,
    )
}


def error_from_dict(data: dict[str, Any]) -> MetaAgentError:
    """Rebuild an error serialised with :meth:`MetaAgentError.to_dict`."""
    details = dict(data)
    cls = _KINDS.get(str(details.pop("kind", "")), MetaAgentError)
    message = str(details.pop("message", ""))
    return cls(message, **details)


def _int(value: Any) -> int | None:
    return int(value) if value is not None else None
