"""Scripted faults: what goes wrong, on which requests, how often.

A script is a list of rules. Each rule matches requests by method, path glob and whether they
are batch items, and fires by probability (seeded, so runs repeat) or on the Nth match, at most
``times`` times. Rules are given as JSON or as a compact spec, e.g.::

    transient:p=0.1;drop_after_commit:method=POST,path=act_*/ads,nth=2;latency:ms=200

Kinds: ``latency`` (extra delay), ``transient`` (code 2, HTTP 503), ``unknown`` (code 1,
HTTP 500), ``http_5xx`` (a proxy's 502 with an HTML body), ``timeout`` (the server hangs before
doing anything), ``rate_limit`` (code 17/2446079, or ``code=80004``), ``drop_after_commit``
(the write is committed, then the connection is dropped before the response), and
``batch_partial`` (a batch item is not run: its slot comes back ``null``).
"""

from __future__ import annotations

import fnmatch
import json
import random
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from meta_agent.sandbox.errors import GraphError
from meta_agent.sandbox.wire import GraphRequest

FaultKind = Literal[
    "latency",
    "transient",
    "unknown",
    "http_5xx",
    "timeout",
    "rate_limit",
    "drop_after_commit",
    "batch_partial",
]
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)


class FaultRule(BaseModel):
    """One rule of a fault script."""

    model_config = ConfigDict(extra="forbid")

    kind: FaultKind
    method: str | None = None
    path: str | None = Field(default=None, description="glob over the path without version")
    probability: float = Field(default=1.0, ge=0, le=1)
    nth: int | None = Field(default=None, ge=1, description="fire on the Nth matching request")
    times: int | None = Field(default=None, ge=1, description="fire at most this many times")
    latency_ms: float = Field(default=0.0, ge=0)
    timeout_s: float = Field(default=30.0, ge=0)
    code: int | None = None
    in_batch: bool | None = None

    def matches(self, req: GraphRequest) -> bool:
        """Whether this rule applies to ``req`` at all."""
        if self.method is not None and self.method.upper() != req.method:
            return False
        if self.in_batch is not None and self.in_batch != req.in_batch:
            return False
        if self.kind == "batch_partial" and not req.in_batch:
            return False
        return self.path is None or fnmatch.fnmatchcase(req.path.strip("/"), self.path.strip("/"))


@dataclass
class Fault:
    """What the pipeline must do to one request."""

    kind: str
    delay_s: float = 0.0
    error: GraphError | None = None
    drop_after_commit: bool = False
    hang_s: float = 0.0
    raw_status: int | None = None
    skip: bool = False


@dataclass
class FaultScript:
    """The active rules and how often each has matched and fired."""

    rules: list[FaultRule] = field(default_factory=list)
    seed: int = 0
    matched: list[int] = field(default_factory=list)
    fired: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self.matched = [0] * len(self.rules)
        self.fired = [0] * len(self.rules)

    def replace(self, rules: list[FaultRule]) -> None:
        """Swap in new rules and restart their counters."""
        self.rules = rules
        self.__post_init__()

    def pick(self, req: GraphRequest) -> Fault | None:
        """The fault for this request, if any rule fires (first firing rule wins)."""
        for index, rule in enumerate(self.rules):
            if not rule.matches(req):
                continue
            self.matched[index] += 1
            if rule.times is not None and self.fired[index] >= rule.times:
                continue
            if rule.nth is not None and self.matched[index] != rule.nth:
                continue
            if rule.nth is None and self._rng.random() >= rule.probability:
                continue
            self.fired[index] += 1
            return build_fault(rule)
        return None

    def describe(self) -> list[dict[str, Any]]:
        """The rules with their counters (for ``GET /_sandbox/faults``)."""
        return [
            {**rule.model_dump(exclude_none=True), "matched": m, "fired": f}
            for rule, m, f in zip(self.rules, self.matched, self.fired, strict=True)
        ]


def build_fault(rule: FaultRule) -> Fault:
    """Turn a firing rule into the concrete fault."""
    kind = rule.kind
    if kind == "latency":
        return Fault(kind, delay_s=rule.latency_ms / 1000)
    if kind == "timeout":
        return Fault(kind, hang_s=rule.timeout_s)
    if kind == "drop_after_commit":
        return Fault(kind, drop_after_commit=True)
    if kind == "http_5xx":
        return Fault(kind, raw_status=rule.code or 502)
    if kind == "batch_partial":
        return Fault(kind, skip=True)
    return Fault(kind, error=_error_for(kind, rule.code))


def _error_for(kind: str, code: int | None) -> GraphError:
    if kind == "unknown":
        return GraphError(message="An unknown error occurred", code=1, subcode=99, status=500)
    if kind == "rate_limit" and code == 80004:
        return GraphError(
            message="(#80004) There have been too many calls to this ad-account. Wait a bit and try again.",
            code=80004,
            subcode=2446079,
            is_transient=True,
        )
    if kind == "rate_limit":
        return GraphError(
            message="(#17) User request limit reached",
            code=17,
            subcode=2446079,
            is_transient=True,
            user_title="Ad Account Has Too Many API Calls",
            user_msg="There have been too many calls from this ad-account. Please wait a bit and try again.",
        )
    return GraphError(
        message="Service temporarily unavailable", code=2, status=503, is_transient=True
    )


def parse_fault_spec(spec: str) -> list[FaultRule]:
    """Parse a JSON list of rules or the compact ``kind:key=value,...;...`` form.

    Raises:
        ValueError: with the offending rule and what to write instead.
    """
    text = spec.strip()
    if not text:
        return []
    try:
        if text.startswith("["):
            return [FaultRule.model_validate(item) for item in json.loads(text)]
        return [_parse_compact(part.strip()) for part in text.split(";") if part.strip()]
    except (ValidationError, json.JSONDecodeError) as error:
        raise ValueError(f"invalid fault spec {spec!r}: {error}") from None


_ALIASES = {"p": "probability", "ms": "latency_ms", "timeout": "timeout_s"}


def _parse_compact(part: str) -> FaultRule:
    kind, _, options = part.partition(":")
    if kind not in FAULT_KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; choose one of {', '.join(FAULT_KINDS)}")
    values: dict[str, Any] = {"kind": kind}
    for option in filter(None, (item.strip() for item in options.split(","))):
        key, sep, value = option.partition("=")
        if not sep:
            raise ValueError(f"fault option {option!r} in {part!r} needs the form key=value")
        values[_ALIASES.get(key, key)] = value
    return FaultRule.model_validate(values)
