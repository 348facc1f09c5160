"""The ``filtering`` parameter: which entries Meta accepts, and how rows are matched.

Three kinds of entry: object filters (``campaign.effective_status``, ``adset.name``...)
choose which ads a report counts; ``action_type IN [...]`` narrows action lists; metric
filters (``spend GREATER_THAN 100``) drop whole rows after they are computed. Parsing
and text matching are shared with the list edges (:mod:`meta_agent.sandbox.filtering`).
"""

from __future__ import annotations

from typing import Any

from meta_agent.sandbox.errors import invalid_param
from meta_agent.sandbox.filtering import (
    STATUS_CHOICES,
    TEXT_OPERATORS,
    Filter,
    as_list,
    check_statuses,
    parse_filtering,
    text_matches,
)
from meta_agent.sandbox.insights.enums import words
from meta_agent.sandbox.insights.values import FILTERABLE_METRICS
from meta_agent.sandbox.nodes import Record
from meta_agent.sandbox.params import Params
from meta_agent.sandbox.status import effective_status
from meta_agent.sandbox.synth import Model

__all__ = ["Filter", "number_matches", "object_matches", "parse_filters"]

NUMBER_OPERATORS = frozenset(
    words(
        """EQUAL NOT_EQUAL GREATER_THAN GREATER_THAN_OR_EQUAL LESS_THAN LESS_THAN_OR_EQUAL IN_RANGE
    NOT_IN_RANGE"""
    )
)
OBJECT_ATTRIBUTES = frozenset({"effective_status", "id", "name", "objective"})
_HINT = (
    "Filter on *.effective_status, *.id, *.name, action_type, or a metric "
    "such as spend or impressions with GREATER_THAN / LESS_THAN."
)


def parse_filters(params: Params) -> list[Filter]:
    """Every ``filtering`` entry, validated.

    Raises:
        GraphError: not an array of objects, an unknown operator or status, a field and
            operator Meta does not combine, or a non-numeric value for a metric.
    """
    filters = parse_filtering(params, _supported, _HINT)
    for item in filters:
        if item.operator in NUMBER_OPERATORS - {"EQUAL", "NOT_EQUAL"} or (
            item.field in FILTERABLE_METRICS
        ):
            _check_numbers(item.field, item.value)
    return filters


def _supported(name: str, operator: str, value: Any) -> bool:
    """Whether Meta filters ``name`` with ``operator`` (effective statuses must exist too)."""
    level, _, attribute = name.partition(".")
    if level in STATUS_CHOICES and attribute in OBJECT_ATTRIBUTES:
        supported = operator in TEXT_OPERATORS
        if supported and attribute == "effective_status":
            check_statuses(level, value)
        return supported
    if name == "action_type":
        return operator == "IN"
    return name in FILTERABLE_METRICS and operator in NUMBER_OPERATORS


def _check_numbers(name: str, value: Any) -> None:
    for item in as_list(value):
        try:
            float(item)
        except (TypeError, ValueError):
            raise invalid_param(
                f"Filter on {name}: value {item!r} is not a number",
                blame="filtering",
                user_msg=f"Compare '{name}' with a number, e.g. \"100\" or 100.",
            ) from None


def object_matches(item: Filter, chain: dict[str, Record], model: Model) -> bool:
    """Whether the object of ``item``'s level in an ad's ``chain`` passes the filter."""
    level, _, attribute = item.field.partition(".")
    record = chain[level]
    if attribute == "effective_status":
        return text_matches(item, effective_status(model.state, record, model.now))
    return text_matches(item, str(record.get(attribute, "")))


def number_matches(item: Filter, actual: float) -> bool:
    """Whether a row's metric value passes a metric filter."""
    values = [float(value) for value in as_list(item.value)]
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
