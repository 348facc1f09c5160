"""Ad sets: ``act_{id}/adsets``, ``{campaign_id}/adsets`` and ``/{adset_id}`` (reference §3.2)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import AwareDatetime, Field

from meta_agent.graph.models import AdSet, TargetingSpec
from meta_agent.graph.pagination import Paginator
from meta_agent.graph.services._base import PausableService, WriteSpec


class AdSetCreate(WriteSpec):
    """A new ad set. Budgets and bids are integers in the account currency's minor unit.

    The budget lives here only when the campaign has none; ``lifetime_budget`` needs
    ``end_time``; v23+ requires ``targeting.targeting_automation.advantage_audience``.
    """

    name: str = Field(min_length=1, max_length=400)
    campaign_id: str
    billing_event: str
    targeting: TargetingSpec
    status: str = "PAUSED"
    optimization_goal: str | None = None
    bid_strategy: str | None = None
    bid_amount: int | None = Field(default=None, ge=0)
    bid_constraints: dict[str, Any] | None = None
    daily_budget: int | None = Field(default=None, ge=0)
    lifetime_budget: int | None = Field(default=None, ge=0)
    start_time: AwareDatetime | None = None
    end_time: AwareDatetime | None = None
    promoted_object: dict[str, Any] | None = None
    destination_type: str | None = None
    attribution_spec: list[dict[str, Any]] | None = None
    frequency_control_specs: list[dict[str, Any]] | None = None
    dsa_beneficiary: str | None = None
    dsa_payor: str | None = None
    is_dynamic_creative: bool | None = None


class AdSetUpdate(WriteSpec):
    """Changes to an ad set; unset fields are left as they are."""

    name: str | None = Field(default=None, min_length=1, max_length=400)
    status: str | None = None
    daily_budget: int | None = Field(default=None, ge=0)
    lifetime_budget: int | None = Field(default=None, ge=0)
    bid_amount: int | None = Field(default=None, ge=0)
    bid_strategy: str | None = None
    start_time: AwareDatetime | None = None
    end_time: AwareDatetime | None = None
    targeting: TargetingSpec | None = None


class AdSetService(PausableService[AdSet, AdSetCreate, AdSetUpdate]):
    """Create, read, list, change, pause and delete ad sets."""

    _edge = "adsets"
    _model = AdSet

    def list_for_campaign(
        self,
        campaign_id: str,
        *,
        fields: Sequence[str] | None = None,
        page_size: int | None = None,
        summary: bool = False,
    ) -> Paginator[AdSet]:
        """The ad sets of one campaign, lazily."""
        path = f"{campaign_id}/adsets"
        return self._list(path, AdSet, fields=fields, page_size=page_size, summary=summary)
