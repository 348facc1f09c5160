"""Who is calling and what they can use: ``/me``, ``/me/adaccounts``, ``/me/accounts``,
``/act_{id}``, Pages, and the multi-id read ``GET /?ids=a,b``."""

from __future__ import annotations

from typing import Any

from meta_agent.sandbox.activities import DEFAULT_FIELDS as ACTIVITY_FIELDS
from meta_agent.sandbox.activities import account_activities
from meta_agent.sandbox.core import Ctx
from meta_agent.sandbox.errors import invalid_param
from meta_agent.sandbox.nodes import (
    Edge,
    NodeType,
    Record,
    Registry,
    compact,
    fmt_time,
    page,
    read_node,
    sdk_page,
)
from meta_agent.sandbox.routes.business import business_ref
from meta_agent.sandbox.state import USER_ID

USER_FIELDS = frozenset({"id", "name", "first_name", "last_name"})
PAGE_FIELDS = frozenset(
    {"id", "name", "category", "access_token", "tasks", "instagram_business_account", "link"}
)
ACCOUNT_FIELDS = frozenset(
    {
        "id",
        "account_id",
        "name",
        "currency",
        "timezone_name",
        "timezone_offset_hours_utc",
        "account_status",
        "disable_reason",
        "amount_spent",
        "balance",
        "spend_cap",
        "business_country_code",
        "created_time",
        "ads_api_access_tier",
        "min_daily_budget",
        "is_personal",
        "capabilities",
    }
)


def register(registry: Registry) -> None:
    """Register the user, Page and ad account nodes and the multi-id read."""
    registry.node(
        NodeType(
            "user",
            "User",
            USER_FIELDS,
            _render_user,
            ("id", "name"),
            edges={"adaccounts": Edge(get=_my_accounts), "accounts": Edge(get=_my_pages)},
        )
    )
    registry.node(
        NodeType(
            "page",
            "Page",
            PAGE_FIELDS,
            _render_page,
            ("id", "name"),
            references={"business": "business"},
        )
    )
    registry.node(
        NodeType(
            "adaccount",
            "AdAccount",
            ACCOUNT_FIELDS,
            render_account,
            ("id",),
            edges={
                "promote_pages": Edge(get=_promote_pages),
                "customaudiences": Edge(get=_custom_audiences),
                "users": Edge(get=_account_users),
                "activities": Edge(get=_activities),
            },
            references={"business": "business"},
        )
    )
    registry.root("GET", "", _read_by_ids)


def _render_user(_: Ctx, record: Record) -> dict[str, Any]:
    first, _sep, last = str(record["name"]).partition(" ")
    return {"id": record["id"], "name": record["name"], "first_name": first, "last_name": last}


def _render_page(ctx: Ctx, record: Record) -> dict[str, Any]:
    return compact(
        {
            "id": record["id"],
            "name": record["name"],
            "category": record["category"],
            "tasks": record["tasks"],
            # A Page token is derived from, not equal to, the user's token; never echo the real one.
            "access_token": f"sandbox-page-token-{record['id']}",
            "instagram_business_account": {"id": record["instagram_user_id"]},
            "link": f"https://www.facebook.com/{record['id']}",
            "business": business_ref(ctx, record.get("business_id")),
        }
    )


def render_account(ctx: Ctx, record: Record) -> dict[str, Any]:
    """An ad account as Meta renders it (money as numeric strings in minor units)."""
    return compact(
        {
            "id": record["id"],
            "account_id": record["account_id"],
            "name": record["name"],
            "currency": record["currency"],
            "timezone_name": record["timezone_name"],
            "timezone_offset_hours_utc": record["timezone_offset_hours_utc"],
            "account_status": record["account_status"],
            "disable_reason": record["disable_reason"],
            "amount_spent": record["amount_spent"],
            "balance": record["balance"],
            "spend_cap": record["spend_cap"],
            "business_country_code": record["business_country_code"],
            "created_time": fmt_time(record["created_time"], record["timezone_name"]),
            "ads_api_access_tier": record["ads_api_access_tier"],
            "is_personal": 0,
            "capabilities": [],
            "business": business_ref(ctx, record.get("business_id")),
        }
    )


def _my_accounts(ctx: Ctx, _: Record) -> Any:
    return page(ctx, ctx.state.accounts(), lambda r: read_node(ctx, r))


def _my_pages(ctx: Ctx, _: Record) -> Any:
    pages = list(ctx.state.of_kind("page"))
    return page(ctx, pages, lambda r: read_node(ctx, r))


def _promote_pages(ctx: Ctx, account: Record) -> Any:
    """The Pages this account can advertise for: its own in a counted seed, else every Page."""
    own = account.get("promote_page_ids")
    pages = [p for p in ctx.state.of_kind("page") if own is None or p["id"] in own]
    return page(ctx, pages, lambda r: read_node(ctx, r))


def _custom_audiences(ctx: Ctx, account: Record) -> Any:
    """The account's custom audiences (the seeded ones)."""
    audiences = list(ctx.state.of_kind("customaudience", account_id=account["account_id"]))
    return page(ctx, audiences, lambda r: read_node(ctx, r))


# What the token's user may do on every seeded account (AdAccountUser ``tasks``).
ACCOUNT_USER_TASKS = ("MANAGE", "ADVERTISE", "ANALYZE", "DRAFT")


def _account_users(ctx: Ctx, _: Record) -> Any:
    """The account's users: the token's user, with every task."""
    user = ctx.state.get(USER_ID)
    item = {"id": user["id"], "name": user["name"], "tasks": list(ACCOUNT_USER_TASKS)}
    return sdk_page(ctx, [item], "AdAccountUser", ("id", "name", "tasks"))


def _activities(ctx: Ctx, account: Record) -> Any:
    """Every write the sandbox served on the account, newest first (``since``/``until``)."""
    items = account_activities(ctx, str(account["account_id"]))
    return sdk_page(ctx, items, "AdActivity", ACTIVITY_FIELDS)


def _read_by_ids(ctx: Ctx) -> Any:
    ids = ctx.params.list_("ids")
    if not ids:
        raise invalid_param(
            "Unsupported get request. Please read the Graph API documentation",
            blame="ids",
            user_msg="Pass ids=<id>,<id> to read several objects at once.",
        )
    return {str(i): read_node(ctx, ctx.state.get(USER_ID if i == "me" else str(i))) for i in ids}
