"""Field checks every creative rule builds on: blamed paths, text, URLs, calls to action.

Every check names the offending path in ``blame_field_specs`` (e.g.
``["object_story_spec", "link_data", "link"]``) so a client can point at the exact field
to fix.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from meta_agent.sandbox.errors import GraphError, invalid_param

Path = tuple[str, ...]

# §4.4, plus the three values the installed SDK (v25.0.x) knows beyond that list.
CALL_TO_ACTION_TYPES = frozenset(
    """ADD_TO_CART APPLY_NOW ASK_ABOUT_SERVICES ASK_A_QUESTION ASK_FOR_MORE_INFO ASK_US AUDIO_CALL
    BOOK_A_CONSULTATION BOOK_NOW BOOK_TRAVEL BROWSE_SHOP BUY BUY_ACTIVITY_TICKETS BUY_NOW
    BUY_TICKETS BUY_VIA_MESSAGE CALL CALL_ME CALL_NOW CHAT_NOW CHAT_WITH_US CONFIRM CONTACT
    CONTACT_US DONATE DONATE_NOW DOWNLOAD EVENT_RSVP FIND_A_GROUP FIND_OUT_MORE FIND_YOUR_GROUPS
    FOLLOW_NEWS_STORYLINE FOLLOW_PAGE FOLLOW_USER GET_A_QUOTE GET_DETAILS GET_DIRECTIONS
    GET_IN_TOUCH GET_OFFER GET_OFFER_VIEW GET_PROMOTIONS GET_QUOTE GET_SHOWTIMES GET_STARTED
    INQUIRE_NOW INSTALL_APP INSTALL_MOBILE_APP JOIN_CHANNEL JOIN_LIVE_VIDEO LEARN_MORE LIKE_PAGE
    LISTEN_MUSIC LISTEN_NOW MAKE_AN_APPOINTMENT MESSAGE_PAGE MOBILE_DOWNLOAD NO_BUTTON
    OPEN_INSTANT_APP OPEN_LINK ORDER_NOW PAY_TO_ACCESS PLAY_GAME PLAY_GAME_ON_FACEBOOK
    PURCHASE_GIFT_CARDS RAISE_MONEY RECORD_NOW REFER_FRIENDS REQUEST_TIME SAY_THANKS SEE_MORE
    SEE_SHOP SELL_NOW SEND_A_GIFT SEND_GIFT_MONEY SEND_UPDATES SHARE SHOP_NOW SHOP_WITH_AI SIGN_UP
    SOTTO_SUBSCRIBE START_A_CHAT START_ORDER STREAM_NOW SUBSCRIBE SWIPE_UP_PRODUCT SWIPE_UP_SHOP
    TRY_DEMO TRY_ON_WITH_AI UPDATE_APP USE_APP USE_MOBILE_APP VIDEO_ANNOTATION VIDEO_CALL
    VIEW_CART VIEW_CHANNEL VIEW_IN_CART VIEW_PRODUCT VISIT_PAGES_FEED VISIT_WEBSITE
    WATCH_LIVE_VIDEO WATCH_MORE WATCH_NOW WATCH_VIDEO WHATSAPP_MESSAGE WOODHENGE_SUPPORT""".split()  # noqa: SIM905 (a 100-value enum reads best as a block)
)
# Messaging and Page actions send people to Facebook surfaces, so a facebook.com link is fine.
FACEBOOK_DESTINATION_CTAS = frozenset(
    {"MESSAGE_PAGE", "WHATSAPP_MESSAGE", "LIKE_PAGE", "FOLLOW_PAGE", "CHAT_WITH_US", "EVENT_RSVP"}
)
MAX_URL_LENGTH = 1000


def bad(path: Sequence[str], message: str, title: str, user_msg: str) -> GraphError:
    """A code 100 error blaming ``path`` (the one shape every creative rule uses)."""
    return invalid_param(message, blame=list(path), title=title, user_msg=user_msg)


def param_name(path: Sequence[str]) -> str:
    """``("object_story_spec", "link_data", "link")`` → ``object_story_spec[link_data][link]``."""
    head, *rest = path
    return head + "".join(f"[{part}]" for part in rest)


def require_object(value: Any, path: Path) -> dict[str, Any]:
    """``value`` as a JSON object, or a code 100 error naming ``path``."""
    if not isinstance(value, dict):
        raise bad(
            path,
            f"Param {param_name(path)} must be a JSON object",
            "Object expected",
            f"Send '{param_name(path)}' as a JSON object.",
        )
    return value


def optional_text(value: Any, path: Path) -> str | None:
    """``value`` as text (None when absent), or a code 100 error naming ``path``."""
    if value is None or isinstance(value, str):
        return value
    raise bad(
        path,
        f"Param {param_name(path)} must be a string",
        "Text expected",
        f"Send '{param_name(path)}' as text.",
    )


def required_text(spec: dict[str, Any], key: str, path: Path, what: str) -> str:
    """``spec[key]`` as non-blank text; ``what`` names it in the error for a person."""
    value = optional_text(spec.get(key), (*path, key))
    if not value or not value.strip():
        raise bad(
            (*path, key),
            f"The parameter {param_name((*path, key))} is required",
            "Missing required parameter",
            f"Add {what} ('{param_name((*path, key))}').",
        )
    return value


def id_text(value: Any) -> Any:
    """An id sent as a JSON number, as the text Meta reads it as; anything else unchanged."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def check_url(value: Any, path: Path, *, website: bool = True) -> str:
    """An absolute http(s) URL of at most 1000 characters; facebook.com refused for websites.

    Raises:
        GraphError: not a URL, too long, or a Facebook URL where a website is expected.
    """
    text = (optional_text(value, path) or "").strip()
    parts = urlsplit(text)
    host = (parts.hostname or "").lower()
    if parts.scheme not in {"http", "https"} or "." not in host or " " in text:
        raise bad(
            path,
            f"Param {param_name(path)} must be a valid URL",
            "Invalid link",
            f"'{text}' is not a valid web address; use a full http(s):// URL.",
        )
    if len(text) > MAX_URL_LENGTH:
        raise bad(
            path,
            f"Param {param_name(path)} must be at most {MAX_URL_LENGTH} characters long",
            "Link too long",
            f"Shorten the link to {MAX_URL_LENGTH} characters or fewer.",
        )
    if website and (host == "facebook.com" or host.endswith(".facebook.com")):
        raise bad(
            path,
            f"Param {param_name(path)} can't link to facebook.com for a website destination",
            "Facebook link not allowed",
            "Use your own website's URL; Facebook destinations need a Page or messaging call to "
            "action instead.",
        )
    return text


def check_call_to_action(value: Any, path: Path) -> str:
    """A ``{"type": ..., "value": {...}}`` call to action with a known type; returns the type.

    Raises:
        GraphError: not an object, an unknown type, or a malformed ``value.link``.
    """
    cta = require_object(value, path)
    kind = optional_text(cta.get("type"), (*path, "type"))
    if kind not in CALL_TO_ACTION_TYPES:
        raise bad(
            (*path, "type"),
            f"param {param_name((*path, 'type'))} must be one of the call to action types",
            "Invalid call to action",
            f"'{kind}' is not a call to action type; use e.g. LEARN_MORE or SHOP_NOW.",
        )
    extra = cta.get("value")
    if extra is not None:
        extra = require_object(extra, (*path, "value"))
        if "link" in extra:
            website = kind not in FACEBOOK_DESTINATION_CTAS
            check_url(extra["link"], (*path, "value", "link"), website=website)
    return kind
