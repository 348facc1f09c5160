"""``insights`` and ``report``: numbers out of Meta, as tables, CSV, JSON or an HTML page."""

from __future__ import annotations

import io
import json
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
    fail,
    open_service,
    out,
    print_json,
    run_async,
)

if TYPE_CHECKING:
    from meta_agent.agents.report import Level, PerformanceReport


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


class ReportFormat(StrEnum):
    """How ``report`` prints the report."""

    table = "table"
    json = "json"
    html = "html"


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
    if fmt == "json":
        print_json(rows)
    elif fmt == "csv":
        typer.echo(insights_csv(rows), nl=False)
    else:
        out.print(insights_table(rows))


def _increment(value: str) -> int | str:
    return int(value) if value.isdigit() else value


def report(
    object_id: ObjectId,
    level: LevelOpt = None,
    date_preset: PresetOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    output_format: Annotated[
        ReportFormat,
        typer.Option("--format", help="table, json or html (one self-contained page)."),
    ] = ReportFormat.table,
    out_file: OutOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """The performance report: summary, daily series, platforms, age x gender, advice.

    --format html writes ONE self-contained page (inline CSS and SVG charts).
    """
    fmt = "json" if as_json else output_format.value

    async def work() -> PerformanceReport:
        dates = dates_of(date_preset, since, until)
        async with open_service(config) as service:
            with busy("Building the report…", enabled=fmt == "table" or out_file is not None):
                return await service.report(object_id, level_of(object_id, level), **dates)

    built = run_async(work, as_json=fmt == "json")
    write_report(built, fmt, out_file)


def write_report(built: PerformanceReport, fmt: str, out_file: Path | None) -> None:
    """Print or save ``built`` as a table, JSON or HTML."""
    from meta_agent.interfaces.render import report_views

    if fmt == "table" and out_file is None:
        for view in report_views(built):
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


def report_text(built: PerformanceReport, fmt: str) -> str:
    """``built`` as plain-text tables, JSON or the HTML page."""
    from meta_agent.interfaces.render import report_views
    from meta_agent.interfaces.report_html import render_html

    if fmt == "json":
        return json.dumps(built.model_dump(mode="json"), indent=2) + "\n"
    if fmt == "html":
        return render_html(built)
    buffer = io.StringIO()
    console = Console(file=buffer, width=120, color_system=None)
    for view in report_views(built):
        console.print(view)
    return buffer.getvalue()
