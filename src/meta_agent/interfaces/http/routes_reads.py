"""Reads (insights, reports) and operations (health, metrics)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response

from meta_agent.agents.insights import DatePreset, InsightsParams
from meta_agent.agents.report import Level
from meta_agent.interfaces.http.deps import Caller, State, require_action, require_object
from meta_agent.interfaces.http.errors import HttpError
from meta_agent.interfaces.http.schemas import (
    INSIGHTS_EXAMPLES,
    META_STATUSES,
    InsightsRows,
    error_responses,
)
from meta_agent.interfaces.report_html import render_html
from meta_agent.interfaces.report_thumbnails import inline_thumbnails
from meta_agent.observability.metrics import exposition
from meta_agent.service.health import HealthReport

router = APIRouter()
PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"
DEFAULT_PRESET: DatePreset = "last_30d"


@router.post(
    "/v1/insights",
    tags=["insights"],
    summary="Query insights",
    response_model=InsightsRows,
    responses=error_responses(400, 401, 403, 413, *META_STATUSES),
)
async def insights(
    params: Annotated[InsightsParams, Body(openapi_examples=INSIGHTS_EXAMPLES)],
    key: Caller,
    state: State,
) -> InsightsRows:
    """Insights rows for one object (account, campaign, ad set or ad), not journaled.

    Give ``date_preset`` or ``time_range``, not both (neither: the last 30 days); a
    ``time_range`` has ``since`` on or before ``until``. Large queries run as an async report
    job. An ``object_id`` outside the key's accounts is a 403, one Meta does not know a 404.
    """
    require_action(key, "get_insights")
    await require_object(key, state.service, params.object_id)
    rows = await state.service.insights(params.model_dump(exclude_defaults=True))
    return InsightsRows(data=rows)


@router.get(
    "/v1/reports/{object_id}",
    tags=["insights"],
    summary="Performance report",
    responses={
        200: {"content": {"application/json": {}, "text/html": {"schema": {"type": "string"}}}},
        **error_responses(400, 401, 403, 404, 422, *META_STATUSES),
    },
)
async def report(
    object_id: Annotated[str, Path(pattern=r"^(act_)?\d+$", description="act_<id> or an id")],
    key: Caller,
    state: State,
    level: Annotated[
        Level | None, Query(description="the object's level (default: asked of Meta)")
    ] = None,
    date_preset: Annotated[DatePreset | None, Query()] = None,
    since: Annotated[date | None, Query(description="first day, with until")] = None,
    until: Annotated[date | None, Query(description="last day, with since")] = None,
    result_action: Annotated[
        str | None, Query(description="the action that counts as a result, e.g. purchase")
    ] = None,
    windows: Annotated[
        str | None, Query(description="attribution windows to add, e.g. 1d_click,7d_click")
    ] = None,
    output_format: Annotated[
        Literal["json", "html"],
        Query(alias="format", description="json, or html: one self-contained page"),
    ] = "json",
) -> Any:
    """Summary, daily series, rows per campaign / ad set / ad / creative, platform,
    placement and demographic breakdowns, pacing, the previous period, recommendations.

    The period is ``date_preset``, or ``since`` and ``until`` given together (not with
    ``date_preset``); the last 30 days when neither. ``level`` is asked of Meta when left
    out. ``format=html`` answers the self-contained HTML page. Each refusal is a 422
    naming the parameter; an object Meta does not know is a 404.
    """
    require_action(key, "performance_report")
    await require_object(key, state.service, object_id)
    options = {
        **_dates(date_preset, since, until),
        "result_action": result_action,
        "attribution_windows": tuple(w.strip() for w in (windows or "").split(",") if w.strip()),
    }
    result = await state.service.report(object_id, level, **options)
    if output_format == "html":
        return HTMLResponse(render_html(await inline_thumbnails(state.service, result)))
    return JSONResponse(result.model_dump(mode="json"))


@router.get(
    "/healthz",
    tags=["operations"],
    summary="Health checks",
    response_model=HealthReport,
    responses={503: {"model": HealthReport, "description": "a check failed"}},
)
async def healthz(state: State) -> Any:
    """API connectivity, database, cache and agents: 200 when all pass, 503 otherwise."""
    health = await state.service.health()
    status = 200 if health.status == "healthy" else 503
    return JSONResponse(health.model_dump(mode="json"), status_code=status)


@router.get(
    "/metrics",
    tags=["operations"],
    summary="Prometheus metrics",
    response_class=Response,
    responses={
        200: {"content": {PROMETHEUS_TEXT: {"schema": {"type": "string"}}}},
        **error_responses(404),
    },
)
async def metrics(state: State) -> Response:
    """Every meta-agent metric in Prometheus' text exposition format."""
    if not state.metrics_enabled:
        raise HttpError(404, "not_found", "metrics are disabled (monitoring.metrics_enabled)")
    await state.service.refresh_queue_metrics()
    return Response(exposition(), media_type=PROMETHEUS_TEXT)


def _dates(preset: DatePreset | None, since: date | None, until: date | None) -> dict[str, Any]:
    if (since is None) != (until is None):
        missing = "until" if until is None else "since"
        raise HttpError(
            422,
            "request_validation_error",
            f"{missing}: give since and until together (YYYY-MM-DD)",
            field=missing,
        )
    if since is not None and until is not None:
        if preset is not None:
            raise HttpError(
                422,
                "request_validation_error",
                "date_preset: give date_preset or since/until, not both; drop one",
                field="date_preset",
            )
        return {"time_range": {"since": since, "until": until}}
    return {"date_preset": preset or DEFAULT_PRESET}
