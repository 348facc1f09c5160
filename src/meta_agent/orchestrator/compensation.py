"""How the engine reconciles and undoes, over the Graph client.

Finding: one listing per ad-object edge, filtered on the workflow's key prefix, run
concurrently (one round trip). Undoing: every compensation in one batch (deletes and
restores are independent of one another: deleting a campaign first only makes its ads'
deletes "already gone", which counts as done).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from meta_agent.agents.keys import list_tagged
from meta_agent.errors import NotFoundError
from meta_agent.graph.batch import BatchBuilder
from meta_agent.graph.client import GraphClient
from meta_agent.orchestrator.engine import Found, UndoResult
from meta_agent.store.journal import ResourceRecord

EDGES = {"campaign": "campaigns", "adset": "adsets", "adcreative": "adcreatives", "ad": "ads"}


class GraphCompensator:
    """The engine's :class:`~meta_agent.orchestrator.engine.Compensator` over Meta."""

    def __init__(self, graph: GraphClient) -> None:
        self.graph = graph

    async def find(self, account_id: str, prefix: str) -> list[Found]:
        """Live objects of ``account_id`` whose key starts with ``prefix``, on every edge."""
        listings = await asyncio.gather(
            *(list_tagged(self.graph, account_id, edge, prefix) for edge in EDGES.values())
        )
        return [
            Found(kind, item.key, item.id)
            for kind, listing in zip(EDGES, listings, strict=True)
            for item in listing
            if item.key is not None
        ]

    async def undo(self, resources: Sequence[ResourceRecord]) -> list[UndoResult]:
        """Delete or restore each resource in one batch; "already gone" counts as done."""
        batch = BatchBuilder(self.graph.requestor)
        for resource in resources:
            if resource.undo == "restore":
                batch.post(resource.object_id, dict(resource.details.get("before", {})))
            else:
                batch.delete(resource.object_id)
        results = await batch.execute()
        outcomes = []
        for index, resource in enumerate(resources):
            error = results[index].error
            gone = isinstance(error, NotFoundError) and resource.undo != "restore"
            outcomes.append(UndoResult(resource, None if gone else error))
        return outcomes
