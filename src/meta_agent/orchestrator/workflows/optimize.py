"""``optimize_campaign``: the optimizer's plan for one campaign, checked, then applied.

``data`` is ``{"campaign_id", "date_preset" | "time_range" (default last_7d), "policy"}``,
``policy`` being :class:`~meta_agent.agents.optimizer.OptimizationPolicy` fields.

Steps, as journaled:

1. ``plan``: the campaign's structure and its ad-set and ad insights (daily), into
   :func:`~meta_agent.agents.optimizer.plan_optimization`. Every budget increase the plan
   makes is then held against the account's policy (``max_daily_budget``,
   ``max_increase_pct``); one that breaks it is dropped with a note, not refused, so the
   rest can still apply. A budget shift is a pair: when its raise is dropped, so is the cut
   that would have paid for it.
2. A dry run asks Meta to validate every change (``validate_only``) and stops: nothing is
   written.
3. Otherwise one step per change, ``change:{object_id}``, spend-lowering changes first. The
   value it had (budget or status) is journaled as a ``restore`` resource *before* the
   write, so when a later change fails, the rollback posts the earlier values back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from pydantic import BaseModel, ConfigDict, Field

from meta_agent.agents.insights import DatePreset, DateSpan, InsightsParams
from meta_agent.agents.optimizer import (
    OptimizationPolicy,
    PlannedChange,
    apply_plan,
    load_structure,
    performances,
    plan_optimization,
)
from meta_agent.agents.params import NumericId
from meta_agent.agents.validation import validate
from meta_agent.errors import (
    InvalidParameterError,
    NotFoundError,
    PolicyViolationError,
    RequestValidationError,
)
from meta_agent.gate.policy import PolicyCheck
from meta_agent.graph.models import InsightsRow
from meta_agent.graph.services._base import act
from meta_agent.orchestrator.engine import StepFunction, StepRun, WorkflowContext
from meta_agent.orchestrator.env import Env
from meta_agent.orchestrator.requests import OrchestratorRequest
from meta_agent.orchestrator.workflows.insights import Dates

log = structlog.get_logger("meta_agent.workflow")

ROW_FIELDS = ("impressions", "clicks", "spend", "actions", "action_values")


class OptimizeData(BaseModel):
    """The ``data`` of ``optimize_campaign``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    campaign_id: NumericId
    date_preset: DatePreset | None = None
    time_range: DateSpan | None = None
    policy: OptimizationPolicy = Field(default_factory=OptimizationPolicy)
    result_action: str | None = Field(
        default=None, description="the action that counts as a result (default: the deepest)"
    )


@dataclass(frozen=True)
class Plan:
    """A validated request: the campaign, its account, the period and both policies."""

    campaign_id: str
    account_id: str
    dates: Dates
    policy: OptimizationPolicy
    result_action: str | None
    check: PolicyCheck


async def prepare(request: OrchestratorRequest, env: Env) -> Plan:
    """Validate the data, read the campaign and its account's currency (reads only).

    Raises:
        RequestValidationError: a field is wrong, or the campaign is unknown, deleted, or
            not of the request's account.
    """
    data = validate(OptimizeData, request.data, "data")
    dates = Dates(date_preset=data.date_preset, time_range=data.time_range).checked()
    account_id = await _campaign_account(request, env, data.campaign_id)
    currency = (await env.account(account_id)).currency
    check = PolicyCheck(env.policies.for_account(account_id, currency), currency)
    return Plan(data.campaign_id, account_id, dates, data.policy, data.result_action, check)


async def _campaign_account(request: OrchestratorRequest, env: Env, campaign_id: str) -> str:
    """The campaign's ad account, which must be the request's when it names one."""
    field = "data.campaign_id"
    try:
        campaign = await env.graph.campaigns.get(campaign_id, ["id", "account_id", "status"])
    except (NotFoundError, InvalidParameterError) as error:
        raise RequestValidationError(
            f"{field}: no campaign {campaign_id} on Meta ({error.message}); check the id",
            field=field,
        ) from None
    if campaign.status == "DELETED":
        raise RequestValidationError(f"{field}: campaign {campaign_id} is deleted", field=field)
    account_id = act(campaign.account_id or "")
    if request.account_id is not None and request.account_id != account_id:
        raise RequestValidationError(
            f"{field}: campaign {campaign_id} belongs to {account_id}, not to the request's "
            f"account_id {request.account_id}",
            field=field,
        )
    return account_id


# -- run ----------------------------------------------------------------------------------------


async def run(
    ctx: WorkflowContext, request: OrchestratorRequest, plan: Plan, env: Env
) -> dict[str, Any]:
    """Plan, then validate (dry run) or apply one change per step."""
    planned = await ctx.step(
        "plan", lambda run: _plan(env, plan), input=request.data, agent="insights"
    )
    changes = [PlannedChange.model_validate(item) for item in planned["changes"]]
    notes: list[str] = planned["notes"]
    if request.options.dry_run:
        checked = await ctx.step("validate", lambda run: _validate(env, changes))
        described = [{**describe(c), "applied": False, **checked[c.object_id]} for c in changes]
        return {"campaign_id": plan.campaign_id, "changes": described, "notes": notes}
    for change in ordered(changes):
        await ctx.step(
            f"change:{change.object_id}",
            _applying(env, change),
            input=describe(change),
            agent="campaign",
        )
    described = [{**describe(change), "applied": True} for change in changes]
    return {"campaign_id": plan.campaign_id, "changes": described, "notes": notes}


async def _plan(env: Env, plan: Plan) -> dict[str, Any]:
    """The optimizer's plan, less what the account's policy refuses (reads only)."""
    structure = await load_structure(env.graph, plan.campaign_id)
    adset_rows, ad_rows = await asyncio.gather(_rows(env, plan, "adset"), _rows(env, plan, "ad"))
    currency, action = structure.currency, plan.result_action
    optimized = plan_optimization(
        structure,
        performances(adset_rows, "adset_id", currency, result_action=action),
        performances(ad_rows, "ad_id", currency, result_action=action),
        plan.policy,
    )
    kept, dropped = within_policy(optimized.changes, plan.check)
    return {
        "changes": [change.model_dump(mode="json") for change in kept],
        "notes": [*optimized.notes, *dropped],
    }


async def _rows(env: Env, plan: Plan, level: str) -> list[InsightsRow]:
    """The campaign's daily rows at ``level`` (``adset`` or ``ad``), with their ids."""
    params = InsightsParams.model_validate(
        {
            "level": level,
            "object_id": plan.campaign_id,
            "fields": (f"{level}_id", *ROW_FIELDS),
            "time_increment": 1,
            **plan.dates.as_params(),
        }
    )
    return await env.insights.get_insights(params)


def within_policy(
    changes: Sequence[PlannedChange], check: PolicyCheck
) -> tuple[list[PlannedChange], list[str]]:
    """The changes the account's policy allows, and a note for each one dropped."""
    refused = {c.object_id: reason for c in changes if (reason := breach(c, check)) is not None}
    unpaid = {c.rationale for c in changes if c.kind == "shift_budget" and c.object_id in refused}
    kept: list[PlannedChange] = []
    notes: list[str] = []
    for change in changes:
        if change.object_id in refused:
            notes.append(f"{refused[change.object_id]} Dropped from the plan.")
        elif change.kind == "shift_budget" and change.rationale in unpaid:
            notes.append(
                f"{change.level} {change.object_id}: budget cut dropped with the raise it "
                "would have paid for"
            )
        else:
            kept.append(change)
    for note in notes:
        log.info("optimize.change_dropped", note=note)
    return kept, notes


def breach(change: PlannedChange, check: PolicyCheck) -> str | None:
    """Why the account's policy refuses ``change`` (a budget increase), or None."""
    before, after = change.before, change.after
    if before is None or after is None or after.amount_minor <= before.amount_minor:
        return None
    field = f"{change.level} {change.object_id} daily_budget"
    try:
        check.budget(field, after.amount_minor)
        check.increase(field, before.amount_minor, after.amount_minor)
    except PolicyViolationError as error:
        return error.message
    return None


def ordered(changes: Sequence[PlannedChange]) -> list[PlannedChange]:
    """Pauses and cuts first, so a failure never leaves a raise without the cut paying it."""
    return sorted(changes, key=lambda change: not change.lowers_spend)


def describe(change: PlannedChange) -> dict[str, Any]:
    """A change as journaled and returned: Graph fields before and after, and why."""
    return {
        "object_id": change.object_id,
        "level": change.level,
        "kind": change.kind,
        "before": before_of(change),
        "after": after_of(change),
        "currency": currency_of(change),
        "rationale": change.rationale,
    }


def currency_of(change: PlannedChange) -> str | None:
    """The currency of the budgets a change moves (None for a pause), for people to read."""
    amount = change.before or change.after
    return amount.currency if amount is not None else None


def before_of(change: PlannedChange) -> dict[str, Any]:
    """The field the change touches, as it is now (what a rollback posts back)."""
    if change.kind == "pause_ad":
        return {"status": "ACTIVE"}
    return {"daily_budget": change.before.amount_minor if change.before else None}


def after_of(change: PlannedChange) -> dict[str, Any]:
    """The field the change touches, as the change sets it (the Graph parameters)."""
    if change.kind == "pause_ad":
        return {"status": "PAUSED"}
    return {"daily_budget": change.after.amount_minor if change.after else None}


def _applying(env: Env, change: PlannedChange) -> StepFunction:
    """The step of one change: journal the value to restore, then send the change."""

    async def apply(run: StepRun) -> dict[str, Any]:
        if not run.resumed or not await _journaled(run, change.object_id):
            details = {"before": before_of(change), "after": after_of(change)}
            await run.created(change.level, change.object_id, undo="restore", details=details)
        await env.graph.post(change.object_id, after_of(change))
        return {"object_id": change.object_id, "after": after_of(change)}

    return apply


async def _journaled(run: StepRun, object_id: str) -> bool:
    """Whether an interrupted try already journaled this object's earlier value."""
    resources = await run.ctx.store.resources(run.ctx.workflow_id)
    return any(resource.object_id == object_id for resource in resources)


async def _validate(env: Env, changes: Sequence[PlannedChange]) -> dict[str, Any]:
    """Every change checked by Meta (``validate_only``); nothing is written."""
    results = await apply_plan(env.graph, changes, validate_only=True)
    return {
        item.change.object_id: {"validated": item.status == "validated", "error": item.error}
        for item in results
    }
