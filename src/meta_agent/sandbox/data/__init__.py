"""The sandbox's bundled targeting data set, read once from ``targeting.json``.

Interests, behaviours and other detailed-targeting options, countries, regions, cities, ZIP
codes, geo markets and locales, with made-up ids in Meta's styles (``6003…`` interests,
``"3847"`` regions, ``"US:94110"`` ZIPs, ``"DMA:807"`` markets) and audience sizes in the right
order of magnitude. Targeting search answers from it and reach estimates are derived from it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any


@dataclass(frozen=True)
class Option:
    """One detailed-targeting option: an interest, behaviour, life event, industry, device…"""

    name: str
    type: str
    path: tuple[str, ...]
    lower: int
    upper: int
    id: str | None = None
    description: str | None = None
    topic: str | None = None
    disambiguation: str | None = None
    platform: str | None = None
    status: str = "NORMAL"
    alternatives: tuple[str, ...] = ()


@dataclass(frozen=True)
class Place:
    """A targetable location: country, region, city, ZIP code or geo market."""

    key: str
    name: str
    type: str
    country_code: str
    reach: int
    region_id: int | None = None
    primary_city_id: int | None = None
    latitude: float | None = None
    longitude: float | None = None
    male_share: float = 0.5


@dataclass(frozen=True)
class Locale:
    """A language targetable through ``locales`` (integer keys, as Meta's)."""

    key: int
    name: str


@dataclass(frozen=True)
class TargetingData:
    """The whole data set, with lookups by id and key."""

    options: tuple[Option, ...]
    places: tuple[Place, ...]
    locales: tuple[Locale, ...]
    option_by_id: dict[str, Option] = field(default_factory=dict)
    place_by_key: dict[tuple[str, str], Place] = field(default_factory=dict)

    def interests(self) -> list[Option]:
        """The interests, in the data set's order."""
        return [option for option in self.options if option.type == "interests"]

    def of_type(self, kind: str) -> list[Place]:
        """Places of one type (``country``, ``region``, ``city``, ``zip``, ``geo_market``)."""
        return [place for place in self.places if place.type == kind]

    def place(self, kind: str, key: str) -> Place | None:
        """The place of ``kind`` with this key (keys compare as strings)."""
        return self.place_by_key.get((kind, key))

    def country_name(self, code: str) -> str:
        """A country's English name (the code itself when unknown)."""
        country = self.place("country", code)
        return country.name if country else code


@cache
def targeting() -> TargetingData:
    """The bundled data set (loaded on first use, then shared)."""
    text = resources.files(__name__).joinpath("targeting.json").read_text(encoding="utf-8")
    raw = json.loads(text)
    options = (
        *(_option(item, "interests") for item in raw["interests"]),
        *(_option(item, item["type"]) for item in raw["categories"]),
    )
    places = (
        *(_place(item, "country", item["key"]) for item in raw["countries"]),
        *(_place(item, "region", item["country_code"]) for item in raw["regions"]),
        *(_place(item, "city", item["country_code"]) for item in raw["cities"]),
        *(_place(item, "zip", item["country_code"]) for item in raw["zips"]),
        *(_place(item, "geo_market", item["country_code"]) for item in raw["geo_markets"]),
    )
    locales = tuple(Locale(int(item["key"]), item["name"]) for item in raw["locales"])
    return TargetingData(
        options,
        places,
        locales,
        {option.id: option for option in options if option.id},
        {(place.type, place.key): place for place in places},
    )


def _option(item: dict[str, Any], kind: str) -> Option:
    return Option(
        name=item["name"],
        type=kind,
        path=tuple(item.get("path") or ()),
        lower=int(item["audience_size_lower_bound"]),
        upper=int(item["audience_size_upper_bound"]),
        id=item.get("id"),
        description=item.get("description"),
        topic=item.get("topic"),
        disambiguation=item.get("disambiguation_category"),
        platform=item.get("platform"),
        status=item.get("status", "NORMAL"),
        alternatives=tuple(item.get("alternatives") or ()),
    )


def _place(item: dict[str, Any], kind: str, country_code: str) -> Place:
    return Place(
        key=str(item["key"]),
        name=item["name"],
        type=kind,
        country_code=country_code,
        reach=int(item["reach"]),
        region_id=item.get("region_id"),
        primary_city_id=item.get("primary_city_id"),
        latitude=item.get("latitude"),
        longitude=item.get("longitude"),
        male_share=float(item.get("male_share", 0.5)),
    )
