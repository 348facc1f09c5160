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

import httpx2
import structlog
from pydantic import SecretStr

log = structlog.get_logger("meta_agent.http.webhooks")

SIGNATURE_HEADER = "X-Meta-Agent-Signature"
TIMESTAMP_HEADER = "X-Meta-Agent-Timestamp"
DELIVERY_HEADER = "X-Meta-Agent-Delivery"
RETRY_STATUSES = frozenset({408, 429})
Sleep = Callable[[float], Awaitable[None]]


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

    async def deliver(self, url: str, body: bytes) -> bool:
        """POST ``body`` to ``url`` until it is accepted or refused, or attempts run out."""
        delivery = uuid.uuid4().hex
        async with httpx2.AsyncClient(transport=self.transport, timeout=self.timeout) as client:
            for attempt in range(1, self.attempts + 1):
                outcome = await self._attempt(client, url, body, delivery)
                log.info(
                    "http.webhook.attempt", delivery=delivery, attempt=attempt, outcome=outcome
                )
                if outcome != "retry":
                    return outcome == "delivered"
                if attempt < self.attempts:
                    await self.sleep(self._delay(attempt))
        log.warning("http.webhook.gave_up", delivery=delivery, attempts=self.attempts)
        return False

    async def _attempt(
        self, client: httpx2.AsyncClient, url: str, body: bytes, delivery: str
    ) -> str:
        try:
            response = await client.post(url, content=body, headers=self._headers(body, delivery))
        except httpx2.HTTPError:
            return "retry"
        if response.is_success:
            return "delivered"
        if response.status_code in RETRY_STATUSES or response.status_code >= 500:
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
