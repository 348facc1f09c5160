"""MCP over streamable HTTP on a real uvicorn socket: API keys, their scopes, protocol eras."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp.types import CallToolResult
from starlette.applications import Starlette

from meta_agent.config import load_settings
from meta_agent.errors import ConfigError
from meta_agent.interfaces.http.auth import ApiKeyStore, new_api_key
from meta_agent.interfaces.mcp_auth import ANONYMOUS, Access, access_for
from meta_agent.interfaces.mcp_server import build_server, http_server
from meta_agent.sandbox import ManualClock
from meta_agent.service import MetaAgentService
from tests.conftest import INR_ACCOUNT, USD_ACCOUNT, free_port
from tests.interfaces.conftest import invoke
from tests.interfaces.test_mcp import campaign_data, isolate_settings, structured, text_of

MODERN = "2026-07-28"
JSON_AND_SSE = "application/json, text/event-stream"
EVERYWHERE = "0.0.0.0"  # noqa: S104 - the binding these tests prove is refused


@pytest.fixture
async def service(
    app: Starlette, clock: ManualClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[MetaAgentService]:
    """The facade over the in-process sandbox, as remote callers get it (no local files)."""
    isolate_settings(monkeypatch, tmp_path)
    opened = await MetaAgentService.open(
        load_settings(), sandbox_app=app, local_files=False, now=clock.now, sleep=clock.sleep
    )
    yield opened
    await opened.aclose()


@pytest.fixture
def keys() -> tuple[ApiKeyStore, dict[str, str]]:
    """Four keys: everything, the INR account only, reads only, and a revoked one."""
    made = {
        "full": new_api_key("full"),
        "inr": new_api_key("inr-only", accounts=[INR_ACCOUNT]),
        "reader": new_api_key("reader", actions=["read", "get_insights"]),
        "revoked": new_api_key("revoked"),
    }
    records = [record for _, record in made.values()]
    records[-1] = records[-1].model_copy(update={"revoked": True})
    return ApiKeyStore(records), {name: plaintext for name, (plaintext, _) in made.items()}


@asynccontextmanager
async def serving(service: MetaAgentService, access: Access) -> AsyncIterator[str]:
    """The MCP server on a free loopback port, in this loop; yields its endpoint URL."""
    port = free_port()
    server = http_server(build_server(service, access), "127.0.0.1", port, "warning")
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the MCP server did not start"
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        server.should_exit = True
        await task


@pytest.fixture
async def keyed(
    service: MetaAgentService, keys: tuple[ApiKeyStore, dict[str, str]]
) -> AsyncIterator[str]:
    """The server guarded by ``keys``; its URL."""
    async with serving(service, Access.api_keys(keys[0])) as url:
        yield url


@asynccontextmanager
async def mcp_client(url: str, key: str | None, mode: str = "legacy") -> AsyncIterator[Client]:
    """The SDK's client over streamable HTTP, sending ``key`` as a bearer token."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as http,
        Client(streamable_http_client(url, http_client=http), mode=mode) as client,
    ):
        yield client


async def create_on(client: Client, account: str, request_id: str) -> CallToolResult:
    """create_campaign on ``account``."""
    arguments = {"account_id": account, "data": campaign_data(), "request_id": request_id}
    return await client.call_tool("create_campaign", arguments)


async def campaigns(sandbox: httpx2.AsyncClient, account: str | None = None) -> list[Any]:
    """The sandbox's campaigns (of ``account``), deleted ones included: the witness."""
    params = {"kind": "campaign", **({"account_id": account} if account else {})}
    listing = (await sandbox.get("/_sandbox/objects", params=params)).json()
    data: list[Any] = listing["data"]
    return data


def rpc(method: str, params: dict[str, Any], ident: int = 1) -> dict[str, Any]:
    """A JSON-RPC request body."""
    return {"jsonrpc": "2.0", "id": ident, "method": method, "params": params}


def create_call() -> dict[str, Any]:
    """tools/call of create_campaign on the INR account, as a raw JSON-RPC body."""
    arguments = {"account_id": INR_ACCOUNT, "data": campaign_data(), "request_id": "raw"}
    return rpc("tools/call", {"name": "create_campaign", "arguments": arguments})


# -- authentication ------------------------------------------------------------------------------


async def test_no_key_or_a_bad_key_is_401_and_nothing_is_written(
    keyed: str,
    keys: tuple[ApiKeyStore, dict[str, str]],
    client: httpx2.AsyncClient,
    service: MetaAgentService,
) -> None:
    """Without a valid bearer key (none, unknown, revoked) a create is 401 and writes nothing."""
    wrong = keys[1]["full"][:-4] + "AAAA"
    answers = []
    async with httpx2.AsyncClient(headers={"Accept": JSON_AND_SSE}, timeout=30) as http:
        for token in (None, "mak_nope_nope", wrong, keys[1]["revoked"]):
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            answers.append(await http.post(keyed, json=create_call(), headers=headers))
    assert [answer.status_code for answer in answers] == [401, 401, 401, 401]
    assert all(a.headers["www-authenticate"].startswith("Bearer ") for a in answers)
    with pytest.raises(ExceptionGroup) as refused:  # the SDK's client gives up on the 401
        async with mcp_client(keyed, None) as session:
            await create_on(session, INR_ACCOUNT, "anonymous")
    assert refused.group_contains(MCPError)
    assert await campaigns(client) == []
    assert await service.workflows() == []


async def test_a_valid_key_creates_over_both_protocol_eras(
    keyed: str, keys: tuple[ApiKeyStore, dict[str, str]], client: httpx2.AsyncClient
) -> None:
    """A full key creates through a handshake-era client and a 2026-07-28 (stateless) one."""
    async with mcp_client(keyed, keys[1]["full"], mode="legacy") as legacy:
        first = await create_on(legacy, INR_ACCOUNT, "legacy-1")
        era = legacy.protocol_version
    async with mcp_client(keyed, keys[1]["full"], mode=MODERN) as modern:
        second = await create_on(modern, USD_ACCOUNT, "modern-1")
        assert modern.protocol_version == MODERN
    assert era == "2025-11-25"
    assert structured(first)["status"] == "COMPLETED", text_of(first)
    assert structured(second)["status"] == "COMPLETED", text_of(second)
    assert len(await campaigns(client, INR_ACCOUNT)) == 1
    assert len(await campaigns(client, USD_ACCOUNT)) == 1


async def test_the_workflow_is_journaled_as_the_keys_principal(
    keyed: str, keys: tuple[ApiKeyStore, dict[str, str]], service: MetaAgentService
) -> None:
    """The principal reaching the service is the key's: the journal names the key's id."""
    async with mcp_client(keyed, keys[1]["inr"]) as session:
        body = structured(await create_on(session, INR_ACCOUNT, "as-key"))
    record = await service.parts.store.get_workflow(body["workflow_id"])
    assert record is not None
    expected = keys[0].authenticate(keys[1]["inr"])
    assert expected is not None
    assert record.principal is not None
    assert record.principal["id"] == expected.id


# -- scopes --------------------------------------------------------------------------------------


async def test_a_key_limited_to_one_account_cannot_create_on_another(
    keyed: str, keys: tuple[ApiKeyStore, dict[str, str]], client: httpx2.AsyncClient
) -> None:
    """The INR-only key creating on the USD account: refused, naming it; nothing on USD."""
    async with mcp_client(keyed, keys[1]["inr"]) as session:
        refused = await create_on(session, USD_ACCOUNT, "elsewhere")
        spelled = await create_on(session, USD_ACCOUNT.removeprefix("act_"), "bare-digits")
    for result in (refused, spelled):
        assert result.is_error is True
        assert f"may not act on ad account {USD_ACCOUNT}" in text_of(result)
        assert "field: account_id" in text_of(result)
    assert await campaigns(client, USD_ACCOUNT) == []
    assert await campaigns(client) == []


async def test_a_bulk_item_on_another_account_refuses_the_whole_bulk(
    keyed: str, keys: tuple[ApiKeyStore, dict[str, str]], client: httpx2.AsyncClient
) -> None:
    """A bulk on the key's account with one item on another: refused before any write."""
    items = [
        {"action": "create_campaign", "data": campaign_data()},
        {"action": "create_campaign", "data": campaign_data(), "account_id": USD_ACCOUNT},
    ]
    async with mcp_client(keyed, keys[1]["inr"]) as session:
        result = await session.call_tool(
            "bulk", {"account_id": INR_ACCOUNT, "data": {"requests": items}, "request_id": "b"}
        )
    assert result.is_error is True
    assert "data.requests[1].account_id" in text_of(result)
    assert await campaigns(client) == []


async def test_a_key_without_the_action_is_refused(
    keyed: str, keys: tuple[ApiKeyStore, dict[str, str]], client: httpx2.AsyncClient
) -> None:
    """The read-only key calling create_campaign: refused, naming the action; nothing created."""
    async with mcp_client(keyed, keys[1]["reader"], mode=MODERN) as session:
        result = await create_on(session, INR_ACCOUNT, "no-right")
        insights = await session.call_tool(
            "get_insights", {"object_id": INR_ACCOUNT, "level": "account"}
        )
    assert result.is_error is True
    assert "may not perform create_campaign" in text_of(result)
    assert "Your API key is not granted this" in text_of(result)
    assert insights.is_error is False, text_of(insights)
    assert await campaigns(client) == []


async def test_a_limited_key_sees_only_its_accounts_workflows(
    keyed: str, keys: tuple[ApiKeyStore, dict[str, str]]
) -> None:
    """list_workflows and workflow_status hide another account's workflow from the INR key."""
    async with mcp_client(keyed, keys[1]["full"]) as session:
        usd = structured(await create_on(session, USD_ACCOUNT, "usd-1"))
        await create_on(session, INR_ACCOUNT, "inr-1")
    async with mcp_client(keyed, keys[1]["inr"]) as session:
        listing = structured(await session.call_tool("list_workflows", {}))
        status = await session.call_tool("workflow_status", {"workflow_id": usd["workflow_id"]})
        undo = await session.call_tool("rollback_workflow", {"workflow_id": usd["workflow_id"]})
    assert [w["account_id"] for w in listing["workflows"]] == [INR_ACCOUNT]
    for result in (status, undo):
        assert result.is_error is True
        assert f"no workflow {usd['workflow_id']!r}" in text_of(result)


# -- protocol eras -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "meta"),
    [("2025-03-26", None), ("2025-06-18", {"progressToken": "p1"})],
)
async def test_clients_of_the_handshake_era_still_work(
    keyed: str,
    keys: tuple[ApiKeyStore, dict[str, str]],
    version: str,
    meta: dict[str, Any] | None,
) -> None:
    """A 1.x-era client (raw JSON-RPC, `_meta` absent or present) initializes and calls a tool."""
    headers = {"Authorization": f"Bearer {keys[1]['full']}", "Accept": JSON_AND_SSE}
    hello = {
        "protocolVersion": version,
        "capabilities": {},
        "clientInfo": {"name": "old", "version": "1.9"},
    }
    params: dict[str, Any] = {"name": "list_workflows", "arguments": {"limit": 5}}
    if meta is not None:
        params["_meta"] = meta
    async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
        init = await http.post(keyed, json=rpc("initialize", hello))
        later = {"MCP-Protocol-Version": version} if version >= "2025-06-18" else {}
        call = await http.post(keyed, json=rpc("tools/call", params, 2), headers=later)
    assert init.status_code == 200, init.text
    assert init.json()["result"]["protocolVersion"] == version, init.text
    assert call.status_code == 200, call.text
    result = call.json()["result"]
    assert result["isError"] is False
    assert result["structuredContent"] == {"workflows": [], "count": 0}


async def test_a_modern_request_without_its_envelope_is_refused_cleanly(
    keyed: str, keys: tuple[ApiKeyStore, dict[str, str]], client: httpx2.AsyncClient
) -> None:
    """A 2026-07-28 tools/call with no `_meta` envelope: a JSON-RPC error naming it, no write."""
    headers = {
        "Authorization": f"Bearer {keys[1]['full']}",
        "Accept": JSON_AND_SSE,
        "MCP-Protocol-Version": MODERN,
        "Mcp-Method": "tools/call",
        "Mcp-Name": "create_campaign",
    }
    async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
        answer = await http.post(keyed, json=create_call())
    assert "_meta" in answer.json()["error"]["message"], answer.text
    assert await campaigns(client) == []


# -- no authentication, and refusing to start ----------------------------------------------------


async def test_no_auth_on_loopback_acts_as_an_unprivileged_agent(
    service: MetaAgentService, client: httpx2.AsyncClient
) -> None:
    """--no-auth (loopback): a keyless client works, journaled as the anonymous agent."""
    async with (
        serving(service, Access.anonymous()) as url,
        mcp_client(url, None, mode=MODERN) as session,
    ):
        body = structured(await create_on(session, INR_ACCOUNT, "anon-1"))
    record = await service.parts.store.get_workflow(body["workflow_id"])
    assert record is not None
    assert record.principal is not None
    assert (record.principal["id"], record.principal["role"]) == (ANONYMOUS.id, "agent")
    assert len(await campaigns(client, INR_ACCOUNT)) == 1


def test_http_beyond_loopback_without_auth_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """0.0.0.0 with no keys file, or with --no-auth: a ConfigError, exit 2 from the CLI."""
    isolate_settings(monkeypatch, tmp_path)
    settings = load_settings()
    with pytest.raises(ConfigError) as no_keys:
        access_for(settings, "http", EVERYWHERE, auth=True)
    with pytest.raises(ConfigError) as no_auth:
        access_for(settings, "http", EVERYWHERE, auth=False)
    assert no_keys.value.details["field"] == "service.api_keys_file"
    assert no_auth.value.details["field"] == "host"
    assert access_for(settings, "http", "127.0.0.1", auth=False).unauthenticated == ANONYMOUS
    assert access_for(settings, "stdio", EVERYWHERE, auth=True).keys is None
    refused = invoke("mcp", "--transport", "http", "--host", EVERYWHERE)
    refused_no_auth = invoke("mcp", "--transport", "http", "--host", EVERYWHERE, "--no-auth")
    assert (refused.exit_code, refused_no_auth.exit_code) == (2, 2), refused.output
    assert "api_keys_file" in refused.stderr
    assert "--no-auth" in refused_no_auth.stderr
