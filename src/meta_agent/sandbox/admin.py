"""Admin endpoints under ``/_sandbox/``, outside Meta's namespace: the test harness's handles.

``GET /_sandbox/objects`` lists every record, deleted ones included, with its
``effective_status``; ``?kind=campaign,adset`` keeps some kinds, ``?account_id=act_1``
one account, and ``?live=true`` only what is neither DELETED nor under a DELETED campaign or
ad set: the witness that a rollback left nothing behind. ``?live=false`` lists the rest.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from meta_agent.sandbox.clock import AcceleratedClock, ManualClock
from meta_agent.sandbox.core import Sandbox
from meta_agent.sandbox.faults import FaultRule, parse_fault_spec
from meta_agent.sandbox.state import SandboxState
from meta_agent.sandbox.status import effective_status


def admin_routes(sb: Sandbox) -> list[BaseRoute]:
    """The ``/_sandbox/*`` routes bound to one sandbox."""

    async def reset(_: Request) -> Response:
        sb.reset()
        return JSONResponse({"success": True})

    async def state(request: Request) -> Response:
        if request.method == "GET":
            return JSONResponse(sb.state.to_json())
        try:
            sb.reset(SandboxState.from_json(json.loads(await request.body())))
        except (ValueError, TypeError) as error:
            return _bad_request(f"state: {error}")
        return JSONResponse({"success": True, "objects": len(sb.state.objects)})

    async def faults(request: Request) -> Response:
        if request.method == "POST":
            try:
                sb.faults.replace(await _fault_rules(request))
            except ValueError as error:
                return _bad_request(str(error))
        elif request.method == "DELETE":
            sb.faults.replace([])
        return JSONResponse({"rules": sb.faults.describe()})

    async def objects(request: Request) -> Response:
        try:
            chosen = _object_filter(request.query_params)
        except ValueError as error:
            return _bad_request(str(error))
        listed = list_objects(sb, chosen)
        return JSONResponse({"data": listed, "count": len(listed)})

    async def requests(_: Request) -> Response:
        counters = sb.counters
        return JSONResponse({"total": counters.total, "by_route": counters.by_route})

    async def advance(request: Request) -> Response:
        clock = sb.clock
        if not isinstance(clock, ManualClock | AcceleratedClock):
            return _bad_request(
                "clock: the sandbox runs on the system clock, which cannot be moved; start it "
                "with `meta-agent sandbox --clock manual` (or --clock accelerated), or "
                "create_app(clock=ManualClock()) in process"
            )
        try:
            seconds = _advance_seconds(request.query_params, await request.body())
        except ValueError as error:
            return _bad_request(str(error))
        clock.advance(seconds)
        now = clock.now()
        return JSONResponse(
            {
                "now": now,
                "now_iso": datetime.fromtimestamp(now, UTC).isoformat(),
                "advanced": seconds,
            }
        )

    async def breakdown_opt_in(request: Request) -> Response:
        # {"account_id": "act_X", "opted_in": true}: the Ads Manager opt-in (insights.optin).
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            body = None
        account = sb.state.find(str(body.get("account_id"))) if isinstance(body, dict) else None
        if not isinstance(body, dict) or account is None or account.get("kind") != "adaccount":
            return _bad_request(
                'breakdown_opt_in: send {"account_id": "act_<id>", "opted_in": true}'
            )
        account["breakdown_opt_in"] = bool(body.get("opted_in", True))
        sb.state.touch()
        return JSONResponse({"account_id": account["id"], "opted_in": account["breakdown_opt_in"]})

    async def health(_: Request) -> Response:
        return JSONResponse({"status": "ok", "objects": len(sb.state.objects)})

    return [
        Route("/_sandbox/reset", reset, methods=["POST"]),
        Route("/_sandbox/state", state, methods=["GET", "PUT", "POST"]),
        Route("/_sandbox/faults", faults, methods=["GET", "POST", "DELETE"]),
        Route("/_sandbox/objects", objects, methods=["GET"]),
        Route("/_sandbox/requests", requests, methods=["GET"]),
        Route("/_sandbox/clock/advance", advance, methods=["POST"]),
        Route("/_sandbox/health", health, methods=["GET"]),
        Route("/_sandbox/breakdown_opt_in", breakdown_opt_in, methods=["POST"]),
    ]


@dataclass(frozen=True)
class ObjectFilter:
    """What ``GET /_sandbox/objects`` lists: kinds, one account, only live objects."""

    kinds: frozenset[str] | None = None
    account_id: str | None = None
    live: bool | None = None


def list_objects(sb: Sandbox, chosen: ObjectFilter) -> list[dict[str, Any]]:
    """Every record that passes ``chosen``, with its ``effective_status`` when it has a status.

    ``live=True`` keeps objects that are neither DELETED nor under a DELETED campaign or ad
    set, which is how a test proves a rollback left nothing running.
    """
    now = sb.clock.now()
    out = []
    for record in sb.state.objects.values():
        if chosen.kinds is not None and record["kind"] not in chosen.kinds:
            continue
        if chosen.account_id is not None and record.get("account_id") != chosen.account_id:
            continue
        if chosen.live is None or _is_live(sb, record) == chosen.live:
            out.append(_with_status(sb, record, now))
    return out


def _is_live(sb: Sandbox, record: dict[str, Any]) -> bool:
    """Not DELETED, and not under a DELETED campaign or ad set (deletes do not cascade here)."""
    parents = (sb.state.find(str(record.get(key))) for key in ("campaign_id", "adset_id"))
    chain = [record, *(parent for parent in parents if parent is not None)]
    return all(item.get("status") != "DELETED" for item in chain)


def _with_status(sb: Sandbox, record: dict[str, Any], now: float) -> dict[str, Any]:
    if "status" not in record:
        return record
    return {**record, "effective_status": effective_status(sb.state, record, now)}


_UNITS = {"seconds": 1.0, "minutes": 60.0, "hours": 3600.0, "days": 86_400.0}


def _advance_seconds(query: Mapping[str, str], body: bytes) -> float:
    """Sum ``seconds``, ``minutes``, ``hours`` and ``days`` from the query and a JSON body.

    ``{"days": 7}`` and ``?days=7`` are the same week; units add up (``{"days": 1, "hours": 2}``).

    Raises:
        ValueError: a body that is not a JSON object, a unit that is not a number, a
            negative total (sandbox time never goes back), or no unit at all.
    """
    given: dict[str, Any] = dict(query.items())
    if body.strip():
        try:
            decoded = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            decoded = None
        if not isinstance(decoded, dict):
            raise ValueError('clock: send a JSON object such as {"days": 7} or {"seconds": 60}')
        given.update(decoded)
    unknown = sorted(set(given) - set(_UNITS))
    if unknown:
        raise ValueError(f"clock: unknown unit {', '.join(unknown)}; use {', '.join(_UNITS)}")
    if not given:
        raise ValueError('clock: say how far, e.g. {"days": 7} or ?seconds=60')
    total = 0.0
    for unit, value in given.items():
        try:
            amount = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{unit}: give a number, e.g. {unit}=1, not {value!r}") from None
        total += amount * _UNITS[unit]
    if total < 0 or total != total:  # negative or NaN
        raise ValueError("clock: sandbox time only moves forward; give a positive amount")
    return total


_FLAGS = {"true": True, "1": True, "false": False, "0": False}


def _object_filter(query: Mapping[str, str]) -> ObjectFilter:
    """Parse ``kind`` (comma list), ``account_id`` (digits or act_) and ``live``.

    Raises:
        ValueError: ``live`` is not true/false, naming the parameter and its values.
    """
    kinds = query.get("kind")
    account = query.get("account_id")
    live = query.get("live")
    if live is not None and live.lower() not in _FLAGS:
        raise ValueError(f"live: give true or false, not {live!r}")
    return ObjectFilter(
        kinds=frozenset(k.strip() for k in kinds.split(",") if k.strip()) if kinds else None,
        account_id=account.removeprefix("act_") if account else None,
        live=_FLAGS[live.lower()] if live is not None else None,
    )


async def _fault_rules(request: Request) -> list[FaultRule]:
    body: Any = json.loads(await request.body() or b"[]")
    if isinstance(body, dict) and "spec" in body:
        return parse_fault_spec(str(body["spec"]))
    if not isinstance(body, list):
        raise ValueError('faults: send a JSON list of rules or {"spec": "kind:key=value;..."}')
    return parse_fault_spec(json.dumps(body))


def _bad_request(message: str) -> Response:
    return JSONResponse({"error": {"message": message, "type": "SandboxAdminError"}}, 400)
