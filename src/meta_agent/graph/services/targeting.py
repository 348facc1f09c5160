"""Targeting search (``/search?type=...``) and reach estimates (reference §10.1).

Searches answer one page: ask for more with ``limit`` rather than paging through results
that are ranked by relevance.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from meta_agent.graph.models import (
    GeoLocation,
    GraphModel,
    Locale,
    ReachEstimate,
    TargetingOption,
    TargetingSpec,
)
from meta_agent.graph.services._base import Service, act

R = TypeVar("R", bound=GraphModel)


class TargetingService(Service):
    """Find interests, places and locales to target, and size an audience."""

    async def search_interests(
        self, query: str, *, limit: int | None = None, locale: str | None = None
    ) -> builtins.list[TargetingOption]:
        """Interests matching ``query`` (``type=adinterest``), with audience size bounds.

        Raises:
            InvalidParameterError: Meta refused the search.
        """
        params = {"type": "adinterest", "q": query, "limit": limit, "locale": locale}
        return await self._search(params, TargetingOption)

    async def suggest_interests(
        self, interests: Sequence[str], *, limit: int | None = None
    ) -> builtins.list[TargetingOption]:
        """Interests related to the named ones (``type=adinterestsuggestion``).

        Raises:
            InvalidParameterError: Meta refused the search.
        """
        params = {"type": "adinterestsuggestion", "interest_list": [*interests], "limit": limit}
        return await self._search(params, TargetingOption)

    async def validate_interests(
        self, names: Sequence[str] = (), ids: Sequence[str] = ()
    ) -> builtins.list[TargetingOption]:
        """Which interests (by name or id) can still be targeted: see each item's ``valid``.

        Raises:
            InvalidParameterError: Meta refused the check.
        """
        params = {
            "type": "adinterestvalid",
            "interest_list": [*names] or None,
            "interest_fbid_list": [*ids] or None,
        }
        return await self._search(params, TargetingOption)

    async def search_geolocations(
        self,
        query: str,
        *,
        location_types: Sequence[str] | None = None,
        country_code: str | None = None,
        limit: int | None = None,
    ) -> builtins.list[GeoLocation]:
        """Countries, regions, cities, zips... matching ``query`` (``type=adgeolocation``).

        Raises:
            InvalidParameterError: Meta refused the search.
        """
        params = {
            "type": "adgeolocation",
            "q": query,
            "location_types": [*location_types] if location_types else None,
            "country_code": country_code,
            "limit": limit,
        }
        return await self._search(params, GeoLocation)

    async def search_locales(self, query: str) -> builtins.list[Locale]:
        """Locales matching ``query`` (``type=adlocale``); their keys go into ``locales``.

        Raises:
            InvalidParameterError: Meta refused the search.
        """
        return await self._search({"type": "adlocale", "q": query}, Locale)

    async def browse(self, category_class: str) -> builtins.list[TargetingOption]:
        """Every option of one class: ``interests``, ``behaviors``, ``demographics``...

        Raises:
            InvalidParameterError: an unknown class.
        """
        params = {"type": "adTargetingCategory", "class": category_class}
        return await self._search(params, TargetingOption)

    async def detailed_search(
        self, account_id: str, query: str, *, classes: Sequence[str] | None = None
    ) -> builtins.list[TargetingOption]:
        """Interests, behaviours, demographics... at once (``act_X/targetingsearch``).

        Raises:
            InvalidParameterError: an unknown class in ``classes``.
        """
        params = {"q": query, "limit_type": [*classes] if classes else None}
        path = f"{act(account_id)}/targetingsearch"
        response = await self._requestor.call("GET", path, params)
        return _parsed(response.body, TargetingOption)

    async def reach_estimate(self, account_id: str, targeting: TargetingSpec) -> ReachEstimate:
        """How many people ``targeting`` reaches from this account (a range).

        Raises:
            InvalidParameterError: the targeting spec is invalid.
        """
        params = {"targeting_spec": targeting.model_dump(mode="json", exclude_none=True)}
        response = await self._requestor.call("GET", f"{act(account_id)}/reachestimate", params)
        return ReachEstimate.model_validate(response.body["data"])

    async def _search(self, params: Mapping[str, Any], model: type[R]) -> builtins.list[R]:
        response = await self._requestor.call("GET", "search", params)
        return _parsed(response.body, model)


def _parsed(body: Any, model: type[R]) -> list[R]:
    return [model.model_validate(item) for item in (body or {}).get("data") or []]
