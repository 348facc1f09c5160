"""How the engine reconciles and undoes, over the Graph client.

Finding: one listing per ad-object edge, filtered on the workflow's key prefix, run
concurrently (one round trip). Undoing: every compensation in one batch (deletes and
restores are independent of one another: deleting a campaign first only makes its ads'
deletes "already gone", which counts as done).

Compensation finishes: deletes and restores are idempotent, so one whose outcome is unknown
(the batch's answer was lost, a 5xx, a timeout) or that failed for a passing reason is first
checked by reading the object back (gone, or holding its earlier values, is done), and only
what did not happen is sent again, in rounds with backoff, until done or the budget of
rounds runs out. Only what Meta keeps refusing, or what stays unverified, is left over.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

import structlog

from meta_agent.agents.keys import list_tagged
from meta_agent.errors import (
    ApiError,
    DependencyFailedError,
    MetaAgentError,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitedError,
    TransientError,
    TransportError,
)
from meta_agent.graph.batch import BatchBuilder
from meta_agent.graph.client import GraphClient
from meta_agent.orchestrator.engine import Found, UndoResult
from meta_agent.store.journal import ResourceRecord

log = structlog.get_logger("meta_agent.compensation")

ROUNDS = 5
BACKOFF = 0.5
# Failures that say nothing final: check the object, then send again if it is not done.
_PASSING = (OutcomeUnknownError, TransientError, TransportError, RateLimitedError)

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
            Found(kind, item.key, item.id, item.parent_id)
            for kind, listing in zip(EDGES, listings, strict=True)
            for item in listing
            if item.key is not None
        ]

    async def undo(self, resources: Sequence[ResourceRecord]) -> list[UndoResult]:
        """Delete or restore each resource; "already gone" (or "already restored") is done.

        Unknown and passing failures are verified by a read and re-sent, up to ``ROUNDS``
        rounds; what is left carries its last error.
        """
        errors: dict[int, MetaAgentError | None] = {}
        pending = list(enumerate(resources))
        for round_ in range(ROUNDS):
            if round_:
                await self.graph.requestor.sleep(BACKOFF * 2 ** (round_ - 1))
            answered = await self._send([resource for _, resource in pending])
            again = []
            for (index, resource), error in zip(pending, answered, strict=True):
                errors[index] = error
                if error is not None and _passing(error):
                    if await self._done(resource):
                        errors[index] = None
                    else:
                        again.append((index, resource))
            if not again:
                break
            log.info("compensation.resending", count=len(again), round=round_ + 1)
            pending = again
        return [UndoResult(resource, errors.get(i)) for i, resource in enumerate(resources)]

    async def _send(self, resources: Sequence[ResourceRecord]) -> list[MetaAgentError | None]:
        """One batch of compensations; None for each that is done (or already gone)."""
        batch = BatchBuilder(self.graph.requestor)
        for resource in resources:
            if resource.undo == "restore":
                batch.post(resource.object_id, dict(resource.details.get("before", {})))
            else:
                batch.delete(resource.object_id)
        results = await batch.execute()
        out: list[MetaAgentError | None] = []
        for index, resource in enumerate(resources):
            error = results[index].error
            gone = isinstance(error, NotFoundError) and resource.undo != "restore"
            out.append(None if gone else error)
        return out

    async def _done(self, resource: ResourceRecord) -> bool:
        """Whether the compensation happened after all: the object gone, or restored."""
        before: Mapping[str, Any] = resource.details.get("before", {})
        restoring = resource.undo == "restore"
        fields = ",".join(before) if restoring and before else "id,status"
        try:
            body = await self.graph.get(resource.object_id, {"fields": fields})
        except NotFoundError:
            return not restoring
        except ApiError:
            return False  # could not tell: send it again
        if not isinstance(body, Mapping):
            return False
        if restoring:
            return all(_same(body.get(name), value) for name, value in before.items())
        return str(body.get("status", "")).upper() == "DELETED"


def _passing(error: MetaAgentError) -> bool:
    if isinstance(error, DependencyFailedError):
        return True  # not run because another item failed: run it again
    return isinstance(error, _PASSING)


def _same(now: Any, before: Any) -> bool:
    return str(now) == str(before) or (now in (None, "") and before in (None, ""))
