"""The Batch API's wire format (reference §8): items, references, the ``batch`` array, slots.

Pure functions only: how an item is written into the ``batch`` parameter, how a
``{result=name:$.path}`` reference is found and filled from an earlier answer (the JSONPath
subset batches use), and how an answered slot is opened.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from meta_agent.errors import RequestValidationError
from meta_agent.graph.transport import FileField

REFERENCE = re.compile(r"\{result=(?P<name>[^:{}]+):(?P<path>[^{}]*)\}")
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

    @property
    def is_write(self) -> bool:
        """Whether sending it twice could apply it twice (anything but a GET)."""
        return self.method != "GET"


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
