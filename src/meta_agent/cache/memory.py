"""``MemoryCache``: the default cache, a dict in this process with TTLs and globs."""

from __future__ import annotations

import copy
import fnmatch
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any


class MemoryCache:
    """An in-process LRU cache of JSON-compatible values (see :class:`~.base.Cache`).

    Values are deep-copied in and out, so a caller mutating what it got back cannot
    corrupt what the next caller reads (as with Redis, where values are serialised).
    """

    def __init__(
        self, *, max_entries: int = 10_000, now: Callable[[], float] = time.monotonic
    ) -> None:
        self._entries: OrderedDict[str, tuple[float | None, Any]] = OrderedDict()
        self._max = max_entries
        self._now = now

    async def get(self, key: str) -> Any | None:
        """The value, or None when absent or expired."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, value = entry
        if expires is not None and expires <= self._now():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return copy.deepcopy(value)

    async def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        """Store a value for ``ttl`` seconds (None: until invalidated or evicted)."""
        expires = None if ttl is None else self._now() + ttl
        self._entries[key] = (expires, copy.deepcopy(value))
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    async def delete(self, key: str) -> None:
        """Forget one key."""
        self._entries.pop(key, None)

    async def invalidate(self, pattern: str) -> int:
        """Forget every key matching the glob; returns how many went."""
        now = self._now()
        doomed = [key for key in self._entries if fnmatch.fnmatchcase(key, pattern)]
        live = 0
        for key in doomed:
            expires, _ = self._entries.pop(key)
            live += expires is None or expires > now  # an expired key was already gone
        return live

    async def close(self) -> None:
        """Nothing to release."""
