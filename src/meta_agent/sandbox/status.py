"""Configured and effective status (reference §3.7): a parent's state shadows its children."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from meta_agent.sandbox.rules.changes import LEGACY_SHOPPING_PAUSE
from meta_agent.sandbox.state import SandboxState

CONFIGURED = ("ACTIVE", "PAUSED", "DELETED", "ARCHIVED")
AT_CREATION = ("ACTIVE", "PAUSED")
CAMPAIGN_EFFECTIVE = ("ACTIVE", "PAUSED", "DELETED", "ARCHIVED", "IN_PROCESS", "WITH_ISSUES")
ADSET_EFFECTIVE = (*CAMPAIGN_EFFECTIVE, "CAMPAIGN_PAUSED")
AD_EFFECTIVE = (
    *ADSET_EFFECTIVE,
    "ADSET_PAUSED",
    "PENDING_REVIEW",
    "DISAPPROVED",
    "PREAPPROVED",
    "PENDING_BILLING_INFO",
)
_SHADOWING = {"DELETED", "ARCHIVED"}


def effective_status(state: SandboxState, record: dict[str, Any], now: float) -> str:
    """The status an object actually has, given its own and its parents' states."""
    own = str(record.get("status", "ACTIVE"))
    if own != "ACTIVE":
        return own
    if record["kind"] == "campaign" and paused_legacy_shopping(state, record, now):
        return "PAUSED"
    campaign = state.find(str(record.get("campaign_id"))) if record["kind"] != "campaign" else None
    if campaign is not None:
        if campaign["status"] in _SHADOWING:
            return str(campaign["status"])
        if campaign["status"] == "PAUSED" or paused_legacy_shopping(state, campaign, now):
            return "CAMPAIGN_PAUSED"
    adset = state.find(str(record.get("adset_id"))) if record["kind"] == "ad" else None
    if adset is not None:
        if adset["status"] in _SHADOWING:
            return str(adset["status"])
        if adset["status"] == "PAUSED":
            return "ADSET_PAUSED"
    if record["kind"] == "ad" and now < float(record.get("review_until", 0)):
        return "PENDING_REVIEW"
    return own


def paused_legacy_shopping(state: SandboxState, campaign: dict[str, Any], now: float) -> bool:
    """Whether Meta paused this legacy Advantage+ shopping campaign at v26.0 (§13.2).

    Legacy means made with ``smart_promotion_type=AUTOMATED_SHOPPING_ADS`` and splitting
    budget with ``existing_customer_budget_percentage`` (an ad set field, per the SDK). Meta
    pauses such campaigns from the v26 release on every version; the sandbox shows it as
    ``effective_status`` PAUSED (children: CAMPAIGN_PAUSED) and leaves the configured
    ``status`` as the advertiser set it, so they stop spending without a write.
    """
    if campaign.get("smart_promotion_type") != "AUTOMATED_SHOPPING_ADS":
        return False
    today = datetime.fromtimestamp(now, tz=UTC).date()
    if not LEGACY_SHOPPING_PAUSE.everywhere_on(today):
        return False
    adsets = state.of_kind("adset", campaign_id=campaign["id"])
    return any(a.get("existing_customer_budget_percentage") is not None for a in adsets)


def is_delivering(state: SandboxState, record: dict[str, Any], now: float) -> bool:
    """Whether an object can spend right now: effectively ACTIVE (review done)."""
    return effective_status(state, record, now) == "ACTIVE"
