"""Sandbox time: injectable so tests and benchmarks move it by hand instead of sleeping."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Protocol


class Clock(Protocol):
    """Where the sandbox reads the time and how it waits."""

    def now(self) -> float:
        """Seconds since the epoch."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time."""
        ...


class SystemClock:
    """Wall-clock time and real waiting."""

    def now(self) -> float:
        """Seconds since the epoch, from the system."""
        return time.time()

    async def sleep(self, seconds: float) -> None:
        """Wait in real time."""
        if seconds > 0:
            await asyncio.sleep(seconds)


class ManualClock:
    """A clock that only moves when told to; ``sleep`` advances it instantly."""

    def __init__(self, start: float = 1_795_000_000.0) -> None:
        self._now = start

    def now(self) -> float:
        """The current manual time."""
        return self._now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self._now += seconds

    async def sleep(self, seconds: float) -> None:
        """Advance the clock instead of waiting."""
        self.advance(max(seconds, 0.0))


class AcceleratedClock:
    """Wall-clock time running ``speed`` times faster from ``start``; ``advance`` jumps ahead.

    ``sleep`` waits ``seconds / speed`` of real time, so every window in sandbox time (rate
    limits, video processing, report runs, delivery) passes ``speed`` times faster.
    """

    def __init__(
        self, speed: float, start: float | None = None, *, real: Callable[[], float] = time.time
    ) -> None:
        if speed <= 0:
            raise ValueError(f"speed: give a positive factor, not {speed}")
        self.speed = speed
        self._real = real
        self._real_start = real()
        self._start = self._real_start if start is None else start

    def now(self) -> float:
        """``start`` plus the real time elapsed since, times ``speed``."""
        return self._start + (self._real() - self._real_start) * self.speed

    def advance(self, seconds: float) -> None:
        """Jump forward by ``seconds`` of sandbox time."""
        self._start += seconds

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of sandbox time, i.e. ``seconds / speed`` of real time."""
        if seconds > 0:
            await asyncio.sleep(seconds / self.speed)
