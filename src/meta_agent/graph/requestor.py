"""The send path, as a ladder: options → auth → encode → pace → send → decode → map → retry.

Everything above it (services, batch, pagination, reports, uploads) makes one call here per
HTTP request. Nothing below it knows about Graph errors or retries.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog

from meta_agent import versions
from meta_agent.errors import (
    ApiError,
    MetaAgentError,
    OutcomeUnknownError,
    RateLimitedError,
    TransientError,
    TransportError,
)
from meta_agent.graph.error_table import build_error
from meta_agent.graph.guard import NoGuard, Write, WriteGuard, writes_of
from meta_agent.graph.pacing import LEASE_S, Pacer
from meta_agent.graph.pacing_state import SharedPacing
from meta_agent.graph.retry import Delivery, RetryPolicy, decide
from meta_agent.graph.settings import GraphSettings
from meta_agent.graph.transport import FileField, RawResponse, SendFailedError, Transport
from meta_agent.graph.usage import parse_usage
from meta_agent.observability import metrics

log = structlog.get_logger("meta_agent.graph")

Sleep = Callable[[float], Awaitable[None]]
_MAX_REMEMBERED = 100_000
_ID_SEGMENT = re.compile(r"^(act_)?\d+(:[0-9a-f]+)?$")


@dataclass(frozen=True)
class CallOptions:
    """Per-call overrides; ``None`` means inherit the client's setting."""

    priority: bool = False
    validate_only: bool = False
    idempotency_key: str | None = None
    account: str | None = None
    retry: RetryPolicy | None = None
    weight: int = 1
    """How many calls Meta scores this request as (a batch's items), for pacing."""


@dataclass(frozen=True)
class Admitted:
    """Writes the guard let through (:meth:`Requestor.admit`), for the call that sends them."""

    writes: list[Write]


@dataclass(frozen=True)
class GraphResponse:
    """A decoded Graph answer with the headers it came with."""

    status: int
    body: Any
    headers: Mapping[str, str]


class Requestor:
    """Sends Graph calls with auth, pacing, error mapping and bounded retries."""

    def __init__(
        self,
        settings: GraphSettings,
        transport: Transport,
        *,
        now: Callable[[], float] = time.monotonic,
        sleep: Sleep | None = None,
        rng: random.Random | None = None,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        guard: WriteGuard | None = None,
        shared_pacing: SharedPacing | None = None,
    ) -> None:
        import asyncio

        self.settings = settings
        self.guard: WriteGuard = guard or NoGuard()
        self.transport = transport
        self.now = now
        self.sleep: Sleep = sleep or asyncio.sleep
        self.rng = rng or random.Random()
        self.pacer = Pacer(
            now=now,
            sleep=self.sleep,
            max_concurrency=settings.max_concurrency,
            slow_at=settings.slow_at_pct,
            target=settings.target_pct,
            shared=shared_pacing,
            wall=lambda: wall_clock().timestamp(),
            # A lease outlives any call that is still alive (the timeout is per phase).
            lease_seconds=max(LEASE_S, 2 * settings.timeout),
        )
        self.policy = RetryPolicy(
            max_attempts=settings.max_attempts, max_elapsed=settings.max_retry_seconds
        )
        self._warned_versions: set[str] = set()
        self._object_accounts: dict[str, str] = {}
        self._warn_version(settings.version, wall_clock())

    async def call(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        files: Mapping[str, FileField] | None = None,
        options: CallOptions | None = None,
        admitted: Admitted | None = None,
    ) -> GraphResponse:
        """One Graph call, retried within the policy; a write first passes the guard (unless
        :meth:`admit` let it through already: ``admitted``).

        Raises:
            ApiError: the error Meta returned, or OutcomeUnknownError / TransportError.
            UsageError: the write guard refused the write (nothing was sent).
        """
        options = options or CallOptions()
        if admitted is None:
            admitted = await self.admit(method, path, params, options)
        response = await self._retried(method, path, params or {}, files, options)
        if admitted.writes:
            await self.guard.settled(admitted.writes, response.body)
        return response

    async def admit(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        options: CallOptions | None = None,
    ) -> Admitted:
        """Pass the write guard for a call sent later by :meth:`call` with ``admitted``.

        A batch run admits every chunk of a round first, so the guard's work does not
        stagger their sends (they go together: one round trip).

        Raises:
            UsageError: the write guard refused a write.
        """
        writes = []
        if method != "GET":
            writes = writes_of(method, path, self._encode(params or {}, options or CallOptions()))
        if writes:  # a batch of reads only is no write
            await self.guard.admit(writes)
        return Admitted(writes)

    async def _retried(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any],
        files: Mapping[str, FileField] | None,
        options: CallOptions,
    ) -> GraphResponse:
        policy = options.retry or self.policy
        started, attempt = self.now(), 0
        while True:
            attempt += 1
            try:
                return await self._once(method, path, params, files, options, attempt)
            except MetaAgentError as error:
                delivery = delivery_of(method, error)
                elapsed = self.now() - started
                decision = decide(error, attempt, elapsed, policy, self.rng.random(), delivery)
                log.info(
                    "graph.retry.decided",
                    action=decision.action,
                    seconds=round(decision.seconds, 3),
                    reason=decision.reason,
                    attempt=attempt,
                    error=error.kind,
                )
                if decision.action == "reconcile" and not isinstance(error, OutcomeUnknownError):
                    raise self._unknown(method, path, options, error) from error
                if decision.action in ("stop", "reconcile"):
                    raise
                if isinstance(error, RateLimitedError):
                    self.pacer.block(self.pacing_key(path, options), decision.seconds)
                else:
                    await self.sleep(decision.seconds)

    async def _once(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any],
        files: Mapping[str, FileField] | None,
        options: CallOptions,
        attempt: int,
    ) -> GraphResponse:
        key = self.pacing_key(path, options)
        encoded = self._encode(params, options)
        query, form = (encoded, None) if method == "GET" else ({}, encoded)
        query = {**query, **self._proof()}
        url = f"/{self.settings.version}/{path.lstrip('/')}"
        async with self.pacer.slot(key, priority=options.priority, weight=options.weight):
            started = self.now()
            try:
                raw = await self.transport.send(
                    method, url, query=query, form=form, files=files, headers=self._auth_header()
                )
            except SendFailedError as failure:
                raise self._send_failure(failure, method, path, options) from None
            # Observed before the slot is left: with shared pacing, the call's cost reaches
            # the other processes in the same step as its lease stops counting.
            usage = parse_usage(raw.headers)
            key = self._learn_account(path, key, usage.accounts)
            self.pacer.observe(key, usage)
        outcome: ApiError | None = None
        try:
            return self._decode(raw, usage.blocked_for)
        except ApiError as error:
            outcome = error
            raise
        finally:
            self._log(method, path, raw, self.now() - started, usage.peak, attempt, outcome)

    @staticmethod
    def _encode(params: Mapping[str, Any], options: CallOptions) -> dict[str, str]:
        encoded = encode_params(params)
        if options.validate_only:
            encoded["execution_options"] = '["validate_only"]'
        return encoded

    def _decode(self, raw: RawResponse, blocked_for: float) -> GraphResponse:
        self._check_served_version(raw.headers)
        if raw.status == 304 or not raw.body:
            return GraphResponse(raw.status, None, raw.headers)
        try:
            body = json.loads(raw.body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise TransientError(
                f"HTTP {raw.status} with a body that is not JSON",
                http_status=raw.status,
                answered_by="gateway",
            ) from None
        source = "gateway" if raw.status >= 500 else "meta"
        if isinstance(body, dict) and "error" in body:
            error = build_error(body, raw.status, retry_after=blocked_for or None)
            error.details["answered_by"] = source
            raise error
        if raw.status >= 500:
            raise TransientError(f"HTTP {raw.status}", http_status=raw.status, answered_by=source)
        if isinstance(body, dict) and body.get("success") is False:
            raise ApiError("Meta answered success: false", http_status=raw.status)
        return GraphResponse(raw.status, body, raw.headers)

    def _send_failure(
        self, failure: SendFailedError, method: str, path: str, options: CallOptions
    ) -> ApiError:
        message = self.scrub(str(failure))
        return TransportError(
            f"{method} {template(path)} failed: {message}",
            sent=failure.maybe_delivered,
            answered_by="none",
        )

    @staticmethod
    def _unknown(
        method: str, path: str, options: CallOptions, error: MetaAgentError
    ) -> OutcomeUnknownError:
        """The error a write of unknown outcome becomes: the caller reconciles, never re-sends."""
        return OutcomeUnknownError(
            f"{method} {template(path)} may have been applied: {error.message}",
            method=method,
            path=path,
            idempotency_key=options.idempotency_key,
            http_status=error.details.get("http_status"),
        )

    def _auth_header(self) -> dict[str, str]:
        # In a header, the token never lands in a URL, a proxy log or an exception text.
        return {"Authorization": f"OAuth {self.settings.access_token.get_secret_value()}"}

    def _proof(self) -> dict[str, str]:
        if self.settings.app_secret is None:
            return {}
        secret = self.settings.app_secret.get_secret_value().encode()
        token = self.settings.access_token.get_secret_value().encode()
        return {"appsecret_proof": hmac.new(secret, token, hashlib.sha256).hexdigest()}

    def scrub(self, text: str) -> str:
        """``text`` with the token and app secret blanked out."""
        for secret in (self.settings.access_token, self.settings.app_secret):
            if secret is not None and secret.get_secret_value():
                text = text.replace(secret.get_secret_value(), "***")
        return text

    def pacing_key(self, path: str, options: CallOptions) -> str:
        """The budget a call draws on: its ad account (from the path, the caller, or learned)."""
        if options.account:
            return options.account.removeprefix("act_")
        first = path.lstrip("/").split("/", 1)[0]
        if first.startswith("act_"):
            return first.removeprefix("act_")
        return self._object_accounts.get(first, "app")

    def _learn_account(self, path: str, key: str, accounts: tuple[str, ...]) -> str:
        """Remember which account an object id belongs to, from the usage headers Meta sent.

        Writes on ``/{object_id}`` name no account, but their BUC header does; the next call
        on that object is then paced with its account's budget.
        """
        if key != "app" or len(accounts) != 1:
            return key
        first = path.lstrip("/").split("/", 1)[0]
        if first and len(self._object_accounts) < _MAX_REMEMBERED:
            self._object_accounts[first] = accounts[0]
        return accounts[0]

    def _check_served_version(self, headers: Mapping[str, str]) -> None:
        served = headers.get("facebook-api-version")
        if served and served != self.settings.version and served not in self._warned_versions:
            self._warned_versions.add(served)
            log.warning("graph.version.mismatch", requested=self.settings.version, served=served)

    def _warn_version(self, name: str, today: datetime) -> None:
        warning = versions.sunset_warning(name, today.date())
        if warning:
            log.warning("graph.version.sunset", version=name, detail=warning)

    @staticmethod
    def _log(
        method: str,
        path: str,
        raw: RawResponse,
        duration: float,
        usage_pct: float,
        attempt: int,
        error: ApiError | None,
    ) -> None:
        """The one canonical line per Graph call (never parameters, never the token)."""
        metrics.api_call(template(path), method, raw.status)
        log.info(
            "graph.request.completed",
            method=method,
            path=template(path),
            status=raw.status,
            code=error.code if error else None,
            subcode=error.subcode if error else None,
            fbtrace_id=error.details.get("fbtrace_id") if error else None,
            duration_ms=round(duration * 1000, 1),
            usage_pct=round(usage_pct, 1),
            attempt=attempt,
        )


def delivery_of(method: str, error: MetaAgentError) -> Delivery:
    """How the exchange that raised ``error`` went (the requestor notes it on the error)."""
    answered_by = error.details.get("answered_by", "meta")
    return Delivery(
        method=method,
        sent=bool(error.details.get("sent", True)),
        answered_by=answered_by if answered_by in ("meta", "gateway", "none") else "meta",
    )


def encode_params(params: Mapping[str, Any]) -> dict[str, str]:
    """Top-level values as Graph expects them: structures and booleans as compact JSON."""
    out: dict[str, str] = {}
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, Mapping | list | tuple | bool):
            out[key] = json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)
        else:
            out[key] = str(value)
    return out


def template(path: str) -> str:
    """A path with ids replaced, for low-cardinality logs: ``act_{id}/campaigns``."""
    parts = []
    for segment in path.strip("/").split("/"):
        if _ID_SEGMENT.match(segment):
            segment = "act_{id}" if segment.startswith("act_") else "{id}"
        parts.append(segment)
    return "/".join(parts)
