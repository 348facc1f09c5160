"""When Meta's v26/v27 and out-of-cycle changes take effect (reference §13.2-§13.4).

A versioned change applies to calls on its version (or newer) from the version's release,
and to every version (unversioned calls included: the sandbox serves those as the newest)
from the day Meta rolls it out everywhere. An out-of-cycle change applies to every version
from its date. The sandbox reads the date from its clock, so a test moves the clock to see
a rule before and after.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from meta_agent import versions


@dataclass(frozen=True)
class Change:
    """One dated change: from ``released`` on ``first_version`` and newer, everywhere later."""

    first_version: str | None
    released: date
    everywhere: date | None = None

    def applies(self, version: str, today: date) -> bool:
        """Whether a call on ``version`` made on ``today`` sees this change."""
        if self.everywhere is not None and today >= self.everywhere:
            return True
        if today < self.released:
            return False
        return self.first_version is None or versions.at_least(version, self.first_version)

    def everywhere_on(self, today: date) -> bool:
        """Whether every version sees this change on ``today`` (for state, not calls)."""
        if self.first_version is None:
            return today >= self.released
        return self.everywhere is not None and today >= self.everywhere


# §13.2: v26.0 released 2026-07-29; "most items reach all versions on 2026-10-27". The
# sandbox gives every v26 item that calendar (the reference names no other date for any).
V26 = Change("v26.0", date(2026, 7, 29), everywhere=date(2026, 10, 27))
# §13.3: v27.0 released 2026-11-04, "all versions about 90 days later" [unverified: the day].
V27 = Change("v27.0", date(2026, 11, 4), everywhere=date(2027, 2, 2))
# Legacy Advantage+ shopping campaigns are paused "at v26.0": pausing is the campaign's own
# state, not the reader's version, so it holds on every version from the v26 release.
LEGACY_SHOPPING_PAUSE = Change(None, date(2026, 7, 29))
# §13.4, out of cycle (every version from the day).
CREATIVE_FEATURES_ANIMATION = Change(None, date(2026, 6, 28))
BRAZIL_REGULATION = Change(None, date(2025, 12, 8))
