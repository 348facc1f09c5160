"""The seam where writes leave: every non-GET call the requestor sends is shown to a guard.

The requestor decodes each write it is about to send into :class:`Write` records (a batch
into one per item, exactly as the items go on the wire) and awaits ``guard.admit(writes)``
before the first attempt; the guard may refuse by raising. After a successful answer it calls
``guard.settled(writes, body)`` so the guard can learn which objects the writes created.

A client built without a guard refuses every write (:class:`NoGuard`): only the code that
installs a guard can hand out a client that writes. meta-agent's service installs the write
gate (``meta_agent.gate``); a script using the client as a library, whose author is the
principal, passes :data:`UNGUARDED` explicitly.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qsl, unquote, urlsplit

from meta_agent.errors import ConfigError


@dataclass(frozen=True)
class Write:
    """One write as it goes on the wire: method, path (no version) and encoded params."""

    method: str
    path: str
    params: Mapping[str, str]
    name: str | None = None
    """The batch item's name (its results are referenced as ``{result=name:...}``)."""
    slot: int | None = None
    """Its place in the batch (the index of its answer), None outside a batch."""

    @property
    def validate_only(self) -> bool:
        """True for a dry run: Meta checks it and changes nothing."""
        return "validate_only" in self.params.get("execution_options", "")

    @property
    def target(self) -> str:
        """The first path segment: ``act_<digits>``, an object id, or a batch reference."""
        return self.path.strip("/").split("/", 1)[0]

    @property
    def edge(self) -> str | None:
        """The edge written to (``campaigns`` in ``act_1/campaigns``), None for a node."""
        parts = self.path.strip("/").split("/")
        return parts[1] if len(parts) > 1 else None

    def to_dict(self) -> dict[str, Any]:
        """JSON form, as an approval shows it."""
        out: dict[str, Any] = {
            "method": self.method,
            "path": self.path,
            "params": dict(self.params),
        }
        if self.name:
            out["name"] = self.name
        return out


class WriteGuard(Protocol):
    """Admits or refuses writes before they are sent."""

    async def admit(self, writes: Sequence[Write]) -> None:
        """Return to let ``writes`` go; raise a :class:`~meta_agent.errors.UsageError` not to."""

    async def settled(self, writes: Sequence[Write], body: Any) -> None:
        """Told the answer of admitted writes that Meta accepted."""


class NoGuard:
    """The default: a client nobody gave a guard sends no write at all."""

    async def admit(self, writes: Sequence[Write]) -> None:
        """Refuse.

        Raises:
            ConfigError: always; install a guard to write.
        """
        raise ConfigError(
            f"{writes[0].method} {writes[0].path}: this Graph client has no write guard, so it "
            "sends no write. meta-agent's service installs its write gate; a script using the "
            "client directly passes guard=UNGUARDED to write as itself."
        )

    async def settled(self, writes: Sequence[Write], body: Any) -> None:
        """Nothing to learn."""


class _Unguarded:
    """Admits every write: for the client used as a library, where the caller is the principal."""

    async def admit(self, writes: Sequence[Write]) -> None:
        """Admit."""

    async def settled(self, writes: Sequence[Write], body: Any) -> None:
        """Nothing to learn."""


UNGUARDED: WriteGuard = _Unguarded()


def writes_of(method: str, path: str, encoded: Mapping[str, str]) -> list[Write]:
    """The writes one call sends: one, or each non-GET item of a batch.

    Raises:
        ConfigError: a batch whose ``batch`` parameter is not Meta's list of items.
    """
    if path.strip("/") or "batch" not in encoded:
        return [Write(method, path.strip("/"), dict(encoded))]
    try:
        entries = json.loads(encoded["batch"])
    except (TypeError, ValueError):
        raise ConfigError("batch: not a JSON list of items") from None
    if not isinstance(entries, list):
        raise ConfigError("batch: not a JSON list of items")
    return [write for slot, entry in enumerate(entries) if (write := _item(entry, slot))]


def _item(entry: object, slot: int) -> Write | None:
    if not isinstance(entry, Mapping):
        raise ConfigError("batch: an item is not an object")
    method = str(entry.get("method", "GET")).upper()
    if method == "GET":
        return None
    url = urlsplit(str(entry.get("relative_url", "")))
    params = dict(parse_qsl(url.query, keep_blank_values=True))
    params.update(parse_qsl(str(entry.get("body", "")), keep_blank_values=True))
    path = _strip_version(unquote(url.path))
    name = entry.get("name")
    return Write(method, path, params, name=str(name) if name else None, slot=slot)


def _strip_version(path: str) -> str:
    parts = path.strip("/").split("/")
    if parts and parts[0].startswith("v") and parts[0][1:].replace(".", "").isdigit():
        parts = parts[1:]
    return "/".join(parts)
