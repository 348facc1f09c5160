"""A small LRU of derived values that are valid only for one version of the sandbox's state.

Reading an async report run page by page recomputes the same layout on every page unless it
is kept; this memo keeps it. An entry remembers the state object and its ``version`` when
it was built and is rebuilt when either changed (a write, a reset or a loaded state), so a
cached value never outlives the objects it was derived from.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from meta_agent.sandbox.state import SandboxState

T = TypeVar("T")


@dataclass(frozen=True)
class _Entry:
    state: SandboxState
    version: int
    value: Any


class StateMemo:
    """At most ``size`` values, each tied to the state version it was computed from."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable, state: SandboxState, build: Callable[[], T]) -> T:
        """The value under ``key`` for this state version, built (and kept) when absent."""
        entry = self._entries.get(key)
        if entry is not None and entry.state is state and entry.version == state.version:
            self._entries.move_to_end(key)
            self.hits += 1
            return cast(T, entry.value)
        self.misses += 1
        value = build()
        self._entries[key] = _Entry(state, state.version, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        """Forget every entry."""
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
