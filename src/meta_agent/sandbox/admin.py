"""Admin endpoints under ``/_sandbox/``, outside Meta's namespace: the test harness's handles."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from meta_agent.sandbox.clock import ManualClock
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
        kind = request.query_params.get("kind")
        now = sb.clock.now()
        listed = [
            {**record, "effective_status": effective_status(sb.state, record, now)}
            if "status" in record
            else record
            for record in sb.state.objects.values()
            if kind is None or record["kind"] == kind
        ]
        return JSONResponse({"data": listed, "count": len(listed)})

    async def requests(_: Request) -> Response:
        counters = sb.counters
        return JSONResponse({"total": counters.total, "by_route": counters.by_route})

    async def advance(request: Request) -> Response:
        if not isinstance(sb.clock, ManualClock):
            return _bad_request(
                "clock: the sandbox runs on the system clock; start it with a ManualClock"
            )
        try:
            seconds = float(request.query_params.get("seconds", "0"))
        except ValueError:
            return _bad_request("seconds: give a number of seconds, e.g. ?seconds=60")
        sb.clock.advance(seconds)
        return JSONResponse({"now": sb.clock.now()})

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
    ]


async def _fault_rules(request: Request) -> list[FaultRule]:
    body: Any = json.loads(await request.body() or b"[]")
    if isinstance(body, dict) and "spec" in body:
        return parse_fault_spec(str(body["spec"]))
    if not isinstance(body, list):
        raise ValueError('faults: send a JSON list of rules or {"spec": "kind:key=value;..."}')
    return parse_fault_spec(json.dumps(body))


def _bad_request(message: str) -> Response:
    return JSONResponse({"error": {"message": message, "type": "SandboxAdminError"}}, 400)
