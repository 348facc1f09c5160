"""Scheduled reports: ``report ... --schedule daily|weekly --out DIR [--webhook URL]``.

Each run writes the report into ``DIR/<day>/`` (the HTML page, the JSON and one CSV per
table) and, with ``--webhook``, POSTs the JSON through the same signed, egress-checked
delivery as the HTTP service's callbacks (:class:`~.http.webhooks.WebhookSender`).

Durable by a file, not a table: ``DIR/schedule.json`` records the day of every run and
whether its delivery succeeded, written atomically after the files. A restarted schedule
reads it and runs only when a run is due (daily: not yet today, UTC; weekly: seven days
after the last), so a crash never skips a period nor repeats one that completed. The state
lives beside the reports it describes, needs no database or migration, and several
schedules never share one (one folder each).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import structlog

from meta_agent.agents.reporting.accounts import AccountsReport
from meta_agent.agents.reporting.builder import MarketerReport
from meta_agent.errors import ApiError, RequestValidationError
from meta_agent.interfaces.http.webhooks import WebhookSender
from meta_agent.interfaces.report_files import (
    report_json,
    source_of,
    tables_of,
    write_tables,
    write_text,
)

log = structlog.get_logger("meta_agent.reports.schedule")

Cadence = Literal["daily", "weekly"]
# The period each run reports on: the day before, or the seven days before.
PRESETS: dict[str, str] = {"daily": "yesterday", "weekly": "last_7d"}
INTERVAL = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}
STATE_FILE = "schedule.json"
# After a run Meta refused or failed, wait this long before trying the same period again.
RETRY_SECONDS = 900.0
AnyReport = MarketerReport | AccountsReport
Build = Callable[[], Awaitable[AnyReport]]
Clock = Callable[[], datetime]
Sleep = Callable[[float], Awaitable[None]]


def utc_now() -> datetime:
    """The time now, in UTC."""
    return datetime.now(UTC)


@dataclass
class Schedule:
    """What to build, how often, where to write it and where to deliver it."""

    build: Build
    cadence: Cadence
    folder: Path
    render_html: Callable[[AnyReport], str]
    sender: WebhookSender | None = None
    webhook: str | None = None

    @property
    def state_path(self) -> Path:
        """Where the runs are recorded."""
        return self.folder / STATE_FILE

    def last_run(self) -> date | None:
        """The day of the last completed run (None before the first)."""
        runs = self._state().get("runs", [])
        return date.fromisoformat(runs[-1]["day"]) if runs else None

    def due(self, today: date) -> bool:
        """Whether a run is due on ``today``."""
        last = self.last_run()
        return last is None or today - last >= INTERVAL[self.cadence]

    def _state(self) -> dict[str, Any]:
        try:
            state: dict[str, Any] = json.loads(self.state_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"cadence": self.cadence, "runs": []}
        except (OSError, ValueError) as error:
            raise RequestValidationError(
                f"--out {self.state_path}: not a schedule state file ({error}); "
                "move it away or choose another folder",
                field="out",
            ) from None
        return state

    async def run_once(self, today: date) -> Path:
        """Build, write and deliver one report; record the run. Returns its folder."""
        report = await self.build()
        folder = self.folder / today.isoformat()
        files = write_bundle(report, folder, self.render_html)
        delivered = await self._deliver(report, today, files) if self.webhook else None
        state = self._state()
        state["cadence"] = self.cadence
        entry = {"day": today.isoformat(), "folder": folder.name, "delivered": delivered}
        state["runs"] = [*state.get("runs", []), entry]
        write_text(self.state_path, json.dumps(state, indent=2) + "\n")
        log.info("reports.schedule.ran", day=today.isoformat(), delivered=delivered)
        return folder

    async def _deliver(self, report: AnyReport, today: date, files: list[Path]) -> bool:
        assert self.sender is not None
        assert self.webhook is not None
        body = {
            "event": "report.scheduled",
            "cadence": self.cadence,
            "day": today.isoformat(),
            "source": source_of(report),
            "files": [path.name for path in files],
            "report": report.model_dump(mode="json"),
        }
        return await self.sender.deliver(self.webhook, json.dumps(body).encode())

    async def run(
        self, *, now: Clock = utc_now, sleep: Sleep = asyncio.sleep, runs: int | None = None
    ) -> int:
        """Run whenever due until ``runs`` runs have been made (None: for ever).

        A run Meta refuses or fails (an :class:`ApiError`) is logged and tried again after
        :data:`RETRY_SECONDS`, unrecorded, so the period is not lost; a usage error (a bad
        option, an unwritable folder) ends the schedule.
        """
        made = 0
        while runs is None or made < runs:
            today = now().date()
            if not self.due(today):
                await sleep(_seconds_to_next_day(now()))
                continue
            try:
                await self.run_once(today)
            except ApiError as error:
                log.warning("reports.schedule.failed", day=today.isoformat(), error=str(error))
                await sleep(RETRY_SECONDS)
                continue
            made += 1
        return made


def _seconds_to_next_day(moment: datetime) -> float:
    """Seconds from ``moment`` to the next UTC midnight (at least one)."""
    tomorrow = datetime.combine(moment.date() + timedelta(days=1), datetime.min.time(), UTC)
    return max(1.0, (tomorrow - moment).total_seconds())


def write_bundle(
    report: AnyReport, folder: Path, render_html: Callable[[AnyReport], str]
) -> list[Path]:
    """The HTML page, the JSON and one CSV per table, in ``folder``."""
    files = write_tables(tables_of(report), folder, "csv")
    files.append(write_text(folder / "report.json", report_json(report)))
    files.append(write_text(folder / "report.html", render_html(report)))
    return files


async def check_webhook(sender: WebhookSender | None, url: str | None) -> None:
    """Refuse, before the first run, a webhook that cannot be signed or may not be reached.

    Raises:
        RequestValidationError: no ``service.webhook_secret``, or the egress guard refuses.
    """
    if url is None:
        return
    if sender is None:
        raise RequestValidationError(
            "--webhook needs a signing secret: set service.webhook_secret "
            "(META_AGENT_SERVICE__WEBHOOK_SECRET)",
            field="webhook",
        )
    await sender.egress.check(url, "webhook")
