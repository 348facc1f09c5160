"""Adaptive pacing per ad account, fed by the usage headers of every response (§7).

Meta scores calls per ad account and lets the score drain over a window; the headers say how
full the budget is (``acc_id_util_pct``) and how long it takes to drain (``reset_time_duration``),
and the business-use-case (BUC) headers say how much of the hourly budgets is spent. The pacer
keeps one :class:`Budget` per kind for each key and admits a call only when

* no block is in force (``estimated_time_to_regain_access``, or a rate-limit error's wait),
* the level, drained to now, plus one call's cost for each call in flight and for this one,
  stays under ``target`` (the last few percent are reserved for the priority lane), and
* above ``slow_at``, calls are spaced by :func:`spacing`, a proportional controller that
  settles where the drain refills exactly what the calls spend: the tier's ceiling, no more.

The cost of a call is learned from the rise between consecutive readings, starting from the
tier's write cost once a response names the tier (and from the development tier's before
that, so a cold burst cannot overshoot). Calls to one key share a concurrency limit; a
priority call (a pause, a rollback) skips that queue and goes ahead of queued bulk calls.

A call may carry a ``weight``: a batch of N items is one HTTP request but N calls against
Meta's budgets (each item is scored on its own), so it is admitted, counted in flight and
spaced like N calls, while holding a single concurrency slot.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from meta_agent.graph.usage import Usage

Sleep = Callable[[float], Awaitable[None]]
Now = Callable[[], float]

# Every tier's ads-management score drains fully over 300 s (§7.2); hourly BUC budgets (§7.3).
SCORE_DRAIN_PCT_PER_S = 100 / 300
HOURLY_DRAIN_PCT_PER_S = 100 / 3600
PRIORITY_CEILING = 99.0
_WRITE_POINTS = 3.0
_TIER_MAX_SCORE = {"development_access": 60.0, "standard_access": 9000.0}
# Until a response names the tier, assume the dearest call we know of: a write on the
# development tier (3 of 60 points), so a cold burst of concurrent calls cannot overshoot.
_DEFAULT_COST = 100 * _WRITE_POINTS / _TIER_MAX_SCORE["development_access"]
_COST_ALPHA = 0.3
_NEGLIGIBLE_S = 1e-6
_MIN_SLEEP_S = 1e-3


def admission_wait(
    level: float, cost: float, drain: float, in_flight: int, ceiling: float, weight: int = 1
) -> float:
    """Seconds until a call of ``weight`` calls fits under ``ceiling`` with ``in_flight`` pending.

    ``level`` is the budget now, in percent; ``cost`` what one call adds; ``drain`` the percent
    recovered per second; ``in_flight`` counts calls by weight. When the calls in flight alone
    fill the budget, no amount of waiting helps, only one of them finishing: the answer is
    ``inf``. A call dearer than the ceiling (one costly call, or a big batch) waits for an
    empty budget.
    """
    allowed = ceiling - (in_flight + weight) * cost
    if allowed < 0 and in_flight > 0:
        return math.inf
    allowed = max(allowed, 0.0)
    if level <= allowed:
        return 0.0
    return (level - allowed) / drain


def spacing(level: float, cost: float, drain: float, slow_at: float, target: float) -> float:
    """Seconds to leave after a bulk call, given the level it will find.

    Below ``slow_at``: none. At ``target``: exactly what the drain refills, ``cost / drain``.
    In between it ramps up linearly, and above the target it spaces wider (up to 1.5 times),
    so the level settles where spending and draining balance.
    """
    if level < slow_at or drain <= 0:
        return 0.0
    fraction = min((level - slow_at) / max(target - slow_at, 1e-9), 1.5)
    return fraction * cost / drain


@dataclass
class Budget:
    """One budget's level as last seen, how fast it drains and what one call costs (percent)."""

    drain: float
    level: float = 0.0
    seen_at: float = 0.0
    cost: float = _DEFAULT_COST
    trust_drops: bool = True

    def projected(self, now: float) -> float:
        """The level drained to ``now``."""
        return max(0.0, self.level - self.drain * max(0.0, now - self.seen_at))

    def observe(self, level: float, now: float) -> None:
        """Take a fresh reading, learning the cost of one call from the rise since the last."""
        expected = self.projected(now)
        rise = level - expected
        # A saturated reading (a refusal says 100 %) tells nothing about one call's cost.
        if rise > 0 and level < 100:
            # Capped so that a response read out of order cannot inflate the estimate.
            rise = min(rise, 3 * self.cost)
            self.cost += _COST_ALPHA * (rise - self.cost)
        # A lower reading than the drain allows is a stale response, unless drops are trusted.
        self.level = level if self.trust_drops else max(level, expected)
        self.seen_at = now


@dataclass
class Meter:
    """What the pacer knows about one budget holder (an ad account, or the app)."""

    score: Budget = field(default_factory=lambda: Budget(SCORE_DRAIN_PCT_PER_S, trust_drops=False))
    hourly: Budget = field(default_factory=lambda: Budget(HOURLY_DRAIN_PCT_PER_S))
    usage: Usage = field(default_factory=Usage)
    tier: str | None = None
    blocked_until: float = 0.0
    last_admit: float = float("-inf")
    admit_level: float = 0.0
    admit_weight: int = 1
    in_flight: int = 0
    """Calls in flight, by weight: a batch of N items counts N."""
    priority_waiting: int = 0
    lane_clear: asyncio.Event = field(default_factory=asyncio.Event)
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    """Set (and replaced) each time a call finishes: what waiters for room in flight await."""

    def __post_init__(self) -> None:
        self.lane_clear.set()


class Pacer:
    """Gatekeeper for Graph calls: ``async with pacer.slot(account): ...``."""

    def __init__(
        self,
        *,
        now: Now,
        sleep: Sleep,
        max_concurrency: int = 8,
        slow_at: float = 75.0,
        target: float = 95.0,
    ) -> None:
        self._now = now
        self._sleep = sleep
        self.slow_at = slow_at
        self.target = target
        self._meters: dict[str, Meter] = {}
        self._max_concurrency = max_concurrency
        self._semaphores: dict[str, asyncio.Semaphore] = {}

    def meter(self, key: str) -> Meter:
        """The meter for ``key`` (created empty on first use)."""
        return self._meters.setdefault(key, Meter())

    @asynccontextmanager
    async def slot(
        self, key: str, *, priority: bool = False, weight: int = 1
    ) -> AsyncIterator[None]:
        """Wait until a call on ``key`` may go out, then hold a concurrency slot for it.

        A ``priority`` call skips the concurrency queue and may use the reserve above
        ``target``; it still waits out blocks. ``weight`` is how many calls Meta scores this
        one as (the items of a batch): it is paced like that many calls.
        """
        meter, weight = self.meter(key), max(1, weight)
        if priority:
            await self._wait_priority(meter, weight)
            async with self._in_flight(meter, weight):
                yield
            return
        semaphore = self._semaphores.setdefault(key, asyncio.Semaphore(self._max_concurrency))
        async with semaphore:
            await self._wait_turn(meter, self.target, weight, bulk=True)
            async with self._in_flight(meter, weight):
                yield

    @staticmethod
    @asynccontextmanager
    async def _in_flight(meter: Meter, weight: int) -> AsyncIterator[None]:
        # Counted up by _wait_turn in the same step that admits the call.
        try:
            yield
        finally:
            meter.in_flight -= weight
            meter.finished.set()
            meter.finished = asyncio.Event()

    async def _wait_priority(self, meter: Meter, weight: int) -> None:
        meter.priority_waiting += 1
        meter.lane_clear.clear()
        try:
            await self._wait_turn(meter, PRIORITY_CEILING, weight, bulk=False)
        finally:
            meter.priority_waiting -= 1
            if meter.priority_waiting == 0:
                meter.lane_clear.set()

    async def _wait_turn(self, meter: Meter, ceiling: float, weight: int, *, bulk: bool) -> None:
        while True:
            if bulk and not meter.lane_clear.is_set():
                await meter.lane_clear.wait()
                continue
            now = self._now()
            wait = self._wait_seconds(meter, now, ceiling, weight, bulk=bulk)
            if wait <= _NEGLIGIBLE_S:
                if bulk:
                    meter.last_admit = now
                    meter.admit_weight = weight
                    meter.admit_level = (
                        meter.score.projected(now) + meter.in_flight * meter.score.cost
                    )
                meter.in_flight += weight
                return
            if wait == math.inf:
                await meter.finished.wait()
            else:
                # A floor, so that a clock coarser than the wait still moves.
                await self._sleep(max(wait, _MIN_SLEEP_S))

    def _wait_seconds(
        self, meter: Meter, now: float, ceiling: float, weight: int, *, bulk: bool
    ) -> float:
        waits = [meter.blocked_until - now]
        if bulk:
            waits.append(meter.last_admit + self._spacing(meter) - now)
        for budget in (meter.score, meter.hourly):
            level = budget.projected(now)
            waits.append(
                admission_wait(level, budget.cost, budget.drain, meter.in_flight, ceiling, weight)
            )
        return max(waits)

    def _spacing(self, meter: Meter) -> float:
        # Worked out at each check, so a drain learned since the last admission applies.
        # A batch of N spent N calls' worth: the drain takes N times as long to refill it.
        score = meter.score
        cost = score.cost * meter.admit_weight
        return spacing(meter.admit_level, cost, score.drain, self.slow_at, self.target)

    def observe(self, key: str, usage: Usage) -> None:
        """Feed the usage headers of a response (errors included) into ``key``'s meter."""
        meter = self.meter(key)
        now = self._now()
        self._learn_tier(meter, usage.tier)
        if usage.reset_seconds > 0 and 0 < usage.account_pct < 100 and not usage.blocked_for:
            # reset_time_duration is rounded up, so this is a lower bound of the true drain.
            # (While blocked it counts down the block instead, which says nothing about it.)
            meter.score.drain = max(meter.score.drain, usage.account_pct / usage.reset_seconds)
        meter.score.observe(usage.account_pct, now)
        hourly = [usage.app_pct, usage.insights_pct, *usage.buc_pct.values()]
        meter.hourly.observe(max(hourly), now)
        meter.usage = usage
        if usage.blocked_for > 0:
            meter.blocked_until = max(meter.blocked_until, now + usage.blocked_for)

    @staticmethod
    def _learn_tier(meter: Meter, tier: str | None) -> None:
        """On first sight of the tier, start from its write cost instead of a guess."""
        if tier is None or tier == meter.tier:
            return
        meter.tier = tier
        max_score = _TIER_MAX_SCORE.get(tier)
        if max_score is not None:
            meter.score.cost = 100 * _WRITE_POINTS / max_score

    def block(self, key: str, seconds: float) -> None:
        """Hold every call on ``key`` for ``seconds`` (after a rate-limit error)."""
        meter = self.meter(key)
        meter.blocked_until = max(meter.blocked_until, self._now() + seconds)
