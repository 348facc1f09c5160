"""Graph node types, their edges, and the shared read path (field selection, paging).

Every object family registers a :class:`NodeType`: how to render a record, which fields
exist, and which edges hang off it. The dispatcher in ``core`` needs nothing else to serve
``GET/POST/DELETE /{id}`` and ``/{id}/{edge}`` for that family.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from meta_agent.sandbox.data.sdk import sdk_object
from meta_agent.sandbox.errors import invalid_param, nonexisting_field
from meta_agent.sandbox.fields import FieldSpec, parse_fields
from meta_agent.sandbox.params import Params

if TYPE_CHECKING:
    from meta_agent.sandbox.core import Ctx

Record = dict[str, Any]
Renderer = Callable[["Ctx", Record], dict[str, Any]]
NodeHandler = Callable[["Ctx", Record], Any]

DEFAULT_LIMIT = 25
MAX_LIMIT = 5000


@dataclass(frozen=True)
class Edge:
    """Handlers for one edge of a node: ``/{id}/{edge}``."""

    get: NodeHandler | None = None
    post: NodeHandler | None = None
    delete: NodeHandler | None = None


@dataclass(frozen=True)
class NodeType:
    """How one Graph object family is read, written and navigated."""

    kind: str
    graph_name: str
    fields: frozenset[str]
    render: Renderer
    default_fields: tuple[str, ...] = ("id",)
    update: NodeHandler | None = None
    delete: NodeHandler | None = None
    edges: dict[str, Edge] = field(default_factory=dict)
    references: dict[str, str] = field(default_factory=dict)


class Registry:
    """Node types by kind, and handlers for paths that are not nodes (``search``, batch)."""

    def __init__(self) -> None:
        self.node_types: dict[str, NodeType] = {}
        self.roots: dict[tuple[str, str], Callable[[Ctx], Any]] = {}

    def node(self, node_type: NodeType) -> None:
        """Register a node type."""
        self.node_types[node_type.kind] = node_type

    def root(self, method: str, name: str, handler: Callable[[Ctx], Any]) -> None:
        """Register a handler for ``METHOD /{name}``."""
        self.roots[(method, name)] = handler

    def add_edge(self, kind: str, name: str, edge: Edge) -> None:
        """Attach an edge to an already registered node type (families extend the account)."""
        node_type = self.node_types[kind]
        self.node_types[kind] = NodeType(
            **{**node_type.__dict__, "edges": {**node_type.edges, name: edge}}
        )


def read_node(ctx: Ctx, record: Record, specs: Sequence[FieldSpec] | None = None) -> dict[str, Any]:
    """Render ``record`` with the requested fields (the node's defaults when none).

    Every field and edge the official SDK lists for the node type is accepted: fields the
    sandbox has a value for are returned, the rest omitted as Meta omits empty fields, and an
    edge the sandbox does not serve answers an empty page.

    Raises:
        GraphError: a requested field does not exist on this node type.
    """
    node_type = ctx.sb.registry.node_types[record["kind"]]
    if specs is None:
        specs = parse_fields(ctx.params.str_("fields")) or tuple(
            FieldSpec(name) for name in node_type.default_fields
        )
    full = node_type.render(ctx, record)
    sdk = sdk_object(node_type.graph_name)
    out: dict[str, Any] = {}
    for spec in specs:
        if spec.name in node_type.edges and node_type.edges[spec.name].get is not None:
            out[spec.name] = _expand_edge(ctx, record, node_type, spec)
            continue
        if spec.name in full and (spec.name in node_type.fields or spec.name in sdk.fields):
            out[spec.name] = _expand_value(ctx, node_type, spec, full[spec.name])
        elif spec.name in sdk.edges and spec.name not in node_type.fields:
            out[spec.name] = {"data": []}  # an edge Meta has, the sandbox holds nothing on
        elif spec.name not in node_type.fields and spec.name not in sdk.fields:
            raise nonexisting_field(spec.name, node_type.graph_name)
    out.setdefault("id", full.get("id", record["id"]))
    return out


def _expand_value(ctx: Ctx, node_type: NodeType, spec: FieldSpec, value: Any) -> Any:
    if spec.sub is None:
        return value
    # A reference renders as its id, or as {"id": ...} the way Meta sends it unexpanded.
    ref = value.get("id") if isinstance(value, dict) else value
    if spec.name in node_type.references and isinstance(ref, str):
        target = ctx.sb.state.find(ref)
        return read_node(ctx, target, spec.sub) if target else {"id": ref}
    if isinstance(value, dict):
        wanted = {sub.name for sub in spec.sub}
        return {key: item for key, item in value.items() if key in wanted}
    return value


def _expand_edge(ctx: Ctx, record: Record, node_type: NodeType, spec: FieldSpec) -> Any:
    edge = node_type.edges[spec.name]
    assert edge.get is not None
    raw: dict[str, Any] = {"limit": spec.limit or DEFAULT_LIMIT}
    if spec.sub:
        raw["fields"] = ",".join(_unparse(sub) for sub in spec.sub)
    sub_ctx = ctx.derive(Params(raw), path=f"{record['id']}/{spec.name}")
    return edge.get(sub_ctx, record)


def _unparse(spec: FieldSpec) -> str:
    text = spec.name + (f".limit({spec.limit})" if spec.limit else "")
    if spec.sub:
        text += "{" + ",".join(_unparse(sub) for sub in spec.sub) + "}"
    return text


def check_sdk_fields(specs: Sequence[FieldSpec], graph_name: str) -> None:
    """Hold ``specs`` to the SDK's lists for ``graph_name`` (a type the SDK data lacks passes).

    Raises:
        GraphError: a name on neither the type's field nor its edge list (Meta's #100).
    """
    sdk = sdk_object(graph_name)
    if not sdk.fields and not sdk.edges:
        return
    for spec in specs:
        if spec.name not in sdk.fields and spec.name not in sdk.edges:
            raise nonexisting_field(spec.name, graph_name)


def sdk_page(
    ctx: Ctx, items: Sequence[Record], graph_name: str, default_fields: Sequence[str]
) -> Any:
    """One page of plain items (no node type of their own), fields held to the SDK's lists.

    Each item is a dict of the values it has; a requested field without a value is omitted,
    an edge of the listed type answers an empty page.

    Raises:
        GraphError: a field the SDK does not list for ``graph_name``; a bad limit or cursor.
    """
    specs = parse_fields(ctx.params.str_("fields")) or tuple(
        FieldSpec(name) for name in default_fields
    )
    check_sdk_fields(specs, graph_name)
    edges = sdk_object(graph_name).edges

    def render(item: Record) -> dict[str, Any]:
        out = {spec.name: item[spec.name] for spec in specs if spec.name in item}
        out.update({spec.name: {"data": []} for spec in specs if spec.name in edges})
        return out

    return page(ctx, items, render)


def empty_edge(ctx: Ctx, target: str) -> Any:
    """An edge the SDK lists that the sandbox holds nothing on: Meta's envelope, empty page.

    ``fields``, ``limit`` and the cursors are checked as on any listing.

    Raises:
        GraphError: a field the SDK does not list for ``target``; a bad limit or cursor.
    """
    return sdk_page(ctx, [], target, ())


def page(ctx: Ctx, items: Sequence[Record], render: Callable[[Record], dict[str, Any]]) -> Any:
    """One page of an edge listing, with Meta's ``paging`` block and optional summary."""
    limit = ctx.params.int_("limit", minimum=0)
    limit = DEFAULT_LIMIT if limit is None else min(limit, MAX_LIMIT)
    start = _cursor_index(ctx.params.str_("after"), "after")
    before = ctx.params.str_("before")
    if before is not None:
        end = _cursor_index(before, "before")
        start = max(0, end - limit)
    chunk = items[start : start + limit]
    body: dict[str, Any] = {"data": [render(item) for item in chunk]}
    if chunk:
        body["paging"] = _paging(ctx, start, start + len(chunk), len(items))
    if _wants_summary(ctx.params):
        body["summary"] = {"total_count": len(items)}
    return body


def _paging(ctx: Ctx, start: int, end: int, total: int) -> dict[str, Any]:
    cursors = {"before": encode_cursor(start), "after": encode_cursor(end)}
    paging: dict[str, Any] = {"cursors": cursors}
    if end < total:
        paging["next"] = ctx.url(after=cursors["after"])
    if start > 0:
        paging["previous"] = ctx.url(before=cursors["before"])
    return paging


def _wants_summary(params: Params) -> bool:
    value = params.str_("summary")
    return value is not None and value.lower() not in {"false", "0", ""}


def encode_cursor(index: int) -> str:
    """An opaque cursor for a position in a listing."""
    return base64.urlsafe_b64encode(f"sandbox-cursor:{index}".encode()).decode().rstrip("=")


def _cursor_index(cursor: str | None, name: str) -> int:
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, index = text.partition(":")
        if prefix == "sandbox-cursor" and index.isdigit():
            return int(index)
    except (ValueError, UnicodeDecodeError):
        pass
    raise invalid_param(
        f"The {name} cursor is invalid",
        code=2642,
        user_msg="Use the cursor from the previous page's paging block.",
    )


def build_url(base: str, version: str, path: str, params: dict[str, Any]) -> str:
    """An absolute Graph URL (for ``paging.next``), never carrying the access token."""
    query = {k: v for k, v in params.items() if k not in {"access_token", "appsecret_proof"}}
    suffix = f"?{urlencode(query)}" if query else ""
    return f"{base.rstrip('/')}/{version}/{path}{suffix}"


@lru_cache(maxsize=4096)  # every read renders the same few creation times again
def fmt_time(ts: float | None, tz: str = "UTC") -> str | None:
    """A Graph datetime: ``2026-11-23T10:00:00-0800`` in the account's time zone."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, tz=ZoneInfo(tz)).strftime("%Y-%m-%dT%H:%M:%S%z")


def to_ts(moment: datetime) -> float:
    """Seconds since the epoch of an aware datetime."""
    return moment.astimezone(UTC).timestamp()


def money(value: int | None) -> str | None:
    """Budgets and bids go out as numeric strings in minor units."""
    return None if value is None else str(value)


def compact(values: dict[str, Any]) -> dict[str, Any]:
    """Drop absent values: Meta omits fields it has no value for."""
    return {key: value for key, value in values.items() if value is not None}


def by_status(
    records: Iterable[Record], statuses: list[str] | None, effective: Callable[[Record], str]
) -> list[Record]:
    """Filter a listing by ``effective_status``; deleted objects never appear on edges.

    Raises:
        GraphError: ``DELETED`` asked for, which Meta refuses on edges.
    """
    if statuses is not None and "DELETED" in statuses:
        raise invalid_param(
            "Filtering on effective_status DELETED is not supported on this edge",
            blame="effective_status",
            user_msg="Deleted objects are readable by id only; drop DELETED from the filter.",
        )
    live = [r for r in records if r.get("status") != "DELETED"]
    if statuses is None:
        return [r for r in live if r.get("status") != "ARCHIVED"]
    return [r for r in live if effective(r) in statuses]
