"""Caches behind one Protocol: in-memory by default, Redis in production.

``TieredCache`` (``tiered.py``) puts a short-lived in-process level in front of Redis and
keeps every process's copy honest over pub/sub. ``RedisCache`` and ``TieredCache`` are
imported on first use, so a process that never uses Redis never loads redis-py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from meta_agent.cache.base import Cache
from meta_agent.cache.memory import MemoryCache

if TYPE_CHECKING:
    from meta_agent.cache.redis import RedisCache
    from meta_agent.cache.tiered import TieredCache

__all__ = ["Cache", "MemoryCache", "RedisCache", "TieredCache"]


def __getattr__(name: str) -> Any:
    """Import ``RedisCache`` or ``TieredCache`` when it is first asked for."""
    if name == "RedisCache":
        from meta_agent.cache.redis import RedisCache

        return RedisCache
    if name == "TieredCache":
        from meta_agent.cache.tiered import TieredCache

        return TieredCache
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
