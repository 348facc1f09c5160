"""What a caller asks for when it creates a campaign or an ad set, checked before any call.

The rules are the Marketing API reference's (§4, §5), not the seed's older ones: ``OUTCOME_*``
objectives, budgets as integers in the currency's minor unit, a budget on the campaign or on
its ad sets, schedules, billing events per optimization goal, goals per objective, placements
and the v23+ Advantage+ audience flag. The models raise pydantic's ``ValidationError``;
:func:`meta_agent.agents.validation.validate` turns the first problem into a :class:`RequestValidationError` whose
``field`` is a dotted path (``adsets[1].targeting.age_max``) and whose message says the fix.
Interest and place *names* are resolved later, by
:class:`~meta_agent.agents.targeting.TargetingHelper`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)
from pydantic_core import PydanticCustomError

from meta_agent.agents.money_input import MinorUnits
from meta_agent.agents.validation import join_path
from meta_agent.errors import RequestValidationError

OBJECTIVES = (
    "OUTCOME_APP_PROMOTION",
    "OUTCOME_AWARENESS",
    "OUTCOME_ENGAGEMENT",
    "OUTCOME_LEADS",
    "OUTCOME_SALES",
    "OUTCOME_TRAFFIC",
)
# Legacy objectives (refused for new campaigns since v17) → the outcome objective replacing them.
LEGACY_OBJECTIVES = {
    "APP_INSTALLS": "OUTCOME_APP_PROMOTION",
    "BRAND_AWARENESS": "OUTCOME_AWARENESS",
    "REACH": "OUTCOME_AWARENESS",
    "LOCAL_AWARENESS": "OUTCOME_AWARENESS",
    "STORE_VISITS": "OUTCOME_AWARENESS",
    "VIDEO_VIEWS": "OUTCOME_ENGAGEMENT",
    "POST_ENGAGEMENT": "OUTCOME_ENGAGEMENT",
    "PAGE_LIKES": "OUTCOME_ENGAGEMENT",
    "EVENT_RESPONSES": "OUTCOME_ENGAGEMENT",
    "MESSAGES": "OUTCOME_ENGAGEMENT",
    "LINK_CLICKS": "OUTCOME_TRAFFIC",
    "LEAD_GENERATION": "OUTCOME_LEADS",
    "CONVERSIONS": "OUTCOME_SALES",
    "PRODUCT_CATALOG_SALES": "OUTCOME_SALES",
    "OFFER_CLAIMS": "OUTCOME_SALES",
}
SpecialAdCategory = Literal[
    "NONE",
    "EMPLOYMENT",
    "HOUSING",
    "CREDIT",
    "ISSUES_ELECTIONS_POLITICS",
    "ONLINE_GAMBLING_AND_GAMING",
    "FINANCIAL_PRODUCTS_SERVICES",
]
BidStrategy = Literal[
    "LOWEST_COST_WITHOUT_CAP", "LOWEST_COST_WITH_BID_CAP", "COST_CAP", "LOWEST_COST_WITH_MIN_ROAS"
]
BID_CAPPED = frozenset({"LOWEST_COST_WITH_BID_CAP", "COST_CAP"})
Status = Literal["ACTIVE", "PAUSED"]
CustomEventType = Literal[
    "ADD_PAYMENT_INFO", "ADD_TO_CART", "ADD_TO_WISHLIST", "COMPLETE_REGISTRATION", "CONTACT",
    "CONTENT_VIEW", "CUSTOMIZE_PRODUCT", "DONATE", "FIND_LOCATION", "INITIATED_CHECKOUT", "LEAD",
    "OTHER", "PURCHASE", "RATE", "SCHEDULE", "SEARCH", "START_TRIAL", "SUBMIT_APPLICATION",
    "SUBSCRIBE",
]  # fmt: skip
BillingEvent = Literal[
    "APP_INSTALLS", "IMPRESSIONS", "LINK_CLICKS", "LISTING_INTERACTION", "NONE", "OFFER_CLAIMS",
    "PAGE_LIKES", "POST_ENGAGEMENT", "PURCHASE", "THRUPLAY",
]  # fmt: skip
OptimizationGoal = Literal[
    "ADVERTISER_SILOED_VALUE", "AD_RECALL_LIFT", "APP_INSTALLS",
    "APP_INSTALLS_AND_OFFSITE_CONVERSIONS", "AUTOMATIC_OBJECTIVE", "CONVERSATIONS",
    "DERIVED_EVENTS", "ENGAGED_PAGE_VIEWS", "ENGAGED_USERS", "EVENT_RESPONSES", "IMPRESSIONS",
    "IN_APP_VALUE", "LANDING_PAGE_VIEWS", "LEAD_GENERATION", "LINK_CLICKS",
    "MEANINGFUL_CALL_ATTEMPT", "MESSAGING_APPOINTMENT_CONVERSION",
    "MESSAGING_DEEP_CONVERSATION_AND_FOLLOW", "MESSAGING_PURCHASE_CONVERSION", "NONE",
    "OFFSITE_CONVERSIONS", "PAGE_LIKES", "POST_ENGAGEMENT", "PROFILE_AND_PAGE_ENGAGEMENT",
    "PROFILE_VISIT", "QUALITY_CALL", "QUALITY_LEAD", "REACH", "REMINDERS_SET", "SUBSCRIBERS",
    "THRUPLAY", "TWO_SECOND_CONTINUOUS_VIDEO_VIEWS", "VALUE", "VISIT_INSTAGRAM_PROFILE",
]  # fmt: skip
_MESSAGING = ("MESSENGER", "WHATSAPP", "INSTAGRAM_DIRECT")
DestinationType = Literal[
    "APP", "APPLINKS_AUTOMATIC", "FACEBOOK", "INSTAGRAM_DIRECT", "INSTAGRAM_PROFILE",
    "MESSENGER", "MESSAGING_INSTAGRAM_DIRECT_MESSENGER",
    "MESSAGING_INSTAGRAM_DIRECT_MESSENGER_WHATSAPP", "MESSAGING_INSTAGRAM_DIRECT_WHATSAPP",
    "MESSAGING_MESSENGER_WHATSAPP", "ON_AD", "ON_EVENT", "ON_PAGE", "ON_POST", "ON_VIDEO",
    "PHONE_CALL", "SHOP_AUTOMATIC", "WEBSITE", "WHATSAPP",
]  # fmt: skip

_WEB = frozenset(
    {"OFFSITE_CONVERSIONS", "LANDING_PAGE_VIEWS", "LINK_CLICKS", "IMPRESSIONS", "REACH"}
)
# Objective → destination_type → optimization goals (reference §5.7); "*" is any destination.
GOALS_BY_OBJECTIVE: dict[str, dict[str, frozenset[str]]] = {
    "OUTCOME_AWARENESS": {
        "*": frozenset(
            {
                "REACH",
                "IMPRESSIONS",
                "AD_RECALL_LIFT",
                "THRUPLAY",
                "TWO_SECOND_CONTINUOUS_VIDEO_VIEWS",
            }
        )
    },
    "OUTCOME_TRAFFIC": {
        "WEBSITE": frozenset({"LINK_CLICKS", "LANDING_PAGE_VIEWS", "IMPRESSIONS", "REACH"}),
        "APP": frozenset({"LINK_CLICKS"}),
        **dict.fromkeys(_MESSAGING, frozenset({"LINK_CLICKS", "IMPRESSIONS", "REACH"})),
        "PHONE_CALL": frozenset({"QUALITY_CALL", "LINK_CLICKS"}),
        "INSTAGRAM_PROFILE": frozenset({"VISIT_INSTAGRAM_PROFILE", "PROFILE_VISIT"}),
    },
    "OUTCOME_ENGAGEMENT": {
        "ON_POST": frozenset({"POST_ENGAGEMENT", "IMPRESSIONS", "REACH"}),
        "ON_PAGE": frozenset({"PAGE_LIKES"}),
        "ON_EVENT": frozenset({"EVENT_RESPONSES", "POST_ENGAGEMENT", "IMPRESSIONS", "REACH"}),
        "ON_VIDEO": frozenset({"THRUPLAY", "TWO_SECOND_CONTINUOUS_VIDEO_VIEWS"}),
        **dict.fromkeys(_MESSAGING, frozenset({"CONVERSATIONS", "LINK_CLICKS"})),
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
        "*": frozenset(
            {
                "APP_INSTALLS",
                "LINK_CLICKS",
                "APP_INSTALLS_AND_OFFSITE_CONVERSIONS",
                "OFFSITE_CONVERSIONS",
                "VALUE",
            }
        )
    },
    "OUTCOME_SALES": {
        "WEBSITE": _WEB | {"VALUE"},
        **dict.fromkeys(_MESSAGING, frozenset({"CONVERSATIONS"})),
        "APP": frozenset({"OFFSITE_CONVERSIONS", "VALUE", "APP_INSTALLS_AND_OFFSITE_CONVERSIONS"}),
    },
}
# Optimization goal → the billing events it can be billed on (§5.6); any other goal: IMPRESSIONS.
BILLING_BY_GOAL: dict[str, frozenset[str]] = {
    "APP_INSTALLS": frozenset({"IMPRESSIONS", "APP_INSTALLS"}),
    "LINK_CLICKS": frozenset({"IMPRESSIONS", "LINK_CLICKS"}),
    "THRUPLAY": frozenset({"IMPRESSIONS", "THRUPLAY"}),
}
_PAGE_OBJECTIVES = frozenset({"OUTCOME_AWARENESS", "OUTCOME_ENGAGEMENT", "OUTCOME_LEADS"})
# EU member states: ad sets reaching them must name a DSA beneficiary and payor (§5.5).
EU_COUNTRIES = frozenset(
    "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE".split()  # noqa: SIM905 (a block of codes)
)
DAY = timedelta(days=1)


def problem(field: str, message: str) -> PydanticCustomError:
    """A validation problem at ``field`` (relative to the model raising it), saying the fix."""
    return PydanticCustomError("meta_agent", "{message}", {"field": field, "message": message})


def _upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


CountryCode = Annotated[str, BeforeValidator(_upper), Field(pattern=r"^[A-Z]{2}$")]
NumericId = Annotated[str, Field(pattern=r"^\d+$")]
Name = Annotated[str, Field(min_length=1, max_length=400)]


class _Params(BaseModel):
    """Request params: unknown keys are refused (a typo must not vanish), values frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class PromotedObject(BaseModel):
    """What an ad set promotes: a Page, a pixel event, an app or a product set (§5.7)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    page_id: NumericId | None = None
    pixel_id: NumericId | None = None
    custom_event_type: CustomEventType | None = None
    application_id: NumericId | None = None
    object_store_url: str | None = None
    product_catalog_id: NumericId | None = None
    product_set_id: NumericId | None = None


# -- targeting (§5.5, §10.2) ---------------------------------------------------------------------

Platform = Literal["facebook", "instagram", "messenger", "audience_network", "threads", "whatsapp"]
FacebookPosition = Literal[
    "feed", "right_hand_column", "marketplace", "video_feeds", "story", "search",
    "instream_video", "facebook_reels", "facebook_reels_overlay", "profile_feed", "notification",
]  # fmt: skip
# Instagram "explore" (the Explore feed) and Messenger "story" were removed in v26 (every
# version from 2026-10-27; reference §13.2): they are not offered, and _removed_positions
# says why when a caller asks for one.
InstagramPosition = Literal[
    "stream", "story", "explore_home", "reels", "profile_feed", "ig_search", "profile_reels",
]  # fmt: skip
REMOVED_POSITIONS = {
    ("messenger_positions", "story"): "removed in v26 (Meta drops it silently); "
    "use sponsored_messages",
    ("instagram_positions", "explore"): "the Explore feed was removed in v26; "
    "use explore_home or reels",
}
# positions key → the publisher platform it belongs to
POSITION_PLATFORM = {
    "facebook_positions": "facebook",
    "instagram_positions": "instagram",
    "audience_network_positions": "audience_network",
    "messenger_positions": "messenger",
    "threads_positions": "threads",
    "whatsapp_positions": "whatsapp",
}
CITY_RADIUS = {"mile": (10.0, 50.0), "kilometer": (17.0, 80.0)}


class Placements(_Params):
    """Manual placements; leave ``TargetingParams.placements`` unset for Advantage+ placements."""

    publisher_platforms: list[Platform] = Field(min_length=1)
    facebook_positions: list[FacebookPosition] = []
    instagram_positions: list[InstagramPosition] = []
    audience_network_positions: list[Literal["classic", "rewarded_video"]] = []
    messenger_positions: list[Literal["sponsored_messages"]] = []
    threads_positions: list[Literal["threads_stream"]] = []
    whatsapp_positions: list[Literal["status"]] = []
    device_platforms: list[Literal["mobile", "desktop"]] = []

    @model_validator(mode="before")
    @classmethod
    def _removed_positions(cls, data: Any) -> Any:
        """Name the v26 removal instead of a bare "not a permitted value"."""
        if isinstance(data, dict):
            for (key, position), why in REMOVED_POSITIONS.items():
                values = data.get(key)
                if isinstance(values, list) and position in values:
                    raise problem(key, f"{position!r}: {why}")
        return data

    @model_validator(mode="after")
    def _combinations(self) -> Placements:
        if "video_feeds" in self.facebook_positions:
            raise problem(
                "facebook_positions", "video_feeds was retired in v24; use facebook_reels"
            )
        if set(self.publisher_platforms) == {"audience_network"}:
            raise problem("publisher_platforms", "audience_network can't run alone; add facebook")
        for key, platform in POSITION_PLATFORM.items():
            if getattr(self, key) and platform not in self.publisher_platforms:
                raise problem(key, f"add {platform!r} to publisher_platforms to use {key}")
        self._check_pairs()
        return self

    def _check_pairs(self) -> None:
        fb, ig = self.facebook_positions, self.instagram_positions
        story = "story" in fb or "story" in ig
        if story and not ("feed" in fb or "stream" in ig or ("story" in fb and "story" in ig)):
            raise problem("facebook_positions", "story placements need feed (or Instagram stream)")
        if self.threads_positions and "stream" not in ig:
            raise problem("threads_positions", "threads_stream needs Instagram 'stream' too")
        if self.whatsapp_positions and "story" not in ig:
            raise problem("whatsapp_positions", "WhatsApp status needs Instagram 'story' too")


class CityTarget(_Params):
    """A city by key with an optional radius (10-50 miles or 17-80 km)."""

    key: NumericId
    radius: float | None = None
    distance_unit: Literal["mile", "kilometer"] = "mile"

    @model_validator(mode="before")
    @classmethod
    def _from_key(cls, data: Any) -> Any:
        return {"key": data} if isinstance(data, str) else data

    @model_validator(mode="after")
    def _radius_in_range(self) -> CityTarget:
        low, high = CITY_RADIUS[self.distance_unit]
        if self.radius is not None and not low <= self.radius <= high:
            raise problem("radius", f"use {low:g} to {high:g} {self.distance_unit}s")
        return self


class PlaceQuery(_Params):
    """A place named in words, resolved by ``adgeolocation`` search (``"Mumbai"``)."""

    name: str = Field(min_length=1)
    location_type: Literal["country", "region", "city", "zip", "geo_market"] | None = None
    country_code: CountryCode | None = None
    radius: float | None = None
    distance_unit: Literal["mile", "kilometer"] = "mile"

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, data: Any) -> Any:
        return {"name": data} if isinstance(data, str) else data


def _genders(value: Any) -> Any:
    names = {"male": 1, "men": 1, "female": 2, "women": 2}
    if isinstance(value, list):
        return [names.get(v.lower(), v) if isinstance(v, str) else v for v in value]
    return value


def _automatic(value: Any) -> Any:
    return None if value == "automatic" else value


class TargetingParams(_Params):
    """Who sees the ads: places by key and/or by name, interests by name, ages, audiences.

    Names (``interests``, ``places``) are resolved to keys by the TargetingHelper. ``genders``
    takes 1/2 or "male"/"female" (empty: everyone). ``placements`` unset (or "automatic") is
    Advantage+ placements. ``advantage_audience`` is always sent, explicitly: Meta defaults
    a missing flag to 1, and from v26 refuses it missing in housing, employment and financial
    campaigns.
    """

    countries: list[CountryCode] = []
    regions: list[NumericId] = []
    cities: list[CityTarget] = []
    zips: list[str] = []
    places: list[PlaceQuery] = []
    location_types: list[Literal["home", "recent", "travel_in"]] | None = None
    interests: list[Annotated[str, Field(min_length=1)]] = []
    interest_ids: list[NumericId] = []
    age_min: int = Field(default=18, ge=18, le=65)
    age_max: int = Field(default=65, ge=18, le=65)
    genders: Annotated[list[Literal[1, 2]], BeforeValidator(_genders)] = []
    custom_audiences: list[NumericId] = []
    excluded_custom_audiences: list[NumericId] = []
    placements: Annotated[Placements | None, BeforeValidator(_automatic)] = None
    locales: list[int] = []
    advantage_audience: bool = False

    @model_validator(mode="after")
    def _coherent(self) -> TargetingParams:
        located = self.countries or self.regions or self.cities or self.zips or self.places
        if not located and not self.custom_audiences:
            raise problem("countries", "target at least one location (countries, places, ...)")
        if self.age_min > self.age_max:
            raise problem("age_min", f"must not exceed age_max ({self.age_max})")
        if self.advantage_audience and self.age_max < 65:
            raise problem("age_max", "with advantage_audience on, leave age_max at 65")
        both = sorted(set(self.custom_audiences) & set(self.excluded_custom_audiences))
        if both:
            raise problem("excluded_custom_audiences", f"{both[0]} is also included; pick one")
        return self

    def reaches_eu(self) -> bool:
        """Whether a country given by code is in the EU (places resolve later)."""
        return bool(EU_COUNTRIES.intersection(self.countries))


# -- campaigns and ad sets (§3.1, §3.2, §5.1-§5.4) ------------------------------------------------


class CampaignParams(_Params):
    """A campaign to create. Budgets are minor units (₹40.00 is 4000); PAUSED by default.

    A budget here (``daily_budget`` or ``lifetime_budget``) is Advantage campaign budget and
    the ad sets then carry none; without one, ``is_adset_budget_sharing_enabled`` is sent
    (False unless set), as v24+ requires.
    """

    name: Name
    objective: str
    status: Status = "PAUSED"
    special_ad_categories: list[SpecialAdCategory] = []
    special_ad_category_country: list[CountryCode] = []
    daily_budget: MinorUnits | None = None
    lifetime_budget: MinorUnits | None = None
    bid_strategy: BidStrategy | None = None
    spend_cap: MinorUnits | None = None
    start_time: AwareDatetime | None = None
    stop_time: AwareDatetime | None = None
    is_adset_budget_sharing_enabled: bool | None = None
    promoted_object: PromotedObject | None = None

    @property
    def has_budget(self) -> bool:
        """Whether the campaign holds the budget (Advantage campaign budget)."""
        return bool(self.daily_budget or self.lifetime_budget)

    @model_validator(mode="after")
    def _coherent(self) -> CampaignParams:
        _check_objective(self.objective)
        if "NONE" in self.special_ad_categories and len(self.special_ad_categories) > 1:
            raise problem("special_ad_categories", "NONE can't be combined with a category")
        if self.special_ad_category_country and not self.categories:
            raise problem("special_ad_category_country", "only with special_ad_categories")
        _check_one_budget(self.daily_budget, self.lifetime_budget)
        if self.bid_strategy and not self.has_budget:
            raise problem("bid_strategy", "needs a campaign budget; set it on the ad sets instead")
        if self.is_adset_budget_sharing_enabled and self.has_budget:
            raise problem("is_adset_budget_sharing_enabled", "only without a campaign budget")
        _check_order(self.start_time, self.stop_time, "stop_time")
        return self

    @property
    def categories(self) -> list[str]:
        """The special ad categories, without the ``NONE`` placeholder."""
        return [c for c in self.special_ad_categories if c != "NONE"]


class AttributionWindow(_Params):
    """One attribution window: ``{"event_type": "CLICK_THROUGH", "window_days": 7}``."""

    event_type: Literal["CLICK_THROUGH", "VIEW_THROUGH", "ENGAGED_VIDEO_VIEW"]
    window_days: Literal[1, 7, 28]


class AdSetParams(_Params):
    """An ad set to create under a campaign. Budgets and bids are minor units.

    ``billing_event`` must suit ``optimization_goal`` (§5.6); a lifetime budget needs an
    ``end_time``; a daily budget needs a schedule longer than 24 hours.
    """

    name: Name
    status: Status = "PAUSED"
    optimization_goal: OptimizationGoal
    billing_event: BillingEvent = "IMPRESSIONS"
    destination_type: DestinationType | None = None
    targeting: TargetingParams
    daily_budget: MinorUnits | None = None
    lifetime_budget: MinorUnits | None = None
    bid_strategy: BidStrategy | None = None
    bid_amount: MinorUnits | None = None
    bid_constraints: dict[str, int] | None = None
    start_time: AwareDatetime | None = None
    end_time: AwareDatetime | None = None
    promoted_object: PromotedObject | None = None
    attribution_spec: list[AttributionWindow] | None = None
    dsa_beneficiary: str | None = None
    dsa_payor: str | None = None

    @property
    def has_budget(self) -> bool:
        """Whether the ad set carries its own budget."""
        return bool(self.daily_budget or self.lifetime_budget)

    @model_validator(mode="after")
    def _coherent(self) -> AdSetParams:
        allowed = BILLING_BY_GOAL.get(self.optimization_goal, frozenset({"IMPRESSIONS"}))
        if self.billing_event not in allowed:
            fix = " or ".join(sorted(allowed))
            raise problem("billing_event", f"{self.optimization_goal} bills on {fix}")
        _check_one_budget(self.daily_budget, self.lifetime_budget)
        self._check_schedule()
        self._check_bid()
        if self.targeting.reaches_eu() and not (self.dsa_beneficiary and self.dsa_payor):
            missing = "dsa_payor" if self.dsa_beneficiary else "dsa_beneficiary"
            raise problem(missing, "ad sets reaching the EU name a DSA beneficiary and payor")
        return self

    def _check_schedule(self) -> None:
        _check_order(self.start_time, self.end_time, "end_time")
        if self.lifetime_budget and self.end_time is None:
            raise problem("end_time", "a lifetime budget needs an end_time")
        start, end = self.start_time, self.end_time
        if self.daily_budget and start and end and end - start <= DAY:
            raise problem("end_time", "a daily budget needs more than 24 hours; or use lifetime")

    def _check_bid(self) -> None:
        if self.bid_strategy in BID_CAPPED and self.bid_amount is None:
            raise problem("bid_amount", f"{self.bid_strategy} needs a bid_amount (minor units)")
        if self.bid_strategy == "LOWEST_COST_WITH_MIN_ROAS":
            if not (self.bid_constraints or {}).get("roas_average_floor"):
                raise problem("bid_constraints", "send {'roas_average_floor': ROAS x 10000}")
            if self.optimization_goal != "VALUE":
                raise problem("optimization_goal", "LOWEST_COST_WITH_MIN_ROAS needs VALUE")


class CampaignChanges(_Params):
    """Changes to a campaign; unset fields stay as they are."""

    name: Name | None = None
    status: Literal["ACTIVE", "PAUSED", "ARCHIVED"] | None = None
    daily_budget: MinorUnits | None = None
    lifetime_budget: MinorUnits | None = None
    bid_strategy: BidStrategy | None = None
    spend_cap: MinorUnits | None = None
    start_time: AwareDatetime | None = None
    stop_time: AwareDatetime | None = None

    @model_validator(mode="after")
    def _coherent(self) -> CampaignChanges:
        _check_one_budget(self.daily_budget, self.lifetime_budget)
        _check_order(self.start_time, self.stop_time, "stop_time")
        return self


class AdSetChanges(_Params):
    """Changes to an ad set; unset fields stay as they are (targeting is replaced whole)."""

    name: Name | None = None
    status: Literal["ACTIVE", "PAUSED", "ARCHIVED"] | None = None
    daily_budget: MinorUnits | None = None
    lifetime_budget: MinorUnits | None = None
    bid_strategy: BidStrategy | None = None
    bid_amount: MinorUnits | None = None
    start_time: AwareDatetime | None = None
    end_time: AwareDatetime | None = None
    targeting: TargetingParams | None = None

    @model_validator(mode="after")
    def _coherent(self) -> AdSetChanges:
        _check_one_budget(self.daily_budget, self.lifetime_budget)
        _check_order(self.start_time, self.end_time, "end_time")
        return self


def _check_objective(objective: str) -> None:
    if objective in LEGACY_OBJECTIVES:
        modern = LEGACY_OBJECTIVES[objective]
        raise problem("objective", f"{objective} is a legacy objective; use {modern}")
    if objective not in OBJECTIVES:
        raise problem("objective", f"{objective!r} is unknown; use one of {', '.join(OBJECTIVES)}")


def _check_one_budget(daily: int | None, lifetime: int | None) -> None:
    if daily and lifetime:
        raise problem("lifetime_budget", "set daily_budget or lifetime_budget, not both")


def _check_order(start: Any, end: Any, field: str) -> None:
    if start is not None and end is not None and end <= start:
        raise problem(field, "must be after start_time")


# -- checks that need the campaign --------------------------------------------------------------


def check_delivery(objective: str, adset: AdSetParams, at: str = "") -> None:
    """The ad set's destination, goal and promoted object suit the campaign's objective (§5.7).

    Raises:
        RequestValidationError: naming ``{at}.optimization_goal`` (or the key at fault).
    """
    table = GOALS_BY_OBJECTIVE.get(objective)
    if table is None:
        return  # a legacy campaign read back from Meta: nothing current to check against
    destination = adset.destination_type
    if destination is not None and "*" not in table and destination not in table:
        _fail(at, "destination_type", f"{objective} offers {', '.join(table)}")
    goals = table.get(destination or "", table.get("*")) or frozenset().union(*table.values())
    if adset.optimization_goal not in goals:
        _fail(at, "optimization_goal", f"{objective} takes {', '.join(sorted(goals))}")
    for key in promoted_fields(objective, destination, adset.optimization_goal):
        if getattr(adset.promoted_object, key, None) is None:
            _fail(at, f"promoted_object.{key}", f"{adset.optimization_goal} needs {key}")


def promoted_fields(objective: str, destination: str | None, goal: str) -> tuple[str, ...]:
    """The ``promoted_object`` keys an ad set needs for its objective, destination and goal."""
    if objective == "OUTCOME_APP_PROMOTION" or destination == "APP":
        return ("application_id", "object_store_url")
    if goal in {"OFFSITE_CONVERSIONS", "VALUE"}:
        return ("pixel_id", "custom_event_type")
    if objective in _PAGE_OBJECTIVES or destination in _MESSAGING:
        return ("page_id",)
    return ()


def check_budget_level(campaign: CampaignParams, adsets: Sequence[AdSetParams]) -> None:
    """The budget lives on the campaign or on every one of its ad sets, never both (§5.2).

    Also: under a campaign budget, bids follow the campaign's capped strategy, and a lifetime
    campaign budget without a ``stop_time`` needs every ad set to end.

    Raises:
        RequestValidationError: naming ``adsets[i].daily_budget`` (or the field at fault).
    """
    for index, adset in enumerate(adsets):
        check_adset_level(campaign, adset, f"adsets[{index}]")


def check_adset_level(campaign: CampaignParams, adset: AdSetParams, at: str = "") -> None:
    """One ad set against its campaign's budget level (see :func:`check_budget_level`).

    Raises:
        RequestValidationError: naming ``{at}.daily_budget`` (or the field at fault).
    """
    budget = "lifetime_budget" if adset.lifetime_budget else "daily_budget"
    if campaign.has_budget and adset.has_budget:
        _fail(at, budget, "the campaign holds the budget; remove this one")
    if not campaign.has_budget and not adset.has_budget:
        _fail(at, "daily_budget", "set a daily_budget or lifetime_budget, or budget the campaign")
    if campaign.has_budget and adset.bid_strategy:
        _fail(at, "bid_strategy", "the campaign's bid_strategy applies; remove this one")
    if campaign.bid_strategy in BID_CAPPED and adset.bid_amount is None:
        _fail(at, "bid_amount", f"the campaign's {campaign.bid_strategy} needs a bid_amount")
    if campaign.lifetime_budget and not campaign.stop_time and adset.end_time is None:
        _fail(at, "end_time", "a lifetime campaign budget needs an end_time (or stop_time)")


def _fail(at: str, field: str, fix: str) -> None:
    path = join_path(at, field)
    raise RequestValidationError(f"{path}: {fix}", field=path)
