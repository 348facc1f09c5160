"""``RedisCache``: the cache shared by every worker, over redis-py's asyncio client.

Values are stored as compact JSON, so what comes back is what any other worker (or a
``MemoryCache``) would return: plain dicts, lists, strings, numbers, booleans and None.
Every key lives under ``prefix``, so several deployments (or tests) can share one server;
``invalidate`` walks only that prefix with ``SCAN`` (never ``KEYS``, which blocks the
server) and removes keys with ``UNLINK`` (freed in the background).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from redis.asyncio import Redis

DEFAULT_URL = "redis://127.0.0.1:6379/0"
SCAN_BATCH = 500
_GLOB_SPECIALS = re.compile(r"([*?\[\]\\])")


def escape_glob(text: str) -> str:
    """``text`` as a Redis glob that matches only itself."""
    return _GLOB_SPECIALS.sub(r"\\\1", text)


def ttl_milliseconds(ttl: float) -> int:
    """A TTL in seconds as Redis ``PX`` milliseconds, rounded up so it never becomes 0."""
    return max(1, math.ceil(ttl * 1000))


class RedisCache:
    """A :class:`~meta_agent.cache.base.Cache` in Redis.

    ``client`` lets a caller share a connection pool it owns (then ``close`` leaves it open);
    otherwise one is made from ``url``. Glob patterns follow Redis: ``*``, ``?``, ``[abc]``.
    """

    def __init__(
        self,
        url: str = DEFAULT_URL,
        prefix: str = "meta-agent:",
        *,
        client: Redis | None = None,
    ) -> None:
        self.prefix = prefix
        self._owns_client = client is None
        self._redis: Redis = client if client is not None else Redis.from_url(url)

    def _key(self, key: str) -> str:
        return self.prefix + key

    async def get(self, key: str) -> Any | None:
        """The value, or None when absent or expired."""
        raw = await self._redis.get(self._key(key))
        return None if raw is None else json.loads(raw)

    async def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        """Store a JSON-compatible value for ``ttl`` seconds (None: until invalidated).

        A ``ttl`` of zero or less means already expired: the key is removed.
        """
        if ttl is not None and ttl <= 0:
            await self.delete(key)
            return
        data = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        px = None if ttl is None else ttl_milliseconds(ttl)
        await self._redis.set(self._key(key), data.encode(), px=px)

    async def delete(self, key: str) -> None:
        """Forget one key."""
        await self._redis.unlink(self._key(key))

    async def invalidate(self, pattern: str) -> int:
        """Forget every key under the prefix matching the glob; returns how many went."""
        match = escape_glob(self.prefix) + pattern
        removed = 0
        batch: list[bytes] = []
        async for key in self._redis.scan_iter(match=match, count=SCAN_BATCH):
            batch.append(key)
            if len(batch) >= SCAN_BATCH:
                removed += await self._redis.unlink(*batch)
                batch = []
        if batch:
            removed += await self._redis.unlink(*batch)
        return removed

    async def close(self) -> None:
        """Close the connection pool (unless the caller passed its own client)."""
        if self._owns_client:
            await self._redis.aclose()
