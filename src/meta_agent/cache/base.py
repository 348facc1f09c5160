"""The cache Protocol (specification §9.1): JSON values with TTLs and pattern invalidation.

``MemoryCache`` (``memory.py``) is the default for one process; ``RedisCache``
(``redis.py``) is shared by every worker in production. Keys are plain strings such as
``targeting:interest:v25.0:running shoes``; patterns are globs (``targeting:*``).
"""

from __future__ import annotations

from typing import Any, Protocol


class Cache(Protocol):
    """A small async key-value cache of JSON-compatible values."""

    async def get(self, key: str) -> Any | None:
        """The value, or None when absent or expired."""

    async def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        """Store a JSON-compatible value; ``ttl`` in seconds (None: until invalidated)."""

    async def delete(self, key: str) -> None:
        """Forget one key."""

    async def invalidate(self, pattern: str) -> int:
        """Forget every key matching the glob ``pattern``; returns how many went."""

    async def close(self) -> None:
        """Release connections."""
