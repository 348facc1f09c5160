"""What every command shares: options, settings, the service, progress, errors and exit codes.

Exit codes, the same for every command::

    0  done
    1  an internal error (a bug: reported without a traceback unless --log-level DEBUG),
       an unhealthy `health`, or an optional component (HTTP service, MCP server) missing
    2  the caller's mistake: a bad option, request, setting or policy refusal
       (UsageError: RequestValidationError, ConfigError, PolicyViolationError, ConflictError),
       and typer's own usage errors
    3  Meta's API refused or failed (ApiError: auth, permission, rate limit, transient, ...)
    4  the workflow ran and failed (the response carries an error; what it created was
       rolled back unless the request said otherwise); also a ``workflows resume`` that did
       not complete and a ``workflows rollback`` that could not undo everything
    5  the workflow waits for an approval (PENDING_APPROVAL): nothing held was sent;
       ``meta-agent approvals show ID`` shows what waits, an approver grants it

Results go to stdout (a table, or one JSON document with ``--json``); messages, progress and
errors go to stderr. With ``--json`` an error is also printed to stdout as
``{"error": {...}, "exit_code": N}`` so a machine always reads one document.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import structlog
import typer
from rich.console import Console
from rich.markup import escape

from meta_agent.errors import (
    ApiError,
    MetaAgentError,
    RequestValidationError,
    UsageError,
    WorkflowFailedError,
)

if TYPE_CHECKING:  # the service stack is imported on first use: --help and sandbox stay fast
    from meta_agent.config import Settings
    from meta_agent.orchestrator.events import Event
    from meta_agent.orchestrator.requests import OrchestratorResponse
    from meta_agent.service import MetaAgentService
    from meta_agent.service.workers import Identity

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_API = 3
EXIT_WORKFLOW = 4
EXIT_PENDING = 5

SANDBOX_NOTICE = "no access token configured: using the embedded sandbox"

T = TypeVar("T")
log = structlog.get_logger("meta_agent.cli")
out = Console(soft_wrap=False)  # results: stdout
err = Console(stderr=True)  # messages, progress, errors: stderr
_debug = {"on": False}

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document to stdout.")]
ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="YAML settings file (default: $META_AGENT_CONFIG; environment variables win).",
        dir_okay=False,
    ),
]


def set_debug(enabled: bool) -> None:
    """Show tracebacks of internal errors (``--log-level DEBUG``)."""
    _debug["on"] = enabled


def print_json(document: Any) -> None:
    """One JSON document on stdout."""
    typer.echo(json.dumps(document, indent=2, default=str, ensure_ascii=False))


def run_async(work: Callable[[], Awaitable[T]], *, as_json: bool = False) -> T:
    """Run ``work`` to its end, turning every error into a message and an exit code."""
    try:
        return asyncio.run(_call(work))
    except (typer.Exit, typer.Abort):
        raise
    except KeyboardInterrupt:
        err.print(f"[yellow]{escape(interrupted_message(_running.pop('workflow_id', None)))}[/]")
        raise typer.Exit(130) from None
    except Exception as error:
        fail(error, as_json=as_json)
    finally:
        _running.clear()


# The workflow this command is running, as its events name it: Ctrl-C says how to go on.
_running: dict[str, str] = {}


def interrupted_message(workflow_id: str | None) -> str:
    """What Ctrl-C prints: the workflow left behind and the commands to resume or undo it."""
    if workflow_id is None:
        return "interrupted before a workflow began: nothing was written"
    return (
        f"interrupted: workflow {workflow_id} is journaled and stopped where it was. Carry it "
        f"on with `meta-agent workflows resume {workflow_id}`, or undo what it created with "
        f"`meta-agent workflows rollback {workflow_id}` (`meta-agent workflows show "
        f"{workflow_id}` lists its steps)"
    )


async def _call(work: Callable[[], Awaitable[T]]) -> T:
    return await work()


def exit_code_of(error: BaseException) -> int:
    """The exit code for ``error`` (see the module docstring)."""
    if isinstance(error, UsageError):
        return EXIT_USAGE
    if isinstance(error, ApiError):
        return EXIT_API
    if isinstance(error, WorkflowFailedError):
        return EXIT_WORKFLOW
    return EXIT_INTERNAL


def fail(error: BaseException, *, as_json: bool = False) -> NoReturn:
    """Report ``error`` without a traceback and exit with its code."""
    code = exit_code_of(error)
    detail = _error_dict(error)
    if code == EXIT_INTERNAL and not isinstance(error, MetaAgentError):
        if _debug["on"]:
            err.print_exception()
        detail["message"] += " (a bug: run with --log-level DEBUG for the traceback)"
    print_error(detail)
    if as_json:
        print_json({"error": detail, "exit_code": code})
    raise typer.Exit(code)


def usage_error(message: str, *, field: str | None = None, as_json: bool = False) -> NoReturn:
    """Exit 2 with ``message`` (an option the caller got wrong)."""
    fail(RequestValidationError(message, field=field), as_json=as_json)


def _error_dict(error: BaseException) -> dict[str, Any]:
    if isinstance(error, MetaAgentError):
        return error.to_dict()
    return {"kind": "internal_error", "message": f"{type(error).__name__}: {error}"}


def print_error(detail: dict[str, Any]) -> None:
    """An error on stderr: its kind and message, the field, every problem, Meta's words."""
    kind, message = escape(str(detail.get("kind", "error"))), escape(str(detail.get("message")))
    err.print(f"[red]error[/] ({kind}): {message}")
    if detail.get("field"):
        err.print(f"  field: {escape(str(detail['field']))}")
    for problem in detail.get("problems") or []:
        err.print(f"  - {escape(str(problem))}")
    if detail.get("user_msg"):
        err.print(f"  Meta says: {escape(str(detail['user_msg']))}")
    if detail.get("hint"):
        err.print(f"  [cyan]hint[/]: {escape(str(detail['hint']))}")


def settings_from(config: Path | None, **overrides: Any) -> Settings:
    """The settings from ``config`` (or ``META_AGENT_CONFIG``), the environment and overrides.

    Raises:
        ConfigError: a setting is missing or invalid.
    """
    from meta_agent.config import load_settings

    return load_settings(config, **overrides)


@asynccontextmanager
async def open_service(
    config: Path | None,
    *,
    announce: bool = True,
    identity: Identity | None = None,
    local_files: bool = True,
) -> AsyncIterator[MetaAgentService]:
    """The service for one command, closed afterwards; says so when it uses the sandbox.

    ``identity`` makes the process a worker (``meta-agent worker``); ``local_files=False``
    treats every request as a remote caller's (paths refused, URLs egress-checked).
    """
    from meta_agent.service import MetaAgentService

    settings = settings_from(config)
    service = await MetaAgentService.open(settings, identity=identity, local_files=local_files)
    try:
        if announce and service.mode == "sandbox":
            err.print(f"[yellow]{_sandbox_reason(settings)}[/]")
        yield service
    finally:
        await service.aclose()


def _sandbox_reason(settings: Settings) -> str:
    if settings.sandbox.mode == "always":
        return "sandbox.mode is 'always': using the embedded sandbox"
    return SANDBOX_NOTICE


@contextmanager
def busy(message: str, *, enabled: bool = True) -> Iterator[None]:
    """A spinner on stderr while something slow runs (nothing when not ``enabled``)."""
    if not enabled:
        yield
        return
    with err.status(message, spinner="dots"):
        yield


@asynccontextmanager
async def step_progress(service: MetaAgentService, *, enabled: bool) -> AsyncIterator[None]:
    """Print what the workflow journals as it happens (from the orchestrator's event bus).

    Printed or not, the workflow's id is noted, so that Ctrl-C can name it.
    """
    from meta_agent.interfaces.demo import describe
    from meta_agent.orchestrator.events import ANY

    async def on_event(event: Event) -> None:
        if event.workflow_id is not None:
            _running.setdefault("workflow_id", event.workflow_id)
        text = describe(event) if enabled else None
        if text is not None:
            err.print(f"  [green]✓[/] {escape(text)}")

    unsubscribe = service.env.bus.subscribe(ANY, on_event)
    try:
        yield
    finally:
        unsubscribe()


def finish_response(
    response: OrchestratorResponse, *, as_json: bool, succeeded: bool | None = None
) -> None:
    """Print a workflow's response; exit 4 when it failed.

    ``succeeded`` overrides the verdict (a rollback that undid everything succeeded, though
    the response still carries the error that made it necessary).
    """
    from meta_agent.interfaces.render import response_view

    if as_json:
        print_json(response.model_dump(mode="json"))
    else:
        for view in response_view(response):
            out.print(view)
    if response.status == "PENDING_APPROVAL" and response.result is not None:
        approval = response.result.get("approval", {})
        err.print(
            f"[yellow]waiting for approval {approval.get('id')}[/] "
            f"({', '.join(approval.get('rules', []))}); nothing held was sent. An approver "
            f"runs: meta-agent approvals approve {approval.get('id')}",
            highlight=False,
        )
        raise typer.Exit(EXIT_PENDING)
    failed = response.error is not None if succeeded is None else not succeeded
    if failed:
        print_error(response.error or {"kind": "workflow_failed", "message": response.status})
        raise typer.Exit(EXIT_WORKFLOW)
