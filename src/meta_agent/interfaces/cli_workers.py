"""``meta-agent worker`` (one agent's queue) and ``meta-agent workers`` (list, recover)."""

from __future__ import annotations

import asyncio
import signal
from contextlib import suppress
from typing import Annotated, Any

import typer
from rich.table import Table

from meta_agent.interfaces.cli_common import (
    ConfigOpt,
    JsonOpt,
    err,
    fail,
    open_service,
    out,
    print_json,
    run_async,
)

workers_app = typer.Typer(
    help="Worker processes (distributed mode): list them with their queues and work in "
    "flight; take over a dead one's work now.",
    invoke_without_command=True,
)

AGENT_HELP = (
    "The queue to serve: orchestrator, asset, campaign, ad_creation or insights "
    "(default: AGENT_TYPE from the environment)."
)


def worker(
    agent: Annotated[str | None, typer.Option("--agent", help=AGENT_HELP)] = None,
    worker_id: Annotated[
        str | None,
        typer.Option(
            "--id",
            help="This worker's id, stable across restarts, so a restarted worker carries on "
            "its own unfinished work at once (default: META_AGENT_WORKER_ID, else "
            "AGENT-HOST-PID, whose work is taken over after durable.takeover_after_seconds).",
        ),
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Run one agent's queue until stopped (SIGTERM or Ctrl-C).

    Takes at most agents.<agent>.workers operations at once (per ad account:
    agents.<agent>.per_account). Beats every durable.heartbeat_seconds; takes over the work of
    workers silent for durable.takeover_after_seconds.
    """
    from meta_agent.service.workers import worker_identity

    try:
        identity = worker_identity(agent, worker_id)
    except Exception as error:
        fail(error)

    async def work() -> None:
        # Heard from the first moment: a SIGTERM while the worker starts still ends it
        # cleanly (it says "stopped"), instead of leaving it to look alive until the timeout.
        stop = _stop_on_signals()
        # A worker acts for whoever enqueued the work, remote callers included: every URL
        # it fetches (a re-prepared request's images) passes the egress guard in full.
        opened = open_service(config, announce=False, identity=identity, local_files=False)
        async with opened as service, service.supervised():
            err.print(
                f"worker {identity.worker_id}: serving the {identity.agent} queue "
                f"({service.settings.durable.mode} mode)"
            )
            await stop.wait()
        err.print(f"worker {identity.worker_id}: stopped")

    run_async(work)


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    return stop


@workers_app.callback()
def workers_list(
    ctx: typer.Context,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Live workers, their queues, queue depths and the work in flight."""
    if ctx.invoked_subcommand is not None:
        return

    async def work() -> dict[str, Any]:
        from meta_agent.service.workers import describe

        async with open_service(config, announce=False) as service:
            after = service.settings.durable.takeover_after_seconds
            return {
                "workers": [describe(w, after) for w in await service.store.workers()],
                "queues": await service.queue_depths(),
                "in_flight": await service.in_flight(),
            }

    view = run_async(work, as_json=as_json)
    if as_json:
        print_json(view)
        return
    out.print(_workers_table(view["workers"]))
    out.print(_queues_table(view["queues"]))


@workers_app.command("recover")
def workers_recover(
    worker_id: Annotated[
        str | None,
        typer.Argument(help="The dead worker (default: every worker silent past the timeout)."),
    ] = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Take over a dead worker's unfinished workflows now: back to their queues."""
    from meta_agent.service.workers import Identity, Supervisor

    async def work() -> list[dict[str, Any]]:
        async with open_service(config, announce=False) as service:
            operator = Identity("operator", "operator", ())
            return await Supervisor(service, operator).sweep(only=worker_id)

    taken = run_async(work, as_json=as_json)
    if as_json:
        print_json(taken)
        return
    if not taken:
        out.print("No dead worker to take over.")
    for item in taken:
        out.print(
            f"{item['worker_id']}: {len(item['workflows'])} workflow(s) handed back to the queues"
        )


def _workers_table(workers: list[dict[str, Any]]) -> Table:
    table = Table(title="Workers")
    for column in ("worker", "agent", "state", "host", "pid", "silent (s)"):
        table.add_column(column)
    for item in workers:
        table.add_row(
            item["worker_id"],
            item["agent"],
            item["state"],
            item["host"],
            str(item["pid"]),
            str(item["silent_s"]),
        )
    return table


def _queues_table(queues: dict[str, dict[str, float]]) -> Table:
    table = Table(title="Queues")
    for column in ("queue", "waiting", "running", "oldest waiting (s)"):
        table.add_column(column)
    for name, row in queues.items():
        table.add_row(
            name, str(int(row["waiting"])), str(int(row["running"])), f"{row['oldest_s']:.1f}"
        )
    return table
