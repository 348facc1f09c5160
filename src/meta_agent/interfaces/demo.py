"""``meta-agent demo``: one full campaign through the whole stack, offline, in seconds.

The bundled request (:mod:`meta_agent.interfaces.demo_request`) goes through
:class:`~meta_agent.service.MetaAgentService` exactly as a request from the ambient agent
would, against a FRESH in-memory Marketing API sandbox on a manual clock, with the journal
in a temporary directory: nothing on the machine is read or changed, and no Meta account is
needed. The campaign is activated at the end of the launch; the sandbox clock then moves a
week forward (instantly) so the synthetic delivery model has spent, and the performance
report of that week is read back.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from meta_agent.agents.report import PerformanceReport
from meta_agent.config import load_settings
from meta_agent.interfaces.demo_request import HEADLINES, demo_request
from meta_agent.interfaces.render import created_rows
from meta_agent.orchestrator import events as ev
from meta_agent.orchestrator.requests import OrchestratorResponse
from meta_agent.sandbox import ManualClock, SandboxConfig, create_app
from meta_agent.service import MetaAgentService

WEEK_SECONDS = 7 * 24 * 3600
REPORT_PRESET = "last_7d"


# How the demo tells of the orchestrator's events (the bus emits them once journaled).
EVENT_TEXT = {
    ev.WORKFLOW_STARTED: "workflow {workflow_id} started",
    ev.STEP_COMPLETED: "step {step} completed",
    ev.CAMPAIGN_CREATED: "campaign {campaign_id} created in {account_id}",
    ev.WORKFLOW_COMPLETED: "workflow completed",
    ev.WORKFLOW_FAILED: "workflow failed",
    ev.WORKFLOW_ROLLED_BACK: "workflow rolled back",
}


class DemoReporter(Protocol):
    """Hears the demo's progress: a phase starting, an event of the workflow."""

    def phase(self, text: str) -> None:
        """A phase of the demo begins."""

    def event(self, text: str) -> None:
        """Something the workflow journaled (a step completed, a campaign created, ...)."""


class QuietReporter:
    """Hears nothing (``--json``)."""

    def phase(self, text: str) -> None:
        """Ignore a phase."""

    def event(self, text: str) -> None:
        """Ignore an event."""


def describe(event: ev.Event) -> str | None:
    """A line for people about ``event`` (None for events the demo does not tell of)."""
    template = EVENT_TEXT.get(event.type)
    if template is None:
        return None
    try:
        return template.format(workflow_id=event.workflow_id, **event.data)
    except KeyError:
        return event.type.replace("_", " ")


@dataclass
class DemoOutcome:
    """What the demo did: the launch's response, its steps, and the week's report."""

    response: OrchestratorResponse
    steps: list[str] = field(default_factory=list)
    report: PerformanceReport | None = None

    @property
    def ok(self) -> bool:
        """True when the launch completed and the report was read."""
        return self.response.error is None and self.report is not None

    def to_json(self) -> dict[str, Any]:
        """The whole outcome as one JSON-ready document."""
        return {
            "mode": "sandbox",
            "request_id": self.response.request_id,
            "workflow_id": self.response.workflow_id,
            "status": self.response.status,
            "steps": self.steps,
            "created": created_rows(self.response.result or {}),
            "result": self.response.result,
            "error": self.response.error,
            "report": self.report.model_dump(mode="json") if self.report else None,
        }


async def run_demo(config: Path | None = None, reporter: DemoReporter | None = None) -> DemoOutcome:
    """Launch the bundled campaign, let a week pass, and read its report.

    ``config`` supplies the policies (and API version) to rehearse with; the journal, the
    cache and the sandbox are always the demo's own.

    Raises:
        UsageError: the configuration or its policy refused the request.
    """
    hear = reporter or QuietReporter()
    hear.phase(f"Drawing {len(HEADLINES)} images (1200x1200) and building the request")
    request = demo_request()
    with tempfile.TemporaryDirectory(prefix="meta-agent-demo-") as scratch:
        settings = load_settings(
            config,
            database={"url": f"sqlite:///{Path(scratch) / 'journal.db'}"},
            cache={"backend": "memory"},
            sandbox={"mode": "always"},
        )
        clock = ManualClock(start=datetime.now(UTC).timestamp())
        hear.phase("Starting a fresh in-memory Marketing API sandbox")
        service = await MetaAgentService.open(
            settings,
            sandbox_app=create_app(SandboxConfig(), clock=clock),
            now=clock.now,
            sleep=clock.sleep,
            wall_clock=lambda: datetime.fromtimestamp(clock.now(), UTC),
        )
        try:
            return await _launch_and_report(service, clock, request, hear)
        finally:
            await service.aclose()


async def _launch_and_report(
    service: MetaAgentService,
    clock: ManualClock,
    request: dict[str, Any],
    hear: DemoReporter,
) -> DemoOutcome:
    steps: list[str] = []

    async def on_event(event: ev.Event) -> None:
        if event.type == ev.STEP_COMPLETED:
            steps.append(str(event.data.get("step", "?")))
        text = describe(event)
        if text is not None:
            hear.event(text)

    unsubscribe = service.env.bus.subscribe(ev.ANY, on_event)
    hear.phase("Launching: campaign, 3 ad sets, 6 creatives and 6 ads, then activating")
    try:
        response = await service.execute(request)
    finally:
        unsubscribe()
    outcome = DemoOutcome(response=response, steps=steps)
    campaign = (response.result or {}).get("campaign") or {}
    if response.error is not None or "id" not in campaign:
        return outcome
    hear.phase("A week passes in the sandbox (its clock moves 7 days forward)")
    clock.advance(WEEK_SECONDS)
    hear.phase("Reading the week's performance report")
    outcome.report = await service.report(
        str(campaign["id"]), "campaign", date_preset=REPORT_PRESET
    )
    return outcome
