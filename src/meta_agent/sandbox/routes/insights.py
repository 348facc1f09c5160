"""Insights (§9): ``GET|POST /{object}/insights`` and async report runs ``/{report_run_id}``.

A query is parsed once into a :class:`Query`; a :class:`Report` then lays its rows out as
entities (the objects of the ``level``) x time buckets x breakdown segments, counting them
without computing any metric. A page asks only for its own rows, so reading a 200,000-row
report costs one page of cells per request. Sorting and metric filters need every row and
are the exception. The numbers come from :mod:`meta_agent.sandbox.synth`, whose docstring
states what adds up to what.

Report runs are snapshots: their rows are recomputed on demand from the stored parameters
as of the run's ``time_ref``, so they equal a sync query made at that moment (objects
edited since then do show their new state).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, overload

from meta_agent.sandbox.core import Ctx
from meta_agent.sandbox.errors import GraphError, invalid_param
from meta_agent.sandbox.nodes import Edge, NodeType, Record, Registry, compact, page
from meta_agent.sandbox.params import Params, check_enum, check_known
from meta_agent.sandbox.rules.money import ZERO_DECIMAL
from meta_agent.sandbox.status import (
    AD_EFFECTIVE,
    ADSET_EFFECTIVE,
    CAMPAIGN_EFFECTIVE,
    effective_status,
)
from meta_agent.sandbox.synth import (
    CONVERSIONS,
    DEVICES,
    HOURLY_DIMS,
    MODELLED_WINDOWS,
    Counts,
    Model,
    add_into,
    allocate,
    split,
)


def words(text: str) -> tuple[str, ...]:
    """The whitespace-separated names in ``text`` (long enumerations read as prose)."""
    return tuple(text.split())


LEVELS = ("ad", "adset", "campaign", "account")
LEVEL_OF_KIND = {"adaccount": "account", "campaign": "campaign", "adset": "adset", "ad": "ad"}
DATE_PRESETS = words(
    """today yesterday this_month last_month this_quarter maximum data_maximum last_3d last_7d
    last_14d last_28d last_30d last_90d last_week_mon_sun last_week_sun_sat last_quarter
    last_year this_week_mon_today this_week_sun_today this_year"""
)
BREAKDOWNS = words(
    """ad_extension_domain ad_extension_url ad_format_asset affiliate_click_region
    affiliate_link_url age app_id body_asset breakdown_ad_objective breakdown_reporting_ad_id
    call_to_action_asset coarse_conversion_value comscore_market conversion_destination country
    creative_automation_asset_id creative_fingerprint_details creative_format_classification
    creative_media_type_breakdown creative_relaxation_asset_type crm_advertiser_l12_territory_ids
    crm_advertiser_subvertical_id crm_advertiser_vertical_id crm_ult_advertiser_id
    description_asset device_platform dma existing_post_id fidelity_type
    flexible_format_asset_type frequency_value gen_ai_asset_type gender
    hourly_stats_aggregated_by_advertiser_time_zone hourly_stats_aggregated_by_audience_time_zone
    hsid image_asset impression_device impression_view_time_advertiser_hour_v2
    instagram_ads_follow_type instagram_ads_instagram_media_product_type
    instagram_ads_time_since_creation_bucket internal_campaign_id is_auto_advance
    is_conversion_id_modeled is_rendered_as_delayed_skip_ad landing_destination link_url_asset
    marketing_messages_btn_name mdsa_landing_destination media_asset_url media_creator
    media_destination_url media_format media_id media_origin_url media_text_content media_type
    mmm msa_seller_name overlap_segment pa_creator_ig_handle place_page_id placement_path
    platform_position postback_sequence_index product_brand_breakdown product_category_breakdown
    product_custom_label_0_breakdown product_custom_label_1_breakdown
    product_custom_label_2_breakdown product_custom_label_3_breakdown
    product_custom_label_4_breakdown product_group_content_id_breakdown product_id
    publisher_platform redownload reels_trending_topic region rta_ugc_topic rule_set_id
    rule_set_name signal_source signal_source_bucket skan_campaign_id skan_conversion_id
    skan_version sot_attribution_model_type sot_attribution_window sot_channel sot_event_type
    sot_source standard_event_content_type title_asset user_persona_id user_persona_name
    video_asset zip"""
)
HOURLY = HOURLY_DIMS
DELIVERY = frozenset(
    {"publisher_platform", "platform_position", "impression_device", "device_platform"}
)
# The breakdown sets the sandbox serves ("+" joins one set); Meta refuses other mixes.
COMBINATIONS = frozenset(
    frozenset(combo.split("+")) if combo != "none" else frozenset()
    for combo in words(
        """none age gender age+gender country region country+region publisher_platform
        publisher_platform+platform_position publisher_platform+platform_position+impression_device
        publisher_platform+impression_device device_platform publisher_platform+device_platform
        hourly_stats_aggregated_by_advertiser_time_zone
        hourly_stats_aggregated_by_audience_time_zone"""
    )
)
# Nested dimensions are split after their parent, whatever order the caller listed them in.
DIMENSION_ORDER = (
    *words(
        """age gender country region publisher_platform platform_position impression_device
        device_platform"""
    ),
    *sorted(HOURLY),
)
ACTION_BREAKDOWNS = words(
    """action_canvas_component_name action_carousel_card_id action_carousel_card_name
    action_destination action_device action_reaction action_target_id action_type
    action_video_sound action_video_type conversion_destination is_business_ai_assisted
    matched_persona_id matched_persona_name signal_source_bucket
    standard_event_content_type"""
)
ATTRIBUTION_WINDOWS = words(
    """1d_click 1d_ev 1d_sequenced 1d_view 28d_click 28d_sequenced 28d_view
    28d_view_all_conversions 28d_view_first_conversion 7d_click 7d_sequenced 7d_view
    7d_view_all_conversions 7d_view_first_conversion custom dda default incrementality
    incrementality_all_conversions incrementality_first_conversion skan_click
    skan_click_second_postback skan_click_third_postback skan_view skan_view_second_postback
    skan_view_third_postback"""
)
OPERATORS = words(
    """EQUAL NOT_EQUAL GREATER_THAN GREATER_THAN_OR_EQUAL LESS_THAN LESS_THAN_OR_EQUAL IN_RANGE
    NOT_IN_RANGE CONTAIN NOT_CONTAIN IN NOT_IN STARTS_WITH ENDS_WITH ANY ALL AFTER BEFORE
    ON_OR_AFTER ON_OR_BEFORE NONE TOP"""
)
OBJECT_OPERATORS = frozenset(
    {"IN", "NOT_IN", "EQUAL", "NOT_EQUAL", "CONTAIN", "NOT_CONTAIN", "STARTS_WITH", "ENDS_WITH"}
)
NUMBER_OPERATORS = frozenset(
    words(
        """EQUAL NOT_EQUAL GREATER_THAN GREATER_THAN_OR_EQUAL LESS_THAN LESS_THAN_OR_EQUAL IN_RANGE
    NOT_IN_RANGE"""
    )
)
STATUS_CHOICES = {"campaign": CAMPAIGN_EFFECTIVE, "adset": ADSET_EFFECTIVE, "ad": AD_EFFECTIVE}
QUERY_PARAMS = frozenset(
    words(
        """action_attribution_windows action_breakdowns action_report_time breakdowns cpas_only
    date_preset default_summary export_columns export_format export_name fields filtering
    graph_cache level limit after before product_id_limit sort summary summary_action_breakdowns
    time_increment time_range time_ranges use_account_attribution_setting
    use_unified_attribution_setting"""
    )
)
MAX_LOOKBACK_MONTHS = 37

# Every AdsInsights field the SDK knows; the ones the sandbox does not model are omitted.
FIELDS = frozenset(
    words(
        """account_currency account_id account_name action_values actions ad_click_actions ad_id
    ad_impression_actions ad_name adset_end adset_id adset_name adset_start
    advanced_actions_28d_view advanced_reach_1d_lookback advanced_reach_28d_lookback
    advanced_reach_7d_lookback age_targeting aggregated_play_time_per_reach
    anchor_event_attribution_setting anchor_events_performance_indicator attribution_setting
    auction_bid auction_competitiveness auction_max_competitor_bid
    average_purchases_conversion_value buying_type campaign_id campaign_name
    canvas_avg_view_percent canvas_avg_view_time catalog_segment_actions catalog_segment_value
    catalog_segment_value_mobile_purchase_roas catalog_segment_value_omni_purchase_roas
    catalog_segment_value_website_purchase_roas clicks configurable_attribution_action
    configurable_attribution_actionvalue conversion_lead_rate conversion_leads
    conversion_rate_ranking conversion_values conversions converted_product_quantity
    converted_product_value cost_per_15_sec_video_view cost_per_2_sec_continuous_video_view
    cost_per_6_sec_video_view cost_per_action_type cost_per_ad_click cost_per_conversion
    cost_per_conversion_lead cost_per_dda_countby_convs cost_per_estimated_ad_recallers
    cost_per_inline_link_click cost_per_inline_post_engagement cost_per_message_delivered
    cost_per_mmp_credited_install cost_per_objective_result cost_per_one_thousand_ad_impression
    cost_per_outbound_click cost_per_result cost_per_thruplay cost_per_unique_action_type
    cost_per_unique_click cost_per_unique_conversion cost_per_unique_inline_link_click
    cost_per_unique_outbound_click cpc cpm cpp created_time creative_media_type ctr date_start
    date_stop dda_countby_convs dda_results engagement_rate_ranking estimated_ad_recall_rate
    estimated_ad_recallers frequency full_view_impressions full_view_reach gender_targeting
    impressions inline_link_click_ctr inline_link_clicks inline_post_engagement
    instagram_profile_follow instagram_profile_visits instagram_upcoming_event_reminders_set
    instant_experience_clicks_to_open instant_experience_clicks_to_start
    instant_experience_outbound_clicks interactive_component_tap labels
    landing_page_view_actions_per_link_click landing_page_view_per_link_click location
    messages_delivered mobile_app_purchase_roas objective objective_result_rate
    objective_results optimization_goal outbound_clicks outbound_clicks_ctr place_page_name
    product_views purchase_roas qualifying_question_qualify_answer_rate quality_ranking reach
    result_rate result_values_performance_indicator results shop_clicks social_spend spend
    total_card_view total_postbacks unique_actions unique_clicks unique_conversions unique_ctr
    unique_inline_link_click_ctr unique_inline_link_clicks unique_link_clicks_ctr
    unique_outbound_clicks unique_outbound_clicks_ctr unique_video_continuous_2_sec_watched_actions
    unique_video_view_15_sec updated_time video_15_sec_watched_actions
    video_30_sec_watched_actions video_6_sec_watched_actions video_avg_time_watched_actions
    video_continuous_2_sec_watched_actions video_p100_watched_actions video_p25_watched_actions
    video_p50_watched_actions video_p75_watched_actions video_p95_watched_actions
    video_play_actions video_play_curve_actions video_thruplay_watched_actions
    video_time_watched_actions
    video_view_per_impression website_ctr website_purchase_roas wish_bid"""
    )
)
REPORT_RUN_FIELDS = frozenset(
    words(
        """id account_id async_percent_completion async_report_url async_status date_start date_stop
    emails error_code error_message error_subcode error_user_msg error_user_title friendly_name
    is_async_export is_bookmarked is_running schedule_id time_completed time_ref
    action_attribution_windows action_breakdowns action_report_time breakdowns date_preset
    default_summary fields filtering level sort time_increment time_range time_ranges"""
    )
)
REPORT_RUN_DEFAULTS = words(
    """id account_id time_ref time_completed async_status async_percent_completion date_start
    date_stop is_running error_code error_message error_subcode error_user_title error_user_msg"""
)
ECHOED = ("action_attribution_windows", "action_breakdowns", "breakdowns", "fields", "filtering")
ECHOED_SCALARS = ("action_report_time", "date_preset", "level", "time_increment")

Bucket = tuple[date, date]


def register(registry: Registry) -> None:
    """Register the report run node and the ``insights`` edge on every object that has one."""
    registry.node(
        NodeType(
            "report_run",
            "AdReportRun",
            REPORT_RUN_FIELDS,
            render_run,
            REPORT_RUN_DEFAULTS,
            edges={"insights": Edge(get=_run_results)},
        )
    )
    for kind in LEVEL_OF_KIND:
        if kind in registry.node_types:
            registry.add_edge(kind, "insights", Edge(get=_sync, post=_start))


# -- handlers ------------------------------------------------------------------------------------


def _sync(ctx: Ctx, node: Record) -> Any:
    check_known(ctx.params, QUERY_PARAMS, "AdsInsights")
    report = build_report(ctx, node, ctx.params, ctx.now())
    if len(report) > ctx.sb.config.sync_insights_max_rows:
        raise GraphError(
            message="Please reduce the amount of data you're asking for, then retry your request",
            code=1,
            status=500,
        )
    return report.page(ctx)


def _start(ctx: Ctx, node: Record) -> Any:
    check_known(ctx.params, QUERY_PARAMS, "AdsInsights")
    now = ctx.now()
    report = build_report(ctx, node, ctx.params, now)
    stored = {k: v for k, v in ctx.params.raw.items() if k not in _NOT_STORED and v is not None}
    record: Record = {
        "kind": "report_run",
        "id": ctx.sb.new_id(),
        "account_id": report.model.account["account_id"],
        "object_id": node["id"],
        "params": stored,
        "created_time": now,
        "estimated_rows": len(report),
        "date_start": report.query.since.isoformat(),
        "date_stop": report.query.until.isoformat(),
    }
    ctx.state.add(record)
    return {"report_run_id": record["id"]}


_NOT_STORED = frozenset({"access_token", "appsecret_proof", "method", "limit", "after", "before"})


def _run_results(ctx: Ctx, run: Record) -> Any:
    status = _phase(ctx, run)[0]
    if status != "Job Completed":
        raise invalid_param(
            f"Report run {run['id']} has no results to read: its async_status is '{status}'",
            user_msg="Poll the report run until async_status is 'Job Completed', then read.",
        )
    node = ctx.state.get(str(run["object_id"]))
    params = Params(dict(run["params"]))
    report = build_report(ctx, node, params, float(run["created_time"]))
    return report.page(ctx)


# -- report runs -----------------------------------------------------------------------------


def render_run(ctx: Ctx, run: Record) -> dict[str, Any]:
    """A report run as Meta shows it while it moves from 'Job Not Started' to its end."""
    status, percent, finished = _phase(ctx, run)
    out: dict[str, Any] = {
        "id": run["id"],
        "account_id": run["account_id"],
        "time_ref": int(run["created_time"]),
        "time_completed": int(finished) if finished is not None else None,
        "async_status": status,
        "async_percent_completion": percent,
        "date_start": run.get("date_start"),
        "date_stop": run.get("date_stop"),
        "is_running": status in {"Job Not Started", "Job Started", "Job Running"},
        "is_bookmarked": False,
        "is_async_export": 0,
    }
    if status == "Job Failed":
        out.update(_too_large(run))
    params = Params(dict(run["params"]))
    for name in ECHOED:
        out[name] = params.list_(name) if name != "filtering" else params.json_(name)
    for name in ECHOED_SCALARS:
        out[name] = params.str_(name)
    out["time_range"] = {"since": run.get("date_start"), "until": run.get("date_stop")}
    return compact(out)


def _phase(ctx: Ctx, run: Record) -> tuple[str, int, float | None]:
    """Status, percent and completion time of a run at sandbox time (Meta's sequence)."""
    took = ctx.sb.config.report_run_seconds
    created = float(run["created_time"])
    elapsed = ctx.now() - created
    failing = int(run.get("estimated_rows", 0)) > ctx.sb.config.report_max_rows
    if failing and elapsed >= 0.5 * took:
        return "Job Failed", _percent(0.5 * took, took), created + 0.5 * took
    if elapsed >= took:
        return "Job Completed", 100, created + took
    if elapsed < 0.1 * took:
        return "Job Not Started", 0, None
    if elapsed < 0.25 * took:
        return "Job Started", 0, None
    return "Job Running", _percent(elapsed, took), None


def _percent(elapsed: float, took: float) -> int:
    # Meta reports 100% a little before it says "Job Completed"; clients must wait for both.
    if elapsed >= 0.85 * took:
        return 100
    return max(1, min(99, int((elapsed - 0.25 * took) / (0.6 * took) * 100)))


def _too_large(run: Record) -> dict[str, Any]:
    return {
        "error_code": -3,
        "error_subcode": 1504045,
        "error_message": "The report you requested is too large to be processed",
        "error_user_title": "Report too large",
        "error_user_msg": (
            f"This report would have about {run.get('estimated_rows')} rows. Split it into "
            "shorter date ranges or run it per campaign or ad set."
        ),
    }


# -- query ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filter:
    """One ``filtering`` entry."""

    field: str
    operator: str
    value: Any


@dataclass(frozen=True)
class Query:
    """A parsed, validated insights query."""

    level: str
    fields: tuple[str, ...]
    breakdowns: tuple[str, ...]
    action_breakdowns: tuple[str, ...]
    windows: tuple[str, ...]
    buckets: tuple[Bucket, ...]
    contiguous: bool
    object_filters: tuple[Filter, ...] = ()
    metric_filters: tuple[Filter, ...] = ()
    action_types: frozenset[str] | None = None
    sort: tuple[tuple[str, bool], ...] = ()
    summary: tuple[str, ...] | None = None

    @property
    def since(self) -> date:
        """The first day the query covers."""
        return min(bucket[0] for bucket in self.buckets)

    @property
    def until(self) -> date:
        """The last day the query covers."""
        return max(bucket[1] for bucket in self.buckets)

    @property
    def dims(self) -> tuple[str, ...]:
        """Breakdowns in the order the model splits them (parents before children)."""
        return tuple(dim for dim in DIMENSION_ORDER if dim in self.breakdowns)


def parse_query(params: Params, level: str, today: date) -> Query:
    """Validate every insights parameter and return the query they describe.

    Raises:
        GraphError: an unknown field, level, breakdown, preset or window; an invalid
            breakdown combination or filter; a start date beyond 37 months (code 3018).
    """
    level = params.enum_("level", LEVELS) or level
    fields = _fields(params, level)
    breakdowns = tuple(_enum_list(params, "breakdowns", BREAKDOWNS))
    action_breakdowns = tuple(
        _enum_list(params, "action_breakdowns", ACTION_BREAKDOWNS) or ["action_type"]
    )
    _check_combination(breakdowns, action_breakdowns)
    params.enum_("action_report_time", ("impression", "conversion", "mixed", "lifetime"))
    buckets, contiguous = _buckets(params, today)
    filters = _filters(params)
    return Query(
        level=level,
        fields=fields,
        breakdowns=breakdowns,
        action_breakdowns=action_breakdowns,
        windows=tuple(_enum_list(params, "action_attribution_windows", ATTRIBUTION_WINDOWS)),
        buckets=buckets,
        contiguous=contiguous,
        object_filters=tuple(f for f in filters if "." in f.field),
        metric_filters=tuple(f for f in filters if "." not in f.field and f.field != "action_type"),
        action_types=_action_types(filters),
        sort=_sort(params),
        summary=_summary(params, fields),
    )


def _fields(params: Params, level: str) -> tuple[str, ...]:
    names = [str(name) for name in params.list_("fields") or []]
    if not names:
        return (f"{level}_id", "impressions", "spend")
    for name in names:
        _check_field(name)
    return tuple(dict.fromkeys(names))


def _check_field(name: str) -> None:
    if name not in FIELDS:
        raise invalid_param(
            f"{name} is not valid for fields param. please check "
            "https://developers.facebook.com/docs/marketing-api/reference/ads-insights/ "
            "for all valid values",
            blame="fields",
            title="Unknown insights field",
            user_msg=f"'{name}' is not an insights field; remove it or fix its spelling.",
        )


def _enum_list(params: Params, name: str, allowed: Sequence[str]) -> list[str]:
    values = [str(value) for value in params.list_(name) or []]
    for value in values:
        check_enum(name, value, allowed)
    return values


def _check_combination(breakdowns: Sequence[str], action_breakdowns: Sequence[str]) -> None:
    served = frozenset(breakdowns) in COMBINATIONS
    for action_breakdown in action_breakdowns:
        if action_breakdown == "action_device":
            served = served and frozenset(breakdowns) <= DELIVERY
        elif action_breakdown != "action_type":
            served = False
    if not served:
        columns = ", ".join(sorted({*action_breakdowns, *breakdowns}))
        raise invalid_param(
            f"Current combination of data breakdown columns ({columns}) is invalid",
            blame="breakdowns",
            title="Invalid breakdown combination",
            user_msg="Combine breakdowns only as Meta allows, e.g. age+gender or "
            "publisher_platform+platform_position; run other mixes as separate queries.",
        )


def _action_types(filters: Iterable[Filter]) -> frozenset[str] | None:
    for item in filters:
        if item.field == "action_type":
            return frozenset(str(value) for value in item.value)
    return None


def _sort(params: Params) -> tuple[tuple[str, bool], ...]:
    out: list[tuple[str, bool]] = []
    for item in params.list_("sort") or []:
        name, _, direction = str(item).rpartition("_")
        if direction not in {"ascending", "descending"} or name not in FIELDS:
            raise invalid_param(
                f"Invalid sort field: {item}",
                blame="sort",
                user_msg="Sort by an insights field, e.g. spend_descending or "
                "impressions_ascending.",
            )
        out.append((name, direction == "descending"))
    return tuple(out)


def _summary(params: Params, fields: tuple[str, ...]) -> tuple[str, ...] | None:
    raw = params.str_("summary")
    wanted: tuple[str, ...] | None = None
    if raw is not None and raw.strip().lower() not in {"false", "0", ""}:
        names = params.list_("summary") or []
        named = [str(n) for n in names if str(n).lower() not in {"true", "1"}]
        for name in named:
            _check_field(name)
        wanted = tuple(named) or fields
    if wanted is None and params.bool_("default_summary"):
        wanted = fields
    return wanted


# -- dates -------------------------------------------------------------------------------------


def _buckets(params: Params, today: date) -> tuple[tuple[Bucket, ...], bool]:
    ranges = params.json_("time_ranges")
    if ranges:
        if not isinstance(ranges, list):
            raise invalid_param("Param time_ranges must be an array", blame="time_ranges")
        buckets = tuple(_range(item, "time_ranges") for item in ranges)
        for since, _ in buckets:
            _check_lookback(since, today)
        return buckets, False
    time_range = params.object_("time_range")
    if time_range is not None:
        since, until = _range(time_range, "time_range")
    else:
        preset = params.enum_("date_preset", DATE_PRESETS) or "last_30d"
        since, until = preset_range(preset, today)
    _check_lookback(since, today)
    return tuple(_increments(since, until, _increment(params))), True


def _range(value: Any, name: str) -> Bucket:
    try:
        since = date.fromisoformat(str(value["since"]))
        until = date.fromisoformat(str(value["until"]))
    except (KeyError, TypeError, ValueError):
        raise invalid_param(
            f"Param {name} must be like {{'since':'YYYY-MM-DD','until':'YYYY-MM-DD'}}",
            blame=name,
            user_msg=f"Send '{name}' with 'since' and 'until' dates as YYYY-MM-DD.",
        ) from None
    if until < since:
        raise invalid_param(
            f"Param {name}: 'until' must not be before 'since'",
            blame=name,
            user_msg="Swap the dates: 'since' is the first day, 'until' the last.",
        )
    return since, until


def _check_lookback(since: date, today: date) -> None:
    if since < months_back(today, MAX_LOOKBACK_MONTHS):
        raise GraphError(
            message="(#3018) The start date of the time range cannot be beyond 37 months from "
            "the current date",
            code=3018,
        )


def _increment(params: Params) -> int | str:
    raw = params.str_("time_increment")
    if raw is None or raw in {"all_days", "monthly"}:
        return raw or "all_days"
    if raw.isdigit() and 1 <= int(raw) <= 90:
        return int(raw)
    raise invalid_param(
        "Param time_increment must be 'monthly', 'all_days' or an integer between 1 and 90",
        blame="time_increment",
        user_msg="Use time_increment=1 for daily rows, 7 for weekly, or 'monthly'.",
    )


def _increments(since: date, until: date, step: int | str) -> Iterable[Bucket]:
    if step == "all_days":
        yield since, until
        return
    start = since
    while start <= until:
        if step == "monthly":
            stop = _month_end(start)
        else:
            assert isinstance(step, int)
            stop = start + timedelta(days=step - 1)
        yield start, min(stop, until)
        start = min(stop, until) + timedelta(days=1)


def preset_range(preset: str, today: date) -> Bucket:
    """The dates a ``date_preset`` covers, in the account's calendar."""
    one = timedelta(days=1)
    if preset.startswith("last_") and preset.endswith("d"):
        days = int(preset[5:-1])
        return today - timedelta(days=days), today - one
    if preset in {"maximum", "data_maximum"}:
        return months_back(today, MAX_LOOKBACK_MONTHS), today
    if preset in {"today", "yesterday"}:
        day = today if preset == "today" else today - one
        return day, day
    if "week" in preset:
        return _week(preset, today)
    return _calendar(preset, today)


def _week(preset: str, today: date) -> Bucket:
    offset = today.weekday() if "mon" in preset else (today.weekday() + 1) % 7
    start = today - timedelta(days=offset)
    if preset.startswith("this_"):
        return start, today
    return start - timedelta(days=7), start - timedelta(days=1)


def _calendar(preset: str, today: date) -> Bucket:
    if preset == "this_month":
        return today.replace(day=1), today
    if preset == "last_month":
        end = today.replace(day=1) - timedelta(days=1)
        return end.replace(day=1), end
    if preset == "this_year":
        return date(today.year, 1, 1), today
    if preset == "last_year":
        return date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)
    quarter_start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    if preset == "this_quarter":
        return quarter_start, today
    end = quarter_start - timedelta(days=1)
    return months_back(quarter_start, 3), end


def months_back(day: date, months: int) -> date:
    """The same day of the month ``months`` earlier (clamped to the month's length)."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    first = date(year, month + 1, 1)
    return min(first + timedelta(days=day.day - 1), _month_end(first))


def _month_end(day: date) -> date:
    following = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return following - timedelta(days=1)


# -- filtering ---------------------------------------------------------------------------------


def _filters(params: Params) -> list[Filter]:
    raw = params.json_("filtering")
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise invalid_param("Param filtering must be an array of objects", blame="filtering")
    return [_filter(item) for item in raw]


def _filter(item: dict[str, Any]) -> Filter:
    name, operator, value = (
        str(item.get("field", "")),
        str(item.get("operator", "")),
        item.get("value"),
    )
    check_enum("filtering.operator", operator, OPERATORS)
    level, _, attribute = name.partition(".")
    if level in STATUS_CHOICES and attribute in {"effective_status", "id", "name", "objective"}:
        supported = operator in OBJECT_OPERATORS
        if supported and attribute == "effective_status":
            for status in _as_list(value):
                check_enum("filtering.value", str(status), STATUS_CHOICES[level])
    elif name == "action_type":
        supported = operator == "IN"
    else:
        supported = name in FILTERABLE_METRICS and operator in NUMBER_OPERATORS
    if not supported:
        raise invalid_param(
            f"Filtering field {name} with operation {operator} is not supported",
            blame="filtering",
            user_msg="Filter on *.effective_status, *.id, *.name, action_type, or a metric "
            "such as spend or impressions with GREATER_THAN / LESS_THAN.",
        )
    if operator in {"IN", "NOT_IN", "IN_RANGE", "NOT_IN_RANGE"} and not isinstance(value, list):
        raise invalid_param(f"Filter on {name}: {operator} needs a list value", blame="filtering")
    if operator in NUMBER_OPERATORS - {"EQUAL", "NOT_EQUAL"} or name in FILTERABLE_METRICS:
        _check_numbers(name, value)
    return Filter(name, operator, value)


def _check_numbers(name: str, value: Any) -> None:
    for item in _as_list(value):
        try:
            float(item)
        except (TypeError, ValueError):
            raise invalid_param(
                f"Filter on {name}: value {item!r} is not a number",
                blame="filtering",
                user_msg=f"Compare '{name}' with a number, e.g. \"100\" or 100.",
            ) from None


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _object_matches(item: Filter, chain: dict[str, Record], model: Model) -> bool:
    level, _, attribute = item.field.partition(".")
    record = chain[level]
    if attribute == "effective_status":
        actual = effective_status(model.state, record, model.now)
    else:
        actual = str(record.get(attribute, ""))
    expected = [str(value) for value in _as_list(item.value)]
    text, first = actual.lower(), expected[0].lower() if expected else ""
    checks: dict[str, Callable[[], bool]] = {
        "IN": lambda: actual in expected,
        "NOT_IN": lambda: actual not in expected,
        "EQUAL": lambda: actual == (expected[0] if expected else ""),
        "NOT_EQUAL": lambda: actual != (expected[0] if expected else ""),
        "CONTAIN": lambda: first in text,
        "NOT_CONTAIN": lambda: first not in text,
        "STARTS_WITH": lambda: text.startswith(first),
        "ENDS_WITH": lambda: text.endswith(first),
    }
    return checks[item.operator]()


def _number_matches(item: Filter, actual: float) -> bool:
    values = [float(value) for value in _as_list(item.value)]
    low, high = (values + values)[:2] if values else (0.0, 0.0)
    checks = {
        "EQUAL": actual == low,
        "NOT_EQUAL": actual != low,
        "GREATER_THAN": actual > low,
        "GREATER_THAN_OR_EQUAL": actual >= low,
        "LESS_THAN": actual < low,
        "LESS_THAN_OR_EQUAL": actual <= low,
        "IN_RANGE": low <= actual <= high,
        "NOT_IN_RANGE": not low <= actual <= high,
    }
    return checks[item.operator]


# -- the report ----------------------------------------------------------------------------------


@dataclass
class Entity:
    """One object of the query's level, with the ads whose delivery it sums."""

    chain: dict[str, Record]
    ads: list[Record] = field(default_factory=list)
    runs: list[tuple[int, int]] = field(default_factory=list)
    keys: list[tuple[str, ...]] = field(default_factory=list)

    @property
    def rows(self) -> int:
        """Rows this entity contributes: delivering buckets x segments."""
        return sum(high - low for low, high in self.runs) * len(self.keys)

    def bucket(self, position: int) -> int:
        """The index of this entity's ``position``-th delivering bucket."""
        for low, high in self.runs:
            if position < high - low:
                return low + position
            position -= high - low
        raise IndexError(position)


Group = list[tuple[Counts, int | None]]


def build_report(ctx: Ctx, node: Record, params: Params, now: float) -> Report:
    """Parse ``params`` for ``node`` and lay out the rows (without computing them).

    Raises:
        GraphError: any invalid parameter (see :func:`parse_query`).
    """
    account_id = node["id"] if node["kind"] == "adaccount" else f"act_{node['account_id']}"
    account = ctx.state.get(account_id)
    model = Model(ctx.state, account, ctx.sb.config.seed, now)
    query = parse_query(params, LEVEL_OF_KIND[node["kind"]], model.today())
    model.windows = tuple(w for w in query.windows if w in MODELLED_WINDOWS)
    return Report(model, query, _ads_of(ctx, node))


def _ads_of(ctx: Ctx, node: Record) -> list[Record]:
    kind = node["kind"]
    if kind == "ad":
        return [node]
    if kind == "adaccount":
        return list(ctx.state.of_kind("ad", account_id=node["account_id"]))
    return list(ctx.state.of_kind("ad", **{f"{kind}_id": node["id"]}))


class Report:
    """The rows of one query, laid out for random access by index."""

    def __init__(self, model: Model, query: Query, ads: list[Record]) -> None:
        self.model = model
        self.query = query
        self._starts = [bucket[0] for bucket in query.buckets]
        self._stops = [bucket[1] for bucket in query.buckets]
        self.entities = self._entities(ads)
        self.offsets = [0]
        for entity in self.entities:
            self.offsets.append(self.offsets[-1] + entity.rows)
        self._groups: dict[tuple[int, int], Group] = {}

    def __len__(self) -> int:
        return self.offsets[-1]

    # -- layout --------------------------------------------------------------------------------

    def _chain(self, ad: Record) -> dict[str, Record] | None:
        profile = self.model.profile(ad)
        if profile is None:
            return None
        return {
            "account": self.model.account,
            "campaign": profile.campaign,
            "adset": profile.adset,
            "ad": ad,
        }

    def _entities(self, ads: list[Record]) -> list[Entity]:
        level = self.query.level
        grouped: dict[str, Entity] = {}
        for ad in ads:
            chain = self._chain(ad)
            if chain is None or self.model.day_span(ad) is None:
                continue
            if not all(_object_matches(f, chain, self.model) for f in self.query.object_filters):
                continue
            key = str(chain[level]["id"])
            entity = grouped.setdefault(key, Entity(_chain_for(chain, level)))
            entity.ads.append(ad)
        entities = [grouped[key] for key in sorted(grouped, key=_id_order)]
        for entity in entities:
            entity.runs = self._runs(entity.ads)
            entity.keys = self._keys(entity.ads) if entity.runs else []
        return [entity for entity in entities if entity.rows]

    def _runs(self, ads: list[Record]) -> list[tuple[int, int]]:
        spans = sorted(span for ad in ads if (span := self.model.day_span(ad)) is not None)
        buckets = self.query.buckets
        if not self.query.contiguous:
            hits = [i for i, b in enumerate(buckets) if any(_overlaps(b, s) for s in spans)]
            return [(i, i + 1) for i in hits]
        runs: list[tuple[int, int]] = []
        for first, last in spans:
            low = bisect.bisect_left(self._stops, first)
            high = bisect.bisect_right(self._starts, last)
            if low >= high:
                continue
            if runs and low <= runs[-1][1]:
                runs[-1] = (runs[-1][0], max(runs[-1][1], high))
            else:
                runs.append((low, high))
        return runs

    def _keys(self, ads: list[Record]) -> list[tuple[str, ...]]:
        dims = self.query.dims
        if not dims:
            return [()]
        orders: dict[tuple[str, ...], tuple[str, ...]] = {}
        for ad in ads:
            for segment in self.model.segments(ad, dims):
                orders.setdefault(segment.key, segment.order)
        return sorted(orders, key=lambda key: orders[key])

    # -- computing -----------------------------------------------------------------------------

    def locate(self, index: int) -> tuple[int, int, int]:
        """Row ``index`` as (entity, bucket, segment) positions."""
        entity_index = bisect.bisect_right(self.offsets, index) - 1
        entity = self.entities[entity_index]
        position, segment = divmod(index - self.offsets[entity_index], len(entity.keys))
        return entity_index, entity.bucket(position), segment

    def group(self, entity_index: int, bucket_index: int) -> Group:
        """Counters and reach of every segment of one entity in one bucket (memoised)."""
        key = (entity_index, bucket_index)
        if key not in self._groups:
            entity = self.entities[entity_index]
            bucket = self.query.buckets[bucket_index]
            self._groups[key] = self._compute(entity.ads, entity.keys, bucket, self.query.dims)
        return self._groups[key]

    def _compute(
        self, ads: list[Record], keys: list[tuple[str, ...]], bucket: Bucket, dims: tuple[str, ...]
    ) -> Group:
        positions = {key: i for i, key in enumerate(keys)}
        totals: list[Counts] = [{} for _ in keys]
        reach = 0
        for ad in ads:
            impressions, days = self._accumulate(ad, bucket, dims, totals, positions)
            reach += self.model.reach(ad, impressions, days)
        if HOURLY & set(dims):
            return [(counts, None) for counts in totals]
        shares = allocate(reach, [counts.get("impressions", 0) for counts in totals])
        return list(zip(totals, shares, strict=True))

    def _accumulate(
        self,
        ad: Record,
        bucket: Bucket,
        dims: tuple[str, ...],
        totals: list[Counts],
        positions: dict[tuple[str, ...], int],
    ) -> tuple[int, int]:
        """Add the ad's cells in ``bucket`` into ``totals``; return its impressions and days."""
        span = self.model.day_span(ad)
        if span is None:
            return 0, 0
        day, last = max(bucket[0], span[0]), min(bucket[1], span[1])
        impressions = days = 0
        while day <= last:
            cell = self.model.cell(ad, day)
            if cell is not None:
                days += 1
                impressions += cell["impressions"]
                self._spread(ad, day, dims, cell, totals, positions)
            day += timedelta(days=1)
        return impressions, days

    def _spread(
        self,
        ad: Record,
        day: date,
        dims: tuple[str, ...],
        cell: Counts,
        totals: list[Counts],
        positions: dict[tuple[str, ...], int],
    ) -> None:
        if not dims:
            add_into(totals[0], cell)
            return
        segments = self.model.day_segments(ad, dims, day)
        for segment, part in zip(segments, split(cell, segments), strict=True):
            add_into(totals[positions[segment.key]], part)

    def row(self, index: int) -> dict[str, Any]:
        """Row ``index``, rendered with the requested fields."""
        entity_index, bucket_index, segment = self.locate(index)
        counts, reach = self.group(entity_index, bucket_index)[segment]
        entity = self.entities[entity_index]
        return self.render(entity, bucket_index, entity.keys[segment], counts, reach)

    def render(
        self,
        entity: Entity,
        bucket_index: int,
        key: tuple[str, ...],
        counts: Counts,
        reach: int | None,
    ) -> dict[str, Any]:
        """One row: the requested fields Meta would send, breakdown columns and dates."""
        view = View(self, entity, counts, reach)
        row: dict[str, Any] = {}
        for name in self.query.fields:
            value = view.value(name)
            if value is not None:
                row[name] = value
        row.update(zip(self.query.dims, key, strict=True))
        since, until = self.query.buckets[bucket_index]
        row["date_start"], row["date_stop"] = since.isoformat(), until.isoformat()
        return row

    # -- pages ---------------------------------------------------------------------------------

    def page(self, ctx: Ctx) -> Any:
        """One page of rows with ``paging`` (and ``summary`` when asked)."""
        rows: Sequence[dict[str, Any]]
        if self.query.sort or self.query.metric_filters:
            rows = self._materialized()
        else:
            rows = LazyRows(len(self), self.row)
        body = page(ctx, rows, lambda row: row)
        body.pop("summary", None)
        if self.query.summary is not None:
            body["summary"] = self.summary(rows if self.query.metric_filters else None)
        return body

    def _materialized(self) -> list[dict[str, Any]]:
        located = [self.locate(index) for index in range(len(self))]
        views: list[tuple[dict[str, Any], View]] = []
        for entity_index, bucket_index, segment in located:
            counts, reach = self.group(entity_index, bucket_index)[segment]
            entity = self.entities[entity_index]
            row = self.render(entity, bucket_index, entity.keys[segment], counts, reach)
            view = View(self, entity, counts, reach)
            if all(
                _number_matches(f, _number(view.value(f.field))) for f in self.query.metric_filters
            ):
                views.append((row, view))
        for name, descending in reversed(self.query.sort):
            views.sort(key=lambda pair: _sort_key(pair[1].value(name)), reverse=descending)
        return [row for row, _ in views]

    def summary(self, rows: Sequence[dict[str, Any]] | None) -> dict[str, Any]:
        """Totals over the whole result (not just the page) for the summary fields."""
        wanted = [name for name in self.query.summary or () if name not in IDENTITY]
        ads = [ad for entity in self.entities for ad in entity.ads]
        whole = (self.query.since, self.query.until)
        counts, reach = self._compute(ads, [()], whole, ())[0]
        summary_entity = Entity({"account": self.model.account}, ads)
        view = View(self, summary_entity, counts, reach)
        out = {name: value for name in wanted if (value := view.value(name)) is not None}
        if rows is not None:
            out = {name: value for name, value in out.items() if name not in _COUNTED}
            out.update(_summed(rows, wanted))
        out["date_start"], out["date_stop"] = whole[0].isoformat(), whole[1].isoformat()
        return out


_COUNTED = frozenset(
    {"impressions", "clicks", "spend", "reach", "unique_clicks", "inline_link_clicks"}
)


def _summed(rows: Sequence[dict[str, Any]], wanted: Sequence[str]) -> dict[str, str]:
    """Filtered results: totals of the rows that passed the metric filters."""
    out: dict[str, str] = {}
    for name in wanted:
        if name in _COUNTED:
            total = sum(float(row.get(name, 0)) for row in rows)
            out[name] = _decimal(total, 2) if name == "spend" else str(int(total))
    return out


class LazyRows(Sequence[dict[str, Any]]):
    """Rows computed only when a page asks for them."""

    def __init__(self, length: int, fetch: Callable[[int], dict[str, Any]]) -> None:
        self._length = length
        self._fetch = fetch

    def __len__(self) -> int:
        return self._length

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [self._fetch(i) for i in range(*index.indices(self._length))]
        if not -self._length <= index < self._length:
            raise IndexError(index)
        return self._fetch(index % self._length)


def _chain_for(chain: dict[str, Record], level: str) -> dict[str, Record]:
    keep = LEVELS[LEVELS.index(level) :]
    return {name: record for name, record in chain.items() if name in keep}


def _id_order(object_id: str) -> tuple[int, str]:
    digits = object_id.removeprefix("act_")
    return (int(digits), object_id) if digits.isdigit() else (0, object_id)


def _overlaps(bucket: Bucket, span: tuple[date, date]) -> bool:
    return bucket[0] <= span[1] and span[0] <= bucket[1]


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _sort_key(value: Any) -> tuple[int, float, str]:
    if isinstance(value, str):
        try:
            return 0, float(value), ""
        except ValueError:
            return 1, 0.0, value
    return 0, 0.0, ""


# -- row values ----------------------------------------------------------------------------------


def _decimal(value: float, places: int = 6) -> str:
    """A number the way insights sends it: a string, at most ``places`` decimals, no padding."""
    text = f"{value:.{places}f}".rstrip("0").rstrip(".")
    return "0" if text in {"", "-0"} else text


# Ratios: numerator, denominator, scale ("spend" is in major units, "reach" is reach).
RATIOS: dict[str, tuple[str, str, float]] = {
    "cpc": ("spend", "clicks", 1),
    "cpm": ("spend", "impressions", 1000),
    "cpp": ("spend", "reach", 1000),
    "ctr": ("clicks", "impressions", 100),
    "frequency": ("impressions", "reach", 1),
    "unique_ctr": ("unique_clicks", "reach", 100),
    "inline_link_click_ctr": ("inline_link_clicks", "impressions", 100),
    "unique_inline_link_click_ctr": ("unique_inline_link_clicks", "reach", 100),
    "unique_link_clicks_ctr": ("unique_inline_link_clicks", "reach", 100),
    "cost_per_inline_link_click": ("spend", "inline_link_clicks", 1),
    "cost_per_unique_click": ("spend", "unique_clicks", 1),
    "cost_per_unique_inline_link_click": ("spend", "unique_inline_link_clicks", 1),
    "cost_per_inline_post_engagement": ("spend", "inline_post_engagement", 1),
}
COUNTERS = (
    "impressions",
    "clicks",
    "unique_clicks",
    "inline_link_clicks",
    "unique_inline_link_clicks",
    "inline_post_engagement",
)
# Single-entry action lists: field → (action_type, numerator, denominator, scale).
SIMPLE_LISTS: dict[str, tuple[str, str, str | None, float]] = {
    "outbound_clicks": ("outbound_click", "outbound_clicks", None, 1),
    "unique_outbound_clicks": ("outbound_click", "unique_outbound_clicks", None, 1),
    "outbound_clicks_ctr": ("outbound_click", "outbound_clicks", "impressions", 100),
    "unique_outbound_clicks_ctr": ("outbound_click", "unique_outbound_clicks", "reach", 100),
    "cost_per_outbound_click": ("outbound_click", "spend", "outbound_clicks", 1),
    "cost_per_unique_outbound_click": ("outbound_click", "spend", "unique_outbound_clicks", 1),
    "website_ctr": ("link_click", "inline_link_clicks", "impressions", 100),
    "video_play_actions": ("video_view", "video_play", None, 1),
    "video_p25_watched_actions": ("video_view", "video_p25", None, 1),
    "video_p50_watched_actions": ("video_view", "video_p50", None, 1),
    "video_p75_watched_actions": ("video_view", "video_p75", None, 1),
    "video_p95_watched_actions": ("video_view", "video_p95", None, 1),
    "video_p100_watched_actions": ("video_view", "video_p100", None, 1),
    "video_thruplay_watched_actions": ("video_view", "video_thruplay", None, 1),
    "video_continuous_2_sec_watched_actions": ("video_view", "a:video_view", None, 1),
    "cost_per_thruplay": ("video_view", "spend", "video_thruplay", 1),
}
ALIASES: dict[str, tuple[str, ...]] = {
    "add_to_cart": ("add_to_cart", "offsite_conversion.fb_pixel_add_to_cart", "omni_add_to_cart"),
    "initiate_checkout": (
        "initiate_checkout",
        "offsite_conversion.fb_pixel_initiate_checkout",
        "omni_initiated_checkout",
    ),
    "purchase": ("offsite_conversion.fb_pixel_purchase", "omni_purchase", "purchase"),
    "lead": ("lead", "onsite_conversion.lead_grouped"),
    "complete_registration": (
        "complete_registration",
        "offsite_conversion.fb_pixel_complete_registration",
        "omni_complete_registration",
    ),
    "landing_page_view": ("landing_page_view", "omni_landing_page_view"),
    "mobile_app_install": ("mobile_app_install", "omni_app_install"),
}
IDENTITY = frozenset(
    words(
        """account_id account_name account_currency campaign_id campaign_name adset_id adset_name
    ad_id ad_name objective optimization_goal buying_type attribution_setting created_time
    updated_time quality_ranking engagement_rate_ranking conversion_rate_ranking date_start
    date_stop"""
    )
)
FILTERABLE_METRICS = frozenset({*COUNTERS, *RATIOS, "spend", "reach"})


class View:
    """One row's counters seen as Meta's fields."""

    def __init__(self, report: Report, entity: Entity, counts: Counts, reach: int | None) -> None:
        self.report = report
        self.query = report.query
        self.entity = entity
        self.counts = counts
        self.reach = reach
        currency = report.model.currency
        self.places = 0 if currency in ZERO_DECIMAL else 2
        self.unit = 1 if currency in ZERO_DECIMAL else 100  # minor units per major unit

    def value(self, name: str) -> Any:
        """The field's value on this row, or None when Meta would omit it."""
        if name in IDENTITY:
            return self._identity(name)
        if name in COUNTERS:
            return str(self.counts.get(name, 0))
        if name == "spend":
            return _decimal(self.counts.get("spend", 0) / self.unit, self.places)
        if name == "reach":
            return None if self.reach is None else str(self.reach)
        if name in RATIOS:
            return self._ratio(*RATIOS[name])
        if name in SIMPLE_LISTS:
            return self._simple_list(*SIMPLE_LISTS[name])
        builder = LIST_BUILDERS.get(name)
        return builder(self) if builder is not None else None

    def quantity(self, name: str) -> float:
        """A counter by name; ``spend`` in major units and ``reach`` as reach."""
        if name == "spend":
            return self.counts.get("spend", 0) / self.unit
        if name == "reach":
            return float(self.reach or 0)
        return float(self.counts.get(name, 0))

    def _ratio(self, numerator: str, denominator: str, scale: float) -> str | None:
        below = self.quantity(denominator)
        if below <= 0 or (denominator == "reach" and self.reach is None):
            return None
        return _decimal(self.quantity(numerator) * scale / below)

    def _simple_list(
        self, action_type: str, numerator: str, denominator: str | None, scale: float
    ) -> list[dict[str, str]] | None:
        if denominator is None:
            amount = self.counts.get(numerator, 0)
            return [{"action_type": action_type, "value": str(amount)}] if amount > 0 else None
        value = self._ratio(numerator, denominator, scale)
        return None if value is None else [{"action_type": action_type, "value": value}]

    def _identity(self, name: str) -> Any:
        chain = self.entity.chain
        level, _, attribute = name.partition("_")
        if level in {"account", "campaign", "adset", "ad"} and attribute in {"id", "name"}:
            record = chain.get(level)
            if record is None:
                return None
            if level == "account" and attribute == "id":
                return str(record["account_id"])
            return str(record[attribute]) if record.get(attribute) is not None else None
        return _IDENTITY_EXTRAS[name](self) if name in _IDENTITY_EXTRAS else None

    def _lowest(self) -> Record:
        for level in LEVELS:
            if level in self.entity.chain:
                return self.entity.chain[level]
        return self.report.model.account

    def created(self, key: str) -> str | None:
        """The date an object was created or updated, in the account's calendar."""
        stamp = self._lowest().get(key)
        return None if stamp is None else self.report.model.date_of(float(stamp)).isoformat()

    def rankings(self, name: str) -> str | None:
        """Quality rankings exist for ads only."""
        ad = self.entity.chain.get("ad")
        if ad is None:
            return None
        return self.report.model.rankings(ad, self.counts.get("impressions", 0))[name]

    def actions(
        self,
        prefix: str,
        bases: Iterable[str],
        names: Callable[[str], Sequence[str]],
        fmt: Formatter,
    ) -> list[dict[str, str]] | None:
        """An action list: one entry per action type, windows and devices as Meta adds them."""
        out: list[dict[str, str]] = []
        for base in bases:
            total = self.counts.get(f"{prefix}:{base}", 0)
            if total <= 0:
                continue
            windows = self._windows(prefix, base, total)
            for alias in names(base):
                if self.query.action_types is None or alias in self.query.action_types:
                    out.extend(self._entries(alias, total, windows, fmt))
        return out or None

    def _windows(self, prefix: str, base: str, total: int) -> dict[str, int]:
        out: dict[str, int] = {}
        for window in self.query.windows:
            key = f"{prefix}:{base}@{window}"
            if key in self.counts:
                out[window] = self.counts[key]
            elif window in {"default", "dda"} or (
                base not in CONVERSIONS
                and base != "mobile_app_install"
                and window.endswith("_click")
            ):
                out[window] = total
        return out

    def _entries(
        self, alias: str, total: int, windows: dict[str, int], fmt: Formatter
    ) -> list[dict[str, str]]:
        with_type = "action_type" in self.query.action_breakdowns
        if "action_device" not in self.query.action_breakdowns:
            return [_entry(alias if with_type else None, None, total, windows, fmt)]
        weights = [device[2] for device in DEVICES]
        parts = allocate(total, weights)
        split_windows = {w: allocate(n, weights) for w, n in windows.items()}
        entries = []
        for index, device in enumerate(device for device, *_ in DEVICES):
            if parts[index]:
                by_window = {w: ns[index] for w, ns in split_windows.items()}
                entries.append(
                    _entry(alias if with_type else None, device, parts[index], by_window, fmt)
                )
        return entries


Formatter = Callable[[int], str | None]


def _entry(
    alias: str | None, device: str | None, total: int, windows: dict[str, int], fmt: Formatter
) -> dict[str, str]:
    entry: dict[str, str] = {}
    if device is not None:
        entry["action_device"] = device
    if alias is not None:
        entry["action_type"] = alias
    value = fmt(total)
    if value is not None:
        entry["value"] = value
    for window, amount in windows.items():
        formatted = fmt(amount)
        if formatted is not None:
            entry[window] = formatted
    return entry


def _action_bases(view: View) -> list[str]:
    return sorted(key[2:] for key in view.counts if key.startswith("a:") and "@" not in key)


def _names(base: str) -> tuple[str, ...]:
    return ALIASES.get(base, (base,))


def _per_spend(view: View) -> Formatter:
    spend = view.quantity("spend")
    return lambda n: _decimal(spend / n) if n > 0 else None


def _money(view: View) -> Formatter:
    places, unit = view.places, view.unit
    return lambda n: _decimal(n / unit, places)


def _roas(view: View) -> Formatter:
    spend = view.counts.get("spend", 0)
    return lambda n: _decimal(n / spend) if spend > 0 else None


def _video_average(view: View) -> list[dict[str, str]] | None:
    plays = view.counts.get("video_play", 0)
    if plays <= 0:
        return None
    seconds = round(view.counts.get("video_seconds", 0) / plays)
    return [{"action_type": "video_view", "value": str(seconds)}]


def _conversion_names(base: str) -> tuple[str, ...]:
    return (base,)


LIST_BUILDERS: dict[str, Callable[[View], Any]] = {
    "actions": lambda v: v.actions("a", _action_bases(v), _names, str),
    "action_values": lambda v: v.actions("v", ["purchase"], _names, _money(v)),
    "cost_per_action_type": lambda v: v.actions("a", _action_bases(v), _names, _per_spend(v)),
    "conversions": lambda v: v.actions("a", CONVERSIONS, _conversion_names, str),
    "conversion_values": lambda v: v.actions("v", ["purchase"], _conversion_names, _money(v)),
    "cost_per_conversion": lambda v: v.actions("a", CONVERSIONS, _conversion_names, _per_spend(v)),
    "purchase_roas": lambda v: v.actions("v", ["purchase"], lambda _: ("omni_purchase",), _roas(v)),
    "website_purchase_roas": lambda v: v.actions(
        "v", ["purchase"], lambda _: ("offsite_conversion.fb_pixel_purchase",), _roas(v)
    ),
    "video_avg_time_watched_actions": _video_average,
}
_IDENTITY_EXTRAS: dict[str, Callable[[View], Any]] = {
    "account_name": lambda v: v.report.model.account.get("name"),
    "account_currency": lambda v: v.report.model.currency,
    "objective": lambda v: (v.entity.chain.get("campaign") or {}).get("objective"),
    "optimization_goal": lambda v: (v.entity.chain.get("adset") or {}).get("optimization_goal"),
    "buying_type": lambda v: (
        (v.entity.chain["campaign"].get("buying_type") or "AUCTION")
        if "campaign" in v.entity.chain
        else None
    ),
    "attribution_setting": lambda v: "7d_click_1d_view" if "adset" in v.entity.chain else None,
    "created_time": lambda v: v.created("created_time"),
    "updated_time": lambda v: v.created("updated_time"),
    "quality_ranking": lambda v: v.rankings("quality_ranking"),
    "engagement_rate_ranking": lambda v: v.rankings("engagement_rate_ranking"),
    "conversion_rate_ranking": lambda v: v.rankings("conversion_rate_ranking"),
}
