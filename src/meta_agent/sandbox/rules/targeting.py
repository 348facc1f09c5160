"""The ad set ``targeting`` spec: what Meta refuses, and how it reads back (§5.5, §10.2).

Every error names the offending path inside the spec in ``blame_field_specs``
(``[["targeting", "age_max"]]``), as Meta does, so a client can point at the exact key.
This module holds the audience rules (custom audiences, Advantage+ audience, age, gender,
special ad categories); locations live in :mod:`.geo` and placements in :mod:`.placements`.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from meta_agent import versions
from meta_agent.sandbox.errors import invalid_param
from meta_agent.sandbox.rules.changes import V26, V27
from meta_agent.sandbox.rules.geo import below_radius, check_geo, locations, reaches_eu
from meta_agent.sandbox.rules.placements import check_placements, drop_messenger_story
from meta_agent.sandbox.rules.targeting_spec import as_list, targeting_error
from meta_agent.sandbox.state import SandboxState

MAX_CUSTOM_AUDIENCES = 500
# Categories under which Meta forces 18-65, all genders, no zips and a 15-mile radius floor.
RESTRICTED_CATEGORIES = frozenset(
    {"HOUSING", "EMPLOYMENT", "CREDIT", "FINANCIAL_PRODUCTS_SERVICES"}
)
SPECIAL_RADIUS_MILES = 15.0


@dataclass(frozen=True)
class Scope:
    """What a targeting spec is checked against: version, day, account, campaign, operation."""

    state: SandboxState
    version: str
    today: date
    account_id: str
    special_ad_categories: tuple[str, ...] = ()
    objective: str | None = None
    creating: bool = True


def check_targeting(spec: dict[str, Any], scope: Scope) -> dict[str, Any]:
    """Apply every targeting rule Meta enforces on ad set create and update.

    Returns:
        The spec as Meta stores it: Messenger ``story`` dropped (v26), a missing
        ``advantage_audience`` filled with its default, and the v27 device expansion.

    Raises:
        GraphError: the first rule the spec breaks, blaming its path inside ``targeting``.
    """
    spec = drop_messenger_story(spec, scope.version, scope.today)
    check_geo(spec)
    _check_audiences(spec, scope)
    advantage = _advantage_audience(spec, scope)
    _check_ages(spec, advantage)
    _check_genders(spec)
    _check_special_categories(spec, scope.special_ad_categories)
    check_placements(spec, scope.version, scope.today)
    return _other_devices_default(_with_automation(spec, "advantage_audience", advantage), scope)


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
            out[key] = [_named_audience(item, state) for item in as_list(out[key])]
    out.setdefault("brand_safety_content_filter_levels", ["FACEBOOK_STANDARD", "AN_STANDARD"])
    return out


def _named_audience(item: Any, state: SandboxState) -> dict[str, Any]:
    audience_id = _audience_id(item)
    record = state.find(audience_id)
    return {"id": audience_id, "name": record["name"]} if record else {"id": audience_id}


def _audience_id(item: Any) -> str:
    return str(item.get("id")) if isinstance(item, dict) else str(item)


def _check_audiences(spec: dict[str, Any], scope: Scope) -> None:
    exclusions = spec.get("exclusions")
    if (
        isinstance(exclusions, dict)
        and exclusions.get("custom_audiences")
        and versions.at_least(scope.version, "v22.0")
    ):
        raise targeting_error(
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
        raise targeting_error(
            f'{key} must be an array of {{"id": ...}} objects',
            key,
            title="Invalid audience list",
            user_msg=f'Send {key} as [{{"id": "<audience id>"}}].',
        )
    if len(items) > MAX_CUSTOM_AUDIENCES:
        raise targeting_error(
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
        raise targeting_error(
            f"Invalid custom audience id {audience_id}",
            key,
            title="Custom audience not found",
            user_msg=f"The custom audience {audience_id} does not exist in this ad account.",
        )


def _automation(spec: dict[str, Any]) -> dict[str, Any]:
    automation = spec.get("targeting_automation")
    if automation is not None and not isinstance(automation, dict):
        raise targeting_error(
            "targeting_automation must be an object",
            "targeting_automation",
            title="Invalid value",
            user_msg='Send targeting_automation as {"advantage_audience": 0 or 1}.',
        )
    return automation or {}


def _advantage_audience(spec: dict[str, Any], scope: Scope) -> int:
    """The ad set's Advantage+ audience flag, explicit or defaulted (§5.5 as §13.1 corrects).

    From v23 a missing flag means Advantage+ audience on (1), except where Meta requires an
    explicit value: from v26, ad sets in housing, employment or financial-products campaigns,
    whose targeting the special ad category restricts (§13.2). The sandbox treats every ad set
    of such a campaign as having restricted targeting [unverified: Meta may mean only ad sets
    that narrow the audience further], on create and on update alike.
    """
    flag = _automation(spec).get("advantage_audience")
    if flag is None:
        restricted = sorted(RESTRICTED_CATEGORIES.intersection(scope.special_ad_categories))
        if restricted and V26.applies(scope.version, scope.today):
            raise targeting_error(
                "Advantage audience flag required: set targeting_automation.advantage_audience "
                f"to 0 or 1 for ad sets in {restricted[0]} campaigns",
                "targeting_automation",
                "advantage_audience",
                subcode=1870227,
                title="Advantage audience flag required",
                user_msg=(
                    f"Ad sets in {restricted[0]} campaigns must set "
                    "targeting_automation.advantage_audience explicitly: 1 (on) or 0 (off)."
                ),
            )
        return 1 if versions.at_least(scope.version, "v23.0") else 0
    if flag not in (0, 1) or isinstance(flag, str):
        raise targeting_error(
            "targeting_automation.advantage_audience must be 0 or 1",
            "targeting_automation",
            "advantage_audience",
            title="Invalid value",
            user_msg="Set advantage_audience to 1 (on) or 0 (off).",
        )
    return int(flag)


def _with_automation(spec: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    """``spec`` with ``targeting_automation[key]`` set to ``value`` when it is missing."""
    automation = _automation(spec)
    if key in automation:
        return spec
    return {**spec, "targeting_automation": {**automation, key: value}}


# Targeting keys that pick specific devices or operating systems (§10.2).
DEVICE_KEYS = ("user_os", "user_device", "excluded_user_device")


def _other_devices_default(spec: dict[str, Any], scope: Scope) -> dict[str, Any]:
    """v27: "reach more people across other mobile devices" on for new Sales device ad sets.

    Meta turns it on by default for new eligible Sales ad sets that target specific devices
    or operating systems, unless the device setting is 0 (§13.3). The field path is not
    published; the sandbox models it as ``targeting_automation.individual_setting.device``
    (beside Meta's ``age`` and ``gender`` suggestions), reads back 1 when it defaulted,
    and keeps an explicit 0 or 1. Which Sales ad sets are "eligible" is not modelled: all are.
    """
    individual = _automation(spec).get("individual_setting")
    if individual is not None and not isinstance(individual, dict):
        raise targeting_error(
            "targeting_automation.individual_setting must be an object",
            "targeting_automation",
            "individual_setting",
            title="Invalid value",
            user_msg='Send individual_setting as {"age": 0|1, "gender": 0|1, "device": 0|1}.',
        )
    setting = (individual or {}).get("device")
    if setting is not None and (setting not in (0, 1) or isinstance(setting, (str, bool))):
        raise targeting_error(
            "targeting_automation.individual_setting.device must be 0 or 1",
            "targeting_automation",
            "individual_setting",
            "device",
            title="Invalid value",
            user_msg="Set device to 1 (reach other mobile devices) or 0 (only those targeted).",
        )
    targets_devices = any(spec.get(key) for key in DEVICE_KEYS)
    if (
        setting is not None
        or not targets_devices
        or not scope.creating
        or scope.objective != "OUTCOME_SALES"
        or not V27.applies(scope.version, scope.today)
    ):
        return spec
    automation = _automation(spec)
    return {
        **spec,
        "targeting_automation": {
            **automation,
            "individual_setting": {**(individual or {}), "device": 1},
        },
    }


def _age(spec: dict[str, Any], key: str, default: int) -> int:
    value = spec.get(key, default)
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise targeting_error(
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
            raise targeting_error(message, key, title="Invalid age range", user_msg=f"{message}.")
    if advantage == 1 and "age_max" in spec and age_max < 65:
        raise targeting_error(
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
        raise targeting_error(
            "genders must be a list of 1 (men) and/or 2 (women)",
            "genders",
            title="Invalid gender",
            user_msg="Use [1], [2] or omit genders for everyone.",
        )


def _check_special_categories(spec: dict[str, Any], categories: Sequence[str]) -> None:
    restricted = sorted(RESTRICTED_CATEGORIES.intersection(categories))
    if not restricted:
        return
    geo = locations(spec)
    violations = (
        (spec.get("age_min", 18) != 18, "age_min"),
        (spec.get("age_max", 65) != 65, "age_max"),
        (sorted(spec.get("genders") or [1, 2]) != [1, 2], "genders"),
        (bool(as_list(geo.get("zips"))), "geo_locations"),
        (_below_special_radius(geo), "geo_locations"),
    )
    for broken, key in violations:
        if broken:
            raise targeting_error(
                f"Ad sets in the special ad category {restricted[0]} can't restrict {key}",
                key,
                title="Targeting not allowed for this special ad category",
                user_msg=(
                    f"{restricted[0]} ads must reach ages 18-65+, all genders, no ZIP codes, "
                    f"and radii of at least {SPECIAL_RADIUS_MILES:g} miles."
                ),
            )


def _below_special_radius(geo: dict[str, Any]) -> bool:
    # A hundredth of a mile of slack: 24.14 km (14.9999 mi) meets the 15-mile floor.
    return below_radius(geo, SPECIAL_RADIUS_MILES - 0.01)
