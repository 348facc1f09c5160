"""Ad sets (Graph "ad campaign"): ``/act_{id}/adsets``, ``/{campaign_id}/adsets``, ``/{adset_id}``.

Create and update share one path: the request's parameters are parsed into record keys,
laid over the stored ad set (nothing, on create), and the result is checked as a whole by
the rules in ``rules/``. So an update that only moves ``end_time`` is still checked against
the budget it already has.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from meta_agent.sandbox.activities import DEFAULT_FIELDS as ACTIVITY_FIELDS
from meta_agent.sandbox.activities import account_activities
from meta_agent.sandbox.core import Ctx
from meta_agent.sandbox.errors import invalid_param, required_param
from meta_agent.sandbox.nodes import (
    Edge,
    NodeType,
    Record,
    Registry,
    compact,
    fmt_time,
    money,
    sdk_page,
    to_ts,
)
from meta_agent.sandbox.params import Params, check_known
from meta_agent.sandbox.routes.campaigns import BID_STRATEGIES
from meta_agent.sandbox.routes.common import (
    account_of,
    created,
    deleted,
    guard_editable,
    live_parent,
    status_at_creation,
    status_change,
    status_listing,
    updated,
)
from meta_agent.sandbox.routes.labels import given_labels
from meta_agent.sandbox.rules import budgets, objectives
from meta_agent.sandbox.rules import money as currency
from meta_agent.sandbox.rules.changes import V26
from meta_agent.sandbox.rules.regional import check_regional_regulation
from meta_agent.sandbox.rules.targeting import Scope, check_dsa, check_targeting, normalize
from meta_agent.sandbox.status import ADSET_EFFECTIVE, effective_status

CREATE_PARAMS = frozenset(
    {
        "name",
        "campaign_id",
        "campaign_spec",
        "status",
        "optimization_goal",
        "billing_event",
        "bid_strategy",
        "bid_amount",
        "bid_constraints",
        "daily_budget",
        "lifetime_budget",
        "start_time",
        "end_time",
        "targeting",
        "promoted_object",
        "destination_type",
        "attribution_spec",
        "frequency_control_specs",
        "dsa_beneficiary",
        "dsa_payor",
        "is_dynamic_creative",
        "adset_schedule",
        "pacing_type",
        "daily_min_spend_target",
        "daily_spend_cap",
        "lifetime_min_spend_target",
        "lifetime_spend_cap",
        "placement_soft_opt_out",
        "regional_regulated_categories",
        "regional_regulation_identities",
        "multi_optimization_goal_weight",
        "optimization_sub_event",
        "existing_customer_budget_percentage",
        "budget_schedule_specs",
        "tune_for_category",
        "value_rule_set_id",
        "adlabels",
        "source_adset_id",
        "full_funnel_exploration_mode",
        "cost_bidding_mode",
        "instagram_user_id",
        "lifetime_imps",
        "rf_prediction_id",
    }
)
UPDATE_PARAMS = CREATE_PARAMS
FIELDS = frozenset(
    {
        "id",
        "account_id",
        "campaign_id",
        "campaign",
        "name",
        "status",
        "configured_status",
        "effective_status",
        "optimization_goal",
        "billing_event",
        "bid_strategy",
        "bid_amount",
        "bid_constraints",
        "daily_budget",
        "lifetime_budget",
        "budget_remaining",
        "start_time",
        "end_time",
        "created_time",
        "updated_time",
        "targeting",
        "promoted_object",
        "destination_type",
        "attribution_spec",
        "frequency_control_specs",
        "dsa_beneficiary",
        "dsa_payor",
        "is_dynamic_creative",
        "pacing_type",
        "issues_info",
        "learning_stage_info",
        "bid_info",
        "adlabels",
        "daily_min_spend_target",
        "daily_spend_cap",
        "lifetime_min_spend_target",
        "lifetime_spend_cap",
        "instagram_user_id",
        "multi_optimization_goal_weight",
        "optimization_sub_event",
        "source_adset_id",
        "recommendations",
        "lifetime_imps",
        "regional_regulated_categories",
        "regional_regulation_identities",
        "existing_customer_budget_percentage",
    }
)
_OPTIONAL_ECHOED = (
    "attribution_spec",
    "frequency_control_specs",
    "dsa_beneficiary",
    "dsa_payor",
    "is_dynamic_creative",
    "pacing_type",
    "bid_constraints",
    "adlabels",
    "regional_regulated_categories",
    "regional_regulation_identities",
    "existing_customer_budget_percentage",
)
_DELIVERY_KEYS = {"optimization_goal", "billing_event", "destination_type", "promoted_object"}
_TARGETING_KEYS = {"targeting", "dsa_beneficiary", "dsa_payor"}
_REGIONAL_KEYS = {"regional_regulated_categories", "regional_regulation_identities"}
_MONEY_KEYS = {
    "daily_budget",
    "lifetime_budget",
    "bid_amount",
    "bid_strategy",
    "bid_constraints",
    "start_time",
    "end_time",
    "billing_event",
}


def register(registry: Registry) -> None:
    """Register the ad set node, the account and campaign ``adsets`` edges, and minimum budgets."""
    registry.node(
        NodeType(
            "adset",
            "AdSet",
            FIELDS,
            render,
            ("id",),
            update=_update,
            delete=deleted,
            references={"campaign": "campaign"},
        )
    )
    registry.add_edge("adaccount", "adsets", Edge(get=_list_for_account, post=_create))
    registry.add_edge("campaign", "adsets", Edge(get=_list_for_campaign))
    registry.add_edge("adaccount", "minimum_budgets", Edge(get=_minimum_budgets))
    registry.add_edge("adset", "activities", Edge(get=_activities))


def _activities(ctx: Ctx, adset: Record) -> Any:
    """The account log's entries for the ad set and its ads, newest first (``since``/``until``)."""
    ads = {ad["id"] for ad in ctx.state.of_kind("ad", adset_id=adset["id"])}
    items = account_activities(ctx, str(adset["account_id"]), ads | {adset["id"]})
    return sdk_page(ctx, items, "AdActivity", ACTIVITY_FIELDS)


def render(ctx: Ctx, record: Record) -> dict[str, Any]:
    """An ad set with every readable field Meta would send for it."""
    tz = ctx.state.get(f"act_{record['account_id']}")["timezone_name"]
    campaign = ctx.state.find(record["campaign_id"]) or {}
    budget = record.get("daily_budget") or record.get("lifetime_budget")
    out = {
        "id": record["id"],
        "account_id": record["account_id"],
        "campaign_id": record["campaign_id"],
        "campaign": {"id": record["campaign_id"]},
        "name": record["name"],
        "status": record["status"],
        "configured_status": record["status"],
        "effective_status": effective_status(ctx.state, record, ctx.now()),
        "optimization_goal": record["optimization_goal"],
        "billing_event": record["billing_event"],
        "bid_strategy": record.get("bid_strategy") or campaign.get("bid_strategy"),
        "bid_amount": record.get("bid_amount"),
        "daily_budget": money(record.get("daily_budget")),
        "lifetime_budget": money(record.get("lifetime_budget")),
        "budget_remaining": money(max(0, int(budget or 0) - int(record.get("spent", 0)))),
        "start_time": fmt_time(record.get("start_time"), tz),
        "end_time": fmt_time(record.get("end_time"), tz),
        "created_time": fmt_time(record["created_time"], tz),
        "updated_time": fmt_time(record["updated_time"], tz),
        "targeting": normalize(record["targeting"], ctx.state),
        "promoted_object": record.get("promoted_object"),
        "destination_type": record.get("destination_type"),
        "issues_info": [],
    }
    out.update({key: record.get(key) for key in _OPTIONAL_ECHOED})
    return compact(out)


def _list_for_account(ctx: Ctx, account: Record) -> Any:
    return _listing(ctx, ctx.state.of_kind("adset", account_id=account["account_id"]))


def _list_for_campaign(ctx: Ctx, campaign: Record) -> Any:
    return _listing(ctx, ctx.state.of_kind("adset", campaign_id=campaign["id"]))


def _listing(ctx: Ctx, records: Iterable[Record]) -> Any:
    return status_listing(ctx, records, ADSET_EFFECTIVE, "adset")


def _minimum_budgets(ctx: Ctx, account: Record) -> Any:
    table = currency.minimums(account["currency"])
    row = {
        "currency": account["currency"],
        "min_daily_budget_imp": table.impressions,
        "min_daily_budget_high_freq": table.high_frequency,
        "min_daily_budget_low_freq": table.low_frequency,
        "min_daily_budget_video_views": table.video_views,
    }
    return {"data": [row]}


def _create(ctx: Ctx, account: Record) -> Any:
    account = account_of(ctx, account["id"])
    check_known(ctx.params, CREATE_PARAMS, "AdSet")
    name = ctx.params.require_str("name", max_len=400)
    campaign = live_parent(ctx, "campaign_id", "campaign", account["account_id"])
    for required in ("billing_event", "targeting"):
        if required not in ctx.params:
            raise required_param(required)
    _check_counts(ctx, campaign)
    now = ctx.now()
    record: Record = {
        "kind": "adset",
        "account_id": account["account_id"],
        "campaign_id": campaign["id"],
        "name": name,
        "status": status_at_creation(ctx),
        "optimization_goal": objectives.default_goal(campaign["objective"]),
        "start_time": now,
        "created_time": now,
        "updated_time": now,
        "spent": 0,
        **_parse(ctx),
    }
    _check_delivery(ctx, record, campaign)
    record["targeting"] = _check_audience(ctx, record, campaign, creating=True)
    _check_regional(ctx, record)
    record["bid_strategy"] = _check_money(ctx, record, campaign, account, set(_MONEY_KEYS))
    record["id"] = ctx.sb.new_id()  # only once valid, so refused requests burn no ids
    return created(ctx, compact(record) | given_labels(ctx, account["account_id"]))


def _update(ctx: Ctx, record: Record) -> Any:
    check_known(ctx.params, UPDATE_PARAMS, "AdSet")
    guard_editable(ctx, record, set())
    changes: dict[str, Any] = status_change(ctx, record)
    if "campaign_id" in ctx.params and ctx.params.str_("campaign_id") != record["campaign_id"]:
        raise invalid_param(
            "An ad set can't be moved to another campaign",
            blame="campaign_id",
            title="Campaign can't be changed",
            user_msg="Create a new ad set in the other campaign instead.",
        )
    parsed = _parse(ctx)
    changes.update(parsed)
    candidate = {**record, **changes}
    campaign = ctx.state.get(record["campaign_id"])
    account = ctx.state.get(f"act_{record['account_id']}")
    touched = set(parsed)
    if touched & _DELIVERY_KEYS:
        _check_delivery(ctx, candidate, campaign)
    if touched & _TARGETING_KEYS:
        changes["targeting"] = _check_audience(ctx, candidate, campaign, creating=False)
    if touched & (_REGIONAL_KEYS | {"existing_customer_budget_percentage"}):
        _check_regional(ctx, candidate)
    if touched & _MONEY_KEYS:
        changes["bid_strategy"] = _check_money(ctx, candidate, campaign, account, touched)
        changes.update(_budget_change_log(ctx, record, candidate, account))
    changes.update(given_labels(ctx, record["account_id"]))
    return updated(ctx, record, changes)


def _parse(ctx: Ctx) -> dict[str, Any]:
    """The ad set keys this request sets, typed and enum-checked (present parameters only)."""
    params = ctx.params
    out: dict[str, Any] = {}
    for key, allowed in _ENUMS:
        if key in params:
            out[key] = params.enum_(key, allowed)
    for keys, getter in _GETTERS:
        out.update({key: getter(params, key) for key in keys if key in params})
    out.update(_times(ctx))
    return out


_ENUMS = (
    ("optimization_goal", objectives.OPTIMIZATION_GOALS),
    ("billing_event", objectives.BILLING_EVENTS),
    ("destination_type", objectives.DESTINATION_TYPES),
    ("bid_strategy", BID_STRATEGIES),
)
_GETTERS: tuple[tuple[tuple[str, ...], Callable[[Params, str], Any]], ...] = (
    (("name",), lambda p, key: p.require_str(key, max_len=400)),
    # Zero means "no budget" / "no bid" on the wire, so it is stored as absent.
    (
        ("daily_budget", "lifetime_budget", "bid_amount"),
        lambda p, key: p.int_(key, minimum=0) or None,
    ),
    (("targeting",), lambda p, key: p.object_(key, required=True)),
    (("promoted_object", "bid_constraints"), lambda p, key: p.object_(key)),
    (
        ("attribution_spec", "frequency_control_specs", "pacing_type", "adlabels"),
        lambda p, key: p.list_(key),
    ),
    (("dsa_beneficiary", "dsa_payor"), lambda p, key: p.str_(key)),
    (("is_dynamic_creative",), lambda p, key: p.bool_(key)),
    (("regional_regulated_categories",), lambda p, key: p.list_(key)),
    (("regional_regulation_identities",), lambda p, key: p.object_(key)),
    (("existing_customer_budget_percentage",), lambda p, key: p.int_(key, minimum=0)),
)


def _times(ctx: Ctx) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "start_time" in ctx.params:
        start = ctx.params.time_("start_time")
        out["start_time"] = to_ts(start) if start else ctx.now()
    if "end_time" in ctx.params:
        # end_time=0 with a daily budget means "run until paused" (§3.2).
        raw = str(ctx.params.get_raw("end_time")).strip()
        end = None if raw in {"0", ""} else ctx.params.time_("end_time")
        out["end_time"] = to_ts(end) if end else None
    return out


def _check_counts(ctx: Ctx, campaign: Record) -> None:
    config = ctx.sb.config
    live = [
        a
        for a in ctx.state.of_kind("adset", account_id=campaign["account_id"])
        if a["status"] != "DELETED"
    ]
    in_campaign = sum(1 for a in live if a["campaign_id"] == campaign["id"])
    for count, limit, where in (
        (in_campaign, config.max_adsets_per_campaign, "campaign"),
        (len(live), config.max_adsets_per_account, "ad account"),
    ):
        if count >= limit:
            raise invalid_param(
                f"The {where} has reached its limit of {limit} ad sets",
                blame="campaign_id",
                title="Too many ad sets",
                user_msg=f"Delete unused ad sets or use another {where}: the limit is {limit}.",
            )


def _check_delivery(ctx: Ctx, adset: Record, campaign: Record) -> None:
    """Objective, destination, goal, billing event and promoted object fit together."""
    objective = campaign["objective"]
    destination = adset.get("destination_type")
    goal = adset["optimization_goal"]
    objectives.check_destination(objective, destination)
    objectives.check_goal(objective, destination, goal)
    objectives.check_billing(goal, adset["billing_event"], campaign.get("buying_type", "AUCTION"))
    needed = objectives.required_promoted_fields(objective, destination, goal)
    objectives.check_promoted_object(ctx.state, adset.get("promoted_object"), needed)


def _check_audience(ctx: Ctx, adset: Record, campaign: Record, *, creating: bool) -> Any:
    """The targeting spec, and the DSA fields when it reaches the EU.

    Returns the spec to store (Meta's defaults and silent removals applied).
    """
    scope = Scope(
        ctx.state,
        ctx.req.version,
        ctx.sb.today().date(),
        adset["account_id"],
        tuple(campaign.get("special_ad_categories") or ()),
        objective=campaign.get("objective"),
        creating=creating,
    )
    spec = check_targeting(adset["targeting"], scope)
    check_dsa(spec, adset.get("dsa_beneficiary"), adset.get("dsa_payor"))
    return spec


def _check_regional(ctx: Ctx, adset: Record) -> None:
    """Regional regulation identities (§13.4) and the retired shopping-campaign split (§13.2)."""
    today = ctx.sb.today().date()
    check_regional_regulation(
        adset.get("regional_regulated_categories"),
        adset.get("regional_regulation_identities"),
        ctx.req.version,
        today,
    )
    if adset.get("existing_customer_budget_percentage") is not None and V26.applies(
        ctx.req.version, today
    ):
        # Meta paused the legacy Advantage+ shopping campaigns that split budget this way at
        # v26.0; the sandbox refuses new uses rather than create an ad set born paused.
        raise invalid_param(
            "existing_customer_budget_percentage is no longer supported: legacy Advantage+ "
            "shopping campaigns that use it were paused at v26.0",
            blame="existing_customer_budget_percentage",
            title="Legacy Advantage+ shopping campaigns retired",
            user_msg="Remove existing_customer_budget_percentage; build the campaign from "
            "Advantage+ campaign budget, audience and placements (duplicate old ones in Ads "
            "Manager).",
        )


def _check_money(
    ctx: Ctx, adset: Record, campaign: Record, account: Record, touched: set[str]
) -> str | None:
    """Budget level, budget pair, schedule, floors, ceiling and bid for the ad set as a whole.

    Returns the ad set's own bid strategy (None when the campaign holds the budget).
    """
    daily, lifetime = adset.get("daily_budget"), adset.get("lifetime_budget")
    start, end = adset["start_time"], adset.get("end_time")
    cbo = bool(campaign.get("daily_budget") or campaign.get("lifetime_budget"))
    if touched & {"daily_budget", "lifetime_budget"}:
        budgets.check_budget_level(cbo, daily, lifetime)
    budgets.check_budget_pair(daily, lifetime)
    budgets.check_schedule(start, end, ctx.now(), future=bool(touched & {"start_time", "end_time"}))
    # Under a lifetime campaign budget the ad sets carry the end date unless the campaign does.
    campaign_lifetime = bool(campaign.get("lifetime_budget")) and not campaign.get("stop_time")
    budgets.check_budget_schedule(daily, bool(lifetime) or campaign_lifetime, start, end)
    code = account["currency"]
    floor = budgets.daily_floor(code, adset["billing_event"])
    budgets.check_minimum(daily, lifetime, floor, budgets.schedule_days(start, end), code, "ad set")
    budgets.check_lifetime_ceiling(lifetime, code)
    own = adset.get("bid_strategy") if ("bid_strategy" in touched or not cbo) else None
    strategy = budgets.effective_bid_strategy(
        own, adset.get("bid_amount"), campaign.get("bid_strategy"), cbo
    )
    budgets.check_bid(strategy, adset.get("bid_amount"), adset.get("bid_constraints"))
    return None if cbo else strategy


def _budget_change_log(
    ctx: Ctx, record: Record, candidate: Record, account: Record
) -> dict[str, Any]:
    """Count a real budget change against the four-per-hour allowance; check it against spend."""
    keys = ("daily_budget", "lifetime_budget")
    if all(candidate.get(k) == record.get(k) for k in keys):
        return {}
    budgets.check_above_spent(
        candidate.get("lifetime_budget"), int(record.get("spent", 0)), account["currency"]
    )
    now = ctx.now()
    recent = budgets.recent_budget_changes(list(record.get("budget_change_times", [])), now)
    return {"budget_change_times": [*recent, now]}
