"""One table from Meta's ``(code, subcode)`` to our error classes (reference §6.3).

:func:`build_error` is the only place a Graph error envelope becomes an exception; a test
walks every row of :data:`ERROR_TABLE`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from meta_agent.errors import (
    ApiError,
    AuthError,
    InvalidParameterError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    TransientError,
    VersionError,
)

Key = tuple[int, int | None]

# (code, subcode) → class; a subcode of None is the row for the whole code.
ERROR_TABLE: dict[Key, type[ApiError]] = {
    # Throttling: wait for the window (§7), never surface.
    (4, None): RateLimitedError,
    (17, None): RateLimitedError,
    (32, None): RateLimitedError,
    (341, None): RateLimitedError,
    (368, None): RateLimitedError,
    (613, None): RateLimitedError,
    **{(code, None): RateLimitedError for code in range(80000, 80015)},
    # Meta's own hiccups.
    (-3, None): TransientError,
    (-2, None): TransientError,
    (-1, None): TransientError,
    (1, None): TransientError,
    (2, None): TransientError,
    (960, None): TransientError,
    (5000, None): TransientError,
    (100, 1504018): TransientError,  # insights query timed out: retry smaller
    (2, 1504041): InvalidParameterError,  # "service error" that is really invalid breakdowns
    (2, 1504042): InvalidParameterError,  # invalid custom metrics
    # Tokens.
    (102, None): AuthError,
    (104, None): AuthError,
    (190, None): AuthError,
    (2500, None): InvalidParameterError,
    # Permissions.
    (3, None): PermissionDeniedError,
    (10, None): PermissionDeniedError,
    (100, 3191001): PermissionDeniedError,  # no permission to read this object's insights
    **{(code, None): PermissionDeniedError for code in range(200, 300)},
    # Missing objects and versions.
    (100, 33): NotFoundError,
    (2635, None): VersionError,
    # Invalid input: fix and resend.
    (100, None): InvalidParameterError,
    (105, None): InvalidParameterError,
    (194, None): InvalidParameterError,
    (300, None): InvalidParameterError,
    (500, None): InvalidParameterError,
    (506, None): InvalidParameterError,
    (801, None): InvalidParameterError,
    (2606, None): InvalidParameterError,
    (2607, None): InvalidParameterError,
    (2615, None): InvalidParameterError,
    (2641, None): InvalidParameterError,
    (2642, None): InvalidParameterError,
    (2650, None): InvalidParameterError,
    (2654, None): InvalidParameterError,
    (2655, None): InvalidParameterError,
    (3001, None): InvalidParameterError,
    (3018, None): InvalidParameterError,
    (351, None): InvalidParameterError,  # a problem with the video file
    (352, None): InvalidParameterError,  # unsupported video format
    (382, None): InvalidParameterError,  # video file too small
    (389, None): InvalidParameterError,  # could not fetch the video from file_url
    (6000, None): InvalidParameterError,  # video upload problem
    (6001, None): InvalidParameterError,  # 1363037 carries the offsets to resume from
    (246003, None): InvalidParameterError,
    (246004, None): InvalidParameterError,
}


def classify(code: int, subcode: int | None, is_transient: bool = False) -> type[ApiError]:
    """The class for a code and subcode: the exact row, else the code's row, else by transience."""
    cls = ERROR_TABLE.get((code, subcode)) or ERROR_TABLE.get((code, None))
    if cls is not None:
        return cls
    return TransientError if is_transient else ApiError


def build_error(
    body: Mapping[str, Any],
    http_status: int,
    retry_after: float | None = None,
) -> ApiError:
    """Turn Meta's ``{"error": {...}}`` body into the matching exception."""
    error = body.get("error")
    if not isinstance(error, Mapping):
        return TransientError(
            f"HTTP {http_status} without a Graph error body", http_status=http_status
        )
    code = _as_int(error.get("code")) or 0
    subcode = _as_int(error.get("error_subcode"))
    transient = bool(error.get("is_transient", False))
    cls = classify(code, subcode, transient)
    details: dict[str, Any] = {
        "code": code,
        "subcode": subcode,
        "http_status": http_status,
        "is_transient": transient,
        "fbtrace_id": error.get("fbtrace_id"),
        "user_title": error.get("error_user_title"),
        "user_msg": error.get("error_user_msg"),
        "blame_fields": blame_fields(error.get("error_data")),
        **chunk_offsets(error.get("error_data")),
    }
    if cls is RateLimitedError:
        details["retry_after"] = retry_after
    message = str(error.get("message") or f"Graph API error {code}")
    return cls(message, **{k: v for k, v in details.items() if v not in (None, [])})


def blame_fields(error_data: Any) -> list[list[str]]:
    """``error_data.blame_field_specs`` from a dict or a JSON string (Meta sends both)."""
    if isinstance(error_data, str):
        try:
            error_data = json.loads(error_data) if error_data.strip() else {}
        except json.JSONDecodeError:
            return []
    if not isinstance(error_data, Mapping):
        return []
    specs = error_data.get("blame_field_specs") or []
    return [
        [str(part) for part in spec] if isinstance(spec, list) else [str(spec)] for spec in specs
    ]


def chunk_offsets(error_data: Any) -> dict[str, int]:
    """``start_offset``/``end_offset`` of a video chunk error (§3.6): where to resume from."""
    if isinstance(error_data, str):
        try:
            error_data = json.loads(error_data) if error_data.strip() else {}
        except json.JSONDecodeError:
            return {}
    if not isinstance(error_data, Mapping):
        return {}
    offsets = {key: _as_int(error_data.get(key)) for key in ("start_offset", "end_offset")}
    return {key: value for key, value in offsets.items() if value is not None}


def _as_int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None
