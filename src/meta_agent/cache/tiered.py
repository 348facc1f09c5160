"""``TieredCache``: a small in-process level in front of Redis, kept honest over pub/sub.

The multi-level cache of specification §9.1. A read is served from this process's memory
when it can (no round trip), else from Redis, and the value is then kept locally for at most
``local_ttl`` seconds (never longer than Redis would keep it). Every write (``set``,
``delete``, ``invalidate``) goes to Redis first and is then announced on a pub/sub channel
named after the key prefix; every other ``TieredCache`` on that prefix drops the matching
local entries when the message arrives. The local TTL cap bounds the damage of anything the
messages cannot catch (a connection that dies silently, a write whose announcement failed).

Rules that keep the local level from serving what Redis no longer holds:

- Nothing is cached locally unless the subscription is confirmed: a process that cannot
  hear invalidations must not remember anything.
- Losing the subscription (an error, an unanswered heartbeat ``PING``, or a re-subscription
  after redis-py reconnected on its own) clears the local level and starts again.
- A read that was in flight while any invalidation arrived (or while this process wrote)
  does not fill the local level: the value it read may be the one just invalidated. One
  generation counter, bumped by every such event, decides this.
- Local pattern invalidation matches exactly what Redis's ``SCAN MATCH`` matched (the glob
  is translated byte for byte, see :func:`redis_glob`), so no entry Redis dropped survives.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

import structlog
from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from meta_agent.cache.memory import MemoryCache
from meta_agent.cache.redis import DEFAULT_URL, RedisCache

log = structlog.get_logger("meta_agent.cache")

DEFAULT_LOCAL_TTL = 30.0
DEFAULT_HEARTBEAT = 5.0
MIN_RECONNECT_DELAY = 0.1
MAX_RECONNECT_DELAY = 5.0


class SubscriptionLostError(ConnectionError):
    """The invalidation channel went quiet or was closed under us."""


class _LocalLevel(MemoryCache):
    """A MemoryCache that can also be emptied at once and filtered by a compiled glob."""

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        self._entries.clear()

    def delete_now(self, key: str) -> None:
        self._entries.pop(key, None)

    def drop_matching(self, pattern: re.Pattern[bytes]) -> None:
        for key in [key for key in self._entries if pattern.fullmatch(key.encode())]:
            del self._entries[key]


def redis_glob(pattern: str) -> re.Pattern[bytes]:
    """A regex over UTF-8 key bytes matching exactly what Redis's glob ``pattern`` matches.

    Mirrors ``stringmatchlen`` in Redis's ``util.c``: ``*``, ``?`` (one byte), ``\\x`` (a
    literal), ``[...]`` with ``^`` negation, ``a-z`` ranges (either order) and ``\\`` escapes;
    ``[]`` matches nothing and an unclosed ``[`` runs to the end of the pattern.
    """
    src = pattern.encode()
    out: list[bytes] = []
    i, n = 0, len(src)
    while i < n:
        char = src[i]
        if char == ord("*"):
            out.append(b".*")
            i += 1
        elif char == ord("?"):
            out.append(b".")
            i += 1
        elif char == ord("["):
            i += 1
            negate = i < n and src[i] == ord("^")
            i += negate
            spans: list[tuple[int, int]] = []
            while i < n:
                if src[i] == ord("\\") and n - i >= 2:
                    spans.append((src[i + 1], src[i + 1]))
                    i += 2
                elif src[i] == ord("]"):
                    i += 1
                    break
                elif n - i >= 3 and src[i + 1] == ord("-"):
                    low, high = sorted((src[i], src[i + 2]))
                    spans.append((low, high))
                    i += 3
                else:
                    spans.append((src[i], src[i]))
                    i += 1
            if not spans:
                out.append(b"." if negate else b"(?!)")
            else:
                body = b"".join(b"\\x%02x-\\x%02x" % span for span in spans)
                out.append(b"[" + (b"^" if negate else b"") + body + b"]")
        else:
            if char == ord("\\") and n - i >= 2:
                i += 1
            out.append(re.escape(src[i : i + 1]))
            i += 1
    return re.compile(b"".join(out), re.DOTALL)


class TieredCache:
    """A :class:`~meta_agent.cache.base.Cache`: local memory, then Redis, invalidated by pub/sub.

    ``local_ttl`` caps how long a value stays in this process (0 turns the local level off:
    every read goes to Redis, but writes are still announced, so processes that do keep a
    local level stay correct). ``max_local_entries`` bounds it (least recently used go
    first). ``heartbeat`` is how often a quiet subscription is PINGed; no answer within a
    second ``heartbeat`` counts as a lost subscription. ``client`` shares a caller's Redis
    client (``close`` then leaves it open). ``now`` is the local level's clock (tests).

    The subscriber starts on first use, or with :meth:`start`; :meth:`close` stops it.
    Until it is confirmed (:meth:`wait_subscribed`) every read goes to Redis.
    """

    def __init__(
        self,
        url: str = DEFAULT_URL,
        prefix: str = "meta-agent:",
        *,
        local_ttl: float = DEFAULT_LOCAL_TTL,
        max_local_entries: int = 10_000,
        heartbeat: float = DEFAULT_HEARTBEAT,
        client: Redis | None = None,
        instance_id: str | None = None,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        if local_ttl < 0:
            raise ValueError("local_ttl must be 0 (off) or more")
        self.prefix = prefix
        self.local_ttl = local_ttl
        self.instance_id = instance_id or uuid.uuid4().hex
        self._heartbeat = heartbeat
        self._owns_client = client is None
        self._redis: Redis = client if client is not None else Redis.from_url(url)
        self.remote = RedisCache(prefix=prefix, client=self._redis)
        pool = self._redis.connection_pool
        # Pub/sub messages reach every client of the server whatever database it selected,
        # so the database is part of the channel: deployments sharing a prefix on two
        # databases do not invalidate each other.
        self.channel = f"{prefix}invalidations:db{pool.connection_kwargs.get('db', 0)}"
        self.subscriber_name = f"meta-agent-tiered-cache:{self.instance_id}"
        self._local = _LocalLevel(max_entries=max_local_entries, now=now)
        self._generation = 0
        self._subscribed = False
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._sub_pool: ConnectionPool | None = None

    # -- the Cache protocol ---------------------------------------------------------------

    async def get(self, key: str) -> Any | None:
        """The value, from this process's memory when it holds it, else from Redis."""
        if not self.local_ttl:
            return await self.remote.get(key)
        self._ensure_listening()
        hit = await self._local.get(key)
        if hit is not None:
            return hit
        generation = self._generation
        full_key = self.prefix + key
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.get(full_key)
            pipe.pttl(full_key)
            raw, pttl = await pipe.execute()
        if raw is None:
            return None
        value = json.loads(raw)
        # PTTL -2: the key expired between the two commands; -1: it has no TTL.
        if self._may_fill(generation) and pttl != -2:
            ttl = self.local_ttl if pttl < 0 else min(self.local_ttl, pttl / 1000)
            await self._local.set(key, value, ttl)
        return value

    async def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        """Store in Redis, keep it locally (capped at ``local_ttl``) and tell the others."""
        self._ensure_listening()
        generation = self._generation
        kept = False
        try:
            await self.remote.set(key, value, ttl)
            if self._may_fill(generation) and (ttl is None or ttl > 0):
                local_ttl = self.local_ttl if ttl is None else min(ttl, self.local_ttl)
                await self._local.set(key, value, local_ttl)
                kept = True
        finally:
            self._generation += 1  # no read that began before this write may fill
            if not kept:
                await self._local.delete(key)
        await self._publish({"key": key})

    async def delete(self, key: str) -> None:
        """Forget one key in Redis and here, and tell the others."""
        try:
            await self.remote.delete(key)
        finally:
            self._generation += 1
            await self._local.delete(key)
        await self._publish({"key": key})

    async def invalidate(self, pattern: str) -> int:
        """Forget every key matching the glob in Redis and here, and tell the others.

        Returns how many keys went from Redis.
        """
        try:
            removed = await self.remote.invalidate(pattern)
        finally:
            self._generation += 1
            self._local.drop_matching(redis_glob(pattern))
        await self._publish({"pattern": pattern})
        return removed

    async def close(self) -> None:
        """Stop the subscriber, forget the local level, close what this cache opened."""
        if self._closed:
            return
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._drop_local()
        if self._sub_pool is not None:
            await self._sub_pool.aclose()
            self._sub_pool = None
        await self.remote.close()
        if self._owns_client:
            await self._redis.aclose()

    # -- the subscriber -------------------------------------------------------------------

    @property
    def subscribed(self) -> bool:
        """True while the invalidation channel is confirmed subscribed."""
        return self._subscribed

    @property
    def local_entries(self) -> int:
        """How many entries the local level holds (expired ones included until touched)."""
        return len(self._local)

    async def start(self) -> None:
        """Start listening for invalidations now rather than on first use."""
        self._ensure_listening()

    async def wait_subscribed(self) -> None:
        """Return once the subscription is confirmed (bound it with ``asyncio.timeout``)."""
        self._ensure_listening()
        await self._ready.wait()

    def _ensure_listening(self) -> None:
        if self._closed or not self.local_ttl:
            return
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self._listen(), name=f"tiered-cache-subscriber:{self.instance_id}"
            )

    def _may_fill(self, generation: int) -> bool:
        return bool(self.local_ttl) and self._subscribed and generation == self._generation

    def _drop_local(self) -> None:
        self._generation += 1
        self._local.clear()

    def _lose(self, reason: str | None) -> None:
        # Messages published while we were not listening are gone for good (pub/sub keeps
        # no backlog), so whatever we hold may be what they invalidated. Forget it all and
        # cache nothing locally until the subscription is confirmed again.
        was_subscribed = self._subscribed
        self._subscribed = False
        self._ready.clear()
        self._drop_local()
        if was_subscribed and reason is not None:
            log.warning("cache.subscription_lost", channel=self.channel, reason=reason)

    def _subscriber(self) -> PubSub:
        if self._sub_pool is None:
            pool = self._redis.connection_pool
            # A pool of our own: the connection is named (CLIENT LIST shows whose it is),
            # and redis-py must not retry behind our back, because a silent reconnect would
            # hide the gap in which messages were lost (a re-subscription is also caught).
            self._sub_pool = ConnectionPool(
                connection_class=pool.connection_class,
                **{
                    **pool.connection_kwargs,
                    "client_name": self.subscriber_name,
                    "retry": Retry(NoBackoff(), 0),
                },
            )
        return Redis(connection_pool=self._sub_pool).pubsub()

    async def _listen(self) -> None:
        delay = MIN_RECONNECT_DELAY
        while True:
            pubsub = self._subscriber()
            reason: str | None = None  # stays None only when cancelled (closing)
            try:
                await pubsub.subscribe(self.channel)
                await self._pump(pubsub)
            except Exception as error:  # any failure: messages may have been lost
                reason = f"{type(error).__name__}: {error}"
            finally:
                if self._subscribed:  # it worked for a while: try again soon
                    delay = MIN_RECONNECT_DELAY
                self._lose(reason)
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]  # untyped in redis-py
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_RECONNECT_DELAY)

    async def _pump(self, pubsub: PubSub) -> None:
        awaiting_pong = False
        while True:
            message = await pubsub.get_message(timeout=self._heartbeat)
            if message is None:
                if awaiting_pong:
                    raise SubscriptionLostError(f"no reply to PING within {self._heartbeat} s")
                await pubsub.ping()
                awaiting_pong = True
                continue
            awaiting_pong = False
            kind = message["type"]
            if kind == "subscribe":
                # First confirmation, or redis-py re-subscribed after reconnecting: either
                # way, anything published before this moment may have been missed.
                self._drop_local()
                self._subscribed = True
                self._ready.set()
            elif kind == "message":
                self._on_message(message["data"])
            elif kind == "unsubscribe":
                raise SubscriptionLostError("unsubscribed")

    def _on_message(self, data: bytes | str) -> None:
        try:
            body = json.loads(data)
            origin, key, pattern = body["origin"], body.get("key"), body.get("pattern")
        except (ValueError, TypeError, KeyError) as error:
            log.warning("cache.bad_invalidation", channel=self.channel, error=str(error))
            self._drop_local()  # we cannot tell what it meant to drop
            return
        if origin == self.instance_id:
            return  # our own write, already applied here
        self._generation += 1
        if isinstance(key, str):
            self._local.delete_now(key)
        elif isinstance(pattern, str):
            self._local.drop_matching(redis_glob(pattern))
        else:
            self._drop_local()

    async def _publish(self, what: dict[str, str]) -> None:
        message = json.dumps({"origin": self.instance_id, **what}, ensure_ascii=False)
        await self._redis.publish(self.channel, message)
