"""The write gate: the one place every write to Meta is admitted or refused.

It is the Graph client's :class:`~meta_agent.graph.guard.WriteGuard`, so it sees each write
exactly as it goes on the wire (a batch item by item), whichever workflow, agent, bulk item,
optimizer action, activation, rollback or resume made it. For each write it works out the ad
account it touches (from the path, from another item of the same batch, or by asking Meta who
owns the object, remembered for good since an object never changes account), then:

1. **principal**: the principal bound to the running task (:mod:`meta_agent.principals`) must
   hold that account, else :class:`AccessDeniedError`; no principal at all, no write;
2. **policy**: :func:`~meta_agent.gate.rules.judge` with the account's policy in its
   currency; a refusal raises :class:`PolicyViolationError` naming the rule and the excess;
3. **approvals**: writes the policy holds (activation, budgets above a threshold, increases
   past a limit) go only if an approval granted for this workflow names them exactly; else
   :class:`ApprovalRequiredError` carries the exact diff, and the workflow waits;
4. **daily total**: the money each write commits per day is reserved in the ledger against
   ``max_account_daily_total``, atomically, so concurrent workers cannot both slip under it.

Dry runs (``validate_only``) are judged too, but neither held nor counted.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import structlog

from meta_agent.cache import Cache
from meta_agent.errors import (
    AccessDeniedError,
    ApprovalRequiredError,
    InvalidParameterError,
    PolicyViolationError,
)
from meta_agent.gate.policy import AccountPolicy, PolicyBook, money
from meta_agent.gate.rules import (
    MONEY_FIELDS,
    Commitment,
    Subject,
    Verdict,
    judge,
    schedule_days,
)
from meta_agent.graph.client import GraphClient
from meta_agent.graph.guard import Write
from meta_agent.principals import Principal, current_principal, current_workflow
from meta_agent.store.journal import ApprovalStatus, JournalStore, LedgerEntry

log = structlog.get_logger("meta_agent.gate")

OWNER_TTL = 30 * 86_400.0
CURRENCY_TTL = 86_400.0
_KINDS = {
    "campaigns": "campaign",
    "adsets": "adset",
    "ads": "ad",
    "adcreatives": "adcreative",
    "adimages": "adimage",
    "advideos": "advideo",
    "insights": "report",
}
# What an update's money rules need to read, per kind (Meta refuses fields a kind lacks).
_CURRENT = {
    "adset": "account_id,daily_budget,lifetime_budget,bid_amount,start_time,end_time",
    "campaign": "account_id,daily_budget,lifetime_budget,spend_cap,start_time,stop_time",
}


@dataclass(frozen=True)
class Owner:
    """Which account an object belongs to, and what it is (``unknown`` until needed)."""

    account_id: str
    kind: str = "unknown"


@dataclass(frozen=True)
class Judged:
    """One write with what the gate found and decided."""

    write: Write
    subject: Subject
    policy: AccountPolicy
    verdict: Verdict


class WriteGate:
    """Admits or refuses every write a :class:`GraphClient` sends (install with :meth:`install`)."""

    def __init__(
        self,
        graph: GraphClient,
        store: JournalStore,
        cache: Cache,
        policies: PolicyBook,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.graph = graph
        self.store = store
        self.cache = cache
        self.policies = policies
        self.now = now
        self.admitted = 0
        self.refused = 0
        self.currency_of: Callable[[str], Awaitable[str]] = self._read_currency
        """How the gate learns an account's currency (the Env shares its cached reads)."""

    def install(self) -> WriteGate:
        """Make this gate the client's write guard: from now on no write bypasses it."""
        self.graph.requestor.guard = self
        return self

    async def admit(self, writes: Sequence[Write]) -> None:
        """Let ``writes`` go, or raise; nothing is sent unless every one passes.

        Raises:
            AccessDeniedError: no principal, or an account outside the principal's.
            PolicyViolationError: a write breaks the account's policy (named rule, excess).
            ApprovalRequiredError: policy holds writes that no granted approval names.
        """
        principal = _principal(writes)
        try:
            judged = await self._judge_all(principal, writes)
            await self._check_holds(judged)
            await self._reserve(judged)
        except Exception:
            self.refused += len(writes)
            raise
        self.admitted += len(writes)

    async def settled(self, writes: Sequence[Write], body: Any) -> None:
        """Remember who owns what the writes created (their ids are in the answer)."""
        for write, answer in _answers(writes, body):
            created = None
            if isinstance(answer, Mapping):
                # A chunked video upload's start answers video_id (and no id).
                created = answer.get("id") or answer.get("video_id")
            kind = _KINDS.get(write.edge or "")
            if isinstance(created, str) and kind and write.target.startswith("act_"):
                await self._remember(created, Owner(write.target, kind))

    async def _judge_all(self, principal: Principal, writes: Sequence[Write]) -> list[Judged]:
        named: dict[str, Owner] = {}
        judged = []
        for write in writes:
            owner = await self._owner(write, named)
            if write.name:
                named[write.name] = owner
            if not principal.allows_account(owner.account_id):
                raise _denied(principal, owner.account_id, write)
            judged.append(await self._judge(write, owner, writes))
        return judged

    async def _judge(self, write: Write, owner: Owner, batch: Sequence[Write]) -> Judged:
        currency = await self.currency_of(owner.account_id)
        policy = self.policies.for_account(owner.account_id, currency)
        subject = await self._subject(write, owner, currency, batch)
        verdict = judge(write, subject, policy)
        if verdict.refusals:
            refusal = verdict.refusals[0]
            refusal.details.update(account_id=owner.account_id, path=write.path)
            log.warning("gate.write.refused", path=write.path, rule=refusal.details.get("limit"))
            raise refusal
        return Judged(write, subject, policy, verdict)

    async def _subject(
        self, write: Write, owner: Owner, currency: str, batch: Sequence[Write]
    ) -> Subject:
        creating = write.edge is not None and write.method == "POST"
        kind = _KINDS.get(write.edge or "", write.edge or "") if creating else owner.kind
        current: Mapping[str, Any] = {}
        touches_money = any(name in write.params for name in MONEY_FIELDS)
        if not creating and touches_money and write.method == "POST":
            kind, current = await self._current(write.target, owner)
        params = {**current, **write.params}
        days = schedule_days(params.get("start_time"), params.get("end_time"))
        days = days or schedule_days(params.get("start_time"), params.get("stop_time"))
        if days is None and creating and kind == "campaign":
            days = _longest_child_schedule(write, batch)
        key = f"new:{write.params.get('name', write.path)}" if creating else write.target
        subject = Subject(owner.account_id, currency, kind, key, creating, current, days)
        if creating or not touches_money:
            return subject
        return replace(subject, day_start=await self._day_start(subject))

    async def _day_start(self, subject: Subject) -> dict[str, int]:
        out = {}
        for name in ("daily_budget", "lifetime_budget"):
            first = await self.store.first_budget_today(
                subject.account_id, self._day(), subject.object_key, name
            )
            if first is not None:
                out[name] = first
        return out

    async def _check_holds(self, judged: Sequence[Judged]) -> None:
        held = [j for j in judged if j.verdict.holds and not j.write.validate_only]
        if not held:
            return
        granted = await self._granted()
        waiting = [j for j in held if fingerprint(j.write) not in granted]
        if waiting:
            raise _approval_required(waiting)

    async def _granted(self) -> set[str]:
        workflow_id = current_workflow()
        if workflow_id is None:
            return set()
        approvals = await self.store.approvals_of(workflow_id)
        return {
            print_
            for approval in approvals
            if approval.status is ApprovalStatus.APPROVED
            for print_ in approval.fingerprints
        }

    async def _reserve(self, judged: Sequence[Judged]) -> None:
        """Enter every new or raised budget in the day's ledger, all in one transaction,
        or none of them when one would pass the account's daily total."""
        day = self._day()
        reserved: list[tuple[Judged, LedgerEntry]] = [
            (item, self._entry(item, commitment, day))
            for item in judged
            if not item.write.validate_only
            for commitment in item.verdict.commitments
        ]
        if not reserved:
            return
        caps = [(entry, item.policy.max_account_daily_total) for item, entry in reserved]
        refused, totals = await self.store.reserve_budgets(caps)
        if refused is not None:
            item, entry = reserved[refused]
            raise _over_total(item, entry, totals[refused], caps[refused][1] or 0)

    @staticmethod
    def _entry(item: Judged, commitment: Commitment, day: str) -> LedgerEntry:
        return LedgerEntry(
            key=_ledger_key(item, commitment.field, commitment.after, day),
            account_id=item.subject.account_id,
            day=day,
            object_key=item.subject.object_key,
            field=commitment.field,
            before=commitment.before,
            after=commitment.after,
            added=commitment.added,
        )

    async def _owner(self, write: Write, named: Mapping[str, Owner]) -> Owner:
        target = write.target
        if target.startswith("act_"):
            return Owner(target, "adaccount")
        if target.startswith("{result="):
            name = target.removeprefix("{result=").split(":", 1)[0]
            if name in named:
                return named[name]
            raise AccessDeniedError(
                f"{write.path}: refers to a batch item outside this request, so its account "
                "cannot be checked",
                path=write.path,
            )
        cached = await self.cache.get(f"gate:owner:{target}")
        if isinstance(cached, Mapping):
            return Owner(str(cached["account_id"]), str(cached.get("kind", "unknown")))
        body = await self.graph.get(target, {"fields": "account_id"})
        account = str(body.get("account_id", "")) if isinstance(body, Mapping) else ""
        if not account:
            raise AccessDeniedError(
                f"{write.path}: Meta names no ad account for {target}; meta-agent writes only "
                "to objects of ad accounts",
                path=write.path,
            )
        owner = Owner(account if account.startswith("act_") else f"act_{account}")
        await self._remember(target, owner)
        return owner

    async def _current(self, object_id: str, owner: Owner) -> tuple[str, Mapping[str, Any]]:
        kinds = [owner.kind] if owner.kind in _CURRENT else list(_CURRENT)
        for kind in kinds:
            try:
                body = await self.graph.get(object_id, {"fields": _CURRENT[kind]})
            except InvalidParameterError:
                continue  # not this kind: Meta refuses the fields it lacks
            if owner.kind != kind:
                await self._remember(object_id, Owner(owner.account_id, kind))
            return kind, body if isinstance(body, Mapping) else {}
        return owner.kind, {}

    async def _read_currency(self, account_id: str) -> str:
        key = f"gate:currency:{account_id}"
        cached = await self.cache.get(key)
        if isinstance(cached, str):
            return cached
        body = await self.graph.get(account_id, {"fields": "currency"})
        currency = str(body.get("currency") or "USD") if isinstance(body, Mapping) else "USD"
        await self.cache.set(key, currency, CURRENCY_TTL)
        return currency

    async def _remember(self, object_id: str, owner: Owner) -> None:
        value = {"account_id": owner.account_id, "kind": owner.kind}
        await self.cache.set(f"gate:owner:{object_id}", value, OWNER_TTL)

    def _day(self) -> str:
        return self.now().astimezone(UTC).date().isoformat()


def fingerprint(write: Write) -> str:
    """What an approval names: the write's method, path and parameters, hashed."""
    body = json.dumps(
        [write.method, write.path, sorted(write.params.items())], separators=(",", ":")
    )
    return hashlib.sha256(body.encode()).hexdigest()[:32]


def _principal(writes: Sequence[Write]) -> Principal:
    principal = current_principal()
    if principal is None:
        raise AccessDeniedError(
            f"{writes[0].method} {writes[0].path}: no principal is bound, so no write goes out; "
            "run it through MetaAgentService or Orchestrator.execute",
            path=writes[0].path,
        )
    return principal


def _denied(principal: Principal, account_id: str, write: Write) -> AccessDeniedError:
    log.warning("gate.write.denied", principal=principal.id, account=account_id)
    accounts = ", ".join(sorted(principal.accounts))
    return AccessDeniedError(
        f"{principal.label} may not write to ad account {account_id} ({write.method} "
        f"{write.path}); its accounts are {accounts}",
        principal=principal.id,
        account=account_id,
        path=write.path,
    )


def _approval_required(waiting: Sequence[Judged]) -> ApprovalRequiredError:
    rules = sorted({hold.rule for j in waiting for hold in j.verdict.holds})
    account = waiting[0].subject.account_id
    diff = [
        {
            **j.write.to_dict(),
            "currency": j.subject.currency,  # its budgets are this currency's minor units
            "holds": [hold.message for hold in j.verdict.holds],
        }
        for j in waiting
    ]
    reasons = "; ".join(dict.fromkeys(h.message for j in waiting for h in j.verdict.holds))
    return ApprovalRequiredError(
        f"{len(waiting)} write(s) on {account} wait for an approval ({', '.join(rules)}): "
        f"{reasons}",
        account_id=account,
        rules=rules,
        diff=diff,
        fingerprints=[fingerprint(j.write) for j in waiting],
        ttl_hours=waiting[0].policy.approval_ttl_hours,
    )


def _over_total(item: Judged, entry: LedgerEntry, total: int, cap: int) -> PolicyViolationError:
    currency = item.subject.currency
    excess = total + entry.added - cap
    return PolicyViolationError(
        f"{entry.field}: {money(entry.added, currency)} more a day would bring "
        f"{entry.account_id}'s new and raised budgets today to "
        f"{money(total + entry.added, currency)}, over its max_account_daily_total of "
        f"{money(cap, currency)} by {money(excess, currency)}",
        field=entry.field,
        limit="max_account_daily_total",
        allowed=cap,
        requested=total + entry.added,
        excess=excess,
        currency=currency,
        account_id=entry.account_id,
    )


def _ledger_key(item: Judged, field: str, after: int, day: str) -> str:
    raw = f"{item.subject.account_id}|{day}|{item.subject.object_key}|{field}|{after}"
    return hashlib.sha256(raw.encode()).hexdigest()[:40]


def _longest_child_schedule(campaign: Write, batch: Sequence[Write]) -> int | None:
    """A campaign budget's days: the longest schedule among its ad sets in the same batch."""
    if not campaign.name:
        return None
    reference = f"{{result={campaign.name}:"
    days = [
        found
        for write in batch
        if write.params.get("campaign_id", "").startswith(reference)
        and (found := schedule_days(write.params.get("start_time"), write.params.get("end_time")))
    ]
    return max(days) if days else None


def _answers(writes: Sequence[Write], body: Any) -> list[tuple[Write, Any]]:
    if not isinstance(body, list):
        return [(writes[0], body)] if len(writes) == 1 and writes[0].slot is None else []
    out = []
    for write in writes:
        slot = body[write.slot] if write.slot is not None and write.slot < len(body) else None
        if isinstance(slot, Mapping) and isinstance(slot.get("body"), str):
            try:
                out.append((write, json.loads(slot["body"])))
            except ValueError:
                continue
    return out
