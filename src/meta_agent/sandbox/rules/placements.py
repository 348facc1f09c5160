"""Where ads appear: publisher platforms, their positions and devices, and how they pair.

Meta refuses unknown values, a placement it has retired (Facebook ``video_feeds`` from
v24.0), Audience Network on its own, and positions that need a partner placement
(stories need a feed, Threads needs the Instagram stream, WhatsApp status needs Instagram
stories).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from meta_agent import versions
from meta_agent.sandbox.errors import GraphError
from meta_agent.sandbox.rules.targeting_spec import targeting_error

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
_STORY_KEYS = ("facebook_positions", "instagram_positions", "messenger_positions")


def check_placements(spec: dict[str, Any], version: str) -> None:
    """Platforms, positions and devices from their enums, in combinations Meta serves.

    Raises:
        GraphError: an unknown value, a retired placement, or a pairing Meta refuses.
    """
    platforms = _checked_values(spec, "publisher_platforms", PLATFORMS)
    positions = {key: _checked_values(spec, key, allowed) for key, allowed in POSITIONS.items()}
    _checked_values(spec, "device_platforms", DEVICE_PLATFORMS)
    if "video_feeds" in positions["facebook_positions"] and versions.at_least(version, "v24.0"):
        raise targeting_error(
            "The Facebook video_feeds placement is no longer supported; use facebook_reels",
            "facebook_positions",
            title="Placement no longer available",
            user_msg="Replace video_feeds with facebook_reels in facebook_positions.",
        )
    if platforms and set(platforms) == {"audience_network"}:
        raise targeting_error(
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


def _pair_error(key: str, message: str) -> GraphError:
    return targeting_error(
        message, key, title="Placement combination not allowed", user_msg=f"{message}."
    )


def _checked_values(spec: dict[str, Any], key: str, allowed: Iterable[str]) -> list[str]:
    values = spec.get(key)
    if values is None:
        return []
    choices = tuple(allowed)
    if not isinstance(values, list) or any(v not in choices for v in values):
        raise targeting_error(
            f"param targeting[{key}] must be a list drawn from {{{', '.join(choices)}}}",
            key,
            title="Invalid placement",
            user_msg=f"{values!r} is not a valid {key} value.",
        )
    return [str(v) for v in values]
