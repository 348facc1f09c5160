"""How many people a targeting spec reaches, and what a day's spend buys among them.

Deterministic and plausible rather than true: start from the people the locations hold, then
narrow by age, gender, language, placements and detailed targeting. Each ``flexible_spec``
entry is an OR of options (union of their shares), entries AND together (product), and
exclusions remove their union. The same spec always gives the same figures.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from meta_agent.sandbox.data import Place, TargetingData
from meta_agent.sandbox.errors import GraphError, invalid_param
from meta_agent.sandbox.rules import money

GLOBAL_USERS = 3_000_000_000  # the monthly audience option sizes are measured against
# Share of the ad audience per age band (13-17 … 65+), spread evenly over each band's years.
AGE_BANDS = ((13, 17, 0.05), (18, 24, 0.21), (25, 34, 0.29), (35, 44, 0.20), (45, 54, 0.12))
AGE_BANDS_OLD = ((55, 64, 0.08), (65, 65, 0.05))
PLATFORM_SHARE = {
    "facebook": 0.95,
    "instagram": 0.62,
    "messenger": 0.55,
    "audience_network": 0.5,
    "threads": 0.12,
    "whatsapp": 0.3,
}
DEVICE_SHARE = {"mobile": 0.97, "desktop": 0.35}
# Detailed-targeting keys whose ids the data set knows; other keys count at a flat share.
MODELLED_KEYS = ("interests", "behaviors", "life_events", "industries", "income", "family_statuses")
FLEX_KEYS = (
    *MODELLED_KEYS,
    "work_employers",
    "work_positions",
    "education_schools",
    "education_majors",
    "education_statuses",
    "relationship_statuses",
    "user_adclusters",
    "college_years",
    "interested_in",
)
UNMODELLED_SHARE = 0.04
PLACE_TYPES = {
    "countries": "country",
    "regions": "region",
    "cities": "city",
    "zips": "zip",
    "geo_markets": "geo_market",
}
OTHER_PLACE_REACH = 60_000  # neighbourhoods, places, electoral districts…: small areas
REGION_GROUP_REACH = 75_000_000  # a country group other than worldwide (europe, asia…)
RURAL_DENSITY = 40.0  # reachable people per km² away from any known city
CITY_RADIUS_KM = 20.0  # the area a city's reach is spread over
MILES_PER_KM = 0.621371


def estimate(
    data: TargetingData, spec: dict[str, Any], audiences: Mapping[str, int] | None = None
) -> int:
    """People the spec reaches (before rounding into bounds).

    Raises:
        GraphError: the spec names locations, options or audiences the data set lacks, or
            has ages or genders out of range.
    """
    raw_geo = spec.get("geo_locations")
    geo: dict[str, Any] = raw_geo if isinstance(raw_geo, dict) else {}
    located = any(geo.get(key) for key in _LOCATION_KEYS)
    if not located and not spec.get("custom_audiences"):
        raise invalid_param(
            "Targeting spec must include geo_locations with at least one location",
            blame=("targeting_spec", "geo_locations"),
            title="Location required",
            user_msg='Add geo_locations, e.g. {"countries": ["IN"]}.',
        )
    places = geo_reach(data, geo, "geo_locations") if located else math.inf
    excluded = spec.get("excluded_geo_locations")
    if located and isinstance(excluded, dict):
        places = max(places * 0.02, places - geo_reach(data, excluded, "excluded_geo_locations"))
    base = _with_audiences(places, spec, audiences or {})
    factor = _demographics(data, spec) * _languages(spec) * _placements(spec)
    factor *= _detailed(data, spec)
    return int(base * factor)


def bounds(people: int) -> tuple[int, int]:
    """``(lower, upper)`` as Meta reports them: a ±15% band rounded to two figures."""
    return _two_figures(people * 0.85), max(1000, _two_figures(people * 1.15))


def _two_figures(value: float) -> int:
    if value < 100:
        return int(value)
    scale = 10 ** (int(math.log10(value)) - 1)
    return int(round(value / scale) * scale)


_LOCATION_KEYS = (
    *PLACE_TYPES,
    "custom_locations",
    "country_groups",
    "places",
    "electoral_districts",
    "neighborhoods",
    "subcities",
    "metro_areas",
    "large_geo_areas",
    "medium_geo_areas",
    "small_geo_areas",
    "subneighborhoods",
)


def geo_reach(data: TargetingData, geo: dict[str, Any], where: str) -> float:
    """People living in the locations of one ``geo_locations``-shaped object."""
    total = 0.0
    for key in _LOCATION_KEYS:
        items = geo.get(key) or []
        if not isinstance(items, list):
            raise _bad(f"{where}.{key} must be a list", ("targeting_spec", where, key))
        for item in items:
            total += _location_reach(data, key, item, where)
    return total


def _location_reach(data: TargetingData, key: str, item: Any, where: str) -> float:
    if key in PLACE_TYPES:
        place = _place(data, key, item, where)
        return place.reach * (_radius_factor(item) if key == "cities" else 1.0)
    if key == "custom_locations":
        return _circle_reach(data, item, where)
    if key == "country_groups":
        if item == "worldwide":
            return float(sum(place.reach for place in data.of_type("country")))
        return float(REGION_GROUP_REACH)
    return float(OTHER_PLACE_REACH)


def _place(data: TargetingData, key: str, item: Any, where: str) -> Place:
    raw = item.get("key") if isinstance(item, dict) else item
    text = str(raw).upper() if key == "countries" else str(raw)
    place = data.place(PLACE_TYPES[key], text)
    if place is None:
        raise _bad(
            f"Invalid {PLACE_TYPES[key].replace('_', ' ')} key {raw!r} in {where}.{key}",
            ("targeting_spec", where, key),
            "Find valid keys with GET /search?type=adgeolocation.",
        )
    return place


def _radius_factor(item: Any) -> float:
    """A city's people scale with the radius around it (25 miles taken as the city's extent)."""
    if not isinstance(item, dict) or item.get("radius") is None:
        return 1.0
    radius = _float(item.get("radius"))
    if item.get("distance_unit") == "kilometer":
        radius *= MILES_PER_KM
    return min(1.6, max(0.4, radius / 25))


def _circle_reach(data: TargetingData, item: Any, where: str) -> float:
    """People within a pin's radius: the nearest city's density near it, countryside beyond."""
    if not isinstance(item, dict):
        raise _bad(f"{where}.custom_locations entries must be objects", ("targeting_spec", where))
    lat, lon = _float(item.get("latitude")), _float(item.get("longitude"))
    radius_km = _float(item.get("radius", 10))
    if item.get("distance_unit", "mile") != "kilometer":
        radius_km /= MILES_PER_KM
    area = math.pi * radius_km**2
    city, distance = nearest_city(data, lat, lon)
    if city is None or distance >= 40:
        return area * RURAL_DENSITY
    density = city.reach / (math.pi * CITY_RADIUS_KM**2)
    return min(area * density, city.reach * 1.5)


def nearest_city(data: TargetingData, lat: float, lon: float) -> tuple[Place | None, float]:
    """The closest city of the data set and its distance in km (None, inf when none)."""
    best: tuple[Place | None, float] = (None, math.inf)
    for city in data.of_type("city"):
        if city.latitude is None or city.longitude is None:
            continue
        distance = haversine_km(lat, lon, city.latitude, city.longitude)
        if distance < best[1]:
            best = (city, distance)
    return best


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance between two points, in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(a))


def _with_audiences(places: float, spec: dict[str, Any], audiences: Mapping[str, int]) -> float:
    """Custom audiences cap the reach at their combined size."""
    chosen = spec.get("custom_audiences") or []
    if not chosen:
        return places
    total = 0
    for item in chosen:
        audience_id = str(item.get("id") if isinstance(item, dict) else item)
        if audience_id not in audiences:
            raise _bad(
                f"Custom audience {audience_id} does not exist or is not shared with this account",
                ("targeting_spec", "custom_audiences"),
            )
        total += audiences[audience_id]
    return min(places, float(total))


def _demographics(data: TargetingData, spec: dict[str, Any]) -> float:
    age_min = _age(spec, "age_min", 18)
    age_max = _age(spec, "age_max", 65)
    if age_min > age_max:
        raise _bad("age_min must not be greater than age_max", ("targeting_spec", "age_min"))
    share = age_share(age_min, age_max) / age_share(18, 65)
    genders = spec.get("genders") or []
    if not isinstance(genders, list) or any(g not in (1, 2, "1", "2") for g in genders):
        raise _bad("genders must be a list of 1 (men) and 2 (women)", ("targeting_spec", "genders"))
    kinds = {int(g) for g in genders}
    if len(kinds) == 1:
        men = _male_share(data, spec)
        share *= men if 1 in kinds else 1 - men
    return share


def age_share(age_min: int, age_max: int) -> float:
    """Share of the ad audience aged ``age_min``..``age_max`` (65 standing for 65+)."""
    total = 0.0
    for low, high, weight in (*AGE_BANDS, *AGE_BANDS_OLD):
        years = high - low + 1
        overlap = min(high, age_max) - max(low, age_min) + 1
        total += weight * max(0, overlap) / years
    return total


def _age(spec: dict[str, Any], key: str, default: int) -> int:
    value = spec.get(key, default)
    try:
        age = int(value)
    except (TypeError, ValueError):
        raise _bad(f"{key} must be a whole number", ("targeting_spec", key)) from None
    if not 13 <= age <= 65:
        raise _bad(f"{key} must be between 13 and 65", ("targeting_spec", key))
    return age


def _male_share(data: TargetingData, spec: dict[str, Any]) -> float:
    geo = spec.get("geo_locations") or {}
    for code in geo.get("countries") or []:
        country = data.place("country", str(code).upper())
        if country is not None:
            return country.male_share
    return 0.5


def _languages(spec: dict[str, Any]) -> float:
    locales = spec.get("locales") or []
    return 1.0 if not locales else 1 - 0.6 ** len(locales)


def _placements(spec: dict[str, Any]) -> float:
    platforms = spec.get("publisher_platforms") or []
    devices = spec.get("device_platforms") or []
    return _union(PLATFORM_SHARE.get(str(p), 0.1) for p in platforms) * _union(
        DEVICE_SHARE.get(str(d), 0.5) for d in devices
    )


def _union(shares: Iterable[float]) -> float:
    """Share reached by any of several overlapping groups (1 when there are none)."""
    values = list(shares)
    if not values:
        return 1.0
    return 1 - math.prod(1 - share for share in values)


def _detailed(data: TargetingData, spec: dict[str, Any]) -> float:
    groups = list(spec.get("flexible_spec") or [])
    legacy = {key: spec[key] for key in FLEX_KEYS if spec.get(key)}
    if legacy:
        groups.append(legacy)
    factor = 1.0
    for index, group in enumerate(groups):
        if not isinstance(group, dict):
            raise _bad("flexible_spec entries must be objects", ("targeting_spec", "flexible_spec"))
        factor *= _union(_group_shares(data, group, ("flexible_spec", str(index))))
    exclusions = spec.get("exclusions")
    if isinstance(exclusions, dict):
        factor *= 1 - 0.8 * _union(_group_shares(data, exclusions, ("exclusions",)))
    for key in ("user_device", "user_os"):
        if spec.get(key):
            factor *= _union(_device_share(data, key, name) for name in spec[key])
    return factor


def _group_shares(data: TargetingData, group: dict[str, Any], path: Sequence[str]) -> list[float]:
    shares: list[float] = []
    for key, items in group.items():
        if key not in FLEX_KEYS or not isinstance(items, list):
            continue
        for item in items:
            if key in MODELLED_KEYS:
                shares.append(_option_share(data, key, item, (*path, key)))
            else:
                shares.append(UNMODELLED_SHARE)
    return shares


def _option_share(data: TargetingData, key: str, item: Any, path: Sequence[str]) -> float:
    option_id = str(item.get("id") if isinstance(item, dict) else item)
    option = data.option_by_id.get(option_id)
    if option is None or option.type != key:
        raise _bad(
            f"Invalid {key} id {option_id}",
            ("targeting_spec", *path),
            "Find valid ids with GET /search?type=adinterest or GET /act_{id}/targetingsearch.",
        )
    return min(0.6, option.lower / GLOBAL_USERS)


def _device_share(data: TargetingData, kind: str, name: Any) -> float:
    for option in data.options:
        if option.type == kind and option.name == name:
            return min(0.6, option.lower / GLOBAL_USERS)
    return UNMODELLED_SHARE


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise _bad(f"{value!r} is not a number", ("targeting_spec",)) from None


def _bad(message: str, blame: Sequence[str], user_msg: str | None = None) -> GraphError:
    return invalid_param(message, blame=blame, title="Invalid targeting spec", user_msg=user_msg)


# Cost per 1,000 impressions in US cents where the sandbox has a figure; others pay the default.
CPM_USD_CENTS = {"IN": 120, "US": 950, "GB": 650, "DE": 600, "FR": 500, "BR": 200, "ID": 150}
DEFAULT_CPM_USD_CENTS = 300
SPEND_STEPS_USD_CENTS = (0, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000)
DAILY_SHARE = 0.6  # of the monthly audience, the people on the apps on a given day
# Actions per impression by optimization goal (REACH and IMPRESSIONS count people / views).
ACTION_RATES = {
    "LINK_CLICKS": 0.012,
    "LANDING_PAGE_VIEWS": 0.008,
    "POST_ENGAGEMENT": 0.03,
    "THRUPLAY": 0.15,
    "OFFSITE_CONVERSIONS": 0.0006,
    "LEAD_GENERATION": 0.001,
    "APP_INSTALLS": 0.001,
    "PAGE_LIKES": 0.004,
}


def daily_users(people: int) -> int:
    """The audience's daily active users (``estimate_dau``)."""
    return int(people * DAILY_SHARE)


def delivery_curve(people: int, country: str, goal: str, currency: str) -> list[dict[str, Any]]:
    """``daily_outcomes_curve``: outcomes at rising daily spend, in ``currency`` minor units."""
    cpm = CPM_USD_CENTS.get(country.upper(), DEFAULT_CPM_USD_CENTS)
    dau = daily_users(people)
    return [_curve_point(step, cpm, dau, goal, currency) for step in SPEND_STEPS_USD_CENTS]


def _curve_point(spend_usd: int, cpm: int, dau: int, goal: str, currency: str) -> dict[str, Any]:
    """Outcomes of one day's spend: impressions saturate as the audience is exhausted."""
    cap = max(1, dau * 3)
    impressions = int(cap * (1 - math.exp(-(spend_usd / cpm * 1000) / cap)))
    reach = int(dau * (1 - math.exp(-impressions / max(1, dau))))
    actions = {"REACH": reach, "IMPRESSIONS": impressions}.get(
        goal, impressions * ACTION_RATES.get(goal, 0.005)
    )
    return {
        "spend": money.from_usd_minor(spend_usd, currency),
        "reach": reach,
        "impressions": impressions,
        "actions": round(actions, 2),
    }
