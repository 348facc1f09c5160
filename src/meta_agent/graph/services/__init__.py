"""One thin service per Graph object family: verb, path, typed params, one requestor call.

Retries, pacing, logging and error mapping live below them, in the requestor; services
never catch an error.
"""

from meta_agent.graph.services._base import Created
from meta_agent.graph.services.accounts import AccountService
from meta_agent.graph.services.ads import AdCreate, AdService, AdUpdate, CreativeRef
from meta_agent.graph.services.adsets import AdSetCreate, AdSetService, AdSetUpdate
from meta_agent.graph.services.campaigns import CampaignCreate, CampaignService, CampaignUpdate
from meta_agent.graph.services.creatives import (
    AdCreativeCreate,
    AdCreativeService,
    AdCreativeUpdate,
)
from meta_agent.graph.services.images import ImageService
from meta_agent.graph.services.insights import (
    InsightsFilter,
    InsightsQuery,
    InsightsService,
    TimeRange,
)
from meta_agent.graph.services.targeting import TargetingService

__all__ = [
    "AccountService",
    "AdCreate",
    "AdCreativeCreate",
    "AdCreativeService",
    "AdCreativeUpdate",
    "AdService",
    "AdSetCreate",
    "AdSetService",
    "AdSetUpdate",
    "AdUpdate",
    "CampaignCreate",
    "CampaignService",
    "CampaignUpdate",
    "Created",
    "CreativeRef",
    "ImageService",
    "InsightsFilter",
    "InsightsQuery",
    "InsightsService",
    "TargetingService",
    "TimeRange",
]
