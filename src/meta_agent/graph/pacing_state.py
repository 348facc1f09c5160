"""What the pacers of several processes share per budget key, behind one small protocol.

Meta's budgets belong to the ad account and the app, not to a process: N workers that each
pace only their own calls would together spend N times the budget. A :class:`SharedPacing`
store holds, per key,

* one *record*: the key's levels as the union of every process's responses (each budget's
  level with the wall-clock time it was seen, its drain and learned cost; the tier; the
  wall-clock time a block ends), as opaque text the pacer encodes and merges, and
* the *leases* of calls in flight: opaque strings (the pacer puts its owner and the call's
  weight in them), each live until its own wall-clock expiry, so that a process killed
  mid-call cannot hold budget for ever.

The store knows nothing of pacing: it only makes each step atomic. The Redis implementation
lives in :mod:`meta_agent.cache.pacing_redis` (this layer may not import Redis);
:class:`MemorySharedPacing` shares state between the clients of one process (and tests).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Protocol

View = tuple[str | None, list[str]]
"""A key's record (None when there is none) and its live leases."""

Change = Callable[[str | None], tuple[str, float]]
"""The current record (None when there is none) to the new one and how many seconds it lives."""


class SharedPacing(Protocol):
    """Per-key pacing state shared by every process that draws on the same budgets."""

    async def read(self, key: str, now: float) -> View:
        """The record and the leases still live at ``now`` (wall-clock seconds)."""
        ...

    async def acquire(self, key: str, lease: str, now: float, expires_at: float) -> View:
        """Add ``lease``, live until ``expires_at``, and return in the same atomic step the
        record and every live lease (this one included): of two concurrent acquirers, the
        later one always sees the earlier one's lease."""
        ...

    async def update(self, key: str, change: Change, *, release: Collection[str] = ()) -> str:
        """Replace the record with ``change(current)`` atomically, and return it.

        ``change`` may be called more than once (when another writer got in between) and
        must not have side effects. The leases in ``release`` are removed in the same atomic
        step, so a call's cost shows in the record at the instant its lease stops counting.
        """
        ...

    async def release(self, key: str, leases: Collection[str]) -> None:
        """Remove ``leases`` (those expired or unknown are ignored)."""
        ...


class MemorySharedPacing:
    """A :class:`SharedPacing` in this process's memory (several clients of one process).

    Records live as long as the object (their TTL is not enforced); leases expire as in Redis.
    """

    def __init__(self) -> None:
        self._records: dict[str, str] = {}
        self._leases: dict[str, dict[str, float]] = {}

    def _view(self, key: str, now: float) -> View:
        leases = self._leases.get(key, {})
        for lease in [lease for lease, expires in leases.items() if expires <= now]:
            del leases[lease]
        return self._records.get(key), sorted(leases)

    async def read(self, key: str, now: float) -> View:
        """The record and the leases still live at ``now``."""
        return self._view(key, now)

    async def acquire(self, key: str, lease: str, now: float, expires_at: float) -> View:
        """Add ``lease`` and return the record and every live lease."""
        self._leases.setdefault(key, {})[lease] = expires_at
        return self._view(key, now)

    async def update(self, key: str, change: Change, *, release: Collection[str] = ()) -> str:
        """Replace the record with ``change(current)``; drop the leases in ``release``."""
        text, _ttl = change(self._records.get(key))
        self._records[key] = text
        await self.release(key, release)
        return text

    async def release(self, key: str, leases: Collection[str]) -> None:
        """Remove ``leases``."""
        held = self._leases.get(key, {})
        for lease in leases:
            held.pop(lease, None)
