"""Ads (Graph "adgroup"): ``/act_{id}/ads``, ``/{adset_id}/ads``, ``/{campaign_id}/ads``,
``/{ad_id}`` and ``/act_{id}/ads_volume`` (reference §3.4, §3.7, §5.9).

An ad joins an ad set to a creative. Every new ad, and every ad whose creative is swapped,
goes through review: for ``REVIEW_SECONDS`` of sandbox time an ACTIVE ad reads back as
``PENDING_REVIEW`` (see ``status.effective_status``), then as ACTIVE.
"""

from __future__ import annotations

from typing import Any

from meta_agent.sandbox.core import Ctx
from meta_agent.sandbox.errors import GraphError, invalid_param
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
from meta_agent.sandbox.params import Params, check_known, validate_only
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
from meta_agent.sandbox.routes.creatives import build_creative
from meta_agent.sandbox.routes.labels import given_labels
from meta_agent.sandbox.rules import creative as creative_rules
from meta_agent.sandbox.status import AD_EFFECTIVE, effective_status

REVIEW_SECONDS = 30.0
NAME_MAX = 400
REQUIRED = ("name", "adset_id", "creative")
UPDATE_PARAMS = frozenset(
    {
        "ad_schedule_end_time",
        "ad_schedule_start_time",
        "adlabels",
        "adset_spec",
        "audience_id",
        "bid_amount",
        "conversion_domain",
        "creative",
        "creative_asset_groups_spec",
        "creative_audience_pairing_persona",
        "creative_automation_spec",
        "display_sequence",
        "draft_adgroup_id",
        "engagement_audience",
        "include_demolink_hashes",
        "name",
        "priority",
        "status",
        "tracking_specs",
    }
)
CREATE_PARAMS = UPDATE_PARAMS | {"adset_id", "dataset_split_specs", "source_ad_id"}
# Settings stored as sent and echoed back on reads.
_ECHOED = (
    "tracking_specs",
    "conversion_domain",
    "adlabels",
    "display_sequence",
    "priority",
    "engagement_audience",
    "source_ad_id",
)
FIELDS = frozenset(
    {
        *CREATE_PARAMS,
        "id",
        "account_id",
        "adset",
        "campaign",
        "campaign_id",
        "configured_status",
        "effective_status",
        "created_time",
        "updated_time",
        "issues_info",
        "ad_review_feedback",
        "ad_active_time",
        "bid_info",
        "bid_type",
        "conversion_specs",
        "failed_delivery_checks",
        "last_updated_by_app_id",
        "preview_shareable_link",
        "recommendations",
        "source_ad",
        "special_ad_categories",
        "targeting",
        "tracking_and_conversion_with_defaults",
    }
)


def register(registry: Registry) -> None:
    """Register the ad node and the ``ads`` edges of accounts, ad sets and campaigns."""
    registry.node(
        NodeType(
            "ad",
            "Ad",
            FIELDS,
            render,
            ("id",),
            update=_update,
            delete=deleted,
            references={"creative": "adcreative", "adset": "adset", "campaign": "campaign"},
        )
    )
    registry.add_edge("adaccount", "ads", Edge(get=_list_for_account, post=_create))
    registry.add_edge("adaccount", "ads_volume", Edge(get=_ads_volume))
    registry.add_edge("ad", "adcreatives", Edge(get=_creatives_of_ad))
    # Registered by earlier families; guarded so the ads family also stands alone.
    if "adset" in registry.node_types:
        registry.add_edge("adset", "ads", Edge(get=_list_for_adset))
        registry.add_edge("adset", "adcreatives", Edge(get=_creatives_of_adset))
    if "campaign" in registry.node_types:
        registry.add_edge("campaign", "ads", Edge(get=_list_for_campaign))


def _creatives_of_ad(ctx: Ctx, ad: Record) -> Any:
    """The ad's creative, as the one-item listing Meta answers."""
    creative = ctx.state.find(str(ad.get("creative_id")))
    return page(ctx, [creative] if creative else [], lambda r: read_node(ctx, r))


def _creatives_of_adset(ctx: Ctx, adset: Record) -> Any:
    """The creatives the ad set's ads show (deleted ads aside), each once, oldest ad first."""
    ads = ctx.state.of_kind("ad", adset_id=adset["id"])
    wanted = dict.fromkeys(
        str(ad.get("creative_id")) for ad in ads if ad.get("status") != "DELETED"
    )
    creatives = [c for c in map(ctx.state.find, wanted) if c is not None]
    return page(ctx, creatives, lambda r: read_node(ctx, r))


def render(ctx: Ctx, record: Record) -> dict[str, Any]:
    """An ad with every readable field Meta would send for it."""
    tz = ctx.state.get(f"act_{record['account_id']}")["timezone_name"]
    out = {
        "id": record["id"],
        "account_id": record["account_id"],
        "name": record["name"],
        "status": record["status"],
        "configured_status": record["status"],
        "effective_status": effective_status(ctx.state, record, ctx.now()),
        "adset_id": record["adset_id"],
        "campaign_id": record["campaign_id"],
        "adset": {"id": record["adset_id"]},
        "campaign": {"id": record["campaign_id"]},
        "creative": {"id": record["creative_id"]},
        "created_time": fmt_time(record["created_time"], tz),
        "updated_time": fmt_time(record["updated_time"], tz),
        "issues_info": [],
    }
    out.update({key: record.get(key) for key in _ECHOED})
    return compact(out)


def _list_for_account(ctx: Ctx, account: Record) -> Any:
    return _listing(ctx, ctx.state.of_kind("ad", account_id=account["account_id"]))


def _list_for_adset(ctx: Ctx, adset: Record) -> Any:
    return _listing(ctx, ctx.state.of_kind("ad", adset_id=adset["id"]))


def _list_for_campaign(ctx: Ctx, campaign: Record) -> Any:
    return _listing(ctx, ctx.state.of_kind("ad", campaign_id=campaign["id"]))


def _listing(ctx: Ctx, records: Any) -> Any:
    return status_listing(ctx, records, AD_EFFECTIVE, "ad")


def _ads_volume(ctx: Ctx, account: Record) -> Any:
    """Ads running or in review count against the advertiser's ad limit (§5.9)."""
    now = ctx.now()
    ads = ctx.state.of_kind("ad", account_id=account["account_id"])
    count = sum(
        1 for ad in ads if effective_status(ctx.state, ad, now) in {"ACTIVE", "PENDING_REVIEW"}
    )
    return {"data": [{"ads_running_or_in_review_count": count}]}


def _create(ctx: Ctx, account: Record) -> Any:
    account = account_of(ctx, account["id"])
    params = ctx.params
    check_known(params, CREATE_PARAMS, "Ad")
    for name in REQUIRED:
        if name not in params:
            raise _missing(name)
    _refuse_bid_amount(params)
    name = params.require_str("name", max_len=NAME_MAX)
    adset = live_parent(ctx, "adset_id", "adset", account["account_id"])
    _check_room(ctx, adset)
    creative = _creative(ctx, account)
    _check_creative_fits(ctx, creative, adset)
    now = ctx.now()
    record: Record = {
        "kind": "ad",
        "id": ctx.sb.new_id(),
        "account_id": account["account_id"],
        "campaign_id": adset["campaign_id"],
        "adset_id": adset["id"],
        "creative_id": creative["id"],
        "name": name,
        "status": status_at_creation(ctx),
        "review_until": now + REVIEW_SECONDS,
        "created_time": now,
        "updated_time": now,
        **_settings(params),
    }
    labels = given_labels(ctx, account["account_id"])
    _store_new_creative(ctx, creative)
    return created(ctx, compact(record) | labels)


def _missing(name: str) -> GraphError:
    # The Ad reference lists code 194 for a missing required parameter (§3.4).
    return invalid_param(
        f"Requires all of the params: {name}",
        code=194,
        blame=name,
        title="Missing required parameter",
        user_msg=f"Add the '{name}' parameter: an ad needs a name, an adset_id and a creative.",
    )


def _refuse_bid_amount(params: Params) -> None:
    if "bid_amount" in params:
        raise invalid_param(
            "Param bid_amount is deprecated on ads; bids are set on the ad set",
            blame="bid_amount",
            title="Bid belongs on the ad set",
            user_msg="Remove bid_amount from the ad and set it on its ad set instead.",
        )


def _check_room(ctx: Ctx, adset: Record) -> None:
    """A live campaign above, and at most ``max_ads_per_adset`` live ads in the ad set (§3).

    Archived and deleted ads don't count: the limit is on non-archived ads.
    """
    campaign = ctx.state.find(str(adset["campaign_id"])) or {}
    if campaign.get("status") in {"DELETED", "ARCHIVED"}:
        state = str(campaign["status"]).lower()
        raise invalid_param(
            f"Ad set {adset['id']} belongs to campaign {campaign['id']}, which is {state}",
            blame="adset_id",
            title="Campaign unavailable",
            user_msg=f"The campaign above this ad set is {state}; choose an ad set of a live one.",
        )
    limit = ctx.sb.config.max_ads_per_adset
    live = [
        ad
        for ad in ctx.state.of_kind("ad", adset_id=adset["id"])
        if ad.get("status") not in {"ARCHIVED", "DELETED"}
    ]
    if len(live) >= limit:
        raise invalid_param(
            f"Ad set {adset['id']} already has the maximum of {limit} ads",
            blame="adset_id",
            title="Too many ads in ad set",
            user_msg="Archive or delete ads in this ad set, or create the ad in another ad set.",
        )


def _settings(params: Params) -> dict[str, Any]:
    return {
        "tracking_specs": params.json_("tracking_specs"),
        "conversion_domain": params.str_("conversion_domain"),
        "adlabels": params.list_("adlabels"),
        "display_sequence": params.int_("display_sequence", minimum=0),
        "priority": params.int_("priority", minimum=0),
        "engagement_audience": params.bool_("engagement_audience"),
        "source_ad_id": params.str_("source_ad_id"),
    }


def _creative(ctx: Ctx, account: Record) -> Record:
    """The ad's creative: ``{"creative_id": ...}`` of this account, or a spec to build one.

    Raises:
        GraphError: an unknown or deleted creative, or an inline spec that breaks a rule.
    """
    spec = ctx.params.object_("creative", required=True)
    assert spec is not None
    if "creative_id" in spec:
        return _existing_creative(ctx, account, spec["creative_id"])
    try:
        return build_creative(ctx, account, Params(spec))
    except GraphError as error:
        raise _under_creative(error) from None


def _existing_creative(ctx: Ctx, account: Record, value: Any) -> Record:
    creative_id = str(value)
    record = ctx.state.find(creative_id)
    blame = ["creative", "creative_id"]
    if (
        record is None
        or record.get("kind") != "adcreative"
        or record.get("account_id") != account["account_id"]
    ):
        raise invalid_param(
            f"Creative {creative_id} does not exist in ad account {account['account_id']}",
            blame=blame,
            title="Creative not found",
            user_msg="Use a creative made in this ad account (POST /act_{id}/adcreatives).",
        )
    if record.get("status") == "DELETED":
        raise invalid_param(
            f"Creative {creative_id} is deleted",
            blame=blame,
            title="Creative deleted",
            user_msg="Make a new creative; deleted creatives can't be used by ads.",
        )
    return record


def _check_creative_fits(ctx: Ctx, creative: Record, adset: Record) -> None:
    """The v26 limits on which creative an ad may use (§13.2): no survey, no web-only
    creative in a website-and-app ad set.

    Raises:
        GraphError: 100 blaming ``creative``.
    """
    today = ctx.sb.today().date()
    if creative.get("is_survey"):
        creative_rules.refuse_survey(("creative",), ctx.req.version, today)
    creative_rules.check_applink_fits(
        creative.get("applink_treatment"), adset.get("destination_type"), ctx.req.version, today
    )


def _under_creative(error: GraphError) -> GraphError:
    """Re-root an inline creative's blame paths under the ad's ``creative`` parameter."""
    error.blame_fields = [["creative", *path] for path in error.blame_fields] or [["creative"]]
    return error


def _store_new_creative(ctx: Ctx, creative: Record) -> None:
    """An inline creative becomes a creative of its own, unless only validating."""
    if ctx.state.find(creative["id"]) is None and not validate_only(ctx.params):
        ctx.state.add(creative)


def _update(ctx: Ctx, record: Record) -> Any:
    params = ctx.params
    if "adset_id" in params and params.str_("adset_id") != record["adset_id"]:
        raise invalid_param(
            "An ad can't be moved to another ad set: adset_id can't be changed",
            blame="adset_id",
            title="Ad set can't be changed",
            user_msg="Create a new ad in the other ad set (reusing the creative) instead.",
        )
    check_known(params, UPDATE_PARAMS | {"adset_id"}, "Ad")
    guard_editable(ctx, record, set())
    _refuse_bid_amount(params)
    changes: dict[str, Any] = status_change(ctx, record)
    if "name" in params:
        changes["name"] = params.require_str("name", max_len=NAME_MAX)
    changes.update({k: v for k, v in _settings(params).items() if k in params})
    if "creative" in params:
        account = ctx.state.get(f"act_{record['account_id']}")
        creative = _creative(ctx, account)
        if creative["id"] != record["creative_id"]:
            _check_creative_fits(ctx, creative, ctx.state.get(record["adset_id"]))
        _store_new_creative(ctx, creative)
        if creative["id"] != record["creative_id"]:
            # A new creative is a new ad to review.
            changes.update(creative_id=creative["id"], review_until=ctx.now() + REVIEW_SECONDS)
    changes.update(given_labels(ctx, record["account_id"]))
    return updated(ctx, record, changes)
