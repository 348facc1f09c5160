"""Caches behind one Protocol: in-memory by default, Redis in production."""

from meta_agent.cache.base import Cache
from meta_agent.cache.memory import MemoryCache

__all__ = ["Cache", "MemoryCache"]
