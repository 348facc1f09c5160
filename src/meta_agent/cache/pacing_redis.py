"""``RedisSharedPacing``: the pacing state every worker shares, in Redis.

It implements ``meta_agent.graph.pacing_state.SharedPacing`` (structurally: this layer does
not import the Graph client). Per budget key there are two Redis keys, hash-tagged so they
live in one cluster slot:

* ``{prefix}{<key>}``: the record, opaque text the pacer encodes, with the TTL its writer
  gives (the record lapses once its levels have drained and its block is over);
* ``{prefix}{<key>}:leases``: a sorted set of the calls in flight, each lease scored by its
  wall-clock expiry; expired leases are dropped before every read, and the set itself
  expires once its last lease would have, so a killed worker leaves nothing behind.

Reading and acquiring are one Lua script (one round trip, atomic); an update is an
optimistic ``WATCH``/``MULTI`` transaction, retried when another worker wrote in between,
that also removes the finished call's lease.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import WatchError

from meta_agent.cache.redis import DEFAULT_URL, ttl_milliseconds

DEFAULT_PREFIX = "meta-agent-pacing:"
MAX_UPDATE_TRIES = 50
_TIMEOUT_S = 1.0

# KEYS: the record, the leases. ARGV: now, a lease to add ("" for none), its expiry, its TTL ms.
_READ = """
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
if ARGV[2] ~= '' then
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
  if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[4]) then
    redis.call('PEXPIRE', KEYS[2], ARGV[4])
  end
end
return {redis.call('GET', KEYS[1]), redis.call('ZRANGE', KEYS[2], 0, -1)}
"""


class RedisSharedPacing:
    """Pacing state shared over Redis by every process using the same ``prefix``.

    ``client`` lets a caller share a connection pool it owns (then ``close`` leaves it open);
    otherwise one is made from ``url``, with short socket timeouts: the pacer treats the
    store as advisory and paces locally while it does not answer.
    """

    def __init__(
        self,
        url: str = DEFAULT_URL,
        prefix: str = DEFAULT_PREFIX,
        *,
        client: Redis | None = None,
        timeout: float = _TIMEOUT_S,
    ) -> None:
        self.prefix = prefix
        self._owns_client = client is None
        self._redis: Redis = (
            client
            if client is not None
            else Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        )
        self._read = self._redis.register_script(_READ)

    def keys(self, key: str) -> tuple[str, str]:
        """The Redis keys of ``key``'s record and of its leases."""
        record = f"{self.prefix}{{{key}}}"
        return record, f"{record}:leases"

    async def read(self, key: str, now: float) -> tuple[str | None, list[str]]:
        """The record and the leases still live at ``now``."""
        return await self._view(key, now, "", now, 1)

    async def acquire(
        self, key: str, lease: str, now: float, expires_at: float
    ) -> tuple[str | None, list[str]]:
        """Add ``lease`` and return, atomically with it, the record and every live lease."""
        ttl_ms = ttl_milliseconds(max(expires_at - now, 0.001))
        return await self._view(key, now, lease, expires_at, ttl_ms)

    async def _view(
        self, key: str, now: float, lease: str, expires_at: float, ttl_ms: int
    ) -> tuple[str | None, list[str]]:
        reply: list[Any] = await self._read(
            keys=list(self.keys(key)), args=[repr(now), lease, repr(expires_at), ttl_ms]
        )
        record, leases = reply
        return _text(record), [_text(member) or "" for member in leases]

    async def update(
        self,
        key: str,
        change: Callable[[str | None], tuple[str, float]],
        *,
        release: Collection[str] = (),
    ) -> str:
        """Replace the record with ``change(current)`` atomically; drop the leases in
        ``release`` with it.

        Raises:
            RuntimeError: other workers kept writing in between, ``MAX_UPDATE_TRIES`` times
                (the leases are still removed).
        """
        record, leases = self.keys(key)
        async with self._redis.pipeline(transaction=True) as pipe:
            for _ in range(MAX_UPDATE_TRIES):
                try:
                    await pipe.watch(record)
                    text, ttl = change(_text(await pipe.get(record)))
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.set(record, text.encode(), px=ttl_milliseconds(max(ttl, 0.001)))
                    if release:
                        pipe.zrem(leases, *release)
                    await pipe.execute()
                except WatchError:
                    continue
                return text
        await self.release(key, release)
        raise RuntimeError(f"pacing record {record!r} kept changing under {MAX_UPDATE_TRIES} tries")

    async def release(self, key: str, leases: Collection[str]) -> None:
        """Remove ``leases``."""
        if leases:
            await self._redis.zrem(self.keys(key)[1], *leases)

    async def close(self) -> None:
        """Close the connection pool (unless the caller passed its own client)."""
        if self._owns_client:
            await self._redis.aclose()


def _text(value: Any) -> str | None:
    if value is None or value is False:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)
