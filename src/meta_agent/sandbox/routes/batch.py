"""The Batch API: ``POST /{version}/`` with ``batch=[...]`` (reference §8).

Each item becomes a :class:`GraphRequest` marked ``in_batch`` and goes through
``Sandbox.process`` like a standalone call, so it is authenticated, charged against the rate
limits and offered to the fault script on its own. Items run in order; one that names another
in ``depends_on`` or in a ``{result=name:$.path}`` reference waits for it.

Choices where the reference leaves room:

- A dependency that failed aborts its dependents with code 960 ("Request aborted", HTTP 400
  in the slot); a dependency that never ran (``batch_partial``, ``timeout``, ``http_5xx``
  faults) leaves its dependents ``null`` too, so the SDK's retry-the-null-slots re-runs both.
- A named item's slot is ``null`` on success unless ``omit_response_on_success`` is false.
- A reference that matches nothing, or a name no earlier item carries, fails the item with
  code 100; the batch carries on.
- Structural problems (``batch`` not a JSON array, an item without ``relative_url``, more than
  ``max_batch_size`` items) fail the whole call with a top-level envelope; the outer request
  needs its own token (the core's 2500/190), which items without a token inherit.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote

from meta_agent.sandbox.core import Ctx, conditional
from meta_agent.sandbox.errors import GraphError, invalid_param, required_param
from meta_agent.sandbox.ids import trace_id
from meta_agent.sandbox.nodes import Registry
from meta_agent.sandbox.params import Params, UploadedFile
from meta_agent.sandbox.wire import GraphRequest, GraphResponse

METHODS = ("GET", "POST", "DELETE")
# Matches both spellings once the text is percent-decoded: {result=name:$.path}
REFERENCE = re.compile(r"\{result=(?P<name>[^:{}]+):(?P<path>[^{}]*)\}")
_VERSION = re.compile(r"^v\d+\.\d+$")
_SLASHES = re.compile(r"/{2,}")
_PATH_STEP = re.compile(r"\.(?P<key>\*|[^.\[\]]+)|\[(?P<index>\*|-?\d+)\]")
_CONTENT_TYPE = "text/javascript; charset=UTF-8"
_HEADER_NAMES = {
    "etag": "ETag",
    "facebook-api-version": "facebook-api-version",
    "x-fb-trace-id": "x-fb-trace-id",
    "x-app-usage": "X-App-Usage",
    "x-ad-account-usage": "X-Ad-Account-Usage",
    "x-business-use-case-usage": "X-Business-Use-Case-Usage",
    "x-fb-ads-insights-throttle": "X-FB-Ads-Insights-Throttle",
}

Step = str | int | None  # None is the wildcard ``*``
Slot = dict[str, Any] | None


def register(registry: Registry) -> None:
    """Register the batch endpoint at the root path."""
    registry.root("POST", "", run_batch)


@dataclass(frozen=True)
class BatchItem:
    """One entry of the ``batch`` array, checked for shape."""

    index: int
    method: str
    relative_url: str
    body: str = ""
    name: str | None = None
    depends_on: tuple[str, ...] = ()
    omit_on_success: bool | None = None
    headers: tuple[tuple[str, str], ...] = ()
    attached_files: tuple[str, ...] = ()

    def dependencies(self) -> list[str]:
        """Names this item waits for: ``depends_on`` plus every name it references."""
        text = unquote(f"{self.relative_url}&{self.body}")
        names = [*self.depends_on, *(m["name"] for m in REFERENCE.finditer(text))]
        return list(dict.fromkeys(names))


@dataclass(frozen=True)
class Outcome:
    """What one item did: its slot, whether it ran and succeeded, and its decoded body."""

    slot: Slot
    ran: bool
    ok: bool
    body: Any = None


def run_batch(ctx: Ctx) -> list[Slot]:
    """Run every item in order and answer one slot per item.

    Raises:
        GraphError: a top-level problem: no or malformed ``batch``, too many items, nesting.
    """
    if ctx.req.in_batch:
        raise invalid_param("Batch requests cannot be nested", blame="batch")
    items = parse_batch(ctx.params, ctx.sb.config.max_batch_size)
    runner = _Runner(ctx, include_headers=ctx.params.bool_("include_headers") is not False)
    return [runner.run(item) for item in items]


def parse_batch(params: Params, limit: int) -> list[BatchItem]:
    """The ``batch`` parameter as items (a JSON string, or a list from a JSON body).

    Raises:
        GraphError: 100 naming ``batch`` for a missing or malformed array or item; 1 past
            ``limit`` items.
    """
    if "batch" not in params:
        raise required_param("batch")
    items = params.json_("batch")
    if not isinstance(items, list):
        raise invalid_param(
            "Param batch must be a JSON array of requests",
            blame="batch",
            user_msg='Send batch as a JSON array, e.g. [{"method":"GET","relative_url":"me"}].',
        )
    if len(items) > limit:
        raise GraphError(
            message=f"(#1) Too many requests in batch message. Maximum batch size is {limit}",
            code=1,
            user_msg=f"Split the batch into batches of at most {limit} requests.",
        )
    return [_parse_item(index, raw) for index, raw in enumerate(items)]


def _parse_item(index: int, raw: Any) -> BatchItem:
    if not isinstance(raw, dict):
        raise _bad_item(index, "must be a JSON object")
    method = str(raw.get("method") or "GET").upper()
    if method not in METHODS:
        raise _bad_item(index, f"has method {method!r}; use GET, POST or DELETE")
    url, body, name = raw.get("relative_url"), raw.get("body", ""), raw.get("name")
    if not isinstance(url, str):
        raise _bad_item(index, "needs relative_url, a path such as act_123/campaigns")
    if not isinstance(body, str):
        raise _bad_item(index, "has a body that is not a URL-encoded string (a=1&b=2)")
    if name is not None and not isinstance(name, str):
        raise _bad_item(index, "has a name that is not a string")
    return BatchItem(
        index,
        method,
        url,
        body,
        name or None,
        _names(index, raw.get("depends_on"), "depends_on"),
        _omit(index, raw.get("omit_response_on_success")),
        _headers(index, raw.get("headers")),
        _names(index, raw.get("attached_files"), "attached_files"),
    )


def _names(index: int, value: Any, key: str) -> tuple[str, ...]:
    """A comma-separated string (or a list) of names."""
    if value is None:
        return ()
    parts = value.split(",") if isinstance(value, str) else value
    if not isinstance(parts, list) or not all(isinstance(part, str) for part in parts):
        raise _bad_item(index, f"has a {key} that is not a comma-separated string of names")
    return tuple(part.strip() for part in parts if part.strip())


def _omit(index: int, value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"true", "1", "false", "0"}:
        return text in {"true", "1"}
    raise _bad_item(index, "has an omit_response_on_success that is not true or false")


def _headers(index: int, value: Any) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if isinstance(value, list) and all(
        isinstance(h, dict) and isinstance(h.get("name"), str) and isinstance(h.get("value"), str)
        for h in value
    ):
        return tuple((h["name"].lower(), h["value"]) for h in value)
    raise _bad_item(index, 'has headers that are not a list of {"name": ..., "value": ...}')


def _bad_item(index: int, problem: str) -> GraphError:
    return invalid_param(
        f"Batch request {index} {problem}",
        blame="batch",
        user_msg=f"Fix request {index} of the batch (counting from 0) and send the batch again.",
    )


class _Runner:
    """Runs items in order, remembering named results for later references."""

    def __init__(self, ctx: Ctx, include_headers: bool) -> None:
        self.ctx = ctx
        self.include_headers = include_headers
        self.done: dict[str, Outcome] = {}

    def run(self, item: BatchItem) -> Slot:
        """Execute one item and return its slot (``null`` when omitted or not run)."""
        outcome = self._execute(item)
        if item.name:
            self.done[item.name] = outcome
        if outcome.ok and item.name and item.omit_on_success is not False:
            return None
        return outcome.slot

    def _execute(self, item: BatchItem) -> Outcome:
        blocked = self._blocked(item)
        if blocked is not None:
            return blocked
        try:
            req = self._request(item)
        except GraphError as error:
            return self._failed(error)
        fault = self.ctx.sb.faults.pick(req)
        if fault is not None and (fault.skip or fault.hang_s > 0 or fault.raw_status):
            return Outcome(None, ran=False, ok=False)
        error_fault = fault if fault is not None and fault.error is not None else None
        response = conditional(req, self.ctx.sb.process(req, error_fault))
        return Outcome(self._slot(response), True, response.status < 400, response.body)

    def _blocked(self, item: BatchItem) -> Outcome | None:
        """Whether a dependency keeps this item from running, and what its slot is then."""
        for name in item.dependencies():
            prior = self.done.get(name)
            if prior is None:
                return self._failed(
                    invalid_param(
                        f"Batch request {item.index} depends on {name!r}, but no earlier "
                        "request in the batch has that name",
                        blame="batch",
                    )
                )
            if not prior.ran:
                return Outcome(None, ran=False, ok=False)
            if not prior.ok:
                return self._failed(_aborted())
        return None

    def _request(self, item: BatchItem) -> GraphRequest:
        version, path, query = split_relative_url(item.relative_url, self.ctx.req.version)
        raw: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
        raw.update(parse_qsl(item.body, keep_blank_values=True))
        raw = {key: self._substitute(value) for key, value in raw.items()}
        if "access_token" not in raw:
            for key in ("access_token", "appsecret_proof"):
                if key in self.ctx.params:
                    raw[key] = self.ctx.params.get_raw(key)
        params = Params(raw, self._files(item))
        request = GraphRequest(
            item.method, self._substitute(path), version, params, dict(item.headers), True
        )
        request.base_url = self.ctx.req.base_url
        return request

    def _files(self, item: BatchItem) -> dict[str, UploadedFile]:
        files = self.ctx.params.files
        for name in item.attached_files:
            if name not in files:
                raise invalid_param(
                    f"File {name} named in attached_files is not attached to the batch request",
                    blame="attached_files",
                    user_msg="Send each attached file as a multipart part of the batch call.",
                )
        return {name: files[name] for name in item.attached_files}

    def _substitute(self, text: str) -> str:
        return REFERENCE.sub(self._resolve, text)

    def _resolve(self, match: re.Match[str]) -> str:
        prior = self.done.get(match["name"])
        values = select(prior.body if prior else None, compile_path(match["path"]))
        if not values:
            raise invalid_param(
                f"The reference {match[0]} matched nothing in the response of {match['name']!r}",
                blame="batch",
            )
        return ",".join(_text(value) for value in values)

    def _failed(self, error: GraphError) -> Outcome:
        envelope = error.envelope(trace_id(self.ctx.sb.rng))
        return Outcome(self._slot(GraphResponse(error.status, envelope)), True, False, envelope)

    def _slot(self, response: GraphResponse) -> dict[str, Any]:
        body = response.body
        if body is not None and not isinstance(body, str):
            body = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        slot: dict[str, Any] = {"code": response.status}
        if self.include_headers:
            slot["headers"] = list(_header_list(response.headers, body is not None))
        slot["body"] = body
        return slot


def split_relative_url(url: str, default_version: str) -> tuple[str, str, str]:
    """``/v24.0/act_1/campaigns?limit=2`` → (version, path, query); no prefix → ``default_version``."""
    path, _, query = url.strip().partition("?")
    path = _SLASHES.sub("/", unquote(path)).strip("/")
    first, _, rest = path.partition("/")
    if _VERSION.match(first):
        return first, rest, query
    return default_version, path, query


def compile_path(text: str) -> list[Step]:
    """Parse the JSONPath subset batches use: ``$``, ``.key``, ``.*``, ``[n]``, ``[*]``.

    Raises:
        GraphError: 100 naming the expression it cannot read.
    """
    expression = text.strip()
    if not expression.startswith("$"):
        raise _bad_path(text)
    steps: list[Step] = []
    position = 1
    while position < len(expression):
        match = _PATH_STEP.match(expression, position)
        if match is None:
            raise _bad_path(text)
        part = match["key"] or match["index"]
        if part == "*":
            steps.append(None)
        else:
            steps.append(int(part) if match["index"] else part)
        position = match.end()
    return steps


def select(value: Any, steps: list[Step]) -> list[Any]:
    """Every value the compiled path reaches in ``value``, in document order."""
    current = [value]
    for step in steps:
        current = [child for node in current for child in _children(node, step)]
    return current


def _children(node: Any, step: Step) -> Iterator[Any]:
    if step is None:
        yield from (
            node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        )
    elif isinstance(node, dict) and isinstance(step, str) and step in node:
        yield node[step]
    elif isinstance(node, list):
        index = int(step) if isinstance(step, int) or step.lstrip("-").isdigit() else None
        if index is not None and -len(node) <= index < len(node):
            yield node[index]


def _text(value: Any) -> str:
    """How a matched value is written into a URL or body."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None or isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _header_list(headers: dict[str, str], has_body: bool) -> Iterator[dict[str, str]]:
    if has_body:
        yield {"name": "Content-Type", "value": _CONTENT_TYPE}
    for name, value in headers.items():
        yield {"name": _HEADER_NAMES.get(name, name), "value": value}


def _bad_path(text: str) -> GraphError:
    return invalid_param(
        f"Cannot parse the JSONPath expression {text!r} in a batch reference",
        blame="batch",
        user_msg="Use {result=name:$.id} or {result=name:$.data.*.id}.",
    )


def _aborted() -> GraphError:
    """Code 960, what Meta answers for an item whose dependency failed (§6.3)."""
    return GraphError(
        message=(
            "Request aborted. This could happen if a dependent request failed or the entire "
            "request timed out."
        ),
        code=960,
    )
