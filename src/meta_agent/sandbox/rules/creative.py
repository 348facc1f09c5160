"""Ad creative rules (reference §3.3, §4.4, §5.8): story specs, media, links and calls to action.

Every check names the offending path in ``blame_field_specs`` (e.g.
``["object_story_spec", "link_data", "image_hash"]``) so a client can point at the exact
field to fix. Soft guidance from the Ads Guide (recommended text lengths, punctuation advice)
is deliberately not enforced: Meta accepts such creatives, and so must the sandbox.

This module checks a creative's content (``object_story_spec``: link ads, carousels,
videos and photos; ``object_story_id``) and its ``degrees_of_freedom_spec``, and is the
one import the creatives routes need. The parts it builds on:

- :mod:`.creative_fields`: blamed paths, text, URLs and calls to action.
- :mod:`.creative_identity`: the Page, Instagram account and political authorization.
- :mod:`.creative_media`: the account's images and videos, and ``asset_feed_spec``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from meta_agent.sandbox.rules.changes import CREATIVE_FEATURES_ANIMATION, V26
from meta_agent.sandbox.rules.creative_fields import (
    CALL_TO_ACTION_TYPES,
    FACEBOOK_DESTINATION_CTAS,
    MAX_URL_LENGTH,
    Path,
    bad,
    check_call_to_action,
    check_url,
    id_text,
    optional_text,
    param_name,
    require_object,
    required_text,
)
from meta_agent.sandbox.rules.creative_identity import (
    AUTHORIZATION_CATEGORIES,
    check_authorization_category,
    check_instagram_user,
    check_page,
    refuse_instagram_actor_id,
)
from meta_agent.sandbox.rules.creative_media import MediaLookup, check_asset_feed_spec
from meta_agent.sandbox.state import SandboxState

# The creatives routes import this module alone (as `rules`); these are the names it offers.
__all__ = [
    "APPLINK_TREATMENTS",
    "AUTHORIZATION_CATEGORIES",
    "CALL_TO_ACTION_TYPES",
    "ENROLL_STATUSES",
    "MAX_CAROUSEL_CARDS",
    "MAX_URL_LENGTH",
    "MIN_CAROUSEL_CARDS",
    "STORY_SPEC_KEYS",
    "STORY_TYPES",
    "MediaLookup",
    "Path",
    "StoryChecker",
    "StoryFacts",
    "bad",
    "check_applink_fits",
    "check_applink_treatment",
    "check_asset_feed_spec",
    "check_authorization_category",
    "check_call_to_action",
    "check_degrees_of_freedom",
    "check_instagram_user",
    "check_object_story_id",
    "check_page",
    "check_url",
    "is_survey",
    "param_name",
    "refuse_instagram_actor_id",
    "refuse_survey",
    "require_object",
]

STORY_TYPES = ("link_data", "video_data", "photo_data", "template_data", "text_data")
STORY_SPEC_KEYS = frozenset(
    {"page_id", "instagram_user_id", "instagram_actor_id", "threads_user_id", *STORY_TYPES}
)
ENROLL_STATUSES = ("OPT_IN", "OPT_OUT")
MIN_CAROUSEL_CARDS = 2
MAX_CAROUSEL_CARDS = 10
APPLINK_TREATMENTS = (
    "automatic",
    "deeplink_with_appstore_fallback",
    "deeplink_with_web_fallback",
    "web_only",
)
# Creative features Meta added out of cycle on 2026-06-28 (§13.4): accepted from that day.
ANIMATION_FEATURES = frozenset({"image_animation", "video_filtering"})
# The ad set destination for the "website and app" conversion location [unverified mapping:
# Meta's Sales setup pairs it with APPLINKS_AUTOMATIC, which routes to the app or the site].
WEBSITE_AND_APP = "APPLINKS_AUTOMATIC"


@dataclass
class StoryFacts:
    """What a creative's spec says, flattened into the creative's read-only fields."""

    object_type: str = "SHARE"
    image_hash: str | None = None
    image_url: str | None = None
    video_id: str | None = None
    link: str | None = None
    title: str | None = None
    body: str | None = None
    call_to_action_type: str | None = None


class StoryChecker:
    """Validates an ``object_story_spec`` for one account, gathering the creative's facts."""

    def __init__(self, state: SandboxState, media: MediaLookup, version: str) -> None:
        self.state = state
        self.media = media
        self.version = version

    def check(self, value: Any, path: Path, *, needs_story: bool) -> tuple[StoryFacts, str]:
        """Check the spec; returns its facts and Page id.

        ``needs_story`` is False with an ``asset_feed_spec``, which supplies the content.

        Raises:
            GraphError: the first rule the spec breaks.
        """
        spec = require_object(value, path)
        _check_story_keys(spec, path)
        page = check_page(self.state, spec.get("page_id"), (*path, "page_id"))
        if "instagram_actor_id" in spec:
            refuse_instagram_actor_id((*path, "instagram_actor_id"), self.version)
        if "instagram_user_id" in spec:
            check_instagram_user(page, spec["instagram_user_id"], (*path, "instagram_user_id"))
        return self._story(spec, path, needs_story), str(page["id"])

    def _story(self, spec: dict[str, Any], path: Path, needs_story: bool) -> StoryFacts:
        key = _story_type(spec, path, needs_story)
        if key is None:
            return StoryFacts()
        story = require_object(spec[key], (*path, key))
        checkers = {
            "link_data": self._link_data,
            "video_data": self._video_data,
            "photo_data": self._photo_data,
        }
        return checkers[key](story, (*path, key)) if key in checkers else StoryFacts()

    def _link_data(self, data: dict[str, Any], path: Path) -> StoryFacts:
        cta = self._cta(data, path)
        website = cta not in FACEBOOK_DESTINATION_CTAS
        link = check_url(
            required_text(data, "link", path, "the link"), (*path, "link"), website=website
        )
        facts = StoryFacts(
            link=link,
            title=optional_text(data.get("name"), (*path, "name")),
            body=optional_text(data.get("message"), (*path, "message")),
            call_to_action_type=cta,
        )
        optional_text(data.get("description"), (*path, "description"))
        if data.get("child_attachments") is not None:
            self._carousel(data["child_attachments"], (*path, "child_attachments"))
            return facts
        facts.image_hash, facts.image_url = self._image(data, path, "picture")
        return facts

    def _image(
        self, data: dict[str, Any], path: Path, url_key: str
    ) -> tuple[str | None, str | None]:
        if data.get("image_hash") is not None:
            return self.media.image(data["image_hash"], (*path, "image_hash")), None
        if data.get(url_key) is not None:
            return None, check_url(data[url_key], (*path, url_key), website=False)
        raise bad(
            (*path, "image_hash"),
            f"{param_name(path)} needs an image: set image_hash or {url_key}",
            "Image missing",
            f"Add the hash of an uploaded image (image_hash) or an image URL ({url_key}).",
        )

    def _carousel(self, value: Any, path: Path) -> None:
        cards = value if isinstance(value, list) else None
        if cards is None or not MIN_CAROUSEL_CARDS <= len(cards) <= MAX_CAROUSEL_CARDS:
            raise bad(
                path,
                f"A carousel needs between {MIN_CAROUSEL_CARDS} and {MAX_CAROUSEL_CARDS} cards "
                f"in {param_name(path)}",
                "Wrong number of carousel cards",
                f"Send {MIN_CAROUSEL_CARDS} to {MAX_CAROUSEL_CARDS} cards in child_attachments.",
            )
        for index, raw in enumerate(cards):
            self._card(raw, (*path, str(index)))

    def _card(self, raw: Any, card_path: Path) -> None:
        """One carousel card: a link, and a video (with an optional image) or an image."""
        card = require_object(raw, card_path)
        self._cta(card, card_path)
        check_url(
            required_text(card, "link", card_path, "a link for each card"),
            (*card_path, "link"),
        )
        if card.get("video_id") is not None:
            self.media.video(card["video_id"], (*card_path, "video_id"))
            if card.get("image_hash") is not None:
                self.media.image(card["image_hash"], (*card_path, "image_hash"))
        else:
            self._image(card, card_path, "picture")

    def _video_data(self, data: dict[str, Any], path: Path) -> StoryFacts:
        video_id = self.media.video(
            required_text(
                {"video_id": id_text(data.get("video_id"))}, "video_id", path, "the video"
            ),
            (*path, "video_id"),
        )
        image_hash, image_url = self._image(data, path, "image_url")
        return StoryFacts(
            object_type="VIDEO",
            video_id=video_id,
            image_hash=image_hash,
            image_url=image_url,
            title=optional_text(data.get("title"), (*path, "title")),
            body=optional_text(data.get("message"), (*path, "message")),
            call_to_action_type=self._cta(data, path),
        )

    def _photo_data(self, data: dict[str, Any], path: Path) -> StoryFacts:
        image_hash, image_url = self._image(data, path, "url")
        body = optional_text(data.get("caption"), (*path, "caption"))
        return StoryFacts(
            object_type="PHOTO", image_hash=image_hash, image_url=image_url, body=body
        )

    def _cta(self, data: dict[str, Any], path: Path) -> str | None:
        if data.get("call_to_action") is None:
            return None
        return check_call_to_action(data["call_to_action"], (*path, "call_to_action"))


def _story_type(spec: dict[str, Any], path: Path, needs_story: bool) -> str | None:
    """The one story type the spec sets (None when it sets none and needs none)."""
    present = [key for key in STORY_TYPES if spec.get(key) is not None]
    if len(present) > 1:
        raise bad(
            (*path, present[1]),
            f"Only one of {', '.join(STORY_TYPES)} can be set in object_story_spec",
            "Conflicting story types",
            "Describe one kind of post: a link, a video or a photo.",
        )
    if not present and needs_story:
        raise bad(
            path,
            "object_story_spec must contain one of " + ", ".join(STORY_TYPES),
            "Missing ad content",
            "Add link_data (link ads, carousels), video_data or photo_data.",
        )
    return present[0] if present else None


def _check_story_keys(spec: dict[str, Any], path: Path) -> None:
    for key in spec:
        if key not in STORY_SPEC_KEYS:
            raise bad(
                (*path, key),
                f"Param {param_name((*path, key))} is not a valid field of object_story_spec",
                "Unsupported parameter",
                f"Remove '{key}' from object_story_spec.",
            )


def check_object_story_id(state: SandboxState, value: str) -> str:
    """An existing post, ``<page id>_<post id>``, of a Page the account can advertise for.

    Raises:
        GraphError: malformed, or the Page part is not such a Page.
    """
    page_id, sep, post_id = value.partition("_")
    if not sep or not page_id.isdigit() or not post_id.isdigit():
        raise bad(
            ("object_story_id",),
            "Param object_story_id must be a post id of the form <page id>_<post id>",
            "Invalid post id",
            "Use the id of a Page post, e.g. 102030405060708_123456789.",
        )
    check_page(state, page_id, ("object_story_id",))
    return value


def check_degrees_of_freedom(value: Any, today: date) -> dict[str, Any]:
    """``degrees_of_freedom_spec``: each creative feature opts in or out explicitly.

    The ``standard_enhancements`` bundle can no longer be opted into from v22.0 (§11): features
    are enrolled one by one, so an OPT_IN of the bundle is refused. ``image_animation`` and
    ``video_filtering`` exist from 2026-06-28 (§13.4); before that day they are refused.

    Raises:
        GraphError: malformed spec, an unknown enroll status, or an opt-in to the bundle.
    """
    path: Path = ("degrees_of_freedom_spec",)
    spec = require_object(value, path)
    features = spec.get("creative_features_spec")
    if features is None:
        return spec
    features_path = (*path, "creative_features_spec")
    for name, setting in require_object(features, features_path).items():
        if name in ANIMATION_FEATURES and not CREATIVE_FEATURES_ANIMATION.everywhere_on(today):
            raise bad(
                (*features_path, name),
                f"Unknown creative feature {name}",
                "Creative feature not available",
                f"{name} can be set from {CREATIVE_FEATURES_ANIMATION.released}.",
            )
        _check_enrollment(name, setting, features_path)
    return spec


def check_applink_treatment(value: str | None) -> str | None:
    """``applink_treatment`` from the SDK's values.

    Raises:
        GraphError: any other value, naming ``applink_treatment``.
    """
    if value is not None and value not in APPLINK_TREATMENTS:
        raise bad(
            ("applink_treatment",),
            f"param applink_treatment must be one of {{{', '.join(APPLINK_TREATMENTS)}}}",
            "Invalid value",
            f"{value!r} is not an applink_treatment; use one of {', '.join(APPLINK_TREATMENTS)}.",
        )
    return value


def is_survey(interactive_components: Any) -> bool:
    """Whether ``interactive_components_spec`` makes the creative a survey.

    The reference does not say how Meta marks a survey creative [unverified]; the sandbox
    takes a component of ``type`` ``survey`` (beside ``poll`` and the stickers).
    """
    if not isinstance(interactive_components, dict):
        return False
    components = interactive_components.get("components")
    if not isinstance(components, list):
        return False
    return any(isinstance(c, dict) and c.get("type") == "survey" for c in components)


def refuse_survey(path: Path, version: str, today: date) -> None:
    """From v26 no survey creative is made and no ad switches to one (§13.2).

    Raises:
        GraphError: when the change applies, blaming ``path``.
    """
    if V26.applies(version, today):
        raise bad(
            path,
            "Survey creatives are no longer supported: they can't be created or used by ads",
            "Survey creatives retired",
            "Remove the survey component, or keep the ad on its current creative.",
        )


def check_applink_fits(
    treatment: str | None, destination: str | None, version: str, today: date
) -> None:
    """From v26 a website-and-app ad set can't show a ``web_only`` creative (§13.2).

    Raises:
        GraphError: 100 blaming the ad's ``creative``.
    """
    if treatment != "web_only" or destination != WEBSITE_AND_APP:
        return
    if V26.applies(version, today):
        raise bad(
            ("creative",),
            "Creatives with applink_treatment web_only can't be used in ad sets whose "
            "conversion location is website and app",
            "Creative doesn't fit the conversion location",
            "Use a creative with applink_treatment automatic or a deeplink treatment, or "
            "an ad set whose conversion location is the website only.",
        )


def _check_enrollment(name: str, setting: Any, features_path: Path) -> None:
    """One feature's ``enroll_status``: OPT_IN or OPT_OUT, never OPT_IN to the bundle."""
    status = require_object(setting, (*features_path, name)).get("enroll_status")
    status_path = (*features_path, name, "enroll_status")
    if status not in ENROLL_STATUSES:
        raise bad(
            status_path,
            f"param {param_name(status_path)} must be one of {{OPT_IN, OPT_OUT}}",
            "Invalid value",
            f"Set '{param_name(status_path)}' to OPT_IN or OPT_OUT.",
        )
    if name == "standard_enhancements" and status == "OPT_IN":
        raise bad(
            status_path,
            "The standard_enhancements bundle is no longer supported; opt in to each "
            "creative feature individually",
            "Standard enhancements bundle retired",
            "Opt in to features one by one under creative_features_spec.",
        )
