"""Businesses, their ad accounts, Pages and people; the pixel and custom audiences as nodes.

One seeded business owns every seeded ad account, Page and the pixel; the token's user is its
admin, as a ``BusinessUser`` of its own id. An agency manages those assets as its clients', and
the user works there too.
"""

from __future__ import annotations

from typing import Any

import pytest

from meta_agent.sandbox import SandboxConfig
from meta_agent.sandbox.state import (
    AGENCY_ID,
    AGENCY_USER_ID,
    BUSINESS_ID,
    BUSINESS_USER_ID,
    PIXEL_ID,
    USER_ID,
)
from tests.conftest import INR_ACCOUNT, PAGE_ID, USD_ACCOUNT, Graph, error_of

OWNER_REF = {"id": BUSINESS_ID, "name": "Sandbox Coffee Co. Business"}
AGENCY_REF = {"id": AGENCY_ID, "name": "Sandbox Media Agency"}


async def ok(graph: Graph, path: str, **params: Any) -> dict[str, Any]:
    """GET a path that must answer 200."""
    response = await graph.get(path, **params)
    assert response.status_code == 200, (path, response.text)
    body: dict[str, Any] = response.json()
    return body


def ids(body: dict[str, Any]) -> list[str]:
    """The ids on one page of a listing."""
    return [str(item["id"]) for item in body["data"]]


async def test_my_businesses_are_the_owner_and_the_agency(graph: Graph) -> None:
    """``/me/businesses`` lists both, each read as a node with SDK Business fields."""
    body = await ok(graph, "me/businesses", fields="id,name,verification_status")
    assert body["data"] == [
        {**OWNER_REF, "verification_status": "verified"},
        {**AGENCY_REF, "verification_status": "verified"},
    ]
    fields = "name,primary_page{name},created_by,link,created_time"
    node = await ok(graph, BUSINESS_ID, fields=fields)
    assert node["primary_page"] == {"id": PAGE_ID, "name": "Sandbox Coffee Co."}
    assert node["created_by"]["id"] == USER_ID
    assert BUSINESS_ID in node["link"]
    assert node["created_time"].endswith("+0000")
    assert "primary_page" not in await ok(graph, AGENCY_ID, fields=fields)
    error = error_of(await graph.get(BUSINESS_ID, fields="made_up"))
    assert "(made_up) on node type (Business)" in error["message"]


async def test_business_owns_the_accounts_and_pages(graph: Graph) -> None:
    """owned_ad_accounts and owned_pages list the seeded assets, with the fields asked for."""
    accounts = await ok(graph, f"{BUSINESS_ID}/owned_ad_accounts", fields="id,currency")
    assert accounts["data"] == [
        {"id": INR_ACCOUNT, "currency": "INR"},
        {"id": USD_ACCOUNT, "currency": "USD"},
    ]
    pages = await ok(graph, f"{BUSINESS_ID}/owned_pages", fields="id,name")
    assert ids(pages) == [PAGE_ID]
    pixels = await ok(graph, f"{BUSINESS_ID}/owned_pixels", fields="id,name")
    assert pixels["data"] == [{"id": PIXEL_ID, "name": "Sandbox Pixel"}]
    first = await ok(graph, f"{BUSINESS_ID}/owned_ad_accounts", limit="1")
    assert ids(first) == [INR_ACCOUNT]
    assert "next" in first["paging"]


async def test_the_agency_manages_the_owners_assets_as_clients(graph: Graph) -> None:
    """The agency's client_ad_accounts, client_pages, client_pixels and clients; it is on the
    owner's and each account's agencies; the owner has no clients."""
    accounts = await ok(graph, f"{AGENCY_ID}/client_ad_accounts", fields="id,business")
    assert ids(accounts) == [INR_ACCOUNT, USD_ACCOUNT]
    assert accounts["data"][0]["business"] == OWNER_REF
    assert ids(await ok(graph, f"{AGENCY_ID}/client_pages")) == [PAGE_ID]
    assert ids(await ok(graph, f"{AGENCY_ID}/client_pixels")) == [PIXEL_ID]
    assert ids(await ok(graph, f"{AGENCY_ID}/clients")) == [BUSINESS_ID]
    assert await ok(graph, f"{AGENCY_ID}/owned_ad_accounts") == {"data": []}
    assert ids(await ok(graph, f"{BUSINESS_ID}/agencies")) == [AGENCY_ID]
    assert ids(await ok(graph, f"{USD_ACCOUNT}/agencies")) == [AGENCY_ID]
    for edge in ("client_ad_accounts", "client_pages", "clients"):
        assert await ok(graph, f"{BUSINESS_ID}/{edge}", fields="id,name") == {"data": []}


async def test_business_users_are_the_tokens_user(graph: Graph) -> None:
    """``/{business}/business_users`` and ``/me/business_users``: the user in each business,
    the owner's admin and the agency's employee, each with an id of its own."""
    fields = "id,name,role,business"
    admin = {"id": BUSINESS_USER_ID, "name": "Sandbox Marketer", "role": "ADMIN"}
    employee = {"id": AGENCY_USER_ID, "name": "Sandbox Marketer", "role": "EMPLOYEE"}
    owner_users = await ok(graph, f"{BUSINESS_ID}/business_users", fields=fields)
    assert owner_users["data"] == [{**admin, "business": OWNER_REF}]
    mine = await ok(graph, "me/business_users", fields=fields)
    assert mine["data"] == [{**admin, "business": OWNER_REF}, {**employee, "business": AGENCY_REF}]
    assert USER_ID not in {BUSINESS_USER_ID, AGENCY_USER_ID}
    member = await ok(graph, BUSINESS_USER_ID, fields="email,tasks,first_name")
    assert member["first_name"] == "Sandbox"
    assert "MANAGE" in member["tasks"]
    employee_tasks = (await ok(graph, AGENCY_USER_ID, fields="tasks"))["tasks"]
    assert "ADVERTISE" in employee_tasks
    assert "MANAGE" not in employee_tasks
    for member_id in (BUSINESS_USER_ID, AGENCY_USER_ID):
        assigned = await ok(graph, f"{member_id}/assigned_ad_accounts")
        assert ids(assigned) == [INR_ACCOUNT, USD_ACCOUNT]
        assert ids(await ok(graph, f"{member_id}/assigned_pages")) == [PAGE_ID]
    error = error_of(await graph.get("me/business_users", fields="made_up"))
    assert "(made_up) on node type (BusinessUser)" in error["message"]


async def test_an_accounts_business_field_names_the_owner(graph: Graph) -> None:
    """``business`` on an ad account is ``{id, name}`` and expands as a reference."""
    body = await ok(graph, INR_ACCOUNT, fields="business")
    assert body["business"] == OWNER_REF
    expanded = await ok(graph, INR_ACCOUNT, fields="business{vertical}")
    assert expanded["business"] == {"id": BUSINESS_ID, "vertical": "RETAIL"}
    nested = await ok(graph, "me/businesses", fields="owned_ad_accounts.limit(1){currency}")
    owner, agency = nested["data"]
    assert owner["owned_ad_accounts"]["data"] == [{"id": INR_ACCOUNT, "currency": "INR"}]
    assert agency["owned_ad_accounts"] == {"data": []}


@pytest.mark.parametrize("config", [SandboxConfig(accounts=7)])
async def test_a_counted_seed_puts_every_account_in_the_business(
    graph: Graph, config: SandboxConfig
) -> None:
    """accounts=7: the business owns all seven accounts and their seven Pages."""
    accounts = await ok(graph, f"{BUSINESS_ID}/owned_ad_accounts", limit="100")
    assert len(accounts["data"]) == 7
    clients = await ok(graph, f"{AGENCY_ID}/client_ad_accounts", limit="100")
    assert ids(clients) == ids(accounts)
    pages = await ok(graph, f"{BUSINESS_ID}/owned_pages", limit="100")
    assert len(pages["data"]) == 7


async def test_every_account_lists_the_shared_pixel(graph: Graph) -> None:
    """``/act_X/adspixels`` on each account lists the seeded pixel, a node with SDK fields."""
    for account in (INR_ACCOUNT, USD_ACCOUNT):
        body = await ok(graph, f"{account}/adspixels", fields="id,name,owner_business")
        assert body["data"] == [
            {
                "id": PIXEL_ID,
                "name": "Sandbox Pixel",
                "owner_business": OWNER_REF,
            }
        ]
    node = await ok(graph, PIXEL_ID, fields="code,creation_time,last_fired_time,is_unavailable")
    assert f"fbq('init', '{PIXEL_ID}')" in node["code"]
    assert node["is_unavailable"] is False
    shared = await ok(graph, f"{PIXEL_ID}/shared_accounts", fields="id")
    assert ids(shared) == [INR_ACCOUNT, USD_ACCOUNT]


async def test_a_custom_audience_reads_as_a_node(graph: Graph) -> None:
    """``GET /{audience_id}`` with size bounds, status and its pixel."""
    listed = await ok(graph, f"{INR_ACCOUNT}/customaudiences")
    audience_id = listed["data"][0]["id"]
    fields = (
        "name,subtype,approximate_count_lower_bound,approximate_count_upper_bound,"
        "delivery_status,operation_status,pixel_id,retention_days,time_created"
    )
    node = await ok(graph, audience_id, fields=fields)
    assert node["subtype"] == "WEBSITE"
    assert node["approximate_count_lower_bound"] < node["approximate_count_upper_bound"]
    assert node["delivery_status"]["code"] == 200
    assert node["pixel_id"] == PIXEL_ID
    assert isinstance(node["time_created"], int)
    assert node["retention_days"] == 30


async def test_a_pages_business_field_names_the_owner(graph: Graph) -> None:
    """``business`` on a Page is the seeded business, expandable."""
    body = await ok(graph, PAGE_ID, fields="business{name}")
    assert body["business"] == OWNER_REF
