"""Ad creative rules (reference §3.3, §4.4, §5.8): story specs, media, links and calls to action.

Every check names the offending path in ``blame_field_specs`` (e.g.
``["object_story_spec", "link_data", "image_hash"]``) so a client can point at the exact
field to fix. Soft guidance from the Ads Guide (recommended text lengths, punctuation advice)
is deliberately not enforced: Meta accepts such creatives, and so must the sandbox.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from meta_agent import versions
from meta_agent.sandbox.errors import GraphError, invalid_param
from meta_agent.sandbox.state import SandboxState

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
_FACEBOOK_DESTINATION_CTAS = frozenset(
    {"MESSAGE_PAGE", "WHATSAPP_MESSAGE", "LIKE_PAGE", "FOLLOW_PAGE", "CHAT_WITH_US", "EVENT_RSVP"}
)
AUTHORIZATION_CATEGORIES = ("NONE", "POLITICAL", "POLITICAL_WITH_DIGITALLY_CREATED_MEDIA")
STORY_TYPES = ("link_data", "video_data", "photo_data", "template_data", "text_data")
STORY_SPEC_KEYS = frozenset(
    {"page_id", "instagram_user_id", "instagram_actor_id", "threads_user_id", *STORY_TYPES}
)
ENROLL_STATUSES = ("OPT_IN", "OPT_OUT")
MAX_URL_LENGTH = 1000
MIN_CAROUSEL_CARDS = 2
MAX_CAROUSEL_CARDS = 10


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


def _text(value: Any, path: Path) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise bad(
        path,
        f"Param {param_name(path)} must be a string",
        "Text expected",
        f"Send '{param_name(path)}' as text.",
    )


def _required_text(spec: dict[str, Any], key: str, path: Path, what: str) -> str:
    value = _text(spec.get(key), (*path, key))
    if not value or not value.strip():
        raise bad(
            (*path, key),
            f"The parameter {param_name((*path, key))} is required",
            "Missing required parameter",
            f"Add {what} ('{param_name((*path, key))}').",
        )
    return value


class MediaLookup:
    """Finds the account's images and videos, refusing ones that are missing or not ready."""

    def __init__(self, state: SandboxState, account_id: str, now: float) -> None:
        self.state = state
        self.account_id = account_id
        self.now = now

    def image(self, image_hash: Any, path: Path) -> str:
        """The hash, once known to name an image in this ad account.

        Raises:
            GraphError: no such (non-deleted) image in the account's library.
        """
        text = _text(image_hash, path) or ""
        record = self.state.find(f"{self.account_id}:{text}")
        if record is None or record.get("kind") != "adimage" or record.get("status") == "DELETED":
            raise bad(
                path,
                f"Image with hash {text!r} was not found in ad account {self.account_id} "
                f"({param_name(path)})",
                "Image not found",
                "Upload the image to this ad account (POST /act_{id}/adimages) and use the hash "
                "it returns.",
            )
        return text

    def video(self, video_id: Any, path: Path) -> str:
        """The video id, once known to name a processed video in this ad account.

        Raises:
            GraphError: no such video in the account, or it is still processing.
        """
        text = str(video_id) if isinstance(video_id, str | int) else ""
        record = self.state.find(text)
        if (
            record is None
            or record.get("kind") != "advideo"
            or (record.get("account_id") != self.account_id or record.get("status") == "DELETED")
        ):
            raise bad(
                path,
                f"Video {text!r} was not found in ad account {self.account_id} "
                f"({param_name(path)})",
                "Video not found",
                "Upload the video to this ad account (POST /act_{id}/advideos) and use its id.",
            )
        ready_at = record.get("ready_at")
        if ready_at is None or self.now < float(ready_at):
            raise bad(
                path,
                f"Video {text} is still processing and can't be used in an ad yet",
                "Video still processing",
                "Wait until GET /{video_id}?fields=status shows video_status 'ready', then retry.",
            )
        return text


def check_url(value: Any, path: Path, *, website: bool = True) -> str:
    """An absolute http(s) URL of at most 1000 characters; facebook.com refused for websites.

    Raises:
        GraphError: not a URL, too long, or a Facebook URL where a website is expected.
    """
    text = (_text(value, path) or "").strip()
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
    kind = _text(cta.get("type"), (*path, "type"))
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
            website = kind not in _FACEBOOK_DESTINATION_CTAS
            check_url(extra["link"], (*path, "value", "link"), website=website)
    return kind


def check_authorization_category(value: str | None) -> None:
    """``authorization_category`` from its enum.

    Raises:
        GraphError: an unknown category.
    """
    if value is not None and value not in AUTHORIZATION_CATEGORIES:
        raise bad(
            ("authorization_category",),
            "param authorization_category must be one of {"
            + ", ".join(AUTHORIZATION_CATEGORIES)
            + "}",
            "Invalid value",
            f"'{value}' is not a valid authorization_category.",
        )


def refuse_instagram_actor_id(path: Path, version: str) -> None:
    """``instagram_actor_id`` was replaced by ``instagram_user_id`` in v22.0 (§11).

    Raises:
        GraphError: always, on v22.0 and later.
    """
    if versions.at_least(version, "v22.0"):
        raise bad(
            path,
            f"Param {param_name(path)} is no longer supported from v22.0; use instagram_user_id",
            "instagram_actor_id is deprecated",
            "Send the Instagram account as 'instagram_user_id' instead of 'instagram_actor_id'.",
        )


def check_degrees_of_freedom(value: Any) -> dict[str, Any]:
    """``degrees_of_freedom_spec``: each creative feature opts in or out explicitly.

    The ``standard_enhancements`` bundle can no longer be opted into from v22.0 (§11): features
    are enrolled one by one, so an OPT_IN of the bundle is refused.

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
    return spec


def check_page(state: SandboxState, value: Any, path: Path) -> dict[str, Any]:
    """The Page a creative speaks for: it must be a Page this sandbox user can advertise for.

    Raises:
        GraphError: absent, or not such a Page.
    """
    page_id = str(value) if isinstance(value, str | int) else ""
    if not page_id:
        raise bad(
            path,
            f"The parameter {param_name(path)} is required",
            "Missing required parameter",
            "Name the Facebook Page the ad runs as in object_story_spec.page_id.",
        )
    page = state.find(page_id)
    if page is None or page.get("kind") != "page":
        raise bad(
            path,
            f"Param {param_name(path)} must be a valid Page ID ({page_id} is not a Page you "
            "can advertise for)",
            "Invalid Page",
            "Use the id of a Page listed by GET /me/accounts.",
        )
    return page


def check_instagram_user(page: dict[str, Any], value: Any, path: Path) -> str:
    """The Instagram account must be the one connected to the creative's Page.

    Raises:
        GraphError: any other account.
    """
    user_id = str(value) if isinstance(value, str | int) else ""
    if user_id != page.get("instagram_user_id"):
        raise bad(
            path,
            f"Param {param_name(path)} must be the Instagram account connected to Page "
            f"{page['id']}",
            "Instagram account not connected",
            "Use the id in GET /{page_id}?fields=instagram_business_account.",
        )
    return user_id


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
        for key in spec:
            if key not in STORY_SPEC_KEYS:
                raise bad(
                    (*path, key),
                    f"Param {param_name((*path, key))} is not a valid field of object_story_spec",
                    "Unsupported parameter",
                    f"Remove '{key}' from object_story_spec.",
                )
        page = check_page(self.state, spec.get("page_id"), (*path, "page_id"))
        if "instagram_actor_id" in spec:
            refuse_instagram_actor_id((*path, "instagram_actor_id"), self.version)
        if "instagram_user_id" in spec:
            check_instagram_user(page, spec["instagram_user_id"], (*path, "instagram_user_id"))
        return self._story(spec, path, needs_story), str(page["id"])

    def _story(self, spec: dict[str, Any], path: Path, needs_story: bool) -> StoryFacts:
        present = [key for key in STORY_TYPES if spec.get(key) is not None]
        if len(present) > 1:
            raise bad(
                (*path, present[1]),
                f"Only one of {', '.join(STORY_TYPES)} can be set in object_story_spec",
                "Conflicting story types",
                "Describe one kind of post: a link, a video or a photo.",
            )
        if not present:
            if needs_story:
                raise bad(
                    path,
                    "object_story_spec must contain one of " + ", ".join(STORY_TYPES),
                    "Missing ad content",
                    "Add link_data (link ads, carousels), video_data or photo_data.",
                )
            return StoryFacts()
        key = present[0]
        story = require_object(spec[key], (*path, key))
        checkers = {
            "link_data": self._link_data,
            "video_data": self._video_data,
            "photo_data": self._photo_data,
        }
        return checkers[key](story, (*path, key)) if key in checkers else StoryFacts()

    def _link_data(self, data: dict[str, Any], path: Path) -> StoryFacts:
        cta = self._cta(data, path)
        website = cta not in _FACEBOOK_DESTINATION_CTAS
        link = check_url(
            _required_text(data, "link", path, "the link"), (*path, "link"), website=website
        )
        facts = StoryFacts(
            link=link,
            title=_text(data.get("name"), (*path, "name")),
            body=_text(data.get("message"), (*path, "message")),
            call_to_action_type=cta,
        )
        _text(data.get("description"), (*path, "description"))
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
            card_path = (*path, str(index))
            card = require_object(raw, card_path)
            self._cta(card, card_path)
            check_url(
                _required_text(card, "link", card_path, "a link for each card"),
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
            _required_text(
                {"video_id": _id_text(data.get("video_id"))}, "video_id", path, "the video"
            ),
            (*path, "video_id"),
        )
        image_hash, image_url = self._image(data, path, "image_url")
        return StoryFacts(
            object_type="VIDEO",
            video_id=video_id,
            image_hash=image_hash,
            image_url=image_url,
            title=_text(data.get("title"), (*path, "title")),
            body=_text(data.get("message"), (*path, "message")),
            call_to_action_type=self._cta(data, path),
        )

    def _photo_data(self, data: dict[str, Any], path: Path) -> StoryFacts:
        image_hash, image_url = self._image(data, path, "url")
        body = _text(data.get("caption"), (*path, "caption"))
        return StoryFacts(
            object_type="PHOTO", image_hash=image_hash, image_url=image_url, body=body
        )

    def _cta(self, data: dict[str, Any], path: Path) -> str | None:
        if data.get("call_to_action") is None:
            return None
        return check_call_to_action(data["call_to_action"], (*path, "call_to_action"))


def _id_text(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


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


def check_asset_feed_spec(media: MediaLookup, value: Any) -> dict[str, Any]:
    """A dynamic creative's assets: images and videos must exist, links and CTAs be valid.

    Raises:
        GraphError: the first asset that breaks a rule.
    """
    path: Path = ("asset_feed_spec",)
    spec = require_object(value, path)
    for index, image in enumerate(_assets(spec, "images")):
        item = require_object(image, (*path, "images", str(index)))
        media.image(item.get("hash"), (*path, "images", str(index), "hash"))
    for index, video in enumerate(_assets(spec, "videos")):
        item = require_object(video, (*path, "videos", str(index)))
        media.video(_id_text(item.get("video_id")), (*path, "videos", str(index), "video_id"))
    for index, link in enumerate(_assets(spec, "link_urls")):
        item_path = (*path, "link_urls", str(index))
        check_url(require_object(link, item_path).get("website_url"), (*item_path, "website_url"))
    for index, kind in enumerate(_assets(spec, "call_to_action_types")):
        if kind not in CALL_TO_ACTION_TYPES:
            item_path = (*path, "call_to_action_types", str(index))
            raise bad(
                item_path,
                f"param {param_name(item_path)} must be one of the call to action types",
                "Invalid call to action",
                f"'{kind}' is not a call to action type; use e.g. LEARN_MORE or SHOP_NOW.",
            )
    return spec


def _assets(spec: dict[str, Any], key: str) -> list[Any]:
    value = spec.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise bad(
            ("asset_feed_spec", key),
            f"Param asset_feed_spec[{key}] must be an array",
            "Array expected",
            f"Send asset_feed_spec.{key} as a JSON array.",
        )
    return value
