"""Rows per campaign, ad set, ad and creative, and the level of an object Meta knows.

Each row is one object's totals over the period, from an insights query at that level
(``level=adset`` on a campaign gives one row per ad set). Creatives are not an insights
level: their rows are the ad rows grouped by the creative each ad shows.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict

from meta_agent.agents.keys import untagged
from meta_agent.agents.report import Level, Metrics
from meta_agent.errors import ApiError, NotFoundError
from meta_agent.graph.client import GraphClient
from meta_agent.graph.models import AdCreative, InsightsRow

RowLevel = Literal["campaign", "adset", "ad", "creative"]
# The insights levels below each object's own, shallowest first.
LEVELS_BELOW: dict[str, tuple[Level, ...]] = {
    "account": ("campaign", "adset", "ad"),
    "campaign": ("adset", "ad"),
    "adset": ("ad",),
    "ad": (),
}
# Probes for an object's kind: only an ad has adset_id, only an ad set (or ad) campaign_id.
_PROBES: tuple[tuple[str, Level], ...] = (("adset_id", "ad"), ("campaign_id", "adset"))
NOT_FOUND_SUBCODE = 33

MetricsOf = Callable[[Sequence[InsightsRow]], Metrics]


class LevelRow(BaseModel):
    """One object's figures: its id, name (without meta-agent's key tag), attribution
    setting and metrics."""

    model_config = ConfigDict(frozen=True)

    level: RowLevel
    id: str
    name: str
    metrics: Metrics
    attribution_setting: str | None = None
    thumbnail_url: str | None = None


def level_rows(rows: Sequence[InsightsRow], level: Level, metrics: MetricsOf) -> list[LevelRow]:
    """The rows of a ``level=`` query grouped per object, biggest spend first."""
    groups: dict[str, list[InsightsRow]] = {}
    for row in rows:
        groups.setdefault(_field(row, f"{level}_id") or "unknown", []).append(row)
    built = [
        LevelRow(
            level=level,
            id=object_id,
            name=untagged(_field(group[0], f"{level}_name") or object_id),
            metrics=metrics(group),
            attribution_setting=_field(group[0], "attribution_setting"),
        )
        for object_id, group in groups.items()
    ]
    return _biggest_first(built)


def _field(row: InsightsRow, name: str) -> str | None:
    value = getattr(row, name, None) or (row.model_extra or {}).get(name)
    return None if value is None else str(value)


def _biggest_first(rows: list[LevelRow]) -> list[LevelRow]:
    return sorted(rows, key=lambda item: (-item.metrics.spend_major, item.name, item.id))


async def creative_rows(
    graph: GraphClient, ad_rows: Sequence[InsightsRow], metrics: MetricsOf
) -> list[LevelRow]:
    """The ad rows grouped by the creative each ad shows, with its thumbnail."""
    by_ad: dict[str, list[InsightsRow]] = {}
    for row in ad_rows:
        by_ad.setdefault(_field(row, "ad_id") or "unknown", []).append(row)
    ads = await asyncio.gather(
        *(graph.ads.get(ad_id, ["id", "creative{id,name,thumbnail_url}"]) for ad_id in by_ad)
    )
    groups: dict[str, list[InsightsRow]] = {}
    shown: dict[str, AdCreative | None] = {}
    for ad_id, ad in zip(by_ad, ads, strict=True):
        key = ad.creative.id if ad.creative and ad.creative.id else f"ad {ad_id}"
        shown[key] = ad.creative
        groups.setdefault(key, []).extend(by_ad[ad_id])
    built = [_creative_row(key, shown[key], group, metrics) for key, group in groups.items()]
    return _biggest_first(built)


def _creative_row(
    key: str, creative: AdCreative | None, rows: list[InsightsRow], metrics: MetricsOf
) -> LevelRow:
    return LevelRow(
        level="creative",
        id=key,
        name=untagged((creative.name if creative else None) or key),
        thumbnail_url=creative.thumbnail_url if creative else None,
        metrics=metrics(rows),
        attribution_setting=_field(rows[0], "attribution_setting"),
    )


async def object_level(graph: GraphClient, object_id: str) -> Level:
    """The level of ``object_id`` (``act_...`` is an account), asked of Meta.

    Meta refuses a field a node type does not have, so reading ``adset_id`` and then
    ``campaign_id`` tells an ad from an ad set from a campaign.

    Raises:
        NotFoundError: Meta has no such object, or this token cannot see it.
    """
    if object_id.startswith("act_"):
        return "account"
    for probe, level in _PROBES:
        try:
            await graph.get(object_id, {"fields": f"id,{probe}"})
        except NotFoundError:
            raise
        except ApiError as error:
            if error.code != 100 or error.subcode == NOT_FOUND_SUBCODE:
                raise
            continue
        return level
    return "campaign"
