"""Businesses (Business Manager): ``/{business_id}``, what it owns, who works in it.

The sandbox seeds one business (``state.BUSINESS_ID``) owning every seeded ad account, Page
and the pixel, with the token's user as its admin (a ``BusinessUser``, whose id is not the
user's id, as on Meta). Client assets (``client_ad_accounts``, ``client_pages``) are those of
other businesses shared with this one; the sandbox seeds none, so those edges answer Meta's
empty page.
"""

from __future__ import annotations

from typing import Any

from meta_agent.sandbox.core import Ctx
from meta_agent.sandbox.nodes import (
    Edge,
    NodeHandler,
    NodeType,
    Record,
    Registry,
    compact,
    fmt_time,
    page,
    read_node,
)
from meta_agent.sandbox.state import USER_ID

BUSINESS_FIELDS = frozenset(
    {
        "id",
        "name",
        "created_time",
        "updated_time",
        "created_by",
        "link",
        "primary_page",
        "verification_status",
        "vertical",
        "is_hidden",
        "two_factor_type",
    }
)
BUSINESS_USER_FIELDS = frozenset(
    {"id", "name", "first_name", "last_name", "email", "role", "business", "tasks"}
)
# What an admin may do in the business (BusinessUser ``tasks``).
ADMIN_TASKS = ("MANAGE", "DEVELOP", "ADVERTISE", "ANALYZE", "DRAFT")


def register(registry: Registry) -> None:
    """Register the business and business-user nodes, and the user's edges to them."""
    registry.node(
        NodeType(
            "business",
            "Business",
            BUSINESS_FIELDS,
            _render_business,
            ("id", "name"),
            edges={
                "owned_ad_accounts": Edge(get=_owned("adaccount")),
                "owned_pages": Edge(get=_owned("page")),
                "owned_pixels": Edge(get=_owned("pixel")),
                "adspixels": Edge(get=_owned("pixel")),
                "business_users": Edge(get=_business_users),
            },
            references={"primary_page": "page", "created_by": "user"},
        )
    )
    registry.node(
        NodeType(
            "businessuser",
            "BusinessUser",
            BUSINESS_USER_FIELDS,
            _render_business_user,
            ("id", "name"),
            edges={
                "assigned_ad_accounts": Edge(get=_assigned("adaccount")),
                "assigned_pages": Edge(get=_assigned("page")),
            },
            references={"business": "business"},
        )
    )
    registry.add_edge("user", "businesses", Edge(get=_my_businesses))
    registry.add_edge("user", "business_users", Edge(get=_my_business_users))


def business_ref(ctx: Ctx, business_id: Any) -> dict[str, Any] | None:
    """``{"id", "name"}`` of a business, as Meta sends a reference such as ``business``."""
    business = ctx.state.find(str(business_id)) if business_id else None
    if business is None or business["kind"] != "business":
        return None
    return {"id": business["id"], "name": business["name"]}


def _render_business(ctx: Ctx, record: Record) -> dict[str, Any]:
    page_record = ctx.state.find(str(record.get("primary_page_id")))
    user = ctx.state.find(USER_ID) or {"id": USER_ID, "name": None}
    return compact(
        {
            "id": record["id"],
            "name": record["name"],
            "created_time": fmt_time(record.get("created_time")),
            "updated_time": fmt_time(record.get("updated_time", record.get("created_time"))),
            "created_by": {"id": user["id"], "name": user["name"]},
            "link": f"https://business.facebook.com/settings/?business_id={record['id']}",
            "primary_page": (
                {"id": page_record["id"], "name": page_record["name"]} if page_record else None
            ),
            "verification_status": record.get("verification_status"),
            "vertical": record.get("vertical"),
            "is_hidden": False,
            "two_factor_type": "none",
        }
    )


def _render_business_user(ctx: Ctx, record: Record) -> dict[str, Any]:
    first, _sep, last = str(record["name"]).partition(" ")
    return compact(
        {
            "id": record["id"],
            "name": record["name"],
            "first_name": first,
            "last_name": last,
            "email": record.get("email"),
            "role": record.get("role"),
            "business": business_ref(ctx, record.get("business_id")),
            "tasks": list(ADMIN_TASKS) if record.get("role") == "ADMIN" else [],
        }
    )


def _owned(kind: str) -> NodeHandler:
    """A handler listing the business's own records of ``kind``."""

    def handler(ctx: Ctx, business: Record) -> Any:
        owned = list(ctx.state.of_kind(kind, business_id=business["id"]))
        return page(ctx, owned, lambda r: read_node(ctx, r))

    return handler


def _assigned(kind: str) -> NodeHandler:
    """A member's assets of ``kind``: an admin is assigned everything the business owns."""

    def handler(ctx: Ctx, member: Record) -> Any:
        owned = list(ctx.state.of_kind(kind, business_id=member["business_id"]))
        return page(
            ctx, owned if member.get("role") == "ADMIN" else [], lambda r: read_node(ctx, r)
        )

    return handler


def _business_users(ctx: Ctx, business: Record) -> Any:
    members = list(ctx.state.of_kind("businessuser", business_id=business["id"]))
    return page(ctx, members, lambda r: read_node(ctx, r))


def _my_business_users(ctx: Ctx, user: Record) -> Any:
    """The business users that stand for this user, one per business it belongs to."""
    members = list(ctx.state.of_kind("businessuser", user_id=user["id"]))
    return page(ctx, members, lambda r: read_node(ctx, r))


def _my_businesses(ctx: Ctx, user: Record) -> Any:
    ids = [m["business_id"] for m in ctx.state.of_kind("businessuser", user_id=user["id"])]
    businesses = [ctx.state.get(str(business_id)) for business_id in dict.fromkeys(ids)]
    return page(ctx, businesses, lambda r: read_node(ctx, r))
