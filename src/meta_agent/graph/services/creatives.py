"""Ad creatives: ``act_{id}/adcreatives`` and ``/{creative_id}`` (reference §3.3).

Creatives are immutable apart from their name and status: to change what an ad shows,
create a new creative and point the ad at it.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from meta_agent.graph.models import AdCreative, ObjectStorySpec
from meta_agent.graph.services._base import ObjectService, WriteSpec


class AdCreativeCreate(WriteSpec):
    """A new creative: a story for a Page (``object_story_spec``) or an existing post."""

    name: str | None = Field(default=None, max_length=100)
    object_story_spec: ObjectStorySpec | None = None
    object_story_id: str | None = None
    asset_feed_spec: dict[str, Any] | None = None
    url_tags: str | None = None
    degrees_of_freedom_spec: dict[str, Any] | None = None
    authorization_category: str | None = None
    adlabels: list[dict[str, Any]] | None = None


class AdCreativeUpdate(WriteSpec):
    """The only changes a creative accepts."""

    name: str | None = Field(default=None, max_length=100)
    status: str | None = None
    adlabels: list[dict[str, Any]] | None = None


class AdCreativeService(ObjectService[AdCreative, AdCreativeCreate, AdCreativeUpdate]):
    """Create, read, list, rename and delete creatives."""

    _edge = "adcreatives"
    _model = AdCreative
