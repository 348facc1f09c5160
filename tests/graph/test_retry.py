"""The retry decision: a pure function, tested without sleeping."""

from __future__ import annotations

import pytest

from meta_agent import errors
from meta_agent.graph.retry import Delivery, RetryPolicy, Source, decide

POLICY = RetryPolicy(
    max_attempts=4, max_elapsed=100, base_delay=1, max_delay=8, rate_limit_delay=60
)


@pytest.mark.parametrize("code", [100, 190, 200, 250, 299, 2635])
def test_never_retried_codes(code: int) -> None:
    """100, 190, 200-299 and 2635 stop at once, even if marked transient."""
    error = errors.TransientError("x", code=code)
    assert decide(error, 1, 0, POLICY, 0.5).action == "stop"


def test_outcome_unknown_is_never_resent() -> None:
    """A write whose outcome is unknown is not re-sent: reconciliation comes first."""
    error = errors.OutcomeUnknownError("maybe", method="POST", path="act_1/ads")
    decision = decide(error, 1, 0, POLICY, 0.5)
    assert decision.action == "reconcile"
    assert "reconcile" in decision.reason


ERRORS = {
    "transient": errors.TransientError("x", http_status=503),
    "rate_limited": errors.RateLimitedError("x", code=17),
    "transport": errors.TransportError("x"),
    "invalid": errors.InvalidParameterError("x", code=100),
}


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
@pytest.mark.parametrize("sent", [True, False])
@pytest.mark.parametrize("answered_by", ["meta", "gateway", "none"])
@pytest.mark.parametrize("kind", sorted(ERRORS))
def test_every_combination_of_method_delivery_and_source(
    method: str, sent: bool, answered_by: Source, kind: str
) -> None:
    """Writes that may have landed without Meta's own answer reconcile; nothing else does."""
    delivery = Delivery(method=method, sent=sent, answered_by=answered_by)
    decision = decide(ERRORS[kind], 1, 0, POLICY, 0.5, delivery)
    if method != "GET" and sent and answered_by != "meta":
        assert decision.action == "reconcile"
    elif kind == "invalid":
        assert decision.action == "stop"
    elif kind == "rate_limited":
        assert decision.action == "wait"
    else:
        assert decision.action == "backoff"


def test_transient_backs_off_exponentially_with_full_jitter() -> None:
    """Backoff ceilings double per attempt up to max_delay; jitter scales within it."""
    error = errors.TransientError("x", code=2)
    assert decide(error, 1, 0, POLICY, 0.5).seconds == pytest.approx(0.5)
    assert decide(error, 3, 0, POLICY, 0.5).seconds == pytest.approx(2.0)
    assert decide(error, 3, 0, POLICY, 0.999).seconds < 4
    assert decide(error, 3, 0, POLICY, 0.0).seconds == 0


def test_rate_limit_waits_exactly_retry_after() -> None:
    """When Meta says how long, the wait is exactly that."""
    error = errors.RateLimitedError("x", code=17, retry_after=42)
    decision = decide(error, 1, 0, POLICY, 0.9)
    assert (decision.action, decision.seconds) == ("wait", 42)


def test_rate_limit_without_hint_waits_the_default() -> None:
    """Without a hint, rate limits wait between half and all of rate_limit_delay."""
    error = errors.RateLimitedError("x", code=4)
    assert 30 <= decide(error, 1, 0, POLICY, 0.3).seconds <= 60


def test_attempts_are_capped() -> None:
    """The last allowed attempt stops."""
    error = errors.TransientError("x", code=2)
    assert decide(error, 4, 0, POLICY, 0.5).action == "stop"


def test_total_time_is_capped() -> None:
    """A wait that would pass the time budget stops instead."""
    error = errors.RateLimitedError("x", code=17, retry_after=50)
    assert decide(error, 1, 60, POLICY, 0.5).action == "stop"


def test_transport_errors_retry_but_validation_does_not() -> None:
    """A failure before sending is safe to retry; our own validation errors never are."""
    assert decide(errors.TransportError("down"), 1, 0, POLICY, 0.5).action == "backoff"
    assert decide(errors.RequestValidationError("bad"), 1, 0, POLICY, 0.5).action == "stop"
