"""The sandbox's request pipeline, free of any HTTP server.

``Sandbox.process`` takes a decoded :class:`GraphRequest` through the same steps Meta's edge
does: version, auth, faults, rate limiting, dispatch to a node type or root handler, and the
usage headers on the way out. The ASGI app (``app.py``) and the batch endpoint both call it,
so a batch item is treated exactly like a standalone call.
"""

from __future__ import annotations

import hashlib
import hmac
import random
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from meta_agent import versions
from meta_agent.sandbox.activities import recording
from meta_agent.sandbox.clock import Clock, SystemClock
from meta_agent.sandbox.config import SandboxConfig
from meta_agent.sandbox.data.sdk import sdk_object
from meta_agent.sandbox.errors import (
    GraphError,
    deprecated_version,
    invalid_appsecret_proof,
    invalid_token,
    missing_token,
    unknown_path,
)
from meta_agent.sandbox.faults import Fault, FaultScript
from meta_agent.sandbox.ids import IdGenerator, trace_id
from meta_agent.sandbox.legacy import refuse_legacy
from meta_agent.sandbox.memo import StateMemo
from meta_agent.sandbox.nodes import Registry, build_url, empty_edge, read_node
from meta_agent.sandbox.params import Params
from meta_agent.sandbox.ratelimit import RateLimiter, call_weight
from meta_agent.sandbox.state import USER_ID, SandboxState
from meta_agent.sandbox.status import effective_status
from meta_agent.sandbox.wire import GraphRequest, GraphResponse, encode_json


@dataclass
class Counters:
    """Requests seen, by method and path template (for ``/_sandbox/requests``)."""

    by_route: dict[str, int] = field(default_factory=dict)
    total: int = 0

    def count(self, method: str, template: str) -> None:
        """Add one request."""
        key = f"{method} {template}"
        self.by_route[key] = self.by_route.get(key, 0) + 1
        self.total += 1


@dataclass
class Ctx:
    """What a handler sees: the sandbox and the request it is serving."""

    sb: Sandbox
    req: GraphRequest
    account_id: str | None = None

    @property
    def params(self) -> Params:
        """The request's parameters."""
        return self.req.params

    @property
    def state(self) -> SandboxState:
        """The sandbox's objects."""
        return self.sb.state

    def now(self) -> float:
        """Sandbox time, in seconds since the epoch."""
        return self.sb.clock.now()

    def derive(self, params: Params, path: str) -> Ctx:
        """A context for a nested read (field expansion) with other parameters."""
        return Ctx(self.sb, replace(self.req, params=params, path=path), self.account_id)

    def url(self, **overrides: Any) -> str:
        """This request's URL with some parameters replaced (for ``paging`` links)."""
        query = {k: v for k, v in self.params.raw.items() if k not in {"after", "before"}}
        query.update(overrides)
        return build_url(self.sb.config.base_url, self.req.version, self.req.path, query)


class Sandbox:
    """One emulated Marketing API: state, clock, ids, limits, faults and the handler registry."""

    def __init__(
        self,
        config: SandboxConfig | None = None,
        *,
        clock: Clock | None = None,
        ids: IdGenerator | None = None,
        faults: FaultScript | None = None,
        state: SandboxState | None = None,
        state_file: Path | None = None,
    ) -> None:
        from meta_agent.sandbox.routes import register_all

        self.config = config or SandboxConfig()
        self.state_file = state_file
        self.clock: Clock = clock or SystemClock()
        self.state = state or SandboxState.fresh(
            self.config.tier, self.clock.now(), self.config.accounts
        )
        self.ids = ids or IdGenerator(self.config.seed, start=self.state.id_counter)
        self.faults = faults or FaultScript(seed=self.config.seed)
        self.limiter = RateLimiter(self.config)
        self.rng = random.Random(self.config.seed)
        self.counters = Counters()
        # Report run layouts, so reading page k of a run costs one page (insights/reports.py).
        self.memo = StateMemo(size=64)
        # Active ads per account while one HTTP request (with its batch items) is served.
        self._active_memo: dict[str, int] | None = None
        self.registry = Registry()
        register_all(self.registry)

    def new_id(self) -> str:
        """A fresh object id (the counter is part of the saved state)."""
        object_id = self.ids.next_id()
        self.state.id_counter = self.ids.counter
        return object_id

    def today(self) -> datetime:
        """Sandbox 'now' as an aware datetime."""
        return datetime.fromtimestamp(self.clock.now(), tz=UTC)

    def reset(self, state: SandboxState | None = None) -> None:
        """Start over from the seeded identity (or from ``state``)."""
        self.state = state or SandboxState.fresh(
            self.config.tier, self.clock.now(), self.config.accounts
        )
        self.ids = IdGenerator(self.config.seed, start=self.state.id_counter)
        self.limiter = RateLimiter(self.config)
        self.counters = Counters()
        self.memo.clear()

    def process(self, req: GraphRequest, fault: Fault | None = None) -> GraphResponse:
        """Serve one Graph call; every failure becomes Meta's error envelope, never a crash."""
        if self._active_memo is not None:  # an item of a batch being served
            return self._process(req, fault)
        self._active_memo = {}
        try:
            return self._process(req, fault)
        finally:
            self._active_memo = None

    def _process(self, req: GraphRequest, fault: Fault | None) -> GraphResponse:
        headers = {"facebook-api-version": req.version, "x-fb-trace-id": trace_id(self.rng)}
        ctx = Ctx(self, req)
        try:
            served = self._resolve_version(req)
            headers["facebook-api-version"] = served
            req.version = served
            self._authenticate(req)
            if self.config.new_app:
                refuse_legacy(req)
            ctx.account_id = self._account_of(req)
            body = self._charge_and_dispatch(ctx, headers, fault)
            response = GraphResponse(200, body, headers)
        except GraphError as error:
            response = GraphResponse(
                error.status, error.envelope(headers["x-fb-trace-id"]), headers
            )
        return response

    def _charge_and_dispatch(self, ctx: Ctx, headers: dict[str, str], fault: Fault | None) -> Any:
        insights = "insights" in ctx.req.segments
        try:
            if fault is not None and fault.error is not None:
                raise fault.error  # scripted errors still carry the usage headers
            if self.config.rate_limits and ctx.account_id is not None:
                weight = call_weight(ctx.req.method, insights)
                self.limiter.active_ads[ctx.account_id] = self._active_ads(ctx.account_id)
                self.limiter.charge(ctx.account_id, weight, self.clock.now(), insights)
            return self._dispatch(ctx)
        finally:
            if ctx.req.method != "GET":
                self.state.touch()  # handlers edit records in place: any write may change them
            now = self.clock.now()
            if ctx.account_id is not None:
                headers.update(self.limiter.headers(ctx.account_id, now, insights))
            else:
                headers.update(self.limiter.app_headers(now))

    def _active_ads(self, account_id: str) -> int:
        # Counted once per HTTP request: a batch's items share the count its start saw (as
        # Meta's limits move with delivery, not with each item), not a recount per item.
        memo = self._active_memo if self._active_memo is not None else {}
        if account_id not in memo:
            now = self.clock.now()
            ads = self.state.of_kind("ad", account_id=account_id)
            memo[account_id] = sum(
                1 for ad in ads if effective_status(self.state, ad, now) == "ACTIVE"
            )
        return memo[account_id]

    def _resolve_version(self, req: GraphRequest) -> str:
        known = versions.BY_NAME.get(req.version)
        if known is None:
            raise unknown_path(f"{req.version}/{req.path}".rstrip("/"))
        today = self.today().date()
        if not known.is_sunset(today):
            return known.name
        live = versions.oldest_live(today)
        if self.config.sunset_policy == "reject":
            raise deprecated_version(known.name, versions.NEWEST)
        return live.name

    def _authenticate(self, req: GraphRequest) -> None:
        token = req.params.str_("access_token")
        if token is None:
            raise missing_token()
        expected = self.config.token.get_secret_value()
        if not hmac.compare_digest(token.encode(), expected.encode()):
            raise invalid_token()
        if self.config.app_secret is not None:
            proof = req.params.str_("appsecret_proof") or ""
            secret = self.config.app_secret.get_secret_value().encode()
            wanted = hmac.new(secret, token.encode(), hashlib.sha256).hexdigest()
            if not hmac.compare_digest(proof.lower().encode(), wanted.encode()):
                raise invalid_appsecret_proof()

    def _account_of(self, req: GraphRequest) -> str | None:
        """The ad account (digits) a call touches, for scoring and usage headers."""
        segments = req.segments
        if not segments:
            return None
        first = segments[0]
        if first.startswith("act_"):
            return first[4:] if self.state.find(first) is not None else None
        record = self.state.find(first)
        if record is not None and record.get("account_id"):
            return str(record["account_id"])
        return None

    def _dispatch(self, ctx: Ctx) -> Any:
        segments = ctx.req.segments
        method = ctx.req.method
        root = self.registry.roots.get((method, segments[0] if segments else ""))
        if root is not None:
            self.counters.count(method, segments[0] if segments else "/")
            return root(ctx)
        if not segments:
            raise unknown_path("")
        node_id = USER_ID if segments[0] == "me" else segments[0]
        record = self.state.get(node_id, method)
        node_type = self.registry.node_types.get(record["kind"])
        if node_type is None or len(segments) > 2:
            raise unknown_path(ctx.req.path)
        template = "{" + record["kind"] + "}"
        if len(segments) == 1:
            self.counters.count(method, template)
            return self._node_call(ctx, record, node_type.graph_name)
        edge = node_type.edges.get(segments[1])
        handler = None
        if edge is not None:
            handler = {"GET": edge.get, "POST": edge.post, "DELETE": edge.delete}.get(method)
        target = sdk_object(node_type.graph_name).edges.get(segments[1])
        if handler is None and method == "GET" and target is not None:
            self.counters.count(method, f"{template}/{segments[1]}")
            return empty_edge(ctx, target)  # an edge Meta has, the sandbox holds nothing on
        if handler is None:
            raise unknown_path(ctx.req.path)
        self.counters.count(method, f"{template}/{segments[1]}")
        if method == "GET":
            return handler(ctx, record)
        with recording(ctx, None):
            return handler(ctx, record)

    def _node_call(self, ctx: Ctx, record: dict[str, Any], graph_name: str) -> Any:
        node_type = self.registry.node_types[record["kind"]]
        method = ctx.req.method
        if method == "GET":
            return read_node(ctx, record)
        handler = node_type.update if method == "POST" else node_type.delete
        if method == "POST" and ctx.params.str_("status") == "DELETED" and node_type.delete:
            handler = node_type.delete
        if handler is None:
            raise GraphError(
                message=f"Unsupported {method.lower()} request on {graph_name}",
                code=100,
                subcode=33,
                type="GraphMethodException",
            )
        with recording(ctx, record):
            return handler(ctx, record)


async def serve(sb: Sandbox, req: GraphRequest) -> GraphResponse:
    """Serve a call arriving over HTTP: latency and faults first, then :meth:`Sandbox.process`."""
    fault = sb.faults.pick(req)
    delay = sb.config.latency_ms / 1000 + (fault.delay_s if fault else 0.0)
    if delay > 0:
        await sb.clock.sleep(delay)
    if fault is not None and fault.hang_s > 0:
        await sb.clock.sleep(fault.hang_s)
        return GraphResponse(504, "<html><body>504 Gateway Time-out</body></html>")
    if fault is not None and fault.raw_status is not None:
        page = f"<html><body>{fault.raw_status} Server Error</body></html>"
        return GraphResponse(fault.raw_status, page)
    response = conditional(req, sb.process(req, fault))
    if fault is not None and fault.drop_after_commit:
        response.drop_connection = True
    if req.method != "GET" and sb.state_file is not None:
        sb.state.save(sb.state_file)
    return response


def conditional(req: GraphRequest, response: GraphResponse) -> GraphResponse:
    """Tag successful reads with an ETag and answer ``If-None-Match`` hits with 304 (§2.5).

    The tag is the digest of the bytes sent, so the body is encoded once, here, and the
    HTTP layer sends ``response.encoded`` as it is.
    """
    if req.method != "GET" or response.status != 200 or isinstance(response.body, str):
        return response
    encoded = encode_json(response.body)
    etag = f'"{hashlib.md5(encoded, usedforsecurity=False).hexdigest()}"'  # an ETag, not a secret
    response.headers["etag"] = etag
    if req.headers.get("if-none-match") == etag:
        return GraphResponse(304, None, response.headers)
    response.encoded = encoded
    return response
