"""A dry run's plan as a person reads it, in two columns that fit an 80-column terminal.

The plan itself is the workflow's (``orchestrator.plan_details`` for launches, the before and
after of ``update_campaign``); this module only lays it out. Money is shown in major units
with its currency, Meta's minor units beside it (``USD 20.00 (2000)``), as the gate says it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from meta_agent.gate.policy import money

MONEY_FIELDS = frozenset({"daily_budget", "lifetime_budget", "spend_cap", "bid_amount"})
# Keys of a plan entry that the layout shows in its own place (not as a "key: value" line).
_HEADER_KEYS = frozenset({"label", "kind", "name", "needs"})
_KINDS = {"adcreative": "creative", "adset": "ad set"}


def is_plan(result: Mapping[str, Any]) -> bool:
    """Whether ``result`` is a dry run's plan this module lays out (a bulk's: its items')."""
    if isinstance(result.get("results"), list):
        return any(is_plan(item.get("result") or {}) for item in result["results"])
    return isinstance(result.get("objects"), list) or _is_update_plan(result)


def plan_views(result: Mapping[str, Any]) -> list[RenderableType]:
    """The plan: a launch's objects, or an update's before and after, then the verdict;
    for a bulk, each item's under a line naming it."""
    if isinstance(result.get("results"), list):
        return _bulk_views(result["results"])
    if _is_update_plan(result):
        views: list[RenderableType] = [updates_table(_changes(result))]
        views += [Text(f"note: {note}", style="yellow") for note in result.get("notes") or []]
        return views
    views = [objects_table(result["objects"], result.get("currency"))]
    policy = result.get("policy") or {}
    if policy:
        views.append(policy_text(policy))
    return views


def _bulk_views(items: Sequence[Mapping[str, Any]]) -> list[RenderableType]:
    views: list[RenderableType] = []
    for item in items:
        head = f"item {item.get('index')}: {item.get('status')}  request {item.get('request_id')}"
        views.append(Text(head, style="bold"))
        inner = item.get("result") or {}
        if is_plan(inner):
            views += plan_views(inner)
        elif item.get("error"):
            views.append(Text(f"error: {item['error'].get('message')}", style="red"))
    return views


def objects_table(objects: Sequence[Mapping[str, Any]], currency: str | None = None) -> Table:
    """One row per object that would be created: what it is, and every detail to check."""
    account = f" ({currency})" if currency else ""
    table = Table(
        title=f"The plan{account}: nothing was created or changed",
        title_justify="left",
        show_lines=True,
    )
    table.add_column("Object", ratio=1, overflow="fold")
    table.add_column("What would be sent", ratio=3, overflow="fold")
    for entry in objects:
        kind = _KINDS.get(str(entry.get("kind")), str(entry.get("kind")))
        head = Text.assemble((f"{kind}\n", "bold"), str(entry.get("name") or "-"))
        table.add_row(head, Text("\n".join(detail_lines(entry))))
    return table


def detail_lines(entry: Mapping[str, Any], indent: str = "") -> list[str]:
    """``key: value`` lines of a plan entry, nested mappings and lists indented under it."""
    lines: list[str] = []
    for key, value in entry.items():
        if key in _HEADER_KEYS and not indent:
            continue
        label = key.replace("_", " ")
        if isinstance(value, Mapping):
            lines.append(f"{indent}{label}:")
            lines += detail_lines(value, indent + "  ")
        elif isinstance(value, list) and value and isinstance(value[0], Mapping):
            for index, item in enumerate(value, 1):
                lines.append(f"{indent}{label.removesuffix('s')} {index}:")
                lines += detail_lines(item, indent + "  ")
        elif isinstance(value, list):
            lines.append(f"{indent}{label}: {', '.join(str(v) for v in value)}")
        else:
            lines.append(f"{indent}{label}: {_plain(value)}")
    return lines


def policy_text(policy: Mapping[str, Any]) -> Text:
    """The policy's verdict and the caps it checked."""
    caps = [
        f"{name.replace('_', ' ')} {policy[name]}"
        for name in ("max_daily_budget", "max_account_daily_total")
        if policy.get(name)
    ]
    verdict = str(policy.get("verdict") or f"activation: {policy.get('activation')}")
    return Text.assemble(
        ("Policy: ", "bold"), (verdict, "green"), f" ({'; '.join(caps) or 'no caps'})"
    )


def updates_table(updates: Sequence[Mapping[str, Any]]) -> Table:
    """An update's plan: each object's field, its value now and the value it would get."""
    table = Table(title="The plan: nothing was changed", title_justify="left")
    table.add_column("Object", overflow="fold", ratio=2)
    table.add_column("Field", overflow="fold", ratio=2)
    table.add_column("Now", overflow="fold", ratio=3)
    table.add_column("Would be", overflow="fold", ratio=3)
    for update in updates:
        currency = update.get("currency")
        before, after = update.get("before") or {}, update.get("after") or {}
        why = f"\n{update['rationale']}" if update.get("rationale") else ""
        for field in after:
            table.add_row(
                f"{update.get('level')} {update.get('object_id')}{why}",
                field,
                shown(field, before.get(field), currency),
                shown(field, after.get(field), currency),
            )
    return table


def shown(field: str, value: Any, currency: str | None) -> str:
    """A value as a person reads it: money fields in major units with their currency."""
    if field in MONEY_FIELDS and currency and _is_amount(value):
        return money(int(value), currency)
    return _plain(value)


def _is_amount(value: Any) -> bool:
    return isinstance(value, int) or (isinstance(value, str) and value.isdigit())


def _changes(result: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """An update's ``updates``, or an optimization's ``changes`` (same shape)."""
    changes = result.get("updates", result.get("changes"))
    return list(changes) if isinstance(changes, list) else []


def _is_update_plan(result: Mapping[str, Any]) -> bool:
    changes = result.get("updates", result.get("changes"))
    return isinstance(changes, list) and all(isinstance(c, Mapping) for c in changes)


def _plain(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)
