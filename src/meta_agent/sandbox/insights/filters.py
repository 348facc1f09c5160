"""The ``filtering`` parameter: which entries Meta accepts, and how rows are matched.

Three kinds of entry: object filters (``campaign.effective_status``, ``adset.name``...)
choose which ads a report counts; ``action_type IN [...]`` narrows action lists; metric
filters (``spend GREATER_THAN 100``) drop whole rows after they are computed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from meta_agent.sandbox.errors import invalid_param
from meta_agent.sandbox.insights.enums import words
from meta_agent.sandbox.insights.values import FILTERABLE_METRICS
from meta_agent.sandbox.nodes import Record
from meta_agent.sandbox.params import Params, check_enum
from meta_agent.sandbox.status import (
    AD_EFFECTIVE,
    ADSET_EFFECTIVE,
    CAMPAIGN_EFFECTIVE,
    effective_status,
)
from meta_agent.sandbox.synth import Model

OPERATORS = words(
    """EQUAL NOT_EQUAL GREATER_THAN GREATER_THAN_OR_EQUAL LESS_THAN LESS_THAN_OR_EQUAL IN_RANGE
    NOT_IN_RANGE CONTAIN NOT_CONTAIN IN NOT_IN STARTS_WITH ENDS_WITH ANY ALL AFTER BEFORE
    ON_OR_AFTER ON_OR_BEFORE NONE TOP"""
)
OBJECT_OPERATORS = frozenset(
    {"IN", "NOT_IN", "EQUAL", "NOT_EQUAL", "CONTAIN", "NOT_CONTAIN", "STARTS_WITH", "ENDS_WITH"}
)
NUMBER_OPERATORS = frozenset(
    words(
        """EQUAL NOT_EQUAL GREATER_THAN GREATER_THAN_OR_EQUAL LESS_THAN LESS_THAN_OR_EQUAL IN_RANGE
    NOT_IN_RANGE"""
    )
)
STATUS_CHOICES = {"campaign": CAMPAIGN_EFFECTIVE, "adset": ADSET_EFFECTIVE, "ad": AD_EFFECTIVE}
OBJECT_ATTRIBUTES = frozenset({"effective_status", "id", "name", "objective"})
LIST_OPERATORS = frozenset({"IN", "NOT_IN", "IN_RANGE", "NOT_IN_RANGE"})


@dataclass(frozen=True)
class Filter:
    """One ``filtering`` entry."""

    field: str
    operator: str
    value: Any


def parse_filters(params: Params) -> list[Filter]:
    """Every ``filtering`` entry, validated.

    Raises:
        GraphError: not an array of objects, an unknown operator or status, a field and
            operator Meta does not combine, or a non-numeric value for a metric.
    """
    raw = params.json_("filtering")
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise invalid_param("Param filtering must be an array of objects", blame="filtering")
    return [_filter(item) for item in raw]


def _filter(item: dict[str, Any]) -> Filter:
    name, operator, value = (
        str(item.get("field", "")),
        str(item.get("operator", "")),
        item.get("value"),
    )
    check_enum("filtering.operator", operator, OPERATORS)
    if not _supported(name, operator, value):
        raise invalid_param(
            f"Filtering field {name} with operation {operator} is not supported",
            blame="filtering",
            user_msg="Filter on *.effective_status, *.id, *.name, action_type, or a metric "
            "such as spend or impressions with GREATER_THAN / LESS_THAN.",
        )
    if operator in LIST_OPERATORS and not isinstance(value, list):
        raise invalid_param(f"Filter on {name}: {operator} needs a list value", blame="filtering")
    if operator in NUMBER_OPERATORS - {"EQUAL", "NOT_EQUAL"} or name in FILTERABLE_METRICS:
        _check_numbers(name, value)
    return Filter(name, operator, value)


def _supported(name: str, operator: str, value: Any) -> bool:
    """Whether Meta filters ``name`` with ``operator`` (effective statuses must exist too)."""
    level, _, attribute = name.partition(".")
    if level in STATUS_CHOICES and attribute in OBJECT_ATTRIBUTES:
        supported = operator in OBJECT_OPERATORS
        if supported and attribute == "effective_status":
            for status in _as_list(value):
                check_enum("filtering.value", str(status), STATUS_CHOICES[level])
        return supported
    if name == "action_type":
        return operator == "IN"
    return name in FILTERABLE_METRICS and operator in NUMBER_OPERATORS


def _check_numbers(name: str, value: Any) -> None:
    for item in _as_list(value):
        try:
            float(item)
        except (TypeError, ValueError):
            raise invalid_param(
                f"Filter on {name}: value {item!r} is not a number",
                blame="filtering",
                user_msg=f"Compare '{name}' with a number, e.g. \"100\" or 100.",
            ) from None


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def object_matches(item: Filter, chain: dict[str, Record], model: Model) -> bool:
    """Whether the object of ``item``'s level in an ad's ``chain`` passes the filter."""
    level, _, attribute = item.field.partition(".")
    record = chain[level]
    if attribute == "effective_status":
        actual = effective_status(model.state, record, model.now)
    else:
        actual = str(record.get(attribute, ""))
    expected = [str(value) for value in _as_list(item.value)]
    text, first = actual.lower(), expected[0].lower() if expected else ""
    checks: dict[str, Callable[[], bool]] = {
        "IN": lambda: actual in expected,
        "NOT_IN": lambda: actual not in expected,
        "EQUAL": lambda: actual == (expected[0] if expected else ""),
        "NOT_EQUAL": lambda: actual != (expected[0] if expected else ""),
        "CONTAIN": lambda: first in text,
        "NOT_CONTAIN": lambda: first not in text,
        "STARTS_WITH": lambda: text.startswith(first),
        "ENDS_WITH": lambda: text.endswith(first),
    }
    return checks[item.operator]()


def number_matches(item: Filter, actual: float) -> bool:
    """Whether a row's metric value passes a metric filter."""
    values = [float(value) for value in _as_list(item.value)]
    low, high = (values + values)[:2] if values else (0.0, 0.0)
    checks = {
        "EQUAL": actual == low,
        "NOT_EQUAL": actual != low,
        "GREATER_THAN": actual > low,
        "GREATER_THAN_OR_EQUAL": actual >= low,
        "LESS_THAN": actual < low,
        "LESS_THAN_OR_EQUAL": actual <= low,
        "IN_RANGE": low <= actual <= high,
        "NOT_IN_RANGE": not low <= actual <= high,
    }
    return checks[item.operator]
