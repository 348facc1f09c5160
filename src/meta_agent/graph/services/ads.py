"""Ads: ``act_{id}/ads``, ``{adset_id}/ads`` and ``/{ad_id}`` (reference §3.4)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import Field

from meta_agent.graph.models import Ad
from meta_agent.graph.pagination import Paginator
from meta_agent.graph.services._base import PausableService, WriteSpec


class CreativeRef(WriteSpec):
    """``creative={"creative_id": ...}``: the creative an ad shows."""

    creative_id: str


class AdCreate(WriteSpec):
    """A new ad: an ad set showing a creative. It sits in review before it can deliver."""

    name: str = Field(min_length=1, max_length=400)
    adset_id: str
    creative: CreativeRef
    status: str = "PAUSED"
    tracking_specs: list[dict[str, Any]] | None = None
    conversion_domain: str | None = None
    adlabels: list[dict[str, Any]] | None = None


class AdUpdate(WriteSpec):
    """Changes to an ad; pointing it at another creative sends it back to review."""

    name: str | None = Field(default=None, min_length=1, max_length=400)
    status: str | None = None
    creative: CreativeRef | None = None
    tracking_specs: list[dict[str, Any]] | None = None


class AdService(PausableService[Ad, AdCreate, AdUpdate]):
    """Create, read, list, change, pause and delete ads."""

    _edge = "ads"
    _model = Ad

    def list_for_adset(
        self,
        adset_id: str,
        *,
        fields: Sequence[str] | None = None,
        page_size: int | None = None,
        summary: bool = False,
    ) -> Paginator[Ad]:
        """The ads of one ad set, lazily."""
        path = f"{adset_id}/ads"
        return self._list(path, Ad, fields=fields, page_size=page_size, summary=summary)
