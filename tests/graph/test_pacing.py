"""The pacer: its arithmetic, and against the sandbox's development tier (60 points, writes 3)."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
import structlog
from starlette.applications import Starlette
from starlette.types import Receive, Scope, Send

from meta_agent import errors
from meta_agent.graph.batch import BatchBuilder
from meta_agent.graph.pacing import (
    Budget,
    Pacer,
    admission_wait,
    spacing,
)
from meta_agent.graph.requestor import CallOptions, Requestor
from meta_agent.graph.usage import Usage
from meta_agent.sandbox import ManualClock, Sandbox, SandboxConfig
from tests.conftest import INR_ACCOUNT, Graph
from tests.graph.conftest import make_requestor

ACCOUNT_KEY = INR_ACCOUNT.removeprefix("act_")
CAMPAIGN = {
    "name": "Paced",
    "objective": "OUTCOME_TRAFFIC",
    "special_ad_categories": [],
    "status": "PAUSED",
    "is_adset_budget_sharing_enabled": False,
}
THROTTLE_CODES = {4, 17, 32, 613, *range(80000, 80015)}


# -- the arithmetic ------------------------------------------------------------------------------


def test_admission_is_free_while_the_call_fits() -> None:
    """Level plus this call and those in flight under the ceiling: no wait."""
    assert admission_wait(level=50, cost=5, drain=0.2, in_flight=2, ceiling=95) == 0.0


def test_admission_waits_for_the_drain() -> None:
    """At 90 % with one 5 % call in flight, the next waits for 5 % to drain: 25 s at 0.2 %/s."""
    assert admission_wait(level=90, cost=5, drain=0.2, in_flight=1, ceiling=95) == pytest.approx(25)


def test_admission_waits_for_a_finish_when_in_flight_calls_fill_the_budget() -> None:
    """Calls in flight alone above the ceiling: only one finishing makes room (inf); a lone
    call dearer than the ceiling waits for the budget to drain empty."""
    assert admission_wait(level=0, cost=30, drain=0.5, in_flight=4, ceiling=95) == math.inf
    assert admission_wait(level=10, cost=120, drain=0.5, in_flight=0, ceiling=95) == pytest.approx(
        20
    )


def test_admission_counts_a_batch_as_its_items() -> None:
    """A weight-10 call needs room for 10 calls: at 50 % with 5 % calls it waits 15 s at
    1/3 %/s, where one call goes at once; a 50-item batch waits for an empty budget."""
    drain = 1 / 3
    assert admission_wait(level=50, cost=5, drain=drain, in_flight=0, ceiling=95) == 0.0
    assert admission_wait(50, 5, drain, 0, 95, weight=9) == 0.0
    assert admission_wait(50, 5, drain, 0, 95, weight=10) == pytest.approx(15)
    assert admission_wait(50, 5, drain, 0, 95, weight=50) == pytest.approx(150)
    assert admission_wait(0, 5, drain, in_flight=10, ceiling=95, weight=10) == math.inf


@pytest.mark.parametrize(
    ("level", "expected"),
    [(50, 0.0), (75, 0.0), (85, 12.5), (95, 25.0), (200, 37.5)],
    ids=["below-slow-at", "at-slow-at", "halfway", "at-target", "capped-above"],
)
def test_spacing_ramps_to_the_sustainable_gap(level: float, expected: float) -> None:
    """No gap below slow_at; cost/drain at the target (5 % / 0.2 %/s = 25 s); capped at 1.5x."""
    assert spacing(level, cost=5, drain=0.2, slow_at=75, target=95) == pytest.approx(expected)


def test_budget_projects_the_drain() -> None:
    """A reading drains linearly with time and never below zero."""
    budget = Budget(drain=2.0, level=50, seen_at=100)
    assert budget.projected(110) == 30
    assert budget.projected(200) == 0


def test_budget_learns_cost_from_rises_and_caps_spikes() -> None:
    """Readings teach the cost of a call; an out-of-order jump is capped, a refusal's 100 % ignored."""
    budget = Budget(drain=1.0, cost=5.0)
    budget.observe(5.0, now=0)
    assert budget.cost == pytest.approx(5.0)
    budget.observe(90.0, now=0)  # an 85-point jump: counted as at most 3x the estimate
    assert budget.cost == pytest.approx(5.0 + 0.3 * 10.0)
    budget.observe(100.0, now=0)
    assert budget.cost == pytest.approx(8.0)


def test_score_ignores_stale_drops_but_hourly_trusts_resets() -> None:
    """The score keeps the drained level over a lower stale reading; hourly windows may reset."""
    score = Budget(drain=1.0, level=80, seen_at=0, trust_drops=False)
    score.observe(60.0, now=10)
    assert score.level == 70
    hourly = Budget(drain=1.0, level=80, seen_at=0)
    hourly.observe(0.0, now=10)
    assert hourly.level == 0


def _pacer(clock: ManualClock, **kwargs: Any) -> Pacer:
    return Pacer(now=clock.now, sleep=clock.sleep, **kwargs)


def test_observe_learns_drain_tier_cost_and_blocks(clock: ManualClock) -> None:
    """Headers teach the drain (pct / reset), a write's cost from the tier, and the block's end."""
    pacer = _pacer(clock)
    pacer.observe("1", Usage(account_pct=5, reset_seconds=0.2, tier="development_access"))
    meter = pacer.meter("1")
    assert meter.score.drain == pytest.approx(25.0)
    assert meter.score.cost == pytest.approx(5.0)
    assert meter.blocked_until == 0
    pacer.observe(
        "1",
        Usage(
            account_pct=100, reset_seconds=300, buc_pct={"ads_management": 3}, regain_seconds=300
        ),
    )
    assert meter.score.drain == pytest.approx(
        25.0
    )  # the block's long reset does not lower the learned drain
    assert meter.blocked_until == clock.now() + 300
    assert meter.hourly.level == 3
    pacer.observe("1", Usage(account_pct=100, reset_seconds=1, regain_seconds=60))
    assert meter.score.drain == pytest.approx(25.0)  # a block's last second is not a drain


async def test_the_tier_sets_the_hourly_cost_so_batches_go_together(clock: ManualClock) -> None:
    """Once a response names the standard tier, a call costs 1/100,000 of the hourly budget
    (whole-percent BUC readings rarely show it): ten batches of 50 are admitted at once, where
    the development guess (5 % a call) would let one go at a time."""
    pacer = _pacer(clock, max_concurrency=32)
    pacer.observe("1", Usage(tier="standard_access"))
    meter = pacer.meter("1")
    assert meter.hourly.cost == pytest.approx(0.001)
    assert meter.score.cost == pytest.approx(100 * 3 / 9000)
    entered = asyncio.Event()
    inside, started = 0, clock.now()

    async def batch() -> None:
        nonlocal inside
        async with pacer.slot("1", weight=50):
            inside += 1
            if inside == 10:
                entered.set()
            await entered.wait()

    await asyncio.wait_for(asyncio.gather(*(batch() for _ in range(10))), timeout=5)
    assert clock.now() == started
    pacer.observe("2", Usage(tier="development_access"))
    assert pacer.meter("2").hourly.cost == pytest.approx(100 / 300)


def test_defaults_follow_metas_windows(clock: ManualClock) -> None:
    """Before any header, a meter drains its score over 300 s and hourly budgets over an hour."""
    meter = _pacer(clock).meter("1")
    assert meter.score.drain == pytest.approx(100 / 300)
    assert meter.hourly.drain == pytest.approx(100 / 3600)


async def test_block_holds_bulk_and_priority_alike(clock: ManualClock) -> None:
    """After block(), even a priority call waits until the block has passed."""
    pacer = _pacer(clock)
    pacer.block("1", 42)
    started = clock.now()
    async with pacer.slot("1", priority=True):
        assert clock.now() - started == pytest.approx(42)


def _half_full(clock: ManualClock) -> Pacer:
    """A pacer whose account "1" is at 50 %, with 5 % calls draining at 1/3 % a second."""
    pacer = _pacer(clock)
    score = pacer.meter("1").score
    score.level, score.seen_at, score.cost, score.drain = 50.0, clock.now(), 5.0, 1 / 3
    return pacer


async def test_weighted_slot_waits_and_counts_like_that_many_calls(clock: ManualClock) -> None:
    """slot(weight=10) at 50 % waits 15 s where a single call would not, and holds 10 in flight."""
    pacer = _half_full(clock)
    started = clock.now()
    async with pacer.slot("1"):
        assert clock.now() == started
    async with pacer.slot("1", weight=10):
        assert clock.now() - started == pytest.approx(15)
        assert pacer.meter("1").in_flight == 10
    assert pacer.meter("1").in_flight == 0


async def test_weight_applies_to_the_priority_lane(clock: ManualClock) -> None:
    """A priority batch may use the reserve up to 99 %, but still counts all its items."""
    pacer = _half_full(clock)
    started = clock.now()
    async with pacer.slot("1", priority=True, weight=10):
        assert clock.now() - started == pytest.approx(3)  # room for 10 x 5 % under 99 %


# -- against the development tier ---------------------------------------------------------------


class _Probe:
    """ASGI middleware in front of the sandbox: counts requests in flight, records arrival order,
    and can hold requests at a gate (so a test can see what is queued where)."""

    def __init__(self, app: Starlette) -> None:
        self.app = app
        self.in_flight = 0
        self.max_in_flight = 0
        self.arrivals: list[str] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self._arrived = asyncio.Condition()

    async def wait_for_arrivals(self, count: int) -> None:
        """Return once ``count`` requests have reached the probe."""
        # A real-time bound only so that a regression fails fast instead of hanging.
        async with asyncio.timeout(2), self._arrived:
            await self._arrived.wait_for(lambda: len(self.arrivals) >= count)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async with self._arrived:
            self.arrivals.append(f"{scope['method']} {scope['path']}")
            self._arrived.notify_all()
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await self.gate.wait()
            for _ in range(3):  # let other callers pile up, as real latency would
                await asyncio.sleep(0)
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1


def _throttled(logs: Sequence[Mapping[str, Any]]) -> int:
    return sum(
        1 for e in logs if e["event"] == "graph.request.completed" and e["code"] in THROTTLE_CODES
    )


def _usage(logs: Sequence[Mapping[str, Any]]) -> list[float]:
    return [e["usage_pct"] for e in logs if e["event"] == "graph.request.completed"]


class TestDevelopmentTier:
    """The pacer against the sandbox's development-tier scoring, on a manual clock."""

    @pytest.fixture
    def config(self) -> SandboxConfig:
        return SandboxConfig(tier="development")

    @pytest.fixture
    def strict(self, app: Starlette, clock: ManualClock) -> Requestor:
        """A requestor that never retries, so any throttling error would surface."""
        return make_requestor(app, clock, max_attempts=1)

    @pytest.mark.parametrize("concurrency", [8, 32])
    async def test_concurrent_writes_are_never_throttled(
        self, app: Starlette, clock: ManualClock, sandbox: Sandbox, concurrency: int
    ) -> None:
        """45 writes gathered at once (135 points on a 60-point budget) all succeed, none refused,
        even when 32 may be in flight before the first answer says which tier this is."""
        probe = _Probe(app)
        strict = make_requestor(probe, clock, max_attempts=1, max_concurrency=concurrency)  # type: ignore[arg-type]
        with structlog.testing.capture_logs() as logs:
            await asyncio.gather(
                *(
                    strict.call("POST", f"{INR_ACCOUNT}/campaigns", {**CAMPAIGN, "name": f"c{i}"})
                    for i in range(45)
                )
            )
        assert len(list(sandbox.state.of_kind("campaign"))) == 45
        assert _throttled(logs) == 0
        assert max(_usage(logs)) <= strict.pacer.target
        assert probe.max_in_flight > 8 if concurrency > 8 else probe.max_in_flight == 8

    async def test_sequential_writes_use_most_of_the_ceiling(
        self, strict: Requestor, clock: ManualClock
    ) -> None:
        """Past the initial budget, writes go out at >= 0.8 of the tier's ceiling (60 pts / 300 s / 3)."""
        ceiling = 60 / 300 / 3
        for index in range(20):  # the budget a fresh account starts with
            await strict.call("POST", f"{INR_ACCOUNT}/campaigns", {**CAMPAIGN, "name": f"a{index}"})
        started = clock.now()
        for index in range(30):
            await strict.call("POST", f"{INR_ACCOUNT}/campaigns", {**CAMPAIGN, "name": f"b{index}"})
        assert 30 / (clock.now() - started) >= 0.8 * ceiling

    async def test_block_is_waited_out_from_regain_time(
        self, requestor: Requestor, graph: Graph, clock: ManualClock
    ) -> None:
        """Blocked by others' calls, the client waits estimated_time_to_regain_access, then succeeds."""
        for index in range(21):  # the 21st write passes 60 points: the account is blocked 300 s
            await graph.post(
                f"{INR_ACCOUNT}/campaigns",
                **{**CAMPAIGN, "name": f"raw{index}", "special_ad_categories": "[]"},
            )
        started = clock.now()
        with structlog.testing.capture_logs() as logs:
            await requestor.call("POST", f"{INR_ACCOUNT}/campaigns", CAMPAIGN)
            await requestor.call("POST", f"{INR_ACCOUNT}/campaigns", CAMPAIGN)
        assert _throttled(logs) == 1  # only the call that discovered the block
        assert 300 <= clock.now() - started < 310

    async def test_batches_are_paced_as_many_calls_as_they_hold(
        self, strict: Requestor, sandbox: Sandbox, clock: ManualClock
    ) -> None:
        """Three batches of 8 writes (40 % of the budget each) in a row: at 80 % the third
        waits until 8 more writes fit under 95 %, so no item is ever throttled."""
        started = clock.now()
        for round_ in range(3):
            batch = BatchBuilder(strict, max_attempts=1)
            for index in range(8):
                batch.post(f"{INR_ACCOUNT}/campaigns", {**CAMPAIGN, "name": f"b{round_}.{index}"})
            results = await batch.execute()
            assert not results.errors(), results.errors()
        assert len(list(sandbox.state.of_kind("campaign"))) == 24
        assert clock.now() - started == pytest.approx(75, abs=1)  # 80 % down to 55 % at 1/3 %/s

    async def test_error_responses_feed_the_meter(self, strict: Requestor) -> None:
        """A refused write still carries usage headers, and the pacer takes them in."""
        with pytest.raises(errors.InvalidParameterError):
            await strict.call("POST", f"{INR_ACCOUNT}/campaigns", {**CAMPAIGN, "objective": "NOPE"})
        meter = strict.pacer.meter(ACCOUNT_KEY)
        assert meter.score.level == pytest.approx(5.0)  # 3 of 60 points
        assert meter.usage.tier == "development_access"

    async def test_block_learned_from_an_error_response(
        self, strict: Requestor, graph: Graph, clock: ManualClock
    ) -> None:
        """A throttling error's headers block the meter, so the next call waits instead of failing."""
        for index in range(21):
            await graph.post(
                f"{INR_ACCOUNT}/campaigns",
                **{**CAMPAIGN, "name": f"raw{index}", "special_ad_categories": "[]"},
            )
        with pytest.raises(errors.RateLimitedError):
            await strict.call("GET", INR_ACCOUNT)
        assert strict.pacer.meter(ACCOUNT_KEY).blocked_until == pytest.approx(clock.now() + 300)
        assert (await strict.call("GET", INR_ACCOUNT)).status == 200

    async def test_concurrency_is_bounded(self, app: Starlette, clock: ManualClock) -> None:
        """50 reads gathered at once: at most max_concurrency are ever in flight, and that many are."""
        probe = _Probe(app)
        requestor = make_requestor(probe, clock, max_concurrency=8)  # type: ignore[arg-type]
        await asyncio.gather(
            *(requestor.call("GET", INR_ACCOUNT, {"fields": "name"}) for _ in range(50))
        )
        assert probe.max_in_flight == 8
        assert len(probe.arrivals) == 50

    async def test_priority_call_overtakes_queued_bulk_reads(
        self, app: Starlette, clock: ManualClock
    ) -> None:
        """With 8 bulk reads in flight and 42 queued, a priority call goes out before the 42."""
        probe = _Probe(app)
        probe.gate.clear()
        requestor = make_requestor(probe, clock, max_concurrency=8)  # type: ignore[arg-type]
        bulk = [asyncio.create_task(requestor.call("GET", INR_ACCOUNT)) for _ in range(50)]
        await probe.wait_for_arrivals(8)
        pause = asyncio.create_task(
            requestor.call("GET", f"{INR_ACCOUNT}/campaigns", options=CallOptions(priority=True))
        )
        await probe.wait_for_arrivals(9)
        probe.gate.set()
        await asyncio.gather(pause, *bulk)
        assert probe.arrivals.index(f"GET /v25.0/{INR_ACCOUNT}/campaigns") == 8
        assert len(probe.arrivals) == 51
