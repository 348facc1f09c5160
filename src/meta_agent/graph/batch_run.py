"""Running a batch: rounds of chunks, and per-item retries under the client's retry policy.

Each round first settles what needs no request: an item whose dependency failed gets
:class:`DependencyFailedError`, and references to items answered in an earlier round are
replaced by their real values. The items that are due are packed into chunks of at most 50
with every dependency chain inside one chunk (:func:`plan_chunks`) and the chunks are sent
concurrently, each paced as many calls as it has items. When nothing is due, the run sleeps
(on the requestor's injectable sleep) until the earliest item is.

Retrying an item
----------------
Every item that did not succeed is judged on its own by the pure
:func:`~meta_agent.graph.retry.decide`, the same policy as a standalone call: never codes 100,
190, 200-299 or 2635, never a write whose outcome is unknown, attempts and total time capped
(the total counted from the start of the run). What it decides applies to that item only:

* a ``null`` slot (Meta did not run the item) counts as a transient "no answer";
* rate limited: the item waits exactly what Meta advertised (``estimated_time_to_regain_access``
  or the score's reset), else the policy's rate-limit delay, and the pacer is blocked for the
  item's account for as long, so the client's other calls on it wait too;
* transient (codes 1, 2, 960, ...): jittered exponential backoff;
* an item that Meta aborted only because a dependency of its own is going again (960
  "Request aborted", or ``null``) is not failed: it goes again with that dependency, in the
  same chunk, without spending an attempt, and its references are filled from the new answer.

Only items that got no success are ever sent again: an item with a success answer is settled
for good and its body feeds the references of the items after it.

Why re-sending a write cannot apply it twice
--------------------------------------------
A write (POST, DELETE) is re-sent only after an answer that says it was not applied:

1. ``null``: Meta reports that it did not complete the item; its documented remedy (and the
   SDKs') is to send those items again.
2. A Graph error envelope in the item's slot. Each item is a request of its own inside the
   batch, and its slot is Meta's answer to it, exactly as a standalone error response is: an
   error answer means the operation did not take effect. That holds for the transient codes
   (1 "unknown error" and 2 "temporarily unavailable" arrive in an envelope, which standalone
   calls retry too) and for rate limits (the call was refused before it ran).

Everything else that fails a write is an unknown outcome, and :func:`decide` never retries it:
a slot that failed without an envelope (a 5xx or a body that is not JSON: something broke
after Meta may have run the item), and a batch whose answer was lost as a whole (the
connection dropped after the request went out). Those surface as
:class:`OutcomeUnknownError` for the caller to reconcile. A read has no such risk: a read
whose batch answer was lost is simply re-sent.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import structlog

from meta_agent.errors import (
    ApiError,
    DependencyFailedError,
    MetaAgentError,
    OutcomeUnknownError,
    RateLimitedError,
    RequestValidationError,
    TransientError,
    UsageError,
)
from meta_agent.graph.batch_plan import plan_chunks
from meta_agent.graph.batch_results import BatchResults, ItemResult, item_result
from meta_agent.graph.batch_wire import BatchItem, account_key, open_slot, substitute, wire_item
from meta_agent.graph.requestor import Admitted, CallOptions, Requestor, template
from meta_agent.graph.retry import RetryPolicy, decide
from meta_agent.graph.transport import FileField
from meta_agent.graph.usage import parse_usage

log = structlog.get_logger("meta_agent.graph")


@dataclass(frozen=True)
class _Chunk:
    """One chunk of a round, encoded and admitted by the write guard, ready to send."""

    items: list[BatchItem]
    params: dict[str, Any]
    files: dict[str, FileField]
    options: CallOptions
    admitted: Admitted


class BatchRun:
    """One run of a batch: what is answered, what waits and until when, what to send next."""

    def __init__(
        self,
        requestor: Requestor,
        items: Sequence[BatchItem],
        *,
        max_size: int,
        concurrency: int,
        policy: RetryPolicy,
    ) -> None:
        self.requestor = requestor
        self.items = list(items)
        self.max_size = max_size
        self.policy = policy
        self.by_name = {item.name: item for item in self.items if item.name}
        self.results: dict[int, ItemResult] = {}
        self.attempts: Counter[int] = Counter()
        self.not_before: dict[int, float] = {}
        self.gate = asyncio.Semaphore(concurrency)
        self.started = requestor.now()
        self.calls = self.rounds = self.resent = 0
        self._sent: set[int] = set()

    async def run(self) -> BatchResults:
        """Send rounds until every item has its result."""
        while True:
            ready = self._ready()
            if ready:
                await self._round(ready)
            elif (wake := self._wake_at()) is not None:
                await self.requestor.sleep(max(0.0, wake - self.requestor.now()))
            else:
                return BatchResults(self.items, self.results, self.calls, self.rounds, self.resent)

    async def _round(self, ready: list[BatchItem]) -> None:
        """Send the round's chunks together, each first encoded and admitted by the guard.

        Admitting every chunk before sending any keeps the guard's work (which scales with
        the items) from staggering the sends: they all go at once, one round trip. Should the
        guard refuse a chunk, the chunks it admitted before are still sent (their writes were
        let through), the rest are not, and the refusal is raised.
        """
        self.rounds += 1
        admitted: list[_Chunk] = []
        refusal: UsageError | None = None
        for chunk in plan_chunks(ready, self.max_size):
            try:
                admitted.append(await self._admit(chunk))
            except UsageError as error:
                refusal = error
                break
        await asyncio.gather(*(self._send(chunk) for chunk in admitted))
        if refusal is not None:
            raise refusal

    def _ready(self) -> list[BatchItem]:
        """Settle what needs no request; the items due now, with answered references filled.

        An item is due when its wait (if any) is over and each dependency is answered or due
        in this round too. Items are visited in the order added, so dependencies come first.
        """
        now = self.requestor.now()
        ready: list[BatchItem] = []
        going: set[str | None] = set()
        for item in self.items:
            if item.index in self.results:
                continue
            if self._failed_dependency(item) is not None:
                self.results[item.index] = self._dependency_failed(item)
                continue
            if self.not_before.get(item.index, now) > now or not self._deps_due(item, going):
                continue
            try:
                ready.append(self._fill(item))
            except RequestValidationError as error:
                self.results[item.index] = ItemResult(False, error=error)
                continue
            going.add(item.name)
        return ready

    def _deps_due(self, item: BatchItem, going: set[str | None]) -> bool:
        return all(self._result(name) is not None or name in going for name in item.depends_on)

    def _wake_at(self) -> float | None:
        """When the next item is due (None when every item has its result).

        An item is due at its own wait's end or, if later, when its pending dependencies are.
        """
        due: dict[str, float] = {}
        for item in self.items:
            if item.index in self.results:
                continue
            waits = [due[name] for name in item.depends_on if name in due]
            due[item.name or f"#{item.index}"] = max([self.not_before.get(item.index, 0.0), *waits])
        return min(due.values()) if due else None

    def _fill(self, item: BatchItem) -> BatchItem:
        answered = {
            name: result.body
            for name in item.depends_on
            if (result := self._result(name)) is not None and result.ok
        }
        if not answered:
            return item
        params = {key: substitute(value, answered) for key, value in item.params.items()}
        return replace(item, path=substitute(item.path, answered), params=params)

    async def _admit(self, items: list[BatchItem]) -> _Chunk:
        entries, files = self._encode(items)
        options = CallOptions(account=self._account(items), weight=len(items))
        params = {"batch": entries, "include_headers": "true"}
        admitted = await self.requestor.admit("POST", "", params, options)
        return _Chunk(items, params, files, options, admitted)

    async def _send(self, chunk: _Chunk) -> None:
        async with self.gate:
            self.calls += 1
            try:
                response = await self.requestor.call(
                    "POST",
                    "",
                    chunk.params,
                    files=chunk.files or None,
                    options=chunk.options,
                    admitted=chunk.admitted,
                )
            except MetaAgentError as error:
                self._lost(chunk.items, error)
                return
        self._settle(chunk.items, response.body)

    def _encode(self, chunk: list[BatchItem]) -> tuple[list[dict[str, Any]], dict[str, FileField]]:
        names = {item.name for item in chunk if item.name}
        files: dict[str, FileField] = {}
        entries = []
        for item in chunk:
            parts = {f"file{item.index}_{n}": part for n, part in enumerate(item.files.values())}
            files.update(parts)
            entries.append(wire_item(item, names, list(parts)))
            self.resent += item.index in self._sent
            self._sent.add(item.index)
        return entries, files

    @staticmethod
    def _account(chunk: list[BatchItem]) -> str | None:
        """The account most of the chunk's items draw on: the one the request is paced by."""
        accounts = Counter(key for item in chunk if (key := account_key(item.path)) != "app")
        return accounts.most_common(1)[0][0] if accounts else None

    def _settle(self, chunk: list[BatchItem], slots: Any) -> None:
        if not isinstance(slots, list) or len(slots) != len(chunk):
            lost = OutcomeUnknownError(f"The batch answer does not hold {len(chunk)} slots")
            self._lost(chunk, lost)
            return
        for item, slot in zip(chunk, slots, strict=True):
            self._judge(item, self._answer(item, slot) if isinstance(slot, Mapping) else None)

    def _answer(self, item: BatchItem, slot: Mapping[str, Any]) -> ItemResult:
        status, headers, body = open_slot(slot)
        usage = parse_usage(headers)
        if headers:
            self.requestor.pacer.observe(self._pacing_key(item), usage)
        return item_result(status, body, usage.blocked_for, item)

    def _judge(self, item: BatchItem, result: ItemResult | None) -> None:
        """Settle one item from its slot (``None``: no answer), or schedule it to go again."""
        if result is not None and result.ok:
            self.results[item.index] = result
        elif self._failed_dependency(item) is not None:
            # Meta answers 960 "Request aborted" here; say why instead.
            seen = result.error if result is not None else None
            self.results[item.index] = self._dependency_failed(item, seen)
        elif any(self._result(name) is None for name in item.depends_on):
            return  # aborted only because a dependency goes again: it goes with it
        else:
            self._retry_or_fail(item, result)

    def _retry_or_fail(self, item: BatchItem, result: ItemResult | None) -> None:
        """Ask :func:`decide` about this item's failure: schedule a re-send, or settle it."""
        error = result.error if result is not None else None
        error = error or TransientError(f"Batch item {item.key!r} got no answer")
        self.attempts[item.index] += 1
        attempt, now = self.attempts[item.index], self.requestor.now()
        jitter = self.requestor.rng.random()
        decision = decide(error, attempt, now - self.started, self.policy, jitter)
        log.info(
            "graph.batch.retry.decided",
            batch_item=item.key,
            action=decision.action,
            seconds=round(decision.seconds, 3),
            reason=decision.reason,
            attempt=attempt,
            error=error.kind,
        )
        if decision.action == "stop":
            self.results[item.index] = result or _no_answer(item, attempt, decision.reason)
            return
        self.not_before[item.index] = now + decision.seconds
        if isinstance(error, RateLimitedError):
            self.requestor.pacer.block(self._pacing_key(item), decision.seconds)

    def _lost(self, chunk: list[BatchItem], error: MetaAgentError) -> None:
        """The request failed as a whole (after the requestor's own retries). A lost answer
        is an unknown outcome only for writes; a read is simply unanswered."""
        for item in chunk:
            if not isinstance(error, OutcomeUnknownError):
                self.results[item.index] = ItemResult(False, error=error)
            elif not item.is_write:
                self._judge(item, None)
            else:
                unknown = OutcomeUnknownError(
                    f"{item.method} {template(item.path)} in a batch may have been applied: "
                    f"{error.message}",
                    method=item.method,
                    path=item.path,
                    batch_item=item.key,
                )
                self.results[item.index] = ItemResult(False, error=unknown)

    def _pacing_key(self, item: BatchItem) -> str:
        return self.requestor.pacing_key(item.path, CallOptions())

    def _result(self, name: str) -> ItemResult | None:
        return self.results.get(self.by_name[name].index)

    def _failed_dependency(self, item: BatchItem) -> str | None:
        for name in item.depends_on:
            result = self._result(name)
            if result is not None and not result.ok:
                return name
        return None

    def _dependency_failed(self, item: BatchItem, seen: MetaAgentError | None = None) -> ItemResult:
        name = self._failed_dependency(item)
        assert name is not None  # callers checked
        cause = self._result(name)
        cause_error = cause.error if cause is not None else None
        details: dict[str, Any] = {"dependency": name, "batch_item": item.key}
        if cause_error is not None:
            details["dependency_error"] = cause_error.to_dict()
        if isinstance(seen, ApiError) and seen.code is not None:
            details.update(code=seen.code, fbtrace_id=seen.details.get("fbtrace_id"))
        reason = f": {cause_error.message}" if cause_error is not None else ""
        message = f"Batch item {item.key!r} was not run because {name!r} failed{reason}"
        return ItemResult(False, error=DependencyFailedError(message, **details))


def _no_answer(item: BatchItem, attempts: int, reason: str) -> ItemResult:
    error = TransientError(
        f"Batch item {item.key!r} got no answer in {attempts} attempts ({reason})",
        batch_item=item.key,
    )
    return ItemResult(False, error=error)
