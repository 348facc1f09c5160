"""``bulk``: up to 50 requests in one, each run as its own workflow with its own outcome.

``data`` is ``{"requests": [{action, account_id?, data, options?, request_id?}, ...]}``. Each
item goes through the Orchestrator like any request (validation, policy, journal, rollback,
replay by ``request_id``), a few at a time. An item's ``request_id`` defaults to
``{bulk request_id}/{index}``, so sending the bulk again (or an item alone under that id)
redoes nothing. Items inherit the bulk's ``account_id`` and ``options`` unless they give
their own; a dry-run bulk is a dry run throughout.

A failed item rolls back only itself. Its validation or policy error is its own result,
the field path rooted at the item (``data.requests[2].data.campaign.objective``); only a
malformed envelope (no list, over 50 items, a bulk inside a bulk, a request_id used twice)
refuses the whole bulk. The result lists every item in order::

    {"results": [{"index", "request_id", "workflow_id", "status", "result" | "error"}],
     "succeeded": n, "failed": m}

``status`` is the item's workflow status, or ``REFUSED`` when it was refused before a
workflow began (``workflow_id`` is then None).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from meta_agent.agents.validation import validate
from meta_agent.errors import ConfigError, MetaAgentError, RequestValidationError
from meta_agent.orchestrator.engine import StepFunction, StepRun, WorkflowContext, as_meta_error
from meta_agent.orchestrator.env import Env, Runner
from meta_agent.orchestrator.requests import OrchestratorRequest
from meta_agent.principals import normalize_account

MAX_ITEMS = 50
CONCURRENCY = 4
REFUSED = "REFUSED"


class BulkData(BaseModel):
    """The ``data`` of ``bulk``: 1 to 50 requests, each validated as its own request."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    requests: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_ITEMS)


@dataclass(frozen=True)
class Item:
    """One request of the bulk, as the Orchestrator will take it."""

    index: int
    request_id: str
    request: dict[str, Any]

    @property
    def at(self) -> str:
        """The path naming this item in the bulk's request."""
        return f"data.requests[{self.index}]"


@dataclass(frozen=True)
class Plan:
    """The items, in order."""

    items: tuple[Item, ...]


async def prepare(request: OrchestratorRequest, env: Env) -> Plan:
    """Check the envelope; each item is validated when it runs, as its own request.

    Raises:
        RequestValidationError: the envelope is malformed, an item is itself a bulk, or
            two items (or an item and the bulk) share a request_id.
    """
    data = validate(BulkData, request.data, "data")
    items = [_item(request, index, raw) for index, raw in enumerate(data.requests)]
    seen = {request.request_id}
    for item in items:
        if item.request_id in seen:
            field = f"{item.at}.request_id"
            raise RequestValidationError(
                f"{field}: {item.request_id!r} is used twice; each request needs its own",
                field=field,
            )
        seen.add(item.request_id)
    return Plan(tuple(items))


def _item(parent: OrchestratorRequest, index: int, raw: Mapping[str, Any]) -> Item:
    """The item with the bulk's defaults: request_id, agent, account and options."""
    if raw.get("action") == "bulk":
        field = f"data.requests[{index}].action"
        raise RequestValidationError(
            f"{field}: a bulk can't hold a bulk; put its requests in this one", field=field
        )
    request_id = raw.get("request_id") or f"{parent.request_id}/{index}"
    account = item_account(parent.account_id, raw, index)
    options = raw.get("options")
    if options is None or isinstance(options, Mapping):
        options = {**parent.options.model_dump(), **(options or {})}
    request = {
        "agent_id": parent.agent_id,
        **raw,
        "account_id": account,
        "request_id": request_id,
        "options": options,
    }
    return Item(index, str(request_id), request)


def item_account(default: str | None, raw: Mapping[str, Any], index: int) -> str | None:
    """The one account an item works on: its own, normalised, else the bulk's.

    Missing, null and empty all mean "the bulk's"; authorisation and execution both read
    this value, so they cannot disagree about which account an item touches.

    Raises:
        RequestValidationError: the item's account_id is not an ad account id.
    """
    own = normalize_account(raw.get("account_id"), field=f"data.requests[{index}].account_id")
    return own or default


async def run(
    ctx: WorkflowContext, request: OrchestratorRequest, plan: Plan, env: Env
) -> dict[str, Any]:
    """Every item through the Orchestrator, ``CONCURRENCY`` at a time; results in order.

    Raises:
        ConfigError: the Env has no Orchestrator to run the items.
    """
    runner = env.runner
    if runner is None:
        raise ConfigError("bulk runs its items through the Orchestrator: build Orchestrator(env)")
    limit = asyncio.Semaphore(CONCURRENCY)

    async def one(item: Item) -> dict[str, Any]:
        async with limit:
            return await ctx.step(
                f"item:{item.index}",
                _executing(runner, item),
                input={"request_id": item.request_id, "action": item.request.get("action")},
            )

    results = await asyncio.gather(*(one(item) for item in plan.items))
    succeeded = sum(1 for outcome in results if "result" in outcome)
    return {"results": results, "succeeded": succeeded, "failed": len(results) - succeeded}


def _executing(runner: Runner, item: Item) -> StepFunction:
    """The step of one item: its outcome, never its exception (it fails alone)."""

    async def execute(run: StepRun) -> dict[str, Any]:
        outcome: dict[str, Any] = {"index": item.index, "request_id": item.request_id}
        try:
            response = await runner(item.request)
        except Exception as error:  # the item's own failure, whatever it is
            refusal = under(as_meta_error(error), item.at)
            return {**outcome, "workflow_id": None, "status": REFUSED, "error": refusal}
        outcome |= {"workflow_id": response.workflow_id, "status": response.status}
        if response.ok:
            return {**outcome, "result": response.result}
        return {**outcome, "error": response.error}

    return execute


def under(error: MetaAgentError, at: str) -> dict[str, Any]:
    """``error`` as a dict, its field paths rooted at ``at`` (the item in the bulk)."""
    out = error.to_dict()
    field = error.details.get("field")
    if isinstance(field, str) and field:
        out["field"] = f"{at}.{field}"
        if error.message.startswith(field):
            out["message"] = f"{at}.{error.message}"
    problems = error.details.get("problems")
    if isinstance(problems, list):
        out["problems"] = [_problem(problem, at) for problem in problems]
    return out


def _problem(problem: Any, at: str) -> Any:
    """One entry of ``problems``: ``"path: fix"`` or ``{"field": path, "message": fix}``."""
    if isinstance(problem, str):
        return f"{at}.{problem}"
    if isinstance(problem, Mapping) and isinstance(problem.get("field"), str):
        return {**problem, "field": f"{at}.{problem['field']}"}
    return problem
