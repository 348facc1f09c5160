"""Meta's official Python SDK against the sandbox over loopback, only its base URL changed.

If the SDK cannot tell the sandbox from graph.facebook.com for these calls, clients built and
tested against the sandbox will behave the same against Meta.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from facebook_business.adobjects.adaccount import AdAccount
from facebook_business.adobjects.adimage import AdImage
from facebook_business.adobjects.adreportrun import AdReportRun
from facebook_business.adobjects.adset import AdSet
from facebook_business.adobjects.advideo import AdVideo
from facebook_business.adobjects.campaign import Campaign
from facebook_business.adobjects.user import User
from facebook_business.api import FacebookAdsApi
from facebook_business.exceptions import FacebookRequestError
from facebook_business.session import FacebookSession
from requests.adapters import HTTPAdapter

from meta_agent.interfaces.walkthrough import solid_png
from meta_agent.sandbox import ManualClock, Sandbox, SandboxConfig, create_app
from tests.conftest import INR_ACCOUNT, PAGE_ID, TOKEN, LiveServer

pytestmark = pytest.mark.compat

TARGETING = {
    "geo_locations": {"countries": ["IN"]},
    "age_min": 21,
    "age_max": 45,
    "targeting_automation": {"advantage_audience": 0},
}


class _VideoHostRedirect(HTTPAdapter):
    """The SDK sends chunked video uploads to graph-video.facebook.com; point them at us."""

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        assert request.url is not None
        request.url = request.url.replace("https://graph-video.facebook.com", self.base)
        return super().send(request, **kwargs)


class Harness:
    """A sandbox on a manual clock served over loopback, and an SDK session pointed at it."""

    def __init__(self, config: SandboxConfig) -> None:
        self.clock = ManualClock(start=time.time())
        self.app = create_app(config, clock=self.clock)
        self.sandbox: Sandbox = self.app.state.sandbox
        self.server = LiveServer(self.app)

    def __enter__(self) -> Harness:
        self.server.__enter__()
        session = FacebookSession(access_token=TOKEN)
        session.GRAPH = self.server.url  # the only change: where the SDK sends requests
        session.requests.mount(
            "https://graph-video.facebook.com", _VideoHostRedirect(self.server.url)
        )
        self.api = FacebookAdsApi(session, api_version="v25.0")
        FacebookAdsApi.set_default_api(self.api)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.__exit__(*exc)


@pytest.fixture
def sdk() -> Iterator[Harness]:
    """The SDK wired to a fresh sandbox."""
    with Harness(SandboxConfig(video_processing_seconds=5)) as harness:
        yield harness


def _campaign(
    account: AdAccount, name: str = "SDK campaign", categories: tuple[str, ...] = ()
) -> Campaign:
    return account.create_campaign(
        params={
            "name": name,
            "objective": Campaign.Objective.outcome_traffic,
            "status": Campaign.Status.paused,
            "special_ad_categories": list(categories),
            "is_adset_budget_sharing_enabled": False,
        }
    )


def _adset(account: AdAccount, campaign_id: str, **extra: Any) -> Any:
    params = {
        "name": "SDK ad set",
        "campaign_id": campaign_id,
        "daily_budget": 50000,
        "billing_event": "IMPRESSIONS",
        "optimization_goal": "LINK_CLICKS",
        "targeting": TARGETING,
        "status": "PAUSED",
        **extra,
    }
    return account.create_ad_set(params=params)


def test_full_hierarchy_round_trip(sdk: Harness, tmp_path: Path) -> None:
    """Create campaign, ad set, image, creative and ad with the SDK, then read them back."""
    accounts = list(User(fbid="me").get_ad_accounts(fields=["account_id", "currency"]))
    assert {a["currency"] for a in accounts} == {"INR", "USD"}
    account = AdAccount(INR_ACCOUNT)
    campaign = _campaign(account)
    adset = _adset(account, campaign["id"])
    image_path = tmp_path / "hero.png"
    image_path.write_bytes(solid_png(1080, 1080, (10, 20, 30)))
    image = account.create_ad_image(params={AdImage.Field.filename: str(image_path)})
    assert len(image[AdImage.Field.hash]) == 32
    creative = account.create_ad_creative(
        params={
            "name": "SDK creative",
            "object_story_spec": {
                "page_id": PAGE_ID,
                "link_data": {
                    "link": "https://example.com",
                    "message": "Hello",
                    "image_hash": image[AdImage.Field.hash],
                    "call_to_action": {"type": "LEARN_MORE"},
                },
            },
        }
    )
    ad = account.create_ad(
        params={
            "name": "SDK ad",
            "adset_id": adset["id"],
            "creative": {"creative_id": creative["id"]},
            "status": "PAUSED",
        }
    )
    read = Campaign(campaign["id"]).api_get(fields=["name", "objective", "effective_status"])
    assert read["objective"] == "OUTCOME_TRAFFIC"
    assert read["effective_status"] == "PAUSED"
    ads = list(Campaign(campaign["id"]).get_ads(fields=["name", "creative"]))
    assert [a["id"] for a in ads] == [ad["id"]]
    assert ads[0]["creative"]["id"] == creative["id"]


def test_pagination_walks_every_page(sdk: Harness) -> None:
    """The SDK cursor follows paging.cursors.after across pages and reads summary.total_count."""
    account = AdAccount(INR_ACCOUNT)
    for index in range(12):
        _campaign(account, f"Paged {index}")
    cursor = account.get_campaigns(fields=["name"], params={"limit": 5})
    names = [c["name"] for c in cursor]
    assert len(names) == 12
    assert cursor.total() == 12


def test_batch_with_callbacks(sdk: Harness) -> None:
    """An SDK batch runs each request and calls its success callback."""
    account = AdAccount(INR_ACCOUNT)
    created = [_campaign(account, f"Batch {i}") for i in range(3)]
    batch = sdk.api.new_batch()
    seen: list[dict[str, Any]] = []
    for campaign in created:
        Campaign(campaign["id"]).api_get(
            fields=["name"], batch=batch, success=lambda r: seen.append(r.json())
        )
    assert batch.execute() is None  # nothing left to retry
    assert sorted(s["name"] for s in seen) == ["Batch 0", "Batch 1", "Batch 2"]


def test_sync_and_async_insights(sdk: Harness) -> None:
    """Sync insights come back as AdsInsights rows; an async report run completes and pages."""
    account = AdAccount(INR_ACCOUNT)
    campaign = _campaign(account)
    adset = _adset(account, campaign["id"])
    creative = account.create_ad_creative(
        params={
            "object_story_spec": {
                "page_id": PAGE_ID,
                "link_data": {
                    "link": "https://example.com",
                    "picture": "https://example.com/p.png",
                },
            }
        }
    )
    ad = account.create_ad(
        params={
            "name": "live",
            "adset_id": adset["id"],
            "creative": {"creative_id": creative["id"]},
            "status": "ACTIVE",
        }
    )
    Campaign(campaign["id"]).api_update(params={"status": "ACTIVE"})
    AdSet(adset["id"]).api_update(params={"status": "ACTIVE"})
    sdk.clock.advance(3 * 86400)
    fields = ["ad_id", "impressions", "spend"]
    rows = list(
        account.get_insights(fields=fields, params={"level": "ad", "date_preset": "last_7d"})
    )
    assert [r["ad_id"] for r in rows] == [ad["id"]]
    assert float(rows[0]["spend"]) > 0
    report = account.get_insights(
        fields=fields, params={"level": "ad", "date_preset": "last_7d"}, is_async=True
    )
    assert isinstance(report, AdReportRun)
    for _ in range(20):
        report.api_get()
        if report[AdReportRun.Field.async_status] == "Job Completed":
            break
        sdk.clock.advance(1)
    assert report[AdReportRun.Field.async_percent_completion] == 100
    result = list(report.get_result())
    assert [r["spend"] for r in result] == [r["spend"] for r in rows]


def test_chunked_video_upload(sdk: Harness, tmp_path: Path) -> None:
    """The SDK's chunked uploader (start/transfer/finish) completes against the sandbox."""
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 12000)
    video = AdVideo(parent_id=INR_ACCOUNT)
    video[AdVideo.Field.filepath] = str(path)
    video.remote_create()
    assert video["id"]
    sdk.clock.advance(10)
    status = AdVideo(video["id"]).api_get(fields=["status"])
    assert status["status"]["video_status"] == "ready"


def test_invalid_input_raises_request_error_with_code_and_subcode(sdk: Harness) -> None:
    """A housing ad set without the Advantage+ audience flag: FacebookRequestError 100/1870227."""
    account = AdAccount(INR_ACCOUNT)
    campaign = _campaign(account, categories=("HOUSING",))
    with pytest.raises(FacebookRequestError) as caught:
        _adset(account, campaign["id"], targeting={"geo_locations": {"countries": ["IN"]}})
    error = caught.value
    assert error.api_error_code() == 100
    assert error.api_error_subcode() == 1870227
    assert error.api_blame_field_specs() is not None


def _first_error(call: Any, attempts: int) -> FacebookRequestError:
    for index in range(attempts):
        try:
            call(index)
        except FacebookRequestError as error:
            return error
    raise AssertionError(f"no FacebookRequestError in {attempts} calls")


def test_throttling_raises_request_error_17() -> None:
    """On the development tier, the SDK sees 17/2446079 once the account's score is spent."""
    with Harness(SandboxConfig(tier="development")):
        account = AdAccount(INR_ACCOUNT)
        error = _first_error(lambda index: _campaign(account, f"Throttle {index}"), attempts=40)
        assert (error.api_error_code(), error.api_error_subcode()) == (17, 2446079)
        usage = json.loads(error.http_headers()["x-business-use-case-usage"])
        assert usage["1234567890"][0]["estimated_time_to_regain_access"] > 0


def test_account_edges_through_the_sdk(sdk: Harness) -> None:
    """The SDK's edge readers: activities of its own writes, audiences, empty pages."""
    account = AdAccount(INR_ACCOUNT)
    campaign = _campaign(account)
    Campaign(campaign["id"]).api_update(params={"name": "Renamed by the SDK"})
    activities = list(account.get_activities(fields=["event_type", "object_id", "extra_data"]))
    assert [a["event_type"] for a in activities] == [
        "update_campaign_name",
        "create_campaign_group",
    ]
    assert {a["object_id"] for a in activities} == {campaign["id"]}
    assert json.loads(activities[0]["extra_data"])["new_value"] == "Renamed by the SDK"
    audiences = list(account.get_custom_audiences(fields=["name"]))
    assert audiences
    assert all(a["name"] for a in audiences)
    conversions = list(account.get_custom_conversions(fields=["name"]))
    assert conversions  # one seeded per account
    assert all(c["name"] for c in conversions)
    assert [u["id"] for u in account.get_users()] == [User(fbid="me").api_get()["id"]]
    assert len(list(User(fbid="me").get_business_users())) == 2  # admin of one, employee of one
