"""Ad labels: ``/act_X/adlabels``, ``/{label_id}``, and labels on campaigns, ad sets and ads.

A label belongs to one ad account. ``POST /{object}/adlabels`` with ``adlabels=[{"id": ...}]``
or ``[{"name": ...}]`` attaches labels to a campaign, ad set or ad (a name the account has no
label for creates one, as Meta does); ``DELETE`` on the same edge detaches them. An object
carries its labels as ``adlabels`` (``[{"id", "name"}]``), and a label lists the objects that
carry it on its ``campaigns``, ``adsets``, ``ads`` and ``adcreatives`` edges, and the account
lists them by label on ``campaignsbylabels`` and its kin (``ad_label_ids``, ``operator`` ANY or
ALL). Labels given in ``adlabels`` when an object is created or updated are matched by id or by
name, and a new name creates the label on the account (:func:`given_labels`).
"""

from __future__ import annotations

from typing import Any

from meta_agent.sandbox.activities import recording
from meta_agent.sandbox.core import Ctx
from meta_agent.sandbox.errors import GraphError, invalid_param, object_not_found, required_param
from meta_agent.sandbox.nodes import (
    Edge,
    NodeHandler,
    NodeType,
    Record,
    Registry,
    compact,
    fmt_time,
    page,
    read_node,
)
from meta_agent.sandbox.params import check_enum, check_known, validate_only
from meta_agent.sandbox.routes.common import SUCCESS, created

LABEL_FIELDS = frozenset({"id", "name", "account", "created_time", "updated_time"})
MAX_NAME = 100
# The objects labels attach to, and the label edge listing each.
LABELLED = {"campaign": "campaigns", "adset": "adsets", "ad": "ads", "adcreative": "adcreatives"}
# The account's listing of each kind by label (``/act_X/campaignsbylabels``...).
BY_LABELS = {
    "campaign": "campaignsbylabels",
    "adset": "adsetsbylabels",
    "ad": "adsbylabels",
    "adcreative": "adcreativesbylabels",
}
OPERATORS = ("ANY", "ALL")  # Campaign.Operator in Meta's SDK


def register(registry: Registry) -> None:
    """Register the label node, the account's label edge and the objects' label edges."""
    registry.node(
        NodeType(
            "adlabel",
            "AdLabel",
            LABEL_FIELDS,
            _render,
            ("id", "name"),
            update=_rename,
            delete=_delete,
            edges={edge: Edge(get=_labelled(kind)) for kind, edge in LABELLED.items()},
            references={"account": "adaccount"},
        )
    )
    registry.add_edge("adaccount", "adlabels", Edge(get=_list, post=_create))
    for kind, edge in BY_LABELS.items():
        registry.add_edge("adaccount", edge, Edge(get=_by_labels(kind)))
    for kind in ("campaign", "adset", "ad"):
        registry.add_edge(kind, "adlabels", Edge(post=_attach, delete=_detach))


def _render(ctx: Ctx, record: Record) -> dict[str, Any]:
    account = ctx.state.find(f"act_{record['account_id']}") or {}
    tz = str(account.get("timezone_name") or "UTC")
    return compact(
        {
            "id": record["id"],
            "name": record["name"],
            "account": {"id": f"act_{record['account_id']}"},
            "created_time": fmt_time(record.get("created_time"), tz),
            "updated_time": fmt_time(record.get("updated_time", record.get("created_time")), tz),
        }
    )


def _labels_of(ctx: Ctx, account_id: str) -> list[Record]:
    return list(ctx.state.of_kind("adlabel", account_id=account_id))


def _list(ctx: Ctx, account: Record) -> Any:
    """The account's labels, oldest first."""
    return page(ctx, _labels_of(ctx, account["account_id"]), lambda r: read_node(ctx, r))


def _create(ctx: Ctx, account: Record) -> Any:
    """``POST /act_X/adlabels name=...``; a name the account already has answers that label.

    Raises:
        GraphError: ``name`` missing, blank or over 100 characters; an unknown parameter.
    """
    check_known(ctx.params, frozenset({"name"}), "AdLabel")
    name = ctx.params.require_str("name", max_len=MAX_NAME).strip()
    existing = _by_name(ctx, account["account_id"], name)
    if existing is not None:
        return {"id": existing["id"]}
    return created(ctx, _new_label(ctx, account["account_id"], name))


def _new_label(ctx: Ctx, account_id: str, name: str) -> Record:
    return {
        "kind": "adlabel",
        "id": ctx.sb.new_id(),
        "account_id": account_id,
        "name": name,
        "created_time": ctx.now(),
    }


def _by_name(ctx: Ctx, account_id: str, name: str) -> Record | None:
    return next((r for r in _labels_of(ctx, account_id) if r["name"] == name), None)


def _rename(ctx: Ctx, label: Record) -> Any:
    """``POST /{label_id} name=...``; objects carrying the label show the new name."""
    check_known(ctx.params, frozenset({"name"}), "AdLabel")
    name = ctx.params.require_str("name", max_len=MAX_NAME).strip()
    label.update(name=name, updated_time=ctx.now())
    for record in _carrying(ctx, label):
        record["adlabels"] = [
            {**item, "name": name} if _is(item, label) else item for item in record["adlabels"]
        ]
    return dict(SUCCESS)


def _delete(ctx: Ctx, label: Record) -> Any:
    """``DELETE /{label_id}``: the label is gone, and off every object that carried it."""
    for record in _carrying(ctx, label):
        record["adlabels"] = [item for item in record["adlabels"] if not _is(item, label)]
    ctx.state.remove(label["id"])
    return dict(SUCCESS)


def _is(item: Any, label: Record) -> bool:
    """Whether an ``adlabels`` entry names ``label`` (by id, or by name as given on create)."""
    if not isinstance(item, dict):
        return False
    if item.get("id") is not None:
        return str(item["id"]) == str(label["id"])
    return item.get("name") is not None and str(item["name"]) == str(label["name"])


def _carrying(ctx: Ctx, label: Record, kind: str | None = None) -> list[Record]:
    kinds = [kind] if kind else list(LABELLED)
    return [
        record
        for each in kinds
        for record in ctx.state.of_kind(each, account_id=label["account_id"])
        if record.get("status") != "DELETED"
        and any(_is(item, label) for item in record.get("adlabels") or [])
    ]


def _labelled(kind: str) -> NodeHandler:
    """A handler listing the objects of ``kind`` that carry the label."""

    def handler(ctx: Ctx, label: Record) -> Any:
        return page(ctx, _carrying(ctx, label, kind), lambda r: read_node(ctx, r))

    return handler


def _by_labels(kind: str) -> NodeHandler:
    """A handler listing the account's objects of ``kind`` carrying any (or all) labels given.

    Raises:
        GraphError: ``ad_label_ids`` missing or naming no label of the account; a bad operator.
    """

    def handler(ctx: Ctx, account: Record) -> Any:
        label_ids = [str(i) for i in ctx.params.list_("ad_label_ids", required=True) or []]
        operator = ctx.params.str_("operator") or "ANY"
        check_enum("operator", operator, OPERATORS)
        labels = [_account_label(ctx, account["account_id"], i, "ad_label_ids") for i in label_ids]
        if not labels:
            raise required_param("ad_label_ids")
        carrying = [{r["id"] for r in _carrying(ctx, label, kind)} for label in labels]
        wanted = set.intersection(*carrying) if operator == "ALL" else set.union(*carrying)
        records = ctx.state.of_kind(kind, account_id=account["account_id"])
        return page(ctx, [r for r in records if r["id"] in wanted], lambda r: read_node(ctx, r))

    return handler


def _account_label(ctx: Ctx, account_id: str, label_id: str, param: str) -> Record:
    """The account's label with this id.

    Raises:
        GraphError: no such label in the account (#100 naming ``param``).
    """
    label = ctx.state.find(label_id)
    if label is None or label["kind"] != "adlabel" or label["account_id"] != account_id:
        raise invalid_param(
            f"{label_id} is not an ad label of this ad account",
            blame=param,
            user_msg=f"Use ids from /act_{account_id}/adlabels.",
        )
    return label


def _attach(ctx: Ctx, record: Record) -> Any:
    """``POST /{object}/adlabels adlabels=[...]``: add labels (by id, or by name, creating it).

    Raises:
        GraphError: ``adlabels`` missing or not a list of ``{"id"}``/``{"name"}``; an id that
            is not a label of the object's account.
    """
    if record.get("status") == "DELETED":
        raise object_not_found(record["id"], "POST")
    wanted = [_resolve(ctx, record["account_id"], item) for item in _entries(ctx)]
    with recording(ctx, record):
        current = [item for item in record.get("adlabels") or [] if isinstance(item, dict)]
        have = {str(item.get("id")) for item in current}
        added = [{"id": lb["id"], "name": lb["name"]} for lb in wanted if lb["id"] not in have]
        record["adlabels"] = current + list({item["id"]: item for item in added}.values())
        record["updated_time"] = ctx.now()
    return dict(SUCCESS)


def _detach(ctx: Ctx, record: Record) -> Any:
    """``DELETE /{object}/adlabels adlabels=[...]``: take those labels off the object."""
    labels = [_resolve(ctx, record["account_id"], item, create=False) for item in _entries(ctx)]
    with recording(ctx, record):
        record["adlabels"] = [
            item
            for item in record.get("adlabels") or []
            if not any(_is(item, label) for label in labels)
        ]
        record["updated_time"] = ctx.now()
    return dict(SUCCESS)


def given_labels(ctx: Ctx, account_id: str) -> dict[str, Any]:
    """``{"adlabels": [{"id", "name"}]}`` for the ``adlabels`` a create or update names, else ``{}``.

    Call it once the rest of the request is valid: a name the account has no label for creates
    one (as Meta does), except under ``validate_only``, where nothing is stored.

    Raises:
        GraphError: ``adlabels`` not a list of ``{"id"}``/``{"name"}``; an id that is not a
            label of the account (100/33).
    """
    if "adlabels" not in ctx.params:
        return {}
    entries = ctx.params.list_("adlabels") or []
    if not all(isinstance(item, dict) for item in entries):
        raise _bad_entries("an array of objects")
    if validate_only(ctx.params):  # checked, never created: the reply stores nothing
        entries = [item for item in entries if item.get("id") is not None]
    labels = [_resolve(ctx, account_id, item) for item in entries]
    unique = {label["id"]: {"id": label["id"], "name": label["name"]} for label in labels}
    return {"adlabels": list(unique.values())}


def _bad_entries(shape: str) -> GraphError:
    return invalid_param(
        f"Param adlabels must be {shape}",
        blame="adlabels",
        user_msg='Send adlabels as [{"id": "<label id>"}] or [{"name": "<label name>"}].',
    )


def _entries(ctx: Ctx) -> list[dict[str, Any]]:
    entries = ctx.params.list_("adlabels", required=True) or []
    if not entries or not all(isinstance(item, dict) for item in entries):
        raise _bad_entries("a non-empty array of objects")
    return entries


def _resolve(ctx: Ctx, account_id: str, item: dict[str, Any], *, create: bool = True) -> Record:
    """The label an ``adlabels`` entry names, created from a new name when ``create``.

    Raises:
        GraphError: neither id nor name; an id that is not a label of the account (100/33);
            a name the account has no label for, when not creating.
    """
    if item.get("id") is not None:
        label = ctx.state.find(str(item["id"]))
        if label is None or label["kind"] != "adlabel" or label["account_id"] != account_id:
            raise object_not_found(str(item["id"]), ctx.req.method)
        return label
    name = str(item.get("name") or "").strip()
    if not name or len(name) > MAX_NAME:
        raise invalid_param(
            "Each adlabels entry needs an id or a name of at most 100 characters",
            blame="adlabels",
            user_msg='Send adlabels as [{"id": "<label id>"}] or [{"name": "<label name>"}].',
        )
    label = _by_name(ctx, account_id, name)
    if label is None and not create:
        raise invalid_param(f"The account has no ad label named {name!r}", blame="adlabels")
    if label is None:
        label = ctx.state.add(_new_label(ctx, account_id, name))
    return label
