"""``insights`` and ``report``: numbers out of Meta, as tables, CSV, JSON or an HTML page."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer
from rich.console import Console

from meta_agent.errors import RequestValidationError
from meta_agent.interfaces.cli_common import (
    ConfigOpt,
    JsonOpt,
    busy,
    err,
    fail,
    open_service,
    out,
    print_json,
    run_async,
)

if TYPE_CHECKING:
    from meta_agent.agents.report import Level
    from meta_agent.interfaces.report_request import AnyReport, ReportRequest


class LevelName(StrEnum):
    """The level of the object a query is about."""

    account = "account"
    campaign = "campaign"
    adset = "adset"
    ad = "ad"


class InsightsFormat(StrEnum):
    """How ``insights`` prints its rows."""

    table = "table"
    csv = "csv"
    json = "json"


DEFAULT_PRESET = "last_7d"

ObjectId = Annotated[
    str, typer.Argument(metavar="OBJECT_ID", help="act_<digits>, or a campaign/ad set/ad id.")
]
LevelOpt = Annotated[
    LevelName | None,
    typer.Option(
        help="The object's level (default: account for act_..., else campaign).",
    ),
]
PresetOpt = Annotated[
    str | None,
    typer.Option(
        help=f"Meta's date preset, e.g. last_7d, last_30d, this_month (default {DEFAULT_PRESET})."
    ),
]
SinceOpt = Annotated[str | None, typer.Option(help="First day, YYYY-MM-DD (with --until).")]
UntilOpt = Annotated[str | None, typer.Option(help="Last day, YYYY-MM-DD (with --since).")]
OutOpt = Annotated[
    Path | None, typer.Option("--out", help="Write to this file instead of stdout.", dir_okay=False)
]


def level_of(object_id: str, level: LevelName | None) -> Level:
    """The level given, or the one ``object_id`` implies."""
    chosen = level.value if level else ("account" if object_id.startswith("act_") else "campaign")
    return cast("Level", chosen)


def dates_of(preset: str | None, since: str | None, until: str | None) -> dict[str, Any]:
    """``date_preset`` or ``time_range`` from the options (a week by default).

    Raises:
        RequestValidationError: only one of --since and --until, or both a range and a preset.
    """
    if (since is None) != (until is None):
        raise RequestValidationError(
            "give both --since and --until (YYYY-MM-DD), or a --date-preset", field="time_range"
        )
    if since is not None:
        if preset is not None:
            raise RequestValidationError(
                "give either --date-preset or --since/--until, not both", field="date_preset"
            )
        return {"time_range": {"since": since, "until": until}}
    return {"date_preset": preset or DEFAULT_PRESET}


def _split(values: str | None) -> list[str]:
    return [part.strip() for part in (values or "").split(",") if part.strip()]


def insights(
    object_id: ObjectId,
    level: LevelOpt = None,
    date_preset: PresetOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    breakdowns: Annotated[
        str | None, typer.Option(help="Comma-separated, e.g. age,gender or publisher_platform.")
    ] = None,
    fields: Annotated[
        str | None, typer.Option(help="Comma-separated insights fields (default: a useful set).")
    ] = None,
    time_increment: Annotated[
        str | None, typer.Option(help="1-90 days per row, 'monthly' or 'all_days'.")
    ] = None,
    output_format: Annotated[
        InsightsFormat, typer.Option("--format", help="table, csv or json.")
    ] = InsightsFormat.table,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Insights rows of an ad account, campaign, ad set or ad."""
    fmt = "json" if as_json else output_format.value

    async def work() -> list[dict[str, Any]]:
        params: dict[str, Any] = {
            "object_id": object_id,
            "level": level_of(object_id, level),
            **dates_of(date_preset, since, until),
            **({"fields": _split(fields)} if fields else {}),
            **({"breakdowns": _split(breakdowns)} if breakdowns else {}),
            **({"time_increment": _increment(time_increment)} if time_increment else {}),
        }
        async with open_service(config) as service:
            with busy("Reading insights…", enabled=fmt == "table"):
                return await service.insights(params)

    from meta_agent.interfaces.render import insights_csv, insights_table

    rows = run_async(work, as_json=fmt == "json")
    nothing = f"No delivery: {object_id} has no insights for this period (no impressions)."
    if fmt == "json":
        print_json(rows)
    elif not rows:
        (err if fmt == "csv" else out).print(nothing)
    elif fmt == "csv":
        typer.echo(insights_csv(rows), nl=False)
    else:
        out.print(insights_table(rows))


def _increment(value: str) -> int | str:
    return int(value) if value.isdigit() else value


class ReportFormat(StrEnum):
    """How ``report`` writes the report."""

    table = "table"
    json = "json"
    html = "html"
    csv = "csv"
    parquet = "parquet"


class Cadence(StrEnum):
    """How often a scheduled report runs."""

    daily = "daily"
    weekly = "weekly"


ReportTarget = Annotated[
    str,
    typer.Argument(
        metavar="OBJECT_ID",
        help="act_<digits> or a campaign/ad set/ad id; 'all' (every account the token "
        "reaches) or act_1,act_2 for one report across accounts.",
    ),
]
ReportOutOpt = Annotated[
    Path | None,
    typer.Option(
        "--out",
        help="A file (table, json, html) or a folder (csv, parquet: one file per table; "
        "--schedule: one folder per run).",
    ),
]


def report(
    object_id: ReportTarget,
    level: Annotated[
        LevelName | None, typer.Option(help="The object's level (default: asked of Meta).")
    ] = None,
    date_preset: PresetOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    output_format: Annotated[
        ReportFormat,
        typer.Option(
            "--format",
            help="table, json, html (one self-contained page), csv or parquet (one file per "
            "table in the --out folder; parquet needs the 'parquet' extra).",
        ),
    ] = ReportFormat.table,
    out_file: ReportOutOpt = None,
    windows: Annotated[
        str | None,
        typer.Option(help="Attribution windows to show too, e.g. 1d_click,7d_click."),
    ] = None,
    result_action: Annotated[
        str | None, typer.Option(help="The action that counts as a result, e.g. purchase.")
    ] = None,
    rate: Annotated[
        list[str] | None,
        typer.Option(help="Across accounts: CUR=RATE, 1 CUR in --convert-to (repeat it)."),
    ] = None,
    convert_to: Annotated[
        str | None,
        typer.Option(help="Across accounts: one total in this currency at the --rate given."),
    ] = None,
    schedule: Annotated[
        Cadence | None,
        typer.Option(help="Run daily (yesterday) or weekly (last 7 days), writing to --out."),
    ] = None,
    webhook: Annotated[
        str | None,
        typer.Option(help="With --schedule: POST each report, signed, to this URL."),
    ] = None,
    runs: Annotated[
        int | None, typer.Option(help="With --schedule: stop after this many runs.", min=1)
    ] = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """The performance report: summary, rows per campaign/ad set/ad/creative, platforms,
    placements, age x gender, pacing, the previous period, and advice.

    --format html writes ONE self-contained page (inline CSS and SVG charts).
    """
    from meta_agent.interfaces.report_request import ReportRequest

    fmt = "json" if as_json else output_format.value
    request = ReportRequest(
        target=object_id,
        level=level.value if level else None,
        windows=tuple(_split(windows)),
        result_action=result_action,
        rates=_rates(rate or []),
        convert_to=convert_to,
    )
    if schedule is not None:
        if date_preset or since or until:
            fail(
                _usage(
                    "--schedule picks the period itself (daily: yesterday; weekly: the "
                    "last 7 days); drop --date-preset/--since/--until",
                    "schedule",
                )
            )
        run_async(lambda: _scheduled(request, schedule.value, out_file, webhook, runs, config))
        return
    if webhook is not None or runs is not None:
        fail(_usage("--webhook and --runs go with --schedule daily|weekly", "schedule"))

    async def work() -> AnyReport:
        dates = dates_of(date_preset, since, until)
        async with open_service(config) as service:
            with busy("Building the report…", enabled=fmt == "table" or out_file is not None):
                return await request.build(service, dates, for_html=fmt == "html")

    built = run_async(work, as_json=fmt == "json")
    write_report(built, fmt, out_file)


def _usage(message: str, field: str) -> RequestValidationError:
    return RequestValidationError(message, field=field)


def _rates(items: list[str]) -> dict[str, Decimal]:
    """``["USD=83.2"]`` as ``{"USD": Decimal("83.2")}``.

    Raises:
        RequestValidationError: an item is not CUR=NUMBER.
    """
    rates: dict[str, Decimal] = {}
    for item in items:
        name, _, value = item.partition("=")
        try:
            number: Decimal | None = Decimal(value)
        except ArithmeticError:
            number = None
        if not name.strip() or number is None or not number.is_finite() or number <= 0:
            fail(
                RequestValidationError(
                    f"--rate {item}: write CUR=RATE, e.g. USD=83.2", field="rate"
                )
            )
        rates[name.strip().upper()] = number
    return rates


async def _scheduled(
    request: ReportRequest,
    cadence: str,
    folder: Path | None,
    webhook: str | None,
    runs: int | None,
    config: Path | None,
) -> None:
    from meta_agent.interfaces.http.webhooks import WebhookSender
    from meta_agent.interfaces.report_html import render_any_html
    from meta_agent.interfaces.report_schedule import PRESETS, Schedule, check_webhook

    if folder is None:
        raise RequestValidationError("--schedule needs --out DIR for the reports", field="out")
    async with open_service(config) as service:
        secret = service.settings.service.webhook_secret
        attempts = service.settings.service.webhook_attempts
        sender = WebhookSender(secret, attempts=attempts, egress=service.egress) if secret else None
        await check_webhook(sender, webhook)
        dates = {"date_preset": PRESETS[cadence]}
        plan = Schedule(
            build=lambda: request.build(service, dates, for_html=True),
            cadence=cadence,  # type: ignore[arg-type]  # a Cadence value
            folder=folder,
            render_html=render_any_html,
            sender=sender,
            webhook=webhook,
        )
        err.print(f"scheduled {cadence} report into {folder} (last run: {plan.last_run()})")
        await plan.run(runs=runs)


def write_report(built: AnyReport, fmt: str, out_file: Path | None) -> None:
    """Print or save ``built`` as tables, JSON, HTML, or CSV/Parquet files in a folder."""
    from meta_agent.interfaces.report_files import tables_of, write_tables

    if fmt in {"csv", "parquet"}:
        if out_file is None:
            fail(RequestValidationError(f"--format {fmt} needs --out DIR", field="out"))
        try:
            written = write_tables(tables_of(built), out_file, fmt)  # type: ignore[arg-type]
        except RequestValidationError as error:
            fail(error)
        typer.echo(f"wrote {len(written)} {fmt} files into {out_file}", err=True)
        return
    if fmt == "table" and out_file is None:
        for view in views_of(built):
            out.print(view)
        return
    text = report_text(built, fmt)
    if out_file is None:
        typer.echo(text, nl=False)
        return
    try:
        out_file.write_text(text, encoding="utf-8")
    except OSError as error:
        fail(RequestValidationError(f"--out {out_file}: {error.strerror}", field="out"))
    typer.echo(f"wrote {out_file}", err=True)


def views_of(built: AnyReport) -> list[Any]:
    """The terminal views of either kind of report."""
    from meta_agent.agents.reporting.accounts import AccountsReport
    from meta_agent.interfaces.report_views import accounts_views, marketer_views

    if isinstance(built, AccountsReport):
        return accounts_views(built)
    return marketer_views(built)


def report_text(built: AnyReport, fmt: str) -> str:
    """``built`` as plain-text tables, JSON or the HTML page."""
    from meta_agent.interfaces.report_html import render_any_html

    if fmt == "json":
        return json.dumps(built.model_dump(mode="json"), indent=2) + "\n"
    if fmt == "html":
        return render_any_html(built)
    buffer = io.StringIO()
    console = Console(file=buffer, width=160, color_system=None)
    for view in views_of(built):
        console.print(view)
    return buffer.getvalue()
