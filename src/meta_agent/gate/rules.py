"""The policy's rules over one write, as a pure function: refusals, holds and commitments.

:func:`judge` sees a write exactly as it goes on the wire (Meta's field names, amounts as the
strings Meta receives), the object it touches as it is now (for updates) and the account's
policy in its currency. It returns what to refuse, what to hold for an approval, and the daily
money the write commits (a new budget, a raise), which the gate then reserves against the
account's daily total. No I/O here, so every rule is tested without a server.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from meta_agent.errors import PolicyViolationError
from meta_agent.gate.policy import AccountPolicy, money, over_limit
from meta_agent.graph.guard import Write

DAY = 86_400
ACTIVE = "ACTIVE"
STATUS_FIELDS = ("status", "configured_status")
BUDGETS = ("daily_budget", "lifetime_budget")
MONEY_FIELDS = (*BUDGETS, "spend_cap", "bid_amount")


@dataclass(frozen=True)
class Subject:
    """What the gate knows of the object a write touches."""

    account_id: str
    currency: str
    kind: str
    """``campaign``, ``adset``, ``ad``, ``adcreative``, ``adimage``, ``advideo``, ``report``..."""
    object_key: str
    """The object's id, or ``new:<name>`` for a create."""
    creating: bool
    current: Mapping[str, object] = field(default_factory=dict)
    """Its values now (updates): ``daily_budget``, ``lifetime_budget``, schedule, status."""
    schedule_days: int | None = None
    """Days a lifetime budget is spread over, when the write or the object says."""
    day_start: Mapping[str, int] = field(default_factory=dict)
    """Each budget's value before its first change today (from the ledger)."""


@dataclass(frozen=True)
class Hold:
    """A write policy lets through only with an approval."""

    rule: str
    message: str


@dataclass(frozen=True)
class Commitment:
    """Daily money a write adds: ``added`` per day (minor units)."""

    field: str
    before: int | None
    after: int
    added: int


@dataclass
class Verdict:
    """What :func:`judge` decided for one write."""

    refusals: list[PolicyViolationError] = field(default_factory=list)
    holds: list[Hold] = field(default_factory=list)
    commitments: list[Commitment] = field(default_factory=list)


def judge(write: Write, subject: Subject, policy: AccountPolicy) -> Verdict:
    """Every rule of ``policy`` over ``write``."""
    verdict = Verdict()
    if write.method == "DELETE" or subject.kind == "report":
        return verdict
    _activation(write, policy, verdict)
    _objective(write, subject, policy, verdict)
    for name in BUDGETS:
        amount = amount_of(write, name)
        if amount is not None:
            _budget(name, amount, write, subject, policy, verdict)
    _ceiling(write, subject, "spend_cap", policy.max_spend_cap, verdict)
    _ceiling(write, subject, "bid_amount", policy.max_bid_amount, verdict)
    return verdict


def amount_of(write: Write, name: str) -> int | None:
    """A money field of the write as an integer (None when absent or not a number)."""
    raw = write.params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(Decimal(raw))
    except (ArithmeticError, ValueError):
        return None


def activates(write: Write) -> bool:
    """Whether the write sets the object ACTIVE (any status field)."""
    return any(write.params.get(name, "").strip('"').upper() == ACTIVE for name in STATUS_FIELDS)


def schedule_days(start: object, end: object) -> int | None:
    """Whole days (rounded up, at least 1) between two Graph times, None if either is missing."""
    begin, finish = _time(start), _time(end)
    if begin is None or finish is None:
        return None
    return max(1, math.ceil((finish - begin).total_seconds() / DAY))


def _activation(write: Write, policy: AccountPolicy, verdict: Verdict) -> None:
    if policy.activation_requires_approval and activates(write):
        verdict.holds.append(
            Hold(
                "activation_requires_approval",
                f"{write.path}: setting it ACTIVE needs an approval on this account",
            )
        )


def _objective(write: Write, subject: Subject, policy: AccountPolicy, verdict: Verdict) -> None:
    objective = write.params.get("objective")
    allowed = policy.allowed_objectives
    if objective and allowed is not None and objective not in allowed:
        verdict.refusals.append(
            PolicyViolationError(
                f"objective: {objective} is not allowed on {subject.account_id}; allowed: "
                f"{', '.join(sorted(allowed))}",
                field="objective",
                limit="allowed_objectives",
                allowed=sorted(allowed),
                requested=objective,
            )
        )
    categories = _categories(write.params.get("special_ad_categories"))
    permitted = policy.allowed_special_ad_categories
    refused = sorted(set(categories) - set(permitted)) if permitted is not None else []
    if refused:
        verdict.refusals.append(
            PolicyViolationError(
                f"special_ad_categories: {', '.join(refused)} not allowed on {subject.account_id}",
                field="special_ad_categories",
                limit="allowed_special_ad_categories",
                allowed=sorted(permitted or ()),
                requested=refused,
            )
        )


def _budget(
    name: str,
    amount: int,
    write: Write,
    subject: Subject,
    policy: AccountPolicy,
    verdict: Verdict,
) -> None:
    per_day = amount
    if name == "lifetime_budget":
        _over(verdict, subject, name, amount, policy.max_lifetime_budget, "max_lifetime_budget")
        days = subject.schedule_days or 1
        per_day = math.ceil(amount / days)
    label = f"{name} per day" if name == "lifetime_budget" else name
    _over(verdict, subject, label, per_day, policy.max_daily_budget, "max_daily_budget")
    threshold = policy.approval_above_daily_budget
    if threshold is not None and per_day > threshold:
        verdict.holds.append(
            Hold(
                "approval_above_daily_budget",
                f"{name}: {money(per_day, subject.currency)} a day is above "
                f"{money(threshold, subject.currency)}, which needs an approval",
            )
        )
    before = None if subject.creating else _int(subject.current.get(name))
    _increase(name, before, amount, subject, policy, verdict)
    before_per_day = _per_day(before, subject) if name == "lifetime_budget" else before
    added = per_day - (before_per_day or 0)
    verdict.commitments.append(Commitment(name, before, amount, max(0, added)))


def _increase(
    name: str,
    before: int | None,
    after: int,
    subject: Subject,
    policy: AccountPolicy,
    verdict: Verdict,
) -> None:
    checks = [(before, policy.max_increase_pct, "max_increase_pct", "one change")]
    start = subject.day_start.get(name, before)
    checks.append((start, policy.max_daily_increase_pct, "max_daily_increase_pct", "a day"))
    for base, cap, rule, span in checks:
        if cap is None or base is None or base <= 0 or after <= base:
            continue
        allowed = int(base * (1 + cap / 100))
        if after <= allowed:
            continue
        message = (
            f"{name}: raising {money(base, subject.currency)} to "
            f"{money(after, subject.currency)} is {_pct(base, after)}% more; {subject.account_id} "
            f"allows at most {cap}% in {span} (up to {money(allowed, subject.currency)})"
        )
        if policy.increases_beyond_limit == "approve":
            verdict.holds.append(Hold(rule, message))
            continue
        verdict.refusals.append(
            PolicyViolationError(
                f"{message}. Raise it in steps, or change the policy.",
                field=name,
                limit=rule,
                allowed=allowed,
                requested=after,
                excess=after - allowed,
                currency=subject.currency,
            )
        )


def _ceiling(
    write: Write, subject: Subject, name: str, limit: int | None, verdict: Verdict
) -> None:
    amount = amount_of(write, name)
    if amount is not None:
        _over(verdict, subject, name, amount, limit, f"max_{name}")


def _over(
    verdict: Verdict, subject: Subject, name: str, amount: int, limit: int | None, rule: str
) -> None:
    if limit is None or amount <= limit:
        return
    verdict.refusals.append(
        over_limit(
            name.split()[0],
            rule,
            amount,
            limit,
            subject.currency,
            whose=f"{subject.account_id}'s",
            unit=" a day" if "per day" in name else "",
        )
    )


def _per_day(amount: int | None, subject: Subject) -> int | None:
    if amount is None:
        return None
    return math.ceil(amount / (subject.schedule_days or 1))


def _categories(raw: str | None) -> list[str]:
    if not raw:
        return []
    try:
        loaded = json.loads(raw)
    except ValueError:
        return [raw]
    return [str(item) for item in loaded] if isinstance(loaded, list) else [str(loaded)]


def _int(value: object) -> int | None:
    if isinstance(value, bool) or value is None or value == "":
        return None
    try:
        return int(Decimal(str(value)))
    except (ArithmeticError, ValueError):
        return None


def _time(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value).astimezone()
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromtimestamp(float(value)).astimezone()  # a Unix time, as sent
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00").replace("+0000", "+00:00"))
    except ValueError:
        return None


def _pct(before: int, after: int) -> Decimal:
    return ((Decimal(after) - before) * 100 / before).quantize(Decimal("0.1"))
