"""The MCP tools: one per orchestrator action, plus reads; each a thin call to the facade.

Every method of :class:`MetaAgentTools` is one tool. Its docstring is the description a model
reads, so it says what the tool does, when to use it, what it costs, and what comes back.
Writing tools return :class:`OrchestratorResponse` as structured content (an error result
when the workflow failed); reads return their own models. Titles and hints (read-only,
destructive, idempotent, open world) are in ``mcp_server.CATALOGUE``. Each tool first
checks that its caller (:class:`~meta_agent.interfaces.mcp_auth.Access`) may perform it, on
that account; writes run on the caller's behalf (``service.execute(..., principal=...)``).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel, ConfigDict, Field

from meta_agent.agents.insights import DatePreset, DateSpan
from meta_agent.agents.report import Level
from meta_agent.agents.reporting.builder import MarketerReport
from meta_agent.errors import RequestValidationError
from meta_agent.interfaces.http.auth import READ, RESUME, ROLLBACK
from meta_agent.interfaces.mcp_auth import (
    Access,
    require_action,
    require_object,
    require_request,
    require_workflow,
    visible,
)
from meta_agent.orchestrator.requests import OrchestratorResponse
from meta_agent.principals import normalize_account
from meta_agent.service import MetaAgentService
from meta_agent.service.health import HealthReport
from meta_agent.store.journal import ApprovalStatus, WorkflowRecord, WorkflowStatus

AGENT_ID = "mcp"
MAX_LISTED = 200
DEFAULT_PRESET: DatePreset = "last_7d"

Data = Annotated[
    dict[str, Any],
    Field(
        description="The action's input; its JSON schema is given here (field paths in errors start at data)."
    ),
]
AccountId = Annotated[
    str | None,
    Field(description="The ad account: 'act_' followed by digits, e.g. act_1234567890."),
]
RequestId = Annotated[
    str | None,
    Field(
        max_length=200,
        description=(
            "Your id for this request (e.g. a UUID you keep). Sending the same request_id again "
            "returns the first outcome and changes nothing, so after a timeout retry with the "
            "SAME id. Omitted: a fresh id, and a retry would act twice."
        ),
    ),
]
DryRun = Annotated[
    bool,
    Field(
        description=(
            "true: Meta validates the whole plan (validate_only) and NOTHING is created or "
            "changed; result.objects is the plan (names, budgets in major units, targeting "
            "with Meta's ids, creatives, Meta's audience estimate per ad set, the policy's "
            "verdict). Journaled apart, so the real call may reuse the same request_id."
        )
    ),
]
Activate = Annotated[
    bool,
    Field(
        description=(
            "true: set everything ACTIVE once all of it exists, so it starts SPENDING money. "
            "The account's policy may hold the activation: the response is then status "
            "PENDING_APPROVAL and a person with approver rights must grant it (you cannot "
            "approve your own request). false: everything stays PAUSED."
        )
    ),
]
WorkflowId = Annotated[
    str, Field(description="A workflow_id from a previous response or from list_workflows.")
]
ObjectId = Annotated[
    str,
    Field(description="A campaign, ad set or ad id (digits), or an ad account (act_<digits>)."),
]
ObjectLevel = Annotated[
    Level, Field(description="The level of object_id: account, campaign, adset or ad.")
]
Preset = Annotated[
    DatePreset | None,
    Field(description="A period such as last_7d (the default when no time_range is given)."),
]
Span = Annotated[
    DateSpan | None,
    Field(description="{'since': 'YYYY-MM-DD', 'until': 'YYYY-MM-DD'}; instead of date_preset."),
]
Outcome = Annotated[CallToolResult, OrchestratorResponse]
WriteTool = Callable[..., Awaitable[CallToolResult]]


class UndoAnswer(BaseModel):
    """What undo_workflow answers: the plan (a dry run), or the workflow's outcome with the
    plan it carried out under ``undo``."""

    model_config = ConfigDict(extra="allow")

    workflow_id: str
    dry_run: bool
    status: str = Field(description="COMPLETED while only planned; ROLLED_BACK once undone")
    error: dict[str, Any] | None = None


class InsightsRows(BaseModel):
    """Insights rows as Meta reports them (counts as integers, money as decimal strings)."""

    rows: list[dict[str, Any]]
    count: int


class WorkflowInfo(BaseModel):
    """A journaled workflow: what it did and how it ended."""

    model_config = ConfigDict(extra="ignore")

    id: str
    request_id: str
    action: str
    account_id: str | None
    status: WorkflowStatus
    created_at: str
    updated_at: str
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None


class StepInfo(BaseModel):
    """One journaled step (``kind`` is ``action`` or ``compensation``)."""

    model_config = ConfigDict(extra="ignore")

    seq: int
    name: str
    kind: str
    status: str
    idempotency_key: str | None = None
    started_at: str
    finished_at: str | None = None
    input: dict[str, Any] = {}
    output: dict[str, Any] | None = None
    error: dict[str, Any] | None = None


class ResourceInfo(BaseModel):
    """An object a step created on Meta, and whether a rollback undid it."""

    model_config = ConfigDict(extra="ignore")

    step: str
    kind: str
    object_id: str
    undo: str
    undone: bool
    details: dict[str, Any] = {}


class WorkflowDetail(BaseModel):
    """One workflow with its steps and the objects it created."""

    workflow: WorkflowInfo
    steps: list[StepInfo]
    resources: list[ResourceInfo]


class ApprovalList(BaseModel):
    """Approvals of the caller's accounts, newest first."""

    approvals: list[dict[str, Any]]
    count: int


class WorkflowList(BaseModel):
    """Workflows, newest first."""

    workflows: list[WorkflowInfo]
    count: int


def outcome(response: OrchestratorResponse) -> CallToolResult:
    """A workflow's response as a tool result: structured, and an error result when it failed."""
    body = response.model_dump(mode="json")
    text = TextContent(type="text", text=json.dumps(body, indent=2))
    return CallToolResult(content=[text], structured_content=body, is_error=not response.ok)


def workflow_info(record: WorkflowRecord) -> WorkflowInfo:
    """A journal record as the tools show it (without the request, which may hold images)."""
    return WorkflowInfo(
        id=record.id,
        request_id=record.request_id,
        action=record.action,
        account_id=record.account_id,
        status=record.status,
        created_at=record.created_at.isoformat(),
        updated_at=record.updated_at.isoformat(),
        result=record.result,
        error=record.error,
    )


def dates(preset: DatePreset | None, span: DateSpan | None) -> dict[str, Any]:
    """The period as facade keyword arguments: the range, the preset, or the default preset."""
    if span is not None and preset is None:
        return {"time_range": span}
    if span is None:
        return {"date_preset": preset or DEFAULT_PRESET}
    return {"date_preset": preset, "time_range": span}  # both: the facade names the conflict


def unprefixed(error: RequestValidationError, prefix: str) -> RequestValidationError:
    """``error`` with ``prefix`` dropped from its paths, so they name the tool's arguments."""
    details = dict(error.details)
    if isinstance(details.get("field"), str):
        details["field"] = details["field"].removeprefix(prefix)
    details["problems"] = [str(p).removeprefix(prefix) for p in details.get("problems") or []]
    return RequestValidationError(error.message.removeprefix(prefix), **details)


def _write_tool(action: str, description: str) -> WriteTool:
    """A writing tool: ``action`` run by the orchestrator, ``description`` for the model."""

    async def tool(
        self: MetaAgentTools,
        data: Data,
        account_id: AccountId = None,
        request_id: RequestId = None,
        dry_run: DryRun = False,
        activate: Activate = False,
    ) -> Outcome:
        principal = self.access.principal()
        account = normalize_account(account_id)
        require_request(principal, action, account, data)
        request: dict[str, Any] = {
            "action": action,
            "agent_id": AGENT_ID,
            "account_id": account,
            "data": data,
            "options": {"dry_run": dry_run, "activate": activate},
        }
        if request_id is not None:
            request["request_id"] = request_id
        return outcome(await self.service.execute(request, principal=principal))

    tool.__name__ = tool.__qualname__ = action
    tool.__doc__ = description
    return tool


class MetaAgentTools:
    """The tools, bound to one service and to how callers are known (``access``)."""

    def __init__(self, service: MetaAgentService, access: Access | None = None) -> None:
        self.service = service
        self.access = access or Access.local()

    create_full_campaign = _write_tool(
        "create_full_campaign",
        """Launch a complete campaign on Meta: images/videos, the campaign, its ad sets, creatives and ads.

        Use it to go from nothing to a ready campaign in one call. All of it is created or none
        of it: if any step fails, everything already created is deleted again (status
        ROLLED_BACK, with the error). Every object is created PAUSED; nothing spends money
        unless activate=true, which switches everything ACTIVE only once all of it exists.
        The account's policy may hold the activation for a person's approval: the status is
        then PENDING_APPROVAL (everything created, still PAUSED); you cannot approve your own
        request, so tell the user and check back with workflow_status.

        Run it first with dry_run=true: Meta validates the campaign and creatives, our rules
        check the rest, and nothing is created. Then call again without dry_run, with the same
        request_id. Budgets are integers in the account currency's minor unit (paise, cents):
        50000 = 500.00 INR. Images are {name, data (base64) | url | path}, at least 600x315
        px; an ad's creative names its image with image_ref = that image's name, and its ad
        set with adset_ref = the ad set's name.

        Costs: a handful of Graph API calls (account, uploads, one batch for the structure,
        one more to activate). Returns workflow_id (for workflow_status, resume_workflow,
        rollback_workflow), status, and result with every created id.
        """,
    )
    create_campaign = _write_tool(
        "create_campaign",
        """Create a campaign and its ad sets (no creatives or ads), all or nothing.

        Use it to set up the structure and budgets before the ads exist; add ads later with
        create_full_campaign or the Ads Manager. data = {campaign: {name, objective, ...},
        adsets: [{name, optimization_goal, billing_event, daily_budget, targeting}, ...]}.
        Everything is created PAUSED (it spends nothing) unless activate=true. Try
        dry_run=true first (it creates nothing), then the real call with the same request_id.
        Budgets are integers in the currency's minor unit (50000 = 500.00 INR). A failure
        deletes what was created (status ROLLED_BACK).

        Costs: two or three Graph API calls. Returns workflow_id, status and the created ids
        (result.campaign.id, result.adsets[].id).
        """,
    )
    update_campaign = _write_tool(
        "update_campaign",
        """Change budgets, status, schedule, names or bids of existing campaigns and ad sets.

        data = {updates: [{object_id, level: campaign|adset, changes: {daily_budget: 60000,
        status: ACTIVE, ...}}]}. Setting status ACTIVE or raising a budget SPENDS more money;
        the account's policy caps budgets and increases, and may hold a change for a person's
        approval (status PENDING_APPROVAL; you cannot approve your own request). Each
        object's old values are journaled first: if a later update fails, the earlier ones
        are put back. dry_run=true returns the planned before/after and changes nothing.

        Costs: one read and one write per object. Returns workflow_id, status and, per object,
        the values before and after.
        """,
    )
    update_creative = _write_tool(
        "update_creative",
        """Make an existing ad show another creative (creatives themselves cannot be edited).

        data = {ad_id, creative: {...new creative...}} or {ad_id, creative_id: an existing
        one}; new images go in images and are named by the creative's image_ref. The ad is
        sent back to Meta's review and keeps its status. If anything fails the ad is pointed
        back at its old creative and the new one deleted. dry_run=true changes nothing.

        Costs: an upload (if images), one creative, one ad update. Returns workflow_id,
        status, the new creative_id and the previous one.
        """,
    )
    optimize_campaign = _write_tool(
        "optimize_campaign",
        """Apply the optimizer to one campaign: pause losers, shift budget to winners.

        data = {campaign_id, date_preset | time_range (default last_7d), policy: {...}}. It
        reads the campaign's ad-set and ad insights, plans changes, drops any budget raise the
        account's policy forbids (with a note), then applies them, lowering spend first.
        Budget raises SPEND more money. Run dry_run=true first to see the plan; nothing is
        changed. A failure puts back the values already changed.

        Costs: a few insights queries plus one write per change. Returns workflow_id, status,
        the changes applied and notes on what was skipped.
        """,
    )
    bulk = _write_tool(
        "bulk",
        """Run up to 50 requests of the other actions in one call, each with its own outcome.

        data = {requests: [{action, data, account_id?, options?, request_id?}, ...]}. Items
        inherit this call's account_id and options (dry_run, activate) unless they give their
        own; one failing item rolls back only itself. Objects are created PAUSED unless
        activate=true. Send the same request_id again to get the same results with nothing
        redone (item ids default to '<request_id>/<index>').

        Costs: the sum of the items, a few at a time. Returns result.results (per item:
        index, request_id, workflow_id, status, result or error), succeeded and failed.
        """,
    )

    async def get_insights(
        self,
        object_id: ObjectId,
        level: ObjectLevel,
        date_preset: Preset = None,
        time_range: Span = None,
        fields: Annotated[
            list[str] | None,
            Field(description="Insights fields, e.g. ['impressions', 'clicks', 'spend']."),
        ] = None,
        breakdowns: Annotated[
            list[str] | None,
            Field(description="e.g. ['age', 'gender'] or ['publisher_platform']."),
        ] = None,
        time_increment: Annotated[
            int | Literal["monthly", "all_days"] | None,
            Field(description="1 for one row per day (1-90 days), 'monthly' or 'all_days'."),
        ] = None,
    ) -> InsightsRows:
        """Read performance numbers (impressions, clicks, spend, actions...) for one object.

        Read-only and safe to repeat; answers are cached briefly. Use it for specific figures;
        use performance_report for a summary with recommendations. Spend is in the account
        currency's major unit, as Meta reports it. Costs: one Graph API query (large ones run
        as an async report job).
        """
        principal = self.access.principal()
        require_action(principal, "get_insights")
        await require_object(principal, self.service, object_id)
        params: dict[str, Any] = {"object_id": object_id, "level": level}
        params |= dates(date_preset, time_range)
        extra = {"fields": fields, "breakdowns": breakdowns, "time_increment": time_increment}
        params |= {name: value for name, value in extra.items() if value is not None}
        try:
            rows = await self.service.insights(params)
        except RequestValidationError as error:
            raise unprefixed(error, "params.") from None
        return InsightsRows(rows=rows, count=len(rows))

    async def performance_report(
        self,
        object_id: ObjectId,
        level: Annotated[
            Level | None,
            Field(description="The level of object_id (default: asked of Meta)."),
        ] = None,
        date_preset: Preset = None,
        time_range: Span = None,
        result_action: Annotated[
            str | None,
            Field(description="The action that counts as a result, e.g. 'purchase' or 'lead'."),
        ] = None,
        attribution_windows: Annotated[
            list[str] | None,
            Field(description="Attribution windows to count conversions in too, e.g. 1d_click."),
        ] = None,
    ) -> MarketerReport:
        """Summarise how a campaign, ad set, ad or account performed, with recommendations.

        Read-only. Returns totals (spend, impressions, reach, clicks, CTR, CPC, CPM, results,
        cost per result, ROAS), a daily series, platform, placement and age x gender
        breakdowns, rows per campaign / ad set / ad / creative, pacing against the budget,
        the previous period with each change, the attribution setting, and recommendations
        (low CTR, fatigue, pacing...); ``note`` says in words when there was no delivery or
        too little data to advise. ``synthetic`` is true for sandbox data. Money is exact:
        ``spend`` in minor units, ratios as decimal strings. Costs: about a dozen queries.
        """
        principal = self.access.principal()
        require_action(principal, "performance_report")
        await require_object(principal, self.service, object_id)
        period = dates(date_preset, time_range)
        windows = tuple(attribution_windows or ())
        return await self.service.report(
            object_id, level, result_action=result_action, attribution_windows=windows, **period
        )

    async def workflow_status(self, workflow_id: WorkflowId) -> WorkflowDetail:
        """Show one workflow: its status, every journaled step and every object it created.

        Read-only, local (no call to Meta). Use it after a create or update to see what
        happened, or on a RUNNING or failed workflow to decide between resume_workflow and
        rollback_workflow. Statuses: RUNNING, COMPLETED, FAILED, ROLLING_BACK, ROLLED_BACK,
        ROLLBACK_FAILED, PENDING_APPROVAL (waiting for a person to approve a write; you cannot
        approve it yourself).
        """
        await require_workflow(self.access.principal(), self.service, workflow_id)
        return WorkflowDetail.model_validate(await self.service.workflow(workflow_id))

    async def list_workflows(
        self,
        status: Annotated[
            WorkflowStatus | None, Field(description="Only workflows with this status.")
        ] = None,
        limit: Annotated[int, Field(ge=1, le=200, description="At most this many.")] = 20,
    ) -> WorkflowList:
        """List recent workflows, newest first, optionally only those with one status.

        Read-only, local (no call to Meta). Use it to find a workflow_id, or
        status=RUNNING to find interrupted work to resume or roll back.
        """
        principal = self.access.principal()
        everything = principal.all_accounts and principal.allows_action(READ)
        # A limited principal sees a filtered page: fetch the most, then keep ``limit``.
        fetch = limit if everything else MAX_LISTED
        records = await self.service.workflows(status=status, limit=fetch)
        shown = [record for record in records if visible(principal, record)][:limit]
        infos = [workflow_info(record) for record in shown]
        return WorkflowList(workflows=infos, count=len(infos))

    async def list_approvals(
        self,
        status: Annotated[
            ApprovalStatus | None, Field(description="Only PENDING, APPROVED, REJECTED or EXPIRED.")
        ] = None,
    ) -> ApprovalList:
        """List approvals of your accounts: writes a policy held until a person approves them.

        Read-only, local (no call to Meta). Each shows the exact writes waiting (diff), why
        (rules), who asked and when it expires. You cannot approve or reject: an approver
        does that with their own key (meta-agent approvals approve ID, or the HTTP API).
        """
        principal = self.access.principal()
        found = await self.service.approvals(principal, status=status)
        return ApprovalList(approvals=found, count=len(found))

    async def wait_for_approval(
        self,
        approval_id: Annotated[str, Field(max_length=64, description="The approval's id.")],
        seconds: Annotated[
            float, Field(ge=0, le=60, description="How long to wait for a decision.")
        ] = 30,
    ) -> dict[str, Any]:
        """Wait (up to 60 s) for a person to decide an approval; returns it as it then stands.

        Read-only. status PENDING means nobody decided yet: call again later, or tell the user
        what waits. APPROVED means the workflow carried on (see workflow_status with its
        workflow_id); REJECTED or EXPIRED means it ended, rolled back unless asked otherwise.
        """
        principal = self.access.principal()
        return await self.service.wait_approval(approval_id, principal, seconds=seconds)

    async def health(self) -> HealthReport:
        """Check that meta-agent can work: the Graph API, the journal, the cache and the agents.

        Read-only; call it first. mode says whether requests go to Meta ('live') or to the
        embedded offline sandbox ('sandbox', where nothing real is created or spent).
        """
        return await self.service.health()

    async def resume_workflow(self, workflow_id: WorkflowId) -> Outcome:
        """Carry on a workflow that was interrupted (status RUNNING) from its last step.

        Completed steps are not redone; objects whose creation may or may not have happened
        are looked up on Meta before anything is sent again. It may create objects and, if
        the original request asked for it, activate them (spending money). Returns the same
        response as the original action.
        """
        await require_workflow(self.access.principal(), self.service, workflow_id, RESUME)
        return outcome(await self.service.resume(workflow_id))

    async def rollback_workflow(self, workflow_id: WorkflowId) -> Outcome:
        """Undo an interrupted or failed workflow: delete every object it created, newest first.

        DESTRUCTIVE: the objects are deleted on Meta. A completed workflow is refused (change
        its objects with a new request instead). Safe to repeat: what is already gone counts
        as undone. Returns the workflow's response with status ROLLED_BACK, or
        ROLLBACK_FAILED with what could not be deleted.
        """
        await require_workflow(self.access.principal(), self.service, workflow_id, ROLLBACK)
        return outcome(await self.service.rollback(workflow_id))

    async def undo_workflow(
        self, workflow_id: WorkflowId, dry_run: bool = True, force: bool = False
    ) -> UndoAnswer:
        """Undo a COMPLETED workflow: delete what it created, restore what it changed.

        Call it first as it is (dry_run true, the default): the answer lists every object
        with its action (delete, restore, none when already gone) and, under changed_since,
        the objects edited since the workflow finished, field by field. Show that to the
        person and ask. Then call with dry_run false. Objects changed since are refused
        (an error naming them) unless force is true. DESTRUCTIVE when dry_run is false:
        objects are deleted on Meta. Returns the workflow's outcome (status ROLLED_BACK, or
        ROLLBACK_FAILED with what is left) with the plan under undo.
        """
        await require_workflow(self.access.principal(), self.service, workflow_id, ROLLBACK)
        answer = await self.service.undo(workflow_id, dry_run=dry_run, force=force)
        return UndoAnswer.model_validate(answer)
