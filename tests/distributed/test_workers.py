"""Workflows run by worker processes: every agent's step on its own queue, a killed worker's
work carried on when it restarts or taken over when it does not, one run per request_id."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx2
import pytest
from dbos import DBOSClient

from meta_agent.service import MetaAgentService
from meta_agent.store.journal import StepStatus
from tests.conftest import LiveServer
from tests.distributed.conftest import Cluster, cluster_settings, objects_by_kind
from tests.orchestrator.conftest import full_campaign_request, live_objects

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(240)]

EXPECTED = {"campaign": 1, "adset": 3, "adcreative": 6, "ad": 6}
HOLD_MS = 2500


def _request(request_id: str) -> dict[str, Any]:
    return full_campaign_request(request_id)  # six images, three ad sets, six ads


async def _executors(cluster: Cluster, prefix: str) -> dict[str, str | None]:
    """DBOS's record of who ran what: workflow id → executor id."""
    url = "postgresql://" + cluster.env["META_AGENT_DATABASE__URL"].split("://", 1)[1]

    def read() -> dict[str, str | None]:
        client = DBOSClient(system_database_url=url)
        try:
            rows = client.list_workflows(workflow_id_prefix=prefix, load_input=False)
            return {row.workflow_id: row.executor_id for row in rows}
        finally:
            client.destroy()

    return await asyncio.to_thread(read)


async def _hold_launches(live: LiveServer) -> None:
    rule = {"kind": "latency", "method": "POST", "path": "", "in_batch": False}
    async with httpx2.AsyncClient(base_url=live.url) as admin:
        response = await admin.post("/_sandbox/faults", json=[{**rule, "latency_ms": HOLD_MS}])
        assert response.status_code == 200, response.text


async def _clear(live: LiveServer) -> None:
    async with httpx2.AsyncClient(base_url=live.url) as admin:
        await admin.delete("/_sandbox/faults")
        await admin.post("/_sandbox/reset")


async def _launch_started(cluster: Cluster, request_id: str) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for workflow in await cluster.journal.list_workflows():
            if workflow.request_id != request_id:
                continue
            steps = await cluster.journal.steps(workflow.id)
            if any(s.name == "launch" and s.status is StepStatus.STARTED for s in steps):
                return workflow.id
        await asyncio.sleep(0.05)
    raise AssertionError("the launch never started")


async def _batch_held(live: LiveServer) -> None:
    """Wait until the launch batch has reached the sandbox (its hold rule has fired): on a
    busy machine the worker may take longer than any fixed sleep to send it."""
    deadline = time.monotonic() + 60
    async with httpx2.AsyncClient(base_url=live.url) as admin:
        while time.monotonic() < deadline:
            rules = (await admin.get("/_sandbox/faults")).json()["rules"]
            if rules and rules[0]["fired"] >= 1:
                return
            await asyncio.sleep(0.05)
    raise AssertionError("the launch batch never reached the sandbox")


async def _until(live: LiveServer, counts: dict[str, int]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if await _witness(live) == counts:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the sandbox never held {counts}: {await _witness(live)}")


async def _witness(live: LiveServer) -> dict[str, int]:
    async with httpx2.AsyncClient(base_url=live.url) as admin:
        return objects_by_kind(await live_objects(admin))


async def test_each_step_runs_on_its_agents_worker(
    cluster: Cluster, front: MetaAgentService, cluster_live: LiveServer
) -> None:
    """The orchestrator worker runs the workflow; the launch and activation run on the
    campaign worker; the front service ran nothing."""
    await _clear(cluster_live)
    response = await front.execute({**_request("dist-1"), "options": {"activate": True}})
    assert response.status == "COMPLETED", response.error
    assert await _witness(cluster_live) == EXPECTED
    workflow_id = response.workflow_id
    assert workflow_id is not None
    ran = await _executors(cluster, workflow_id)
    assert ran[workflow_id] == "orchestrator-1"
    assert ran[f"{workflow_id}.launch"] == "campaign-1"
    assert ran[f"{workflow_id}.activate"] == "campaign-1"


async def test_a_restarted_agent_worker_carries_on_its_step(
    cluster: Cluster, front: MetaAgentService, cluster_live: LiveServer
) -> None:
    """The campaign worker is killed while its launch batch is in flight; started again with
    the same id, it re-runs the step, adopts what the batch created, and nothing is doubled."""
    await _clear(cluster_live)
    await _hold_launches(cluster_live)
    running = asyncio.create_task(front.execute(_request("dist-2")))
    await _launch_started(cluster, "dist-2")
    await _batch_held(cluster_live)  # killed while the sandbox holds the batch, not before
    cluster.kill("campaign-1")
    await _until(cluster_live, EXPECTED)  # the sandbox finishes the batch it was holding
    async with httpx2.AsyncClient(base_url=cluster_live.url) as admin:
        await admin.delete("/_sandbox/faults")
    cluster.start("campaign", "campaign-1")
    response = await asyncio.wait_for(running, 120)
    assert response.status == "COMPLETED", response.error
    assert await _witness(cluster_live) == EXPECTED


async def test_a_dead_orchestrator_workers_workflows_are_taken_over(
    cluster: Cluster, front: MetaAgentService, cluster_live: LiveServer
) -> None:
    """The orchestrator worker dies mid-workflow and never returns; another one, started
    later, declares it dead after the timeout and finishes its workflow: once."""
    await _clear(cluster_live)
    await _hold_launches(cluster_live)
    running = asyncio.create_task(front.execute(_request("dist-3")))
    workflow_id = await _launch_started(cluster, "dist-3")
    cluster.kill("orchestrator-1")
    async with httpx2.AsyncClient(base_url=cluster_live.url) as admin:
        await admin.delete("/_sandbox/faults")
    cluster.start("orchestrator", "orchestrator-2")
    response = await asyncio.wait_for(running, 120)
    assert response.status == "COMPLETED", response.error
    assert await _witness(cluster_live) == EXPECTED
    ran = await _executors(cluster, workflow_id)
    assert ran[workflow_id] == "orchestrator-2"
    dead = {w.id: w for w in await cluster.journal.workers()}["orchestrator-1"]
    assert dead.status == "taken_over"  # by whichever live worker swept first
    assert dead.taken_over_by in set(cluster.processes)


async def test_one_request_id_at_two_replicas_runs_once(
    cluster: Cluster, front: MetaAgentService, cluster_live: LiveServer
) -> None:
    """Two service replicas receive the same request at once: one workflow, one structure,
    the same answer twice."""
    await _clear(cluster_live)
    other = await MetaAgentService.open(cluster_settings(cluster.env))
    try:
        first, second = await asyncio.gather(
            front.execute(_request("dist-4")), other.execute(_request("dist-4"))
        )
    finally:
        await other.aclose()
    assert first.status == second.status == "COMPLETED", (first.error, second.error)
    assert first.workflow_id == second.workflow_id
    assert await _witness(cluster_live) == EXPECTED
