"""The Batch API (reference §8): many Graph calls in as few HTTP requests as Meta allows.

::

    batch = BatchBuilder(requestor)
    batch.post("act_1/campaigns", CAMPAIGN, name="campaign")
    batch.post("act_1/adsets", {**AD_SET, "campaign_id": ref("campaign")}, name="adset")
    results = await batch.execute()
    results["adset"].unwrap()["id"]

Execution runs in rounds. Each round first settles what needs no request: an item whose
dependency failed gets :class:`DependencyFailedError`, and references to items answered in an
earlier round are replaced by their real values. The rest is packed into chunks of at most 50
with every dependency chain inside one chunk (a chain too long for one is cut, and its tail
waits for the next round), and the chunks are sent concurrently. A ``null`` slot means Meta did
not run the item: only those items are sent again, never one that got an answer.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote

import structlog

from meta_agent.errors import (
    ApiError,
    ConfigError,
    DependencyFailedError,
    MetaAgentError,
    OutcomeUnknownError,
    RequestValidationError,
    TransientError,
)
from meta_agent.graph.error_table import build_error
from meta_agent.graph.requestor import CallOptions, Requestor, encode_params, template
from meta_agent.graph.transport import FileField
from meta_agent.graph.usage import parse_usage

log = structlog.get_logger("meta_agent.graph")

MAX_BATCH_SIZE = 50
METHODS = frozenset({"GET", "POST", "DELETE"})
REFERENCE = re.compile(r"\{result=(?P<name>[^:{}]+):(?P<path>[^{}]*)\}")
# Characters that would break a reference or the form encoding of one.
_BAD_NAME = re.compile(r"[:{},&=+#?%\s]")
_STEP = re.compile(r"\.(?P<key>[^.\[\]]+)|\[(?P<index>\*|-?\d+)\]")

Key = str | int


def ref(name: str, path: str = "$.id") -> str:
    """A reference to another item's result: ``ref("campaign")`` is ``{result=campaign:$.id}``.

    Put it anywhere in a later item's params or path; that item then depends on ``name``.
    """
    return f"{{result={name}:{path}}}"


@dataclass(frozen=True)
class BatchItem:
    """One call of a batch, its params already encoded as Graph reads them."""

    index: int
    method: str
    path: str
    params: Mapping[str, str]
    name: str | None = None
    depends_on: tuple[str, ...] = ()
    explicit: tuple[str, ...] = ()
    files: Mapping[str, FileField] = field(default_factory=dict)

    @property
    def key(self) -> Key:
        """How the results name this item: its name, else its index."""
        return self.name if self.name is not None else self.index


@dataclass(frozen=True)
class ItemResult:
    """What one item got: ``ok`` with its decoded ``body``, or an ``error``."""

    ok: bool
    body: Any = None
    error: MetaAgentError | None = None
    status: int | None = None

    def unwrap(self) -> Any:
        """The body of a success.

        Raises:
            MetaAgentError: the item's error.
        """
        if self.error is not None:
            raise self.error
        return self.body


class BatchResults(Mapping[Key, ItemResult]):
    """Results by index (in the order added) or by name.

    ``calls`` is how many HTTP requests the batch took, ``rounds`` how many of those had to
    wait for one another.
    """

    def __init__(
        self, items: Sequence[BatchItem], results: Mapping[int, ItemResult], calls: int, rounds: int
    ) -> None:
        self._items = list(items)
        self._results = dict(results)
        self._names = {item.name: item.index for item in items if item.name}
        self.calls = calls
        self.rounds = rounds

    def __getitem__(self, key: Key) -> ItemResult:
        return self._results[self._names[key] if isinstance(key, str) else key]

    def __iter__(self) -> Iterator[Key]:
        return iter(range(len(self._items)))

    def __len__(self) -> int:
        return len(self._items)

    def errors(self) -> dict[Key, MetaAgentError]:
        """The failed items' errors, by name (or index when unnamed)."""
        found = {item.key: self._results[item.index].error for item in self._items}
        return {key: error for key, error in found.items() if error is not None}


class BatchBuilder:
    """Collects Graph calls, then runs them in chunks of at most 50 (see the module docs)."""

    def __init__(
        self,
        requestor: Requestor,
        *,
        max_size: int = MAX_BATCH_SIZE,
        concurrency: int = 4,
        max_attempts: int | None = None,
    ) -> None:
        """``concurrency`` bounds the chunks in flight; ``max_attempts`` the sends of an item
        that gets no answer (default: the requestor's retry policy).

        Raises:
            ConfigError: a limit out of range.
        """
        if not 1 <= max_size <= MAX_BATCH_SIZE or concurrency < 1:
            raise ConfigError(f"max_size must be 1..{MAX_BATCH_SIZE} and concurrency at least 1")
        self.requestor = requestor
        self.max_size = max_size
        self.concurrency = concurrency
        self.max_attempts = max_attempts or requestor.policy.max_attempts
        self.items: list[BatchItem] = []

    def __len__(self) -> int:
        return len(self.items)

    def add(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        name: str | None = None,
        depends_on: Sequence[str] = (),
        files: Mapping[str, FileField] | None = None,
    ) -> Key:
        """Add one call; returns its key in the results (``name``, else its index).

        Values are encoded as for a standalone call (lists, dicts and booleans as compact
        JSON). ``depends_on`` names items that must succeed first; references made with
        :func:`ref` add their names to it. Every dependency must have been added before.

        Raises:
            RequestValidationError: an unknown method, a duplicate or unusable name, an unknown
                dependency, or files on a call that is not a POST.
        """
        method = method.upper()
        self._check(method, name, files)
        encoded = encode_params(params or {})
        needs = dependencies(path, encoded, depends_on)
        known = {item.name for item in self.items}
        for dependency in needs:
            if dependency not in known:
                raise RequestValidationError(
                    f"Batch item depends on {dependency!r}, but no earlier item has that name",
                    field="depends_on",
                )
        item = BatchItem(
            len(self.items), method, path.strip("/"), encoded, name, needs, tuple(depends_on)
        )
        self.items.append(replace(item, files=dict(files or {})))
        return item.key

    def get(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        name: str | None = None,
        depends_on: Sequence[str] = (),
    ) -> Key:
        """Add a read (see :meth:`add`)."""
        return self.add("GET", path, params, name=name, depends_on=depends_on)

    def post(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        name: str | None = None,
        depends_on: Sequence[str] = (),
        files: Mapping[str, FileField] | None = None,
    ) -> Key:
        """Add a create or an update, with optional attached files (see :meth:`add`)."""
        return self.add("POST", path, params, name=name, depends_on=depends_on, files=files)

    def delete(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        name: str | None = None,
        depends_on: Sequence[str] = (),
    ) -> Key:
        """Add a delete (see :meth:`add`)."""
        return self.add("DELETE", path, params, name=name, depends_on=depends_on)

    async def execute(self) -> BatchResults:
        """Send every item and collect one result each.

        Nothing is raised for a failed item or a failed request: each item's error, mapped
        through the error table, is in its result.
        """
        results = await _Execution(self).run()
        log.info(
            "graph.batch.completed",
            items=len(results),
            failed=len(results.errors()),
            calls=results.calls,
            rounds=results.rounds,
        )
        return results

    def _check(self, method: str, name: str | None, files: Mapping[str, FileField] | None) -> None:
        if method not in METHODS:
            raise RequestValidationError(
                f"Batch method must be GET, POST or DELETE, not {method!r}", field="method"
            )
        if name is not None and (not name or _BAD_NAME.search(name)):
            raise RequestValidationError(
                f"Batch item name {name!r} is empty or has one of : {{ }} , & = + # ? % or a space",
                field="name",
            )
        if name is not None and any(item.name == name for item in self.items):
            raise RequestValidationError(f"Two batch items are named {name!r}", field="name")
        if files and method != "POST":
            raise RequestValidationError("Only a POST can attach files", field="files")


def dependencies(path: str, params: Mapping[str, str], explicit: Sequence[str]) -> tuple[str, ...]:
    """The names an item waits for: ``explicit`` plus every name its path or params reference."""
    referenced = [m["name"] for text in (path, *params.values()) for m in REFERENCE.finditer(text)]
    return tuple(dict.fromkeys([*explicit, *referenced]))


def form_body(params: Mapping[str, str]) -> str:
    """Params as the URL-encoded form string of a batch item's ``body``, as the SDK writes it.

    References stay as they are (not percent-encoded), as in Meta's own examples.
    """
    return "&".join(f"{quote(key)}={_quote(value)}" for key, value in params.items())


def _quote(text: str) -> str:
    parts, last = [], 0
    for match in REFERENCE.finditer(text):
        parts += [quote(text[last : match.start()]), match[0]]
        last = match.end()
    parts.append(quote(text[last:]))
    return "".join(parts)


def wire_item(item: BatchItem, in_chunk: set[str], parts: Sequence[str]) -> dict[str, Any]:
    """One entry of the ``batch`` array; ``in_chunk`` are the names sent alongside it."""
    entry: dict[str, Any] = {"method": item.method, "relative_url": item.path}
    body = form_body(item.params)
    if item.method == "GET" and body:
        entry["relative_url"] = f"{item.path}?{body}"
    elif body:
        entry["body"] = body
    if item.name:
        entry["name"] = item.name
        # Meta omits a named item's answer by default; we need every answer.
        entry["omit_response_on_success"] = False
    waits = [name for name in item.explicit if name in in_chunk]
    if waits:
        entry["depends_on"] = ",".join(waits)
    if parts:
        entry["attached_files"] = ",".join(parts)
    return entry


def substitute(text: str, answered: Mapping[str, Any]) -> str:
    """``text`` with references to answered items replaced by their values; others kept.

    Raises:
        RequestValidationError: a reference that reaches nothing in the item's answer.
    """

    def value(match: re.Match[str]) -> str:
        if match["name"] not in answered:
            return match[0]
        found = select(answered[match["name"]], match["path"])
        if not found:
            raise RequestValidationError(
                f"The reference {match[0]} reaches nothing in the answer of {match['name']!r}",
                field="params",
            )
        return ",".join(_text(item) for item in found)

    return REFERENCE.sub(value, text)


def select(document: Any, path: str) -> list[Any]:
    """The values a batch JSONPath reaches (``$``, ``.key``, ``.*``, ``[n]``, ``[*]``).

    Raises:
        RequestValidationError: a path outside that subset.
    """
    path = path.strip()
    if not path.startswith("$"):
        raise _bad_path(path)
    nodes, position = [document], 1
    while position < len(path):
        step = _STEP.match(path, position)
        if step is None:
            raise _bad_path(path)
        nodes = [child for node in nodes for child in _children(node, step["key"], step["index"])]
        position = step.end()
    return nodes


def _children(node: Any, key: str | None, index: str | None) -> list[Any]:
    if "*" in (key, index):
        if isinstance(node, Mapping):
            return list(node.values())
        return list(node) if isinstance(node, list) else []
    if key is not None and isinstance(node, Mapping):
        return [node[key]] if key in node else []
    if index is not None and isinstance(node, list) and -len(node) <= int(index) < len(node):
        return [node[int(index)]]
    return []


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool | dict | list) or value is None:
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _bad_path(path: str) -> RequestValidationError:
    return RequestValidationError(
        f"Cannot read the batch reference path {path!r}; use $.id or $.images.*.hash",
        field="params",
    )


def plan_chunks(
    items: Sequence[BatchItem], max_size: int = MAX_BATCH_SIZE
) -> list[list[BatchItem]]:
    """Pack one round's items (in the order added) into chunks of at most ``max_size``.

    Items linked by dependencies among ``items`` stay in one chunk. A group larger than a
    chunk sends only its first ``max_size`` items, which hold every dependency of their own
    (a dependency is always added earlier); the rest waits for the next round. Groups are
    packed first-fit, largest first, and each chunk keeps the order added.
    """
    groups = sorted((group[:max_size] for group in _groups(items)), key=len, reverse=True)
    chunks: list[list[BatchItem]] = []
    for group in groups:
        target = next((chunk for chunk in chunks if len(chunk) + len(group) <= max_size), None)
        if target is None:
            chunks.append(list(group))
        else:
            target.extend(group)
    return [sorted(chunk, key=lambda item: item.index) for chunk in chunks]


def _groups(items: Sequence[BatchItem]) -> list[list[BatchItem]]:
    """Items connected by dependencies (a union-find over names), each in the order added."""
    parent = {item.index: item.index for item in items}
    by_name = {item.name: item.index for item in items if item.name}

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    for item in items:
        for name in item.depends_on:
            if name in by_name:
                parent[root(item.index)] = root(by_name[name])
    groups: dict[int, list[BatchItem]] = defaultdict(list)
    for item in items:
        groups[root(item.index)].append(item)
    return list(groups.values())


def item_result(status: int, body: Any, blocked_for: float = 0.0) -> ItemResult:
    """One answered slot, judged by the rules of a standalone answer (reference §6.1)."""
    if isinstance(body, Mapping) and "error" in body:
        return ItemResult(False, body, build_error(body, status, blocked_for or None), status)
    if status >= 500 or isinstance(body, str):
        return ItemResult(
            False,
            body,
            TransientError(f"Batch item answered HTTP {status}", http_status=status),
            status,
        )
    if status >= 400 or (isinstance(body, Mapping) and body.get("success") is False):
        return ItemResult(
            False,
            body,
            ApiError(f"Batch item failed with HTTP {status}", http_status=status),
            status,
        )
    return ItemResult(True, body, None, status)


def open_slot(slot: Mapping[str, Any]) -> tuple[int, dict[str, str], Any]:
    """A slot's status, lower-cased headers and decoded body (Meta double-encodes it)."""
    headers = {
        str(header.get("name")).lower(): str(header.get("value"))
        for header in slot.get("headers") or []
        if isinstance(header, Mapping)
    }
    text = slot.get("body")
    try:
        body = json.loads(text) if isinstance(text, str) and text else None
    except json.JSONDecodeError:
        body = text
    return int(slot.get("code") or 0), headers, body


def account_key(path: str) -> str:
    """The pacing key of a path: the ad account's digits, else ``app`` (as the requestor does)."""
    first = path.strip("/").split("/", 1)[0]
    return first.removeprefix("act_") if first.startswith("act_") else "app"


class _Execution:
    """One run of a batch: what is answered, what is pending, what to send next."""

    def __init__(self, builder: BatchBuilder) -> None:
        self.builder = builder
        self.requestor = builder.requestor
        self.items = list(builder.items)
        self.by_name = {item.name: item for item in self.items if item.name}
        self.results: dict[int, ItemResult] = {}
        self.unanswered: Counter[int] = Counter()
        self.gate = asyncio.Semaphore(builder.concurrency)
        self.calls = 0
        self.rounds = 0

    async def run(self) -> BatchResults:
        while ready := self._ready():
            self.rounds += 1
            chunks = plan_chunks(ready, self.builder.max_size)
            await asyncio.gather(*(self._send(chunk) for chunk in chunks))
        return BatchResults(self.items, self.results, self.calls, self.rounds)

    def _ready(self) -> list[BatchItem]:
        """Settle what needs no request; the rest, with answered references filled in."""
        ready = []
        for item in self.items:
            if item.index in self.results:
                continue
            if self._failed_dependency(item) is not None:
                self.results[item.index] = self._dependency_failed(item)
                continue
            try:
                ready.append(self._fill(item))
            except RequestValidationError as error:
                self.results[item.index] = ItemResult(False, error=error)
        return ready

    def _fill(self, item: BatchItem) -> BatchItem:
        answered = {
            name: result.body
            for name in item.depends_on
            if (result := self._result(name)) is not None and result.ok
        }
        if not answered:
            return item
        params = {key: substitute(value, answered) for key, value in item.params.items()}
        return replace(item, path=substitute(item.path, answered), params=params)

    async def _send(self, chunk: list[BatchItem]) -> None:
        names = {item.name for item in chunk if item.name}
        files: dict[str, FileField] = {}
        entries = []
        for item in chunk:
            parts = {f"file{item.index}_{n}": part for n, part in enumerate(item.files.values())}
            files.update(parts)
            entries.append(wire_item(item, names, list(parts)))
        accounts = Counter(key for item in chunk if (key := account_key(item.path)) != "app")
        account = accounts.most_common(1)[0][0] if accounts else None
        params = {"batch": entries, "include_headers": "true"}
        async with self.gate:
            self.calls += 1
            try:
                response = await self.requestor.call(
                    "POST", "", params, files=files or None, options=CallOptions(account=account)
                )
            except MetaAgentError as error:
                self._lost(chunk, error)
                return
        self._settle(chunk, response.body)

    def _settle(self, chunk: list[BatchItem], slots: Any) -> None:
        if not isinstance(slots, list) or len(slots) != len(chunk):
            lost = OutcomeUnknownError(f"The batch answer does not hold {len(chunk)} slots")
            self._lost(chunk, lost)
            return
        for item, slot in zip(chunk, slots, strict=True):
            if isinstance(slot, Mapping):
                self.results[item.index] = self._answer(item, slot)
            else:
                self._unanswered(item)

    def _answer(self, item: BatchItem, slot: Mapping[str, Any]) -> ItemResult:
        status, headers, body = open_slot(slot)
        usage = parse_usage(headers)
        if headers:
            self.requestor.pacer.observe(account_key(item.path), usage)
        result = item_result(status, body, usage.blocked_for)
        if not result.ok and self._failed_dependency(item) is not None:
            # Meta answers 960 "Request aborted" here; say why instead.
            return self._dependency_failed(item, result.error)
        return result

    def _unanswered(self, item: BatchItem) -> None:
        """No answer: send it again next round, unless it has had its attempts."""
        if self._failed_dependency(item) is not None:
            self.results[item.index] = self._dependency_failed(item)
            return
        if any(self._result(name) is None for name in item.depends_on):
            return  # it waited on an item that did not run, so it never had its chance
        self.unanswered[item.index] += 1
        attempts = self.unanswered[item.index]
        if attempts >= self.builder.max_attempts:
            error = TransientError(
                f"Batch item {item.key!r} got no answer in {attempts} attempts", batch_item=item.key
            )
            self.results[item.index] = ItemResult(False, error=error)

    def _lost(self, chunk: list[BatchItem], error: MetaAgentError) -> None:
        """The request failed as a whole: each item carries its error. A lost answer is an
        unknown outcome only for writes; a read is simply unanswered."""
        for item in chunk:
            if not isinstance(error, OutcomeUnknownError):
                self.results[item.index] = ItemResult(False, error=error)
            elif item.method == "GET":
                self._unanswered(item)
            else:
                unknown = OutcomeUnknownError(
                    f"{item.method} {template(item.path)} in a batch may have been applied: "
                    f"{error.message}",
                    method=item.method,
                    path=item.path,
                    batch_item=item.key,
                )
                self.results[item.index] = ItemResult(False, error=unknown)

    def _result(self, name: str) -> ItemResult | None:
        return self.results.get(self.by_name[name].index)

    def _failed_dependency(self, item: BatchItem) -> str | None:
        for name in item.depends_on:
            result = self._result(name)
            if result is not None and not result.ok:
                return name
        return None

    def _dependency_failed(self, item: BatchItem, seen: MetaAgentError | None = None) -> ItemResult:
        name = self._failed_dependency(item)
        assert name is not None  # callers checked
        cause = self._result(name)
        cause_error = cause.error if cause is not None else None
        details: dict[str, Any] = {"dependency": name, "batch_item": item.key}
        if cause_error is not None:
            details["dependency_error"] = cause_error.to_dict()
        if isinstance(seen, ApiError) and seen.code is not None:
            details.update(code=seen.code, fbtrace_id=seen.details.get("fbtrace_id"))
        reason = f": {cause_error.message}" if cause_error is not None else ""
        message = f"Batch item {item.key!r} was not run because {name!r} failed{reason}"
        return ItemResult(False, error=DependencyFailedError(message, **details))
