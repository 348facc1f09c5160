"""Where ads appear: publisher platforms, their positions and devices, and how they pair.

Meta refuses unknown values, a placement it has retired (Facebook ``video_feeds`` from
v24.0, the Instagram Explore feed from v26.0), Audience Network on its own, and positions
that need a partner placement (stories need a feed, Threads needs the Instagram stream,
WhatsApp status needs Instagram stories). Messenger ``story`` it drops without a word
(v26.0): the ad set is stored, and reads back, without it.

Which Explore placement v26 removed the reference leaves open (``explore``, ``explore_home``
or both). The sandbox removes ``explore`` alone: v26 names "the Instagram Explore feed",
which is ``explore`` (the feed a person scrolls after opening a post from Explore), while
``explore_home`` is the Explore grid itself, a placement of its own in Meta's placement
list and the SDK's (``AdCampaignPlacementGet.EffectiveInstagramPositions`` still lists
both at v26.0.3). It is refused, not dropped: the reference says Meta drops Messenger
``story`` silently and says no such thing of Explore, and a removed placement errors as
``video_feeds`` did at v24, which tells the client what to fix.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from meta_agent import versions
from meta_agent.sandbox.errors import GraphError
from meta_agent.sandbox.rules.changes import V26
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


def drop_messenger_story(spec: dict[str, Any], version: str, today: date) -> dict[str, Any]:
    """The spec as Meta stores it: without Messenger ``story`` once v26 removed it (§13.2).

    Meta gives no error and no warning; the ad set simply reads back without the position.
    """
    positions = spec.get("messenger_positions")
    if not isinstance(positions, list) or "story" not in positions:
        return spec
    if not V26.applies(version, today):
        return spec
    return {**spec, "messenger_positions": [p for p in positions if p != "story"]}


def check_placements(spec: dict[str, Any], version: str, today: date) -> None:
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
    if "explore" in positions["instagram_positions"] and V26.applies(version, today):
        raise targeting_error(
            "The Instagram Explore feed placement (explore) is no longer available",
            "instagram_positions",
            title="Placement no longer available",
            user_msg="Remove explore from instagram_positions; explore_home, stream, story and "
            "reels are still served.",
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
