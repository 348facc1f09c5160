"""Caches behind one Protocol: in-memory by default, Redis in production.

``RedisCache`` is imported on first use, so a process that never uses Redis never loads
redis-py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from meta_agent.cache.base import Cache
from meta_agent.cache.memory import MemoryCache

if TYPE_CHECKING:
    from meta_agent.cache.redis import RedisCache

__all__ = ["Cache", "MemoryCache", "RedisCache"]


def __getattr__(name: str) -> Any:
    """Import ``RedisCache`` when it is first asked for."""
    if name == "RedisCache":
        from meta_agent.cache.redis import RedisCache

        return RedisCache
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
