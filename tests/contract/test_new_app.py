"""Apps created on or after 2026-11-04 (§13.1): legacy Graph features refused, the rest served.

The reference names the features but not Meta's error, so each refusal is the sandbox's own
code 100 naming the feature; these tests pin that, and that an older app keeps them.
"""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest

from meta_agent.sandbox import SandboxConfig
from tests.conftest import INR_ACCOUNT, TOKEN, Graph, error_of
from tests.contract.test_batch import create_item, get_item, run_batch


@pytest.fixture
def config() -> SandboxConfig:
    """A sandbox that behaves as for an app created after the cut-off."""
    return SandboxConfig(new_app=True)


def assert_closed(response: httpx2.Response, feature: str, blamed: str) -> None:
    """A (#100) refusal naming ``feature`` and the cut-off, blaming ``blamed``."""
    assert response.status_code == 400, response.text
    error = error_of(response)
    assert error["code"] == 100
    assert error["message"].startswith(f"(#100) {feature}")
    assert "2026-11-04" in error["message"]
    assert json.loads(error["error_data"])["blame_field_specs"] == [[blamed]]


async def test_multi_id_read_is_refused(graph: Graph) -> None:
    """GET /?ids=a,b is closed to new apps."""
    response = await graph.get("", ids=f"{INR_ACCOUNT},me", fields="id")
    assert_closed(response, "Multi-id reads", "ids")


async def test_method_override_parameter_is_refused(graph: Graph) -> None:
    """POST with method=GET (or any method=) is closed to new apps."""
    response = await graph.post(INR_ACCOUNT, method="GET", fields="id")
    assert_closed(response, "HTTP method override", "method")


async def test_method_override_header_is_refused(client: httpx2.AsyncClient) -> None:
    """X-HTTP-Method-Override is the same override, closed the same way."""
    response = await client.post(
        f"/v25.0/{INR_ACCOUNT}",
        params={"access_token": TOKEN, "fields": "id"},
        headers={"X-HTTP-Method-Override": "GET"},
    )
    assert_closed(response, "HTTP method override", "method")


async def test_field_alias_is_refused(graph: Graph) -> None:
    """fields=name.as(title) is closed to new apps, nested or not."""
    assert_closed(await graph.get(INR_ACCOUNT, fields="name.as(title)"), "Field aliases", "fields")
    nested = await graph.get(INR_ACCOUNT, fields="campaigns{name.as(x)}")
    assert_closed(nested, "Field aliases", "fields")


async def test_date_format_is_refused(graph: Graph) -> None:
    """date_format=U is closed to new apps."""
    response = await graph.get(INR_ACCOUNT, fields="created_time", date_format="U")
    assert_closed(response, "date_format", "date_format")


async def test_jsonp_is_refused(graph: Graph) -> None:
    """callback= (JSONP) is closed to new apps."""
    assert_closed(await graph.get("me", callback="cb"), "JSONP", "callback")


async def test_async_batch_request_is_refused(graph: Graph) -> None:
    """POST /act_X/async_batch_requests is closed to new apps."""
    adbatch = [create_item("c1")]
    response = await graph.post(
        f"{INR_ACCOUNT}/async_batch_requests", name="set", adbatch=json.dumps(adbatch)
    )
    assert_closed(response, "Async batch requests", "adbatch")


async def test_sync_batch_is_served_and_its_items_are_checked(client: httpx2.AsyncClient) -> None:
    """The synchronous batch still works; an item using ?ids= is refused inside its slot."""
    slots: list[Any] = await run_batch(
        client, [create_item(), get_item("me?fields=id"), get_item("?ids=me&fields=id")]
    )
    assert [slot["code"] for slot in slots] == [200, 200, 400]
    assert "Multi-id reads" in json.loads(slots[2]["body"])["error"]["message"]


async def test_plain_reads_and_writes_are_served(graph: Graph) -> None:
    """What every app may do is untouched: node reads with fields, edges, creates, deletes."""
    assert (await graph.get(INR_ACCOUNT, fields="id,name,currency")).status_code == 200
    created = await graph.post(
        f"{INR_ACCOUNT}/campaigns",
        name="New app",
        objective="OUTCOME_TRAFFIC",
        special_ad_categories="[]",
        status="PAUSED",
        is_adset_budget_sharing_enabled="false",
    )
    assert created.status_code == 200, created.text
    campaign_id = created.json()["id"]
    listed = await graph.get(f"{INR_ACCOUNT}/campaigns", fields="name", limit="5")
    assert [row["id"] for row in listed.json()["data"]] == [campaign_id]
    assert (await graph.delete(campaign_id)).json() == {"success": True}


class TestOlderApp:
    """Without the switch (an app from before the cut-off) the legacy features still work."""

    @pytest.fixture
    def config(self) -> SandboxConfig:
        return SandboxConfig()

    async def test_ids_date_format_and_override_are_served(self, graph: Graph) -> None:
        """?ids=, date_format, an alias and method=GET are all answered."""
        by_ids = await graph.get("", ids=f"{INR_ACCOUNT},me", fields="id")
        assert set(by_ids.json()) == {INR_ACCOUNT, "me"}
        assert (await graph.get(INR_ACCOUNT, fields="id", date_format="U")).status_code == 200
        assert (await graph.get(INR_ACCOUNT, fields="name.as(title)")).status_code == 200
        overridden = await graph.post(INR_ACCOUNT, method="GET", fields="id")
        assert overridden.json()["id"] == INR_ACCOUNT
