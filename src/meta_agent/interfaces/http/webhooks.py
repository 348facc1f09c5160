"""Signed completion callbacks: POST the response JSON to the caller's ``callback_url``.

Each delivery carries three headers:

- ``X-Meta-Agent-Timestamp``: Unix seconds when the delivery was signed;
- ``X-Meta-Agent-Signature``: ``sha256=<hex>``, HMAC-SHA256 with the service's
  ``webhook_secret`` over ``<timestamp>.`` followed by the raw body bytes (the timestamp is
  signed so a captured delivery cannot be replayed later: reject old timestamps);
- ``X-Meta-Agent-Delivery``: an id, the same across the retries of one delivery.

:func:`verify_signature` is what a receiver runs. A delivery is retried on a connection
failure, a timeout, 408, 429 and 5xx, with exponential backoff (1 s, 2 s, 4 s ... capped at
60 s) and at most ``attempts`` tries; any other answer ends it (2xx delivered, 4xx refused).

Every delivery goes through the egress guard (:mod:`meta_agent.egress`): the callback URL is
checked when the request is submitted (:func:`check_callback_url`, a 422 naming
``callback_url``) and again at each attempt, connected to the address checked; redirects are
not followed (a signed body goes where it was sent, or nowhere). A refusal at delivery is
logged (``http.webhook.refused``) and ends the delivery as failed, never retried.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from pydantic import SecretStr

from meta_agent.egress import EgressPolicy
from meta_agent.errors import RequestValidationError
from meta_agent.graph.transport import DownloadError, fetch

log = structlog.get_logger("meta_agent.http.webhooks")

SIGNATURE_HEADER = "X-Meta-Agent-Signature"
TIMESTAMP_HEADER = "X-Meta-Agent-Timestamp"
DELIVERY_HEADER = "X-Meta-Agent-Delivery"
RETRY_STATUSES = frozenset({408, 429})
CALLBACK_FIELD = "callback_url"
MAX_ANSWER_BYTES = 64 * 1024
Sleep = Callable[[float], Awaitable[None]]

# What a receiver needs to know, as the OpenAPI description (and the README) say it.
SCHEME = f"""\
**Webhooks**: a request with `callback_url` is answered 202 at once; when it finishes, the
response JSON (as `GET /v1/requests/{{request_id}}` returns it) is POSTed to that URL. The
service signs with the `service.webhook_secret` setting (`META_AGENT_SERVICE__WEBHOOK_SECRET`;
without it `callback_url` is refused). Each delivery carries `{TIMESTAMP_HEADER}` (Unix seconds
when signed), `{SIGNATURE_HEADER}: sha256=<hex>`, the HMAC-SHA256 with the secret as key over
the timestamp, a `.`, then the raw body bytes (`<timestamp>.<body>`), and `{DELIVERY_HEADER}`
(an id, the same on every retry of one delivery). Verify by recomputing the HMAC over the body
exactly as received, compare in constant time, and reject timestamps more than 5 minutes
old. A connection failure, timeout, 408, 429 or 5xx is retried with backoff (1 s, 2 s, 4 s...,
at most 60 s) up to `service.webhook_attempts` (5) times; another 4xx ends the delivery;
redirects are not followed.
"""


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header's value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify_signature(
    secret: str,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    tolerance: float = 300.0,
    now: float | None = None,
) -> bool:
    """Whether ``signature`` is ours for ``body`` and ``timestamp`` is recent enough."""
    try:
        age = (time.time() if now is None else now) - float(timestamp)
    except ValueError:
        return False
    if abs(age) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


@dataclass
class WebhookSender:
    """Delivers callbacks with bounded, backed-off retries."""

    secret: SecretStr
    attempts: int = 5
    timeout: float = 10.0
    base_delay: float = 1.0
    max_delay: float = 60.0
    sleep: Sleep = asyncio.sleep
    transport: Any = None  # an httpx2 transport for tests; None for the network
    clock: Callable[[], float] = field(default=time.time)
    egress: EgressPolicy = field(default_factory=EgressPolicy)

    async def check(self, url: str) -> None:
        """Refuse a callback URL the egress guard would not deliver to.

        Raises:
            RequestValidationError: ``callback_url`` is not on a public address.
        """
        await self.egress.check(url, CALLBACK_FIELD)

    async def deliver(self, url: str, body: bytes) -> bool:
        """POST ``body`` to ``url`` until it is accepted or refused, or attempts run out."""
        delivery = uuid.uuid4().hex
        for attempt in range(1, self.attempts + 1):
            outcome = await self._attempt(url, body, delivery)
            log.info("http.webhook.attempt", delivery=delivery, attempt=attempt, outcome=outcome)
            if outcome != "retry":
                return outcome == "delivered"
            if attempt < self.attempts:
                await self.sleep(self._delay(attempt))
        log.warning("http.webhook.gave_up", delivery=delivery, attempts=self.attempts)
        return False

    async def _attempt(self, url: str, body: bytes, delivery: str) -> str:
        try:
            response = await fetch(
                "POST",
                url,
                egress=self.egress,
                field=CALLBACK_FIELD,
                max_bytes=MAX_ANSWER_BYTES,
                time_limit=self.timeout,
                content=body,
                headers=self._headers(body, delivery),
                follow_redirects=False,
                transport=self.transport,
            )
        except RequestValidationError as error:
            log.warning("http.webhook.refused", delivery=delivery, reason=error.message)
            return "refused"
        except DownloadError:
            return "retry"
        if 200 <= response.status < 300:
            return "delivered"
        if response.status in RETRY_STATUSES or response.status >= 500:
            return "retry"
        return "refused"

    def _headers(self, body: bytes, delivery: str) -> dict[str, str]:
        timestamp = str(int(self.clock()))
        return {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(self.secret.get_secret_value(), timestamp, body),
            DELIVERY_HEADER: delivery,
            "User-Agent": "meta-agent-webhooks",
        }

    def _delay(self, attempt: int) -> float:
        return float(min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))


async def check_callback_url(sender: WebhookSender | None, url: str | None) -> None:
    """At submit: refuse a ``callback_url`` that ``sender`` would not deliver to.

    With no sender (no webhook secret) or no URL there is nothing to check here.

    Raises:
        RequestValidationError: ``callback_url`` is not on a public address (a 422).
    """
    if sender is not None and url is not None:
        await sender.check(url)
