"""Everything a workflow may use: the client, the agents, the journal, the cache, the policy."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from meta_agent.agents.assets import AssetAgent
from meta_agent.agents.campaigns import CampaignAgent
from meta_agent.agents.creatives import AdCreationAgent
from meta_agent.agents.insights import InsightsAgent
from meta_agent.agents.targeting import TargetingHelper
from meta_agent.cache import Cache, MemoryCache
from meta_agent.egress import EgressPolicy
from meta_agent.gate import PolicyBook, WriteGate
from meta_agent.graph.client import GraphClient
from meta_agent.orchestrator.compensation import GraphCompensator
from meta_agent.orchestrator.engine import WorkflowEngine
from meta_agent.orchestrator.events import EventBus
from meta_agent.orchestrator.requests import OrchestratorResponse
from meta_agent.orchestrator.settle import NamingKeys
from meta_agent.store.journal import JournalStore

# The currency (and so the budget floors) of an account practically never changes.
ACCOUNT_TTL = 24 * 3600.0

Runner = Callable[[Mapping[str, Any]], Awaitable[OrchestratorResponse]]
"""Runs one request as its own workflow: the Orchestrator's ``execute`` (``bulk`` uses it)."""


@dataclass
class Env:
    """The orchestrator's world, built once per process (see :meth:`build`)."""

    graph: GraphClient
    store: JournalStore
    cache: Cache
    bus: EventBus
    policies: PolicyBook
    compensator: GraphCompensator
    engine: WorkflowEngine
    assets: AssetAgent
    targeting: TargetingHelper
    campaigns: CampaignAgent
    creatives: AdCreationAgent
    insights: InsightsAgent
    gate: WriteGate
    runner: Runner | None = None  # set by the Orchestrator that owns this Env
    naming_keys: NamingKeys = "strip"  # naming.keys: idempotency tags removed once completed

    @classmethod
    def build(
        cls,
        graph: GraphClient,
        store: JournalStore,
        *,
        cache: Cache | None = None,
        bus: EventBus | None = None,
        policies: PolicyBook | None = None,
        local_files: bool = True,
        egress: EgressPolicy | None = None,
        naming_keys: NamingKeys = "strip",
    ) -> Env:
        """Wire the agents and the engine around one client, journal and cache.

        The write gate is installed on ``graph`` here: from then on every write it sends is
        admitted or refused by the gate.
        """
        cache = cache if cache is not None else MemoryCache()
        bus = bus or EventBus()
        policies = policies or PolicyBook()
        gate = WriteGate(graph, store, cache, policies).install()
        compensator = GraphCompensator(graph)
        targeting = TargetingHelper(graph, cache)
        env = cls(
            graph=graph,
            store=store,
            cache=cache,
            bus=bus,
            policies=policies,
            compensator=compensator,
            engine=WorkflowEngine(store, bus, compensator),
            assets=AssetAgent(graph, cache, local_files=local_files, egress=egress),
            targeting=targeting,
            campaigns=CampaignAgent(graph, cache, targeting),
            creatives=AdCreationAgent(graph, cache),
            insights=InsightsAgent(graph, cache),
            gate=gate,
            naming_keys=naming_keys,
        )
        gate.currency_of = env.currency
        return env

    async def currency(self, account_id: str) -> str:
        """The ad account's currency (cached with the account).

        Raises:
            ApiError: Meta refused (no such account, no permission).
        """
        return (await self.account(account_id)).currency

    async def account(self, account_id: str) -> AccountInfo:
        """The ad account's currency, time zone and status, cached for a day.

        Raises:
            ApiError: Meta refused (no such account, no permission).
        """
        key = f"account:{account_id}"
        cached = await self.cache.get(key)
        if cached is not None:
            return AccountInfo(**cached)
        account = await self.graph.accounts.get(
            account_id, fields=["currency", "timezone_name", "account_status"]
        )
        info = AccountInfo(
            account_id=account_id,
            currency=account.currency or "USD",
            timezone_name=account.timezone_name,
            account_status=account.account_status,
        )
        await self.cache.set(key, asdict(info), ACCOUNT_TTL)
        return info


@dataclass(frozen=True)
class AccountInfo:
    """What workflows need to know of an ad account."""

    account_id: str
    currency: str
    timezone_name: str | None = None
    account_status: int | None = None
