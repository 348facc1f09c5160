"""The MCP server: meta-agent's actions as tools for a model, on the official ``mcp`` SDK (2.x).

``build_server(service, access)`` gives an ``MCPServer`` whose tools (``mcp_tools.py``) each
make one call to :class:`MetaAgentService`; ``run(settings, transport, host, port)`` opens the
service and serves it over stdio (a client spawns ``python -m meta_agent.interfaces.mcp_server``;
the caller is the local operator) or streamable HTTP (``http://host:port/mcp``).

Over HTTP every request needs ``Authorization: Bearer mak_...``, a key of the HTTP service's
keys file (``service.api_keys_file``): without a valid one the answer is 401 and no tool runs;
with one, each tool applies the key's actions and accounts (``mcp_auth.py``). The server
refuses to start without keys, unless ``--no-auth`` is given and it listens on loopback only.
HTTP is stateless (each POST stands alone, answered in JSON): protocol 2026-07-28 clients
send their per-request envelope (``_meta``), and clients of the handshake era (2024-11-05 to
2025-11-25) initialize first, as before; both reach the same tools.

What a model sees when something goes wrong (never a protocol error):

- the caller's mistake (:class:`UsageError`: a field that fails validation, a policy limit,
  an action or account the key is not granted, a ``request_id`` conflict; or arguments that
  do not fit the tool's input schema) is a tool result with ``isError`` set whose text names
  the field and the fix; nothing was written;
- Meta's error outside a workflow (:class:`ApiError`, e.g. from ``get_insights``) is an error
  result with Meta's kind, code and message (a rate limit says when to retry);
- a workflow that ran and failed is an error result that still carries the structured
  response (``status`` ``ROLLED_BACK``..., ``error`` with its ``cause``): it ran, it failed;
- anything else is an internal error result ("Error executing tool ..."), logged.

Logs go to stderr only: on the stdio transport, stdout is the protocol.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import structlog
import uvicorn
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools import Tool
from mcp.types import CallToolResult, InputRequiredResult, ToolAnnotations
from pydantic import AnyHttpUrl, ValidationError
from starlette.applications import Starlette

from meta_agent.config import Settings, load_settings
from meta_agent.errors import (
    AccessDeniedError,
    ApiError,
    ConfigError,
    ConflictError,
    InvalidParameterError,
    PolicyViolationError,
    RateLimitedError,
    RequestValidationError,
    UsageError,
)
from meta_agent.interfaces.mcp_auth import Access, ApiKeyVerifier, access_for
from meta_agent.interfaces.mcp_tools import MetaAgentTools
from meta_agent.observability.logging import configure_logging
from meta_agent.orchestrator.action_schema import data_schema
from meta_agent.service import MetaAgentService

log = structlog.get_logger("meta_agent.mcp")

Transport = Literal["stdio", "http"]
EXIT_USAGE = 2
PATH = "/mcp"

INSTRUCTIONS = """\
meta-agent runs Meta (Facebook and Instagram) advertising through the Marketing API.
Start with `health`: its `mode` says whether calls reach Meta ('live') or the offline sandbox.
Writing tools create everything PAUSED; nothing spends money unless you pass activate=true.
The account's policy may hold an activation or a budget raise: the status is then
PENDING_APPROVAL until a person approves it; you cannot approve your own request.
Call a writing tool with dry_run=true first (nothing is created), then again without it, and
always pass your own request_id: repeating a request_id returns the first outcome and never
acts twice (a failure too: send a new request_id to retry). Budgets are integers in the
currency's minor unit (50000 = 500.00 INR), or text in the account's currency ("500.00 INR").
Every response carries a workflow_id: see it with `workflow_status`; an interrupted one can be
carried on with `resume_workflow` or undone with `rollback_workflow`; a completed one is
undone with `undo_workflow` (a dry run first, then dry_run=false).
"""

_HINTS: tuple[tuple[type[UsageError], str], ...] = (
    (RequestValidationError, "Fix that field and call again; nothing was sent to Meta."),
    (
        PolicyViolationError,
        "The account's policy refuses this: stay within the limit. Nothing was sent to Meta.",
    ),
    (
        AccessDeniedError,
        "Your API key is not granted this: use an account and action it may use, or ask the "
        "server's operator. Nothing was sent to Meta.",
    ),
    (ConflictError, "Use another request_id, or look the workflow up with workflow_status."),
    (ConfigError, "This is the server's configuration, not your request: tell its operator."),
)


@dataclass(frozen=True)
class ToolSpec:
    """How one tool is presented: title, hints, and whether it takes an action's ``data``."""

    name: str
    title: str
    hints: ToolAnnotations
    takes_data: bool = False


def _writes(*, idempotent: bool = True) -> ToolAnnotations:
    return ToolAnnotations(
        read_only_hint=False,
        destructive_hint=True,
        idempotent_hint=idempotent,
        open_world_hint=True,
    )


def _reads(*, open_world: bool) -> ToolAnnotations:
    return ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=open_world)


CATALOGUE: tuple[ToolSpec, ...] = (
    ToolSpec("create_full_campaign", "Launch a full campaign", _writes(), takes_data=True),
    ToolSpec("create_campaign", "Create a campaign and ad sets", _writes(), takes_data=True),
    ToolSpec("update_campaign", "Update campaigns and ad sets", _writes(), takes_data=True),
    ToolSpec("update_creative", "Change an ad's creative", _writes(), takes_data=True),
    ToolSpec("optimize_campaign", "Optimize a campaign", _writes(), takes_data=True),
    ToolSpec("bulk", "Run many requests", _writes(), takes_data=True),
    ToolSpec("get_insights", "Read insights", _reads(open_world=True)),
    ToolSpec("performance_report", "Performance report", _reads(open_world=True)),
    ToolSpec("workflow_status", "Show a workflow", _reads(open_world=False)),
    ToolSpec("list_workflows", "List workflows", _reads(open_world=False)),
    ToolSpec("list_approvals", "List approvals", _reads(open_world=False)),
    ToolSpec("wait_for_approval", "Wait for an approval", _reads(open_world=False)),
    ToolSpec("health", "Health check", _reads(open_world=True)),
    ToolSpec("resume_workflow", "Resume a workflow", _writes(idempotent=False)),
    ToolSpec("rollback_workflow", "Roll back a workflow", _writes()),
    ToolSpec("undo_workflow", "Undo a completed workflow", _writes()),
)


# The SDK wants an issuer with a token verifier; it is only used to serve OAuth routes, and
# with no provider and no resource_server_url none is served: the keys are the whole story.
_BEARER_ONLY = AuthSettings(issuer_url=AnyHttpUrl("http://127.0.0.1"), resource_server_url=None)


class MetaAgentMCP(MCPServer[Any]):
    """``MCPServer`` with meta-agent's errors turned into tool results a model can act on."""

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        """Run one tool; a failure becomes an error result that names what to fix."""
        with structlog.contextvars.bound_contextvars(tool=name):
            try:
                return await super().call_tool(name, arguments, context)
            except ToolError as error:
                raise ToolError(explain(error)) from error.__cause__


def build_server(service: MetaAgentService, access: Access | None = None) -> MetaAgentMCP:
    """The MCP server over ``service``; ``access`` says how callers are known (stdio's default).

    With API keys (:meth:`Access.api_keys`) the SDK's bearer middleware guards the HTTP
    endpoint (:func:`http_app`): a request without a valid key is answered 401.
    """
    access = access or Access.local()
    tools = MetaAgentTools(service, access)
    # The SDK logs every request at INFO through stdlib logging; our own events say more.
    sdk_level: Literal["DEBUG", "WARNING"] = (
        "DEBUG" if service.settings.monitoring.log_level == "DEBUG" else "WARNING"
    )
    keys = access.keys
    return MetaAgentMCP(
        name="meta-agent",
        instructions=INSTRUCTIONS,
        tools=[_tool(tools, spec) for spec in CATALOGUE],
        log_level=sdk_level,
        token_verifier=ApiKeyVerifier(keys) if keys is not None else None,
        auth=_BEARER_ONLY if keys is not None else None,
    )


def _tool(tools: MetaAgentTools, spec: ToolSpec) -> Tool:
    method = getattr(tools, spec.name)
    tool = Tool.from_function(
        method,
        name=spec.name,
        title=spec.title,
        description=inspect.cleandoc(method.__doc__ or ""),
        annotations=spec.hints,
        structured_output=True,
    )
    if spec.takes_data:
        _describe_data(tool, spec.name)
    return tool


def _describe_data(tool: Tool, action: str) -> None:
    """Advertise ``data`` with the action's own schema (its definitions moved to the root).

    The tool still accepts any object there: the orchestrator validates it, so an error
    names the path (``data.adsets[1].daily_budget``) and the fix.
    """
    schema = data_schema(action)
    definitions = schema.pop("$defs", {})
    tool.parameters["properties"]["data"] = schema
    if definitions:
        tool.parameters.setdefault("$defs", {}).update(definitions)


# -- errors --------------------------------------------------------------------------------------


def explain(error: ToolError) -> str:
    """The text of an error result: what went wrong, where, and what to do."""
    cause = error.__cause__
    if isinstance(cause, UsageError):
        return usage_text(cause)
    if isinstance(cause, ValidationError) and cause.title.endswith("Arguments"):
        return arguments_text(cause)
    if isinstance(cause, ApiError):
        return api_text(cause)
    log.error("mcp.tool.failed", error=str(error), exc_info=cause)
    return str(error)


def usage_text(error: UsageError) -> str:
    """A caller's mistake: the message (it starts with the field), the field, every problem."""
    lines = [f"{error.kind}: {error.message}"]
    details = dict(error.details)
    field = details.pop("field", None)
    problems = details.pop("problems", None) or []
    if field:
        lines.append(f"field: {field}")
    if len(problems) > 1:
        lines += ["all problems:", *(f"- {problem}" for problem in problems)]
    if details:
        lines.append(f"details: {json.dumps(details, default=str)}")
    lines += [hint for kind, hint in _HINTS if isinstance(error, kind)][:1]
    return "\n".join(lines)


def arguments_text(error: ValidationError) -> str:
    """Arguments that do not fit the tool's schema, each named (without echoing the input)."""
    problems = [
        f"{'.'.join(str(part) for part in item['loc']) or 'arguments'}: {item['msg']}"
        for item in error.errors()
    ]
    return (
        "invalid arguments: "
        + "; ".join(problems)
        + ". Fix them (see the tool's input schema) and call again; nothing was done."
    )


def api_text(error: ApiError) -> str:
    """Meta's error: its kind, code and message, and when a retry makes sense."""
    code = f"code {error.code}" + (f"/{error.subcode}" if error.subcode else "")
    lines = [f"{error.kind} from the Graph API ({code}): {error.user_message}"]
    if isinstance(error, RateLimitedError):
        wait = error.retry_after
        lines.append(f"Retry in {wait:.0f} s." if wait is not None else "Retry later.")
    if isinstance(error, InvalidParameterError) and error.blame_fields:
        lines.append("fields: " + ", ".join(".".join(path) for path in error.blame_fields))
    return "\n".join(lines)


# -- running -------------------------------------------------------------------------------------


def run(
    settings: Settings,
    transport: Transport = "stdio",
    host: str = "127.0.0.1",
    port: int = 8001,
    *,
    auth: bool = True,
) -> None:
    """Open the service and serve it until the client goes (stdio) or the process stops (http).

    ``auth=False`` (``--no-auth``) serves HTTP without API keys, on loopback only.

    Raises:
        ConfigError: HTTP without keys (or without auth beyond loopback), or a credential or
            setting is unusable.
    """
    if not structlog.is_configured():
        configure_logging(settings.monitoring.log_level)
    asyncio.run(serve(settings, transport, host, port, auth=auth))


async def serve(
    settings: Settings,
    transport: Transport,
    host: str,
    port: int,
    *,
    auth: bool = True,
    **client_options: Any,
) -> None:
    """:func:`run`, on the running event loop (``client_options`` go to the Graph client).

    Raises:
        ConfigError: as :func:`run`; checked before anything is opened.
    """
    access = access_for(settings, transport, host, auth=auth)
    # Over HTTP the caller is remote: it may not make this machine read its own files.
    local_files = transport == "stdio"
    async with (
        await MetaAgentService.open(settings, local_files=local_files, **client_options) as service,
        service.supervised(),
    ):
        server = build_server(service, access)
        log.info(
            "mcp.serving", transport=transport, mode=service.mode, keys=access.keys is not None
        )
        if transport == "http":
            await http_server(server, host, port, settings.monitoring.log_level).serve()
        else:
            await server.run_stdio_async()


def http_app(server: MetaAgentMCP, host: str = "127.0.0.1") -> Starlette:
    """The ASGI app of streamable HTTP at ``/mcp``: stateless, JSON answers, bearer-guarded.

    Stateless, so every request stands alone (what 2026-07-28 asks, and any worker can answer
    it); on a loopback ``host`` the SDK also refuses other Host and Origin headers (DNS
    rebinding).
    """
    return server.streamable_http_app(
        streamable_http_path=PATH, stateless_http=True, json_response=True, host=host
    )


def http_server(server: MetaAgentMCP, host: str, port: int, log_level: str) -> uvicorn.Server:
    """uvicorn serving :func:`http_app` on ``host``:``port`` (the app's lifespan included)."""
    config = uvicorn.Config(
        http_app(server, host), host=host, port=port, log_level=log_level.lower(), lifespan="on"
    )
    return uvicorn.Server(config)


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m meta_agent.interfaces.mcp_server [--transport stdio|http] [--no-auth]``."""
    parser = argparse.ArgumentParser(
        prog="python -m meta_agent.interfaces.mcp_server",
        description="Serve meta-agent's actions as MCP tools.",
    )
    parser.add_argument("--transport", choices=["stdio", "http"], default="stdio")
    parser.add_argument("--host", default="127.0.0.1", help="HTTP transport: interface.")
    parser.add_argument("--port", type=int, default=8001, help="HTTP transport: TCP port.")
    parser.add_argument(
        "--no-auth",
        action="store_true",
        help="HTTP transport on loopback only: serve without API keys.",
    )
    parser.add_argument("--config", default=None, help="YAML settings file.")
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.config)
        run(settings, args.transport, args.host, args.port, auth=not args.no_auth)
    except UsageError as error:
        sys.stderr.write(f"error: {error.message}\n")
        raise SystemExit(EXIT_USAGE) from None


if __name__ == "__main__":
    main()
