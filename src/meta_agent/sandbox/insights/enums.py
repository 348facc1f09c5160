"""The names insights parameters accept: levels, presets, breakdowns, windows and fields.

Long enumerations are written as whitespace-separated prose (see :func:`words`) and copied
from the SDK's ``AdsInsights`` enums; the sandbox refuses any name outside them.
"""

from __future__ import annotations

from meta_agent.sandbox.synth import HOURLY_DIMS


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
        hourly_stats_aggregated_by_audience_time_zone frequency_value"""
    )
)
# Nested dimensions are split after their parent, whatever order the caller listed them in.
DIMENSION_ORDER = (
    *words(
        """age gender country region publisher_platform platform_position impression_device
        device_platform frequency_value"""
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
QUERY_PARAMS = frozenset(
    words(
        """action_attribution_windows action_breakdowns action_report_time breakdowns cpas_only
    date_preset default_summary export_columns export_format export_name fields filtering
    graph_cache level limit after before product_id_limit sort summary summary_action_breakdowns
    time_increment time_range time_ranges use_account_attribution_setting
    use_unified_attribution_setting"""
    )
)

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
