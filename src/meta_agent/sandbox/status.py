"""Configured and effective status (reference §3.7): a parent's state shadows its children."""

from __future__ import annotations

from typing import Any

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
    campaign = state.find(str(record.get("campaign_id"))) if record["kind"] != "campaign" else None
    if campaign is not None:
        if campaign["status"] in _SHADOWING:
            return str(campaign["status"])
        if campaign["status"] == "PAUSED":
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


def is_delivering(state: SandboxState, record: dict[str, Any], now: float) -> bool:
    """Whether an object can spend right now: effectively ACTIVE (review done)."""
    return effective_status(state, record, now) == "ACTIVE"
