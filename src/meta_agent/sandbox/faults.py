"""Scripted faults: what goes wrong, on which requests, how often.

A script is a list of rules. Each rule matches requests by method, path glob and whether they
are batch items, and fires by probability (seeded, so runs repeat) or on the Nth match, at most
``times`` times. Rules are given as JSON or as a compact spec, e.g.::

    transient:p=0.1;drop_after_commit:method=POST,path=act_*/ads,nth=2;latency:ms=200

Kinds: ``latency`` (extra delay), ``transient`` (code 2, HTTP 503), ``unknown`` (code 1,
HTTP 500), ``http_5xx`` (a proxy's 502, or ``code=5xx``, with an HTML body), ``timeout`` (the
server hangs before doing anything), ``rate_limit`` (code 17/2446079, or ``code=`` 4, 613,
80000 or 80004), ``drop_after_commit`` (the write is committed, then the connection is dropped
before the response), and ``batch_partial`` (a batch item is not run: its slot comes back
``null``), and ``graph_error`` (any Graph error envelope: ``code`` is required, ``subcode``,
``message`` and the HTTP ``status``, default 400, are optional). Inside a batch, ``timeout`` and ``http_5xx`` also leave the item's slot ``null``
(the item did not complete), ``latency`` does not apply per item, and ``drop_after_commit``
has no connection of its own to drop, so the item succeeds, while every error kind
(``graph_error`` included) fails the item alone, with the same envelope.

A non-retryable failure at a chosen step of a workflow, e.g. the first ad set create::

    graph_error:code=100,subcode=1885272,method=POST,path=act_*/adsets,nth=1

In the compact form a value ends at the next ``,`` or ``;``, so a ``message`` holding
either is given in the JSON form: ``[{"kind": "graph_error", "code": 100, "message":
"(#100) Invalid parameter, really"}]``.
"""

from __future__ import annotations

import fnmatch
import json
import random
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from meta_agent.sandbox.errors import GraphError
from meta_agent.sandbox.ratelimit import (
    account_calls_error,
    app_limit_error,
    buc_limit_error,
    score_limit_error,
)
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
    "graph_error",
]
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)
RATE_LIMIT_CODES = (4, 17, 613, 80000, 80004)


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
    subcode: int | None = Field(default=None, description="graph_error: the error_subcode")
    message: str | None = Field(default=None, description="graph_error: the error message")
    status: int = Field(default=400, ge=200, le=599, description="graph_error: HTTP status")
    in_batch: bool | None = None

    @model_validator(mode="after")
    def _code_fits_kind(self) -> FaultRule:
        if self.kind == "graph_error":
            if self.code is None:
                raise ValueError("graph_error needs code=<Graph error code>, e.g. code=100")
            return self
        if self.subcode is not None or self.message is not None or self.status != 400:
            raise ValueError(
                f"subcode, message and status apply only to graph_error, not {self.kind}"
            )
        if self.code is None:
            return self
        if self.kind == "rate_limit" and self.code not in RATE_LIMIT_CODES:
            raise ValueError(f"rate_limit code must be one of {RATE_LIMIT_CODES}")
        if self.kind == "http_5xx" and not 500 <= self.code <= 599:
            raise ValueError("http_5xx code must be an HTTP status from 500 to 599")
        if self.kind not in {"rate_limit", "http_5xx"}:
            raise ValueError(
                f"code applies only to rate_limit, http_5xx and graph_error, not {self.kind}"
            )
        return self

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
        """The fault for this request: the first firing rule, plus any latency rules that fire.

        Every matching rule counts the request (so ``nth`` means the Nth matching request),
        but once one non-latency rule fires, later non-latency rules do not fire.
        """
        chosen: Fault | None = None
        delay = 0.0
        for index, rule in enumerate(self.rules):
            if not rule.matches(req):
                continue
            self.matched[index] += 1
            if (rule.kind != "latency" and chosen is not None) or not self._due(index, rule):
                continue
            self.fired[index] += 1
            fault = build_fault(rule)
            if rule.kind == "latency":
                delay += fault.delay_s
            else:
                chosen = fault
        if chosen is None:
            return Fault("latency", delay_s=delay) if delay > 0 else None
        chosen.delay_s += delay
        return chosen

    def _due(self, index: int, rule: FaultRule) -> bool:
        """Whether a matching rule fires now (its ``times``, ``nth`` or seeded probability)."""
        if rule.times is not None and self.fired[index] >= rule.times:
            return False
        if rule.nth is not None:
            return self.matched[index] == rule.nth
        return self._rng.random() < rule.probability

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
    if kind == "graph_error":
        return Fault(kind, error=_scripted_error(rule))
    return Fault(kind, error=_error_for(kind, rule.code))


def _scripted_error(rule: FaultRule) -> GraphError:
    """The envelope a ``graph_error`` rule asks for (a code 1/2 one is flagged transient)."""
    code = rule.code if rule.code is not None else 100
    return GraphError(
        message=rule.message or f"(#{code}) Scripted Graph error (sandbox fault)",
        code=code,
        subcode=rule.subcode,
        status=rule.status,
        is_transient=code in {1, 2},
    )


def _error_for(kind: str, code: int | None) -> GraphError:
    if kind == "unknown":
        return GraphError(message="An unknown error occurred", code=1, subcode=99, status=500)
    if kind == "rate_limit":
        return _rate_limit_error(code or 17)
    return GraphError(
        message="Service temporarily unavailable", code=2, status=503, is_transient=True
    )


def _rate_limit_error(code: int) -> GraphError:
    """The same envelopes the real limiter sends (ratelimit.py is their one spelling)."""
    if code in {80000, 80004}:
        return buc_limit_error(insights=code == 80000)
    if code == 613:
        return account_calls_error()
    if code == 4:
        return app_limit_error()
    return score_limit_error()


def parse_fault_spec(spec: str) -> list[FaultRule]:
    """Parse a JSON list of rules or the compact ``kind:key=value,...;...`` form.

    Raises:
        ValueError: naming the offending rule and what to write instead.
    """
    text = spec.strip()
    if not text:
        return []
    if not text.startswith("["):
        return [_parse_compact(part.strip()) for part in text.split(";") if part.strip()]
    try:
        items = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(
            f"fault spec is not valid JSON: {error.msg} at position {error.pos}"
        ) from None
    if not isinstance(items, list):
        raise ValueError("a JSON fault spec must be a list of rule objects")
    return [_validate(item, json.dumps(item)) for item in items]


_ALIASES = {"p": "probability", "ms": "latency_ms", "timeout": "timeout_s"}
_OPTIONS = ", ".join(sorted([*FaultRule.model_fields, *_ALIASES]))


def _parse_compact(part: str) -> FaultRule:
    kind, _, options = part.partition(":")
    kind = kind.strip()
    if kind not in FAULT_KINDS:
        raise ValueError(
            f"unknown fault kind {kind!r} in {part!r}; choose one of {', '.join(FAULT_KINDS)}"
        )
    values: dict[str, Any] = {"kind": kind}
    for option in filter(None, (item.strip() for item in options.split(","))):
        key, sep, value = option.partition("=")
        if not sep:
            raise ValueError(f"fault option {option!r} in {part!r} needs the form key=value")
        values[_ALIASES.get(key.strip(), key.strip())] = value.strip()
    return _validate(values, part)


def _validate(values: Any, source: str) -> FaultRule:
    """Build a rule, turning pydantic's report into one line per problem."""
    try:
        return FaultRule.model_validate(values)
    except ValidationError as error:
        problems = "; ".join(_problem(detail) for detail in error.errors())
        raise ValueError(f"invalid fault rule {source!r}: {problems}") from None


def _problem(detail: Any) -> str:
    where = ".".join(str(part) for part in detail["loc"])
    if detail["type"] == "extra_forbidden":
        return f"unknown option {where!r} (options: {_OPTIONS})"
    message = str(detail["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message
