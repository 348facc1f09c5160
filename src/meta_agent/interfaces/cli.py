"""The ``meta-agent`` command line: a thin adapter over :class:`MetaAgentService`.

Commands: ``demo``, ``run``, ``schema``, ``example``, ``workflows list|show|resume|rollback|undo``,
``insights``, ``report``, ``health``, ``sandbox``, ``serve``, ``mcp``, ``keys create`` and ``walkthrough``. Each prints
tables for people or, with ``--json``, one JSON document for machines. Exit codes (one
table for every command, see :mod:`meta_agent.interfaces.cli_common`): 0 done, 1 internal
error or unhealthy, 2 the caller's mistake (validation, configuration, policy), 3 Meta's
API refused or failed, 4 the workflow ran and failed (and was rolled back).
"""

from __future__ import annotations

import asyncio
import io
import json
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Annotated, Literal, NoReturn, TextIO, cast

import typer
from pydantic import SecretStr, ValidationError
from rich.markup import escape

from meta_agent.heap import freeze_startup_heap
from meta_agent.interfaces import (
    cli_approvals,
    cli_insights,
    cli_keys,
    cli_ops,
    cli_requests,
    cli_workers,
)
from meta_agent.interfaces.cli_common import (
    EXIT_USAGE,
    EXIT_WORKFLOW,
    ConfigOpt,
    JsonOpt,
    err,
    out,
    print_error,
    print_json,
    run_async,
    set_debug,
)
from meta_agent.observability.logging import configure_logging
from meta_agent.sandbox import SandboxConfig, create_app, parse_fault_spec
from meta_agent.sandbox.clock import AcceleratedClock, Clock, ManualClock, SystemClock
from meta_agent.sandbox.config import DEFAULT_TOKEN, Tier
from meta_agent.sandbox.faults import FaultScript

app = typer.Typer(
    name="meta-agent",
    help="Run Meta advertising through the Marketing API, or rehearse it offline in the sandbox.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",  # a docstring's paragraphs rewrap to the terminal's width
)
console = err
ClockKind = Literal["system", "manual", "accelerated"]


class _CurrentStderr(io.TextIOBase):
    """``sys.stderr`` as it is at each write.

    structlog keeps the stream it was configured with; typer's test runner swaps stderr per
    invocation and closes it after, so logs must follow the current one, not the first.
    """

    def write(self, text: str) -> int:
        """Write to the current stderr."""
        return sys.stderr.write(text)

    def flush(self) -> None:
        """Flush the current stderr."""
        sys.stderr.flush()

    def isatty(self) -> bool:
        """Whether the current stderr is a terminal (console rendering, else JSON lines)."""
        return sys.stderr.isatty()


@app.callback()
def _setup(
    log_level: Annotated[
        str,
        typer.Option(help="Log events at this level and above to stderr (DEBUG, INFO, WARNING)."),
    ] = "WARNING",
) -> None:
    """Configure logging once for every command."""
    if log_level.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        _usage_error(f"--log-level {log_level}: choose DEBUG, INFO, WARNING or ERROR")
    configure_logging(log_level, stream=cast(TextIO, _CurrentStderr()))
    set_debug(log_level.upper() == "DEBUG")


def sandbox(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port to listen on.")] = 8765,
    token: Annotated[
        str, typer.Option(help="The one access token the sandbox accepts.")
    ] = DEFAULT_TOKEN,
    app_secret: Annotated[
        str | None, typer.Option(help="Require appsecret_proof = HMAC-SHA256(secret, token).")
    ] = None,
    latency_ms: Annotated[float, typer.Option(help="Delay added to every request.")] = 0.0,
    faults: Annotated[
        str | None,
        typer.Option(help="Fault script: JSON list or 'kind:key=value,...;...' (see docs)."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed for ids, synthetic insights and faults.")] = 0,
    accounts: Annotated[
        int | None,
        typer.Option(
            help="Seed N ad accounts (INR, USD, EUR, GBP, JPY in turn), each with its own Page "
            "and Instagram account; default: two accounts sharing one Page. A --state file "
            "that exists keeps its own accounts."
        ),
    ] = None,
    state: Annotated[
        Path | None,
        typer.Option(help="JSON file that keeps the sandbox's objects across restarts."),
    ] = None,
    tier: Annotated[Tier, typer.Option(help="Access tier whose rate limits apply.")] = "standard",
    time_scale: Annotated[
        float,
        typer.Option(
            help="Divide rate-limit windows by this factor (tests, benchmarks); with --clock "
            "accelerated, the clock itself runs this many times faster (windows included)."
        ),
    ] = 1.0,
    clock: Annotated[
        ClockKind,
        typer.Option(
            help="system: wall time; manual: starts now and moves only with POST "
            '/_sandbox/clock/advance {"days": 7}; accelerated: wall time times --time-scale.'
        ),
    ] = "system",
    new_app: Annotated[
        bool,
        typer.Option(
            "--new-app",
            help="Refuse what apps created since 2026-11-04 cannot use: ?ids=, method "
            "override, field aliases, date_format, JSONP, async batch requests.",
        ),
    ] = False,
) -> None:
    """Serve the Marketing API sandbox: Meta's Graph API v25.0-v27.0, offline."""
    import uvicorn

    try:
        config = SandboxConfig(
            token=SecretStr(token),
            app_secret=SecretStr(app_secret) if app_secret else None,
            latency_ms=latency_ms,
            seed=seed,
            accounts=accounts,
            tier=tier,
            time_scale=1.0 if clock == "accelerated" else time_scale,
            new_app=new_app,
            base_url=f"http://{host}:{port}",
        )
        script = FaultScript(parse_fault_spec(faults or ""), seed=seed)
        sandbox_clock = sandbox_clock_of(clock, time_scale)
    except (ValueError, ValidationError) as error:
        _usage_error(str(error))
    try:
        asgi = create_app(config, clock=sandbox_clock, faults=script, state_file=state)
    except (OSError, ValueError) as error:
        _usage_error(f"--state {state}: {error}")
    _print_banner(config, token, clock, time_scale)
    # What start-up built (SDK field lists, seed state, routes) lives as long as the server.
    freeze_startup_heap()
    uvicorn.run(asgi, host=host, port=port, log_level="warning", lifespan="off")


def sandbox_clock_of(kind: ClockKind, time_scale: float = 1.0) -> Clock:
    """The clock ``meta-agent sandbox --clock KIND`` runs on; manual and accelerated start now.

    Raises:
        ValueError: an accelerated clock with a factor that is not positive.
    """
    if kind == "manual":
        return ManualClock(start=time.time())
    if kind == "accelerated":
        return AcceleratedClock(time_scale)
    return SystemClock()


_BANNER_ACCOUNTS = 10  # accounts listed one by one at start; the rest are summed up


def _print_banner(
    config: SandboxConfig, token: str, clock: ClockKind = "system", time_scale: float = 1.0
) -> None:
    from meta_agent.sandbox.state import PAGE_ID, seed_accounts
    from meta_agent.versions import NEWEST

    shown = token if token == DEFAULT_TOKEN else f"{token[:4]}… (as given with --token)"
    console.print(f"[bold green]Marketing API sandbox[/] at {config.base_url}/{NEWEST}/")
    console.print(f"  access token : {shown}")
    if clock == "manual":
        console.print(
            '  clock        : manual; move it with POST /_sandbox/clock/advance {"days": 7}'
        )
    elif clock == "accelerated":
        console.print(f"  clock        : accelerated, {time_scale:g}x wall time")
    if config.new_app:
        console.print("  app          : created after 2026-11-04 (legacy features refused)")
    seeded = seed_accounts(config.accounts)
    if config.accounts is not None:  # each account with its own Page, the tier said once
        console.print(f"  access tier  : {config.tier}")
    for seed in seeded[:_BANNER_ACCOUNTS]:
        account = seed.account
        where = f"act_{account['account_id']}  {account['currency']}  {account['timezone_name']}"
        if config.accounts is None:
            console.print(f"  ad account   : {where}  ({config.tier} tier)")
        else:
            console.print(f"  ad account   : {where}  page {seed.page_id}")
    if len(seeded) > _BANNER_ACCOUNTS:
        last = seeded[-1]
        console.print(
            f"  …            : {len(seeded) - _BANNER_ACCOUNTS} more, up to "
            f"act_{last.account['account_id']}  page {last.page_id}"
        )
    if config.accounts is None:
        console.print(f"  page_id      : {PAGE_ID}")
    console.print(
        "  admin        : /_sandbox/objects, /_sandbox/requests, /_sandbox/faults, "
        "/_sandbox/reset, /_sandbox/clock/advance"
    )


def demo(
    as_json: JsonOpt = False,
    html: Annotated[
        Path | None,
        typer.Option("--html", help="Also write the report as one self-contained HTML page."),
    ] = None,
    print_request: Annotated[
        bool,
        typer.Option(
            "--print-request",
            help="Print the request the demo sends (a create_full_campaign request) and stop.",
        ),
    ] = False,
    config: ConfigOpt = None,
) -> None:
    """Launch a full campaign on a fresh embedded sandbox, let a week pass, and report on it.

    Six images, a campaign, three ad sets, six creatives and six ads go through the same
    service an agent calls, then are activated; no Meta account is needed and nothing on
    this machine is changed. --print-request shows the request instead (save it, edit it,
    and give it to meta-agent run).
    """
    if print_request:
        from meta_agent.interfaces.demo_request import demo_request

        print_json(demo_request())
        return
    from meta_agent.interfaces.demo import run_demo
    from meta_agent.interfaces.render import created_table, report_views
    from meta_agent.interfaces.report_html import render_html

    with _DemoProgress(enabled=not as_json) as progress:
        outcome = run_async(lambda: run_demo(config, progress), as_json=as_json)
    if html is not None and outcome.report is not None:
        html.write_text(render_html(outcome.report, title="meta-agent demo: Roast & Co. launch"))
    if as_json:
        print_json({**outcome.to_json(), "html_report": str(html) if html else None})
    elif outcome.ok:
        out.print(created_table(outcome.response.result or {}, title="What the demo created"))
        for view in report_views(outcome.report) if outcome.report else []:
            out.print(view)
        _demo_footer(html)
    if not outcome.ok:
        print_error(outcome.response.error or {"kind": "internal_error", "message": "no report"})
        raise typer.Exit(EXIT_WORKFLOW)


def _demo_footer(html: Path | None) -> None:
    if html is not None:
        err.print(f"[green]HTML report[/]: {html}")
    err.print(
        "Next: [bold]meta-agent run REQUEST.json[/] (the embedded sandbox until an access token "
        "is configured), [bold]meta-agent workflows list[/], [bold]meta-agent --help[/]."
    )


class _DemoProgress:
    """The demo's live progress on stderr: a spinner, each phase, each workflow event."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self.started = time.monotonic()
        self.status = err.status("Starting…", spinner="dots")

    def __enter__(self) -> _DemoProgress | None:
        if not self.enabled:
            return None
        self.status.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.enabled:
            self.status.stop()

    def phase(self, text: str) -> None:
        """A phase begins."""
        err.print(f"[bold cyan]»[/] {escape(text)}")
        self.status.update(text)

    def event(self, text: str) -> None:
        """Something the workflow journaled."""
        err.print(f"  [green]✓[/] {escape(text)} [dim]({time.monotonic() - self.started:.1f} s)[/]")


def walkthrough(
    as_json: JsonOpt = False,
) -> None:
    """The Graph client step by step against the sandbox (raw calls, one batch)."""
    from meta_agent.interfaces.walkthrough import run_walkthrough

    summary = asyncio.run(run_walkthrough(console, quiet=as_json))
    if as_json:
        typer.echo(json.dumps(summary, indent=2))


# Registered in the order --help lists them: the newcomer's first command first.
app.command()(demo)
app.command()(cli_ops.run)
app.command()(cli_requests.schema)
app.command()(cli_requests.example)
app.add_typer(cli_ops.workflows_app, name="workflows")
app.command()(cli_insights.insights)
app.command()(cli_insights.report)
app.command()(cli_ops.health)
app.command()(sandbox)
app.command()(cli_ops.serve)
app.command()(cli_ops.mcp)
app.add_typer(cli_keys.keys_app, name="keys")
app.add_typer(cli_approvals.approvals_app, name="approvals")
app.command()(cli_workers.worker)
app.add_typer(cli_workers.workers_app, name="workers")
app.command()(walkthrough)


def _usage_error(message: str) -> NoReturn:
    console.print(f"[red]error:[/] {escape(message)}")
    raise typer.Exit(EXIT_USAGE)


def main() -> None:
    """Console-script entry point."""
    app()
