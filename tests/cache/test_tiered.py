"""TieredCache against the real Redis: local level, pub/sub invalidation, lost subscriptions.

Two ``TieredCache`` objects on one prefix play two processes. Every test runs under its own
prefix (the ``redis_backend`` fixture, which also skips, or fails in CI, when Redis is down
and removes the keys afterwards). Waits for a message are bounded polls, never sleeps
hoping it arrived. The cache contract suite (``test_cache_contract.py``) is re-collected
here against a TieredCache, through this module's ``backend`` fixture.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from redis.asyncio import Redis

from meta_agent.cache import TieredCache
from meta_agent.cache.redis import escape_glob
from meta_agent.cache.tiered import redis_glob
from meta_agent.config import load_settings
from tests.cache.conftest import FakeMonotonic, RedisBackend
from tests.cache.test_cache_contract import (  # noqa: F401 - collected here against TieredCache
    test_delete_forgets_one_key,
    test_invalidate_handles_many_keys,
    test_invalidate_removes_matching_keys_only,
    test_invalidate_understands_glob_syntax,
    test_missing_key_is_none,
    test_non_positive_ttl_is_already_expired,
    test_overwriting_replaces_value_and_ttl,
    test_returned_values_are_copies,
    test_value_expires_after_its_ttl,
    test_value_without_ttl_stays,
    test_values_round_trip,
)
from tests.services import REDIS_URL

pytestmark = pytest.mark.redis

WAIT = 3.0  # seconds a message or a reconnection may take before the test fails
LONG = 60.0  # a local TTL no test outlives: what goes early went because of a message


async def eventually(check: Callable[[], Awaitable[bool]], within: float = WAIT) -> bool:
    """Poll ``check`` every 10 ms until it holds; False if it never did within ``within``."""
    try:
        async with asyncio.timeout(within):
            while not await check():  # noqa: ASYNC110 - the state polled lives in Redis
                await asyncio.sleep(0.01)
    except TimeoutError:
        return False
    return True


async def subscribed(cache: TieredCache) -> TieredCache:
    """``cache`` once its invalidation channel is confirmed (fails the test otherwise)."""
    async with asyncio.timeout(WAIT):
        await cache.wait_subscribed()
    return cache


async def heard(listener: TieredCache, speaker: TieredCache) -> None:
    """Return once ``listener`` has handled every message ``speaker`` has published so far.

    Messages from one publisher arrive in order, so when the listener has dropped a barrier
    key the speaker deleted last, it has handled everything before it too.
    """
    barrier = f"barrier:{uuid.uuid4().hex}"
    await listener.set(barrier, 1)
    await speaker.delete(barrier)

    async def dropped() -> bool:
        return await listener.get(barrier) is None

    assert await eventually(dropped), "the listener never heard the speaker"


class TieredBackend:
    """The contract suite's backend: a TieredCache on a fake clock, over ``RedisBackend``."""

    def __init__(self, redis: RedisBackend) -> None:
        self.redis = redis
        self.clock = FakeMonotonic()
        self.cache = TieredCache(REDIS_URL, prefix=redis.prefix, now=self.clock)

    async def advance(self, seconds: float) -> None:
        """Let ``seconds`` pass, for the local level and for Redis."""
        self.clock.now += seconds
        await self.redis.advance(seconds)


@pytest.fixture
async def backend(redis_backend: RedisBackend) -> AsyncIterator[TieredBackend]:
    """Overrides the contract suite's ``backend``: a subscribed TieredCache."""
    tiered = TieredBackend(redis_backend)
    await subscribed(tiered.cache)
    yield tiered
    await tiered.cache.close()


@pytest.fixture
async def caches(
    redis_backend: RedisBackend,
) -> AsyncIterator[Callable[..., Awaitable[TieredCache]]]:
    """Make subscribed TieredCaches (``processes``) on the test's prefix; closed afterwards."""
    made: list[TieredCache] = []

    async def make(**options: Any) -> TieredCache:
        options.setdefault("url", REDIS_URL)
        options.setdefault("local_ttl", LONG)
        cache = TieredCache(prefix=redis_backend.prefix, **options)
        made.append(cache)
        return await subscribed(cache) if cache.local_ttl else cache

    yield make
    for cache in made:
        await cache.close()


async def test_a_write_elsewhere_replaces_the_local_copy(
    caches: Callable[..., Awaitable[TieredCache]], redis_backend: RedisBackend
) -> None:
    """A holds k locally; B sets k; A's next read returns B's value."""
    a, b = await caches(), await caches()
    await b.set("k", "first")
    await heard(a, b)  # else B's announcement of "first" could drop A's copy of it
    assert await a.get("k") == "first"
    await redis_backend.raw.set(f"{redis_backend.prefix}k", b'"behind-its-back"')
    assert await a.get("k") == "first"  # served locally: a raw write announces nothing
    await b.set("k", "second")

    async def a_sees_second() -> bool:
        return await a.get("k") == "second"

    assert await eventually(a_sees_second)


async def test_a_delete_elsewhere_drops_the_local_copy(
    caches: Callable[..., Awaitable[TieredCache]],
) -> None:
    """A holds k locally; B deletes k; A's next read misses."""
    a, b = await caches(), await caches()
    await a.set("k", {"v": 1})
    assert await a.get("k") == {"v": 1}
    await b.delete("k")

    async def a_misses() -> bool:
        return await a.get("k") is None

    assert await eventually(a_misses)


async def test_an_invalidation_elsewhere_drops_only_matching_local_copies(
    caches: Callable[..., Awaitable[TieredCache]], redis_backend: RedisBackend
) -> None:
    """B's invalidate("targeting:*") empties A's matching entries and keeps the others."""
    a, b = await caches(), await caches()
    for key in ("targeting:a", "targeting:b", "insights:x"):
        await a.set(key, key)
    await redis_backend.raw.set(f"{redis_backend.prefix}insights:x", b'"changed-in-redis"')
    assert await b.invalidate("targeting:*") == 2

    async def targeting_gone() -> bool:
        return [await a.get("targeting:a"), await a.get("targeting:b")] == [None, None]

    assert await eventually(targeting_gone)
    assert await a.get("insights:x") == "insights:x"  # still the local copy: not matched
    assert a.local_entries == 1


async def test_a_cache_with_the_local_level_off_still_announces_its_writes(
    caches: Callable[..., Awaitable[TieredCache]],
) -> None:
    """local_ttl=0 reads through to Redis, but its writes still invalidate the others."""
    a, off = await caches(), await caches(local_ttl=0)
    await a.set("k", 1)
    await off.set("k", 2)
    assert off.local_entries == 0
    assert not off.subscribed

    async def a_sees_2() -> bool:
        return await a.get("k") == 2

    assert await eventually(a_sees_2)


async def test_a_local_hit_does_not_touch_redis_until_local_ttl(
    caches: Callable[..., Awaitable[TieredCache]], redis_backend: RedisBackend
) -> None:
    """Deleted straight in Redis, k is still served locally, and gone once local_ttl passes."""
    a = await caches(local_ttl=0.3)
    await redis_backend.raw.set(f"{redis_backend.prefix}k", b'"v"')
    assert await a.get("k") == "v"  # a miss: read from Redis, kept locally
    await redis_backend.raw.unlink(f"{redis_backend.prefix}k")
    assert await a.get("k") == "v"
    await asyncio.sleep(0.35)
    assert await a.get("k") is None


async def test_the_local_copy_never_outlives_the_redis_ttl(
    caches: Callable[..., Awaitable[TieredCache]], redis_backend: RedisBackend
) -> None:
    """A value with a 0.2 s TTL (written here or read from Redis) is gone after 0.3 s."""
    a = await caches()
    await a.set("written", 1, ttl=0.2)
    await redis_backend.raw.set(f"{redis_backend.prefix}read", b"2", px=200)
    assert (await a.get("written"), await a.get("read")) == (1, 2)
    assert a.local_entries == 2
    await asyncio.sleep(0.3)
    assert (await a.get("written"), await a.get("read")) == (None, None)


async def test_a_read_in_flight_during_an_invalidation_does_not_fill(
    redis_backend: RedisBackend, caches: Callable[..., Awaitable[TieredCache]]
) -> None:
    """A reads the old value, B's write lands before A's read returns: A must not keep it."""
    client = Redis.from_url(REDIS_URL)
    read_done, release = asyncio.Event(), asyncio.Event()
    real_pipeline = client.pipeline

    def gated_pipeline(*args: Any, **kwargs: Any) -> Any:
        pipe = real_pipeline(*args, **kwargs)
        execute = pipe.execute

        async def held_execute(*a: Any, **k: Any) -> Any:
            result = await execute(*a, **k)
            read_done.set()
            await release.wait()
            return result

        setattr(pipe, "execute", held_execute)  # noqa: B010 - replace a method on one instance
        return pipe

    a = await caches(client=client)
    b = await caches()
    try:
        await b.set("k", "old")
        await heard(a, b)
        await a.set("witness", 1)  # dropped by B's last message: shows A has read them all
        client.pipeline = gated_pipeline  # type: ignore[method-assign]
        reading = asyncio.create_task(a.get("k"))
        await asyncio.wait_for(read_done.wait(), WAIT)
        await b.set("k", "new")
        await b.delete("witness")

        async def a_heard_both() -> bool:
            return a.local_entries == 0

        assert await eventually(a_heard_both)
        release.set()
        assert await reading == "old"  # the read began before the write: fine to return
        client.pipeline = real_pipeline  # type: ignore[method-assign]
        assert await a.get("k") == "new"  # but it was not kept
    finally:
        release.set()
        await client.aclose()


async def _subscriber_ids(raw: Redis, cache: TieredCache) -> list[str]:
    clients: list[dict[str, Any]] = await raw.client_list()
    return [str(c["id"]) for c in clients if c.get("name") == cache.subscriber_name]


async def test_a_dropped_subscription_clears_the_local_level(
    caches: Callable[..., Awaitable[TieredCache]], redis_backend: RedisBackend
) -> None:
    """Its subscriber connection killed, A forgets what it held, re-subscribes, listens again."""
    a, b = await caches(), await caches()
    await a.set("k", "held")
    await redis_backend.raw.unlink(f"{redis_backend.prefix}k")
    assert await a.get("k") == "held"  # local, and Redis no longer has it
    (killed,) = await _subscriber_ids(redis_backend.raw, a)
    assert await redis_backend.raw.client_kill_filter(_id=killed) == 1

    async def a_forgot() -> bool:
        return await a.get("k") is None

    assert await eventually(a_forgot)  # long before local_ttl (60 s) could explain it
    await subscribed(a)
    assert killed not in await _subscriber_ids(redis_backend.raw, a)
    await b.set("k", 1)
    await heard(a, b)
    assert await a.get("k") == 1
    assert a.local_entries == 1  # held locally again: only a message can replace it
    await b.set("k", 2)

    async def a_sees_2() -> bool:
        return await a.get("k") == 2

    assert await eventually(a_sees_2)


class FreezableProxy:
    """A TCP relay to Redis that can go silent without closing: a dead link nobody reports.

    ``freeze`` holds every byte in both directions; ``swallow`` makes the relay drop, from
    then on, whatever a client sends on a connection once it has sent that token (the
    server never hears it, so never answers).
    """

    def __init__(self, upstream: str, *, swallow: bytes | None = None) -> None:
        parts = urlsplit(upstream)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 6379
        self._swallow = swallow
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._writers: list[asyncio.StreamWriter] = []
        self._relays: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None
        userinfo = parts.netloc.rpartition("@")[0]
        self._template = (parts, f"{userinfo}@" if userinfo else "")

    async def start(self) -> str:
        """Listen on a free loopback port; the Redis URL that goes through the relay."""
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        parts, userinfo = self._template
        return parts._replace(netloc=f"{userinfo}127.0.0.1:{port}").geturl()

    def freeze(self) -> None:
        """Stop relaying in both directions (bytes wait in the relay)."""
        self._flowing.clear()

    def thaw(self) -> None:
        """Relay again."""
        self._flowing.set()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(self._host, self._port)
        self._writers += [writer, up_writer]
        for src, dst, outbound in ((reader, up_writer, True), (up_reader, writer, False)):
            task = asyncio.create_task(self._relay(src, dst, outbound))
            self._relays.add(task)
            task.add_done_callback(self._relays.discard)

    async def _relay(
        self, src: asyncio.StreamReader, dst: asyncio.StreamWriter, outbound: bool
    ) -> None:
        swallowing = False
        try:
            while data := await src.read(65536):
                await self._flowing.wait()
                swallowing = swallowing or bool(
                    outbound and self._swallow and self._swallow in data
                )
                if not swallowing:
                    dst.write(data)
                    await dst.drain()
        except ConnectionError:
            pass
        finally:
            dst.close()

    async def close(self) -> None:
        """Close every relayed connection and the listener."""
        self.thaw()
        for writer in self._writers:
            writer.close()
        for task in list(self._relays):
            task.cancel()
        await asyncio.gather(*self._relays, return_exceptions=True)
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


async def test_a_silent_subscription_is_caught_by_the_heartbeat(
    caches: Callable[..., Awaitable[TieredCache]],
) -> None:
    """The link goes quiet without closing: unanswered PINGs make A drop its local level."""
    proxy = FreezableProxy(REDIS_URL)
    try:
        a = await caches(url=await proxy.start(), heartbeat=0.1)
        await a.set("k", "held")
        assert a.local_entries == 1
        proxy.freeze()

        async def a_gave_up() -> bool:
            return not a.subscribed and a.local_entries == 0

        assert await eventually(a_gave_up)  # ~2 heartbeats, not local_ttl (60 s)
        proxy.thaw()
        await subscribed(a)
        await a.close()  # before the relay goes, so it does not watch its link die
    finally:
        await proxy.close()


async def test_nothing_is_kept_locally_until_the_subscription_is_confirmed(
    redis_backend: RedisBackend,
) -> None:
    """A cache whose SUBSCRIBE never gets through reads and writes Redis, and holds nothing."""
    proxy = FreezableProxy(REDIS_URL, swallow=b"SUBSCRIBE")
    key = f"{redis_backend.prefix}k"
    try:
        a = TieredCache(
            await proxy.start(), prefix=redis_backend.prefix, local_ttl=LONG, heartbeat=0.1
        )
        await a.start()
        try:
            await redis_backend.raw.set(key, b"1")
            assert await a.get("k") == 1
            await a.set("mine", 2)
            await asyncio.sleep(0.3)  # time enough to subscribe, were SUBSCRIBE answered
            await redis_backend.raw.set(key, b"3")
            assert (await a.get("k"), await a.get("mine")) == (3, 2)
            assert (a.subscribed, a.local_entries) == (False, 0)
        finally:
            await a.close()
    finally:
        await proxy.close()


async def test_writes_are_announced_on_the_prefix_channel(
    caches: Callable[..., Awaitable[TieredCache]], redis_backend: RedisBackend
) -> None:
    """set/delete/invalidate each publish the key or pattern and the writer's instance id."""
    a = await caches(local_ttl=0, instance_id="writer-1")
    database = urlsplit(REDIS_URL).path.strip("/") or "0"
    assert a.channel == f"{redis_backend.prefix}invalidations:db{database}"
    pubsub = redis_backend.raw.pubsub()
    await pubsub.subscribe(a.channel)
    try:
        assert (await pubsub.get_message(timeout=WAIT) or {}).get("type") == "subscribe"
        await a.set("k", 1)
        await a.delete("k")
        await a.invalidate("t:*")
        seen = []
        for _ in range(3):
            message = await pubsub.get_message(timeout=WAIT)
            assert message is not None
            seen.append(json.loads(message["data"]))
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]
    assert seen == [
        {"origin": "writer-1", "key": "k"},
        {"origin": "writer-1", "key": "k"},
        {"origin": "writer-1", "pattern": "t:*"},
    ]


KEYS = ["k1", "k2", "ka", "kb", "kc", "k*", "k]", "k-", "k\\", "k[", "k^", "kk2", "₹x", "k\nz"]
PATTERNS = [
    "*",
    "k?",
    "k[1x]",
    "k[^1]",
    "k[a-c]",
    "k[c-a]",
    "k\\*",
    "k[\\]]",
    "k[",
    "k[^",
    "k[]",
    "k[^]",
    "k[a-]",
    "k[]]",
    "?x",
    "???x",
    "k\\",
    "k\\\\",
    "*2",
    "k?z",
]


async def test_local_pattern_matching_is_exactly_redis_glob(
    redis_backend: RedisBackend,
) -> None:
    """For every pattern, redis_glob picks the very keys SCAN MATCH picks on the server."""
    prefix = redis_backend.prefix
    for key in KEYS:
        await redis_backend.raw.set(prefix + key, b"1")
    for pattern in PATTERNS:
        match = escape_glob(prefix) + pattern
        server = {
            key.decode()[len(prefix) :]
            async for key in redis_backend.raw.scan_iter(match=match, count=1000)
        }
        local = {key for key in KEYS if redis_glob(pattern).fullmatch(key.encode())}
        assert local == server, pattern


async def test_the_service_builds_a_tiered_cache_for_redis(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """cache.backend=redis gives a TieredCache; cache.local_ttl (default 30, 0 = off) reaches it."""
    from meta_agent.service.facade import _cache

    monkeypatch.setenv("META_AGENT_CACHE__BACKEND", "redis")
    monkeypatch.setenv("META_AGENT_CACHE__URL", REDIS_URL)
    for env, expected in ((None, 30.0), ("0", 0.0)):
        if env is not None:
            monkeypatch.setenv("META_AGENT_CACHE__LOCAL_TTL", env)
        cache = await _cache(load_settings())
        try:
            assert isinstance(cache, TieredCache)
            assert cache.local_ttl == expected
        finally:
            await cache.close()
