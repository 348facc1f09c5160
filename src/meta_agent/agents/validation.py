"""Pydantic's validation errors as ours: one dotted path per problem, and how to fix it.

Every model of a request (the orchestrator's envelope, each action's ``data``, the agents'
params) is validated through :func:`validate`, so an error always reads the same way:
``data.adsets[1].daily_budget: ... ; fix``. A model check that blames one field puts it in
its error's context (``{"field": "end_time"}``), and the path ends there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from meta_agent.errors import RequestValidationError

M = TypeVar("M", bound=BaseModel)
# A discriminated union adds the chosen member's tag to the location; it is not a field.
_UNION_TAGS = frozenset({"image", "video", "carousel"})


def validate(model: type[M], data: Mapping[str, Any] | M | Any, at: str = "") -> M:
    """``data`` as ``model`` (returned as is when it already is one).

    Raises:
        RequestValidationError: ``field`` is the first problem's path under ``at``; every
            problem is in ``details["problems"]`` as ``"path: fix"``.
    """
    if isinstance(data, model):
        return data
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise request_error(error, at) from None


def request_error(error: ValidationError, at: str = "") -> RequestValidationError:
    """The problems of a pydantic ``ValidationError`` as one of ours, first one first."""
    problems = [(problem_path(item, at), fix(item)) for item in error.errors(include_url=False)]
    path, first = problems[0]
    return RequestValidationError(
        f"{path or 'request'}: {first}",
        field=path or None,
        problems=[f"{p or 'request'}: {f}" for p, f in problems],
    )


def problem_path(detail: Any, at: str = "") -> str:
    """Where a problem is: ``at``, pydantic's location, then the field a check blamed."""
    blamed = (detail.get("ctx") or {}).get("field")
    loc = [
        part
        for part in detail["loc"]
        if isinstance(part, int) or (part not in _UNION_TAGS and not part.startswith("function-"))
    ]
    return join_path(at, *loc, str(blamed) if blamed else "")


def join_path(*parts: str | int) -> str:
    """``("adsets", 1, "daily_budget")`` → ``adsets[1].daily_budget``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part:
            out += f".{part}" if out and not part.startswith("[") else part
    return out


def fix(detail: Any) -> str:
    """What to do about one problem, in words."""
    kind, ctx = detail["type"], detail.get("ctx") or {}
    if kind == "missing":
        return "is required; add it"
    if kind == "extra_forbidden":
        return "is not a known field; remove it (check its spelling)"
    if kind == "literal_error" and "expected" in ctx:
        return f"must be one of {ctx['expected']}"
    return str(ctx.get("message") or detail["msg"]).removeprefix("Value error, ")
