"""Adaptive pacing per ad account, fed by the usage headers of every response (§7).

Meta scores calls per ad account and lets the score decay over a window; the headers say
how full the budget is (``acc_id_util_pct``, BUC percentages) and how long until it is
empty again (``reset_time_duration``). From two consecutive snapshots the pacer learns what
one call costs; once usage passes ``slow_at`` it spaces calls so that the decay keeps up,
and it waits out blocks using ``estimated_time_to_regain_access``. Calls to one account share
a concurrency limit, and a priority lane (pauses, rollbacks) skips the queue.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from meta_agent.graph.usage import Usage

Sleep = Callable[[float], Awaitable[None]]
Now = Callable[[], float]


@dataclass
class _Meter:
    """What the pacer knows about one budget holder (an ad account, or the app)."""

    usage: Usage = field(default_factory=Usage)
    seen_at: float = 0.0
    cost_pct: float = 1.0
    blocked_until: float = 0.0
    next_slot: float = 0.0
    in_flight: int = 0


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
        self._meters: dict[str, _Meter] = {}
        self._max_concurrency = max_concurrency
        self._semaphores: dict[str, asyncio.Semaphore] = {}

    def meter(self, key: str) -> _Meter:
        """The meter for ``key`` (created empty on first use)."""
        return self._meters.setdefault(key, _Meter())

    @asynccontextmanager
    async def slot(self, key: str, *, priority: bool = False) -> AsyncIterator[None]:
        """Wait until a call on ``key`` may go out, then hold a concurrency slot for it."""
        meter = self.meter(key)
        if priority:
            await self._wait_turn(meter)
            async with self._in_flight(meter):
                yield
            return
        semaphore = self._semaphores.setdefault(key, asyncio.Semaphore(self._max_concurrency))
        async with semaphore:
            await self._wait_turn(meter)
            async with self._in_flight(meter):
                yield

    @staticmethod
    @asynccontextmanager
    async def _in_flight(meter: _Meter) -> AsyncIterator[None]:
        meter.in_flight += 1
        try:
            yield
        finally:
            meter.in_flight -= 1

    async def _wait_turn(self, meter: _Meter) -> None:
        while True:
            now = self._now()
            ready_at = max(meter.blocked_until, meter.next_slot)
            if ready_at <= now:
                meter.next_slot = now + self._gap(meter, now)
                return
            await self._sleep(ready_at - now)

    def _gap(self, meter: _Meter, now: float) -> float:
        """Seconds to leave before the next call so usage stays under ``target``."""
        level = self._projected(meter, now) + meter.in_flight * meter.cost_pct
        decay_per_s = self._decay_rate(meter)
        if level < self.slow_at or decay_per_s <= 0:
            return 0.0
        # At the target, spend only what decays: one call per (cost / decay rate) seconds;
        # between slow_at and target, ramp up to that; above it, slower still.
        fraction = min((level - self.slow_at) / max(self.target - self.slow_at, 1e-9), 1.5)
        return fraction * meter.cost_pct / decay_per_s

    def _projected(self, meter: _Meter, now: float) -> float:
        elapsed = max(0.0, now - meter.seen_at)
        return max(0.0, meter.usage.peak - self._decay_rate(meter) * elapsed)

    @staticmethod
    def _decay_rate(meter: _Meter) -> float:
        usage = meter.usage
        return usage.peak / usage.reset_seconds if usage.reset_seconds > 0 else 0.0

    def observe(self, key: str, usage: Usage) -> None:
        """Feed the usage headers of a response (errors included) into ``key``'s meter."""
        meter = self.meter(key)
        now = self._now()
        rise = usage.peak - self._projected(meter, now)
        if 0 < rise < 50:
            meter.cost_pct = 0.7 * meter.cost_pct + 0.3 * rise
        meter.usage, meter.seen_at = usage, now
        if usage.blocked_for > 0:
            meter.blocked_until = max(meter.blocked_until, now + usage.blocked_for)

    def block(self, key: str, seconds: float) -> None:
        """Hold every call on ``key`` for ``seconds`` (after a rate-limit error)."""
        meter = self.meter(key)
        meter.blocked_until = max(meter.blocked_until, self._now() + seconds)
