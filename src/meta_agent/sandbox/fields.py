"""The ``fields=`` mini-language: ``id,name,campaign{name},adsets.limit(5){name}``."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from meta_agent.sandbox.errors import invalid_param


@dataclass(frozen=True)
class FieldSpec:
    """One requested field, with the sub-fields and limit of an expansion."""

    name: str
    sub: tuple[FieldSpec, ...] | None = None
    limit: int | None = None


def parse_fields(text: str | list[str] | None) -> tuple[FieldSpec, ...] | None:
    """Parse a field list; a JSON list of names (as async insights sends) is accepted too.

    Raises:
        GraphError: unbalanced braces or a malformed modifier.
    """
    if text is None:
        return None
    if isinstance(text, list):
        text = ",".join(str(item) for item in text)
    return _parse_text(text)


@lru_cache(maxsize=512)
def _parse_text(text: str) -> tuple[FieldSpec, ...]:
    # Clients send the same few field lists over and over; specs are frozen, so one parse
    # serves them all (a syntax error raises and is not cached).
    specs, rest = _parse_list(text.replace(" ", ""), 0)
    if rest != len(text.replace(" ", "")):
        raise _syntax(text)
    return tuple(spec for spec in specs if spec.name)


def _parse_list(text: str, pos: int) -> tuple[list[FieldSpec], int]:
    specs: list[FieldSpec] = []
    while pos < len(text) and text[pos] != "}":
        spec, pos = _parse_one(text, pos)
        specs.append(spec)
        if pos < len(text) and text[pos] == ",":
            pos += 1
    return specs, pos


def _parse_one(text: str, pos: int) -> tuple[FieldSpec, int]:
    start = pos
    while pos < len(text) and text[pos] not in ",{}.":
        pos += 1
    name, limit, sub = text[start:pos], None, None
    while pos < len(text) and text[pos] == ".":
        close = text.find(")", pos)
        modifier = text[pos + 1 : close + 1] if close != -1 else ""
        if not (modifier.startswith("limit(") and modifier[6:-1].isdigit()):
            if not modifier:
                raise _syntax(text)
            # Other modifiers (e.g. .summary(true)) are accepted and ignored.
        else:
            limit = int(modifier[6:-1])
        pos = close + 1
    if pos < len(text) and text[pos] == "{":
        inner, pos = _parse_list(text, pos + 1)
        if pos >= len(text) or text[pos] != "}":
            raise _syntax(text)
        pos += 1
        sub = tuple(inner)
    return FieldSpec(name, sub, limit), pos


def _syntax(text: str) -> Exception:
    return invalid_param(
        f"Syntax error in fields: {text}",
        blame="fields",
        user_msg="Check the braces and commas in 'fields'.",
    )
