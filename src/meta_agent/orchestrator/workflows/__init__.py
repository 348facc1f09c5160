"""One module per action. Each exports ``prepare`` (validation and policy: reads only, no
journal) and ``run`` (the journaled steps); :data:`WORKFLOWS` maps actions to them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from meta_agent.orchestrator.engine import WorkflowContext
from meta_agent.orchestrator.env import Env
from meta_agent.orchestrator.requests import OrchestratorRequest
from meta_agent.orchestrator.workflows import (
    bulk,
    campaign_only,
    creative_update,
    full_campaign,
    insights,
    optimize,
    updates,
)

Prepare = Callable[[OrchestratorRequest, Env], Awaitable[Any]]
Run = Callable[[WorkflowContext, OrchestratorRequest, Any, Env], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Workflow:
    """An action's two halves."""

    prepare: Prepare
    run: Run


WORKFLOWS: dict[str, Workflow] = {
    "create_full_campaign": Workflow(full_campaign.prepare, full_campaign.run),
    "create_campaign": Workflow(campaign_only.prepare, campaign_only.run),
    "update_campaign": Workflow(updates.prepare, updates.run),
    "update_creative": Workflow(creative_update.prepare, creative_update.run),
    "bulk": Workflow(bulk.prepare, bulk.run),
    "get_insights": Workflow(insights.prepare_insights, insights.run_insights),
    "performance_report": Workflow(insights.prepare_report, insights.run_report),
    "optimize_campaign": Workflow(optimize.prepare, optimize.run),
}
