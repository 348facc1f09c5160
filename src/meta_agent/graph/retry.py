"""Whether and when to try a Graph call again: one pure function and its policy.

:func:`decide` looks only at the error, the attempt number, the time already spent and a
jitter sample, so every branch is testable without sleeping. The loop that runs it lives in
the requestor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from meta_agent.errors import (
    ApiError,
    MetaAgentError,
    OutcomeUnknownError,
    RateLimitedError,
    TransientError,
    TransportError,
)

Source = Literal["meta", "gateway", "none"]
"""Who answered: Meta (its JSON, status below 500), something in between or a 5xx, nobody."""

# Codes that mean "fix something first" even when Meta marks them transient (issue #3).
NEVER_RETRY_CODES = frozenset({100, 190, 2635, *range(200, 300)})


@dataclass(frozen=True)
class RetryPolicy:
    """Caps on retrying: attempts, total time, and the backoff curve."""

    max_attempts: int = 5
    max_elapsed: float = 120.0
    base_delay: float = 0.5
    max_delay: float = 30.0
    rate_limit_delay: float = 60.0


@dataclass(frozen=True)
class Delivery:
    """How one exchange went, as far as retrying cares."""

    method: str = "GET"
    sent: bool = True
    """The request may have reached Meta (False: it certainly did not, e.g. refused connect)."""
    answered_by: Source = "meta"

    @property
    def unknown_write(self) -> bool:
        """A write that may have been applied, with no answer Meta wrote to tell."""
        return self.method != "GET" and self.sent and self.answered_by != "meta"


READ = Delivery()


@dataclass(frozen=True)
class Decision:
    """``stop``, ``reconcile`` (a write of unknown outcome: look before resending),
    ``backoff`` (jittered exponential) or ``wait`` (exactly ``seconds``)."""

    action: Literal["stop", "reconcile", "backoff", "wait"]
    seconds: float = 0.0
    reason: str = ""


def decide(
    error: MetaAgentError,
    attempt: int,
    elapsed: float,
    policy: RetryPolicy,
    jitter: float,
    delivery: Delivery = READ,
) -> Decision:
    """Decide what to do after ``attempt`` (1-based) failed with ``error``.

    ``jitter`` is a sample in [0, 1); full jitter spreads retries of many callers apart.
    """
    if isinstance(error, OutcomeUnknownError) or delivery.unknown_write:
        return Decision("reconcile", reason="the write may have happened: reconcile first")
    reason = _why_not(error, attempt, policy)
    if reason:
        return Decision("stop", reason=reason)
    if isinstance(error, RateLimitedError):
        wait = error.retry_after
        if wait is None:
            wait = policy.rate_limit_delay * (0.5 + jitter / 2)
        return _within_budget(Decision("wait", wait, "rate limited"), elapsed, policy)
    ceiling = min(policy.max_delay, policy.base_delay * 2 ** (attempt - 1))
    return _within_budget(Decision("backoff", ceiling * jitter, error.kind), elapsed, policy)


def _why_not(error: MetaAgentError, attempt: int, policy: RetryPolicy) -> str:
    if not isinstance(error, RateLimitedError | TransientError | TransportError):
        return f"{error.kind} errors are not retried"
    if isinstance(error, ApiError) and error.code in NEVER_RETRY_CODES:
        return f"code {error.code} is never retried"
    if attempt >= policy.max_attempts:
        return f"gave up after {attempt} attempts"
    return ""


def _within_budget(decision: Decision, elapsed: float, policy: RetryPolicy) -> Decision:
    if elapsed + decision.seconds > policy.max_elapsed:
        return Decision("stop", reason=f"retrying would pass the {policy.max_elapsed:.0f}s budget")
    return decision
