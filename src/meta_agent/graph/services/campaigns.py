"""Campaigns: ``act_{id}/campaigns`` and ``/{campaign_id}`` (reference §3.1)."""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, Field

from meta_agent.graph.models import Campaign
from meta_agent.graph.services._base import PausableService, WriteSpec


class CampaignCreate(WriteSpec):
    """A new campaign. Budgets are integers in the account currency's minor unit.

    Without a campaign budget Meta (v24+) requires ``is_adset_budget_sharing_enabled``.
    ``status`` defaults to PAUSED so that nothing starts spending by accident.
    """

    name: str = Field(min_length=1, max_length=400)
    objective: str
    status: str = "PAUSED"
    special_ad_categories: list[str] = Field(default_factory=list)
    special_ad_category_country: list[str] | None = None
    buying_type: str | None = None
    daily_budget: int | None = Field(default=None, ge=0)
    lifetime_budget: int | None = Field(default=None, ge=0)
    bid_strategy: str | None = None
    is_adset_budget_sharing_enabled: bool | None = None
    spend_cap: int | None = Field(default=None, ge=0)
    start_time: AwareDatetime | None = None
    stop_time: AwareDatetime | None = None
    promoted_object: dict[str, Any] | None = None
    adlabels: list[dict[str, Any]] | None = None


class CampaignUpdate(WriteSpec):
    """Changes to a campaign; unset fields are left as they are."""

    name: str | None = Field(default=None, min_length=1, max_length=400)
    status: str | None = None
    daily_budget: int | None = Field(default=None, ge=0)
    lifetime_budget: int | None = Field(default=None, ge=0)
    bid_strategy: str | None = None
    spend_cap: int | None = Field(default=None, ge=0)
    start_time: AwareDatetime | None = None
    stop_time: AwareDatetime | None = None


class CampaignService(PausableService[Campaign, CampaignCreate, CampaignUpdate]):
    """Create, read, list, change, pause and delete campaigns."""

    _edge = "campaigns"
    _model = Campaign
