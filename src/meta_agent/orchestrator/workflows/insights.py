"""``get_insights`` and ``performance_report``: reads, journaled as one step each.

Neither writes to Meta. Each runs its query as a single journaled step (``query`` or
``report``), so a repeated ``request_id`` is answered from the journal, and the result is
plain JSON: counts as integers, money and ratios (``Decimal``) as strings, dates as ISO text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from meta_agent.agents.insights import DatePreset, DateSpan, InsightsParams
from meta_agent.agents.report import Level
from meta_agent.agents.validation import validate
from meta_agent.errors import RequestValidationError
from meta_agent.orchestrator.engine import WorkflowContext
from meta_agent.orchestrator.env import Env
from meta_agent.orchestrator.requests import OrchestratorRequest

DEFAULT_PRESET: DatePreset = "last_7d"


class Dates(BaseModel):
    """A period: a ``date_preset`` or a ``time_range``, not both (``last_7d`` when neither)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    date_preset: DatePreset | None = None
    time_range: DateSpan | None = None

    def checked(self, at: str = "data") -> Dates:
        """These dates, with the default preset when none is given.

        Raises:
            RequestValidationError: both a preset and a range (``field`` is ``{at}.time_range``).
        """
        if self.date_preset is not None and self.time_range is not None:
            field = f"{at}.time_range"
            raise RequestValidationError(
                f"{field}: give date_preset or time_range, not both; drop one of them",
                field=field,
            )
        if self.date_preset is None and self.time_range is None:
            return self.model_copy(update={"date_preset": DEFAULT_PRESET})
        return self

    def as_params(self) -> dict[str, Any]:
        """As keyword arguments of :class:`InsightsParams` (only the one that is set)."""
        if self.time_range is not None:
            return {"time_range": self.time_range}
        return {"date_preset": self.date_preset}


# -- get_insights -------------------------------------------------------------------------------


async def prepare_insights(request: OrchestratorRequest, env: Env) -> InsightsParams:
    """Validate ``data`` as :class:`InsightsParams` (reads nothing).

    Raises:
        RequestValidationError: a field is wrong (``field`` is its ``data....`` path).
    """
    return insights_params(request.data)


def insights_params(data: dict[str, Any], at: str = "data") -> InsightsParams:
    """``data`` as insights params, every error naming its path under ``at``.

    Raises:
        RequestValidationError: a bad field, or dates given both ways or not at all.
    """
    try:
        return validate(InsightsParams, data, at)
    except RequestValidationError as error:
        # The params' cross-field checks raise with a bare field name; give it its path.
        field = error.field
        if field is None or field.startswith(at):
            raise
        path = f"{at}.{field}"
        raise RequestValidationError(f"{path}: {error.message}", field=path) from None


async def run_insights(
    ctx: WorkflowContext, request: OrchestratorRequest, params: InsightsParams, env: Env
) -> dict[str, Any]:
    """One journaled ``query`` step: every row, as JSON."""

    async def query(_: Any) -> dict[str, Any]:
        rows = await env.insights.get_insights(params)
        dumped = [row.model_dump(mode="json", exclude_none=True) for row in rows]
        return {"rows": dumped, "count": len(dumped)}

    return await ctx.step("query", query, input=params.model_dump(mode="json"), agent="insights")


# -- performance_report -------------------------------------------------------------------------


class ReportData(BaseModel):
    """The ``data`` of ``performance_report``: an object, its level, and the period."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    object_id: str = Field(pattern=r"^(act_)?\d+$")
    level: Level
    date_preset: DatePreset | None = None
    time_range: DateSpan | None = None
    result_action: str | None = Field(
        default=None, description="the action that counts as a result (default: the deepest)"
    )

    @property
    def dates(self) -> Dates:
        """The period asked for."""
        return Dates(date_preset=self.date_preset, time_range=self.time_range)


@dataclass(frozen=True)
class ReportPlan:
    """A validated report request."""

    data: ReportData
    dates: Dates


async def prepare_report(request: OrchestratorRequest, env: Env) -> ReportPlan:
    """Validate ``data`` (reads nothing).

    Raises:
        RequestValidationError: a field is wrong, or an account id at another level.
    """
    data = validate(ReportData, request.data, "data")
    if data.object_id.startswith("act_") != (data.level == "account"):
        raise RequestValidationError(
            f"data.level: {data.object_id} is {_kind(data.object_id)}; level is the object's "
            "own level (account for act_..., else campaign, adset or ad)",
            field="data.level",
        )
    return ReportPlan(data, data.dates.checked())


def _kind(object_id: str) -> Literal["an ad account", "not an ad account"]:
    return "an ad account" if object_id.startswith("act_") else "not an ad account"


async def run_report(
    ctx: WorkflowContext, request: OrchestratorRequest, plan: ReportPlan, env: Env
) -> dict[str, Any]:
    """One journaled ``report`` step: the :class:`PerformanceReport` as JSON."""
    data = plan.data

    async def report(_: Any) -> dict[str, Any]:
        built = await env.insights.performance_report(
            data.object_id,
            data.level,
            **plan.dates.as_params(),
            result_action=data.result_action,
        )
        return built.model_dump(mode="json")

    return await ctx.step("report", report, input=request.data, agent="insights")
