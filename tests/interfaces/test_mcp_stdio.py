"""The MCP server as a real subprocess, driven by the SDK's stdio client."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

REPO = Path(__file__).resolve().parents[2]


def server_environment(data_dir: Path) -> dict[str, str]:
    """The parent's environment without meta-agent settings, files kept under ``data_dir``."""
    kept = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("META_AGENT_") and name != "META_ACCESS_TOKEN"
    }
    return {**kept, "META_AGENT_DATA_DIR": str(data_dir)}


async def test_stdio_server_answers_a_client(tmp_path: Path) -> None:
    """`meta-agent mcp` over stdio: initialize, list tools, health and list_workflows work."""
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "meta_agent", "mcp", "--transport", "stdio"],
        env=server_environment(tmp_path),
        cwd=REPO,
    )
    with (tmp_path / "server-stderr.log").open("w") as errlog:
        async with (
            stdio_client(params, errlog=errlog) as (read, write),
            ClientSession(read, write) as session,
        ):
            info = await session.initialize()
            tools = {tool.name for tool in (await session.list_tools()).tools}
            health = await session.call_tool("health", {})
            workflows = await session.call_tool("list_workflows", {"limit": 5})
    assert info.server_info.name == "meta-agent"
    assert {"create_full_campaign", "health", "list_workflows"} <= tools
    assert health.structured_content is not None
    assert health.structured_content["mode"] == "sandbox"
    assert health.structured_content["status"] == "healthy", health.structured_content
    assert workflows.structured_content == {"workflows": [], "count": 0}
    assert (tmp_path / "journal.db").exists(), "the journal lives in META_AGENT_DATA_DIR"
