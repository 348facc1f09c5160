"""Targeting search and audience estimates (reference §10.1).

``GET /search?type=...`` answers from the bundled data set (``meta_agent.sandbox.data``):
interests, geolocations, locales, targeting categories, radius suggestions and option status.
``/act_{id}/targetingsearch`` searches every detailed-targeting option at once, and
``/act_{id}/reachestimate`` and ``/act_{id}/delivery_estimate`` size a targeting spec.
Every answer is deterministic: the same query gives the same data.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from meta_agent.sandbox.core import Ctx
from meta_agent.sandbox.data import Option, Place, TargetingData, targeting
from meta_agent.sandbox.data.audience import (
    bounds,
    daily_users,
    delivery_curve,
    estimate,
    nearest_city,
)
from meta_agent.sandbox.errors import invalid_param, required_param
from meta_agent.sandbox.nodes import Edge, Record, Registry, page
from meta_agent.sandbox.params import check_enum
from meta_agent.sandbox.rules.changes import V26
from meta_agent.sandbox.rules.objectives import OPTIMIZATION_GOALS

CATEGORY_CLASSES = (
    "interests",
    "behaviors",
    "demographics",
    "life_events",
    "industries",
    "income",
    "family_statuses",
    "user_device",
    "user_os",
)
GEO_TYPES = ("country", "region", "city", "zip", "geo_market")
# Location types Meta knows that the bundled data set holds none of (they find nothing).
OTHER_GEO_TYPES = (
    "electoral_district",
    "country_group",
    "neighborhood",
    "subcity",
    "medium_geo_area",
    "large_geo_area",
    "small_geo_area",
    "metro_area",
    "subneighborhood",
    "place",
)
GEO_META_KEYS = {
    "countries": "country",
    "regions": "region",
    "cities": "city",
    "zips": "zip",
    "geo_markets": "geo_market",
}
DISTANCE_UNITS = ("mile", "kilometer")
KM_PER_MILE = 1.609344


def register(registry: Registry) -> None:
    """Register ``GET /search`` and the account's targeting and estimate edges."""
    registry.root("GET", "search", _search)
    registry.add_edge("adaccount", "targetingsearch", Edge(get=_targeting_search))
    registry.add_edge("adaccount", "reachestimate", Edge(get=_reach_estimate))
    registry.add_edge("adaccount", "delivery_estimate", Edge(get=_delivery_estimate))


def _search(ctx: Ctx) -> Any:
    kind = ctx.params.require_str("type")
    handler = _HANDLERS.get(kind.lower())
    if handler is None:
        names = ", ".join(name for name, _ in _SEARCH_TYPES)
        raise invalid_param(
            f"param type must be one of {{{names}}}",
            blame="type",
            title="Invalid value",
            user_msg=f"'{kind}' is not a targeting search type.",
        )
    return handler(ctx, targeting())


def _listing(ctx: Ctx, items: Sequence[Record]) -> Any:
    return page(ctx, items, lambda item: item)


def _query(ctx: Ctx) -> str:
    """The required search text ``q``, lower-cased for matching."""
    text = ctx.params.str_("q")
    if text is None or not text.strip():
        raise required_param("q")
    return text.strip().lower()


def rank(name: str, query: str, extra: Iterable[str] = ()) -> int | None:
    """How well ``name`` matches ``query`` (0 best), or None for no match.

    Exact name, then name prefix, then a word's prefix, then anywhere in the name, then a
    match in ``extra`` (an option's path, a country's code).
    """
    text = name.lower()
    if text == query:
        return 0
    if text.startswith(query):
        return 1
    if any(word.startswith(query) for word in text.replace("(", " ").split()):
        return 2
    if query in text:
        return 3
    if any(query == item.lower() or query in item.lower().split() for item in extra):
        return 4
    return None


def _best(items: Iterable[tuple[int | None, int, Any]]) -> list[Any]:
    """Matched items ordered by rank, then by audience size (largest first)."""
    found = [(score, -size, index, item) for index, (score, size, item) in enumerate(items)]
    return [item for score, _, _, item in sorted(x for x in found if x[0] is not None)]


def interest_item(option: Option) -> dict[str, Any]:
    """An interest as ``adinterest`` search returns it."""
    item: dict[str, Any] = {
        "id": option.id,
        "name": option.name,
        "audience_size_lower_bound": option.lower,
        "audience_size_upper_bound": option.upper,
        "path": list(option.path),
        "description": option.description,
        "topic": option.topic,
    }
    if option.disambiguation:
        item["disambiguation_category"] = option.disambiguation
    return item


def category_item(option: Option) -> dict[str, Any]:
    """A detailed-targeting option as ``adTargetingCategory`` and ``targetingsearch`` list it."""
    item: dict[str, Any] = {
        "name": option.name,
        "type": option.type,
        "path": list(option.path),
        "description": option.description,
        "audience_size_lower_bound": option.lower,
        "audience_size_upper_bound": option.upper,
    }
    if option.id:
        item = {"id": option.id, **item}
    if option.platform:
        item["platform"] = option.platform
    return item


def _live_interests(data: TargetingData) -> list[Option]:
    return [option for option in data.interests() if option.status == "NORMAL"]


def _adinterest(ctx: Ctx, data: TargetingData) -> Any:
    query = _query(ctx)
    matches = _best((rank(o.name, query, o.path[:-1]), o.lower, o) for o in _live_interests(data))
    return _listing(ctx, [interest_item(option) for option in matches])


def _names(ctx: Ctx, name: str) -> list[str]:
    values = ctx.params.list_(name)
    return [str(value).strip() for value in values or [] if str(value).strip()]


def _adinterestsuggestion(ctx: Ctx, data: TargetingData) -> Any:
    names = _names(ctx, "interest_list")
    if not names:
        raise required_param("interest_list")
    wanted = {name.lower() for name in names}
    seeds = [o for o in data.interests() if o.name.lower() in wanted]
    if not seeds:  # no exact name: suggest around the best text matches instead
        seeds = _best((rank(o.name, names[0].lower()), o.lower, o) for o in data.interests())[:3]
    chosen = {seed.id for seed in seeds}
    related = _best(
        (_kinship(option, seeds), option.lower, option)
        for option in _live_interests(data)
        if option.id not in chosen
    )
    return _listing(ctx, [interest_item(option) for option in related])


def _kinship(option: Option, seeds: list[Option]) -> int | None:
    """How close an interest is to the seeds: a shared word, the same group, the same topic."""
    words = set(option.name.lower().split())
    if any(words & set(seed.name.lower().split()) for seed in seeds):
        return 0
    if any(option.path[:-1] == seed.path[:-1] for seed in seeds):
        return 1
    return 2 if any(option.topic == seed.topic for seed in seeds) else None


def _adinterestvalid(ctx: Ctx, data: TargetingData) -> Any:
    names = _names(ctx, "interest_list")
    ids = _names(ctx, "interest_fbid_list")
    if not names and not ids:
        raise required_param("interest_list")
    by_name = {option.name.lower(): option for option in data.interests()}
    items = [_validity(by_name.get(name.lower()), {"name": name}) for name in names]
    items += [_validity(_interest(data, option_id), {"id": option_id}) for option_id in ids]
    return _listing(ctx, items)


def _interest(data: TargetingData, option_id: str) -> Option | None:
    option = data.option_by_id.get(option_id)
    return option if option is not None and option.type == "interests" else None


def _validity(option: Option | None, asked: dict[str, str]) -> dict[str, Any]:
    """A deprecated interest exists but is no longer valid for new targeting (v24+)."""
    if option is None:
        return {**asked, "valid": False}
    return {
        "name": option.name,
        "valid": option.status == "NORMAL",
        "id": option.id,
        "audience_size_lower_bound": option.lower,
        "audience_size_upper_bound": option.upper,
    }


def geo_item(data: TargetingData, place: Place) -> dict[str, Any]:
    """A location as ``adgeolocation`` returns it."""
    item: dict[str, Any] = {"key": place.key, "name": place.name, "type": place.type}
    item["country_code"] = place.country_code
    if place.type != "country":
        item["country_name"] = data.country_name(place.country_code)
    if place.region_id is not None:
        region = data.place("region", str(place.region_id))
        item["region"] = region.name if region else None
        item["region_id"] = place.region_id
    if place.primary_city_id is not None:
        city = data.place("city", str(place.primary_city_id))
        item["primary_city"] = city.name if city else None
        item["primary_city_id"] = place.primary_city_id
    item["supports_region"] = True
    item["supports_city"] = True
    return item


def _adgeolocation(ctx: Ctx, data: TargetingData) -> Any:
    types = _location_types(ctx)
    country = (ctx.params.str_("country_code") or "").upper() or None
    region_id = ctx.params.int_("region_id")
    key = ctx.params.str_("key")
    query = None if key is not None and "q" not in ctx.params else _query(ctx)
    candidates = [
        place
        for place in data.places
        if place.type in types
        and (country is None or place.country_code == country)
        and (region_id is None or place.region_id == region_id)
        and (key is None or place.key == key)
    ]
    if query is None:
        return _listing(ctx, [geo_item(data, place) for place in candidates])
    order = {kind: index for index, kind in enumerate(GEO_TYPES)}
    scored = (
        (_geo_rank(place, query), -order[place.type] * 10**12 + place.reach, place)
        for place in candidates
    )
    return _listing(ctx, [geo_item(data, place) for place in _best(scored)])


def _geo_rank(place: Place, query: str) -> int | None:
    extra = (place.country_code,) if place.type == "country" else ()
    score = rank(place.name, query, extra)
    if score is None and place.type == "zip" and place.name.startswith(query):
        return 1
    return score


def _location_types(ctx: Ctx) -> set[str]:
    values = ctx.params.list_("location_types")
    if not values:
        return set(GEO_TYPES)
    for value in values:
        check_enum("location_types", str(value), (*GEO_TYPES, *OTHER_GEO_TYPES))
    return {str(value) for value in values}


def _adgeolocationmeta(ctx: Ctx, data: TargetingData) -> Any:
    found: dict[str, dict[str, Any]] = {}
    asked = False
    for param, kind in GEO_META_KEYS.items():
        keys = [str(key) for key in ctx.params.list_(param) or []]
        asked = asked or bool(keys)
        places = [data.place(kind, key.upper() if kind == "country" else key) for key in keys]
        chosen = {place.key: geo_item(data, place) for place in places if place is not None}
        if chosen:
            found[param] = chosen
    if not asked:
        raise invalid_param(
            "Param countries, regions, cities, zips or geo_markets is required",
            blame="countries",
            user_msg='List the location keys to describe, e.g. countries=["US"].',
        )
    return {"data": found}


def _adlocale(ctx: Ctx, data: TargetingData) -> Any:
    query = _query(ctx)
    matches = _best((rank(locale.name, query), 0, locale) for locale in data.locales)
    return _listing(ctx, [{"key": locale.key, "name": locale.name} for locale in matches])


def _adtargetingcategory(ctx: Ctx, data: TargetingData) -> Any:
    kind = ctx.params.str_("class")
    if kind is None:
        raise required_param("class")
    check_enum("class", kind, CATEGORY_CLASSES)
    items = [
        {**category_item(option), "real_time_cluster": False}
        for option in data.options
        if option.type == kind and option.status == "NORMAL"
    ]
    return _listing(ctx, items)


def _adradiussuggestion(ctx: Ctx, data: TargetingData) -> Any:
    lat = _coordinate(ctx, "latitude", 90)
    lon = _coordinate(ctx, "longitude", 180)
    unit = ctx.params.enum_("distance_unit", DISTANCE_UNITS) or "mile"
    radius_km = suggested_radius_km(data, lat, lon)
    radius = radius_km if unit == "kilometer" else radius_km / KM_PER_MILE
    return {"data": [{"suggested_radius": max(1, round(radius)), "distance_unit": unit}]}


def suggested_radius_km(data: TargetingData, lat: float, lon: float) -> float:
    """A radius that holds enough people: tight in a big city, wide in the countryside."""
    city, distance = nearest_city(data, lat, lon)
    if city is None or distance > 50:
        return 40.0
    people = city.reach
    base = 2.0 if people >= 5e6 else 4.0 if people >= 1e6 else 8.0 if people >= 3e5 else 12.0
    return min(80.0, base + 0.3 * distance)


def _coordinate(ctx: Ctx, name: str, limit: float) -> float:
    raw = ctx.params.str_(name)
    if raw is None:
        raise required_param(name)
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not -limit <= value <= limit:  # also refuses NaN
        raise invalid_param(
            f"Param {name} must be a number between {-limit:g} and {limit:g}", blame=name
        )
    return value


def _targetingoptionstatus(ctx: Ctx, data: TargetingData) -> Any:
    ids = _names(ctx, "targeting_option_list")
    if not ids:
        raise required_param("targeting_option_list")
    return _listing(ctx, [_option_status(data, option_id) for option_id in ids])


def _option_status(data: TargetingData, option_id: str) -> dict[str, Any]:
    option = data.option_by_id.get(option_id)
    if option is None:
        current = future = "NON-DELIVERABLE"
    elif option.status == "NORMAL":
        current = future = "NORMAL"
    else:
        current, future = option.status, "NON-DELIVERABLE"
    alternatives = [
        {"id": alt.id, "name": alt.name}
        for alt in (data.option_by_id.get(i) for i in (option.alternatives if option else ()))
        if alt is not None
    ]
    return {
        "id": option_id,
        "current_status": current,
        "future_status": future,
        "alternatives": alternatives,
    }


_SEARCH_TYPES: tuple[tuple[str, Callable[[Ctx, TargetingData], Any]], ...] = (
    ("adinterest", _adinterest),
    ("adinterestsuggestion", _adinterestsuggestion),
    ("adinterestvalid", _adinterestvalid),
    ("adgeolocation", _adgeolocation),
    ("adgeolocationmeta", _adgeolocationmeta),
    ("adlocale", _adlocale),
    ("adTargetingCategory", _adtargetingcategory),
    ("adradiussuggestion", _adradiussuggestion),
    ("targetingoptionstatus", _targetingoptionstatus),
)
# Meta spells adTargetingCategory in camel case; accept any case, as it does.
_HANDLERS = {name.lower(): handler for name, handler in _SEARCH_TYPES}


def _targeting_search(ctx: Ctx, account: Record) -> Any:
    query = _query(ctx)
    data = targeting()
    kinds = set(ctx.params.list_("limit_type") or CATEGORY_CLASSES)
    for kind in kinds:
        check_enum("limit_type", str(kind), CATEGORY_CLASSES)
    options = [o for o in data.options if o.id and o.status == "NORMAL" and o.type in kinds]
    matches = _best((rank(o.name, query, o.path[:-1]), o.lower, o) for o in options)
    return _listing(ctx, [category_item(option) for option in matches])


def _audience(ctx: Ctx) -> int:
    """People the request's ``targeting_spec`` reaches in this account's world."""
    spec = ctx.params.object_("targeting_spec", required=True)
    assert spec is not None
    audiences = {
        record["id"]: int(record.get("approximate_count_lower_bound", 0))
        for record in ctx.state.of_kind("customaudience")
    }
    return estimate(targeting(), spec, audiences)


def _reach_estimate(ctx: Ctx, account: Record) -> Any:
    lower, upper = bounds(_audience(ctx))
    return {
        "data": {"users_lower_bound": lower, "users_upper_bound": upper, "estimate_ready": True}
    }


def _delivery_estimate(ctx: Ctx, account: Record) -> Any:
    goal = ctx.params.enum_("optimization_goal", OPTIMIZATION_GOALS, required=True)
    assert goal is not None
    people = _audience(ctx)
    lower, upper = bounds(people)
    spec = ctx.params.object_("targeting_spec") or {}
    countries = (spec.get("geo_locations") or {}).get("countries") or [""]
    row: dict[str, Any] = {
        "estimate_mau_lower_bound": lower,
        "estimate_mau_upper_bound": upper,
        "estimate_ready": True,
        "targeting_optimization_types": [],
    }
    if not V26.applies(ctx.req.version, ctx.sb.today().date()):
        # Removed from responses by v26 (§13.2; budget_guardrail too, which the sandbox never
        # modelled). fields= still accepts the names the SDK lists; the values are omitted.
        row["daily_outcomes_curve"] = delivery_curve(
            people, str(countries[0]), goal, account["currency"]
        )
        row["estimate_dau"] = daily_users(people)
    return {"data": [row]}
