"""The send path against the sandbox: auth, errors, retries, outcome-unknown, pacing, logs."""

from __future__ import annotations

import pytest
import structlog
from starlette.applications import Starlette

from meta_agent import errors
from meta_agent.graph.requestor import CallOptions, Requestor, encode_params, template
from meta_agent.sandbox import ManualClock, Sandbox, SandboxConfig, parse_fault_spec
from tests.conftest import INR_ACCOUNT, TOKEN
from tests.graph.conftest import make_requestor

CAMPAIGN = {
    "name": "Client test",
    "objective": "OUTCOME_TRAFFIC",
    "special_ad_categories": [],
    "status": "PAUSED",
    "is_adset_budget_sharing_enabled": False,
}


def _campaigns(sandbox: Sandbox) -> list[dict[str, object]]:
    return list(sandbox.state.of_kind("campaign"))


async def test_read_returns_body_and_headers(requestor: Requestor) -> None:
    """A plain read returns the decoded body and Meta's headers."""
    response = await requestor.call("GET", "me", {"fields": "id,name"})
    assert response.body == {"id": "100000000000001", "name": "Sandbox Marketer"}
    assert response.headers["facebook-api-version"] == "v25.0"


async def test_params_are_encoded_as_the_sdk_encodes_them(
    requestor: Requestor, sandbox: Sandbox
) -> None:
    """Lists, dicts and booleans go out as compact JSON; the sandbox accepts the write."""
    assert encode_params({"a": [1], "b": {"x": True}, "c": False, "d": None}) == {
        "a": "[1]",
        "b": '{"x":true}',
        "c": "false",
    }
    response = await requestor.call("POST", f"{INR_ACCOUNT}/campaigns", CAMPAIGN)
    assert response.body["id"] in {c["id"] for c in _campaigns(sandbox)}


async def test_invalid_parameter_is_raised_with_blame(requestor: Requestor) -> None:
    """Meta's validation error arrives as InvalidParameterError with its blame fields, unretried."""
    with pytest.raises(errors.InvalidParameterError) as caught:
        await requestor.call("POST", f"{INR_ACCOUNT}/campaigns", {**CAMPAIGN, "objective": None})
    assert caught.value.blame_fields == [["objective"]]


async def test_missing_object_is_not_found(requestor: Requestor) -> None:
    """100/33 becomes NotFoundError."""
    with pytest.raises(errors.NotFoundError):
        await requestor.call("GET", "424242424242")


@pytest.mark.parametrize("kind", ["transient", "unknown", "http_5xx", "timeout"])
async def test_transient_faults_are_retried_invisibly(
    requestor: Requestor, sandbox: Sandbox, clock: ManualClock, kind: str
) -> None:
    """One transient failure of each kind is retried; the caller sees only the success."""
    sandbox.faults.replace(parse_fault_spec(f"{kind}:path=me,nth=1,timeout=0"))
    response = await requestor.call("GET", "me")
    assert response.body["id"] == "100000000000001"
    assert sandbox.faults.fired == [1]


async def test_rate_limit_fault_waits_then_succeeds(
    requestor: Requestor, sandbox: Sandbox, clock: ManualClock
) -> None:
    """A throttling error is waited out and retried; the caller never sees it."""
    sandbox.faults.replace(parse_fault_spec("rate_limit:path=me,nth=1"))
    before = clock.now()
    await requestor.call("GET", "me")
    assert clock.now() > before


async def test_dropped_write_raises_outcome_unknown(requestor: Requestor, sandbox: Sandbox) -> None:
    """A write whose connection drops after the commit is not resent: OutcomeUnknownError."""
    sandbox.faults.replace(parse_fault_spec("drop_after_commit:method=POST,nth=1"))
    with pytest.raises(errors.OutcomeUnknownError) as caught:
        await requestor.call(
            "POST", f"{INR_ACCOUNT}/campaigns", CAMPAIGN, options=CallOptions(idempotency_key="k-1")
        )
    assert caught.value.details["idempotency_key"] == "k-1"
    assert len(_campaigns(sandbox)) == 1  # committed once, never duplicated


async def test_dropped_read_is_retried(requestor: Requestor, sandbox: Sandbox) -> None:
    """A read is safe to resend after a dropped connection."""
    sandbox.faults.replace(parse_fault_spec("drop_after_commit:method=GET,nth=1"))
    assert (await requestor.call("GET", "me")).body["id"] == "100000000000001"


async def test_persistent_failure_surfaces_after_the_cap(
    requestor: Requestor, sandbox: Sandbox
) -> None:
    """When every attempt fails, the last transient error surfaces after max_attempts."""
    sandbox.faults.replace(parse_fault_spec("transient:path=me"))
    with pytest.raises(errors.TransientError):
        await requestor.call("GET", "me")
    assert sandbox.faults.fired == [requestor.policy.max_attempts]


class TestPacing:
    """On the development tier the pacer keeps writes under the score budget."""

    @pytest.fixture
    def config(self) -> SandboxConfig:
        return SandboxConfig(tier="development")

    async def test_many_writes_are_never_throttled(
        self, requestor: Requestor, sandbox: Sandbox, clock: ManualClock
    ) -> None:
        """40 writes (120 points against a 60-point budget) all succeed, paced by the headers."""
        for index in range(40):
            await requestor.call(
                "POST", f"{INR_ACCOUNT}/campaigns", {**CAMPAIGN, "name": f"c{index}"}
            )
        assert len(_campaigns(sandbox)) == 40

    async def test_priority_lane_skips_the_queue(
        self, requestor: Requestor, clock: ManualClock
    ) -> None:
        """A priority call still waits out blocks but not the concurrency queue."""
        meter = requestor.pacer.meter("1234567890")
        async with requestor.pacer.slot("1234567890", priority=True):
            assert meter.in_flight == 1
        assert meter.in_flight == 0


async def test_app_secret_proof_is_sent(clock: ManualClock) -> None:
    """With an app secret configured on both sides, calls carry a valid appsecret_proof."""
    from pydantic import SecretStr

    from meta_agent.sandbox import create_app

    app = create_app(SandboxConfig(app_secret=SecretStr("s3cret")), clock=clock)
    requestor = make_requestor(app, clock, app_secret=SecretStr("s3cret"))
    assert (await requestor.call("GET", "me")).status == 200


async def test_no_token_in_any_log_line(
    app: Starlette, clock: ManualClock, sandbox: Sandbox
) -> None:
    """Every log line of successful, failed, retried and dropped calls is free of the token."""
    requestor = make_requestor(app, clock)
    sandbox.faults.replace(parse_fault_spec("transient:nth=2;drop_after_commit:method=POST,nth=1"))
    with structlog.testing.capture_logs() as logs:
        await requestor.call("GET", "me")
        await requestor.call("GET", "me")
        with pytest.raises(errors.OutcomeUnknownError) as dropped:
            await requestor.call("POST", f"{INR_ACCOUNT}/campaigns", CAMPAIGN)
        with pytest.raises(errors.InvalidParameterError) as invalid:
            await requestor.call("POST", f"{INR_ACCOUNT}/campaigns", {})
    assert len(logs) >= 5
    for entry in logs:
        assert TOKEN not in repr(entry)
    assert TOKEN not in str(dropped.value) + repr(dropped.value.to_dict())
    assert TOKEN not in str(invalid.value) + repr(invalid.value.to_dict())
    assert TOKEN not in repr(requestor.settings)


async def test_sunset_version_warns_and_mismatch_is_logged(
    app: Starlette, clock: ManualClock
) -> None:
    """v24.0 is past its sunset: the client warns at start and when Meta serves another version."""
    with structlog.testing.capture_logs() as logs:
        requestor = make_requestor(app, clock, version="v24.0")
        await requestor.call("GET", "me")
    events = {entry["event"] for entry in logs}
    assert "graph.version.sunset" in events
    assert "graph.version.mismatch" in events


def test_path_templates_hide_ids() -> None:
    """Logged paths replace ids so log and metric labels stay low-cardinality."""
    assert template("act_123/campaigns") == "act_{id}/campaigns"
    assert template("120210000000000001/") == "{id}"
    assert template("123:abcdef0/insights") == "{id}/insights"


async def test_object_paths_are_paced_under_their_account(requestor: Requestor) -> None:
    """After one call on /{id}, the id is known to belong to its ad account's budget."""
    created = await requestor.call("POST", f"{INR_ACCOUNT}/campaigns", CAMPAIGN)
    campaign_id = created.body["id"]
    assert requestor.pacing_key(campaign_id, CallOptions()) == "app"
    await requestor.call("POST", campaign_id, {"name": "renamed"})
    assert requestor.pacing_key(campaign_id, CallOptions()) == "1234567890"
