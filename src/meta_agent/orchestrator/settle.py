"""The last step of a workflow that created or changed ad objects: names and a snapshot.

Names. An idempotency key rides in an object's name only while the outcome of its create can
be unknown (a lost answer is resolved by finding the key). Once every step has completed that
can no longer happen, so with ``naming.keys: strip`` (the default) each created object gets the
name the request gave back. The trade-off: after that, only the journal ties an object to its
workflow. A repeated ``request_id`` still answers from the journal, but an object whose
workflow was lost with its journal can no longer be found by key. ``naming.keys: keep`` leaves
the tag for good.

Snapshot. The same batch reads back each object's ``updated_time`` and the fields a person
changes (name, status, budgets, bid, schedule), after the rename. ``workflows undo`` compares
them with what Meta holds then, to say what changed since the workflow finished before it
deletes or restores anything.

A failure here does not fail the workflow (its objects exist and are correct): the step
records what it could not do, and the objects keep their tags.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import structlog

from meta_agent.agents.keys import key_of, untagged
from meta_agent.graph.client import GraphClient
from meta_agent.store.journal import ResourceRecord

log = structlog.get_logger("meta_agent.settle")

NamingKeys = Literal["strip", "keep"]

# The fields `workflows undo` compares, per Graph family (creatives have no updated_time).
WATCHED: Mapping[str, tuple[str, ...]] = {
    "campaign": (
        "name",
        "status",
        "daily_budget",
        "lifetime_budget",
        "spend_cap",
        "bid_strategy",
        "updated_time",
    ),
    "adset": (
        "name",
        "status",
        "daily_budget",
        "lifetime_budget",
        "bid_amount",
        "start_time",
        "end_time",
        "updated_time",
    ),
    "ad": ("name", "status", "updated_time"),
    "adcreative": ("name", "status"),
}


def watched(resources: Sequence[ResourceRecord]) -> list[ResourceRecord]:
    """The live ad objects of a workflow, in journal order."""
    return [r for r in resources if r.kind in WATCHED and not r.undone and r.undo != "keep"]


def strip_name(resource: ResourceRecord) -> str | None:
    """The name to give ``resource`` back, or None when it carries no key (or is unknown)."""
    name = resource.details.get("name")
    if resource.undo != "delete" or not isinstance(name, str) or key_of(name) is None:
        return None
    return untagged(name)


async def settle(
    graph: GraphClient, resources: Sequence[ResourceRecord], keys: NamingKeys
) -> dict[str, Any]:
    """Rename (``strip``) and snapshot ``resources`` in one batch; the step's output."""
    live = watched(resources)
    batch = graph.batch()
    renamed: dict[str, str] = {}
    for index, resource in enumerate(live):
        new_name = strip_name(resource) if keys == "strip" else None
        depends: tuple[str, ...] = ()
        if new_name is not None:
            batch.post(resource.object_id, {"name": new_name}, name=f"name{index}")
            renamed[resource.object_id] = new_name
            depends = (f"name{index}",)
        fields = ",".join(WATCHED[resource.kind])
        batch.get(resource.object_id, {"fields": fields}, name=f"read{index}", depends_on=depends)
    results = await batch.execute()
    snapshot: dict[str, dict[str, Any]] = {}
    kept: dict[str, str] = {}
    for index, resource in enumerate(live):
        if resource.object_id in renamed:
            error = results[f"name{index}"].error
            if error is not None:
                kept[resource.object_id] = error.message
                del renamed[resource.object_id]
        read = results[f"read{index}"]
        if read.ok and isinstance(read.body, Mapping):
            snapshot[resource.object_id] = _watched_values(read.body, resource.kind)
    if kept:
        log.warning("workflow.names_kept", objects=len(kept))
    return {"renamed": renamed, "names_kept": kept, "snapshot": snapshot}


def _watched_values(body: Mapping[str, Any], kind: str) -> dict[str, Any]:
    return {name: body[name] for name in WATCHED[kind] if name in body}
