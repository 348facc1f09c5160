"""Fixtures for the agents: each over the real GraphClient and the in-process sandbox."""

from __future__ import annotations

import pytest

from meta_agent.agents.assets import AssetAgent
from meta_agent.agents.campaigns import CampaignAgent
from meta_agent.agents.creatives import AdCreationAgent
from meta_agent.agents.targeting import TargetingHelper
from meta_agent.cache.memory import MemoryCache
from meta_agent.graph.client import GraphClient
from meta_agent.sandbox import ManualClock


@pytest.fixture
def asset_cache(clock: ManualClock) -> MemoryCache:
    """The AssetAgent's cache, on the sandbox's manual clock."""
    return MemoryCache(now=clock.now)


@pytest.fixture
def asset_agent(graph_client: GraphClient, asset_cache: MemoryCache) -> AssetAgent:
    """An AssetAgent over the real client stack, with an in-memory cache."""
    return AssetAgent(graph_client, asset_cache)


@pytest.fixture
def campaign_cache(clock: ManualClock) -> MemoryCache:
    """The CampaignAgent's and TargetingHelper's cache, on the sandbox's manual clock."""
    return MemoryCache(now=clock.now)


@pytest.fixture
def targeting_helper(graph_client: GraphClient, campaign_cache: MemoryCache) -> TargetingHelper:
    """A TargetingHelper over the real client stack."""
    return TargetingHelper(graph_client, campaign_cache)


@pytest.fixture
def campaign_agent(
    graph_client: GraphClient, campaign_cache: MemoryCache, targeting_helper: TargetingHelper
) -> CampaignAgent:
    """A CampaignAgent over the real client stack, sharing the helper's cache."""
    return CampaignAgent(graph_client, campaign_cache, targeting_helper)


@pytest.fixture
def creative_agent(graph_client: GraphClient, clock: ManualClock) -> AdCreationAgent:
    """An AdCreationAgent over the real client stack, its ad reads cached on the manual clock."""
    return AdCreationAgent(graph_client, MemoryCache(now=clock.now))
