"""``update_campaign``: budgets, status, schedule, names and bids of campaigns and ad sets.

``data`` is ``{"updates": [{"object_id", "level", "changes"}, ...]}``, or one such update
given directly. Before anything is sent, each object is read as it is now: the policy is
checked against it (budget caps, the largest increase per change, approval to activate),
Meta's floors against the account currency, and a budget change must be to the budget the
object holds (an ad set under a campaign budget has none of its own).

Each object is one journaled step, ``update:{object_id}``. The values it had are journaled
as a ``restore`` resource *before* the change is sent, so when a later update fails the
rollback posts them back. A dry run asks Meta to validate every change (``validate_only``)
and returns the planned before and after.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from meta_agent.agents import keys
from meta_agent.agents.budgets import (
    DEFAULT_MINIMUM_BUDGETS,
    adset_floor,
    check_floor,
    schedule_days,
)
from meta_agent.agents.money_input import check_stated_currency
from meta_agent.agents.params import AdSetChanges, CampaignChanges, NumericId
from meta_agent.agents.validation import validate
from meta_agent.errors import InvalidParameterError, NotFoundError, RequestValidationError
from meta_agent.gate.policy import PolicyCheck
from meta_agent.graph.models import AdSet, Campaign
from meta_agent.graph.services._base import act
from meta_agent.graph.services.adsets import AdSetUpdate
from meta_agent.graph.services.campaigns import CampaignUpdate
from meta_agent.orchestrator.engine import StepFunction, StepRun, WorkflowContext
from meta_agent.orchestrator.env import Env
from meta_agent.orchestrator.requests import OrchestratorRequest

Level = Literal["campaign", "adset"]
FIELDS = (
    "name",
    "status",
    "daily_budget",
    "lifetime_budget",
    "start_time",
    "end_time",
    "stop_time",
    "bid_amount",
)
BUDGETS = ("daily_budget", "lifetime_budget")
MAX_UPDATES = 50


class ObjectUpdate(BaseModel):
    """One object to change: a campaign or an ad set, and the fields to set."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    object_id: NumericId
    level: Level
    changes: dict[str, Any] = Field(min_length=1)


class UpdateData(BaseModel):
    """The ``data`` of ``update_campaign``: 1 to 50 updates, each object at most once."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    updates: list[ObjectUpdate] = Field(min_length=1, max_length=MAX_UPDATES)


Changes = CampaignChanges | AdSetChanges
Node = Campaign | AdSet


@dataclass(frozen=True)
class Change:
    """One object's planned change, as Graph parameters: its values now and those wanted."""

    object_id: str
    level: Level
    account_id: str
    before: dict[str, Any]
    after: dict[str, Any]
    currency: str | None = None  # the account's: budgets are its minor units

    def to_dict(self) -> dict[str, Any]:
        """As journaled and returned."""
        return {
            "object_id": self.object_id,
            "level": self.level,
            "account_id": self.account_id,
            "currency": self.currency,
            "before": self.before,
            "after": self.after,
        }


@dataclass(frozen=True)
class Plan:
    """The changes, in the order they were asked for."""

    changes: tuple[Change, ...]


async def prepare(request: OrchestratorRequest, env: Env) -> Plan:
    """Validate the changes, read each object, check the policy and Meta's floors (reads only).

    Raises:
        RequestValidationError: a field is wrong, the object is unknown or not of the
            request's account, or a budget change the object cannot take.
        PolicyViolationError: over a budget cap or the largest increase, or an activation
            without the approval the policy asks for.
    """
    updates = [(at, update, parse_changes(at, update)) for at, update in _updates(request.data)]
    planned = await asyncio.gather(*(_plan_one(request, env, *update) for update in updates))
    return Plan(tuple(planned))


def _updates(data: Mapping[str, Any]) -> list[tuple[str, ObjectUpdate]]:
    """Each update with the path that names it (``data`` itself for the one-object form)."""
    if "updates" not in data and "object_id" in data:
        return [("data", validate(ObjectUpdate, data, "data"))]
    updates = validate(UpdateData, data, "data").updates
    seen: set[str] = set()
    for index, update in enumerate(updates):
        if update.object_id in seen:
            field = f"data.updates[{index}].object_id"
            raise RequestValidationError(
                f"{field}: {update.object_id} is updated twice; merge its changes into one update",
                field=field,
            )
        seen.add(update.object_id)
    return [(f"data.updates[{index}]", update) for index, update in enumerate(updates)]


async def _plan_one(
    request: OrchestratorRequest, env: Env, at: str, update: ObjectUpdate, changes: Changes
) -> Change:
    node = await _read(env, at, update)
    _check_archived(at, changes, node)
    account_id = _account(request, at, node)
    currency = (await env.account(account_id)).currency
    check_stated_currency(changes, currency, f"{at}.changes")
    policy = PolicyCheck(env.policies.for_account(account_id, currency), currency)
    check_changes(policy, at, changes, node)
    if changes.daily_budget or changes.lifetime_budget:
        await _check_floor(env, account_id, currency, at, changes, node)
    return Change(
        object_id=update.object_id,
        level=update.level,
        account_id=account_id,
        before=_before(node, changes),
        after=_spec(changes, node).to_params(),
        currency=currency,
    )


def parse_changes(at: str, update: ObjectUpdate) -> Changes:
    """The changes as the level's model (``end_time`` and ``stop_time`` are one field).

    Raises:
        RequestValidationError: an unknown field, both end fields, a bid on a campaign, or a
            value the model refuses (``field`` under ``{at}.changes``).
    """
    raw = dict(update.changes)
    for name in raw:
        if name not in FIELDS:
            _refuse(at, name, f"is not a field update_campaign changes; use {', '.join(FIELDS)}")
    if raw.get("status") == "ARCHIVED":
        fix = "archiving can't be undone (archived objects can only be deleted); use PAUSED"
        _refuse(at, "status", fix)
    if "end_time" in raw and "stop_time" in raw:
        _refuse(at, "stop_time", "give end_time or stop_time, not both (they are the same)")
    if update.level == "campaign":
        if "bid_amount" in raw:
            _refuse(at, "bid_amount", "campaigns have no bid; set bid_amount on the ad sets")
        if "end_time" in raw:
            raw["stop_time"] = raw.pop("end_time")
        return validate(CampaignChanges, raw, at=f"{at}.changes")
    if "stop_time" in raw:
        raw["end_time"] = raw.pop("stop_time")
    return validate(AdSetChanges, raw, at=f"{at}.changes")


async def _read(env: Env, at: str, update: ObjectUpdate) -> Node:
    """The object as it is now.

    Raises:
        RequestValidationError: Meta knows no such object at this level, or it is deleted.
    """
    service = env.graph.campaigns if update.level == "campaign" else env.graph.adsets
    try:
        node: Node = await service.get(update.object_id)
    except (NotFoundError, InvalidParameterError) as error:
        raise RequestValidationError(
            f"{at}.object_id: no {update.level} {update.object_id} on Meta ({error.message}); "
            "check the id and the level",
            field=f"{at}.object_id",
        ) from None
    if node.status == "DELETED":
        raise RequestValidationError(
            f"{at}.object_id: {update.level} {update.object_id} is deleted and can't be changed",
            field=f"{at}.object_id",
        )
    return node


def _check_archived(at: str, changes: Changes, node: Node) -> None:
    """An archived object takes a new name and nothing else (Meta's rule)."""
    if node.status == "ARCHIVED" and set(changes.model_dump(exclude_none=True)) - {"name"}:
        raise RequestValidationError(
            f"{at}.object_id: {node.id} is archived: only its name can change",
            field=f"{at}.object_id",
        )


def _account(request: OrchestratorRequest, at: str, node: Node) -> str:
    """The object's ad account, which must be the request's when it names one."""
    account_id = act(node.account_id or "")
    if request.account_id is not None and request.account_id != account_id:
        raise RequestValidationError(
            f"{at}.object_id: {node.id} belongs to {account_id}, not to the request's "
            f"account_id {request.account_id}",
            field=f"{at}.object_id",
        )
    return account_id


def check_changes(policy: PolicyCheck, at: str, changes: Changes, node: Node) -> None:
    """The budget the object holds, the account's caps and increase limit (early: the write
    gate enforces them, and holds activation for an approval, as the write leaves).

    Raises:
        RequestValidationError: a budget the object does not hold.
        PolicyViolationError: over a cap or the increase limit.
    """
    for name in BUDGETS:
        amount = getattr(changes, name)
        if amount is None:
            continue
        field = f"{at}.changes.{name}"
        _check_budget_held(field, name, node)
        policy.budget(field, amount, lifetime=name == "lifetime_budget")
        policy.increase(field, getattr(node, name) or None, amount)


def _check_budget_held(field: str, name: str, node: Node) -> None:
    """A budget change must be to the budget the object holds now."""
    held = next((b for b in BUDGETS if getattr(node, b)), None)
    if held == name:
        return
    if held is not None:
        fix = f"it has a {held}; change {held} instead (Meta does not switch a budget's kind)"
    elif isinstance(node, AdSet):
        fix = (
            f"its campaign {node.campaign_id} holds the budget (campaign budget "
            "optimisation); change the campaign's budget instead"
        )
    else:
        fix = "the campaign has no budget of its own (its ad sets hold it); change theirs"
    raise RequestValidationError(f"{field}: {fix}", field=field)


async def _check_floor(
    env: Env, account_id: str, currency: str, at: str, changes: Changes, node: Node
) -> None:
    """Meta's minimum for the new budget: the ad set's billing class, else impressions."""
    row = await env.campaigns.minimum_budgets(account_id) or DEFAULT_MINIMUM_BUDGETS.get(currency)
    if row is None:
        return
    if isinstance(node, AdSet):
        floor, label = adset_floor(row, node.billing_event or "IMPRESSIONS")
        end = changes.end_time if isinstance(changes, AdSetChanges) else None
        days = schedule_days(changes.start_time or node.start_time, end or node.end_time)
    else:
        floor, label = row.impressions, "campaign budgets"
        end = changes.stop_time if isinstance(changes, CampaignChanges) else None
        days = schedule_days(changes.start_time or node.start_time, end or node.stop_time)
    daily, lifetime = changes.daily_budget, changes.lifetime_budget
    check_floor(daily, lifetime, floor, days, row, label, at=f"{at}.changes")


def _spec(changes: Changes, node: Node) -> CampaignUpdate | AdSetUpdate:
    """The wire update; a new name keeps the object's idempotency tag."""
    fields = changes.model_dump(exclude_none=True)
    if changes.name is not None:
        fields["name"] = keys.tagged(changes.name, keys.key_of(node.name or ""))
    if isinstance(changes, CampaignChanges):
        return CampaignUpdate(**fields)
    return AdSetUpdate(**fields)


def _before(node: Node, changes: Changes) -> dict[str, Any]:
    """The changed fields' current values, as Graph parameters (what a rollback posts back).

    A field that had no value (an ad set without an end time) has nothing to restore.
    """
    before = {}
    for name in changes.model_dump(exclude_none=True):
        value = getattr(node, name, None)
        if value is not None and value != 0:
            before[name] = value.isoformat() if isinstance(value, datetime) else value
    return before


async def run(
    ctx: WorkflowContext, request: OrchestratorRequest, plan: Plan, env: Env
) -> dict[str, Any]:
    """One step per object, in order; a dry run has Meta validate every change instead."""
    if request.options.dry_run:
        return await ctx.step("validate", lambda run: _validate(env, plan))
    for change in plan.changes:
        await ctx.step(
            f"update:{change.object_id}",
            _applying(env, change),
            input=change.to_dict(),
            agent="campaign",
        )
    return {"updates": [change.to_dict() for change in plan.changes]}


def _applying(env: Env, change: Change) -> StepFunction:
    """The step of one change: journal the values to restore, then send the change."""

    async def apply(run: StepRun) -> dict[str, Any]:
        if not await _journaled(run, change.object_id):
            details = {"before": change.before, "after": dict(change.after)}
            await run.created(change.level, change.object_id, undo="restore", details=details)
        await env.graph.post(change.object_id, dict(change.after))
        return {"object_id": change.object_id, "after": change.after}

    return apply


async def _journaled(run: StepRun, object_id: str) -> bool:
    """Whether an earlier (interrupted) try already journaled this object's earlier values.

    Its record holds the values from before that try's change, which a re-read would not.
    """
    resources = await run.ctx.store.resources(run.ctx.workflow_id)
    return any(resource.object_id == object_id for resource in resources)


async def _validate(env: Env, plan: Plan) -> dict[str, Any]:
    """Every change checked by Meta (``validate_only``) at once; nothing is changed."""
    await asyncio.gather(
        *(
            env.graph.post(change.object_id, dict(change.after), validate_only=True)
            for change in plan.changes
        )
    )
    return {"dry_run": True, "updates": [change.to_dict() for change in plan.changes]}


def _refuse(at: str, name: str, fix: str) -> None:
    field = f"{at}.changes.{name}"
    raise RequestValidationError(f"{field}: {fix}", field=field)
