"""The ad set ``targeting`` spec: what Meta refuses, and how it reads back (§5.5, §10.2).

Every error names the offending path inside the spec in ``blame_field_specs``
(``[["targeting", "age_max"]]``), as Meta does, so a client can point at the exact key.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from meta_agent import versions
from meta_agent.sandbox.errors import GraphError, invalid_param
from meta_agent.sandbox.state import SandboxState

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
MAX_CUSTOM_AUDIENCES = 500
# Radius bounds in (miles, kilometres) per location kind.
RADIUS_BOUNDS = {
    "cities": ((10.0, 50.0), (17.0, 80.0)),
    "custom_locations": ((0.63, 50.0), (1.0, 80.0)),
}
PLATFORMS = ("facebook", "instagram", "messenger", "audience_network", "threads", "whatsapp")
POSITIONS: dict[str, tuple[str, ...]] = {
    "facebook_positions": (
        "feed",
        "right_hand_column",
        "marketplace",
        "video_feeds",
        "story",
        "search",
        "instream_video",
        "facebook_reels",
        "facebook_reels_overlay",
        "profile_feed",
        "notification",
    ),
    "instagram_positions": (
        "stream",
        "story",
        "explore",
        "explore_home",
        "reels",
        "profile_feed",
        "ig_search",
        "profile_reels",
    ),
    "audience_network_positions": ("classic", "rewarded_video"),
    "messenger_positions": ("sponsored_messages", "story", "messenger_home"),
    "threads_positions": ("threads_stream",),
    "whatsapp_positions": ("status",),
}
DEVICE_PLATFORMS = ("mobile", "desktop")
# Categories under which Meta forces 18-65, all genders, no zips and a 15-mile radius floor.
RESTRICTED_CATEGORIES = frozenset(
    {"HOUSING", "EMPLOYMENT", "CREDIT", "FINANCIAL_PRODUCTS_SERVICES"}
)
SPECIAL_RADIUS_MILES = 15.0
_EU_MEMBERS = "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE"
EU_COUNTRIES = frozenset(_EU_MEMBERS.split())
EU_COUNTRY_GROUPS = frozenset({"worldwide", "europe", "eea", "emea"})
_MILES_PER_KM = 0.621371


@dataclass(frozen=True)
class Scope:
    """What a targeting spec is checked against: API version, account and ad categories."""

    state: SandboxState
    version: str
    account_id: str
    special_ad_categories: tuple[str, ...] = ()


def check_targeting(spec: dict[str, Any], scope: Scope) -> None:
    """Apply every targeting rule Meta enforces on ad set create and update.

    Raises:
        GraphError: the first rule the spec breaks, blaming its path inside ``targeting``.
    """
    _check_geo(spec)
    _check_audiences(spec, scope)
    advantage = _advantage_audience(spec)
    _check_ages(spec, advantage)
    _check_genders(spec)
    _check_special_categories(spec, scope.special_ad_categories)
    _check_placements(spec, scope.version)


def check_dsa(spec: dict[str, Any], beneficiary: str | None, payor: str | None) -> None:
    """Ad sets reaching the EU must say who benefits from and who pays for them (DSA).

    Raises:
        GraphError: an EU location without ``dsa_beneficiary`` or ``dsa_payor``.
    """
    if not reaches_eu(spec):
        return
    for name, value in (("dsa_beneficiary", beneficiary), ("dsa_payor", payor)):
        if not value:
            raise invalid_param(
                f"The parameter {name} is required for ad sets targeting the European Union",
                blame=name,
                title="Missing beneficiary or payer information",
                user_msg=(
                    "Ads that reach people in the EU must name the beneficiary and the payer: "
                    "send dsa_beneficiary and dsa_payor."
                ),
            )


def reaches_eu(spec: dict[str, Any]) -> bool:
    """Whether the spec's locations include an EU member state."""
    geo = _geo(spec)
    countries = {str(c).upper() for c in _as_list(geo.get("countries"))}
    groups = {str(g).lower() for g in _as_list(geo.get("country_groups"))}
    located = {
        str(item.get("country", "")).upper()
        for key in ("regions", "cities", "zips")
        for item in _as_list(geo.get(key))
        if isinstance(item, dict)
    }
    return bool((countries | located) & EU_COUNTRIES or groups & EU_COUNTRY_GROUPS)


def normalize(spec: dict[str, Any], state: SandboxState) -> dict[str, Any]:
    """The spec as Meta reads it back: defaults filled in, audiences echoed with names."""
    out = copy.deepcopy(spec)
    out.setdefault("age_min", 18)
    out.setdefault("age_max", 65)
    geo = out.get("geo_locations")
    if isinstance(geo, dict):
        geo.setdefault("location_types", ["home", "recent"])
    for key in ("custom_audiences", "excluded_custom_audiences"):
        if key in out:
            out[key] = [_named_audience(item, state) for item in _as_list(out[key])]
    out.setdefault("brand_safety_content_filter_levels", ["FACEBOOK_STANDARD", "AN_STANDARD"])
    return out


def _named_audience(item: Any, state: SandboxState) -> dict[str, Any]:
    audience_id = _audience_id(item)
    record = state.find(audience_id)
    return {"id": audience_id, "name": record["name"]} if record else {"id": audience_id}


def _bad(
    message: str, *path: str, subcode: int | None = None, title: str, user_msg: str
) -> GraphError:
    return invalid_param(
        message, subcode=subcode, blame=("targeting", *path), title=title, user_msg=user_msg
    )


def _geo(spec: dict[str, Any]) -> dict[str, Any]:
    geo = spec.get("geo_locations")
    return geo if isinstance(geo, dict) else {}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _check_geo(spec: dict[str, Any]) -> None:
    geo = spec.get("geo_locations")
    located = isinstance(geo, dict) and any(geo.get(key) for key in LOCATION_KEYS)
    if not located and not spec.get("custom_audiences"):
        raise _bad(
            "Targeting spec must include a location (geo_locations) or a custom audience",
            "geo_locations",
            title="Location required",
            user_msg="Your audience is missing a location. Add a location or a Custom Audience.",
        )
    if geo is None:
        return
    if not isinstance(geo, dict):
        raise _bad(
            "geo_locations must be an object",
            "geo_locations",
            title="Invalid location",
            user_msg='Send geo_locations as an object, e.g. {"countries": ["IN"]}.',
        )
    _check_location_shapes(geo)
    _check_countries(geo)
    _check_location_types(geo)
    for key in RADIUS_BOUNDS:
        for item in _as_list(geo.get(key)):
            _check_radius(key, item)


def _check_location_shapes(geo: dict[str, Any]) -> None:
    """Every location kind is an array, and no longer than Meta allows."""
    for key in LOCATION_KEYS:
        if geo.get(key) is not None and not isinstance(geo[key], list):
            raise _bad(
                f"geo_locations[{key}] must be an array",
                "geo_locations",
                key,
                title="Invalid location",
                user_msg=f"Send {key} as a JSON array.",
            )
    for key, limit in COUNT_LIMITS.items():
        if len(_as_list(geo.get(key))) > limit:
            raise _bad(
                f"Too many {key} in geo_locations (at most {limit})",
                "geo_locations",
                key,
                title="Too many locations",
                user_msg=f"Target at most {limit} {key} in one ad set.",
            )


def _check_countries(geo: dict[str, Any]) -> None:
    for country in _as_list(geo.get("countries")):
        if not (isinstance(country, str) and len(country) == 2 and country.isalpha()):
            raise _bad(
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
        raise _bad(
            f"location_types must be a list drawn from {', '.join(LOCATION_TYPES)}",
            "geo_locations",
            "location_types",
            subcode=1870199,
            title="Invalid location types",
            user_msg='Use location_types ["home", "recent"] (the default) or a subset of it.',
        )


def _radius_miles(item: dict[str, Any]) -> float | None:
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
        raise _bad(
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


def _audience_id(item: Any) -> str:
    return str(item.get("id")) if isinstance(item, dict) else str(item)


def _check_audiences(spec: dict[str, Any], scope: Scope) -> None:
    exclusions = spec.get("exclusions")
    if (
        isinstance(exclusions, dict)
        and exclusions.get("custom_audiences")
        and versions.at_least(scope.version, "v22.0")
    ):
        raise _bad(
            "Custom audiences are no longer supported in exclusions; use excluded_custom_audiences",
            "exclusions",
            "custom_audiences",
            title="Use excluded_custom_audiences",
            user_msg="Move the audiences from exclusions.custom_audiences to excluded_custom_audiences.",
        )
    for key in ("custom_audiences", "excluded_custom_audiences"):
        for item in _audience_list(spec, key):
            _check_audience_exists(_audience_id(item), key, scope)


def _audience_list(spec: dict[str, Any], key: str) -> list[Any]:
    """The audiences under ``key``: an array of at most 500 entries."""
    items = spec.get(key)
    if items is None:
        return []
    if not isinstance(items, list):
        raise _bad(
            f'{key} must be an array of {{"id": ...}} objects',
            key,
            title="Invalid audience list",
            user_msg=f'Send {key} as [{{"id": "<audience id>"}}].',
        )
    if len(items) > MAX_CUSTOM_AUDIENCES:
        raise _bad(
            f"Too many {key} (at most {MAX_CUSTOM_AUDIENCES})",
            key,
            title="Too many audiences",
            user_msg=f"Use at most {MAX_CUSTOM_AUDIENCES} {key}.",
        )
    return items


def _check_audience_exists(audience_id: str, key: str, scope: Scope) -> None:
    record = scope.state.find(audience_id)
    if (
        record is None
        or record["kind"] != "customaudience"
        or record["account_id"] != scope.account_id
    ):
        raise _bad(
            f"Invalid custom audience id {audience_id}",
            key,
            title="Custom audience not found",
            user_msg=f"The custom audience {audience_id} does not exist in this ad account.",
        )


def _advantage_audience(spec: dict[str, Any]) -> int:
    automation = spec.get("targeting_automation")
    flag = automation.get("advantage_audience") if isinstance(automation, dict) else None
    if flag is None:
        raise _bad(
            "Advantage audience flag required: set targeting_automation.advantage_audience to 0 or 1",
            "targeting_automation",
            "advantage_audience",
            subcode=1870227,
            title="Advantage audience flag required",
            user_msg="To create the ad set you must turn Advantage+ audience on (1) or off (0).",
        )
    if flag not in (0, 1) or isinstance(flag, str):
        raise _bad(
            "targeting_automation.advantage_audience must be 0 or 1",
            "targeting_automation",
            "advantage_audience",
            title="Invalid value",
            user_msg="Set advantage_audience to 1 (on) or 0 (off).",
        )
    return int(flag)


def _age(spec: dict[str, Any], key: str, default: int) -> int:
    value = spec.get(key, default)
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise _bad(
            f"{key} must be an integer",
            key,
            title="Invalid age",
            user_msg=f"Send {key} as a whole number of years.",
        )
    return value


def _check_ages(spec: dict[str, Any], advantage: int) -> None:
    age_min, age_max = _age(spec, "age_min", 18), _age(spec, "age_max", 65)
    problems = (
        (age_min < 13, "age_min", "age_min must be at least 13"),
        (age_max > 65, "age_max", "age_max must be at most 65 (65 means 65+)"),
        (age_max < 13, "age_max", "age_max must be at least 13"),
        (age_min > age_max, "age_min", "age_min must not be greater than age_max"),
    )
    for broken, key, message in problems:
        if broken:
            raise _bad(message, key, title="Invalid age range", user_msg=f"{message}.")
    if advantage == 1 and "age_max" in spec and age_max < 65:
        raise _bad(
            "With Advantage+ audience on, age_max can't be set below 65",
            "age_max",
            subcode=1870189,
            title="Maximum age not allowed with Advantage+ audience",
            user_msg="Remove age_max (or set 65), or turn Advantage+ audience off.",
        )


def _check_genders(spec: dict[str, Any]) -> None:
    genders = spec.get("genders")
    if genders is not None and (
        not isinstance(genders, list) or any(g not in (1, 2) for g in genders)
    ):
        raise _bad(
            "genders must be a list of 1 (men) and/or 2 (women)",
            "genders",
            title="Invalid gender",
            user_msg="Use [1], [2] or omit genders for everyone.",
        )


def _check_special_categories(spec: dict[str, Any], categories: Sequence[str]) -> None:
    restricted = sorted(RESTRICTED_CATEGORIES.intersection(categories))
    if not restricted:
        return
    geo = _geo(spec)
    violations = (
        (spec.get("age_min", 18) != 18, "age_min"),
        (spec.get("age_max", 65) != 65, "age_max"),
        (sorted(spec.get("genders") or [1, 2]) != [1, 2], "genders"),
        (bool(_as_list(geo.get("zips"))), "geo_locations"),
        (_below_special_radius(geo), "geo_locations"),
    )
    for broken, key in violations:
        if broken:
            raise _bad(
                f"Ad sets in the special ad category {restricted[0]} can't restrict {key}",
                key,
                title="Targeting not allowed for this special ad category",
                user_msg=(
                    f"{restricted[0]} ads must reach ages 18-65+, all genders, no ZIP codes, "
                    f"and radii of at least {SPECIAL_RADIUS_MILES:g} miles."
                ),
            )


def _below_special_radius(geo: dict[str, Any]) -> bool:
    for key in RADIUS_BOUNDS:
        for item in _as_list(geo.get(key)):
            miles = _radius_miles(item) if isinstance(item, dict) else None
            if miles is not None and miles < SPECIAL_RADIUS_MILES - 0.01:
                return True
    return False


def _check_placements(spec: dict[str, Any], version: str) -> None:
    platforms = _checked_values(spec, "publisher_platforms", PLATFORMS)
    positions = {key: _checked_values(spec, key, allowed) for key, allowed in POSITIONS.items()}
    _checked_values(spec, "device_platforms", DEVICE_PLATFORMS)
    if "video_feeds" in positions["facebook_positions"] and versions.at_least(version, "v24.0"):
        raise _bad(
            "The Facebook video_feeds placement is no longer supported; use facebook_reels",
            "facebook_positions",
            title="Placement no longer available",
            user_msg="Replace video_feeds with facebook_reels in facebook_positions.",
        )
    if platforms and set(platforms) == {"audience_network"}:
        raise _bad(
            "Audience Network can't be the only publisher platform",
            "publisher_platforms",
            title="Audience Network needs Facebook",
            user_msg="Add facebook to publisher_platforms alongside audience_network.",
        )
    _check_position_pairs(positions)


def _check_position_pairs(positions: dict[str, list[str]]) -> None:
    fb, ig = positions["facebook_positions"], positions["instagram_positions"]
    stories = [key for key in _STORY_KEYS if "story" in positions[key]]
    has_feed = "feed" in fb or "stream" in ig
    if stories and not has_feed and not ("story" in fb and "story" in ig):
        raise _pair_error(
            stories[0], "Story placements need a feed placement (Facebook feed or Instagram stream)"
        )
    if "threads_stream" in positions["threads_positions"] and "stream" not in ig:
        raise _pair_error(
            "threads_positions", "The Threads placement needs the Instagram stream placement"
        )
    if "status" in positions["whatsapp_positions"] and "story" not in ig:
        raise _pair_error(
            "whatsapp_positions",
            "The WhatsApp status placement needs the Instagram story placement",
        )


_STORY_KEYS = ("facebook_positions", "instagram_positions", "messenger_positions")


def _pair_error(key: str, message: str) -> GraphError:
    return _bad(message, key, title="Placement combination not allowed", user_msg=f"{message}.")


def _checked_values(spec: dict[str, Any], key: str, allowed: Iterable[str]) -> list[str]:
    values = spec.get(key)
    if values is None:
        return []
    choices = tuple(allowed)
    if not isinstance(values, list) or any(v not in choices for v in values):
        raise _bad(
            f"param targeting[{key}] must be a list drawn from {{{', '.join(choices)}}}",
            key,
            title="Invalid placement",
            user_msg=f"{values!r} is not a valid {key} value.",
        )
    return [str(v) for v in values]
