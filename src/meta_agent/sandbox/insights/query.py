"""An insights query: every parameter parsed and validated once, into a :class:`Query`.

Dates are read by :mod:`.dates` and ``filtering`` by :mod:`.filters`; this module checks
fields, level, breakdowns (and the combinations Meta serves), windows, sort and summary.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from meta_agent.sandbox.data.sdk import sdk_object
from meta_agent.sandbox.errors import invalid_param
from meta_agent.sandbox.insights.dates import Bucket, parse_buckets
from meta_agent.sandbox.insights.enums import (
    ACTION_BREAKDOWNS,
    ATTRIBUTION_WINDOWS,
    BREAKDOWNS,
    COMBINATIONS,
    DELIVERY,
    DIMENSION_ORDER,
    FIELDS,
    LEVELS,
)
from meta_agent.sandbox.insights.filters import Filter, parse_filters
from meta_agent.sandbox.params import Params, check_enum

ACTION_REPORT_TIMES = ("impression", "conversion", "mixed", "lifetime")
# Action breakdowns that combine with every breakdown set Meta serves (age, gender, country,
# region, placements, ...); ``action_device`` combines with the delivery breakdowns only.
WITH_ANY_BREAKDOWN = frozenset({"action_type", "action_target_id", "action_destination"})
# Since 2026-01-12, on all versions, these windows are accepted but no longer returned (§13.1).
RETIRED_WINDOWS = frozenset({"7d_view", "28d_view"})
VIEW_WINDOWS_RETIRED_ON = date(2026, 1, 12)


@dataclass(frozen=True)
class Query:
    """A parsed, validated insights query."""

    level: str
    fields: tuple[str, ...]
    breakdowns: tuple[str, ...]
    action_breakdowns: tuple[str, ...]
    windows: tuple[str, ...]
    buckets: tuple[Bucket, ...]
    contiguous: bool
    object_filters: tuple[Filter, ...] = ()
    metric_filters: tuple[Filter, ...] = ()
    action_types: frozenset[str] | None = None
    sort: tuple[tuple[str, bool], ...] = ()
    summary: tuple[str, ...] | None = None

    @property
    def since(self) -> date:
        """The first day the query covers."""
        return min(bucket[0] for bucket in self.buckets)

    @property
    def until(self) -> date:
        """The last day the query covers."""
        return max(bucket[1] for bucket in self.buckets)

    @property
    def dims(self) -> tuple[str, ...]:
        """Breakdowns in the order the model splits them (parents before children)."""
        return tuple(dim for dim in DIMENSION_ORDER if dim in self.breakdowns)


def parse_query(params: Params, level: str, today: date) -> Query:
    """Validate every insights parameter and return the query they describe.

    Raises:
        GraphError: an unknown field, level, breakdown, preset or window; an invalid
            breakdown combination or filter; a start date beyond 37 months (code 3018).
    """
    level = params.enum_("level", LEVELS) or level
    fields = _fields(params, level)
    breakdowns, action_breakdowns = _breakdowns(params)
    params.enum_("action_report_time", ACTION_REPORT_TIMES)
    buckets, contiguous = parse_buckets(params, today)
    filters = parse_filters(params)
    return Query(
        level=level,
        fields=fields,
        breakdowns=breakdowns,
        action_breakdowns=action_breakdowns,
        windows=_windows(params, today),
        buckets=buckets,
        contiguous=contiguous,
        object_filters=tuple(f for f in filters if "." in f.field),
        metric_filters=tuple(f for f in filters if "." not in f.field and f.field != "action_type"),
        action_types=_action_types(filters),
        sort=parse_sort(params, (*fields, *breakdowns)),
        summary=_summary(params, fields),
    )


def _fields(params: Params, level: str) -> tuple[str, ...]:
    names = [str(name) for name in params.list_("fields") or []]
    if not names:
        return (f"{level}_id", "impressions", "spend")
    for name in names:
        _check_field(name)
    return tuple(dict.fromkeys(names))


def _check_field(name: str) -> None:
    # Every field the SDK lists is accepted; the ones the sandbox has no value for are omitted.
    if name not in FIELDS and name not in sdk_object("AdsInsights").fields:
        raise invalid_param(
            f"{name} is not valid for fields param. please check "
            "https://developers.facebook.com/docs/marketing-api/reference/ads-insights/ "
            "for all valid values",
            blame="fields",
            title="Unknown insights field",
            user_msg=f"'{name}' is not an insights field; remove it or fix its spelling.",
        )


def _enum_list(params: Params, name: str, allowed: Sequence[str]) -> list[str]:
    values = [str(value) for value in params.list_(name) or []]
    for value in values:
        check_enum(name, value, allowed)
    return values


def _breakdowns(params: Params) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``breakdowns`` and ``action_breakdowns`` (default ``action_type``), as Meta combines them."""
    breakdowns = tuple(_enum_list(params, "breakdowns", BREAKDOWNS))
    action_breakdowns = tuple(
        _enum_list(params, "action_breakdowns", ACTION_BREAKDOWNS) or ["action_type"]
    )
    _check_combination(breakdowns, action_breakdowns)
    return breakdowns, action_breakdowns


def _check_combination(breakdowns: Sequence[str], action_breakdowns: Sequence[str]) -> None:
    served = frozenset(breakdowns) in COMBINATIONS
    for action_breakdown in action_breakdowns:
        if action_breakdown == "action_device":
            served = served and frozenset(breakdowns) <= DELIVERY
        elif action_breakdown not in WITH_ANY_BREAKDOWN:
            served = False
    if not served:
        columns = ", ".join(sorted({*action_breakdowns, *breakdowns}))
        raise invalid_param(
            f"Current combination of data breakdown columns ({columns}) is invalid",
            blame="breakdowns",
            title="Invalid breakdown combination",
            user_msg="Combine breakdowns only as Meta allows, e.g. age+gender or "
            "publisher_platform+platform_position; run other mixes as separate queries.",
        )


def _windows(params: Params, today: date) -> tuple[str, ...]:
    """The attribution windows asked for, less those Meta silently stopped returning."""
    windows = _enum_list(params, "action_attribution_windows", ATTRIBUTION_WINDOWS)
    if today >= VIEW_WINDOWS_RETIRED_ON:
        windows = [window for window in windows if window not in RETIRED_WINDOWS]
    return tuple(windows)


def _action_types(filters: Iterable[Filter]) -> frozenset[str] | None:
    for item in filters:
        if item.field == "action_type":
            return frozenset(str(value) for value in item.value)
    return None


def parse_sort(params: Params, columns: Sequence[str]) -> tuple[tuple[str, bool], ...]:
    """``sort`` as (column, descending) keys, most significant first.

    Meta's form is ``<field>_ascending`` or ``<field>_descending`` (a bare field sorts
    ascending), on a field the request asks for or one of its breakdowns;
    ``actions:<action_type>`` sorts by one entry of ``actions``.

    Raises:
        GraphError: a key on a column the query does not return (code 100, naming it).
    """
    out: list[tuple[str, bool]] = []
    for item in params.list_("sort") or []:
        text = str(item)
        name, _, direction = text.rpartition("_")
        if direction not in {"ascending", "descending"}:
            name, direction = text, "ascending"
        column = "actions" if name.startswith("actions:") else name
        if column not in columns:
            raise invalid_param(
                f"Invalid sort field: {text}. Sort by a field the request asks for "
                f"({', '.join(columns)}), as <field>_ascending or <field>_descending",
                blame="sort",
                title="Invalid sort field",
                user_msg=f"Add '{column}' to fields, or sort by one of the requested fields, "
                "e.g. spend_descending.",
            )
        out.append((name, direction == "descending"))
    return tuple(out)


def _summary(params: Params, fields: tuple[str, ...]) -> tuple[str, ...] | None:
    raw = params.str_("summary")
    wanted: tuple[str, ...] | None = None
    if raw is not None and raw.strip().lower() not in {"false", "0", ""}:
        names = params.list_("summary") or []
        named = [str(n) for n in names if str(n).lower() not in {"true", "1"}]
        for name in named:
            _check_field(name)
        wanted = tuple(named) or fields
    if wanted is None and params.bool_("default_summary"):
        wanted = fields
    return wanted
