"""Breakdowns that need an opt-in since 2026-08-03 (reference §13.1): impression_device,
frequency_value and hourly_stats_aggregated_by_audience_time_zone answer no rows and no
error synchronously on accounts that have not opted in; async report runs still work, under
the sandbox's daily quota; an opt-in (config, account record, admin endpoint) lifts both."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx2
import pytest

from meta_agent.sandbox import ManualClock, Sandbox, SandboxConfig, create_app
from tests.conftest import INR_ACCOUNT, USD_ACCOUNT, Graph, error_of
from tests.contract.test_insights import rows, seed_tree, start

DEVICES = "publisher_platform,impression_device"
AUDIENCE_HOURS = "hourly_stats_aggregated_by_audience_time_zone"
BEFORE_THE_CHANGE = datetime(2026, 7, 20, 12, tzinfo=UTC).timestamp()


@pytest.fixture
def config() -> SandboxConfig:
    """A small daily quota, so the tests reach it."""
    return SandboxConfig(opt_in_report_runs_per_day=2)


async def sync_body(graph: Graph, breakdowns: str, path: str = INR_ACCOUNT) -> dict[str, Any]:
    """The whole answer of one sync query with ``breakdowns``."""
    response = await graph.get(
        f"{path}/insights", fields="impressions,spend", breakdowns=breakdowns, limit=500
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize(
    "breakdowns",
    [DEVICES, AUDIENCE_HOURS, "frequency_value", "impression_device,publisher_platform"],
)
async def test_sync_answers_no_rows_and_no_error(
    graph: Graph, sandbox: Sandbox, breakdowns: str
) -> None:
    """Without the opt-in, a sync query with these breakdowns is 200 with empty data."""
    seed_tree(sandbox)
    assert await sync_body(graph, breakdowns) == {"data": []}


async def test_other_breakdowns_are_unaffected(graph: Graph, sandbox: Sandbox) -> None:
    """device_platform and the advertiser-time-zone hours still answer rows synchronously."""
    seed_tree(sandbox)
    for breakdowns in ("device_platform", "hourly_stats_aggregated_by_advertiser_time_zone"):
        assert (await sync_body(graph, breakdowns))["data"], breakdowns


async def test_before_2026_08_03_no_opt_in_was_needed() -> None:
    """On a sandbox clock before the change, impression_device rows come back."""
    clock = ManualClock(start=BEFORE_THE_CHANGE)
    app = create_app(SandboxConfig(), clock=clock)
    seed_tree(app.state.sandbox)
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://sandbox.test") as client:
        assert (await sync_body(Graph(client), DEVICES))["data"]


async def test_opt_in_by_config_names_the_account() -> None:
    """breakdown_opt_in_accounts opts in the accounts it names, and only those."""
    app = create_app(SandboxConfig(breakdown_opt_in_accounts=frozenset({INR_ACCOUNT})))
    sandbox = app.state.sandbox
    seed_tree(sandbox)
    seed_tree(sandbox, account=USD_ACCOUNT)
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://sandbox.test") as client:
        graph = Graph(client)
        assert (await sync_body(graph, DEVICES))["data"]
        assert await sync_body(graph, DEVICES, USD_ACCOUNT) == {"data": []}


async def test_opt_in_through_the_admin_endpoint(
    graph: Graph, client: httpx2.AsyncClient, sandbox: Sandbox
) -> None:
    """POST /_sandbox/breakdown_opt_in turns the opt-in on (and off) for one account."""
    ids = seed_tree(sandbox)
    on = await client.post("/_sandbox/breakdown_opt_in", json={"account_id": INR_ACCOUNT})
    assert on.json() == {"account_id": INR_ACCOUNT, "opted_in": True}
    found = await rows(graph, fields="ad_id,impressions", breakdowns=DEVICES, level="ad")
    assert {row["impression_device"] for row in found} >= {"iphone", "android_smartphone"}
    assert {row["ad_id"] for row in found} == set(ids["ads"])
    off = await client.post(
        "/_sandbox/breakdown_opt_in", json={"account_id": INR_ACCOUNT, "opted_in": False}
    )
    assert off.json()["opted_in"] is False
    assert await sync_body(graph, DEVICES) == {"data": []}


async def test_admin_endpoint_names_what_it_needs(client: httpx2.AsyncClient) -> None:
    """An unknown account or a body that is not JSON is a 400 saying what to send."""
    for body in (b'{"account_id": "act_1"}', b"not json"):
        response = await client.post("/_sandbox/breakdown_opt_in", content=body)
        assert response.status_code == 400
        assert "account_id" in response.json()["error"]["message"]


async def test_async_runs_still_answer_rows(
    graph: Graph, sandbox: Sandbox, clock: ManualClock
) -> None:
    """A report run with impression_device completes with the rows sync would have given."""
    seed_tree(sandbox)
    run_id = await start(graph, fields="impressions,spend", breakdowns=DEVICES)
    clock.advance(sandbox.config.report_run_seconds)
    found = await rows(graph, run_id)
    assert found
    assert all("impression_device" in row for row in found)


async def test_async_runs_have_a_daily_quota(
    graph: Graph, sandbox: Sandbox, clock: ManualClock
) -> None:
    """The third run of the day fails with 80000/2446079; other runs and tomorrow's pass."""
    seed_tree(sandbox)
    for _ in range(2):
        await start(graph, fields="impressions", breakdowns=AUDIENCE_HOURS)
    refused = await graph.post(f"{INR_ACCOUNT}/insights", fields="impressions", breakdowns=DEVICES)
    error = error_of(refused)
    assert (error["code"], error["error_subcode"]) == (80000, 2446079)
    assert "2 a day" in error["message"]
    await start(graph, fields="impressions", breakdowns="age")  # not counted, not refused
    clock.advance(86_400)
    await start(graph, fields="impressions", breakdowns=DEVICES)


async def test_quota_survives_a_state_reload(
    graph: Graph, client: httpx2.AsyncClient, sandbox: Sandbox
) -> None:
    """The day's runs are counted from the stored runs, so a saved state keeps the count."""
    seed_tree(sandbox)
    for _ in range(2):
        await start(graph, fields="impressions", breakdowns=DEVICES)
    saved = (await client.get("/_sandbox/state")).json()
    await client.post("/_sandbox/reset")
    await start(graph, fields="impressions", breakdowns=DEVICES)  # a fresh state: allowed
    await client.put("/_sandbox/state", json=saved)
    refused = await graph.post(f"{INR_ACCOUNT}/insights", fields="impressions", breakdowns=DEVICES)
    assert error_of(refused)["code"] == 80000


async def test_frequency_value_rows_add_up_and_match_their_bucket(
    graph: Graph, sandbox: Sandbox
) -> None:
    """Opted in, frequency_value rows sum to the total; frequency grows with the bucket."""
    sandbox.state.objects[INR_ACCOUNT]["breakdown_opt_in"] = True
    seed_tree(sandbox, ads=2)
    fields = "impressions,reach,frequency,spend"
    (whole,) = await rows(graph, fields=fields)
    found = await rows(graph, fields=fields, breakdowns="frequency_value")
    assert [row["frequency_value"] for row in found][:3] == ["1", "2", "3"]
    for name in ("impressions", "reach"):
        assert sum(int(row[name]) for row in found) == int(whole[name]), name
    ratios = [float(row["frequency"]) / int(row["frequency_value"]) for row in found[:3]]
    assert ratios == pytest.approx([ratios[0]] * 3, rel=0.02)
