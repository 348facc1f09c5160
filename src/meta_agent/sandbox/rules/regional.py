"""Regionally regulated ad sets: ``regional_regulated_categories`` and who benefits and pays.

Since 2025-12-08 (out of cycle, every version; reference §13.4) ``BRAZIL_REGULATION`` is a
category, and an ad set in it must name ``regional_regulation_identities``
``universal_beneficiary`` and ``universal_payer``; without them Meta answers "No beneficiary
provided" / "No payer provided". Before that day the category is unknown and refused.

The SDK spells the categories as numbers (``RegionalRegulatedCategories.value_0`` ...) that
Meta's pages do not map to names, so any other category is accepted as sent; only
``BRAZIL_REGULATION`` carries rules here. The code, 100, is the sandbox's: the reference gives
the messages only.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from meta_agent.sandbox.errors import invalid_param
from meta_agent.sandbox.rules.changes import BRAZIL_REGULATION

BRAZIL = "BRAZIL_REGULATION"
# identity key → the word Meta's error uses for it
BRAZIL_IDENTITIES = {"universal_beneficiary": "beneficiary", "universal_payer": "payer"}


def check_regional_regulation(
    categories: list[Any] | None, identities: dict[str, Any] | None, version: str, today: date
) -> None:
    """Brazil-regulated ad sets name their beneficiary and payer (from 2025-12-08).

    Raises:
        GraphError: ``BRAZIL_REGULATION`` before its day, or without one of its identities.
    """
    if not categories or BRAZIL not in categories:
        return
    if not BRAZIL_REGULATION.applies(version, today):
        raise invalid_param(
            f"Invalid regional regulated category {BRAZIL}",
            blame="regional_regulated_categories",
            title="Unknown regional regulated category",
            user_msg=f"{BRAZIL} can be used from {BRAZIL_REGULATION.released}.",
        )
    given = identities or {}
    for key, who in BRAZIL_IDENTITIES.items():
        if not given.get(key):
            raise invalid_param(
                f"No {who} provided",
                blame=("regional_regulation_identities", key),
                title=f"No {who} provided",
                user_msg=(
                    f"Ad sets in {BRAZIL} must name the {who}: set "
                    f"regional_regulation_identities.{key} to its id."
                ),
            )
