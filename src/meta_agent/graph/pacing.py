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

Budgets belong to the account, not to the process. With a :class:`SharedPacing` store
(:mod:`meta_agent.graph.pacing_state`), every process publishes what its responses said (its
:class:`Levels`, in wall-clock time) and merges what the others published: a block any of
them recorded holds every process, the score is the highest of the local and the shared
projection, and the cost is learned once, from the readings of all of them. A call in
flight holds a lease (acquired atomically with a fresh read of the record, released together
with the publication of its response), so each process counts the others' calls in flight
too; a lease expires on its own, so a process killed mid-call frees its share. The shared
record is re-read at most every ``sync_interval`` while a call waits, and with each lease.
Concurrency slots, the priority lane and the spacing clock stay local. Without a store the
pacer is exactly the in-process one.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import structlog

from meta_agent.graph.pacing_state import Change, SharedPacing
from meta_agent.graph.usage import Usage

log = structlog.get_logger("meta_agent.graph")

Sleep = Callable[[float], Awaitable[None]]
Now = Callable[[], float]

# Every tier's ads-management score drains fully over 300 s (§7.2); hourly BUC budgets (§7.3).
SCORE_DRAIN_PCT_PER_S = 100 / 300
HOURLY_DRAIN_PCT_PER_S = 100 / 3600
PRIORITY_CEILING = 99.0
_WRITE_POINTS = 3.0
_TIER_MAX_SCORE = {"development_access": 60.0, "standard_access": 9000.0}
# The hourly ads_management calls of each tier before the allowance per active ad (§7.3): the
# dearest a call can be there. BUC readings are whole percents, so on the standard tier a
# call's rise is rarely seen: without this, the development guess would stay, and a batch of
# 50 would wait for every other call to end.
_TIER_HOURLY_CALLS = {"development_access": 300.0, "standard_access": 100_000.0}
# Until a response names the tier, assume the dearest call we know of: a write on the
# development tier (3 of 60 points), so a cold burst of concurrent calls cannot overshoot.
_DEFAULT_COST = 100 * _WRITE_POINTS / _TIER_MAX_SCORE["development_access"]
_COST_ALPHA = 0.3
_NEGLIGIBLE_S = 1e-6
_MIN_SLEEP_S = 1e-3
SYNC_INTERVAL_S = 0.05
"""How stale the shared record may be when a waiting call re-checks (bounds Redis reads)."""
LEASE_S = 120.0
"""How long a call in flight counts for the other processes if its own never says it ended."""
_RECORD_GRACE_S = 300.0
"""How long a shared record outlives its levels and block (it still holds the tier and cost)."""
_SHARED_RETRY_S = 5.0
"""After the shared store fails, how long to pace on local knowledge alone before retrying."""


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
        """Take a reading seen at ``now``, learning the cost of one call from the rise since
        the last.

        A reading older than the last one (``now`` before ``seen_at``: another process's,
        published after a newer one) is neither a drop nor a rise: taken as either, it would
        count again, as a rise, the calls the newer reading already holds. It can only say
        the score was higher than thought (drained to ``seen_at``); where drops are trusted
        (an hourly window that may have reset since) it says nothing.
        """
        if now < self.seen_at:
            if not self.trust_drops:
                self.level = max(self.level, level - self.drain * (self.seen_at - now))
            return
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

    def merge(self, other: Budget, now: float) -> None:
        """Take in what another process saw (``other``, in this clock): its learned cost and
        drain, and its level where it says more (the score: the higher projection; a budget
        whose drops are trusted: the fresher reading, as an hourly window may reset)."""
        self.cost = other.cost
        self.drain = max(self.drain, other.drain)
        if self.trust_drops:
            if other.seen_at > self.seen_at:
                self.level, self.seen_at = other.level, other.seen_at
            return
        theirs = other.projected(now)
        if theirs > self.projected(now):
            self.level, self.seen_at = theirs, now


@dataclass
class Levels:
    """What the responses on one budget holder said: the part of a meter processes share."""

    score: Budget = field(default_factory=lambda: Budget(SCORE_DRAIN_PCT_PER_S, trust_drops=False))
    hourly: Budget = field(default_factory=lambda: Budget(HOURLY_DRAIN_PCT_PER_S))
    tier: str | None = None
    blocked_until: float = 0.0

    def absorb(self, usage: Usage, now: float) -> None:
        """Take in the usage headers of one response seen at ``now``."""
        self._learn_tier(usage.tier)
        if usage.reset_seconds > 0 and 0 < usage.account_pct < 100 and not usage.blocked_for:
            # reset_time_duration is rounded up, so this is a lower bound of the true drain.
            # (While blocked it counts down the block instead, which says nothing about it.)
            self.score.drain = max(self.score.drain, usage.account_pct / usage.reset_seconds)
        self.score.observe(usage.account_pct, now)
        hourly = [usage.app_pct, usage.insights_pct, *usage.buc_pct.values()]
        self.hourly.observe(max(hourly), now)
        if usage.blocked_for > 0:
            self.blocked_until = max(self.blocked_until, now + usage.blocked_for)

    def _learn_tier(self, tier: str | None) -> None:
        """On first sight of the tier, start from its costs (score and hourly) instead of a
        guess."""
        if tier is None or tier == self.tier:
            return
        self.tier = tier
        max_score = _TIER_MAX_SCORE.get(tier)
        if max_score is not None:
            self.score.cost = 100 * _WRITE_POINTS / max_score
        hourly_calls = _TIER_HOURLY_CALLS.get(tier)
        if hourly_calls is not None:
            self.hourly.cost = 100 / hourly_calls

    def horizon(self, now: float) -> float:
        """Seconds until these levels say nothing any more: drained empty, block over."""
        drained = [b.projected(now) / b.drain for b in (self.score, self.hourly) if b.drain > 0]
        return max([self.blocked_until - now, *drained, 0.0])

    def to_json(self) -> str:
        """The shared record: these levels as compact JSON (times as they are: wall clock)."""
        budgets = {
            name: [budget.level, budget.seen_at, budget.drain, budget.cost]
            for name, budget in (("score", self.score), ("hourly", self.hourly))
        }
        record = {**budgets, "tier": self.tier, "blocked_until": self.blocked_until}
        return json.dumps(record, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | None) -> Levels | None:
        """The levels a shared record holds (None when absent or unreadable)."""
        if not text:
            return None
        try:
            record = json.loads(text)
            levels = cls(blocked_until=float(record["blocked_until"]))
            for name, budget in (("score", levels.score), ("hourly", levels.hourly)):
                budget.level, budget.seen_at, budget.drain, budget.cost = map(float, record[name])
            tier = record.get("tier")
        except (ValueError, TypeError, KeyError, AttributeError):
            return None
        levels.tier = tier if isinstance(tier, str) else None
        return levels

    def shifted(self, offset: float) -> Levels:
        """A copy with every time moved by ``offset`` seconds (wall clock to a local clock)."""
        score, hourly = (
            Budget(b.drain, b.level, b.seen_at + offset, b.cost, b.trust_drops)
            for b in (self.score, self.hourly)
        )
        return Levels(score, hourly, self.tier, self.blocked_until + offset)


@dataclass
class Meter(Levels):
    """What the pacer knows about one budget holder (an ad account, or the app)."""

    usage: Usage = field(default_factory=Usage)
    last_admit: float = float("-inf")
    admit_level: float = 0.0
    admit_weight: int = 1
    in_flight: int = 0
    """Calls in flight from this process, by weight: a batch of N items counts N."""
    remote_in_flight: int = 0
    """Calls in flight from other processes, by weight, as their leases last said."""
    synced_at: float = float("-inf")
    """When the shared record was last merged in (this process's clock)."""
    outbox: list[tuple[Usage, float]] = field(default_factory=list)
    """Usage seen here (with its wall-clock time) not yet published to the shared store."""
    outbox_block: float = 0.0
    """A block (wall-clock end) set here and not yet published."""
    releasing: list[str] = field(default_factory=list)
    """Leases of calls that ended here, to drop with the next publication."""
    publishing: asyncio.Lock = field(default_factory=asyncio.Lock)
    """Held while this process publishes the key: one write at a time, the next one batched."""
    reading: asyncio.Lock = field(default_factory=asyncio.Lock)
    """Held while this process reads the key: waiters share one read per interval."""
    priority_waiting: int = 0
    lane_clear: asyncio.Event = field(default_factory=asyncio.Event)
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    """Set (and replaced) each time a call finishes: what waiters for room in flight await."""

    def __post_init__(self) -> None:
        self.lane_clear.set()


class Pacer:
    """Gatekeeper for Graph calls: ``async with pacer.slot(account): ...``.

    ``shared`` makes the pacers of several processes pace together (see the module's
    docstring); ``wall`` is the clock shared state is kept in (seconds since the epoch),
    ``lease_seconds`` how long a call in flight counts for the others at most.
    """

    def __init__(
        self,
        *,
        now: Now,
        sleep: Sleep,
        max_concurrency: int = 8,
        slow_at: float = 75.0,
        target: float = 95.0,
        shared: SharedPacing | None = None,
        wall: Now = time.time,
        sync_interval: float = SYNC_INTERVAL_S,
        lease_seconds: float = LEASE_S,
    ) -> None:
        self._now = now
        self._sleep = sleep
        self.slow_at = slow_at
        self.target = target
        self._meters: dict[str, Meter] = {}
        self._max_concurrency = max_concurrency
        self._semaphores: dict[str, asyncio.Semaphore] = {}
        self.shared = shared
        self._wall = wall
        self.sync_interval = sync_interval
        self.lease_seconds = lease_seconds
        self._owner = uuid.uuid4().hex
        self._leases = itertools.count()
        self._dirty: set[str] = set()
        self._shared_down_until = float("-inf")

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
        one as (the items of a batch): it is paced like that many calls. Usage observed
        while the slot is held is published to the shared store as the slot is left.
        """
        meter, weight = self.meter(key), max(1, weight)
        await self.flush()
        if priority:
            lease = await self._wait_priority(key, meter, weight)
            async with self._in_flight(key, meter, weight, lease):
                yield
            return
        semaphore = self._semaphores.setdefault(key, asyncio.Semaphore(self._max_concurrency))
        async with semaphore:
            lease = await self._wait_turn(key, meter, self.target, weight, bulk=True)
            async with self._in_flight(key, meter, weight, lease):
                yield

    @asynccontextmanager
    async def _in_flight(
        self, key: str, meter: Meter, weight: int, lease: str | None
    ) -> AsyncIterator[None]:
        # Counted up by _wait_turn in the same step that admits the call.
        try:
            yield
        finally:
            meter.in_flight -= weight
            meter.finished.set()
            meter.finished = asyncio.Event()
            if self.shared is not None:
                await self._publish(key, release=lease)
                await self.flush()

    async def _wait_priority(self, key: str, meter: Meter, weight: int) -> str | None:
        meter.priority_waiting += 1
        meter.lane_clear.clear()
        try:
            return await self._wait_turn(key, meter, PRIORITY_CEILING, weight, bulk=False)
        finally:
            meter.priority_waiting -= 1
            if meter.priority_waiting == 0:
                meter.lane_clear.set()

    async def _wait_turn(
        self, key: str, meter: Meter, ceiling: float, weight: int, *, bulk: bool
    ) -> str | None:
        """Wait until the call fits; returns its lease in the shared store (None: none)."""
        while True:
            if bulk and not meter.lane_clear.is_set():
                await meter.lane_clear.wait()
                continue
            await self._refresh(key, meter)
            wait = self._wait_seconds(meter, self._now(), ceiling, weight, bulk=bulk)
            if wait <= _NEGLIGIBLE_S:
                lease = await self._acquire(key, meter, weight)
                now = self._now()
                # The lease came with a fresh record and every lease taken before it: the
                # authoritative check. Of two processes racing, the later one sees the first.
                if lease is not None and (
                    (bulk and not meter.lane_clear.is_set())
                    or self._wait_seconds(meter, now, ceiling, weight, bulk=bulk) > _NEGLIGIBLE_S
                ):
                    await self._release(key, lease)
                    continue
                if bulk:
                    meter.last_admit = now
                    meter.admit_weight = weight
                    meter.admit_level = (
                        meter.score.projected(now) + self._all_in_flight(meter) * meter.score.cost
                    )
                meter.in_flight += weight
                return lease
            if wait == math.inf and meter.remote_in_flight > 0:
                # Another process's calls fill the budget: no local event says when one ends,
                # so look again (the next refresh re-reads the leases).
                await self._sleep(self.sync_interval)
                await asyncio.sleep(0)  # let the others run, whatever the injected sleep does
            elif wait == math.inf:
                await meter.finished.wait()
            else:
                # A floor, so that a clock coarser than the wait still moves.
                await self._sleep(max(wait, _MIN_SLEEP_S))

    @staticmethod
    def _all_in_flight(meter: Meter) -> int:
        return meter.in_flight + meter.remote_in_flight

    def _wait_seconds(
        self, meter: Meter, now: float, ceiling: float, weight: int, *, bulk: bool
    ) -> float:
        waits = [meter.blocked_until - now]
        if bulk:
            waits.append(meter.last_admit + self._spacing(meter) - now)
        in_flight = self._all_in_flight(meter)
        for budget in (meter.score, meter.hourly):
            level = budget.projected(now)
            waits.append(
                admission_wait(level, budget.cost, budget.drain, in_flight, ceiling, weight)
            )
        return max(waits)

    def _spacing(self, meter: Meter) -> float:
        # Worked out at each check, so a drain learned since the last admission applies.
        # A batch of N spent N calls' worth: the drain takes N times as long to refill it.
        score = meter.score
        cost = score.cost * meter.admit_weight
        return spacing(meter.admit_level, cost, score.drain, self.slow_at, self.target)

    def observe(self, key: str, usage: Usage) -> None:
        """Feed the usage headers of a response (errors included) into ``key``'s meter.

        With a shared store the usage is also published: as the slot it came in is left,
        or at the next slot or :meth:`flush`.
        """
        meter = self.meter(key)
        meter.absorb(usage, self._now())
        meter.usage = usage
        if self.shared is not None:
            meter.outbox.append((usage, self._wall()))
            self._dirty.add(key)

    def block(self, key: str, seconds: float) -> None:
        """Hold every call on ``key`` for ``seconds`` (after a rate-limit error).

        With a shared store the block holds every process, from the next slot or
        :meth:`flush` of this one on.
        """
        meter = self.meter(key)
        meter.blocked_until = max(meter.blocked_until, self._now() + seconds)
        if self.shared is not None:
            meter.outbox_block = max(meter.outbox_block, self._wall() + seconds)
            self._dirty.add(key)

    # -- the shared store --------------------------------------------------------------------

    async def flush(self) -> None:
        """Publish every observation and block not yet in the shared store (no-op without)."""
        for key in list(self._dirty):
            await self._publish(key)

    def _usable(self) -> SharedPacing | None:
        if self.shared is None or self._now() < self._shared_down_until:
            return None
        return self.shared

    def _failed(self, operation: str, key: str, error: Exception) -> None:
        """Pace on local knowledge alone for a while: the shared store is advisory."""
        self._shared_down_until = self._now() + _SHARED_RETRY_S
        log.warning(
            "graph.pacing.shared_failed",
            operation=operation,
            key=key,
            error=f"{type(error).__name__}: {error}",
            retry_in_s=_SHARED_RETRY_S,
        )

    async def _refresh(self, key: str, meter: Meter) -> None:
        """Merge the shared record and leases in, if the last merge is older than the interval."""
        shared = self._usable()
        if shared is None or self._now() - meter.synced_at < self.sync_interval:
            return
        async with meter.reading:
            if self._now() - meter.synced_at < self.sync_interval:
                return  # another waiter just read it
            try:
                record, leases = await shared.read(key, self._wall())
            except Exception as error:
                self._failed("read", key, error)
                return
            self._merge(meter, record, leases)

    async def _acquire(self, key: str, meter: Meter, weight: int) -> str | None:
        shared = self._usable()
        if shared is None:
            return None
        lease = f"{self._owner}:{next(self._leases)}:{weight}"
        wall = self._wall()
        try:
            record, leases = await shared.acquire(key, lease, wall, wall + self.lease_seconds)
        except Exception as error:
            self._failed("acquire", key, error)
            return None
        self._merge(meter, record, leases)
        return lease

    async def _release(self, key: str, *leases: str) -> None:
        shared = self._usable()
        if shared is None:
            return
        try:
            await shared.release(key, leases)
        except Exception as error:
            self._failed("release", key, error)

    async def _publish(self, key: str, *, release: str | None = None) -> None:
        """Send ``key``'s outbox to the shared store, dropping the leases of the calls that
        ended (``release`` among them) in the same step.

        One publication per key at a time: what piles up meanwhile goes in the next one, so a
        burst of answers costs a few writes, and the store sees one writer per process. A
        call's lease is never dropped before the publication that holds its usage.
        """
        meter = self.meter(key)
        if release is not None:
            meter.releasing.append(release)
        async with meter.publishing:
            outbox, block, releasing = meter.outbox, meter.outbox_block, meter.releasing
            meter.outbox, meter.outbox_block, meter.releasing = [], 0.0, []
            self._dirty.discard(key)
            if not outbox and not block:
                if releasing:
                    await self._release(key, *releasing)
                return
            shared = self._usable()
            if shared is None:
                return  # advisory: the others learn it from their own responses
            try:
                record = await shared.update(
                    key, self._change(outbox, block), release=tuple(releasing)
                )
            except Exception as error:
                self._failed("update", key, error)
                return
        self._merge_record(meter, record)

    def _change(self, outbox: list[tuple[Usage, float]], block: float) -> Change:
        """How the shared record takes in this process's news (pure: it may be retried)."""

        def change(current: str | None) -> tuple[str, float]:
            levels = Levels.from_json(current) or Levels()
            for usage, seen_at in outbox:
                # At the time it was seen: what another process published may be newer, and
                # then this reading is a late one (Budget.observe).
                levels.absorb(usage, seen_at)
            levels.blocked_until = max(levels.blocked_until, block)
            return levels.to_json(), levels.horizon(self._wall()) + _RECORD_GRACE_S

        return change

    def _merge(self, meter: Meter, record: str | None, leases: list[str]) -> None:
        self._merge_record(meter, record)
        meter.remote_in_flight = sum(self._weight(lease) for lease in leases)
        meter.synced_at = self._now()

    def _weight(self, lease: str) -> int:
        """The weight of another process's lease (0 for this process's own, counted locally)."""
        owner, _, rest = lease.partition(":")
        if owner == self._owner:
            return 0
        try:
            return max(1, int(rest.rpartition(":")[2]))
        except ValueError:
            return 1

    def _merge_record(self, meter: Meter, record: str | None) -> None:
        levels = Levels.from_json(record)
        if levels is None:
            return
        now = self._now()
        theirs = levels.shifted(now - self._wall())
        meter.score.merge(theirs.score, now)
        meter.hourly.merge(theirs.hourly, now)
        meter.tier = theirs.tier or meter.tier
        meter.blocked_until = max(meter.blocked_until, theirs.blocked_until)
