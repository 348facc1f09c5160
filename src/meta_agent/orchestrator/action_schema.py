"""The JSON Schema of each action's ``data``: one source for MCP's tools and ``meta-agent schema``.

Each action's workflow validates ``data`` with its own pydantic model; the schema a person
reads (``meta-agent schema ACTION``) and the one a model is given (the MCP tool's ``data``
argument) are both :func:`data_schema` of that model, so they cannot drift apart.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from meta_agent.agents.insights import InsightsParams
from meta_agent.errors import RequestValidationError
from meta_agent.orchestrator.requests import ACTIONS
from meta_agent.orchestrator.workflows.bulk import BulkData
from meta_agent.orchestrator.workflows.campaign_only import CampaignOnlyData
from meta_agent.orchestrator.workflows.creative_update import CreativeUpdateData
from meta_agent.orchestrator.workflows.full_campaign import FullCampaignData
from meta_agent.orchestrator.workflows.insights import ReportData
from meta_agent.orchestrator.workflows.optimize import OptimizeData
from meta_agent.orchestrator.workflows.updates import UpdateData

DATA_MODELS: dict[str, type[BaseModel]] = {
    "create_full_campaign": FullCampaignData,
    "create_campaign": CampaignOnlyData,
    "update_campaign": UpdateData,
    "update_creative": CreativeUpdateData,
    "get_insights": InsightsParams,
    "performance_report": ReportData,
    "optimize_campaign": OptimizeData,
    "bulk": BulkData,
}


def data_schema(action: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12, definitions under ``$defs``) of ``action``'s ``data``.

    Raises:
        RequestValidationError: ``action`` is not an action (the message lists them).
    """
    model = DATA_MODELS.get(action)
    if model is None:
        raise RequestValidationError(
            f"ACTION: {action!r} is not an action; use one of {', '.join(ACTIONS)}",
            field="ACTION",
        )
    return model.model_json_schema()
