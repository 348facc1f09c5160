"""Commands that run and manage workflows, check health, and start the servers.

``run``, ``workflows list|show|resume|rollback|undo``, ``health``, ``serve`` and ``mcp``; exit
codes as in :mod:`meta_agent.interfaces.cli_common`.
"""

from __future__ import annotations

import importlib
import inspect
import json
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich.markup import escape

from meta_agent.errors import RequestValidationError
from meta_agent.interfaces.cli_common import (
    EXIT_INTERNAL,
    ConfigOpt,
    JsonOpt,
    busy,
    err,
    fail,
    finish_response,
    open_service,
    out,
    print_json,
    run_async,
    settings_from,
    step_progress,
)
from meta_agent.store.journal import WorkflowStatus

if TYPE_CHECKING:
    from meta_agent.orchestrator.requests import OrchestratorResponse
    from meta_agent.service.health import HealthReport


class Transport(StrEnum):
    """How the MCP server talks to its client."""

    stdio = "stdio"
    http = "http"


workflows_app = typer.Typer(
    help="The workflow journal: list, inspect, resume, roll back or undo workflows.",
    no_args_is_help=True,
)


def read_request(path: Path, *, dry_run: bool) -> dict[str, Any]:
    """The request in ``path`` (``-``: stdin), with ``options.dry_run`` set when asked.

    Raises:
        RequestValidationError: the file is missing, not JSON, or not a JSON object.
    """
    try:
        text = typer.get_text_stream("stdin").read() if str(path) == "-" else path.read_text()
    except OSError as error:
        raise RequestValidationError(
            f"cannot read {path}: {error.strerror}", field="REQUEST"
        ) from None
    try:
        request = json.loads(text)
    except json.JSONDecodeError as error:
        raise RequestValidationError(
            f"{path} is not JSON: {error.msg} at line {error.lineno}, column {error.colno}",
            field="REQUEST",
        ) from None
    if not isinstance(request, dict):
        raise RequestValidationError(
            f"{path} must hold one JSON object (a request)", field="REQUEST"
        )
    if dry_run:
        options = request.get("options")
        request["options"] = {**(options if isinstance(options, dict) else {}), "dry_run": True}
    return request


def run(
    request_file: Annotated[
        Path,
        typer.Argument(
            metavar="REQUEST.json",
            help="The request: {action, account_id, data, options, request_id}; '-' reads stdin.",
        ),
    ],
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Create nothing: Meta validates, and the plan is shown (names, budgets, "
            "schedule, targeting, creatives, Meta's estimates, the policy's verdict).",
        ),
    ] = False,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Run any action (create_full_campaign, create_campaign, update_campaign, ...).

    `meta-agent example ACTION` prints a request to start from, `meta-agent schema ACTION`
    its schema. Money is Meta's minor units (5000 on a USD account is 50.00 USD) or text,
    "50.00 USD". Ctrl-C names the workflow and the commands to resume or roll it back.

    Against the Graph API when an access token is configured, else against the embedded
    sandbox (saying so). Exit 4 when the workflow failed (it was rolled back), 5 when it waits
    for an approval (see meta-agent approvals).
    """

    async def work() -> OrchestratorResponse:
        request = read_request(request_file, dry_run=dry_run)
        async with open_service(config) as service:
            action = request.get("action", "request")
            with busy(f"Running {action}…", enabled=not as_json):
                async with step_progress(service, enabled=not as_json):
                    return await service.execute(request)

    finish_response(run_async(work, as_json=as_json), as_json=as_json)


@workflows_app.command("list")
def workflows_list(
    status: Annotated[
        WorkflowStatus | None, typer.Option("--status", help="Only workflows in this state.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many.")] = 50,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Journaled workflows, newest first."""

    from meta_agent.interfaces.render import workflows_table

    async def work() -> list[dict[str, Any]]:
        async with open_service(config, announce=False) as service:
            records = await service.workflows(status=status, limit=limit)
            if not as_json:
                out.print(workflows_table(records))
            return [_summary(record) for record in records]

    rows = run_async(work, as_json=as_json)
    if as_json:
        print_json(rows)


def _summary(record: Any) -> dict[str, Any]:
    return {
        "id": record.id,
        "request_id": record.request_id,
        "action": record.action,
        "account_id": record.account_id,
        "status": record.status.value,
        "created_at": record.created_at.isoformat(),
        "updated_at": record.updated_at.isoformat(),
        "error": record.error,
    }


WorkflowId = Annotated[str, typer.Argument(metavar="ID", help="The workflow's id.")]


@workflows_app.command("show")
def workflows_show(
    workflow_id: WorkflowId, as_json: JsonOpt = False, config: ConfigOpt = None
) -> None:
    """One workflow: its request's outcome, every step, and the objects it created."""

    async def work() -> dict[str, Any]:
        async with open_service(config, announce=False) as service:
            return await service.workflow(workflow_id)

    from meta_agent.interfaces.render import workflow_views

    detail = run_async(work, as_json=as_json)
    if as_json:
        print_json(detail)
        return
    for view in workflow_views(detail):
        out.print(view)


@workflows_app.command("resume")
def workflows_resume(
    workflow_id: WorkflowId, as_json: JsonOpt = False, config: ConfigOpt = None
) -> None:
    """Carry on an interrupted workflow now, from its journal (completed steps are not redone).

    Nobody has to: a workflow whose process died carries on when that process restarts, or,
    in distributed mode, on another worker after durable.takeover_after_seconds.
    """
    _manage(workflow_id, "resume", as_json=as_json, config=config)


@workflows_app.command("rollback")
def workflows_rollback(
    workflow_id: WorkflowId, as_json: JsonOpt = False, config: ConfigOpt = None
) -> None:
    """Undo what an interrupted or failed workflow created, newest first.

    Exit 0 when everything was undone (ROLLED_BACK), 4 when something could not be.
    """
    _manage(workflow_id, "rollback", as_json=as_json, config=config)


def _manage(
    workflow_id: str, verb: Literal["resume", "rollback"], *, as_json: bool, config: Path | None
) -> None:
    async def work() -> OrchestratorResponse:
        async with open_service(config) as service:
            action = service.resume if verb == "resume" else service.rollback
            with busy(f"{verb} {workflow_id}…", enabled=not as_json):
                async with step_progress(service, enabled=not as_json):
                    return await action(workflow_id)

    response = run_async(work, as_json=as_json)
    succeeded = response.status == ("COMPLETED" if verb == "resume" else "ROLLED_BACK")
    finish_response(response, as_json=as_json, succeeded=succeeded)


@workflows_app.command("undo")
def workflows_undo(
    workflow_id: WorkflowId,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only show what would be deleted or restored.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    force: Annotated[
        bool,
        typer.Option("--force", help="Undo objects that changed since the workflow finished."),
    ] = False,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Undo a completed workflow: delete what it created, restore what it changed.

    Shows every object and what would happen to it, then asks. Objects changed since the
    workflow finished (in Ads Manager, by another workflow) are named with each changed field;
    they are undone only after a second yes, or with --force. Exit 0 when everything was
    undone, 4 when something could not be, 1 when you said no.
    """
    from meta_agent.interfaces.render_undo import undo_table
    from meta_agent.orchestrator.requests import OrchestratorResponse

    async def work() -> tuple[dict[str, Any], OrchestratorResponse | None]:
        async with open_service(config) as service:
            with busy(f"Reading back workflow {workflow_id}'s objects…", enabled=not as_json):
                plan = await service.undo(workflow_id, dry_run=True)
            if not as_json:
                out.print(undo_table(plan))
            if dry_run or not _confirmed(plan, yes=yes, force=force, as_json=as_json):
                return plan, None
            with busy(f"Undoing {workflow_id}…", enabled=not as_json):
                answer = await service.undo(
                    workflow_id, dry_run=False, force=force or bool(plan["changed_since"])
                )
            return plan, OrchestratorResponse.model_validate(answer)

    plan, response = run_async(work, as_json=as_json)
    if response is None:
        if as_json:
            print_json(plan)
        if not dry_run:
            err.print("Nothing was changed.")
            raise typer.Exit(1)
        return
    finish_response(response, as_json=as_json, succeeded=response.status == "ROLLED_BACK")


def _confirmed(plan: dict[str, Any], *, yes: bool, force: bool, as_json: bool) -> bool:
    """Whether to go ahead: asked once, and once more over objects that changed since."""
    changed = plan["changed_since"]
    if changed and not force:
        if yes or as_json:
            err.print(
                f"[yellow]{len(changed)} object(s) changed since the workflow finished[/]; "
                "undo them anyway with --force"
            )
            return False
        if not typer.confirm(f"{len(changed)} object(s) changed since; overwrite those changes?"):
            return False
    if yes or as_json:
        return True
    count = plan["delete"] + plan["restore"]
    return typer.confirm(f"Delete or restore these {count} object(s) on Meta?")


def health(as_json: JsonOpt = False, config: ConfigOpt = None) -> None:
    """Check API connectivity, the journal database, the cache and the agents.

    Exit 0 when every check passes, 1 otherwise.
    """

    from meta_agent.interfaces.render import health_table

    async def work() -> HealthReport:
        async with open_service(config, announce=False) as service:
            with busy("Checking…", enabled=not as_json):
                return await service.health()

    report = run_async(work, as_json=as_json)
    if as_json:
        print_json(report.model_dump(mode="json"))
    else:
        out.print(health_table(report))
    if report.status != "healthy":
        raise typer.Exit(EXIT_INTERNAL)


def serve(
    host: Annotated[str | None, typer.Option(help="Interface (default: service.host).")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port (default: service.port).")] = None,
    config: ConfigOpt = None,
) -> None:
    """Serve the HTTP API for the ambient agent (requests, workflows, insights, /healthz)."""
    settings = _settings_or_exit(config)
    runner = load_entry("meta_agent.interfaces.http.app", "run_server", "the HTTP service")
    call_entry(
        runner,
        settings=settings,
        host=host or settings.service.host,
        port=port or settings.service.port,
    )


def mcp(
    transport: Annotated[
        Transport, typer.Option(help="stdio (for a local agent) or http (streamable HTTP).")
    ] = Transport.stdio,
    host: Annotated[str, typer.Option(help="Interface, for --transport http.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port, for --transport http.")] = 8001,
    no_auth: Annotated[
        bool,
        typer.Option(
            "--no-auth",
            help="For --transport http on a loopback --host only: serve without API keys "
            "(every caller is one unauthenticated agent). Refused on any other interface.",
        ),
    ] = False,
    config: ConfigOpt = None,
) -> None:
    """Serve meta-agent's actions as MCP tools (stdio or streamable HTTP).

    stdio is for a local agent, which acts as you (the local operator).

    HTTP (http://HOST:PORT/mcp) needs 'Authorization: Bearer mak_...' on every request.

    The keys are the HTTP service's (service.api_keys_file; `meta-agent keys create`).

    Each tool is limited to its key's actions and ad accounts; a request without one gets 401.

    Without keys the server refuses to start (exit 2), unless --no-auth on a loopback host.
    """
    settings = _settings_or_exit(config)
    runner = load_entry("meta_agent.interfaces.mcp_server", "run", "the MCP server")
    call_entry(
        runner,
        settings=settings,
        transport=transport.value,
        host=host,
        port=port,
        auth=not no_auth,
    )


def _settings_or_exit(config: Path | None) -> Any:
    try:
        return settings_from(config)
    except Exception as error:
        fail(error)


def load_entry(module: str, name: str, what: str) -> Callable[..., Any]:
    """``module.name``, imported only now; exit 1 with a clear message when it is missing."""
    try:
        entry: Callable[..., Any] = getattr(importlib.import_module(module), name)
    except ImportError as error:
        err.print(
            f"[red]error[/]: {what} is not available in this installation ({escape(str(error))})."
        )
        raise typer.Exit(EXIT_INTERNAL) from None
    except AttributeError:
        err.print(f"[red]error[/]: {what} is not available: {module} has no {name}().")
        raise typer.Exit(EXIT_INTERNAL) from None
    return entry


def call_entry(entry: Callable[..., Any], **options: Any) -> None:
    """Call a server's entry point with the options its signature accepts."""
    parameters = inspect.signature(entry).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    accepted = {k: v for k, v in options.items() if takes_any or k in parameters}
    try:
        entry(**accepted)
    except KeyboardInterrupt:
        raise typer.Exit(0) from None
    except Exception as error:
        fail(error)
