"""The ad rules library: ``/act_X/adrules_library`` and ``/{rule_id}``.

A rule is a name, an ``evaluation_spec`` (which objects: ``SCHEDULE`` or ``TRIGGER``, and
``filters`` of ``field``/``value``/``operator``), an ``execution_spec`` (what to do to them) and,
for scheduled rules, a ``schedule_spec``. The sandbox stores, checks and serves rules as Meta's
library does; it does not run them (no object is paused by a rule, and ``history`` is empty).
``/{object}/adrules_governed`` lists the live rules over a campaign, ad set or ad: those whose
``entity_type`` filter is its level and whose ``id`` filter, if any, names it.
"""

from __future__ import annotations

from typing import Any

from meta_agent.sandbox.core import Ctx
from meta_agent.sandbox.errors import GraphError, invalid_param, object_not_found, required_param
from meta_agent.sandbox.nodes import (
    Edge,
    NodeType,
    Record,
    Registry,
    compact,
    fmt_time,
    page,
    read_node,
)
from meta_agent.sandbox.params import check_enum, check_known
from meta_agent.sandbox.routes.common import SUCCESS, created
from meta_agent.sandbox.state import USER_ID

RULE_FIELDS = frozenset(
    {
        "id",
        "account_id",
        "name",
        "evaluation_spec",
        "execution_spec",
        "schedule_spec",
        "status",
        "created_by",
        "created_time",
        "updated_time",
    }
)
SPECS = ("evaluation_spec", "execution_spec", "schedule_spec")
UPDATE_PARAMS = frozenset({"name", "status", *SPECS})
CREATE_PARAMS = UPDATE_PARAMS | {"account_id", "recommended_rule_key", "ui_creation_source"}
# Enums of Meta's SDK: AdRule.Status, AdRuleEvaluationSpec.EvaluationType,
# AdRuleFilters.Operator, AdRuleExecutionSpec.ExecutionType.
STATUSES = ("ENABLED", "DISABLED")
EVALUATION_TYPES = ("SCHEDULE", "TRIGGER")
OPERATORS = (
    "GREATER_THAN",
    "LESS_THAN",
    "EQUAL",
    "NOT_EQUAL",
    "IN_RANGE",
    "NOT_IN_RANGE",
    "IN",
    "NOT_IN",
    "CONTAIN",
    "NOT_CONTAIN",
    "ANY",
    "ALL",
    "NONE",
)
EXECUTION_TYPES = (
    "ADD_INTEREST_RELAXATION",
    "ADD_QUESTIONNAIRE_INTERESTS",
    "AD_RECOMMENDATION_APPLY",
    "AUDIENCE_CONSOLIDATION",
    "AUDIENCE_CONSOLIDATION_ASK_FIRST",
    "CHANGE_BID",
    "CHANGE_BUDGET",
    "CHANGE_CAMPAIGN_BUDGET",
    "DCO",
    "INCREASE_RADIUS",
    "NOTIFICATION",
    "PAUSE",
    "PING_ENDPOINT",
    "REBALANCE_BUDGET",
    "ROTATE",
    "UNPAUSE",
    "UPDATE_CREATIVE",
    "UPDATE_LAX_BUDGET",
    "UPDATE_LAX_DURATION",
)
SCHEDULE_TYPES = ("DAILY", "HOURLY", "SEMI_HOURLY", "CUSTOM")
# The entity_type value of each object kind a rule can govern.
ENTITY_TYPES = {"campaign": "CAMPAIGN", "adset": "ADSET", "ad": "AD"}


def register(registry: Registry) -> None:
    """Register the rule node and the account's library edge."""
    registry.node(
        NodeType(
            "adrule",
            "AdRule",
            RULE_FIELDS,
            _render,
            ("id",),
            update=_update,
            delete=_delete,
            references={"created_by": "user"},
        )
    )
    registry.add_edge("adaccount", "adrules_library", Edge(get=_list, post=_create))
    for kind in ENTITY_TYPES:
        registry.add_edge(kind, "adrules_governed", Edge(get=_governing))


def _render(ctx: Ctx, record: Record) -> dict[str, Any]:
    account = ctx.state.find(f"act_{record['account_id']}") or {}
    tz = str(account.get("timezone_name") or "UTC")
    user = ctx.state.find(USER_ID) or {"id": USER_ID, "name": None}
    return compact(
        {
            "id": record["id"],
            "account_id": record["account_id"],
            "name": record["name"],
            "evaluation_spec": record["evaluation_spec"],
            "execution_spec": record["execution_spec"],
            "schedule_spec": record.get("schedule_spec"),
            "status": record["status"],
            "created_by": {"id": user["id"], "name": user["name"]},
            "created_time": fmt_time(record["created_time"], tz),
            "updated_time": fmt_time(record.get("updated_time", record["created_time"]), tz),
        }
    )


def _live_rules(ctx: Ctx, account_id: str) -> list[Record]:
    rules = ctx.state.of_kind("adrule", account_id=account_id)
    return [r for r in rules if r["status"] != "DELETED"]


def _list(ctx: Ctx, account: Record) -> Any:
    """The account's rules, oldest first; deleted ones are not listed."""
    return page(ctx, _live_rules(ctx, account["account_id"]), lambda r: read_node(ctx, r))


def _governing(ctx: Ctx, target: Record) -> Any:
    """The rules over a campaign, ad set or ad (``pass_evaluation`` is not modelled)."""
    rules = [r for r in _live_rules(ctx, target["account_id"]) if _governs(r, target)]
    return page(ctx, rules, lambda r: read_node(ctx, r))


def _governs(rule: Record, target: Record) -> bool:
    filters = rule["evaluation_spec"].get("filters", [])
    level = ENTITY_TYPES[target["kind"]]
    if not any(f.get("field") == "entity_type" and f.get("value") == level for f in filters):
        return False
    named = [f.get("value") for f in filters if f.get("field") == "id"]
    return all(_names(value, str(target["id"])) for value in named)


def _names(value: Any, object_id: str) -> bool:
    values = value if isinstance(value, list) else [value]
    return object_id in {str(item) for item in values}


def _create(ctx: Ctx, account: Record) -> Any:
    """``POST /act_X/adrules_library``: name, evaluation_spec and execution_spec required.

    Raises:
        GraphError: a missing or malformed spec or name, an unknown parameter (#100).
    """
    check_known(ctx.params, CREATE_PARAMS, "AdRule")
    specs = _specs(ctx)
    for name in ("evaluation_spec", "execution_spec"):
        if name not in specs:
            raise required_param(name)
    _check_schedule_needs(specs)
    record = {
        "kind": "adrule",
        "id": ctx.sb.new_id(),
        "account_id": account["account_id"],
        "name": ctx.params.require_str("name", max_len=255),
        "status": ctx.params.enum_("status", STATUSES) or "ENABLED",
        "created_time": ctx.now(),
        **specs,
    }
    return created(ctx, record)


def _update(ctx: Ctx, rule: Record) -> Any:
    """``POST /{rule_id}``: a spec is replaced whole, as Meta asks for every field of it."""
    if rule["status"] == "DELETED":
        raise object_not_found(rule["id"], "POST")
    check_known(ctx.params, UPDATE_PARAMS, "AdRule")
    changes: dict[str, Any] = _specs(ctx)
    if "name" in ctx.params:
        changes["name"] = ctx.params.require_str("name", max_len=255)
    status = ctx.params.enum_("status", STATUSES)
    if status is not None:
        changes["status"] = status
    _check_schedule_needs({**rule, **changes})
    rule.update(changes, updated_time=ctx.now())
    return dict(SUCCESS)


def _delete(ctx: Ctx, rule: Record) -> Any:
    if rule["status"] == "DELETED":
        raise object_not_found(rule["id"], "DELETE")
    rule.update(status="DELETED", updated_time=ctx.now())
    return dict(SUCCESS)


def _specs(ctx: Ctx) -> dict[str, Any]:
    """The specs given, each a JSON object checked for what Meta requires in it."""
    checks = {
        "evaluation_spec": _check_evaluation,
        "execution_spec": _check_execution,
        "schedule_spec": _check_schedule,
    }
    found: dict[str, Any] = {}
    for name, check in checks.items():
        spec = ctx.params.object_(name)
        if spec is not None:
            check(spec)
            found[name] = spec
    return found


def _check_evaluation(spec: dict[str, Any]) -> None:
    evaluation_type = _required(spec, "evaluation_spec", "evaluation_type")
    check_enum("evaluation_spec.evaluation_type", str(evaluation_type), EVALUATION_TYPES)
    filters = _required(spec, "evaluation_spec", "filters")
    if not isinstance(filters, list) or not all(isinstance(f, dict) for f in filters):
        raise _bad("evaluation_spec.filters", "must be an array of filter objects")
    for entry in filters:
        _check_filter(entry, "evaluation_spec.filters")
    if not any(entry.get("field") == "entity_type" for entry in filters):
        raise _bad(
            "evaluation_spec.filters",
            "must include an entity_type filter",
            'Add {"field": "entity_type", "value": "AD", "operator": "EQUAL"}.',
        )
    if evaluation_type == "TRIGGER":
        trigger = _required(spec, "evaluation_spec", "trigger")
        if not isinstance(trigger, dict):
            raise _bad("evaluation_spec.trigger", "must be an object")
        _required(trigger, "evaluation_spec.trigger", "type")
        _check_filter(trigger, "evaluation_spec.trigger")


def _check_filter(entry: dict[str, Any], where: str) -> None:
    for key in ("field", "value", "operator"):
        _required(entry, where, key)
    check_enum(f"{where}.operator", str(entry["operator"]), OPERATORS)


def _check_execution(spec: dict[str, Any]) -> None:
    execution_type = _required(spec, "execution_spec", "execution_type")
    check_enum("execution_spec.execution_type", str(execution_type), EXECUTION_TYPES)
    options = spec.get("execution_options")
    if options is not None and not isinstance(options, list):
        raise _bad("execution_spec.execution_options", "must be an array")


def _check_schedule(spec: dict[str, Any]) -> None:
    schedule_type = _required(spec, "schedule_spec", "schedule_type")
    check_enum("schedule_spec.schedule_type", str(schedule_type), SCHEDULE_TYPES)
    if schedule_type == "CUSTOM" and not spec.get("schedule"):
        raise _bad("schedule_spec.schedule", "is required for a CUSTOM schedule")


def _check_schedule_needs(specs: dict[str, Any]) -> None:
    """A TRIGGER rule is evaluated on change and takes no schedule."""
    evaluation = specs.get("evaluation_spec") or {}
    if evaluation.get("evaluation_type") == "TRIGGER" and specs.get("schedule_spec"):
        raise _bad("schedule_spec", "is only for SCHEDULE rules", "Drop schedule_spec.")


def _required(spec: dict[str, Any], where: str, key: str) -> Any:
    if spec.get(key) is None:
        raise _bad(f"{where}.{key}", "is required", f"Add '{key}' to {where}.")
    return spec[key]


def _bad(path: str, problem: str, fix: str | None = None) -> GraphError:
    return invalid_param(
        f"Param {path} {problem}",
        blame=path,
        user_msg=fix or f"Fix {path}: it {problem}.",
    )
