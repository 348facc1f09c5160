"""(being written) the search family."""

from __future__ import annotations

from meta_agent.sandbox.nodes import Registry


def register(registry: Registry) -> None:
    """Register this family's node types and edges."""
