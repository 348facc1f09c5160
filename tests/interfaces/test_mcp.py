"""The MCP server through the SDK's in-memory client, over the in-process sandbox."""

from __future__ import annotations

import base64
import io
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.types import CallToolResult, TextContent
from PIL import Image
from starlette.applications import Starlette

from meta_agent.config import load_settings
from meta_agent.interfaces.mcp_server import build_server
from meta_agent.sandbox import ManualClock
from meta_agent.service import MetaAgentService
from tests.conftest import INR_ACCOUNT, PAGE_ID

WRITES = {
    "create_full_campaign",
    "create_campaign",
    "update_campaign",
    "update_creative",
    "optimize_campaign",
    "bulk",
    "resume_workflow",
    "rollback_workflow",
    "undo_workflow",
}
READS = {
    "get_insights",
    "performance_report",
    "workflow_status",
    "list_workflows",
    "list_approvals",
    "wait_for_approval",
    "health",
}
CREATES = ("create_full_campaign", "create_campaign")


@pytest.fixture
async def service(
    app: Starlette, clock: ManualClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[MetaAgentService]:
    """The facade over the in-process sandbox, its journal in a temporary directory."""
    isolate_settings(monkeypatch, tmp_path)
    opened = await MetaAgentService.open(
        load_settings(), sandbox_app=app, now=clock.now, sleep=clock.sleep
    )
    yield opened
    await opened.aclose()


def isolate_settings(monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> None:
    """No setting from the real environment; files under ``data_dir``."""
    for name in [*os.environ]:
        if name.startswith("META_AGENT_") or name == "META_ACCESS_TOKEN":
            monkeypatch.delenv(name)
    monkeypatch.setenv("META_AGENT_DATA_DIR", str(data_dir))


@asynccontextmanager
async def connected(service: MetaAgentService) -> AsyncIterator[Client]:
    """An MCP client talking to the server in process (stdio's access: the local operator)."""
    async with Client(build_server(service)) as session:
        yield session


def text_of(result: CallToolResult) -> str:
    """The text content of a tool result."""
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


def structured(result: CallToolResult) -> dict[str, Any]:
    """The structured content of a tool result (asserting there is some)."""
    assert result.structured_content is not None, text_of(result)
    return result.structured_content


def adset(name: str = "Adults") -> dict[str, Any]:
    """One ABO ad set in India."""
    return {
        "name": name,
        "optimization_goal": "LINK_CLICKS",
        "billing_event": "IMPRESSIONS",
        "daily_budget": 50_000,
        "targeting": {"countries": ["IN"], "age_min": 18, "age_max": 45},
    }


def campaign_data() -> dict[str, Any]:
    """The ``data`` of create_campaign: one campaign, one ad set."""
    return {
        "campaign": {"name": "Winter shoes", "objective": "OUTCOME_TRAFFIC"},
        "adsets": [adset()],
    }


def png_base64() -> str:
    """A 1200x1200 PNG, base64: large enough for Meta's feed."""
    buffer = io.BytesIO()
    Image.new("RGB", (1200, 1200), "teal").save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def full_data() -> dict[str, Any]:
    """The ``data`` of create_full_campaign: one image, one ad set, one ad."""
    creative = {
        "kind": "image",
        "name": "Teal creative",
        "page_id": PAGE_ID,
        "image_ref": "teal",
        "link": "https://example.com/shoes",
        "message": "Run further.",
        "call_to_action": "SHOP_NOW",
    }
    return {
        **campaign_data(),
        "images": [{"name": "teal", "data": png_base64()}],
        "ads": [{"name": "Teal ad", "adset_ref": "Adults", "creative": creative}],
    }


async def create(session: Client, tool: str, **arguments: Any) -> CallToolResult:
    """Call a create tool on the INR account with ``arguments``."""
    return await session.call_tool(tool, {"account_id": INR_ACCOUNT, **arguments})


async def listed(client: httpx2.AsyncClient, kind: str) -> list[dict[str, Any]]:
    """The sandbox's objects of ``kind`` that are not deleted (the admin listing as witness)."""
    listing = (await client.get("/_sandbox/objects", params={"kind": kind})).json()
    return [record for record in listing["data"] if record.get("status") != "DELETED"]


# -- the catalogue ------------------------------------------------------------------------------


async def test_every_action_is_a_tool_with_its_hints(service: MetaAgentService) -> None:
    """Writing tools are destructive and not read-only; reads are read-only and idempotent."""
    async with connected(service) as session:
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
    assert set(tools) == WRITES | READS
    for name in WRITES:
        hints = tools[name].annotations
        assert hints is not None
        assert (hints.read_only_hint, hints.destructive_hint) == (False, True), name
    for name in READS:
        hints = tools[name].annotations
        assert hints is not None
        assert (hints.read_only_hint, hints.idempotent_hint) == (True, True), name
    assert tools["create_campaign"].annotations.idempotent_hint is True  # type: ignore[union-attr]
    assert tools["resume_workflow"].annotations.idempotent_hint is False  # type: ignore[union-attr]


async def test_create_tools_tell_a_model_about_paused_dry_run_and_ids(
    service: MetaAgentService,
) -> None:
    """A create tool's description says PAUSED, dry_run, request_id and workflow_id."""
    async with connected(service) as session:
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
    for name in CREATES:
        description = tools[name].description or ""
        for phrase in ("PAUSED", "dry_run=true", "request_id", "workflow_id", "minor unit"):
            assert phrase in description, (name, phrase)
        assert not description.startswith(" "), "docstring indentation leaked"


async def test_no_tool_lets_a_model_approve_its_own_spending(service: MetaAgentService) -> None:
    """No tool takes approved_by; activation is said to come back PENDING_APPROVAL at times."""
    async with connected(service) as session:
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
    for tool in tools.values():
        assert "approved_by" not in tool.input_schema["properties"], tool.name
        assert "approved_by" not in (tool.description or ""), tool.name
    activate = tools["create_campaign"].input_schema["properties"]["activate"]["description"]
    assert "PENDING_APPROVAL" in activate
    assert "cannot approve your own request" in activate
    assert "PENDING_APPROVAL" in (tools["create_full_campaign"].description or "")


async def test_every_tool_declares_structured_output(service: MetaAgentService) -> None:
    """Each tool has an output schema; writing tools return the orchestrator's response."""
    async with connected(service) as session:
        tools = (await session.list_tools()).tools
    for tool in tools:
        assert tool.output_schema is not None, tool.name
        if tool.name in WRITES:
            assert {"workflow_id", "status", "error"} <= set(tool.output_schema["properties"])


async def test_data_is_described_by_the_actions_own_schema(service: MetaAgentService) -> None:
    """create_campaign's data lists campaign and ad sets, each $ref resolving at the root."""
    async with connected(service) as session:
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
    schema = tools["create_campaign"].input_schema
    data = schema["properties"]["data"]
    assert data["required"] == ["campaign", "adsets"]
    refs = {ref.rsplit("/", 1)[1] for ref in _refs(schema)}
    assert {"CampaignParams", "AdSetParams", "TargetingParams"} <= refs
    assert refs <= set(schema["$defs"])


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if "$ref" in node else []
        return own + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


# -- running actions ----------------------------------------------------------------------------


async def test_create_campaign_creates_it_paused(
    service: MetaAgentService, client: httpx2.AsyncClient
) -> None:
    """create_campaign runs on the sandbox; the structured result names the PAUSED campaign."""
    async with connected(service) as session:
        result = await create(session, "create_campaign", data=campaign_data(), request_id="r1")
    body = structured(result)
    assert result.is_error is False
    assert (body["status"], body["action"], body["request_id"]) == (
        "COMPLETED",
        "create_campaign",
        "r1",
    )
    campaign_id = body["result"]["campaign"]["id"]
    campaigns = await listed(client, "campaign")
    assert [(c["id"], c["status"]) for c in campaigns] == [(campaign_id, "PAUSED")]


async def test_create_full_campaign_creates_the_whole_structure(
    service: MetaAgentService, client: httpx2.AsyncClient
) -> None:
    """create_full_campaign uploads, creates campaign, ad set, creative and ad, all PAUSED."""
    async with connected(service) as session:
        result = await create(session, "create_full_campaign", data=full_data(), request_id="f1")
    assert structured(result)["status"] == "COMPLETED", text_of(result)
    for kind in ("campaign", "adset", "ad"):
        records = await listed(client, kind)
        assert [record["status"] for record in records] == ["PAUSED"], kind


async def test_a_dry_run_creates_nothing(
    service: MetaAgentService, client: httpx2.AsyncClient
) -> None:
    """dry_run=true validates the plan and leaves the account as it was."""
    async with connected(service) as session:
        result = await create(
            session, "create_full_campaign", data=full_data(), request_id="d1", dry_run=True
        )
    body = structured(result)
    assert (body["status"], body["dry_run"]) == ("COMPLETED", True), text_of(result)
    assert await listed(client, "campaign") == []


async def test_a_repeated_request_id_is_answered_from_the_journal(
    service: MetaAgentService, client: httpx2.AsyncClient
) -> None:
    """The same request_id twice: the second answer is replayed and nothing more is created."""
    async with connected(service) as session:
        first = await create(session, "create_campaign", data=campaign_data(), request_id="same")
        again = await create(session, "create_campaign", data=campaign_data(), request_id="same")
    assert structured(again)["replayed"] is True
    assert structured(again)["result"] == structured(first)["result"]
    assert len(await listed(client, "campaign")) == 1


async def test_workflow_status_and_list_show_the_journal(service: MetaAgentService) -> None:
    """workflow_status shows the steps and created objects; list_workflows finds the workflow."""
    async with connected(service) as session:
        created = structured(
            await create(session, "create_campaign", data=campaign_data(), request_id="w1")
        )
        status = await session.call_tool("workflow_status", {"workflow_id": created["workflow_id"]})
        listing = await session.call_tool("list_workflows", {"status": "COMPLETED"})
    detail = structured(status)
    assert detail["workflow"]["status"] == "COMPLETED"
    assert "launch" in [step["name"] for step in detail["steps"]]
    assert {resource["kind"] for resource in detail["resources"]} >= {"campaign", "adset"}
    found = structured(listing)
    assert [w["id"] for w in found["workflows"]] == [created["workflow_id"]]
    assert found["count"] == 1


async def test_get_insights_returns_rows(service: MetaAgentService) -> None:
    """get_insights reads the account's rows as structured content (default period last_7d)."""
    async with connected(service) as session:
        result = await session.call_tool(
            "get_insights",
            {"object_id": INR_ACCOUNT, "level": "account", "fields": ["impressions", "spend"]},
        )
    body = structured(result)
    assert result.is_error is False, text_of(result)
    assert body["count"] == len(body["rows"])
    assert all(row["account_id"] == INR_ACCOUNT.removeprefix("act_") for row in body["rows"])


async def test_health_reports_sandbox_mode(service: MetaAgentService) -> None:
    """health runs every check and says the requests go to the sandbox."""
    async with connected(service) as session:
        body = structured(await session.call_tool("health", {}))
    assert (body["status"], body["mode"]) == ("healthy", "sandbox")
    assert set(body["checks"]) == {"api_connectivity", "database", "cache", "agents", "queues"}


# -- errors -------------------------------------------------------------------------------------


async def test_a_bad_field_is_an_error_result_naming_it(service: MetaAgentService) -> None:
    """An ad set without its goal is a tool error naming data.adsets[0].optimization_goal."""
    data = campaign_data()
    del data["adsets"][0]["optimization_goal"]
    async with connected(service) as session:
        result = await create(session, "create_campaign", data=data)
    assert result.is_error is True
    text = text_of(result)
    assert "field: data.adsets[0].optimization_goal" in text
    assert "nothing was sent to Meta" in text


async def test_a_missing_account_is_named(service: MetaAgentService) -> None:
    """create_campaign without account_id names account_id and what it should look like."""
    async with connected(service) as session:
        result = await session.call_tool("create_campaign", {"data": campaign_data()})
    assert result.is_error is True
    assert "account_id" in text_of(result)
    assert "act_" in text_of(result)


async def test_arguments_outside_the_schema_name_the_argument(service: MetaAgentService) -> None:
    """A level the tool does not know names the argument, without echoing the input back."""
    async with connected(service) as session:
        result = await session.call_tool(
            "get_insights", {"object_id": INR_ACCOUNT, "level": "galaxy"}
        )
    assert result.is_error is True
    text = text_of(result)
    assert text.startswith("invalid arguments: level:")
    assert "input_value" not in text


async def test_an_unknown_workflow_names_workflow_id(service: MetaAgentService) -> None:
    """workflow_status of an id the journal does not hold is an error result naming the field."""
    async with connected(service) as session:
        result = await session.call_tool("workflow_status", {"workflow_id": "nope"})
    assert result.is_error is True
    assert "field: workflow_id" in text_of(result)


async def test_a_failed_workflow_returns_its_structured_response(
    service: MetaAgentService, client: httpx2.AsyncClient
) -> None:
    """Meta failing every ad set: an error result carrying the ROLLED_BACK response and cause."""
    spec = "transient:method=POST,path=act_*/adsets"
    assert (await client.post("/_sandbox/faults", json={"spec": spec})).status_code == 200
    async with connected(service) as session:
        result = await create(session, "create_campaign", data=campaign_data(), request_id="x")
    assert result.is_error is True
    body = structured(result)
    assert body["status"] == "ROLLED_BACK"
    assert body["error"]["cause"]["kind"] == "transient"
    assert json.loads(text_of(result)) == body
    assert await listed(client, "campaign") == []


async def test_performance_report_is_structured(service: MetaAgentService) -> None:
    """performance_report's answer passes the client's check against its output schema."""
    async with connected(service) as session:
        result = await session.call_tool(
            "performance_report",
            {"object_id": INR_ACCOUNT, "level": "account", "date_preset": "last_7d"},
        )
    body = structured(result)
    assert result.is_error is False, text_of(result)
    assert (body["object_id"], body["currency"]) == (INR_ACCOUNT, "INR")
    assert body["summary"]["spend"]["currency"] == "INR"


async def test_a_period_given_twice_names_the_field(service: MetaAgentService) -> None:
    """get_insights with both date_preset and time_range names time_range, and says to pick one."""
    span = {"since": "2026-01-01", "until": "2026-01-07"}
    async with connected(service) as session:
        result = await session.call_tool(
            "get_insights",
            {
                "object_id": INR_ACCOUNT,
                "level": "account",
                "date_preset": "last_7d",
                "time_range": span,
            },
        )
    assert result.is_error is True
    assert "field: time_range" in text_of(result)
    assert "exactly one of date_preset" in text_of(result)


async def test_an_unknown_insights_field_names_the_argument(service: MetaAgentService) -> None:
    """A misspelt field is named as the tool's argument ``fields``, with a suggestion."""
    async with connected(service) as session:
        result = await session.call_tool(
            "get_insights", {"object_id": INR_ACCOUNT, "level": "account", "fields": ["impresions"]}
        )
    assert result.is_error is True
    assert "field: fields\n" in text_of(result)
    assert "did you mean 'impressions'" in text_of(result)


async def test_an_agent_sees_and_waits_on_an_approval_but_cannot_decide_it(
    app: Starlette, clock: ManualClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A held activation is listed and waited on over MCP; no tool can approve it."""
    isolate_settings(monkeypatch, tmp_path)
    policies = {"accounts": {INR_ACCOUNT: {"activation_requires_approval": True}}}
    held_service = await MetaAgentService.open(
        load_settings(policies=policies), sandbox_app=app, now=clock.now, sleep=clock.sleep
    )
    try:
        async with connected(held_service) as session:
            tools = {tool.name for tool in (await session.list_tools()).tools}
            made = await create(
                session, "create_campaign", data=campaign_data(), request_id="h1", activate=True
            )
            assert structured(made)["status"] == "PENDING_APPROVAL", text_of(made)
            listed_ = structured(await session.call_tool("list_approvals", {}))
            waited = await session.call_tool(
                "wait_for_approval", {"approval_id": listed_["approvals"][0]["id"], "seconds": 0}
            )
    finally:
        await held_service.aclose()
    assert not {name for name in tools if "approve" in name or "reject" in name}
    assert listed_["count"] == 1
    assert structured(waited)["status"] == "PENDING"


async def test_undo_workflow_plans_first_then_undoes(service: MetaAgentService) -> None:
    """undo_workflow is a dry run unless told otherwise; then the campaign is gone."""
    async with connected(service) as session:
        made = structured(
            await session.call_tool(
                "create_campaign",
                {"account_id": INR_ACCOUNT, "data": campaign_data(), "request_id": "mcp-undo"},
            )
        )
        assert made["status"] == "COMPLETED", made
        plan = structured(
            await session.call_tool("undo_workflow", {"workflow_id": made["workflow_id"]})
        )
        assert plan["dry_run"] is True
        assert plan["delete"] == 2
        done = structured(
            await session.call_tool(
                "undo_workflow", {"workflow_id": made["workflow_id"], "dry_run": False}
            )
        )
    assert done["status"] == "ROLLED_BACK", done
    assert done["undo"]["delete"] == 2
