"""Operating a cluster: `meta-agent workers`, queue metrics, health that sees a stranded queue."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import pytest

from meta_agent.observability import metrics
from meta_agent.service import MetaAgentService
from tests.distributed.conftest import AGENTS, ROOT, Cluster
from tests.orchestrator.conftest import full_campaign_request

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(240)]


def _cli(cluster: Cluster, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "meta_agent", *args],
        cwd=ROOT,
        env={**os.environ, **cluster.env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_workers_lists_every_worker_with_its_queue(cluster: Cluster) -> None:
    """`meta-agent workers --json`: one live worker per agent, each on its own queue."""
    # A worker starved of CPU (CI's 2 cores run six workers, PostgreSQL and the tests) can miss
    # beats past takeover_after_seconds and read "dead" for a moment: ask again, a few times.
    for _ in range(5):
        result = await asyncio.to_thread(_cli, cluster, "workers", "--json")
        assert result.returncode == 0, result.stderr
        view = json.loads(result.stdout)
        alive = {w["worker_id"]: w for w in view["workers"] if w["state"] == "alive"}
        if all(f"{agent}-1" in alive for agent in AGENTS):
            break
        await asyncio.sleep(0.5)
    for agent in AGENTS:
        assert alive[f"{agent}-1"]["queues"] == [agent], view
    assert set(view["queues"]) == set(AGENTS)


async def test_a_queue_nobody_serves_is_unhealthy_and_counted(
    cluster: Cluster, front: MetaAgentService
) -> None:
    """With the campaign worker stopped, a launch waits on the campaign queue: the gauge shows
    it, /healthz's queues check names the queue, and a worker started later finishes it."""
    cluster.stop("campaign-1")
    running = asyncio.create_task(front.execute(full_campaign_request("stranded-1")))
    try:
        for _ in range(200):
            depths = await front.queue_depths()
            if depths["campaign"]["waiting"]:
                break
            await asyncio.sleep(0.05)
        assert depths["campaign"]["waiting"] == 1, depths
        report = await front.health()
        queues = report.checks["queues"]
        assert not queues.ok
        assert queues.error is not None
        assert "campaign" in queues.error
        await front.refresh_queue_metrics()
        waiting = metrics.REGISTRY.get_sample_value(
            "meta_agent_queue_waiting", {"queue": "campaign"}
        )
        assert waiting == 1
    finally:
        cluster.start("campaign", "campaign-1")
    response = await asyncio.wait_for(running, 120)
    assert response.status == "COMPLETED", response.error
    assert (await front.health()).checks["queues"].ok
