"""The TargetingHelper: interest and place names become keys, and params a ``TargetingSpec``.

Each name is looked up once through targeting search (``adinterest``, ``adgeolocation``) and
the answer cached for a week under ``targeting:{kind}:{version}:{term}``. The exact name wins
(case aside); otherwise the interest with the largest audience, or the place Meta ranks
first. A name that matches nothing is the caller's to fix, so it raises a
:class:`RequestValidationError` naming the term and where it was given.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from meta_agent.agents.params import CityTarget, PlaceQuery, TargetingParams
from meta_agent.agents.validation import join_path
from meta_agent.cache.base import Cache
from meta_agent.errors import RequestValidationError
from meta_agent.graph.client import GraphClient
from meta_agent.graph.models import GeoLocation, TargetingOption, TargetingSpec

TTL_SECONDS = 7 * 24 * 3600  # interest ids and place keys change rarely
# A resolved place's type → the geo_locations key it goes under.
GEO_KEYS = {
    "country": "countries",
    "region": "regions",
    "city": "cities",
    "zip": "zips",
    "geo_market": "geo_markets",
}
Resolved = dict[str, Any]


class TargetingHelper:
    """Resolve targeting names through Meta's search, with a cache, into a ``TargetingSpec``."""

    def __init__(self, graph: GraphClient, cache: Cache) -> None:
        self._graph = graph
        self._cache = cache
        # Searches under way, by cache key: ad sets of one launch naming the same interest
        # wait for one search instead of each sending its own.
        self._searching: dict[str, asyncio.Task[Resolved | None]] = {}

    async def build(
        self, params: TargetingParams, account_id: str, *, at: str = "targeting"
    ) -> TargetingSpec:
        """The wire ``targeting`` for ``params``, every name resolved (searches run at once).

        ``account_id`` is the account the ad set belongs to (custom audiences are checked
        against it by Meta on create); ``at`` prefixes field paths in errors.

        Raises:
            RequestValidationError: a name matched nothing (``targeting.interests[2]``).
            ApiError: a search failed.
        """
        interests, places = await asyncio.gather(
            self._resolve_all(params.interests, self.interest, f"{at}.interests"),
            self._resolve_all(params.places, self.place, f"{at}.places"),
        )
        return targeting_spec(params, interests, places)

    async def interest(self, name: str) -> Resolved | None:
        """The interest ``{"id", "name"}`` best matching ``name``, or None (cached a week).

        Raises:
            ApiError: the search failed.
        """
        return await self._cached("interest", name, lambda: self._search_interest(name))

    async def place(self, query: PlaceQuery) -> Resolved | None:
        """The place ``{"key", "name", "type", ...}`` best matching ``query``, or None.

        Raises:
            ApiError: the search failed.
        """
        term = ":".join(filter(None, (query.name, query.location_type, query.country_code)))
        return await self._cached("place", term, lambda: self._search_place(query))

    async def _resolve_all(
        self,
        terms: Sequence[Any],
        resolve: Callable[[Any], Awaitable[Resolved | None]],
        path: str,
    ) -> list[Resolved]:
        found = await asyncio.gather(*(resolve(term) for term in terms))
        for index, (term, match) in enumerate(zip(terms, found, strict=True)):
            if match is None:
                raise _unmatched(term, join_path(path, index))
        return [match for match in found if match is not None]

    async def _cached(
        self, kind: str, term: str, search: Callable[[], Awaitable[Resolved | None]]
    ) -> Resolved | None:
        key = f"targeting:{kind}:{self._graph.settings.version}:{term.lower()}"
        hit = await self._cache.get(key)
        if hit is not None:
            return dict(hit)
        task = self._searching.get(key)
        if task is None:
            task = asyncio.ensure_future(self._search_and_keep(key, search))
            self._searching[key] = task
            task.add_done_callback(lambda _: self._searching.pop(key, None))
        # Shielded: one waiter given up on does not cancel the search the others wait for.
        return await asyncio.shield(task)

    async def _search_and_keep(
        self, key: str, search: Callable[[], Awaitable[Resolved | None]]
    ) -> Resolved | None:
        found = await search()
        if found is not None:  # a miss is not cached: the name may be fixed and tried again
            await self._cache.set(key, found, ttl=TTL_SECONDS)
        return found

    async def _search_interest(self, name: str) -> Resolved | None:
        options = await self._graph.targeting.search_interests(name, limit=25)
        best = pick_interest(name, options)
        return None if best is None else {"id": best.id, "name": best.name}

    async def _search_place(self, query: PlaceQuery) -> Resolved | None:
        types = [query.location_type] if query.location_type else None
        places = await self._graph.targeting.search_geolocations(
            query.name, location_types=types, country_code=query.country_code, limit=25
        )
        best = pick_place(query.name, places)
        if best is None:
            return None
        found: Resolved = {"key": best.key, "name": best.name, "type": best.type}
        if best.type == "city" and query.radius is not None:
            found |= {"radius": query.radius, "distance_unit": query.distance_unit}
        return found


def pick_interest(name: str, options: Sequence[TargetingOption]) -> TargetingOption | None:
    """The option named ``name`` (case aside), else the one with the largest audience."""
    usable = [option for option in options if option.id and option.valid is not False]
    exact = [option for option in usable if option.name.lower() == name.strip().lower()]
    pool = exact or usable
    return max(pool, key=lambda o: o.audience_size_upper_bound or 0, default=None)


def pick_place(name: str, places: Sequence[GeoLocation]) -> GeoLocation | None:
    """The place named ``name`` (case aside), else the first Meta ranks (None when none)."""
    usable = [place for place in places if place.type in GEO_KEYS]
    exact = [place for place in usable if place.name.lower() == name.strip().lower()]
    pool = exact or usable
    return pool[0] if pool else None


def _unmatched(term: Any, path: str) -> RequestValidationError:
    if isinstance(term, PlaceQuery):
        return RequestValidationError(
            f'{path}: no place matches "{term.name}"; check the spelling or give a country_code',
            field=path,
            term=term.name,
        )
    return RequestValidationError(
        f'{path}: no interest matches "{term}"; try a broader term', field=path, term=term
    )


def targeting_spec(
    params: TargetingParams, interests: Sequence[Resolved], places: Sequence[Resolved]
) -> TargetingSpec:
    """The wire spec from params and resolved names (pure: no search, no cache)."""
    spec: dict[str, Any] = {
        "geo_locations": _geo(params, places),
        "age_min": params.age_min,
        "age_max": params.age_max,
        "targeting_automation": {"advantage_audience": int(params.advantage_audience)},
    }
    chosen = _interests(params, interests)
    optional = {
        "genders": list(params.genders) or None,
        "locales": list(params.locales) or None,
        "flexible_spec": [{"interests": chosen}] if chosen else None,
        "custom_audiences": [{"id": i} for i in params.custom_audiences] or None,
        "excluded_custom_audiences": [{"id": i} for i in params.excluded_custom_audiences] or None,
    }
    spec |= {key: value for key, value in optional.items() if value is not None}
    if params.placements is not None:
        spec |= params.placements.model_dump(exclude_defaults=True)
        spec["publisher_platforms"] = list(params.placements.publisher_platforms)
    return TargetingSpec.model_validate(spec)


def _interests(params: TargetingParams, resolved: Sequence[Resolved]) -> list[dict[str, str]]:
    chosen: dict[str, dict[str, str]] = {i: {"id": i} for i in params.interest_ids}
    for item in resolved:
        chosen.setdefault(str(item["id"]), {"id": str(item["id"]), "name": str(item["name"])})
    return list(chosen.values())


def _city(city: CityTarget) -> dict[str, Any]:
    if city.radius is None:
        return {"key": city.key}
    return {"key": city.key, "radius": city.radius, "distance_unit": city.distance_unit}


def _geo(params: TargetingParams, places: Sequence[Resolved]) -> dict[str, Any]:
    geo: dict[str, list[Any]] = {
        "countries": list(params.countries),
        "regions": [{"key": key} for key in params.regions],
        "cities": [_city(city) for city in params.cities],
        "zips": [{"key": key} for key in params.zips],
        "geo_markets": [],
    }
    for place in places:
        bucket = GEO_KEYS[place["type"]]
        entry = {k: v for k, v in place.items() if k in {"key", "radius", "distance_unit"}}
        item = place["key"] if bucket == "countries" else entry
        if item not in geo[bucket]:
            geo[bucket].append(item)
    out: dict[str, Any] = {key: value for key, value in geo.items() if value}
    if params.location_types:
        out["location_types"] = list(params.location_types)
    return out
