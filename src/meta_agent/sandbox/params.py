"""Typed access to Graph request parameters, decoded the way Meta decodes them.

Parameters arrive as strings (query string, form or multipart body), with nested values as
JSON strings inside (§2.1), or already decoded from a JSON body. Every getter names the
parameter in its error so a caller knows which one to fix.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from meta_agent.sandbox.errors import GraphError, invalid_param, required_param, unsupported_param

_TRUE = {"true", "1"}
_FALSE = {"false", "0"}

# Parameters every endpoint accepts besides its own (auth, formatting, read-after-write).
COMMON_PARAMS = frozenset(
    {
        "access_token",
        "appsecret_proof",
        "fields",
        "execution_options",
        "method",
        "format",
        "pretty",
        "suppress_http_code",
        "locale",
        "date_format",
        "include_headers",
        "debug",
        "callback",
        "summary",
        "transport",
    }
)


@dataclass(frozen=True)
class UploadedFile:
    """A multipart file part of the outer request."""

    filename: str
    content: bytes
    content_type: str = "application/octet-stream"


@dataclass
class Params:
    """The parameters of one Graph request, with typed getters."""

    raw: dict[str, Any]
    files: dict[str, UploadedFile] = field(default_factory=dict)

    def __contains__(self, name: str) -> bool:
        return name in self.raw and self.raw[name] is not None

    def names(self) -> Iterable[str]:
        """Names of the parameters present."""
        return self.raw.keys()

    def get_raw(self, name: str) -> Any:
        """The value as received (string, or decoded JSON for JSON bodies)."""
        return self.raw.get(name)

    def str_(self, name: str, *, required: bool = False, max_len: int | None = None) -> str | None:
        """A string parameter."""
        value = self.raw.get(name)
        if value is None:
            if required:
                raise required_param(name)
            return None
        if not isinstance(value, str):
            value = json.dumps(value) if isinstance(value, dict | list) else str(value)
        if required and not value.strip():
            raise required_param(name)
        if max_len is not None and len(value) > max_len:
            raise invalid_param(
                f"Param {name} must be at most {max_len} characters long",
                blame=name,
                title="Text too long",
                user_msg=f"Shorten '{name}' to {max_len} characters or fewer.",
            )
        return value

    def require_str(self, name: str, *, max_len: int | None = None) -> str:
        """A required string parameter."""
        value = self.str_(name, required=True, max_len=max_len)
        assert value is not None
        return value

    def int_(self, name: str, *, required: bool = False, minimum: int | None = None) -> int | None:
        """An integer parameter; decimals such as ``"15.00"`` are refused as Meta refuses them."""
        value = self.raw.get(name)
        if value is None or value == "":
            if required:
                raise required_param(name)
            return None
        if isinstance(value, bool):
            raise _not_integer(name)
        if isinstance(value, int):
            number = value
        else:
            text = str(value).strip()
            if not text.lstrip("-").isdigit():
                raise _not_integer(name)
            number = int(text)
        if minimum is not None and number < minimum:
            raise invalid_param(
                f"Param {name} must be at least {minimum}",
                blame=name,
                user_msg=f"Set '{name}' to {minimum} or more.",
            )
        return number

    def bool_(self, name: str) -> bool | None:
        """A boolean parameter: ``true``/``false`` in any case, or ``1``/``0``."""
        value = self.raw.get(name)
        if value is None:
            return None
        if isinstance(value, bool):
            return value
        if isinstance(value, int):
            return value != 0
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise invalid_param(
            f"Param {name} must be a boolean",
            blame=name,
            user_msg=f"Send '{name}' as true or false.",
        )

    def json_(self, name: str) -> Any:
        """A structured parameter: a JSON string, or a value already decoded from a JSON body."""
        value = self.raw.get(name)
        if value is None or not isinstance(value, str):
            return value
        text = value.strip()
        if not text:
            return None
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            raise invalid_param(
                f"Param {name} must be a JSON encoded object or array",
                blame=name,
                user_msg=f"'{name}' is not valid JSON; send it as a JSON string.",
            ) from None

    def object_(self, name: str, *, required: bool = False) -> dict[str, Any] | None:
        """A JSON object parameter."""
        value = self.json_(name)
        if value is None:
            if required:
                raise required_param(name)
            return None
        if not isinstance(value, dict):
            raise invalid_param(
                f"Param {name} must be a JSON object",
                blame=name,
                user_msg=f"Send '{name}' as a JSON object, e.g. {{...}}.",
            )
        return value

    def list_(self, name: str, *, required: bool = False) -> list[Any] | None:
        """A list parameter: a JSON array, or a comma-separated string as docs show for GETs."""
        value = self.raw.get(name)
        if value is None:
            if required:
                raise required_param(name)
            return None
        if isinstance(value, list):
            return value
        text = str(value).strip()
        if text.startswith("["):
            decoded = self.json_(name)
            if not isinstance(decoded, list):
                raise invalid_param(f"Param {name} must be an array", blame=name)
            return decoded
        return [item.strip() for item in text.split(",") if item.strip()]

    def enum_(self, name: str, allowed: Iterable[str], *, required: bool = False) -> str | None:
        """A string parameter that must be one of ``allowed``."""
        value = self.str_(name, required=required)
        if value is None:
            return None
        check_enum(name, value, allowed)
        return value

    def time_(self, name: str) -> datetime | None:
        """A datetime given as ISO-8601 (with or without offset) or as Unix seconds."""
        value = self.raw.get(name)
        if value is None or value == "":
            return None
        return parse_time(name, value)


def check_enum(name: str, value: str, allowed: Iterable[str]) -> None:
    """Refuse ``value`` unless it is in ``allowed``, listing the choices as Meta does."""
    choices = list(allowed)
    if value not in choices:
        raise invalid_param(
            f"param {name} must be one of {{{', '.join(choices)}}}",
            blame=name,
            title="Invalid value",
            user_msg=f"'{value}' is not a valid {name}.",
        )


def parse_time(name: str, value: Any) -> datetime:
    """Parse a Graph datetime: Unix seconds, or ISO-8601 with an optional offset."""
    if isinstance(value, int | float) or (isinstance(value, str) and value.strip().isdigit()):
        return datetime.fromtimestamp(int(value), tz=UTC)
    text = str(value).strip().replace(" ", "T", 1)
    if len(text) >= 5 and text[-5] in "+-" and text[-4:].isdigit():
        text = f"{text[:-2]}:{text[-2:]}"  # -0700 → -07:00
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise invalid_param(
            f"Param {name} must be a valid datetime",
            blame=name,
            user_msg=f"Send '{name}' as ISO-8601 (2026-12-01T10:00:00-0700) or Unix seconds.",
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def check_known(params: Params, allowed: frozenset[str], node_type: str) -> None:
    """Refuse any parameter outside ``allowed`` and the common ones."""
    for name in params.names():
        if name not in allowed and name not in COMMON_PARAMS:
            raise unsupported_param(name, node_type)


def validate_only(params: Params) -> bool:
    """Whether ``execution_options`` asks for validation without a write."""
    options = params.list_("execution_options") or []
    return "validate_only" in options


def merge(*sources: Mapping[str, Any]) -> dict[str, Any]:
    """Merge parameter sources, later ones winning."""
    merged: dict[str, Any] = {}
    for source in sources:
        merged.update(source)
    return merged


def _not_integer(name: str) -> GraphError:
    return invalid_param(
        f"Param {name} must be an integer",
        blame=name,
        title="Whole number needed",
        user_msg=f"Send '{name}' as a whole number in the currency's minor unit (e.g. cents).",
    )
