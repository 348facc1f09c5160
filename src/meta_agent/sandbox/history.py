"""When campaigns, ad sets and ads could deliver: their status and review history over time.

Pausing a campaign stops its future spend without erasing its past, so delivery is decided
by what each object's status *was* at each moment, not by what it is now. Every write the
sandbox serves passes :func:`note_write` (from ``activities.recording``), which appends to
two lists kept on the record itself, so they save and load with it (``--state FILE``):

- ``status_history``: ``[[time, status], ...]``, oldest first, one entry per change of the
  configured status (ACTIVE, PAUSED, ARCHIVED, DELETED);
- ``review_history`` (ads): ``[[from, until], ...]``, each review the ad went through.

A record written before these lists existed, or put straight into the state, reads as having
had its current status (and review) since its creation, which is what the sandbox assumed
before it kept a history.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

Record = dict[str, Any]
Interval = tuple[float, float]
STATUS_HISTORY = "status_history"
REVIEW_HISTORY = "review_history"
TRACKED_KINDS = frozenset({"campaign", "adset", "ad"})
_ALWAYS = (float("-inf"), float("inf"))


def note_write(before: Record | None, after: Record, now: float) -> None:
    """Record ``after``'s status and review changes made at ``now`` (``before`` None: created)."""
    if after.get("kind") not in TRACKED_KINDS:
        return
    if before is None:
        after[STATUS_HISTORY] = [[now, str(after.get("status", "ACTIVE"))]]
        if after.get("review_until") is not None:
            after[REVIEW_HISTORY] = [[now, float(after["review_until"])]]
        return
    status = str(after.get("status", "ACTIVE"))
    if status != str(before.get("status", "ACTIVE")):
        after[STATUS_HISTORY] = [*status_history(before), [now, status]]
    review = after.get("review_until")
    if review is not None and review != before.get("review_until"):
        after[REVIEW_HISTORY] = [*review_history(before), [now, float(review)]]


def status_history(record: Record) -> list[list[Any]]:
    """The record's ``[[time, status], ...]``, or its current status since its creation."""
    kept = record.get(STATUS_HISTORY)
    if kept:
        return [list(entry) for entry in kept]
    return [[_created(record), str(record.get("status", "ACTIVE"))]]


def review_history(record: Record) -> list[list[float]]:
    """The ad's ``[[from, until], ...]`` reviews, or its current review from its creation."""
    kept = record.get(REVIEW_HISTORY)
    if kept:
        return [[float(low), float(high)] for low, high in kept]
    until = record.get("review_until")
    return [] if until is None else [[_created(record), float(until)]]


def active_intervals(record: Record) -> list[Interval]:
    """The half-open spans of time in which the record's own status was ACTIVE."""
    history = status_history(record)
    out: list[Interval] = []
    for index, (since, status) in enumerate(history):
        until = float(history[index + 1][0]) if index + 1 < len(history) else float("inf")
        if status == "ACTIVE" and until > float(since):
            out.append((float(since), until))
    return out


def delivery_intervals(chain: Sequence[Record], window: Interval) -> list[Interval]:
    """When an ad could deliver: every object of its ``chain`` ACTIVE, inside ``window``,
    and the ad not in review."""
    spans: list[Interval] = [window]
    for record in chain:
        spans = intersect(spans, active_intervals(record))
    for record in chain:
        reviews = [(low, high) for low, high in review_history(record)]
        spans = subtract(spans, reviews)
    return spans


def intersect(left: Iterable[Interval], right: Iterable[Interval]) -> list[Interval]:
    """The spans in both sorted lists of disjoint spans."""
    out: list[Interval] = []
    right = list(right)
    for low, high in left:
        for other_low, other_high in right:
            start, end = max(low, other_low), min(high, other_high)
            if end > start:
                out.append((start, end))
    return sorted(out)


def subtract(spans: Iterable[Interval], holes: Iterable[Interval]) -> list[Interval]:
    """``spans`` less every hole."""
    out = list(spans)
    for hole_low, hole_high in holes:
        kept: list[Interval] = []
        for low, high in out:
            if hole_high <= low or high <= hole_low:
                kept.append((low, high))
                continue
            if low < hole_low:
                kept.append((low, hole_low))
            if hole_high < high:
                kept.append((hole_high, high))
        out = kept
    return out


def _created(record: Record) -> float:
    created = record.get("created_time")
    return float(created) if created is not None else _ALWAYS[0]
