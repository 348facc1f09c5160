"""Handlers, one module per Graph object family; ``register_all`` wires them into a registry."""

from __future__ import annotations

from meta_agent.sandbox.nodes import Registry
from meta_agent.sandbox.routes import (
    adrules,
    ads,
    adsets,
    batch,
    business,
    campaigns,
    creatives,
    identity,
    images,
    insights,
    labels,
    measurement,
    search,
    thumbnails,
    videos,
)

# identity first: the other families attach edges to the ad account node it registers.
_FAMILIES = (
    identity,
    campaigns,
    adsets,
    creatives,
    ads,
    images,
    videos,
    search,
    insights,
    batch,
    business,
    measurement,
    labels,
    adrules,
    thumbnails,
)


def register_all(registry: Registry) -> None:
    """Register every family's node types, edges and root handlers."""
    for family in _FAMILIES:
        family.register(registry)
