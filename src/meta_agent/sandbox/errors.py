"""Graph API errors as the sandbox sends them.

Every failure a handler can produce is a :class:`GraphError`; the app turns it into Meta's
``{"error": {...}}`` envelope (§6.1 of the reference). The helpers below are the only place
codes, subcodes and message shapes are spelled, so handlers read as rules, not as JSON.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class GraphError(Exception):
    """A Graph API error, carrying everything Meta puts in the envelope."""

    message: str
    code: int
    subcode: int | None = None
    type: str = "OAuthException"
    status: int = 400
    is_transient: bool = False
    user_title: str | None = None
    user_msg: str | None = None
    blame_fields: Sequence[Sequence[str]] = ()
    error_data: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.code}/{self.subcode}: {self.message}"

    def envelope(self, trace_id: str) -> dict[str, Any]:
        """Return the ``{"error": {...}}`` body Meta sends for this error."""
        body: dict[str, Any] = {"message": self.message, "type": self.type, "code": self.code}
        if self.subcode is not None:
            body["error_subcode"] = self.subcode
        body["is_transient"] = self.is_transient
        if self.user_title:
            body["error_user_title"] = self.user_title
        if self.user_msg:
            body["error_user_msg"] = self.user_msg
        data = dict(self.error_data)
        if self.blame_fields:
            data["blame_field_specs"] = [list(path) for path in self.blame_fields]
        if data:
            # Meta sends error_data as a JSON string; the official SDK json-decodes it.
            body["error_data"] = json.dumps(data, separators=(",", ":"))
        body.update(self.extra)
        body["fbtrace_id"] = trace_id
        return {"error": body}


def invalid_param(
    message: str,
    *,
    subcode: int | None = None,
    blame: str | Sequence[str] | None = None,
    title: str | None = None,
    user_msg: str | None = None,
    code: int = 100,
) -> GraphError:
    """Build a code 100 (or other validation code) error, prefixed the way Meta prefixes it."""
    blame_fields: list[list[str]] = []
    if isinstance(blame, str):
        blame_fields = [blame.split(".")]
    elif blame is not None:
        blame_fields = [list(blame)]
    return GraphError(
        message=f"(#{code}) {message}",
        code=code,
        subcode=subcode,
        user_title=title,
        user_msg=user_msg,
        blame_fields=blame_fields,
    )


def required_param(name: str) -> GraphError:
    """The error Meta returns when a required parameter is absent."""
    return invalid_param(
        f"The parameter {name} is required",
        blame=name,
        title="Missing required parameter",
        user_msg=f"Add the '{name}' parameter and try again.",
    )


def object_not_found(object_id: str, method: str) -> GraphError:
    """Code 100 subcode 33: no such object, or no permission (Meta does not say which)."""
    verb = {"GET": "get", "POST": "post", "DELETE": "delete"}.get(method, method.lower())
    return GraphError(
        message=(
            f"Unsupported {verb} request. Object with ID '{object_id}' does not exist, cannot be "
            "loaded due to missing permissions, or does not support this operation. Please read "
            "the Graph API documentation at https://developers.facebook.com/docs/graph-api"
        ),
        code=100,
        subcode=33,
        type="GraphMethodException",
    )


def nonexisting_field(field_name: str, node_type: str) -> GraphError:
    """A ``fields=`` entry the node does not have."""
    return GraphError(
        message=f"(#100) Tried accessing nonexisting field ({field_name}) on node type ({node_type})",
        code=100,
    )


def unsupported_param(name: str, node_type: str) -> GraphError:
    """A write parameter the endpoint does not accept."""
    return invalid_param(
        f"Param {name} is not a valid parameter for {node_type}",
        blame=name,
        title="Unsupported parameter",
        user_msg=f"Remove '{name}': {node_type} does not accept it.",
    )


def unknown_path(path: str) -> GraphError:
    """Code 2500, Meta's answer to a path it cannot route."""
    return GraphError(message=f"Unknown path components: /{path}", code=2500)


def missing_token() -> GraphError:
    """No access token anywhere in the request."""
    return GraphError(
        message="An active access token must be used to query information about the current user.",
        code=2500,
    )


def invalid_token() -> GraphError:
    """A token the sandbox does not accept (code 190, no subcode, no ``(#)`` prefix)."""
    return GraphError(message="Invalid OAuth access token - Cannot parse access token", code=190)


def invalid_appsecret_proof() -> GraphError:
    """A missing or wrong ``appsecret_proof`` while an app secret is configured."""
    return GraphError(
        message="Invalid appsecret_proof provided in the API argument",
        code=100,
        type="GraphMethodException",
    )


def deprecated_version(requested: str, newest: str) -> GraphError:
    """Code 2635: a Marketing API version past its sunset."""
    return GraphError(
        message=(
            f"(#2635) You are calling a deprecated version of the Ads API. Please update to the "
            f"latest version: {newest}."
        ),
        code=2635,
        user_title="Deprecated API version",
        user_msg=f"{requested} is no longer served for ads; use {newest}.",
    )


def cannot_edit(object_id: str, status: str, allowed: str) -> GraphError:
    """An edit that an archived or deleted object no longer accepts."""
    subcode = 1885088 if status == "ARCHIVED" else None
    return invalid_param(
        f"Object {object_id} is {status} and can't be edited",
        subcode=subcode,
        title=f"{status.title()} object can't be edited",
        user_msg=f"A {status.lower()} object only accepts {allowed}.",
    )
