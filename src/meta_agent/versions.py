"""Marketing API versions and their sunsets: facts shared by client and sandbox.

Reference §1.2 as corrected by §13.1 (2026-12-02): v24.0 is served until 2026-11-10, v25.0
until 2027-02-23, v27.0 (2026-11-04) is the newest; v26.0 and v27.0 have no sunset announced.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

VERSION_PATTERN = re.compile(r"^v\d+\.\d+$")


@dataclass(frozen=True)
class ApiVersion:
    """One Graph API version and the last day Meta serves it for the Marketing API."""

    name: str
    released: date
    marketing_sunset: date | None

    def is_sunset(self, today: date) -> bool:
        """Whether ads calls on this version are past their end of life on ``today``."""
        return self.marketing_sunset is not None and today > self.marketing_sunset

    @property
    def number(self) -> tuple[int, int]:
        """Major and minor, for ordering."""
        major, minor = self.name[1:].split(".")
        return int(major), int(minor)


VERSIONS: tuple[ApiVersion, ...] = (
    ApiVersion("v22.0", date(2025, 1, 21), date(2026, 2, 19)),
    ApiVersion("v23.0", date(2025, 5, 29), date(2026, 6, 9)),
    ApiVersion("v24.0", date(2025, 10, 8), date(2026, 11, 10)),
    ApiVersion("v25.0", date(2026, 2, 18), date(2027, 2, 23)),
    ApiVersion("v26.0", date(2026, 7, 29), None),
    ApiVersion("v27.0", date(2026, 11, 4), None),
)
BY_NAME = {version.name: version for version in VERSIONS}
NEWEST = VERSIONS[-1].name


def oldest_live(today: date) -> ApiVersion:
    """The oldest version still served for ads on ``today`` (where expired calls are routed)."""
    for version in VERSIONS:
        if not version.is_sunset(today) and version.released <= today:
            return version
    return VERSIONS[-1]


def at_least(version: str, floor: str) -> bool:
    """Whether ``version`` is ``floor`` or newer (rules that start at a version)."""
    return BY_NAME[version].number >= BY_NAME[floor].number


def sunset_warning(name: str, today: date, warn_days: int = 30) -> str | None:
    """A sentence to warn with when ``name`` is unknown, near or past its sunset, else None."""
    version = BY_NAME.get(name)
    if version is None:
        return f"Graph API version {name} is not one meta-agent knows ({', '.join(BY_NAME)})"
    sunset = version.marketing_sunset
    if sunset is None:
        return None
    if today > sunset:
        return (
            f"{name} passed its Marketing API sunset on {sunset}; Meta serves it as a newer version"
        )
    if (sunset - today).days <= warn_days:
        return f"{name} reaches its Marketing API sunset on {sunset}; move to {NEWEST}"
    return None
