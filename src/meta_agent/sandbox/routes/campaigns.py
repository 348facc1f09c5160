"""Campaigns (Graph "ad campaign group"): ``/act_{id}/campaigns`` and ``/{campaign_id}``."""

from __future__ import annotations

from typing import Any

from meta_agent import versions
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
    to_ts,
)
from meta_agent.sandbox.params import check_enum, check_known
from meta_agent.sandbox.routes.common import (
    account_of,
    created,
    deleted,
    guard_editable,
    status_at_creation,
    status_change,
    status_listing,
    updated,
)
from meta_agent.sandbox.routes.labels import given_labels
from meta_agent.sandbox.rules import money as currency
from meta_agent.sandbox.rules.budgets import (
    check_budget_pair,
    check_lifetime_ceiling,
    check_minimum,
    schedule_days,
)
from meta_agent.sandbox.status import CAMPAIGN_EFFECTIVE, effective_status

OBJECTIVES = (
    "OUTCOME_APP_PROMOTION",
    "OUTCOME_AWARENESS",
    "OUTCOME_ENGAGEMENT",
    "OUTCOME_LEADS",
    "OUTCOME_SALES",
    "OUTCOME_TRAFFIC",
)
LEGACY_OBJECTIVES = (
    "APP_INSTALLS",
    "BRAND_AWARENESS",
    "CONVERSIONS",
    "EVENT_RESPONSES",
    "LEAD_GENERATION",
    "LINK_CLICKS",
    "LOCAL_AWARENESS",
    "MESSAGES",
    "OFFER_CLAIMS",
    "PAGE_LIKES",
    "POST_ENGAGEMENT",
    "PRODUCT_CATALOG_SALES",
    "REACH",
    "STORE_VISITS",
    "VIDEO_VIEWS",
)
SPECIAL_AD_CATEGORIES = (
    "NONE",
    "EMPLOYMENT",
    "HOUSING",
    "CREDIT",
    "ISSUES_ELECTIONS_POLITICS",
    "ONLINE_GAMBLING_AND_GAMING",
    "FINANCIAL_PRODUCTS_SERVICES",
)
BID_STRATEGIES = (
    "LOWEST_COST_WITHOUT_CAP",
    "LOWEST_COST_WITH_BID_CAP",
    "COST_CAP",
    "LOWEST_COST_WITH_MIN_ROAS",
)
BUYING_TYPES = ("AUCTION", "RESERVED")
CREATE_PARAMS = frozenset(
    {
        "name",
        "objective",
        "status",
        "special_ad_categories",
        "special_ad_category_country",
        "buying_type",
        "daily_budget",
        "lifetime_budget",
        "bid_strategy",
        "is_adset_budget_sharing_enabled",
        "spend_cap",
        "start_time",
        "stop_time",
        "promoted_object",
        "adlabels",
        "smart_promotion_type",
        "pacing_type",
        "source_campaign_id",
        "is_skadnetwork_attribution",
        "budget_schedule_specs",
        "is_budget_schedule_enabled",
        "frequency_control_specs",
        "topline_id",
        "campaign_optimization_type",
    }
)
UPDATE_PARAMS = CREATE_PARAMS | {"adset_budgets", "adset_bid_amounts", "budget_rebalance_flag"}
FIELDS = frozenset(
    {
        "id",
        "account_id",
        "name",
        "objective",
        "status",
        "configured_status",
        "effective_status",
        "buying_type",
        "bid_strategy",
        "daily_budget",
        "lifetime_budget",
        "budget_remaining",
        "spend_cap",
        "special_ad_categories",
        "special_ad_category",
        "special_ad_category_country",
        "start_time",
        "stop_time",
        "created_time",
        "updated_time",
        "promoted_object",
        "is_adset_budget_sharing_enabled",
        "issues_info",
        "source_campaign_id",
        "smart_promotion_type",
        "advantage_state_info",
        "pacing_type",
        "topline_id",
        "can_use_spend_cap",
        "adlabels",
    }
)


def register(registry: Registry) -> None:
    """Register the campaign node and the account's ``campaigns`` edge."""
    registry.node(
        NodeType(
            "campaign",
            "Campaign",
            FIELDS,
            render,
            ("id",),
            update=_update,
            delete=deleted,
            edges={},
        )
    )
    registry.add_edge("adaccount", "campaigns", Edge(get=_list, post=_create))


def render(ctx: Ctx, record: Record) -> dict[str, Any]:
    """A campaign with every readable field Meta would send for it."""
    account = ctx.state.get(f"act_{record['account_id']}")
    tz = account["timezone_name"]
    categories = record["special_ad_categories"]
    return compact(
        {
            "id": record["id"],
            "account_id": record["account_id"],
            "name": record["name"],
            "objective": record["objective"],
            "status": record["status"],
            "configured_status": record["status"],
            "effective_status": effective_status(ctx.state, record, ctx.now()),
            "buying_type": record.get("buying_type", "AUCTION"),
            "bid_strategy": record.get("bid_strategy"),
            "daily_budget": money(record.get("daily_budget")),
            "lifetime_budget": money(record.get("lifetime_budget")),
            "budget_remaining": money(_budget_remaining(record)),
            "spend_cap": money(record.get("spend_cap")),
            "special_ad_categories": categories,
            "special_ad_category": categories[0] if categories else "NONE",
            "special_ad_category_country": record.get("special_ad_category_country"),
            "start_time": fmt_time(record.get("start_time"), tz),
            "stop_time": fmt_time(record.get("stop_time"), tz),
            "created_time": fmt_time(record["created_time"], tz),
            "updated_time": fmt_time(record["updated_time"], tz),
            "promoted_object": record.get("promoted_object"),
            "is_adset_budget_sharing_enabled": record.get("is_adset_budget_sharing_enabled"),
            "issues_info": [],
            "pacing_type": record.get("pacing_type", ["standard"]),
            "can_use_spend_cap": True,
            "adlabels": record.get("adlabels"),
            "smart_promotion_type": record.get("smart_promotion_type"),
            "advantage_state_info": _advantage_state(record),
        }
    )


def _budget_remaining(record: Record) -> int | None:
    budget = record.get("daily_budget") or record.get("lifetime_budget")
    if budget is None:
        return 0
    return max(0, int(budget) - int(record.get("spent", 0)))


def _advantage_state(record: Record) -> dict[str, str]:
    has_budget = bool(record.get("daily_budget") or record.get("lifetime_budget"))
    return {
        "advantage_state": "DISABLED",
        "advantage_budget_state": "ENABLED" if has_budget else "DISABLED",
        "advantage_audience_state": "DISABLED",
        "advantage_placement_state": "DISABLED",
    }


def _list(ctx: Ctx, account: Record) -> Any:
    records = ctx.state.of_kind("campaign", account_id=account["account_id"])
    return status_listing(ctx, records, CAMPAIGN_EFFECTIVE, "campaign")


def _create(ctx: Ctx, account: Record) -> Any:
    account = account_of(ctx, account["id"])
    params = ctx.params
    check_known(params, CREATE_PARAMS, "Campaign")
    name = params.require_str("name", max_len=400)
    objective = _objective(ctx)
    categories = _special_ad_categories(ctx)
    status = status_at_creation(ctx)
    fields = _budget_fields(ctx, account, None)
    if "smart_promotion_type" in params and versions.at_least(ctx.req.version, "v25.0"):
        raise invalid_param(
            "Param smart_promotion_type is no longer supported for campaign creation",
            blame="smart_promotion_type",
            title="Advantage+ shopping campaigns can't be created this way",
            user_msg="Build Advantage+ campaigns from campaign budget, audience and placements.",
        )
    now = ctx.now()
    record: Record = {
        "kind": "campaign",
        "id": ctx.sb.new_id(),
        "account_id": account["account_id"],
        "name": name,
        "objective": objective,
        "status": status,
        "special_ad_categories": categories,
        "special_ad_category_country": params.list_("special_ad_category_country"),
        "buying_type": params.enum_("buying_type", BUYING_TYPES) or "AUCTION",
        "promoted_object": params.object_("promoted_object"),
        "pacing_type": params.list_("pacing_type"),
        # Kept so a legacy Advantage+ shopping campaign can be recognised (status.py).
        "smart_promotion_type": params.str_("smart_promotion_type"),
        "created_time": now,
        "updated_time": now,
        "spent": 0,
        **fields,
        **_schedule(ctx),
    }
    labels = given_labels(ctx, account["account_id"])
    return created(ctx, compact(record) | labels | {"special_ad_categories": categories})


def _objective(ctx: Ctx) -> str:
    objective = ctx.params.str_("objective")
    if objective is None:
        raise required_param("objective")
    if objective in LEGACY_OBJECTIVES:
        raise invalid_param(
            f"Objective {objective} is invalid. Use one of the following objectives instead: "
            + ", ".join(OBJECTIVES),
            subcode=2490408,
            blame="objective",
            title="Legacy objective",
            user_msg=f"{objective} can no longer be used for new campaigns; choose an OUTCOME_* objective.",
        )
    check_enum("objective", objective, OBJECTIVES)
    return objective


def _special_ad_categories(ctx: Ctx) -> list[str]:
    categories = ctx.params.list_("special_ad_categories")
    if categories is None:
        raise required_param("special_ad_categories")
    for category in categories:
        check_enum("special_ad_categories", str(category), SPECIAL_AD_CATEGORIES)
    return [str(c) for c in categories if c != "NONE"]


def _budget_fields(ctx: Ctx, account: Record, existing: Record | None) -> dict[str, Any]:
    params = ctx.params
    daily = params.int_("daily_budget", minimum=0)
    lifetime = params.int_("lifetime_budget", minimum=0)
    check_budget_pair(*_budget_pair_after(ctx, daily, lifetime, existing))
    check_lifetime_ceiling(lifetime, account["currency"])
    _check_minimum(ctx, account["currency"], daily or None, lifetime or None, existing)
    sharing = params.bool_("is_adset_budget_sharing_enabled")
    has_budget = bool(daily or lifetime)
    if existing is None and not has_budget and sharing is None:
        raise invalid_param(
            "Must specify True or False in is_adset_budget_sharing_enabled field if you are not "
            "using campaign budget",
            blame="is_adset_budget_sharing_enabled",
            title="Budget sharing setting required",
            user_msg="Without a campaign budget, send is_adset_budget_sharing_enabled=true or false.",
        )
    bid_strategy = params.enum_("bid_strategy", BID_STRATEGIES)
    if bid_strategy is not None and not has_budget and existing is None:
        raise invalid_param(
            "bid_strategy can only be set on a campaign that uses campaign budget",
            blame="bid_strategy",
            title="Bid strategy belongs on the ad sets",
            user_msg="Set bid_strategy on each ad set, or give the campaign a budget.",
        )
    spend_cap = params.int_("spend_cap", minimum=0)
    if spend_cap is not None:
        _check_spend_cap(spend_cap, account["currency"])
    out: dict[str, Any] = {
        "daily_budget": daily or None,
        "lifetime_budget": lifetime or None,
        "is_adset_budget_sharing_enabled": sharing if not has_budget else None,
        "bid_strategy": bid_strategy or ("LOWEST_COST_WITHOUT_CAP" if has_budget else None),
        "spend_cap": spend_cap,
    }
    return out if existing is None else {k: v for k, v in out.items() if v is not None}


def _budget_pair_after(
    ctx: Ctx, daily: int | None, lifetime: int | None, existing: Record | None
) -> tuple[int | None, int | None]:
    """The budgets the campaign would hold after this request (an update keeps the other one)."""
    if existing is None:
        return daily, lifetime
    if "daily_budget" not in ctx.params:
        daily = existing.get("daily_budget")
    if "lifetime_budget" not in ctx.params:
        lifetime = existing.get("lifetime_budget")
    return daily, lifetime


def _check_minimum(
    ctx: Ctx, code: str, daily: int | None, lifetime: int | None, existing: Record | None
) -> None:
    """A campaign budget must cover at least the impressions floor (x days for lifetime)."""
    if daily is None and lifetime is None:
        return
    start = ctx.params.time_("start_time")
    stop = ctx.params.time_("stop_time")
    start_ts = to_ts(start) if start else (existing or {}).get("start_time", ctx.now())
    stop_ts = to_ts(stop) if stop else (existing or {}).get("stop_time")
    days = schedule_days(start_ts, stop_ts)
    check_minimum(daily, lifetime, currency.minimums(code).impressions, days, code, "campaign")


def _check_spend_cap(spend_cap: int, code: str) -> None:
    floor = currency.from_usd_minor(currency.SPEND_CAP_FLOOR_USD_MINOR, code)
    if spend_cap != 922337203685478 and 0 < spend_cap < floor:
        raise invalid_param(
            "Campaign spend cap is too low",
            subcode=2446307,
            blame="spend_cap",
            title="Spend cap too low",
            user_msg=f"The campaign spend cap must be at least {currency.format_amount(floor, code)}.",
        )


def _schedule(ctx: Ctx) -> dict[str, Any]:
    start = ctx.params.time_("start_time")
    stop = ctx.params.time_("stop_time")
    if start and stop and stop <= start:
        raise invalid_param(
            "The stop time must be after the start time",
            subcode=1487033,
            blame="stop_time",
            user_msg="Pick a stop_time later than start_time.",
        )
    return compact({"start_time": start and to_ts(start), "stop_time": stop and to_ts(stop)})


def _update(ctx: Ctx, record: Record) -> Any:
    check_known(ctx.params, UPDATE_PARAMS, "Campaign")
    guard_editable(ctx, record, set())
    account = ctx.state.get(f"act_{record['account_id']}")
    changes: dict[str, Any] = status_change(ctx, record)
    if "name" in ctx.params:
        changes["name"] = ctx.params.require_str("name", max_len=400)
    if "objective" in ctx.params and ctx.params.str_("objective") != record["objective"]:
        raise invalid_param(
            "The objective of an existing campaign can't be changed",
            blame="objective",
            user_msg="Create a new campaign to use another objective.",
        )
    budget_changes = _budget_fields(ctx, account, record)
    _check_budget_level_change(ctx, record, budget_changes)
    changes.update(budget_changes)
    changes.update(_schedule(ctx))
    changes.update(given_labels(ctx, record["account_id"]))
    return updated(ctx, record, changes)


def _check_budget_level_change(ctx: Ctx, record: Record, changes: dict[str, Any]) -> None:
    """A campaign without a budget cannot gain one while its ad sets carry their own."""
    gaining = (changes.get("daily_budget") or changes.get("lifetime_budget")) and not (
        record.get("daily_budget") or record.get("lifetime_budget")
    )
    if not gaining:
        return
    budgeted = [
        adset
        for adset in ctx.state.of_kind("adset", campaign_id=record["id"])
        if adset.get("status") != "DELETED"
        and (adset.get("daily_budget") or adset.get("lifetime_budget"))
    ]
    if budgeted and "adset_budgets" not in ctx.params:
        raise invalid_param(
            "Budget can't be set on both the campaign and its ad sets",
            subcode=1885621,
            blame="daily_budget",
            title="Budget already set on ad sets",
            user_msg="Remove the ad set budgets first, or keep the budget on the ad sets.",
        )
