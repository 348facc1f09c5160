"""Small pieces every object family uses: write replies, status changes, parent checks."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from meta_agent.sandbox.core import Ctx
from meta_agent.sandbox.errors import cannot_edit, invalid_param, object_not_found
from meta_agent.sandbox.fields import parse_fields
from meta_agent.sandbox.filtering import Filter, edge_filters, edge_matches, split_field
from meta_agent.sandbox.nodes import Record, by_status, page, read_node
from meta_agent.sandbox.params import check_enum, validate_only
from meta_agent.sandbox.status import AT_CREATION, CONFIGURED, effective_status

SUCCESS: dict[str, bool] = {"success": True}


def created(ctx: Ctx, record: Record) -> dict[str, Any]:
    """Store a new object and reply ``{"id": ...}``, read back with ``fields`` when asked.

    Under ``execution_options=["validate_only"]`` nothing is stored and the reply is
    ``{"success": true}``, as Meta replies.
    """
    if validate_only(ctx.params):
        return dict(SUCCESS)
    ctx.state.add(record)
    return _read_after_write(ctx, record, {"id": record["id"]})


def updated(ctx: Ctx, record: Record, changes: dict[str, Any]) -> dict[str, Any]:
    """Apply ``changes`` (unless validating only) and reply ``{"success": true}``."""
    if validate_only(ctx.params):
        return dict(SUCCESS)
    record.update(changes)
    record["updated_time"] = ctx.now()
    return _read_after_write(ctx, record, dict(SUCCESS))


def deleted(ctx: Ctx, record: Record) -> dict[str, Any]:
    """Mark an object DELETED (it stays readable by id) and reply ``{"success": true}``."""
    if validate_only(ctx.params):
        return dict(SUCCESS)
    record["status"] = "DELETED"
    record["updated_time"] = ctx.now()
    return dict(SUCCESS)


def _read_after_write(ctx: Ctx, record: Record, reply: dict[str, Any]) -> dict[str, Any]:
    specs = parse_fields(ctx.params.str_("fields"))
    if not specs:
        return reply
    return {**reply, **read_node(ctx, record, specs)}


def status_at_creation(ctx: Ctx) -> str:
    """``status`` on create: ACTIVE or PAUSED only (default PAUSED here, to never spend)."""
    status = ctx.params.str_("status") or "PAUSED"
    check_enum("status", status, AT_CREATION)
    return status


def status_change(ctx: Ctx, record: Record) -> dict[str, Any]:
    """Validate a ``status`` update against the object's lifecycle (reference §3.7).

    Raises:
        GraphError: an unknown status, or an archived or deleted object being revived.
    """
    status = ctx.params.str_("status")
    if status is None:
        return {}
    check_enum("status", status, CONFIGURED)
    current = record.get("status")
    if current == "DELETED":
        raise cannot_edit(record["id"], "DELETED", "no changes")
    if current == "ARCHIVED" and status not in {"ARCHIVED", "DELETED"}:
        raise cannot_edit(record["id"], "ARCHIVED", "a name change or status DELETED")
    return {"status": status}


def guard_editable(ctx: Ctx, record: Record, allowed_when_archived: set[str]) -> None:
    """Refuse edits on deleted objects, and on archived ones beyond ``allowed_when_archived``.

    Raises:
        GraphError: the object no longer accepts these changes.
    """
    status = record.get("status")
    changing = {name for name in ctx.params.names() if name not in _NON_FIELDS}
    if status == "DELETED" and changing - {"name"}:
        raise cannot_edit(record["id"], "DELETED", "a name change")
    if status == "ARCHIVED" and changing - allowed_when_archived - {"name", "status"}:
        raise cannot_edit(record["id"], "ARCHIVED", "a name change or status DELETED")


_NON_FIELDS = {"access_token", "appsecret_proof", "fields", "execution_options", "locale"}


def account_of(ctx: Ctx, act_id: str) -> Record:
    """The ad account record for ``act_<digits>``."""
    return ctx.state.get(act_id, ctx.req.method, kind="adaccount")


def live_parent(ctx: Ctx, param: str, kind: str, account_id: str) -> Record:
    """The parent named by ``param``: it must exist, belong to the account, and not be deleted.

    Raises:
        GraphError: 100/33 when missing or in another account; 100 when deleted or archived.
    """
    parent_id = ctx.params.require_str(param)
    parent = ctx.state.find(parent_id)
    if parent is None or parent["kind"] != kind or parent.get("account_id") != account_id:
        raise object_not_found(parent_id, "POST")
    if parent.get("status") in {"DELETED", "ARCHIVED"}:
        raise invalid_param(
            f"Parent {kind} {parent_id} is {parent['status'].lower()}",
            blame=param,
            title=f"{kind.title()} unavailable",
            user_msg=f"The {kind} {parent_id} is {parent['status'].lower()}; choose a live one.",
        )
    return parent


def status_listing(ctx: Ctx, records: Iterable[Record], allowed: Sequence[str], kind: str) -> Any:
    """One page of an ad-object edge, by ``effective_status`` and ``filtering`` (checked first).

    A ``filtering`` entry on the listed object's own ``effective_status`` widens the default
    (which hides ARCHIVED) the way the ``effective_status`` parameter does.

    Raises:
        GraphError: a status outside ``allowed``, DELETED (never listed on edges), or a bad
            ``filtering`` entry (code 100, naming it).
    """
    statuses = ctx.params.list_("effective_status")
    for status in statuses or []:
        check_enum("effective_status", str(status), allowed)
    filters = edge_filters(ctx.params, kind)
    if statuses is None and any(split_field(kind, f.field) == (kind, _STATUS) for f in filters):
        statuses = [status for status in allowed if status != "DELETED"]
    return filtered_page(ctx, by_status(records, statuses, _effective(ctx)), filters)


def filtered_page(ctx: Ctx, records: Iterable[Record], filters: Sequence[Filter]) -> Any:
    """One page of the ``records`` that pass every ``filtering`` entry."""
    now = ctx.now()
    chosen = [r for r in records if all(edge_matches(ctx.state, now, f, r) for f in filters)]
    return page(ctx, chosen, lambda r: read_node(ctx, r))


def _effective(ctx: Ctx) -> Callable[[Record], str]:
    now = ctx.now()
    return lambda record: effective_status(ctx.state, record, now)


_STATUS = "effective_status"
