"""Typed models of the Graph objects and insights rows we read, and the specs we send.

Each model is strict about the fields it declares and keeps the fields Meta adds later in
``model_extra`` (see :mod:`meta_agent.graph.values` for how strings become numbers and times).
Budgets and bids stay minor-unit integers on the objects because the currency lives on the ad
account; ``budget(currency)`` and ``AdAccount.money`` turn them into :class:`Money`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from pydantic import Field, SecretStr, model_validator

from meta_agent.graph.values import GraphDate, GraphDecimal, GraphInt, GraphTime, as_int, money_of

# Re-exported: a model and the value types on it are imported together.
from meta_agent.graph.values import GraphModel as GraphModel
from meta_agent.graph.values import GraphNode as GraphNode
from meta_agent.graph.values import Money as Money

# -- specs shared by reads and writes -----------------------------------------------------------


class TargetingSpec(GraphModel):
    """An ad set's ``targeting`` (reference §10.2); rarer keys pass through as extras."""

    geo_locations: dict[str, Any] | None = None
    excluded_geo_locations: dict[str, Any] | None = None
    age_min: GraphInt | None = None
    age_max: GraphInt | None = None
    genders: list[GraphInt] | None = None
    locales: list[GraphInt] | None = None
    flexible_spec: list[dict[str, Any]] | None = None
    exclusions: dict[str, Any] | None = None
    custom_audiences: list[dict[str, Any]] | None = None
    excluded_custom_audiences: list[dict[str, Any]] | None = None
    publisher_platforms: list[str] | None = None
    facebook_positions: list[str] | None = None
    instagram_positions: list[str] | None = None
    device_platforms: list[str] | None = None
    targeting_automation: dict[str, Any] | None = None
    brand_safety_content_filter_levels: list[str] | None = None


class CallToAction(GraphModel):
    """``{"type": "SHOP_NOW", "value": {"link": ...}}`` (reference §4.4)."""

    type: str
    value: dict[str, Any] | None = None


class LinkData(GraphModel):
    """``object_story_spec.link_data`` of a link ad (carousels put cards in ``child_attachments``)."""

    link: str | None = None
    message: str | None = None
    name: str | None = None
    description: str | None = None
    caption: str | None = None
    image_hash: str | None = None
    picture: str | None = None
    call_to_action: CallToAction | None = None
    child_attachments: list[dict[str, Any]] | None = None


class VideoData(GraphModel):
    """``object_story_spec.video_data`` of a video ad."""

    video_id: str
    image_hash: str | None = None
    image_url: str | None = None
    title: str | None = None
    message: str | None = None
    call_to_action: CallToAction | None = None


class ObjectStorySpec(GraphModel):
    """The story a creative publishes on a Page (reference §3.3)."""

    page_id: str
    instagram_user_id: str | None = None
    link_data: LinkData | None = None
    video_data: VideoData | None = None
    photo_data: dict[str, Any] | None = None


# -- objects ------------------------------------------------------------------------------------


class _Budgeted(GraphNode):
    """Budgets are minor-unit integers; the account knows the currency, so ask with it."""

    daily_budget: GraphInt | None = None
    lifetime_budget: GraphInt | None = None
    budget_remaining: GraphInt | None = None

    def budget(self, currency: str) -> Money | None:
        """The daily or lifetime budget as ``Money`` in the account's ``currency``."""
        return money_of(self.daily_budget or self.lifetime_budget, currency)


class Campaign(_Budgeted):
    """A campaign (Graph "ad campaign group", reference §3.1)."""

    DEFAULT_FIELDS: ClassVar[tuple[str, ...]] = (
        "id", "account_id", "name", "objective", "status", "configured_status",
        "effective_status", "buying_type", "bid_strategy", "daily_budget", "lifetime_budget",
        "budget_remaining", "spend_cap", "special_ad_categories", "start_time", "stop_time",
        "created_time", "updated_time", "is_adset_budget_sharing_enabled",
    )  # fmt: skip

    account_id: str | None = None
    name: str | None = None
    objective: str | None = None
    status: str | None = None
    configured_status: str | None = None
    effective_status: str | None = None
    buying_type: str | None = None
    bid_strategy: str | None = None
    spend_cap: GraphInt | None = None
    special_ad_categories: list[str] | None = None
    special_ad_category_country: list[str] | None = None
    start_time: GraphTime | None = None
    stop_time: GraphTime | None = None
    created_time: GraphTime | None = None
    updated_time: GraphTime | None = None
    promoted_object: dict[str, Any] | None = None
    is_adset_budget_sharing_enabled: bool | None = None
    pacing_type: list[str] | None = None
    issues_info: list[dict[str, Any]] | None = None
    adlabels: list[dict[str, Any]] | None = None


class AdSet(_Budgeted):
    """An ad set (Graph "ad campaign", reference §3.2)."""

    DEFAULT_FIELDS: ClassVar[tuple[str, ...]] = (
        "id", "account_id", "campaign_id", "name", "status", "configured_status",
        "effective_status", "optimization_goal", "billing_event", "bid_strategy", "bid_amount",
        "daily_budget", "lifetime_budget", "budget_remaining", "start_time", "end_time",
        "created_time", "updated_time", "targeting", "promoted_object", "destination_type",
    )  # fmt: skip

    account_id: str | None = None
    campaign_id: str | None = None
    campaign: Campaign | None = None
    name: str | None = None
    status: str | None = None
    configured_status: str | None = None
    effective_status: str | None = None
    optimization_goal: str | None = None
    billing_event: str | None = None
    bid_strategy: str | None = None
    bid_amount: GraphInt | None = None
    bid_constraints: dict[str, Any] | None = None
    start_time: GraphTime | None = None
    end_time: GraphTime | None = None
    created_time: GraphTime | None = None
    updated_time: GraphTime | None = None
    targeting: TargetingSpec | None = None
    promoted_object: dict[str, Any] | None = None
    destination_type: str | None = None
    attribution_spec: list[dict[str, Any]] | None = None
    is_dynamic_creative: bool | None = None
    issues_info: list[dict[str, Any]] | None = None


class AdCreative(GraphNode):
    """An ad creative (reference §3.3): immutable apart from its name and status."""

    DEFAULT_FIELDS: ClassVar[tuple[str, ...]] = (
        "id", "account_id", "name", "status", "object_story_spec", "object_story_id",
        "effective_object_story_id", "image_hash", "video_id", "call_to_action_type",
        "url_tags", "thumbnail_url",
    )  # fmt: skip

    account_id: str | None = None
    name: str | None = None
    status: str | None = None
    object_story_spec: ObjectStorySpec | None = None
    object_story_id: str | None = None
    effective_object_story_id: str | None = None
    object_type: str | None = None
    image_hash: str | None = None
    image_url: str | None = None
    video_id: str | None = None
    title: str | None = None
    body: str | None = None
    call_to_action_type: str | None = None
    url_tags: str | None = None
    thumbnail_url: str | None = None
    asset_feed_spec: dict[str, Any] | None = None
    degrees_of_freedom_spec: dict[str, Any] | None = None


class Ad(GraphNode):
    """An ad (Graph "adgroup", reference §3.4): an ad set showing a creative."""

    DEFAULT_FIELDS: ClassVar[tuple[str, ...]] = (
        "id", "account_id", "campaign_id", "adset_id", "name", "status", "configured_status",
        "effective_status", "creative", "created_time", "updated_time",
    )  # fmt: skip

    account_id: str | None = None
    campaign_id: str | None = None
    adset_id: str | None = None
    campaign: Campaign | None = None
    adset: AdSet | None = None
    creative: AdCreative | None = None
    name: str | None = None
    status: str | None = None
    configured_status: str | None = None
    effective_status: str | None = None
    created_time: GraphTime | None = None
    updated_time: GraphTime | None = None
    tracking_specs: list[dict[str, Any]] | None = None
    conversion_domain: str | None = None
    ad_review_feedback: dict[str, Any] | None = None
    issues_info: list[dict[str, Any]] | None = None


class AdImage(GraphNode):
    """An image in an account's library; its id is ``<account digits>:<hash>``."""

    DEFAULT_FIELDS: ClassVar[tuple[str, ...]] = (
        "id", "account_id", "hash", "name", "url", "width", "height", "status", "created_time",
    )  # fmt: skip

    account_id: str | None = None
    hash: str
    name: str | None = None
    url: str | None = None
    url_128: str | None = None
    width: GraphInt | None = None
    height: GraphInt | None = None
    original_width: GraphInt | None = None
    original_height: GraphInt | None = None
    status: str | None = None
    permalink_url: str | None = None
    created_time: GraphTime | None = None
    updated_time: GraphTime | None = None


class VideoStatus(GraphModel):
    """``status`` of a video: ``video_status`` is processing, ready or error."""

    video_status: str
    processing_progress: GraphInt | None = None


class AdVideo(GraphNode):
    """A video in an account's library (reference §3.6)."""

    DEFAULT_FIELDS: ClassVar[tuple[str, ...]] = (
        "id", "title", "description", "length", "status", "created_time", "updated_time",
    )  # fmt: skip

    title: str | None = None
    description: str | None = None
    length: GraphDecimal | None = None
    status: VideoStatus | None = None
    picture: str | None = None
    created_time: GraphTime | None = None
    updated_time: GraphTime | None = None


_ACCOUNT_MONEY = ("amount_spent", "balance", "spend_cap")


def _account_money(data: Any) -> Any:
    """Pair the account's minor-unit amounts with its currency (both come in one payload)."""
    if not isinstance(data, dict) or not any(key in data for key in _ACCOUNT_MONEY):
        return data
    currency = data.get("currency")
    if not isinstance(currency, str):
        raise ValueError("read an account's money fields together with its currency")
    return {
        **data,
        **{
            key: {"amount_minor": as_int(data[key]), "currency": currency}
            for key in _ACCOUNT_MONEY
            if isinstance(data.get(key), str | int)
        },
    }


class AdAccount(GraphNode):
    """An ad account (``act_<digits>``, reference §4.6); its money is ``Money``."""

    DEFAULT_FIELDS: ClassVar[tuple[str, ...]] = (
        "id", "account_id", "name", "currency", "timezone_name", "timezone_offset_hours_utc",
        "account_status", "disable_reason", "amount_spent", "balance", "spend_cap",
        "business_country_code", "created_time",
    )  # fmt: skip

    account_id: str | None = None
    name: str | None = None
    currency: str | None = None
    timezone_name: str | None = None
    timezone_offset_hours_utc: GraphDecimal | None = None
    account_status: GraphInt | None = None
    disable_reason: GraphInt | None = None
    amount_spent: Money | None = None
    balance: Money | None = None
    spend_cap: Money | None = None
    business_country_code: str | None = None
    created_time: GraphTime | None = None
    ads_api_access_tier: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _pair_money_with_currency(cls, data: Any) -> Any:
        return _account_money(data)

    def money(self, minor: int | None) -> Money | None:
        """A minor-unit amount (a budget, a bid) in this account's currency.

        Raises:
            ValueError: the account was read without its ``currency``.
        """
        if self.currency is None:
            raise ValueError("read the account with its currency first")
        return money_of(minor, self.currency)


class Page(GraphNode):
    """A Facebook Page the user manages (``me/accounts``); its token never prints."""

    DEFAULT_FIELDS: ClassVar[tuple[str, ...]] = (
        "id", "name", "category", "tasks", "instagram_business_account",
    )  # fmt: skip

    name: str | None = None
    category: str | None = None
    tasks: list[str] | None = None
    access_token: SecretStr | None = None
    instagram_business_account: GraphNode | None = None
    link: str | None = None


class User(GraphNode):
    """The user the token belongs to (``/me``)."""

    DEFAULT_FIELDS: ClassVar[tuple[str, ...]] = ("id", "name")

    name: str | None = None


# -- targeting search (reference §10.1) ---------------------------------------------------------


class TargetingOption(GraphModel):
    """An interest, behaviour or demographic from ``search?type=adinterest`` and friends."""

    id: str | None = None
    name: str
    type: str | None = None
    path: list[str] | None = None
    description: str | None = None
    topic: str | None = None
    audience_size_lower_bound: GraphInt | None = None
    audience_size_upper_bound: GraphInt | None = None
    valid: bool | None = None


class GeoLocation(GraphModel):
    """A place from ``search?type=adgeolocation``; ``key`` goes into ``geo_locations``."""

    key: str
    name: str
    type: str
    country_code: str | None = None
    country_name: str | None = None
    region: str | None = None
    region_id: GraphInt | None = None
    primary_city: str | None = None
    primary_city_id: GraphInt | None = None
    supports_region: bool | None = None
    supports_city: bool | None = None


class Locale(GraphModel):
    """A locale from ``search?type=adlocale``; the integer ``key`` goes into ``locales``."""

    key: GraphInt
    name: str


class ReachEstimate(GraphModel):
    """``act_X/reachestimate``: the audience size range of a targeting spec."""

    users_lower_bound: GraphInt
    users_upper_bound: GraphInt
    estimate_ready: bool | None = None


# -- insights (reference §9.1) ------------------------------------------------------------------

ATTRIBUTION_WINDOWS = frozenset(
    """1d_view 7d_view 28d_view 1d_click 7d_click 28d_click 1d_ev dda default
    7d_view_first_conversion 28d_view_first_conversion 7d_view_all_conversions
    28d_view_all_conversions skan_click skan_view skan_click_second_postback
    skan_view_second_postback skan_click_third_postback skan_view_third_postback""".split()  # noqa: SIM905 (reference §4.5's list, kept as a block)
)


class ActionValue(GraphModel):
    """One item of an action list: ``{"action_type": "link_click", "value": "82", "7d_click": "80"}``.

    Values per attribution window land in ``windows``; action breakdowns (``action_device``
    and the like) stay extras.
    """

    action_type: str
    value: GraphDecimal
    windows: dict[str, GraphDecimal] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _gather_windows(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        windows = {key: value for key, value in data.items() if key in ATTRIBUTION_WINDOWS}
        rest = {key: value for key, value in data.items() if key not in ATTRIBUTION_WINDOWS}
        return {**rest, "windows": {**data.get("windows", {}), **windows}}


ActionList = list[ActionValue]


class InsightsRow(GraphModel):
    """One insights row; counts are ``int``, ratios and ``spend`` (major units) ``Decimal``.

    Meta omits a metric it has no value for, so every metric is optional; breakdown columns
    (``age``, ``country`` ...) not declared here are kept as extras.
    """

    account_id: str | None = None
    account_name: str | None = None
    account_currency: str | None = None
    campaign_id: str | None = None
    campaign_name: str | None = None
    adset_id: str | None = None
    adset_name: str | None = None
    ad_id: str | None = None
    ad_name: str | None = None
    objective: str | None = None
    optimization_goal: str | None = None
    date_start: GraphDate
    date_stop: GraphDate
    impressions: GraphInt | None = None
    reach: GraphInt | None = None
    clicks: GraphInt | None = None
    unique_clicks: GraphInt | None = None
    inline_link_clicks: GraphInt | None = None
    frequency: GraphDecimal | None = None
    spend: GraphDecimal | None = None
    cpc: GraphDecimal | None = None
    cpm: GraphDecimal | None = None
    cpp: GraphDecimal | None = None
    ctr: GraphDecimal | None = None
    unique_ctr: GraphDecimal | None = None
    inline_link_click_ctr: GraphDecimal | None = None
    cost_per_inline_link_click: GraphDecimal | None = None
    actions: ActionList | None = None
    action_values: ActionList | None = None
    conversions: ActionList | None = None
    conversion_values: ActionList | None = None
    cost_per_action_type: ActionList | None = None
    cost_per_conversion: ActionList | None = None
    outbound_clicks: ActionList | None = None
    purchase_roas: ActionList | None = None
    website_purchase_roas: ActionList | None = None
    video_thruplay_watched_actions: ActionList | None = None
    age: str | None = None
    gender: str | None = None
    country: str | None = None
    region: str | None = None
    publisher_platform: str | None = None
    platform_position: str | None = None
    device_platform: str | None = None
    impression_device: str | None = None

    def spend_money(self, currency: str | None = None) -> Money | None:
        """``spend`` in minor units, in ``currency`` or the row's ``account_currency``.

        Raises:
            ValueError: no currency given and the row has no ``account_currency``.
        """
        code = currency or self.account_currency
        if code is None:
            raise ValueError("ask for account_currency or pass the account's currency")
        return None if self.spend is None else Money.from_major(self.spend, code)

    def action(self, action_type: str, of: str = "actions") -> Decimal | None:
        """The value of ``action_type`` in the list ``of`` (``actions`` by default), if present."""
        items: list[ActionValue] | None = getattr(self, of, None)
        for item in items or []:
            if item.action_type == action_type:
                return item.value
        return None
