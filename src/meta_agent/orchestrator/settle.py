"""What a workflow that made or changed ad objects leaves behind: names, and expectations.

Names. An idempotency key rides in an object's name only while the outcome of its create can
be unknown (a lost answer is resolved by finding the key). Once every step has completed that
can no longer happen, so with ``naming.keys: strip`` (the default) each created object gets the
name the request gave back. The trade-off: after that, only the journal ties an object to its
workflow. A repeated ``request_id`` still answers from the journal, but an object whose
workflow was lost with its journal can no longer be found by key. ``naming.keys: keep`` leaves
the tag for good, and saves the batch.

Where a workflow activates what it made, the activation batch carries the renames (each in the
object's own activation): no round trip more. Otherwise the step ``settle`` sends them, one
batch of renames. A failed rename does not fail the workflow (its objects exist and are
correct): the step records it, and that object keeps its tag.

Expectations. ``workflows undo`` must tell what changed since a workflow finished without a
read-back here (which would cost every launch a round trip): the journal keeps what each
object was sent (``sent_fields``, in its resource), and each step that changed it later says
so under ``expected`` (a rename, an activation). Undo reads the objects then and compares.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import structlog

from meta_agent.agents.keys import key_of, untagged
from meta_agent.errors import MetaAgentError
from meta_agent.graph.client import GraphClient
from meta_agent.store.journal import ResourceRecord, StepRecord, StepStatus

log = structlog.get_logger("meta_agent.settle")

NamingKeys = Literal["strip", "keep"]

# What a person changes in Ads Manager, and `workflows undo` compares (schedules are left out:
# Meta rewrites their format). Creatives have neither status changes nor budgets.
WATCHED: Mapping[str, tuple[str, ...]] = {
    "campaign": ("name", "status", "daily_budget", "lifetime_budget", "spend_cap"),
    "adset": ("name", "status", "daily_budget", "lifetime_budget", "bid_amount"),
    "ad": ("name", "status"),
    "adcreative": ("name",),
}
_SENT = frozenset(name for fields in WATCHED.values() for name in fields)


def sent_fields(params: Mapping[str, Any]) -> dict[str, Any]:
    """Of the parameters a create sends, those ``workflows undo`` compares later."""
    return {name: params[name] for name in _SENT if params.get(name) not in (None, "")}


def watched(resources: Sequence[ResourceRecord]) -> list[ResourceRecord]:
    """The live ad objects of a workflow, in journal order."""
    return [r for r in resources if r.kind in WATCHED and not r.undone and r.undo != "keep"]


def strip_name(resource: ResourceRecord) -> str | None:
    """The name to give ``resource`` back, or None when it carries no key (or is unknown)."""
    name = resource.details.get("sent", {}).get("name")
    if resource.undo != "delete" or not isinstance(name, str) or key_of(name) is None:
        return None
    return untagged(name)


def renames(resources: Sequence[ResourceRecord], keys: NamingKeys) -> dict[str, str]:
    """Object id → the name to give back (nothing with ``keep``)."""
    if keys == "keep":
        return {}
    return {r.object_id: name for r in watched(resources) if (name := strip_name(r)) is not None}


async def settle(
    graph: GraphClient,
    resources: Sequence[ResourceRecord],
    keys: NamingKeys,
    writes: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    concurrency: int = 4,
) -> dict[str, Any]:
    """Send ``writes`` (object id → fields, in order) with the renames riding in them, and the
    other renames beside, in one batch; the step's output, with what each object now holds
    under ``expected``. A write that fails is in ``failed`` (the caller decides); a rename
    that fails only keeps the tag. ``concurrency`` bounds the batches in flight.
    """
    writes = writes or {}
    names = renames(resources, keys)
    order = [*writes, *(oid for oid in names if oid not in writes)]
    sent = {oid: {**writes.get(oid, {}), **_name(names.get(oid))} for oid in order}
    batch = graph.batch(concurrency=concurrency)
    for index, (object_id, fields) in enumerate(sent.items()):
        batch.post(object_id, fields, name=f"w{index}")
    results = await batch.execute() if sent else None
    expected: dict[str, dict[str, Any]] = {}
    kept: dict[str, str] = {}
    failed: dict[str, MetaAgentError] = {}
    for index, (object_id, fields) in enumerate(sent.items()):
        error = results[f"w{index}"].error if results is not None else None
        if error is not None and object_id in writes:
            failed[object_id] = error
        elif error is not None:
            kept[object_id] = error.message
        else:
            expected[object_id] = fields
    if kept:
        log.warning("workflow.names_kept", objects=len(kept))
    return {"settled": True, "expected": expected, "names_kept": kept, "failed": failed}


def settled(steps: Sequence[StepRecord]) -> bool:
    """Whether a completed step already settled the workflow (its activation did)."""
    return any(
        step.status is StepStatus.COMPLETED and (step.output or {}).get("settled") for step in steps
    )


def expectations(
    resources: Sequence[ResourceRecord], steps: Sequence[StepRecord]
) -> dict[str, dict[str, Any]]:
    """What each live object should hold if nobody changed it since the workflow: what it was
    sent (or changed to), then what later completed steps say they set."""
    expected = {
        r.object_id: {
            name: value
            for name, value in (r.details.get("sent") or r.details.get("after") or {}).items()
            if name in WATCHED[r.kind]
        }
        for r in watched(resources)
    }
    for step in steps:
        if step.status is not StepStatus.COMPLETED:
            continue
        for object_id, fields in (step.output or {}).get("expected", {}).items():
            if object_id in expected:
                expected[object_id].update(fields)
    return expected


def _name(name: str | None) -> dict[str, str]:
    return {"name": name} if name is not None else {}
