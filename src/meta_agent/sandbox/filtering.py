"""The ``filtering`` parameter, shared by insights and the ad-object list edges.

Meta takes ``filtering=[{"field": ..., "operator": ..., "value": ...}]`` in both places.
Parsing (the array shape, the operator, whether a field takes that operator, list values)
and text matching live here; :mod:`.insights.filters` adds metric and action filters, and
:func:`edge_filters` / :func:`edge_matches` serve ``act_X/campaigns`` and its siblings,
where a field is an attribute of the listed object (``name``) or of the object or a
parent (``campaign.id``, ``adset.effective_status``). Agents find an object by the
idempotency tag in its name with ``{"field": "name", "operator": "CONTAIN", ...}``.
Time fields (``created_time``, ``updated_time``) take the comparison operators with Unix
seconds or ISO-8601 values, as incremental syncs read (``updated_time GREATER_THAN <ts>``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from meta_agent.sandbox.errors import invalid_param
from meta_agent.sandbox.params import Params, check_enum, parse_time
from meta_agent.sandbox.state import SandboxState
from meta_agent.sandbox.status import (
    AD_EFFECTIVE,
    ADSET_EFFECTIVE,
    CAMPAIGN_EFFECTIVE,
    effective_status,
)

OPERATORS = (
    "EQUAL",
    "NOT_EQUAL",
    "GREATER_THAN",
    "GREATER_THAN_OR_EQUAL",
    "LESS_THAN",
    "LESS_THAN_OR_EQUAL",
    "IN_RANGE",
    "NOT_IN_RANGE",
    "CONTAIN",
    "NOT_CONTAIN",
    "IN",
    "NOT_IN",
    "STARTS_WITH",
    "ENDS_WITH",
    "ANY",
    "ALL",
    "AFTER",
    "BEFORE",
    "ON_OR_AFTER",
    "ON_OR_BEFORE",
    "NONE",
    "TOP",
)
TEXT_OPERATORS = frozenset(
    {"IN", "NOT_IN", "EQUAL", "NOT_EQUAL", "CONTAIN", "NOT_CONTAIN", "STARTS_WITH", "ENDS_WITH"}
)
LIST_OPERATORS = frozenset({"IN", "NOT_IN", "IN_RANGE", "NOT_IN_RANGE"})
RANGE_OPERATORS = frozenset({"IN_RANGE", "NOT_IN_RANGE"})
# The operators a time field takes: comparisons, ranges, and Meta's date spellings of them.
TIME_OPERATORS = frozenset(
    {
        "EQUAL",
        "NOT_EQUAL",
        "GREATER_THAN",
        "GREATER_THAN_OR_EQUAL",
        "LESS_THAN",
        "LESS_THAN_OR_EQUAL",
        "IN_RANGE",
        "NOT_IN_RANGE",
        "AFTER",
        "BEFORE",
        "ON_OR_AFTER",
        "ON_OR_BEFORE",
    }
)
TIME_FIELDS = frozenset({"created_time", "updated_time"})
STATUS_CHOICES = {"campaign": CAMPAIGN_EFFECTIVE, "adset": ADSET_EFFECTIVE, "ad": AD_EFFECTIVE}

# Whether a field takes an operator (and a value); raises for a bad effective status.
Supported = Callable[[str, str, Any], bool]


@dataclass(frozen=True)
class Filter:
    """One ``filtering`` entry."""

    field: str
    operator: str
    value: Any


def parse_filtering(params: Params, supported: Supported, hint: str) -> list[Filter]:
    """Every ``filtering`` entry, checked by ``supported``; ``hint`` tells how to fix one.

    Raises:
        GraphError: code 100 naming the entry: not an array of objects, an unknown
            operator, a field and operator Meta does not combine, or a list operator
            without a list.
    """
    raw = params.json_("filtering")
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise invalid_param("Param filtering must be an array of objects", blame="filtering")
    return [_entry(item, supported, hint) for item in raw]


def _entry(item: dict[str, Any], supported: Supported, hint: str) -> Filter:
    name, operator = str(item.get("field", "")), str(item.get("operator", ""))
    value = item.get("value")
    check_enum("filtering.operator", operator, OPERATORS)
    if not supported(name, operator, value):
        raise invalid_param(
            f"Filtering field {name} with operation {operator} is not supported",
            blame="filtering",
            user_msg=hint,
        )
    if operator in LIST_OPERATORS and not isinstance(value, list):
        raise invalid_param(f"Filter on {name}: {operator} needs a list value", blame="filtering")
    return Filter(name, operator, value)


def as_list(value: Any) -> list[Any]:
    """A filter value as a list (a scalar is a list of one)."""
    return value if isinstance(value, list) else [value]


def check_statuses(level: str, value: Any) -> None:
    """Every status in an ``effective_status`` filter must exist at ``level``.

    Raises:
        GraphError: an unknown status, naming ``filtering.value`` and the choices.
    """
    for status in as_list(value):
        check_enum("filtering.value", str(status), STATUS_CHOICES[level])


def text_matches(item: Filter, actual: str) -> bool:
    """Whether an attribute's text passes a text filter (CONTAIN and friends ignore case)."""
    expected = [str(value) for value in as_list(item.value)]
    first = expected[0] if expected else ""
    text, needle = actual.lower(), first.lower()
    checks: dict[str, Callable[[], bool]] = {
        "IN": lambda: actual in expected,
        "NOT_IN": lambda: actual not in expected,
        "EQUAL": lambda: actual == first,
        "NOT_EQUAL": lambda: actual != first,
        "CONTAIN": lambda: needle in text,
        "NOT_CONTAIN": lambda: needle not in text,
        "STARTS_WITH": lambda: text.startswith(needle),
        "ENDS_WITH": lambda: text.endswith(needle),
    }
    return checks[item.operator]()


def time_seconds(value: Any) -> int:
    """A time filter's value (Unix seconds or ISO-8601) as whole Unix seconds.

    Raises:
        GraphError: code 100 naming ``filtering.value`` when it is not a time.
    """
    return int(parse_time("filtering.value", value).timestamp())


def check_time_value(name: str, operator: str, value: Any) -> None:
    """A time filter's value: one time, or ``[since, until]`` for the range operators.

    Raises:
        GraphError: code 100 when a value is not a time or a range is not two of them.
    """
    if operator in RANGE_OPERATORS:
        if not isinstance(value, list) or len(value) != 2:
            raise invalid_param(
                f"Filter on {name}: {operator} needs a list of two times", blame="filtering"
            )
        for bound in value:
            time_seconds(bound)
        return
    time_seconds(value)


def time_matches(item: Filter, actual: float) -> bool:
    """Whether a time attribute (Unix seconds, compared to the second) passes a time filter."""
    when = int(actual)
    if item.operator in RANGE_OPERATORS:
        low, high = sorted(time_seconds(bound) for bound in item.value)
        return (low <= when <= high) == (item.operator == "IN_RANGE")
    other = time_seconds(item.value)
    checks: dict[str, Callable[[], bool]] = {
        "EQUAL": lambda: when == other,
        "NOT_EQUAL": lambda: when != other,
        "GREATER_THAN": lambda: when > other,
        "AFTER": lambda: when > other,
        "GREATER_THAN_OR_EQUAL": lambda: when >= other,
        "ON_OR_AFTER": lambda: when >= other,
        "LESS_THAN": lambda: when < other,
        "BEFORE": lambda: when < other,
        "LESS_THAN_OR_EQUAL": lambda: when <= other,
        "ON_OR_BEFORE": lambda: when <= other,
    }
    return checks[item.operator]()


# -- ad-object list edges -------------------------------------------------------------------------

# The levels a listed kind can filter on: itself and its parents.
EDGE_LEVELS = {
    "campaign": ("campaign",),
    "adset": ("adset", "campaign"),
    "ad": ("ad", "adset", "campaign"),
    "adcreative": ("adcreative",),
}
_ATTRIBUTES = {
    "campaign": frozenset({"id", "name", "effective_status", "objective", *TIME_FIELDS}),
    "adset": frozenset({"id", "name", "effective_status", *TIME_FIELDS}),
    "ad": frozenset({"id", "name", "effective_status", *TIME_FIELDS}),
    "adcreative": frozenset({"id", "name"}),
}
_EDGE_HINT = (
    "Filter on name, id or effective_status of the listed object (or campaign.id, "
    "adset.name...) with EQUAL, NOT_EQUAL, CONTAIN, NOT_CONTAIN, IN, NOT_IN, STARTS_WITH "
    "or ENDS_WITH, or on created_time or updated_time with EQUAL, NOT_EQUAL, GREATER_THAN, "
    "GREATER_THAN_OR_EQUAL, LESS_THAN, LESS_THAN_OR_EQUAL, IN_RANGE or NOT_IN_RANGE."
)


def edge_filters(params: Params, kind: str) -> list[Filter]:
    """The ``filtering`` entries of a listing of ``kind``, validated.

    Raises:
        GraphError: code 100 naming the bad entry (see :func:`parse_filtering`).
    """
    return parse_filtering(params, lambda *entry: _edge_supported(kind, *entry), _EDGE_HINT)


def _edge_supported(kind: str, name: str, operator: str, value: Any) -> bool:
    level, attribute = split_field(kind, name)
    if level not in EDGE_LEVELS[kind] or attribute not in _ATTRIBUTES[level]:
        return False
    if attribute in TIME_FIELDS:
        if operator not in TIME_OPERATORS:
            return False
        check_time_value(name, operator, value)
        return True
    if operator not in TEXT_OPERATORS:
        return False
    if attribute == "effective_status":
        check_statuses(level, value)
    return True


def split_field(kind: str, name: str) -> tuple[str, str]:
    """``campaign.id`` → (campaign, id); a bare ``name`` belongs to the listed ``kind``."""
    level, dot, attribute = name.partition(".")
    return (level, attribute) if dot else (kind, name)


def edge_matches(state: SandboxState, now: float, item: Filter, record: dict[str, Any]) -> bool:
    """Whether a listed record (or the parent the filter names) passes one filter."""
    level, attribute = split_field(str(record["kind"]), item.field)
    target = record if level == record["kind"] else state.find(str(record.get(f"{level}_id")))
    if target is None:
        return False
    if attribute == "effective_status":
        return text_matches(item, effective_status(state, target, now))
    if attribute in TIME_FIELDS:
        return time_matches(item, float(target.get(attribute) or 0))
    return text_matches(item, str(target.get(attribute, "")))
