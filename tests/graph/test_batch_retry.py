"""Per-item retries inside batches, against the sandbox's faults and rate limits on a manual clock."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx2
import pytest
import structlog
from pydantic import SecretStr
from starlette.applications import Starlette

from meta_agent import errors
from meta_agent.graph.batch import BatchBuilder, BatchItem, item_result, ref
from meta_agent.graph.client import GraphClient
from meta_agent.graph.guard import UNGUARDED
from meta_agent.graph.requestor import Requestor
from meta_agent.graph.retry import RetryPolicy, decide
from meta_agent.graph.settings import GraphSettings
from meta_agent.graph.transport import Transport
from meta_agent.sandbox import ManualClock, Sandbox, SandboxConfig, parse_fault_spec
from tests.conftest import INR_ACCOUNT, TOKEN
from tests.graph.conftest import make_requestor
from tests.graph.test_batch import AD_SET, CAMPAIGN

ACCOUNT_KEY = INR_ACCOUNT.removeprefix("act_")
CAMPAIGNS = f"{INR_ACCOUNT}/campaigns"


class RecordingSleep:
    """The manual clock's sleep, remembering every wait it was asked for."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await self.clock.sleep(seconds)


@pytest.fixture
def sleeps(clock: ManualClock) -> RecordingSleep:
    """What the requestor (and so the batch) was asked to sleep."""
    return RecordingSleep(clock)


@pytest.fixture
async def recorded(
    app: Starlette, clock: ManualClock, sleeps: RecordingSleep
) -> AsyncIterator[Requestor]:
    """A requestor over the sandbox whose sleeps are recorded (and advance the manual clock)."""
    settings = GraphSettings(
        access_token=SecretStr(TOKEN), base_url="http://sandbox", version="v25.0"
    )
    requestor = Requestor(
        settings,
        Transport("http://sandbox", app=app),
        now=clock.now,
        sleep=sleeps,
        rng=random.Random(1),
        wall_clock=lambda: datetime.fromtimestamp(clock.now(), UTC),
        guard=UNGUARDED,
    )
    yield requestor
    await requestor.transport.aclose()


async def _listed(client: httpx2.AsyncClient, kind: str) -> list[dict[str, Any]]:
    """Objects of ``kind`` as the sandbox's admin listing shows them."""
    response = await client.get("/_sandbox/objects", params={"kind": kind})
    data: list[dict[str, Any]] = response.json()["data"]
    return data


def _campaigns(batch: BatchBuilder, count: int, prefix: str = "c") -> list[str | int]:
    return [batch.post(CAMPAIGNS, {**CAMPAIGN, "name": f"{prefix}{i}"}) for i in range(count)]


def _decisions(logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [entry for entry in logs if entry["event"] == "graph.batch.retry.decided"]


# -- rate limits -------------------------------------------------------------------------------


class TestRateLimited:
    """The development tier (60 points, writes cost 3) blocks the 21st write of a batch."""

    @pytest.fixture
    def config(self) -> SandboxConfig:
        # Windows divided by 10: a 30 s block, which the BUC header advertises as 1 minute.
        return SandboxConfig(tier="development", time_scale=10)

    async def test_rate_limited_items_go_again_after_exactly_the_advertised_wait(
        self,
        recorded: Requestor,
        sleeps: RecordingSleep,
        clock: ManualClock,
        client: httpx2.AsyncClient,
    ) -> None:
        """25 writes: 20 succeed, 5 are refused with a 60 s regain time; only those 5 are
        re-sent, once, exactly 60 s later, and all succeed: 25 campaigns, none twice."""
        batch = BatchBuilder(recorded)
        keys = _campaigns(batch, 25)
        started = clock.now()
        with structlog.testing.capture_logs() as logs:
            results = await batch.execute()
        assert not results.errors()
        assert all(results[key].ok for key in keys)
        assert sleeps.waits == [60.0]
        assert clock.now() - started == 60.0
        waits = [(d["batch_item"], d["action"], d["seconds"]) for d in _decisions(logs)]
        assert waits == [(index, "wait", 60.0) for index in range(20, 25)]
        assert (results.calls, results.rounds, results.resent) == (2, 2, 5)
        names = sorted(campaign["name"] for campaign in await _listed(client, "campaign"))
        assert names == sorted(f"c{i}" for i in range(25))

    async def test_the_wait_blocks_the_pacer_for_the_account(
        self, recorded: Requestor, clock: ManualClock
    ) -> None:
        """After a rate-limited item, the account's meter is blocked for the advertised wait,
        so the client's other calls on that account wait too."""
        batch = BatchBuilder(recorded, max_attempts=1)
        _campaigns(batch, 21)
        started = clock.now()
        results = await batch.execute()
        assert isinstance(results[20].error, errors.RateLimitedError)
        assert results[20].error.retry_after == 60.0
        assert recorded.pacer.meter(ACCOUNT_KEY).blocked_until == started + 60.0
        await recorded.call("GET", INR_ACCOUNT, {"fields": "name"})
        assert clock.now() - started >= 60.0


async def test_scripted_rate_limit_without_a_regain_time_waits_the_policy_delay(
    recorded: Requestor, sandbox: Sandbox, sleeps: RecordingSleep, clock: ManualClock
) -> None:
    """A throttled item with no advertised wait waits the policy's jittered delay (30-60 s),
    and the pacer is blocked for exactly that long; the item then succeeds."""
    sandbox.faults.replace(parse_fault_spec("rate_limit:path=act_*/campaigns,in_batch=true,nth=2"))
    batch = BatchBuilder(recorded)
    keys = _campaigns(batch, 3)
    started = clock.now()
    results = await batch.execute()
    assert all(results[key].ok for key in keys)
    assert len(sleeps.waits) == 1
    assert 30.0 <= sleeps.waits[0] <= 60.0
    assert recorded.pacer.meter(ACCOUNT_KEY).blocked_until == pytest.approx(clock.now())
    assert clock.now() - started == pytest.approx(sleeps.waits[0])
    assert len(list(sandbox.state.of_kind("campaign"))) == 3


async def test_rate_limit_waits_stay_within_the_time_budget(
    app: Starlette, clock: ManualClock, sandbox: Sandbox
) -> None:
    """A wait that would pass max_retry_seconds is not taken: the item keeps its error."""
    sandbox.faults.replace(parse_fault_spec("rate_limit:path=act_*/campaigns,in_batch=true,nth=1"))
    requestor = make_requestor(app, clock, max_retry_seconds=10)
    batch = BatchBuilder(requestor)
    _campaigns(batch, 2)
    started = clock.now()
    results = await batch.execute()
    await requestor.transport.aclose()
    assert isinstance(results[0].error, errors.RateLimitedError)
    assert results[1].ok
    assert clock.now() == started
    assert sandbox.faults.matched == [2]  # each item sent once


# -- transient errors and what is never retried ------------------------------------------------


async def test_transient_item_is_resent_and_only_it(
    requestor: Requestor, sandbox: Sandbox, client: httpx2.AsyncClient
) -> None:
    """Code 2 on the 2nd of 5 writes: that write is sent again and succeeds, the other four
    are sent once; 5 campaigns exist."""
    sandbox.faults.replace(parse_fault_spec("transient:path=act_*/campaigns,in_batch=true,nth=2"))
    batch = BatchBuilder(requestor)
    keys = _campaigns(batch, 5)
    results = await batch.execute()
    assert all(results[key].ok for key in keys)
    assert sandbox.faults.matched == [6]
    assert (results.rounds, results.resent) == (2, 1)
    assert len(await _listed(client, "campaign")) == 5


async def test_item_answered_100_is_not_resent(requestor: Requestor, sandbox: Sandbox) -> None:
    """An invalid parameter (code 100) is settled at once while a transient neighbour retries."""
    sandbox.faults.replace(parse_fault_spec("transient:path=act_*/campaigns,in_batch=true,nth=1"))
    batch = BatchBuilder(requestor)
    flaky = batch.post(CAMPAIGNS, {**CAMPAIGN, "name": "flaky"})
    bad = batch.post(CAMPAIGNS, {**CAMPAIGN, "objective": "NOPE"})
    with structlog.testing.capture_logs() as logs:
        results = await batch.execute()
    assert results[flaky].ok
    error = results[bad].error
    assert isinstance(error, errors.InvalidParameterError)
    assert error.code == 100
    assert sandbox.faults.matched == [3]  # flaky twice, the invalid one once
    stops = [d for d in _decisions(logs) if d["batch_item"] == bad]
    assert [d["action"] for d in stops] == ["stop"]


async def test_persistent_transient_error_gives_up_after_max_attempts(
    requestor: Requestor, sandbox: Sandbox
) -> None:
    """An item that is always refused with code 2 is sent max_attempts times, then keeps it."""
    sandbox.faults.replace(parse_fault_spec("transient:path=me,in_batch=true"))
    batch = BatchBuilder(requestor, max_attempts=3)
    always = batch.get("me")
    other = batch.get(INR_ACCOUNT, {"fields": "id"})
    results = await batch.execute()
    error = results[always].error
    assert isinstance(error, errors.TransientError)
    assert error.code == 2
    assert results[other].ok
    assert sandbox.faults.fired == [3]


async def test_dependents_of_a_resent_item_run_after_it(
    requestor: Requestor, sandbox: Sandbox
) -> None:
    """A transient campaign aborts its two ad sets (960); all three go again together, the
    ad sets after the campaign and under its id, and nothing is reported failed."""
    sandbox.faults.replace(parse_fault_spec("transient:path=act_*/campaigns,in_batch=true,nth=1"))
    batch = BatchBuilder(requestor)
    batch.post(CAMPAIGNS, CAMPAIGN, name="campaign")
    for name in ("a", "b"):
        spec = {**AD_SET, "name": name, "campaign_id": ref("campaign")}
        batch.post(f"{INR_ACCOUNT}/adsets", spec, name=name)
    results = await batch.execute()
    assert not results.errors()
    campaign_id = results["campaign"].body["id"]
    adsets = list(sandbox.state.of_kind("adset"))
    assert sorted(adset["name"] for adset in adsets) == ["a", "b"]
    assert {adset["campaign_id"] for adset in adsets} == {campaign_id}
    assert len(list(sandbox.state.of_kind("campaign"))) == 1
    assert (results.rounds, results.resent) == (2, 3)


async def test_dependents_wait_for_a_rate_limited_item(
    recorded: Requestor, sandbox: Sandbox, sleeps: RecordingSleep
) -> None:
    """A dependent of a throttled item is not sent alone in the meantime: it goes with it."""
    sandbox.faults.replace(parse_fault_spec("rate_limit:path=act_*/campaigns,in_batch=true,nth=1"))
    batch = BatchBuilder(recorded)
    batch.post(CAMPAIGNS, CAMPAIGN, name="campaign")
    spec = {**AD_SET, "name": "a", "campaign_id": ref("campaign")}
    batch.post(f"{INR_ACCOUNT}/adsets", spec, name="a")
    unrelated = batch.get("me")
    results = await batch.execute()
    assert not results.errors()
    assert results[unrelated].ok
    assert len(sleeps.waits) == 1
    assert results.calls == 2
    assert sandbox.counters.by_route["POST {adaccount}/adsets"] == 1


async def test_write_whose_batch_answer_was_lost_is_never_resent(
    requestor: Requestor, sandbox: Sandbox
) -> None:
    """A batch whose answer is lost leaves its writes outcome-unknown: not re-sent."""
    sandbox.faults.replace(parse_fault_spec("drop_after_commit:method=POST,path=,nth=1"))
    batch = BatchBuilder(requestor)
    write = batch.post(CAMPAIGNS, CAMPAIGN)
    results = await batch.execute()
    assert isinstance(results[write].error, errors.OutcomeUnknownError)
    assert sandbox.counters.by_route["POST /"] == 1
    assert len(list(sandbox.state.of_kind("campaign"))) == 1


# -- pure: when a failed slot may be re-sent ---------------------------------------------------


def test_failure_without_an_envelope_is_unknown_for_a_write_and_transient_for_a_read() -> None:
    """A 5xx slot without a Graph error may have run: a write is never re-sent, a read is."""
    write = BatchItem(0, "POST", "act_1/campaigns", {}, "c")
    read = BatchItem(1, "GET", "me", {})
    policy = RetryPolicy()
    unknown = item_result(502, "<html>Bad Gateway</html>", item=write).error
    assert isinstance(unknown, errors.OutcomeUnknownError)
    assert unknown.details["batch_item"] == "c"
    assert decide(unknown, 1, 0.0, policy, 0.5).action == "reconcile"
    transient = item_result(502, "<html>Bad Gateway</html>", item=read).error
    assert isinstance(transient, errors.TransientError)
    assert decide(transient, 1, 0.0, policy, 0.5).action == "backoff"


def test_an_error_envelope_on_a_write_may_be_resent_unless_its_code_forbids_it() -> None:
    """Code 2 in a write's slot is Meta's answer (not applied): retried; a transient-flagged
    code 100 never is."""
    write = BatchItem(0, "POST", "act_1/campaigns", {})
    policy = RetryPolicy()
    busy = item_result(503, {"error": {"code": 2, "is_transient": True}}, item=write).error
    assert isinstance(busy, errors.TransientError)
    assert decide(busy, 1, 0.0, policy, 0.5).action == "backoff"
    slow = {"error": {"code": 100, "error_subcode": 1504018, "is_transient": True}}
    timed_out = item_result(400, slow, item=write).error
    assert isinstance(timed_out, errors.TransientError)
    assert decide(timed_out, 1, 0.0, policy, 0.5).action == "stop"


# -- the facade --------------------------------------------------------------------------------


async def test_graph_client_batch_builds_over_its_requestor(
    graph_client: GraphClient, sandbox: Sandbox
) -> None:
    """graph.batch(...) is a BatchBuilder on the client's requestor, options passed through."""
    batch = graph_client.batch(max_size=2, max_attempts=2)
    assert batch.requestor is graph_client.requestor
    assert (batch.max_size, batch.max_attempts) == (2, 2)
    _campaigns(batch, 3)
    results = await batch.execute()
    assert not results.errors()
    assert results.calls == 2
    assert len(list(sandbox.state.of_kind("campaign"))) == 3


def test_graph_client_batch_rejects_bad_limits(graph_client: GraphClient) -> None:
    """An out-of-range option is a ConfigError, as on BatchBuilder."""
    with pytest.raises(errors.ConfigError):
        graph_client.batch(max_size=51)
