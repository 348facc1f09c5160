"""A workflow whose process is killed mid-launch is resumed, or rolled back, with nothing
orphaned and nothing doubled: a real subprocess, killed with SIGKILL."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from pydantic import SecretStr

from meta_agent.graph.client import GraphClient
from meta_agent.graph.settings import GraphSettings
from meta_agent.orchestrator.env import Env
from meta_agent.orchestrator.orchestrator import Orchestrator
from meta_agent.store.journal import StepStatus, WorkflowStatus
from meta_agent.store.sql import SqlJournal
from tests.conftest import TOKEN, LiveServer
from tests.orchestrator.conftest import full_campaign_request, live_objects

ROOT = Path(__file__).resolve().parents[2]
# The batch that creates the structure is held this long by the sandbox, so the process can
# be killed while it waits; the sandbox then carries on and creates everything.
HOLD_MS = 2500
# After the journal shows the launch STARTED, the batch is on the wire within milliseconds;
# waiting this long before the kill makes sure it left the process.
SEND_GRACE_S = 0.5


@pytest.fixture
def live_sandbox(live: LiveServer) -> LiveServer:
    """The sandbox over loopback, holding the launch batch before it runs."""
    rule = {
        "kind": "latency",
        "method": "POST",
        "path": "",
        "in_batch": False,
        "latency_ms": HOLD_MS,
    }
    response = httpx2.post(f"{live.url}/_sandbox/faults", json=[rule])
    assert response.status_code == 200, response.text
    return live


@pytest.fixture
async def admin(live_sandbox: LiveServer) -> AsyncIterator[httpx2.AsyncClient]:
    """An HTTP client for the sandbox's admin endpoints."""
    async with httpx2.AsyncClient(base_url=live_sandbox.url) as client:
        yield client


async def _killed_mid_launch(live: LiveServer, tmp_path: Path) -> tuple[str, str]:
    """Start a workflow in a subprocess, kill it while its launch is in flight.

    Returns the journal URL and the workflow id.
    """
    journal_url = f"sqlite:///{tmp_path / 'journal.db'}"
    request_file = tmp_path / "request.json"
    request_file.write_text(json.dumps(full_campaign_request("crash-1")))
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.orchestrator.crash_runner",
        live.url,
        journal_url,
        str(request_file),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    journal = SqlJournal(journal_url)
    try:
        workflow_id = await _wait_for_launch(journal, process, tmp_path / "journal.db")
        await asyncio.sleep(SEND_GRACE_S)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGKILL)
        await process.wait()
        await journal.close()
    await _until_created(live)  # the sandbox finishes the batch it was holding
    return journal_url, workflow_id


async def _until_created(live: LiveServer) -> None:
    """Wait until the held batch has run (its 16 objects exist), however busy the machine."""
    async with httpx2.AsyncClient(base_url=live.url) as admin:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if len(await live_objects(admin)) == 16:
                return
            await asyncio.sleep(0.1)
    raise AssertionError("the held batch never ran")


async def _wait_for_launch(
    journal: SqlJournal, process: asyncio.subprocess.Process, database: Path
) -> str:
    deadline = time.monotonic() + 30
    opened = False
    while time.monotonic() < deadline:
        if process.returncode is not None:
            error = await process.stderr.read() if process.stderr else b""
            raise AssertionError(f"runner exited early: {error.decode()[-2000:]}")
        if not opened and await asyncio.to_thread(database.exists):
            await journal.open()
            opened = True
        if opened:
            for workflow in await journal.list_workflows():
                steps = await journal.steps(workflow.id)
                if any(s.name == "launch" and s.status is StepStatus.STARTED for s in steps):
                    return workflow.id
        await asyncio.sleep(0.05)
    raise AssertionError("the launch never started")


async def _orchestrator(
    live: LiveServer, journal_url: str
) -> tuple[Orchestrator, GraphClient, SqlJournal]:
    settings = GraphSettings(access_token=SecretStr(TOKEN), base_url=live.url, version="v25.0")
    graph = GraphClient(settings)
    journal = SqlJournal(journal_url)
    await journal.open()
    return Orchestrator(Env.build(graph, journal)), graph, journal


def _count(objects: list[dict[str, Any]], kind: str) -> int:
    return sum(1 for record in objects if record["kind"] == kind)


async def test_a_killed_workflow_resumes_without_duplicates(
    live_sandbox: LiveServer, admin: httpx2.AsyncClient, tmp_path: Path
) -> None:
    """Resume adopts what the dead process had created (found by key) and finishes the rest."""
    journal_url, workflow_id = await _killed_mid_launch(live_sandbox, tmp_path)
    await admin.delete("/_sandbox/faults")
    orchestrator, graph, journal = await _orchestrator(live_sandbox, journal_url)
    try:
        record = await journal.get_workflow(workflow_id)
        assert record is not None
        assert record.status is WorkflowStatus.RUNNING
        response = await orchestrator.resume(workflow_id)
    finally:
        await graph.aclose()
        await journal.close()
    assert response.status == "COMPLETED", response.error
    live = await live_objects(admin)
    assert _count(live, "campaign") == 1
    assert _count(live, "adset") == 3
    assert _count(live, "ad") == 6
    assert _count(live, "adcreative") == 6


async def test_a_killed_workflow_rolls_back_with_nothing_orphaned(
    live_sandbox: LiveServer, admin: httpx2.AsyncClient, tmp_path: Path
) -> None:
    """Rollback finds by key what the journal never heard of, and deletes it all."""
    journal_url, workflow_id = await _killed_mid_launch(live_sandbox, tmp_path)
    await admin.delete("/_sandbox/faults")
    assert _count(await live_objects(admin), "campaign") == 1  # created after the kill
    orchestrator, graph, journal = await _orchestrator(live_sandbox, journal_url)
    try:
        response = await orchestrator.rollback(workflow_id)
    finally:
        await graph.aclose()
        await journal.close()
    assert response.status == "ROLLED_BACK", response.error
    assert await live_objects(admin) == []
