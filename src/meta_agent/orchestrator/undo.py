"""Undoing a completed workflow: what it would do, what changed since, then doing it.

A completed workflow's journal lists every object it created (undo: delete) and every object
it changed (undo: restore the ``before`` values). ``survey`` reads them all back in one batch
and compares each with what the workflow left it holding (``settle.expectations``: what it
was sent, then what later steps set): an object edited since (in Ads Manager, by another
workflow) is reported field by field, and undo proceeds over it only when asked to
(``force``). An object already gone is skipped. An object the journal holds no expectations
for (journaled before they were kept) cannot be compared: it is reported as ``unverified``,
and needs ``force`` likewise.

The undo itself is the engine's journaled compensation (one batch, deletes read back when
their outcome is unknown, re-sent in rounds), written as the step ``undo``; the workflow ends
ROLLED_BACK, or ROLLBACK_FAILED naming what is left.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from meta_agent.errors import NotFoundError
from meta_agent.graph.client import GraphClient
from meta_agent.orchestrator.settle import watched
from meta_agent.store.journal import ResourceRecord


@dataclass(frozen=True)
class UndoItem:
    """One object ``workflows undo`` would delete or restore."""

    resource: ResourceRecord
    name: str | None = None
    gone: bool = False
    unverified: bool = False
    changed: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def action(self) -> str:
        """``delete``, ``restore``, or ``none`` (already gone)."""
        if self.gone:
            return "none"
        return "restore" if self.resource.undo == "restore" else "delete"

    @property
    def needs_force(self) -> bool:
        """Whether undoing it would overwrite something the workflow did not do."""
        return not self.gone and (self.unverified or bool(self.changed))

    def to_dict(self) -> dict[str, Any]:
        """How a plan shows it."""
        out: dict[str, Any] = {
            "kind": self.resource.kind,
            "id": self.resource.object_id,
            "name": self.name,
            "action": self.action,
        }
        if self.resource.undo == "restore":
            out["restore"] = dict(self.resource.details.get("before", {}))
        if self.changed:
            out["changed_since"] = self.changed
        if self.unverified:
            out["unverified"] = True
        return out


async def survey(
    graph: GraphClient,
    resources: Sequence[ResourceRecord],
    expected: Mapping[str, Mapping[str, Any]],
) -> list[UndoItem]:
    """What undoing ``resources`` would do, newest first, each compared with ``expected``."""
    live = list(reversed(watched(resources)))
    batch = graph.batch()
    for index, resource in enumerate(live):
        fields = {"name", "status", *expected.get(resource.object_id, {})}
        fields |= set(resource.details.get("before", {}))
        batch.get(resource.object_id, {"fields": ",".join(sorted(fields))}, name=f"r{index}")
    if not live:
        return []
    results = await batch.execute()
    items = []
    for index, resource in enumerate(live):
        result = results[f"r{index}"]
        if isinstance(result.error, NotFoundError):
            items.append(UndoItem(resource, gone=True))
            continue
        now = result.unwrap()
        if not isinstance(now, Mapping) or str(now.get("status", "")).upper() == "DELETED":
            items.append(UndoItem(resource, gone=True))
            continue
        then = expected.get(resource.object_id) or {}
        name = now.get("name")
        items.append(
            UndoItem(
                resource,
                name=str(name) if name is not None else None,
                unverified=not then,
                changed=_differences(then, now),
            )
        )
    return items


def plan(workflow_id: str, items: Sequence[UndoItem]) -> dict[str, Any]:
    """The dry run's answer: every object and what would happen to it."""
    return {
        "workflow_id": workflow_id,
        "dry_run": True,
        "status": "COMPLETED",
        "error": None,
        "objects": [item.to_dict() for item in items],
        "delete": sum(item.action == "delete" for item in items),
        "restore": sum(item.action == "restore" for item in items),
        "already_gone": sum(item.gone for item in items),
        "changed_since": [item.resource.object_id for item in items if item.needs_force],
    }


def _differences(then: Mapping[str, Any], now: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Expected fields whose value differs, as ``{field: {"was": ..., "now": ...}}`` (a field
    Meta omits reads as None)."""
    changed = {}
    for name, was in then.items():
        is_now = now.get(name)
        if str(was) != str(is_now):
            changed[name] = {"was": was, "now": is_now}
    return changed
