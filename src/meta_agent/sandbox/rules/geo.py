"""Where an ad set delivers: ``targeting.geo_locations`` and the tables its rules use.

Locations are checked for shape (each kind an array, within Meta's count limits),
country codes, location types and radius bounds. :func:`reaches_eu` decides whether the
Digital Services Act fields are required.
"""

from __future__ import annotations

from typing import Any

from meta_agent.sandbox.rules.targeting_spec import as_list, targeting_error

LOCATION_KEYS = (
    "countries",
    "regions",
    "cities",
    "zips",
    "custom_locations",
    "geo_markets",
    "electoral_districts",
    "country_groups",
    "places",
    "neighborhoods",
    "subcities",
    "metro_areas",
    "large_geo_areas",
    "medium_geo_areas",
    "small_geo_areas",
    "subneighborhoods",
)
LOCATION_TYPES = ("home", "recent", "travel_in")
COUNT_LIMITS = {"regions": 200, "cities": 250, "zips": 50_000, "custom_locations": 200}
# Radius bounds in (miles, kilometres) per location kind.
RADIUS_BOUNDS = {
    "cities": ((10.0, 50.0), (17.0, 80.0)),
    "custom_locations": ((0.63, 50.0), (1.0, 80.0)),
}
_EU_MEMBERS = "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE"
EU_COUNTRIES = frozenset(_EU_MEMBERS.split())
EU_COUNTRY_GROUPS = frozenset({"worldwide", "europe", "eea", "emea"})
_MILES_PER_KM = 0.621371


def locations(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec's ``geo_locations`` object (empty when absent or malformed)."""
    geo = spec.get("geo_locations")
    return geo if isinstance(geo, dict) else {}


def check_geo(spec: dict[str, Any]) -> None:
    """A location or a custom audience is required; locations must be well formed.

    Raises:
        GraphError: no location nor audience, or the first malformed location.
    """
    geo = spec.get("geo_locations")
    located = isinstance(geo, dict) and any(geo.get(key) for key in LOCATION_KEYS)
    if not located and not spec.get("custom_audiences"):
        raise targeting_error(
            "Targeting spec must include a location (geo_locations) or a custom audience",
            "geo_locations",
            title="Location required",
            user_msg="Your audience is missing a location. Add a location or a Custom Audience.",
        )
    if geo is None:
        return
    if not isinstance(geo, dict):
        raise targeting_error(
            "geo_locations must be an object",
            "geo_locations",
            title="Invalid location",
            user_msg='Send geo_locations as an object, e.g. {"countries": ["IN"]}.',
        )
    _check_location_shapes(geo)
    _check_countries(geo)
    _check_location_types(geo)
    for key in RADIUS_BOUNDS:
        for item in as_list(geo.get(key)):
            _check_radius(key, item)


def _check_location_shapes(geo: dict[str, Any]) -> None:
    """Every location kind is an array, and no longer than Meta allows."""
    for key in LOCATION_KEYS:
        if geo.get(key) is not None and not isinstance(geo[key], list):
            raise targeting_error(
                f"geo_locations[{key}] must be an array",
                "geo_locations",
                key,
                title="Invalid location",
                user_msg=f"Send {key} as a JSON array.",
            )
    for key, limit in COUNT_LIMITS.items():
        if len(as_list(geo.get(key))) > limit:
            raise targeting_error(
                f"Too many {key} in geo_locations (at most {limit})",
                "geo_locations",
                key,
                title="Too many locations",
                user_msg=f"Target at most {limit} {key} in one ad set.",
            )


def _check_countries(geo: dict[str, Any]) -> None:
    for country in as_list(geo.get("countries")):
        if not (isinstance(country, str) and len(country) == 2 and country.isalpha()):
            raise targeting_error(
                f"Invalid country code {country!r} in geo_locations",
                "geo_locations",
                "countries",
                title="Invalid location",
                user_msg="Countries are two-letter ISO codes such as IN or US.",
            )


def _check_location_types(geo: dict[str, Any]) -> None:
    types = geo.get("location_types")
    if types is None:
        return
    if not isinstance(types, list) or not types or any(t not in LOCATION_TYPES for t in types):
        raise targeting_error(
            f"location_types must be a list drawn from {', '.join(LOCATION_TYPES)}",
            "geo_locations",
            "location_types",
            subcode=1870199,
            title="Invalid location types",
            user_msg='Use location_types ["home", "recent"] (the default) or a subset of it.',
        )


def _radius_miles(item: dict[str, Any]) -> float | None:
    """A location's radius in miles, or None when it has none."""
    if item.get("radius") is None:
        return None
    value = _number(item["radius"])
    return value * _MILES_PER_KM if item.get("distance_unit") == "kilometer" else value


def _check_radius(key: str, item: Any) -> None:
    if not isinstance(item, dict) or item.get("radius") is None:
        return
    km = item.get("distance_unit") == "kilometer"
    low, high = RADIUS_BOUNDS[key][1 if km else 0]
    radius = _number(item["radius"])
    if not low <= radius <= high:
        unit = "km" if km else "mi"
        raise targeting_error(
            f"Radius {item['radius']} is out of range for {key} ({low}-{high} {unit})",
            "geo_locations",
            key,
            title="Radius out of range",
            user_msg=f"Pick a radius between {low} and {high} {unit} for {key}.",
        )


def _number(value: Any) -> float:
    """A radius as a float; anything unparseable becomes -1 so range checks refuse it."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return -1.0


def below_radius(geo: dict[str, Any], miles: float) -> bool:
    """Whether any city or custom location has a radius below ``miles``."""
    for key in RADIUS_BOUNDS:
        for item in as_list(geo.get(key)):
            radius = _radius_miles(item) if isinstance(item, dict) else None
            if radius is not None and radius < miles:
                return True
    return False


def reaches_eu(spec: dict[str, Any]) -> bool:
    """Whether the spec's locations include an EU member state."""
    geo = locations(spec)
    countries = {str(c).upper() for c in as_list(geo.get("countries"))}
    groups = {str(g).lower() for g in as_list(geo.get("country_groups"))}
    located = {
        str(item.get("country", "")).upper()
        for key in ("regions", "cities", "zips")
        for item in as_list(geo.get(key))
        if isinstance(item, dict)
    }
    return bool((countries | located) & EU_COUNTRIES or groups & EU_COUNTRY_GROUPS)
