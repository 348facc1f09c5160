"""Cache backends for the contract suite, each with a way to make time pass without waiting.

``MemoryCache`` reads an injected clock. Redis keeps its own time, so ``RedisBackend.advance``
shortens every TTL under the test's prefix by the elapsed time (``PEXPIRE``), deleting the
keys whose TTL runs out: what waiting would do, without the wait.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from meta_agent.cache import Cache, MemoryCache
from meta_agent.cache.redis import RedisCache
from tests.services import REDIS, REDIS_URL, require, unique_name


class FakeMonotonic:
    """A monotonic clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class MemoryBackend:
    """A MemoryCache on a fake clock."""

    def __init__(self) -> None:
        self.clock = FakeMonotonic()
        self.cache: Cache = MemoryCache(now=self.clock)

    async def advance(self, seconds: float) -> None:
        """Let ``seconds`` pass."""
        self.clock.now += seconds

    async def close(self) -> None:
        """Close the cache."""
        await self.cache.close()


class RedisBackend:
    """A RedisCache under a prefix no other test uses, and a raw client to inspect it."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.raw = Redis.from_url(REDIS_URL)
        self.cache: Cache = RedisCache(REDIS_URL, prefix=prefix)

    async def advance(self, seconds: float) -> None:
        """Shorten the TTL of every key under the prefix by ``seconds``."""
        elapsed_ms = round(seconds * 1000)
        async for key in self.raw.scan_iter(match=f"{self.prefix}*"):
            remaining = await self.raw.pttl(key)
            if remaining < 0:  # no TTL (-1) or already gone (-2)
                continue
            if remaining <= elapsed_ms:
                await self.raw.unlink(key)
            else:
                await self.raw.pexpire(key, remaining - elapsed_ms)

    async def close(self) -> None:
        """Remove the test's keys and close both clients."""
        async for key in self.raw.scan_iter(match=f"{self.prefix}*"):
            await self.raw.unlink(key)
        await self.cache.close()
        await self.raw.aclose()


Backend = MemoryBackend | RedisBackend


@pytest.fixture
async def redis_backend() -> AsyncIterator[RedisBackend]:
    """A Redis-backed cache on loopback (skipped, or failed in CI, when Redis is down)."""
    require(REDIS)
    backend = RedisBackend(prefix=unique_name("meta-agent-test") + ":")
    yield backend
    await backend.close()


@pytest.fixture
async def memory_backend() -> AsyncIterator[MemoryBackend]:
    """A MemoryCache on a fake clock."""
    backend = MemoryBackend()
    yield backend
    await backend.close()


@pytest.fixture(
    params=[
        pytest.param("memory", id="memory"),
        pytest.param("redis", id="redis", marks=pytest.mark.redis),
    ]
)
def backend(request: pytest.FixtureRequest) -> Backend:
    """Each cache implementation, empty."""
    chosen: Backend = request.getfixturevalue(f"{request.param}_backend")
    return chosen
