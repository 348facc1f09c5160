"""``create_campaign``: a campaign and its ad sets (no creatives or ads), all or nothing.

The same path as the full campaign, minus assets and ads: targeting resolved, then one batch
with the campaign and its ad sets referencing it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from meta_agent.agents.keys import workflow_key, workflow_prefix
from meta_agent.agents.params import AdSetParams, CampaignParams
from meta_agent.agents.validation import validate
from meta_agent.concurrency import gather2
from meta_agent.graph.models import TargetingSpec
from meta_agent.orchestrator import events as ev
from meta_agent.orchestrator.engine import StepRun, WorkflowContext
from meta_agent.orchestrator.env import Env
from meta_agent.orchestrator.plan_details import describe_launch
from meta_agent.orchestrator.requests import OrchestratorRequest
from meta_agent.orchestrator.workflows.full_campaign import (
    activate_all,
    adset_item,
    campaign_item,
    check_structure,
    resolve_targeting,
)
from meta_agent.orchestrator.workflows.launch import launch


class CampaignOnlyData(BaseModel):
    """The ``data`` of ``create_campaign``: a campaign and at least one ad set."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    campaign: CampaignParams
    adsets: list[AdSetParams] = Field(min_length=1, max_length=50)


@dataclass(frozen=True)
class Plan:
    """A validated request and its keys."""

    account_id: str
    currency: str
    data: CampaignOnlyData
    prefix: str
    targeting: list[dict[str, Any]]

    def key(self, label: str) -> str:
        """The idempotency key of one item of this workflow."""
        return workflow_key(self.prefix, label)


async def prepare(request: OrchestratorRequest, env: Env) -> Plan:
    """Validate the data, the budget level, the policy and Meta's floors (reads only).

    Raises:
        RequestValidationError: a field is wrong (``field`` is its ``data....`` path).
        PolicyViolationError: the account's policy refuses it.
    """
    account_id = request.require_account()
    data = validate(CampaignOnlyData, request.data, "data")
    currency, targeting = await gather2(
        check_structure(request, env, data.campaign, data.adsets),
        resolve_targeting(env, account_id, data.adsets),
    )
    return Plan(
        account_id,
        currency,
        data,
        workflow_prefix(request.account_id, request.journal_id),
        targeting["adsets"],
    )


async def run(
    ctx: WorkflowContext, request: OrchestratorRequest, plan: Plan, env: Env
) -> dict[str, Any]:
    """Resolve targeting, launch campaign and ad sets in one batch, activate if asked."""
    data = plan.data
    items = [campaign_item(data.campaign, plan.key("campaign"))]
    items += [
        adset_item(f"adset{i}", adset, TargetingSpec.model_validate(spec), plan.key(f"adset{i}"))
        for i, (adset, spec) in enumerate(zip(data.adsets, plan.targeting, strict=True))
    ]
    if request.options.dry_run:
        view = await describe_launch(
            items, env, plan.account_id, plan.currency, activate=request.options.activate
        )
        return {"dry_run": True, "plan": [item.label for item in items], **view}

    async def send(run: StepRun) -> dict[str, Any]:
        state = await launch(run, env, plan.account_id, items)
        return {"ids": state.ids, "requests": state.requests}

    created = await ctx.step(
        "launch", send, planned=[item.planned for item in items], agent="campaign"
    )
    ids: dict[str, str] = created["ids"]
    await ctx.emit(ev.CAMPAIGN_CREATED, campaign_id=ids["campaign"], account_id=plan.account_id)
    if request.options.activate:
        await ctx.step("activate", lambda run: activate_all(env, ids, run), agent="campaign")
    status = "ACTIVE" if request.options.activate else "PAUSED"
    return {
        "account_id": plan.account_id,
        "currency": plan.currency,
        "campaign": {"id": ids["campaign"], "name": data.campaign.name, "status": status},
        "adsets": [
            {"id": ids[f"adset{i}"], "name": adset.name, "status": status}
            for i, adset in enumerate(data.adsets)
        ],
    }
