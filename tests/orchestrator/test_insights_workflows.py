"""get_insights and performance_report end to end: a live campaign, a week of delivery."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from meta_agent.errors import RequestValidationError
from meta_agent.orchestrator.orchestrator import Orchestrator
from meta_agent.sandbox import ManualClock, Sandbox
from tests.conftest import INR_ACCOUNT
from tests.orchestrator.conftest import full_campaign_request, request_count

WEEK = 7 * 86_400


async def launch_and_deliver(orchestrator: Orchestrator, clock: ManualClock) -> dict[str, Any]:
    """An ACTIVE campaign (three ad sets at ₹500 a day, two ads each) after a week of delivery."""
    created = await orchestrator.execute(full_campaign_request("setup", activate=True))
    assert created.result is not None, created.error
    clock.advance(WEEK)
    return created.result


@pytest.fixture
async def launched(orchestrator: Orchestrator, clock: ManualClock) -> dict[str, Any]:
    """The campaign, a week after launch."""
    return await launch_and_deliver(orchestrator, clock)


def insights_request(request_id: str = "ins-1", **data: Any) -> dict[str, Any]:
    """A get_insights request."""
    return {"request_id": request_id, "action": "get_insights", "data": data}


def report_request(request_id: str = "rep-1", **data: Any) -> dict[str, Any]:
    """A performance_report request."""
    return {"request_id": request_id, "action": "performance_report", "data": data}


async def test_insights_rows_come_back_as_json_one_per_adset(
    orchestrator: Orchestrator, launched: dict[str, Any]
) -> None:
    """Ad-set rows of the campaign: ids, integer counts, spend as a decimal string."""
    campaign = launched["campaign"]["id"]
    response = await orchestrator.execute(
        insights_request(
            level="adset",
            object_id=campaign,
            date_preset="last_7d",
            fields=["adset_id", "impressions", "clicks", "spend"],
        )
    )
    assert response.status == "COMPLETED", response.error
    assert response.result is not None
    rows = response.result["rows"]
    assert response.result["count"] == len(rows) == 3
    assert {row["adset_id"] for row in rows} == {adset["id"] for adset in launched["adsets"]}
    for row in rows:
        assert isinstance(row["impressions"], int)
        assert row["impressions"] > 0
        assert Decimal(row["spend"]) > 0
        assert isinstance(row["spend"], str)


async def test_daily_rows_and_the_report_add_up_to_the_same_totals(
    orchestrator: Orchestrator, launched: dict[str, Any]
) -> None:
    """Daily insights rows sum to the report's summary; its CTR, CPC, CPM are from the totals."""
    campaign = launched["campaign"]["id"]
    rows = await orchestrator.execute(
        insights_request(
            level="campaign",
            object_id=campaign,
            date_preset="last_7d",
            fields=["impressions", "clicks", "spend"],
            time_increment=1,
        )
    )
    report = await orchestrator.execute(report_request(object_id=campaign, level="campaign"))
    assert report.status == "COMPLETED", report.error
    assert rows.result is not None
    assert report.result is not None
    summary = report.result["summary"]
    daily = rows.result["rows"]
    impressions = sum(row["impressions"] for row in daily)
    clicks = sum(row["clicks"] for row in daily)
    spend = sum(Decimal(row["spend"]) for row in daily)
    assert rows.result["count"] > 1
    assert (summary["impressions"], summary["clicks"]) == (impressions, clicks)
    assert Decimal(summary["spend_major"]) == spend
    assert summary["spend"] == {"amount_minor": int(spend * 100), "currency": "INR"}
    assert Decimal(summary["ctr"]) == Decimal(clicks) * 100 / impressions
    assert Decimal(summary["cpc"]) == spend / clicks
    assert Decimal(summary["cpm"]) == spend * 1000 / impressions


async def test_the_report_has_series_breakdowns_and_frequency(
    orchestrator: Orchestrator, launched: dict[str, Any]
) -> None:
    """The daily series and the platform split each sum to the summary; frequency uses reach."""
    campaign = launched["campaign"]["id"]
    response = await orchestrator.execute(report_request(object_id=campaign, level="campaign"))
    assert response.result is not None, response.error
    report = response.result
    summary = report["summary"]
    assert (report["currency"], report["date_preset"]) == ("INR", "last_7d")
    daily = sum(point["metrics"]["impressions"] for point in report["daily"])
    people = sum(segment["metrics"]["impressions"] for segment in report["demographics"])
    assert daily == people == summary["impressions"]
    assert sum(seg["metrics"]["clicks"] for seg in report["platforms"]) == summary["clicks"]
    assert {"age", "gender"} <= set(report["demographics"][0]["values"])
    assert Decimal(summary["frequency"]) == Decimal(summary["impressions"]) / summary["reach"]
    assert isinstance(report["recommendations"], list)


async def test_an_account_report_takes_a_time_range(
    orchestrator: Orchestrator, launched: dict[str, Any]
) -> None:
    """An account-level report over explicit dates says which dates it covers."""
    rows = await orchestrator.execute(
        insights_request(level="account", object_id=INR_ACCOUNT, date_preset="last_7d")
    )
    assert rows.result is not None, rows.error
    since = rows.result["rows"][0]["date_start"]
    until = rows.result["rows"][0]["date_stop"]
    response = await orchestrator.execute(
        report_request(
            object_id=INR_ACCOUNT, level="account", time_range={"since": since, "until": until}
        )
    )
    assert response.result is not None, response.error
    assert (response.result["since"], response.result["until"]) == (since, until)
    assert response.result["summary"]["impressions"] == rows.result["rows"][0]["impressions"]


async def test_a_repeated_request_id_answers_from_the_journal(
    orchestrator: Orchestrator, sandbox: Sandbox, launched: dict[str, Any]
) -> None:
    """The same get_insights and report request again: replayed, no call to Meta."""
    campaign = launched["campaign"]["id"]
    for request in (
        insights_request("again", level="ad", object_id=campaign, date_preset="last_7d"),
        report_request("again-report", object_id=campaign, level="campaign"),
    ):
        first = await orchestrator.execute(request)
        calls = request_count(sandbox)
        again = await orchestrator.execute(request)
        assert (first.replayed, again.replayed) == (False, True)
        assert again.result == first.result
        assert request_count(sandbox) == calls


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"level": "campaign", "object_id": "1"}, "data.date_preset"),
        (
            {
                "level": "campaign",
                "object_id": "1",
                "date_preset": "last_7d",
                "time_range": {"since": "2026-01-01", "until": "2026-01-02"},
            },
            "data.time_range",
        ),
        ({"level": "team", "object_id": "1", "date_preset": "last_7d"}, "data.level"),
        (
            {"level": "ad", "object_id": "1", "date_preset": "last_7d", "fields": ["clickz"]},
            "data.fields",
        ),
        ({"level": "ad", "object_id": "1", "date_preset": "yesteryear"}, "data.date_preset"),
    ],
)
async def test_a_bad_insights_query_names_its_path(
    orchestrator: Orchestrator, sandbox: Sandbox, data: dict[str, Any], field: str
) -> None:
    """Validation errors name the path under data, and nothing is sent to Meta."""
    calls = request_count(sandbox)
    with pytest.raises(RequestValidationError) as caught:
        await orchestrator.execute(insights_request(**data))
    assert caught.value.field == field
    assert caught.value.message.startswith(field)
    assert request_count(sandbox) == calls


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"object_id": INR_ACCOUNT, "level": "campaign"}, "data.level"),
        ({"object_id": "12", "level": "account"}, "data.level"),
        ({"object_id": "x12", "level": "ad"}, "data.object_id"),
        (
            {
                "object_id": "12",
                "level": "ad",
                "date_preset": "last_7d",
                "time_range": {"since": "2026-01-01", "until": "2026-01-02"},
            },
            "data.time_range",
        ),
        (
            {
                "object_id": "12",
                "level": "ad",
                "time_range": {"since": "2026-02-01", "until": "2026-01-02"},
            },
            "data.time_range",
        ),
    ],
)
async def test_a_bad_report_request_names_its_path(
    orchestrator: Orchestrator, data: dict[str, Any], field: str
) -> None:
    """The report's object, level and dates are checked before any query."""
    with pytest.raises(RequestValidationError) as caught:
        await orchestrator.execute(report_request(**data))
    assert caught.value.field == field
