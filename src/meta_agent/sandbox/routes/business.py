"""Businesses (Business Manager): ``/{business_id}``, what it owns, who works in it.

The sandbox seeds one business (``state.BUSINESS_ID``) owning every seeded ad account, Page
and the pixel, with the token's user as its admin (a ``BusinessUser``, whose id is not the
user's id, as on Meta), and an agency (``state.AGENCY_ID``) the owner has named in its
``agency_ids``: the owner's assets are the agency's client assets (``client_ad_accounts``,
``client_pages``, ``client_pixels``), the owner is among its ``clients``, and the agency is
listed on the owner's and each of its accounts' ``agencies``. The user works in the agency too.
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
# What a member may do in the business, by role (BusinessUser ``tasks``).
ROLE_TASKS = {
    "ADMIN": ("MANAGE", "DEVELOP", "ADVERTISE", "ANALYZE", "DRAFT"),
    "EMPLOYEE": ("ADVERTISE", "ANALYZE", "DRAFT"),
}


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
                "client_ad_accounts": Edge(get=_client("adaccount")),
                "client_pages": Edge(get=_client("page")),
                "client_pixels": Edge(get=_client("pixel")),
                "clients": Edge(get=_clients),
                "agencies": Edge(get=_agencies),
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
    registry.add_edge("adaccount", "agencies", Edge(get=_account_agencies))
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
            "tasks": list(ROLE_TASKS.get(str(record.get("role")), ())),
        }
    )


def _owned(kind: str) -> NodeHandler:
    """A handler listing the business's own records of ``kind``."""

    def handler(ctx: Ctx, business: Record) -> Any:
        return _listing(ctx, _owned_records(ctx, kind, [business["id"]]))

    return handler


def _client(kind: str) -> NodeHandler:
    """A handler listing the records of ``kind`` the business's clients share with it."""

    def handler(ctx: Ctx, business: Record) -> Any:
        client_ids = [client["id"] for client in _clients_of(ctx, business)]
        return _listing(ctx, _owned_records(ctx, kind, client_ids))

    return handler


def _assigned(kind: str) -> NodeHandler:
    """A member's assets of ``kind``: the business's own and its clients' (the sandbox's user
    works on every seeded asset)."""

    def handler(ctx: Ctx, member: Record) -> Any:
        business = ctx.state.get(str(member["business_id"]))
        holders = [business["id"], *(client["id"] for client in _clients_of(ctx, business))]
        return _listing(ctx, _owned_records(ctx, kind, holders))

    return handler


def _owned_records(ctx: Ctx, kind: str, business_ids: list[str]) -> list[Record]:
    return [r for r in ctx.state.of_kind(kind) if r.get("business_id") in business_ids]


def _clients_of(ctx: Ctx, agency: Record) -> list[Record]:
    """The businesses that named ``agency`` as one of theirs."""
    return [b for b in ctx.state.of_kind("business") if agency["id"] in b.get("agency_ids", [])]


def _agencies_of(ctx: Ctx, business: Record) -> list[Record]:
    found = (ctx.state.find(str(i)) for i in business.get("agency_ids", []))
    return [b for b in found if b is not None and b["kind"] == "business"]


def _listing(ctx: Ctx, records: list[Record]) -> Any:
    return page(ctx, records, lambda r: read_node(ctx, r))


def _clients(ctx: Ctx, agency: Record) -> Any:
    return _listing(ctx, _clients_of(ctx, agency))


def _agencies(ctx: Ctx, business: Record) -> Any:
    return _listing(ctx, _agencies_of(ctx, business))


def _account_agencies(ctx: Ctx, account: Record) -> Any:
    """The agencies of the account's owner business, which work on the account."""
    owner = ctx.state.find(str(account.get("business_id")))
    return _listing(ctx, _agencies_of(ctx, owner) if owner else [])


def _business_users(ctx: Ctx, business: Record) -> Any:
    return _listing(ctx, list(ctx.state.of_kind("businessuser", business_id=business["id"])))


def _my_business_users(ctx: Ctx, user: Record) -> Any:
    """The business users that stand for this user, one per business it belongs to."""
    return _listing(ctx, list(ctx.state.of_kind("businessuser", user_id=user["id"])))


def _my_businesses(ctx: Ctx, user: Record) -> Any:
    ids = [m["business_id"] for m in ctx.state.of_kind("businessuser", user_id=user["id"])]
    return _listing(ctx, [ctx.state.get(str(business_id)) for business_id in dict.fromkeys(ids)])
