"""How ``workflows undo`` shows its plan: each object, what happens to it, what changed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.table import Table
from rich.text import Text

_ACTION_STYLE = {"delete": "red", "restore": "yellow", "none": "dim"}


def undo_table(plan: Mapping[str, Any]) -> Table:
    """The objects ``workflows undo`` would delete or restore, newest first."""
    table = Table(
        title=f"Undo {plan['workflow_id']}: {plan['delete']} to delete, "
        f"{plan['restore']} to restore, {plan['already_gone']} already gone",
        title_justify="left",
    )
    table.add_column("Kind", no_wrap=True)
    table.add_column("ID", no_wrap=True)
    table.add_column("Name")
    table.add_column("Action", no_wrap=True)
    table.add_column("Changed since")
    for item in plan["objects"]:
        action = str(item["action"])
        table.add_row(
            str(item["kind"]),
            str(item["id"]),
            str(item.get("name") or "-"),
            Text(action if action != "none" else "gone", style=_ACTION_STYLE.get(action, "")),
            _changes(item),
        )
    return table


def _changes(item: Mapping[str, Any]) -> Text:
    if item.get("unverified"):
        return Text("cannot tell (nothing journaled to compare)", style="yellow")
    changed = item.get("changed_since") or {}
    if not changed:
        return Text("-")
    parts = [f"{name}: {diff.get('was')} → {diff.get('now')}" for name, diff in changed.items()]
    return Text("; ".join(parts), style="yellow")
