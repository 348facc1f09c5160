"""Objective → destination → optimization goal → billing event, and promoted objects.

The tables follow the outcome-driven (ODAX) mapping of reference §5.7 and the billing table
of §5.6. They are data so a reader can check them against Meta's docs line by line.
"""

from __future__ import annotations

from typing import Any

from meta_agent.sandbox.errors import GraphError, invalid_param
from meta_agent.sandbox.state import SandboxState

OPTIMIZATION_GOALS = (
    "ADVERTISER_SILOED_VALUE",
    "AD_RECALL_LIFT",
    "APP_INSTALLS",
    "APP_INSTALLS_AND_OFFSITE_CONVERSIONS",
    "AUTOMATIC_OBJECTIVE",
    "CONVERSATIONS",
    "DERIVED_EVENTS",
    "ENGAGED_PAGE_VIEWS",
    "ENGAGED_USERS",
    "EVENT_RESPONSES",
    "IMPRESSIONS",
    "IN_APP_VALUE",
    "LANDING_PAGE_VIEWS",
    "LEAD_GENERATION",
    "LINK_CLICKS",
    "MEANINGFUL_CALL_ATTEMPT",
    "MESSAGING_APPOINTMENT_CONVERSION",
    "MESSAGING_DEEP_CONVERSATION_AND_FOLLOW",
    "MESSAGING_PURCHASE_CONVERSION",
    "NONE",
    "OFFSITE_CONVERSIONS",
    "PAGE_LIKES",
    "POST_ENGAGEMENT",
    "PROFILE_AND_PAGE_ENGAGEMENT",
    "PROFILE_VISIT",
    "QUALITY_CALL",
    "QUALITY_LEAD",
    "REACH",
    "REMINDERS_SET",
    "SUBSCRIBERS",
    "THRUPLAY",
    "TWO_SECOND_CONTINUOUS_VIDEO_VIEWS",
    "VALUE",
    "VISIT_INSTAGRAM_PROFILE",
)
BILLING_EVENTS = (
    "APP_INSTALLS",
    "CLICKS",
    "IMPRESSIONS",
    "LINK_CLICKS",
    "LISTING_INTERACTION",
    "NONE",
    "OFFER_CLAIMS",
    "PAGE_LIKES",
    "POST_ENGAGEMENT",
    "PURCHASE",
    "THRUPLAY",
)
MESSAGING_DESTINATIONS = (
    "MESSENGER",
    "WHATSAPP",
    "INSTAGRAM_DIRECT",
    "MESSAGING_INSTAGRAM_DIRECT_MESSENGER",
    "MESSAGING_INSTAGRAM_DIRECT_MESSENGER_WHATSAPP",
    "MESSAGING_INSTAGRAM_DIRECT_WHATSAPP",
    "MESSAGING_MESSENGER_WHATSAPP",
)
DESTINATION_TYPES = (
    "APP",
    "APPLINKS_AUTOMATIC",
    "FACEBOOK",
    "FACEBOOK_LIVE",
    "FACEBOOK_PAGE",
    "IMAGINE",
    "INSTAGRAM_LIVE",
    "INSTAGRAM_PROFILE",
    "INSTAGRAM_PROFILE_AND_FACEBOOK_PAGE",
    *MESSAGING_DESTINATIONS,
    "ON_AD",
    "ON_EVENT",
    "ON_PAGE",
    "ON_POST",
    "ON_VIDEO",
    "PHONE_CALL",
    "SHOP_AUTOMATIC",
    "WEBSITE",
)
CUSTOM_EVENT_TYPES = (
    "ADD_PAYMENT_INFO",
    "ADD_TO_CART",
    "ADD_TO_WISHLIST",
    "COMPLETE_REGISTRATION",
    "CONTACT",
    "CONTENT_VIEW",
    "CUSTOMIZE_PRODUCT",
    "DONATE",
    "FIND_LOCATION",
    "INITIATED_CHECKOUT",
    "LEAD",
    "OTHER",
    "PURCHASE",
    "RATE",
    "SCHEDULE",
    "SEARCH",
    "START_TRIAL",
    "SUBMIT_APPLICATION",
    "SUBSCRIBE",
)

_WEB = frozenset(
    {"OFFSITE_CONVERSIONS", "LANDING_PAGE_VIEWS", "LINK_CLICKS", "IMPRESSIONS", "REACH"}
)


def _messaging(goals: frozenset[str]) -> dict[str, frozenset[str]]:
    return dict.fromkeys(MESSAGING_DESTINATIONS, goals)


# objective → destination_type → goals; the first destination is the objective's default.
GOALS_BY_OBJECTIVE: dict[str, dict[str, frozenset[str]]] = {
    "OUTCOME_AWARENESS": {
        "ON_AD": frozenset(
            {
                "REACH",
                "IMPRESSIONS",
                "AD_RECALL_LIFT",
                "THRUPLAY",
                "TWO_SECOND_CONTINUOUS_VIDEO_VIEWS",
            }
        ),
    },
    "OUTCOME_TRAFFIC": {
        "WEBSITE": frozenset({"LINK_CLICKS", "LANDING_PAGE_VIEWS", "IMPRESSIONS", "REACH"}),
        "APP": frozenset({"LINK_CLICKS"}),
        **_messaging(frozenset({"LINK_CLICKS", "IMPRESSIONS", "REACH"})),
        "PHONE_CALL": frozenset({"QUALITY_CALL", "LINK_CLICKS"}),
        "INSTAGRAM_PROFILE": frozenset({"VISIT_INSTAGRAM_PROFILE", "PROFILE_VISIT"}),
    },
    "OUTCOME_ENGAGEMENT": {
        "ON_POST": frozenset({"POST_ENGAGEMENT", "IMPRESSIONS", "REACH"}),
        "ON_PAGE": frozenset({"PAGE_LIKES"}),
        "ON_EVENT": frozenset({"EVENT_RESPONSES", "POST_ENGAGEMENT", "IMPRESSIONS", "REACH"}),
        "ON_VIDEO": frozenset({"THRUPLAY", "TWO_SECOND_CONTINUOUS_VIDEO_VIEWS"}),
        **_messaging(frozenset({"CONVERSATIONS", "LINK_CLICKS"})),
        "WEBSITE": _WEB,
        "APP": frozenset({"APP_INSTALLS", "LINK_CLICKS"}),
    },
    "OUTCOME_LEADS": {
        "ON_AD": frozenset({"LEAD_GENERATION", "QUALITY_LEAD"}),
        "MESSENGER": frozenset({"LEAD_GENERATION"}),
        "INSTAGRAM_DIRECT": frozenset({"LEAD_GENERATION"}),
        "PHONE_CALL": frozenset({"QUALITY_CALL"}),
        "WEBSITE": _WEB,
        "APP": frozenset({"APP_INSTALLS_AND_OFFSITE_CONVERSIONS", "OFFSITE_CONVERSIONS"}),
    },
    "OUTCOME_APP_PROMOTION": {
        "APP": frozenset(
            {
                "APP_INSTALLS",
                "LINK_CLICKS",
                "APP_INSTALLS_AND_OFFSITE_CONVERSIONS",
                "OFFSITE_CONVERSIONS",
                "VALUE",
            }
        ),
    },
    "OUTCOME_SALES": {
        "WEBSITE": _WEB | {"VALUE"},
        # Conversion location "website and app" (see rules/creative.py WEBSITE_AND_APP).
        "APPLINKS_AUTOMATIC": _WEB | {"VALUE"},
        **_messaging(frozenset({"CONVERSATIONS"})),
        "APP": frozenset({"OFFSITE_CONVERSIONS", "VALUE", "APP_INSTALLS_AND_OFFSITE_CONVERSIONS"}),
    },
}
DEFAULT_GOAL = {
    "OUTCOME_AWARENESS": "REACH",
    "OUTCOME_TRAFFIC": "LINK_CLICKS",
    "OUTCOME_ENGAGEMENT": "POST_ENGAGEMENT",
    "OUTCOME_LEADS": "LEAD_GENERATION",
    "OUTCOME_APP_PROMOTION": "APP_INSTALLS",
    "OUTCOME_SALES": "OFFSITE_CONVERSIONS",
}
# optimization goal → billing events it can be billed on (§5.6); every other goal bills on
# impressions only.
BILLING_BY_GOAL: dict[str, frozenset[str]] = {
    "APP_INSTALLS": frozenset({"IMPRESSIONS", "APP_INSTALLS"}),
    "LINK_CLICKS": frozenset({"IMPRESSIONS", "LINK_CLICKS"}),
    "THRUPLAY": frozenset({"IMPRESSIONS", "THRUPLAY"}),
}
_IMPRESSIONS_ONLY = frozenset({"IMPRESSIONS"})
_PAGE_OBJECTIVES = frozenset({"OUTCOME_AWARENESS", "OUTCOME_ENGAGEMENT", "OUTCOME_LEADS"})


def default_goal(objective: str) -> str:
    """The optimization goal Meta picks when an ad set does not name one."""
    return DEFAULT_GOAL.get(objective, "LINK_CLICKS")


def check_destination(objective: str, destination: str | None) -> None:
    """A ``destination_type`` must be one the campaign's objective offers.

    Raises:
        GraphError: 100/2490408 naming ``destination_type``.
    """
    table = GOALS_BY_OBJECTIVE.get(objective)
    if destination is None or table is None or destination in table:
        return
    raise _mismatch(
        f"Destination type {destination} is not available for objective {objective}",
        "destination_type",
        f"Ad sets in {objective} campaigns can use: {', '.join(table)}.",
    )


def check_goal(objective: str, destination: str | None, goal: str) -> None:
    """The optimization goal must be valid for the objective (and destination, when set).

    Raises:
        GraphError: 100/2490408 naming ``optimization_goal``.
    """
    table = GOALS_BY_OBJECTIVE.get(objective)
    if table is None:
        return  # legacy campaigns read from saved state: nothing to check against
    allowed = table[destination] if destination in table else frozenset().union(*table.values())
    if goal in allowed:
        return
    where = f"objective {objective}" + (f" with destination {destination}" if destination else "")
    raise _mismatch(
        f"Optimization goal {goal} is not valid for {where}",
        "optimization_goal",
        f"Choose one of: {', '.join(sorted(allowed))}.",
    )


def check_billing(goal: str, billing_event: str, buying_type: str = "AUCTION") -> None:
    """The billing event must be one the optimization goal can be billed on (§5.6).

    Raises:
        GraphError: 100/2490408 naming ``billing_event``.
    """
    allowed = BILLING_BY_GOAL.get(goal, _IMPRESSIONS_ONLY)
    if buying_type == "RESERVED":
        allowed = _IMPRESSIONS_ONLY
    if billing_event in allowed:
        return
    raise _mismatch(
        f"The billing event {billing_event} isn't available for the optimization goal {goal}",
        "billing_event",
        "The billing event you selected isn't available for the optimization goal you chose. "
        f"Use {' or '.join(sorted(allowed))}.",
        title="Invalid billing event",
    )


def required_promoted_fields(objective: str, destination: str | None, goal: str) -> tuple[str, ...]:
    """The ``promoted_object`` keys an ad set needs for its objective, destination and goal."""
    if objective == "OUTCOME_APP_PROMOTION" or destination == "APP":
        return ("application_id", "object_store_url")
    if goal in {"OFFSITE_CONVERSIONS", "VALUE"}:
        return ("pixel_id", "custom_event_type")
    if objective in _PAGE_OBJECTIVES or destination in MESSAGING_DESTINATIONS:
        return ("page_id",)
    return ()


def check_promoted_object(
    state: SandboxState, promoted: dict[str, Any] | None, needed: tuple[str, ...]
) -> None:
    """``promoted_object`` carries what the goal needs, and what it names exists.

    Raises:
        GraphError: code 100 naming the missing or unknown key.
    """
    promoted = promoted or {}
    for key in needed:
        if not promoted.get(key):
            raise invalid_param(
                f"promoted_object must include {key} for this optimization goal",
                blame=("promoted_object", key),
                title="Promoted object incomplete",
                user_msg=f"Add {key} to promoted_object ({' and '.join(needed)} are needed).",
            )
    _check_references(state, promoted)


def _check_references(state: SandboxState, promoted: dict[str, Any]) -> None:
    for key, kind in (("page_id", "page"), ("pixel_id", "pixel")):
        value = promoted.get(key)
        if value is None:
            continue
        record = state.find(str(value))
        if record is None or record["kind"] != kind:
            raise invalid_param(
                f"Invalid {key} {value} in promoted_object",
                blame=("promoted_object", key),
                title="Promoted object not found",
                user_msg=f"{value} is not a {kind} this ad account can use.",
            )
    event = promoted.get("custom_event_type")
    if event is not None and event not in CUSTOM_EVENT_TYPES:
        raise invalid_param(
            f"param promoted_object[custom_event_type] must be one of {{{', '.join(CUSTOM_EVENT_TYPES)}}}",
            blame=("promoted_object", "custom_event_type"),
            title="Invalid value",
            user_msg=f"'{event}' is not a valid custom_event_type.",
        )


def _mismatch(message: str, blame: str, user_msg: str, title: str | None = None) -> GraphError:
    return invalid_param(
        message,
        subcode=2490408,
        blame=blame,
        title=title or "Invalid optimization goal",
        user_msg=user_msg,
    )
