"""What conversions are measured with: the pixel, custom audiences, custom conversions.

The seeded pixel (``state.PIXEL_ID``) belongs to the seeded business and is shared with every
seeded account, so each lists it on ``/act_X/adspixels``. Each account has a seeded custom
audience and a seeded custom conversion (a purchase on a thank-you page);
``POST /act_X/customconversions`` adds more, ``DELETE /{id}`` removes one from the listing
(it stays readable by id, ``is_archived`` true).
"""

from __future__ import annotations

import json
import math
from typing import Any

from meta_agent.sandbox.core import Ctx
from meta_agent.sandbox.errors import invalid_param, object_not_found, required_param
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
from meta_agent.sandbox.params import check_known
from meta_agent.sandbox.routes.business import business_ref
from meta_agent.sandbox.routes.common import SUCCESS, created, updated

PIXEL_FIELDS = frozenset(
    {
        "id",
        "name",
        "code",
        "creation_time",
        "last_fired_time",
        "owner_business",
        "is_created_by_business",
        "is_unavailable",
        "enable_automatic_matching",
        "automatic_matching_fields",
        "data_use_setting",
        "first_party_cookie_status",
        "can_proxy",
    }
)
AUDIENCE_FIELDS = frozenset(
    {
        "id",
        "account_id",
        "name",
        "subtype",
        "description",
        "approximate_count_lower_bound",
        "approximate_count_upper_bound",
        "retention_days",
        "pixel_id",
        "time_created",
        "time_updated",
        "delivery_status",
        "operation_status",
        "data_source",
    }
)
CONVERSION_FIELDS = frozenset(
    {
        "id",
        "account_id",
        "name",
        "description",
        "custom_event_type",
        "event_source_id",
        "event_source_type",
        "pixel",
        "rule",
        "advanced_rule",
        "action_source_type",
        "default_conversion_value",
        "creation_time",
        "first_fired_time",
        "last_fired_time",
        "is_archived",
        "is_unavailable",
        "retention_days",
        "business",
    }
)
# CustomConversion.CustomEventType and .ActionSourceType in Meta's SDK.
CUSTOM_EVENT_TYPES = [
    "ADD_PAYMENT_INFO",
    "ADD_TO_CART",
    "ADD_TO_WISHLIST",
    "COMPLETE_REGISTRATION",
    "CONTACT",
    "CONTENT_VIEW",
    "CUSTOMIZE_PRODUCT",
    "DONATE",
    "FACEBOOK_SELECTED",
    "FIND_LOCATION",
    "INITIATED_CHECKOUT",
    "LEAD",
    "LISTING_INTERACTION",
    "OTHER",
    "PURCHASE",
    "SCHEDULE",
    "SEARCH",
    "START_TRIAL",
    "SUBMIT_APPLICATION",
    "SUBSCRIBE",
]
ACTION_SOURCE_TYPES = [
    "app",
    "business_messaging",
    "chat",
    "email",
    "other",
    "phone_call",
    "physical_store",
    "system_generated",
    "website",
]
# The parameters of AdAccount.create_custom_conversion in Meta's SDK.
CREATE_PARAMS = frozenset(
    {
        "name",
        "description",
        "event_source_id",
        "custom_event_type",
        "rule",
        "advanced_rule",
        "action_source_type",
        "default_conversion_value",
    }
)
UPDATE_PARAMS = frozenset({"name", "description", "default_conversion_value"})
_READY = {"code": 200, "description": "This audience is ready for use."}


def register(registry: Registry) -> None:
    """Register the pixel, custom audience and custom conversion nodes and account edges."""
    registry.node(
        NodeType(
            "pixel",
            "AdsPixel",
            PIXEL_FIELDS,
            _render_pixel,
            ("id", "name"),
            edges={
                "adaccounts": Edge(get=_pixel_accounts),
                "shared_accounts": Edge(get=_pixel_accounts),
            },
            references={"owner_business": "business"},
        )
    )
    registry.node(
        NodeType("customaudience", "CustomAudience", AUDIENCE_FIELDS, _render_audience, ("id",))
    )
    registry.node(
        NodeType(
            "customconversion",
            "CustomConversion",
            CONVERSION_FIELDS,
            _render_conversion,
            ("id",),
            update=_update_conversion,
            delete=_delete_conversion,
            references={"pixel": "pixel", "business": "business"},
        )
    )
    registry.add_edge("adaccount", "adspixels", Edge(get=_account_pixels))
    registry.add_edge(
        "adaccount",
        "customconversions",
        Edge(get=_list_conversions, post=_create_conversion),
    )


def _render_pixel(ctx: Ctx, record: Record) -> dict[str, Any]:
    return compact(
        {
            "id": record["id"],
            "name": record["name"],
            "code": _pixel_code(record["id"]),
            "creation_time": fmt_time(record.get("created_time")),
            "last_fired_time": fmt_time(record.get("last_fired_time")),
            "owner_business": business_ref(ctx, record.get("business_id")),
            "is_created_by_business": record.get("business_id") is not None,
            "is_unavailable": False,
            "enable_automatic_matching": False,
            "automatic_matching_fields": [],
            "data_use_setting": "ADVERTISING_AND_ANALYTICS",
            "first_party_cookie_status": "FIRST_PARTY_COOKIE_ENABLED",
            "can_proxy": False,
        }
    )


def _pixel_code(pixel_id: str) -> str:
    """The base code snippet Events Manager hands out for the pixel."""
    return (
        "<!-- Meta Pixel Code -->\n<script>\n!function(f,b,e,v,n,t,s){/* sandbox */}"
        "(window, document,'script','https://connect.facebook.net/en_US/fbevents.js');\n"
        f"fbq('init', '{pixel_id}');\nfbq('track', 'PageView');\n</script>\n"
        "<!-- End Meta Pixel Code -->"
    )


def _pixel_accounts(ctx: Ctx, _: Record) -> Any:
    """The ad accounts the pixel is shared with: every seeded account."""
    return page(ctx, ctx.state.accounts(), lambda r: read_node(ctx, r))


def _account_pixels(ctx: Ctx, _: Record) -> Any:
    """The pixels an account can use: the seeded one is shared with every account."""
    pixels = list(ctx.state.of_kind("pixel"))
    return page(ctx, pixels, lambda r: read_node(ctx, r))


def _render_audience(ctx: Ctx, record: Record) -> dict[str, Any]:
    lower = record.get("approximate_count_lower_bound")
    created_at = record.get("created_time")
    return compact(
        {
            "id": record["id"],
            "account_id": record.get("account_id"),
            "name": record.get("name"),
            "subtype": record.get("subtype"),
            "description": record.get("description"),
            "approximate_count_lower_bound": lower,
            # Meta reports a range; the upper bound is the lower one plus its ~17% margin.
            "approximate_count_upper_bound": int(lower * 1.17) if lower is not None else None,
            "retention_days": record.get("retention_days"),
            "pixel_id": record.get("pixel_id"),
            "time_created": int(created_at) if created_at is not None else None,
            "time_updated": int(created_at) if created_at is not None else None,
            "delivery_status": dict(_READY),
            "operation_status": {"code": 200, "description": "Normal"},
            "data_source": (
                {"type": "EVENT_BASED", "sub_type": "WEB_PIXEL_HITS"}
                if record.get("subtype") == "WEBSITE"
                else None
            ),
        }
    )


def _render_conversion(ctx: Ctx, record: Record) -> dict[str, Any]:
    account = ctx.state.find(f"act_{record['account_id']}") or {}
    tz = str(account.get("timezone_name") or "UTC")
    pixel = ctx.state.find(str(record.get("event_source_id")))
    return compact(
        {
            "id": record["id"],
            "account_id": record["account_id"],
            "name": record["name"],
            "description": record.get("description"),
            "custom_event_type": record["custom_event_type"],
            "event_source_id": record.get("event_source_id"),
            "event_source_type": "pixel" if pixel else None,
            "pixel": {"id": pixel["id"]} if pixel else None,
            "rule": record.get("rule"),
            "advanced_rule": record.get("advanced_rule"),
            "action_source_type": record.get("action_source_type"),
            "default_conversion_value": int(record.get("default_conversion_value") or 0),
            "creation_time": fmt_time(record.get("created_time"), tz),
            "first_fired_time": fmt_time(record.get("last_fired_time"), tz),
            "last_fired_time": fmt_time(record.get("last_fired_time"), tz),
            "is_archived": record.get("status") == "DELETED",
            "is_unavailable": False,
            "retention_days": 0,
            "business": business_ref(ctx, account.get("business_id")),
        }
    )


def _list_conversions(ctx: Ctx, account: Record) -> Any:
    """The account's custom conversions, oldest first; deleted ones are not listed."""
    conversions = [
        r
        for r in ctx.state.of_kind("customconversion", account_id=account["account_id"])
        if r.get("status") != "DELETED"
    ]
    return page(ctx, conversions, lambda r: read_node(ctx, r))


def _create_conversion(ctx: Ctx, account: Record) -> Any:
    """``POST /act_X/customconversions``: a named rule over a pixel's events.

    Raises:
        GraphError: an unknown parameter; ``name``, ``custom_event_type``, ``event_source_id``
            or a rule missing; a pixel the account cannot use; a rule that is not JSON.
    """
    check_known(ctx.params, CREATE_PARAMS, "CustomConversion")
    name = ctx.params.require_str("name", max_len=100)
    event_type = ctx.params.enum_("custom_event_type", CUSTOM_EVENT_TYPES, required=True)
    action_source = ctx.params.enum_("action_source_type", ACTION_SOURCE_TYPES)
    pixel_id = ctx.params.require_str("event_source_id")
    pixel = ctx.state.find(pixel_id)
    if pixel is None or pixel["kind"] != "pixel":
        raise invalid_param(
            f"Event source {pixel_id} is not a pixel this ad account can use",
            blame="event_source_id",
            user_msg=f"Use a pixel listed on /act_{account['account_id']}/adspixels.",
        )
    rule, advanced_rule = _rules(ctx)
    value = _conversion_value(ctx)
    record = compact(
        {
            "kind": "customconversion",
            "id": ctx.sb.new_id(),
            "account_id": account["account_id"],
            "name": name,
            "description": ctx.params.str_("description"),
            "custom_event_type": event_type,
            "event_source_id": pixel_id,
            "action_source_type": action_source,
            "rule": rule,
            "advanced_rule": advanced_rule,
            "default_conversion_value": value or 0,
            "created_time": ctx.now(),
        }
    )
    return created(ctx, record)


def _update_conversion(ctx: Ctx, record: Record) -> Any:
    """``POST /{id}``: only ``name``, ``description`` and ``default_conversion_value`` change.

    Raises:
        GraphError: a deleted conversion (100/33); any other parameter; a bad value.
    """
    if record.get("status") == "DELETED":
        raise object_not_found(record["id"], "POST")
    check_known(ctx.params, UPDATE_PARAMS, "CustomConversion")
    changes = compact(
        {
            "name": ctx.params.require_str("name", max_len=100) if "name" in ctx.params else None,
            "description": ctx.params.str_("description"),
            "default_conversion_value": _conversion_value(ctx),
        }
    )
    return updated(ctx, record, changes)


def _conversion_value(ctx: Ctx) -> float | None:
    """``default_conversion_value``: a number of zero or more (the SDK sends a float).

    Raises:
        GraphError: not a number, or negative.
    """
    raw = ctx.params.get_raw("default_conversion_value")
    if raw is None or raw == "":
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        value = -1.0
    if not (math.isfinite(value) and value >= 0):
        raise invalid_param(
            "Param default_conversion_value must be a number of zero or more",
            blame="default_conversion_value",
            user_msg="Send the conversion's value in the account currency, e.g. 25.5.",
        )
    return value


def _rules(ctx: Ctx) -> tuple[str | None, str | None]:
    """``rule`` and ``advanced_rule`` as JSON text; at least one must be given.

    Raises:
        GraphError: neither given, or one that is not a JSON object.
    """
    found = {name: _rule_text(ctx, name) for name in ("rule", "advanced_rule")}
    if found["rule"] is None and found["advanced_rule"] is None:
        raise required_param("rule")
    return found["rule"], found["advanced_rule"]


def _rule_text(ctx: Ctx, name: str) -> str | None:
    value = ctx.params.object_(name)
    if value is None:
        return None
    if not value:
        raise invalid_param(
            f"Param {name} must not be empty",
            blame=name,
            user_msg='Give a condition, e.g. {"url": {"i_contains": "/thank-you"}}.',
        )
    return json.dumps(value, separators=(",", ":"))


def _delete_conversion(ctx: Ctx, record: Record) -> Any:
    """Delete a custom conversion: off the listing, readable by id with ``is_archived``."""
    if record.get("status") == "DELETED":
        raise object_not_found(record["id"], "DELETE")
    record["status"] = "DELETED"
    return dict(SUCCESS)
