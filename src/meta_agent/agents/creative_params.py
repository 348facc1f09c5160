"""What the AdCreationAgent is asked for, and what it answers (reference §3.3, §3.4, §4.4, §5.8).

The params are checked here, before anything is sent, by the rules Meta enforces: a Page,
an ``https://`` link, one image (by hash, or by the name of an asset uploaded in the same
request), 2 to 10 carousel cards, a call to action from §4.4. :meth:`Params.parse` turns a
mapping into a model and a pydantic error into :class:`RequestValidationError` whose
``field`` is the dotted path (``cards[3].link``) and whose message says how to fix it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal, Self
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from meta_agent.agents.validation import validate

# Reference §4.4 (the SDK's CallToActionType, complete at HEAD).
CALL_TO_ACTION_TYPES = frozenset(
    """ADD_TO_CART APPLY_NOW ASK_ABOUT_SERVICES ASK_A_QUESTION ASK_FOR_MORE_INFO ASK_US AUDIO_CALL
    BOOK_A_CONSULTATION BOOK_NOW BOOK_TRAVEL BROWSE_SHOP BUY BUY_NOW BUY_TICKETS BUY_VIA_MESSAGE
    CALL CALL_ME CALL_NOW CHAT_NOW CHAT_WITH_US CONFIRM CONTACT CONTACT_US DONATE DONATE_NOW
    DOWNLOAD EVENT_RSVP FIND_A_GROUP FIND_OUT_MORE FIND_YOUR_GROUPS FOLLOW_NEWS_STORYLINE
    FOLLOW_PAGE FOLLOW_USER GET_A_QUOTE GET_DETAILS GET_DIRECTIONS GET_IN_TOUCH GET_OFFER
    GET_OFFER_VIEW GET_PROMOTIONS GET_QUOTE GET_SHOWTIMES GET_STARTED INQUIRE_NOW INSTALL_APP
    INSTALL_MOBILE_APP JOIN_CHANNEL JOIN_LIVE_VIDEO LEARN_MORE LIKE_PAGE LISTEN_MUSIC LISTEN_NOW
    MAKE_AN_APPOINTMENT MESSAGE_PAGE MOBILE_DOWNLOAD NO_BUTTON OPEN_INSTANT_APP OPEN_LINK
    ORDER_NOW PAY_TO_ACCESS PLAY_GAME PLAY_GAME_ON_FACEBOOK PURCHASE_GIFT_CARDS RAISE_MONEY
    RECORD_NOW REFER_FRIENDS REQUEST_TIME SAY_THANKS SEE_MORE SEE_SHOP SELL_NOW SEND_A_GIFT
    SEND_GIFT_MONEY SEND_UPDATES SHARE SHOP_NOW SHOP_WITH_AI SIGN_UP SOTTO_SUBSCRIBE START_A_CHAT
    START_ORDER SUBSCRIBE SWIPE_UP_PRODUCT SWIPE_UP_SHOP TRY_DEMO TRY_ON_WITH_AI UPDATE_APP
    USE_APP USE_MOBILE_APP VIDEO_ANNOTATION VIDEO_CALL VIEW_CART VIEW_CHANNEL VIEW_IN_CART
    VIEW_PRODUCT VISIT_PAGES_FEED VISIT_WEBSITE WATCH_LIVE_VIDEO WATCH_MORE WATCH_VIDEO
    WHATSAPP_MESSAGE WOODHENGE_SUPPORT""".split()  # noqa: SIM905 (a 102-value enum reads best as a block)
)
# Calls to action that keep people on Facebook surfaces, so they need no website link.
NO_LINK_CTAS = frozenset({"MESSAGE_PAGE", "WHATSAPP_MESSAGE", "LIKE_PAGE", "FOLLOW_PAGE"})
MAX_URL_LENGTH = 1000
MIN_CARDS, MAX_CARDS = 2, 10


def _call_to_action(value: str) -> str:
    if value not in CALL_TO_ACTION_TYPES:
        raise ValueError(
            f"{value!r} is not a call-to-action type; use one of reference §4.4, "
            "e.g. LEARN_MORE, SHOP_NOW, SIGN_UP or BOOK_NOW"
        )
    return value


def _https(value: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme != "https" or "." not in (parts.hostname or "") or " " in value.strip():
        raise ValueError(f"{value!r} is not an https:// URL; give a full https://... address")
    if len(value) > MAX_URL_LENGTH:
        raise ValueError(f"the URL is longer than {MAX_URL_LENGTH} characters; shorten it")
    return value.strip()


def _digits(value: str) -> str:
    if not value.isdigit():
        raise ValueError(f"{value!r} is not a Graph id; ids are strings of digits")
    return value


CallToActionType = Annotated[str, AfterValidator(_call_to_action)]
"""A call-to-action type of reference §4.4 (``SHOP_NOW``)."""
HttpsUrl = Annotated[str, AfterValidator(_https)]
"""An absolute ``https://`` URL of at most 1000 characters."""
GraphId = Annotated[str, AfterValidator(_digits)]
"""A Graph object id (digits)."""
AssetName = Annotated[str, Field(min_length=1, max_length=100)]
"""The name of an asset uploaded in the same request (``"hero"``)."""
Text = Annotated[str, Field(min_length=1)]


def exactly_one(model: BaseModel, *names: str) -> None:
    """Refuse a model that sets none, or more than one, of ``names``.

    Raises:
        PydanticCustomError: carrying the field to blame in its context.
    """
    given = [name for name in names if getattr(model, name) is not None]
    if len(given) == 1:
        return
    choices = " or ".join(names)
    blamed = given[1] if given else names[0]
    problem = f"both {given[0]} and {given[1]} are set" if given else f"none of {choices} is set"
    raise PydanticCustomError(
        "exactly_one",
        "set exactly one of {choices}: {problem}",
        {"choices": choices, "problem": problem, "field": blamed},
    )


class Params(BaseModel):
    """Base of the agent's inputs: frozen, unknown fields refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        """Validate ``data``.

        Raises:
            RequestValidationError: naming the first bad field's dotted path and the fix.
        """
        return validate(cls, data)


class _Creative(Params):
    """What every creative has: a name, the Page it runs as, an optional Instagram account."""

    name: str = Field(min_length=1, max_length=100)
    page_id: GraphId
    instagram_user_id: GraphId | None = None
    message: Text | None = None
    url_tags: str | None = Field(default=None, max_length=MAX_URL_LENGTH)

    @field_validator("url_tags")
    @classmethod
    def _no_question_mark(cls, value: str | None) -> str | None:
        if value is not None and value.startswith("?"):
            raise ValueError("url_tags is a query string without the '?'; drop the '?'")
        return value


class ImageCreativeParams(_Creative):
    """A single-image link ad: one image, a link, text and a call to action."""

    kind: Literal["image"] = "image"
    image_hash: str | None = Field(default=None, min_length=1)
    image_ref: AssetName | None = None
    link: HttpsUrl
    headline: Text | None = None
    description: Text | None = None
    call_to_action: CallToActionType | None = None

    @model_validator(mode="after")
    def _one_image(self) -> Self:
        exactly_one(self, "image_hash", "image_ref")
        return self


class VideoCreativeParams(_Creative):
    """A video ad: the video, a thumbnail, and a call to action with its link."""

    kind: Literal["video"] = "video"
    video_id: GraphId | None = None
    video_ref: AssetName | None = None
    thumbnail_hash: str | None = Field(default=None, min_length=1)
    thumbnail_ref: AssetName | None = None
    thumbnail_url: HttpsUrl | None = None
    title: Text | None = None
    link: HttpsUrl | None = None
    call_to_action: CallToActionType | None = None

    @model_validator(mode="after")
    def _media(self) -> Self:
        exactly_one(self, "video_id", "video_ref")
        exactly_one(self, "thumbnail_hash", "thumbnail_ref", "thumbnail_url")
        if self.call_to_action and self.call_to_action not in NO_LINK_CTAS and not self.link:
            raise PydanticCustomError(
                "cta_link",
                "call_to_action {cta} sends people to a website; add the link it opens",
                {"cta": self.call_to_action, "field": "link"},
            )
        return self


class CarouselCard(Params):
    """One card of a carousel: its own link, image, headline and call to action."""

    link: HttpsUrl
    image_hash: str | None = Field(default=None, min_length=1)
    image_ref: AssetName | None = None
    headline: Text | None = None
    description: Text | None = None
    call_to_action: CallToActionType | None = None

    @model_validator(mode="after")
    def _one_image(self) -> Self:
        exactly_one(self, "image_hash", "image_ref")
        return self


class CarouselCreativeParams(_Creative):
    """A carousel: 2 to 10 cards, and the link of its "see more" card."""

    kind: Literal["carousel"] = "carousel"
    link: HttpsUrl
    cards: list[CarouselCard]
    call_to_action: CallToActionType | None = None
    multi_share_optimized: bool | None = None
    multi_share_end_card: bool | None = None

    @field_validator("cards")
    @classmethod
    def _card_count(cls, cards: list[CarouselCard]) -> list[CarouselCard]:
        if not MIN_CARDS <= len(cards) <= MAX_CARDS:
            raise ValueError(
                f"a carousel needs {MIN_CARDS} to {MAX_CARDS} cards, not {len(cards)}; "
                + ("add cards" if len(cards) < MIN_CARDS else "remove cards")
            )
        return cards


def _creative_kind(value: Any) -> str | None:
    """The union member a creative is: its ``kind``, else guessed from what it carries."""
    if isinstance(value, _Creative):
        return str(getattr(value, "kind", None))
    if not isinstance(value, Mapping):
        return None
    if "kind" in value:
        return str(value["kind"])
    if "cards" in value:
        return "carousel"
    return "video" if "video_id" in value or "video_ref" in value else "image"


CreativeParams = Annotated[
    Annotated[ImageCreativeParams, Tag("image")]
    | Annotated[VideoCreativeParams, Tag("video")]
    | Annotated[CarouselCreativeParams, Tag("carousel")],
    Discriminator(_creative_kind),
]
"""Any creative the agent makes, told apart by ``kind`` (or by ``cards`` / a video)."""
AnyCreativeParams = ImageCreativeParams | VideoCreativeParams | CarouselCreativeParams


class AdParams(Params):
    """An ad: an ad set showing a creative (an existing one by id, or one made with it)."""

    name: str = Field(min_length=1, max_length=400)
    adset_id: GraphId | None = None
    adset_ref: AssetName | None = None
    creative_id: GraphId | None = None
    creative_ref: AssetName | None = None
    creative: CreativeParams | None = None
    status: Literal["ACTIVE", "PAUSED"] = "PAUSED"
    tracking_specs: list[dict[str, Any]] | None = None
    url_tags: str | None = Field(default=None, max_length=MAX_URL_LENGTH)

    @model_validator(mode="after")
    def _targets(self) -> Self:
        exactly_one(self, "adset_id", "adset_ref")
        exactly_one(self, "creative_id", "creative_ref", "creative")
        if self.url_tags is not None and self.creative is None:
            raise PydanticCustomError(
                "url_tags_on_creative",
                "url_tags belong to the creative; set them on the creative, or give the "
                "creative inline",
                {"field": "url_tags"},
            )
        return self


# -- results ----------------------------------------------------------------------------------


class Result(BaseModel):
    """Base of the agent's answers: frozen, JSON-serialisable."""

    model_config = ConfigDict(frozen=True)


class CreativeResult(Result):
    """A creative made (``id`` is None after ``validate_only``: nothing was created).

    ``reconciled`` is True when the create's answer was lost and the creative was found by
    its idempotency key instead of being sent again.
    """

    id: str | None
    name: str
    kind: Literal["image", "video", "carousel"]
    reconciled: bool = False


class AdResult(Result):
    """An ad made or read (``id`` is None after ``validate_only``)."""

    id: str | None
    name: str
    adset_id: str | None
    creative_id: str | None
    status: str
    effective_status: str | None = None
    reconciled: bool = False


class CreativeAndAd(Result):
    """A creative and the ad showing it, made in one round trip."""

    creative: CreativeResult
    ad: AdResult


class CreativeReplacement(Result):
    """An ad pointed at another creative; swap old and new to undo it."""

    ad_id: str
    old_creative_id: str | None
    new_creative_id: str
    created_creative: bool = False
