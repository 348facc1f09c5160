"""RedisCache specifics: PX precision, JSON on the wire, prefixes, SCAN (never KEYS)."""

from __future__ import annotations

import asyncio

import pytest

from meta_agent.cache import RedisCache
from meta_agent.cache.redis import escape_glob, ttl_milliseconds
from tests.cache.conftest import RedisBackend
from tests.services import REDIS_URL, unique_name


@pytest.mark.parametrize(("ttl", "px"), [(1.5, 1500), (0.0004, 1), (0.0015, 2), (3600, 3_600_000)])
def test_ttl_becomes_milliseconds_rounded_up(ttl: float, px: int) -> None:
    """A TTL in seconds becomes PX milliseconds, never rounded down to zero."""
    assert ttl_milliseconds(ttl) == px


def test_escape_glob_neutralises_every_special() -> None:
    """Glob specials in a prefix are escaped so they match themselves."""
    assert escape_glob(r"a*b?[c]\d") == r"a\*b\?\[c\]\\d"


@pytest.mark.redis
async def test_ttl_is_set_in_milliseconds(redis_backend: RedisBackend) -> None:
    """set(ttl=1.5) gives the key a 1500 ms PTTL on the server."""
    await redis_backend.cache.set("k", 1, ttl=1.5)
    assert 1400 < await redis_backend.raw.pttl(f"{redis_backend.prefix}k") <= 1500


@pytest.mark.redis
async def test_server_really_expires_the_key(redis_backend: RedisBackend) -> None:
    """With a 10 ms TTL the server itself drops the key (a 30 ms real wait)."""
    await redis_backend.cache.set("k", 1, ttl=0.01)
    await asyncio.sleep(0.03)
    assert await redis_backend.cache.get("k") is None


@pytest.mark.redis
async def test_values_are_compact_json_under_the_prefix(redis_backend: RedisBackend) -> None:
    """On the server a value is compact UTF-8 JSON at prefix + key."""
    await redis_backend.cache.set("k", {"a": [1, "₹"]})
    assert await redis_backend.raw.get(f"{redis_backend.prefix}k") == '{"a":[1,"₹"]}'.encode()


@pytest.mark.redis
async def test_prefixes_isolate_caches_on_one_server(redis_backend: RedisBackend) -> None:
    """Two prefixes share a server without seeing or invalidating each other's keys."""
    other = RedisCache(REDIS_URL, prefix=redis_backend.prefix + "other:")
    outside = unique_name("meta-agent-outside")
    await redis_backend.raw.set(outside, b"x")
    try:
        await redis_backend.cache.set("k", "mine")
        await other.set("k", "theirs")
        assert await other.invalidate("*") == 1
        assert await redis_backend.cache.get("k") == "mine"
        assert await redis_backend.cache.invalidate("*") == 1
        assert await redis_backend.raw.get(outside) == b"x"
    finally:
        await redis_backend.raw.unlink(outside)
        await other.close()


@pytest.mark.redis
async def test_glob_characters_in_the_prefix_are_literal(redis_backend: RedisBackend) -> None:
    """A prefix like ``t[12]:`` invalidates only its own keys, not ``t1:`` or ``t2:`` keys."""
    base = redis_backend.prefix
    bracketed = RedisCache(REDIS_URL, prefix=f"{base}t[12]:")
    plain = RedisCache(REDIS_URL, prefix=f"{base}t1:")
    try:
        await bracketed.set("k", 1)
        await plain.set("k", 2)
        assert await bracketed.invalidate("*") == 1
        assert await plain.get("k") == 2
    finally:
        await bracketed.close()
        await plain.close()


@pytest.mark.redis
async def test_invalidate_scans_and_never_uses_keys(redis_backend: RedisBackend) -> None:
    """invalidate walks the keyspace with SCAN and removes with UNLINK; KEYS is never sent."""
    await redis_backend.cache.set("k", 1)
    before = await redis_backend.raw.info("commandstats")
    await redis_backend.cache.invalidate("*")
    after = await redis_backend.raw.info("commandstats")

    def calls(stats: dict[str, dict[str, int]], command: str) -> int:
        return stats.get(f"cmdstat_{command}", {}).get("calls", 0)

    assert calls(after, "keys") == calls(before, "keys")
    assert calls(after, "scan") > calls(before, "scan")
    assert calls(after, "unlink") > calls(before, "unlink")


@pytest.mark.redis
async def test_close_leaves_a_shared_client_open(redis_backend: RedisBackend) -> None:
    """A cache built on the caller's client does not close that client."""
    shared = RedisCache(prefix=redis_backend.prefix, client=redis_backend.raw)
    await shared.set("k", 1)
    await shared.close()
    assert await redis_backend.raw.ping()
