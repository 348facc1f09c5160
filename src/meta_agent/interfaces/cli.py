"""The ``meta-agent`` command line."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from pydantic import SecretStr, ValidationError
from rich.console import Console

from meta_agent.observability.logging import configure_logging
from meta_agent.sandbox import SandboxConfig, create_app, parse_fault_spec
from meta_agent.sandbox.config import DEFAULT_TOKEN, Tier
from meta_agent.sandbox.faults import FaultScript

app = typer.Typer(
    name="meta-agent",
    help="Run Meta advertising through the Marketing API, or rehearse it offline in the sandbox.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console(stderr=True)


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
    configure_logging(log_level)


EXIT_USAGE = 2


@app.command()
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
    state: Annotated[
        Path | None,
        typer.Option(help="JSON file that keeps the sandbox's objects across restarts."),
    ] = None,
    tier: Annotated[Tier, typer.Option(help="Access tier whose rate limits apply.")] = "standard",
    time_scale: Annotated[
        float, typer.Option(help="Divide rate-limit windows by this factor (tests, benchmarks).")
    ] = 1.0,
) -> None:
    """Serve the Marketing API sandbox: Meta's Graph API v24.0-v26.0, offline."""
    import uvicorn

    try:
        config = SandboxConfig(
            token=SecretStr(token),
            app_secret=SecretStr(app_secret) if app_secret else None,
            latency_ms=latency_ms,
            seed=seed,
            tier=tier,
            time_scale=time_scale,
            base_url=f"http://{host}:{port}",
        )
        script = FaultScript(parse_fault_spec(faults or ""), seed=seed)
    except (ValueError, ValidationError) as error:
        _usage_error(str(error))
    try:
        asgi = create_app(config, faults=script, state_file=state)
    except (OSError, ValueError) as error:
        _usage_error(f"--state {state}: {error}")
    _print_banner(config, token)
    uvicorn.run(asgi, host=host, port=port, log_level="warning", lifespan="off")


def _print_banner(config: SandboxConfig, token: str) -> None:
    from meta_agent.sandbox.state import PAGE_ID, SEED_ACCOUNTS

    shown = token if token == DEFAULT_TOKEN else f"{token[:4]}… (as given with --token)"
    console.print(f"[bold green]Marketing API sandbox[/] at {config.base_url}/v25.0/")
    console.print(f"  access token : {shown}")
    for account in SEED_ACCOUNTS:
        console.print(
            f"  ad account   : act_{account['account_id']}  {account['currency']}  "
            f"{account['timezone_name']}  ({config.tier} tier)"
        )
    console.print(f"  page_id      : {PAGE_ID}")
    console.print(
        "  admin        : /_sandbox/objects, /_sandbox/requests, /_sandbox/faults, /_sandbox/reset"
    )


@app.command()
def demo(
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Rehearse a launch end to end against the embedded sandbox (no Meta account needed)."""
    from meta_agent.interfaces.walkthrough import run_walkthrough

    summary = asyncio.run(run_walkthrough(console, quiet=as_json))
    if as_json:
        typer.echo(json.dumps(summary, indent=2))


def _usage_error(message: str) -> NoReturn:
    console.print(f"[red]error:[/] {message}")
    raise typer.Exit(EXIT_USAGE)


def main() -> None:
    """Console-script entry point."""
    app()
