"""Rate limits (§7): the ad-account score, the hourly use-case budgets and the usage headers."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest

from meta_agent.sandbox import ManualClock, SandboxConfig
from tests.conftest import INR_ACCOUNT, USD_ACCOUNT, Graph, error_of

ACCOUNT_DIGITS = "1234567890"
CAMPAIGN: dict[str, str] = {
    "name": "Throttled",
    "objective": "OUTCOME_TRAFFIC",
    "status": "PAUSED",
    "special_ad_categories": "[]",
    "is_adset_budget_sharing_enabled": "false",
}


async def write(graph: Graph, account: str = INR_ACCOUNT) -> httpx2.Response:
    """One campaign create: a write, 3 points."""
    return await graph.post(f"{account}/campaigns", **CAMPAIGN)


def account_usage(response: httpx2.Response) -> dict[str, Any]:
    """The decoded X-Ad-Account-Usage header."""
    usage: dict[str, Any] = json.loads(response.headers["x-ad-account-usage"])
    return usage


def buc_usage(response: httpx2.Response, account: str = ACCOUNT_DIGITS) -> dict[str, Any]:
    """The account's entry in the decoded X-Business-Use-Case-Usage header."""
    entry: dict[str, Any] = json.loads(response.headers["x-business-use-case-usage"])[account][0]
    return entry


def assert_throttled(response: httpx2.Response, code: int, subcode: int) -> dict[str, Any]:
    """A 400 rate-limit envelope with this code and subcode, marked transient."""
    error = error_of(response)
    assert response.status_code == 400
    assert (error["code"], error["error_subcode"], error["is_transient"]) == (code, subcode, True)
    return error


async def spend_score(graph: Graph, writes: int = 20) -> None:
    """Spend the development score: 20 writes are exactly 60 points."""
    for _ in range(writes):
        assert (await write(graph)).status_code == 200


class TestDevelopmentScore:
    """The development tier: 60 points, decaying over 300 s, blocking for 300 s."""

    @pytest.fixture
    def config(self) -> SandboxConfig:
        return SandboxConfig(tier="development")

    async def test_the_21st_write_is_refused_with_17(self, graph: Graph) -> None:
        """20 writes (60 points) pass; the 21st gets 17/2446079 with Meta's texts."""
        await spend_score(graph)
        error = assert_throttled(await write(graph), 17, 2446079)
        assert error["message"] == "(#17) User request limit reached"
        assert error["error_user_title"] == "Ad Account Has Too Many API Calls"

    async def test_headers_while_blocked(self, graph: Graph) -> None:
        """A refused call shows 100 %, a reset in seconds and a regain time in minutes."""
        await spend_score(graph)
        refused = await write(graph)
        usage = account_usage(refused)
        assert usage["acc_id_util_pct"] == 100
        assert usage["reset_time_duration"] > 0
        assert usage["ads_api_access_tier"] == "development_access"
        assert buc_usage(refused)["estimated_time_to_regain_access"] == 5  # 300 s, in minutes

    async def test_block_covers_reads_and_lifts_after_the_block_period(
        self, graph: Graph, clock: ManualClock
    ) -> None:
        """While blocked even reads are refused; after 300 s calls succeed again."""
        await spend_score(graph)
        assert_throttled(await write(graph), 17, 2446079)
        clock.advance(299)
        assert_throttled(await graph.get(INR_ACCOUNT), 17, 2446079)
        clock.advance(1)
        response = await write(graph)
        assert response.status_code == 200, response.text
        assert buc_usage(response)["estimated_time_to_regain_access"] == 0

    async def test_score_decays_linearly(self, graph: Graph, clock: ManualClock) -> None:
        """60 points drain at 0.2 points a second: after 150 s a read shows (30 + 1) / 60."""
        await spend_score(graph)
        clock.advance(150)
        response = await graph.get(INR_ACCOUNT)
        assert account_usage(response)["acc_id_util_pct"] == round(100 * 31 / 60, 2)
        assert account_usage(response)["reset_time_duration"] == 155
        for _ in range(9):  # 31 + 27 = 58 points: still under the maximum
            assert (await write(graph)).status_code == 200

    async def test_reads_cost_one_point_and_deletes_three(self, graph: Graph) -> None:
        """A read adds 1 point (1.67 %) and a delete 3 more (6.67 % in all)."""
        created = (await write(graph)).json()["id"]
        read = await graph.get(created)
        assert account_usage(read)["acc_id_util_pct"] == round(100 * 4 / 60, 2)
        deleted = await graph.delete(created)
        assert account_usage(deleted)["acc_id_util_pct"] == round(100 * 7 / 60, 2)

    async def test_accounts_are_scored_separately(self, graph: Graph) -> None:
        """Spending one account's score leaves the other account untouched."""
        await spend_score(graph)
        assert_throttled(await write(graph), 17, 2446079)
        response = await write(graph, USD_ACCOUNT)
        assert response.status_code == 200
        assert account_usage(response)["acc_id_util_pct"] == 5

    async def test_usage_headers_ride_on_validation_errors(self, graph: Graph) -> None:
        """A call refused for its parameters still carries the account's usage headers."""
        response = await graph.post(f"{INR_ACCOUNT}/campaigns", name="No objective")
        assert error_of(response)["code"] == 100
        assert buc_usage(response)["type"] == "ads_management"
        assert "acc_id_util_pct" in account_usage(response)
        assert json.loads(response.headers["x-app-usage"]).keys() == {
            "call_count",
            "total_time",
            "total_cputime",
        }

    async def test_usage_headers_of_objects_are_keyed_by_their_account(self, graph: Graph) -> None:
        """A call on a campaign id reports its account's usage, keyed without act_."""
        created = (await write(graph)).json()["id"]
        response = await graph.get(created)
        assert set(json.loads(response.headers["x-business-use-case-usage"])) == {ACCOUNT_DIGITS}


class TestTimeScale:
    """time_scale divides every window, so tests and demos can compress minutes."""

    @pytest.fixture
    def config(self) -> SandboxConfig:
        return SandboxConfig(tier="development", time_scale=10)

    async def test_block_period_is_scaled(self, graph: Graph, clock: ManualClock) -> None:
        """At time_scale=10 the 300 s block lasts 30 s, and regain is still at least a minute."""
        await spend_score(graph)
        refused = await write(graph)
        assert_throttled(refused, 17, 2446079)
        assert account_usage(refused)["reset_time_duration"] == 30
        assert buc_usage(refused)["estimated_time_to_regain_access"] == 1
        clock.advance(29.5)
        assert_throttled(await write(graph), 17, 2446079)
        clock.advance(0.5)
        assert (await write(graph)).status_code == 200


class TestManagementUseCase:
    """The hourly ads_management budget: 300 + 40 x active ads on the development tier."""

    @pytest.fixture
    def config(self) -> SandboxConfig:
        return SandboxConfig(tier="development")

    async def test_301st_call_in_an_hour_gets_80004(self, graph: Graph, clock: ManualClock) -> None:
        """300 reads (paced so the score never blocks) pass; the next gets 80004/2446079."""
        for _ in range(300):
            clock.advance(5)  # 5 s drains the read's point again
            assert (await graph.get(INR_ACCOUNT)).status_code == 200
        refused = await graph.get(INR_ACCOUNT)
        error = assert_throttled(refused, 80004, 2446079)
        assert error["message"].startswith("(#80004) There have been too many calls")
        entry = buc_usage(refused)
        assert entry["call_count"] == 100
        # The hour started with the first call (t=5 s); at t=1500 s 2105 s are left: 36 minutes.
        assert entry["estimated_time_to_regain_access"] == 36
        clock.advance(2104)
        assert_throttled(await graph.get(INR_ACCOUNT), 80004, 2446079)
        clock.advance(1)
        assert (await graph.get(INR_ACCOUNT)).status_code == 200


class TestInsightsUseCase:
    """Insights calls are metered on ads_insights and carry X-FB-Ads-Insights-Throttle."""

    @pytest.fixture
    def config(self) -> SandboxConfig:
        return SandboxConfig(tier="development")

    async def test_insights_throttle_header(self, graph: Graph) -> None:
        """Every /insights response, errors included, carries the insights throttle header."""
        response = await graph.get(f"{INR_ACCOUNT}/insights", fields="spend")
        throttle = json.loads(response.headers["x-fb-ads-insights-throttle"])
        assert throttle.keys() == {"app_id_util_pct", "acc_id_util_pct", "ads_api_access_tier"}
        assert throttle["ads_api_access_tier"] == "development_access"
        assert buc_usage(response)["type"] == "ads_insights"

    async def test_insights_do_not_spend_the_score(self, graph: Graph) -> None:
        """Insights reads leave the ads-management score alone."""
        for _ in range(70):
            await graph.get(f"{INR_ACCOUNT}/insights", fields="spend")
        assert account_usage(await graph.get(INR_ACCOUNT))["acc_id_util_pct"] == round(100 / 60, 2)

    async def test_601st_insights_call_gets_80000(self, graph: Graph) -> None:
        """600 insights calls an hour pass on the development tier; the next gets 80000."""
        for _ in range(600):
            await graph.get(f"{INR_ACCOUNT}/insights", fields="spend")
        refused = await graph.get(f"{INR_ACCOUNT}/insights", fields="spend")
        assert_throttled(refused, 80000, 2446079)
        throttle = json.loads(refused.headers["x-fb-ads-insights-throttle"])
        assert throttle["acc_id_util_pct"] == 100


class TestStandardTier:
    """The standard tier: 9000 points, so ordinary traffic stays near 0 %."""

    async def test_headers_name_the_tier(self, graph: Graph) -> None:
        """Usage headers say standard_access and a small percentage."""
        response = await write(graph)
        assert account_usage(response) == {
            "acc_id_util_pct": round(100 * 3 / 9000, 2),
            "reset_time_duration": 1,
            "ads_api_access_tier": "standard_access",
        }
        entry = buc_usage(response)
        assert (entry["call_count"], entry["estimated_time_to_regain_access"]) == (0, 0)

    async def test_calls_without_an_account_carry_no_account_headers(self, graph: Graph) -> None:
        """/me touches no ad account, so no account usage headers are sent."""
        response = await graph.get("me")
        assert "x-ad-account-usage" not in response.headers


class TestLimitsOff:
    """rate_limits=False turns the meters off."""

    @pytest.fixture
    def config(self) -> SandboxConfig:
        return SandboxConfig(tier="development", rate_limits=False)

    async def test_no_throttling(self, graph: Graph) -> None:
        """25 writes on the development tier all pass."""
        await spend_score(graph, writes=25)


class TestMutationRate:
    """With mutations_per_second set, a burst of writes gets 613/5044001 (§7.2)."""

    @pytest.fixture
    def config(self) -> SandboxConfig:
        return SandboxConfig(mutations_per_second=5)

    async def test_burst_of_writes(self, graph: Graph, clock: ManualClock) -> None:
        """Five writes in one second pass, the sixth is refused, reads are not capped."""
        await spend_score(graph, writes=5)
        assert_throttled(await write(graph), 613, 5044001)
        assert (await graph.get(INR_ACCOUNT)).status_code == 200
        clock.advance(1)
        assert (await write(graph)).status_code == 200
