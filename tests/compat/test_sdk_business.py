"""Businesses, custom conversions, labels, ad rules and video thumbnails through Meta's own SDK."""

from __future__ import annotations

import json

import pytest
import requests
from facebook_business.adobjects.adaccount import AdAccount
from facebook_business.adobjects.adlabel import AdLabel
from facebook_business.adobjects.adrule import AdRule
from facebook_business.adobjects.advideo import AdVideo
from facebook_business.adobjects.business import Business
from facebook_business.adobjects.campaign import Campaign
from facebook_business.adobjects.customconversion import CustomConversion
from facebook_business.adobjects.user import User
from facebook_business.exceptions import FacebookRequestError

from meta_agent.sandbox.media import PLACEHOLDER_PNG
from meta_agent.sandbox.state import AGENCY_ID, BUSINESS_ID, PIXEL_ID
from tests.compat.test_official_sdk import Harness, _campaign, sdk  # noqa: F401  (the fixture)
from tests.conftest import INR_ACCOUNT, USD_ACCOUNT

pytestmark = pytest.mark.compat


def test_business_owned_ad_accounts_and_users(sdk: Harness) -> None:  # noqa: F811
    """Business.get_owned_ad_accounts and get_client_ad_accounts; User.get_businesses and
    get_business_users."""
    businesses = list(User(fbid="me").get_businesses(fields=["name"]))
    assert [b["id"] for b in businesses] == [BUSINESS_ID, AGENCY_ID]
    owned = list(Business(BUSINESS_ID).get_owned_ad_accounts(fields=["currency", "business"]))
    assert [(a["id"], a["currency"]) for a in owned] == [(INR_ACCOUNT, "INR"), (USD_ACCOUNT, "USD")]
    assert owned[0]["business"]["id"] == BUSINESS_ID
    members = list(User(fbid="me").get_business_users(fields=["role", "business"]))
    assert [m["role"] for m in members] == ["ADMIN", "EMPLOYEE"]
    clients = Business(AGENCY_ID).get_client_ad_accounts(fields=["currency"])
    assert [a["id"] for a in clients] == [INR_ACCOUNT, USD_ACCOUNT]


def test_custom_conversions_list_and_create(sdk: Harness) -> None:  # noqa: F811
    """AdAccount.get_custom_conversions lists the seeded one and one the SDK creates."""
    account = AdAccount(INR_ACCOUNT)
    seeded = list(account.get_custom_conversions(fields=["name", "custom_event_type"]))
    assert [c["custom_event_type"] for c in seeded] == ["PURCHASE"]
    made = account.create_custom_conversion(
        params={
            "name": "SDK lead",
            "custom_event_type": CustomConversion.CustomEventType.lead,
            "event_source_id": PIXEL_ID,
            "rule": json.dumps({"url": {"i_contains": "/thanks"}}),
        }
    )
    read = CustomConversion(made["id"]).api_get(fields=["name", "pixel", "rule"])
    assert read["name"] == "SDK lead"
    assert read["pixel"]["id"] == PIXEL_ID
    listed = account.get_custom_conversions(fields=["name"])
    assert [c["name"] for c in listed][-1] == "SDK lead"
    with pytest.raises(FacebookRequestError) as refused:
        account.create_custom_conversion(params={"name": "No type", "event_source_id": PIXEL_ID})
    assert refused.value.api_error_code() == 100
    pixels = account.get_ads_pixels(fields=["name"])
    assert [p["id"] for p in pixels] == [PIXEL_ID]


def test_ad_labels_through_the_sdk(sdk: Harness) -> None:  # noqa: F811
    """AdAccount.create_ad_label, get_ad_labels; Campaign.create_ad_label; AdLabel.get_campaigns."""
    account = AdAccount(INR_ACCOUNT)
    label = account.create_ad_label(params={"name": "SDK label"})
    assert [lb["id"] for lb in account.get_ad_labels(fields=["name"])] == [label["id"]]
    campaign = _campaign(account)
    Campaign(campaign["id"]).create_ad_label(params={"adlabels": [{"id": label["id"]}]})
    read = Campaign(campaign["id"]).api_get(fields=["adlabels"])
    assert [lb["id"] for lb in read["adlabels"]] == [label["id"]]
    assert [c["id"] for c in AdLabel(label["id"]).get_campaigns()] == [campaign["id"]]


def test_video_thumbnails(sdk: Harness) -> None:  # noqa: F811
    """AdVideo.get_thumbnails once processed; every uri answers PNG bytes over loopback."""
    video = AdAccount(INR_ACCOUNT).create_ad_video(params={"file_url": "https://cdn.example/v.mp4"})
    sdk.clock.advance(10)
    thumbnails = list(
        AdVideo(video["id"]).get_thumbnails(fields=["uri", "width", "height", "is_preferred"])
    )
    assert [t["is_preferred"] for t in thumbnails] == [True, False, False]
    for thumbnail in thumbnails:
        assert thumbnail["uri"].startswith(sdk.server.url)
        response = requests.get(thumbnail["uri"], timeout=10)
        assert response.status_code == 200
        assert response.content == PLACEHOLDER_PNG


def test_ad_rules_library(sdk: Harness) -> None:  # noqa: F811
    """AdAccount.create_ad_rules_library and get_ad_rules_library; AdRule.api_get."""
    account = AdAccount(INR_ACCOUNT)
    evaluation = {
        "evaluation_type": "SCHEDULE",
        "filters": [{"field": "entity_type", "value": "AD", "operator": "EQUAL"}],
    }
    made = account.create_ad_rules_library(
        params={
            "name": "SDK rule",
            "evaluation_spec": evaluation,
            "execution_spec": {"execution_type": "PAUSE"},
            "schedule_spec": {"schedule_type": "DAILY"},
        }
    )
    assert [r["id"] for r in account.get_ad_rules_library(fields=["name"])] == [made["id"]]
    read = AdRule(made["id"]).api_get(fields=["status", "evaluation_spec"])
    assert read["status"] == "ENABLED"
    assert read["evaluation_spec"]["evaluation_type"] == "SCHEDULE"
