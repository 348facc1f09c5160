"""Enqueue work and read results without running any: DBOS's client, for every process.

The HTTP service, the CLI and the orchestrator's hand-offs to agents talk to the queues
through :class:`DurableClient`; it only reads and writes the system database, so a process
that uses it need not run workflows at all (in distributed mode the service runs none).
Enqueueing is by explicit workflow id, so a second enqueue of the same work (a retried
request, a replica that received it too, a workflow re-run after a crash) joins the first.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from dbos import DBOS, DBOSClient, EnqueueOptions
from dbos._outcome import NoResult
from dbos._utils import INTERNAL_QUEUE_NAME as INTERNAL_QUEUE

from meta_agent.durable.runtime import APP_VERSION, QUEUES

FIRST_POLL_S = 0.005
BRISK_POLL_S = 0.02  # for the first BRISK_S: most hand-offs end within it
BRISK_S = 3.0
LAST_POLL_S = 0.1
CLIENT_POOL_SIZE = 2


class DurableClient:
    """The queues and the workflows of one system database, seen from outside."""

    def __init__(self, url: str, *, partitioned: frozenset[str] = frozenset()) -> None:
        self.url = url
        self.partitioned = partitioned
        self._client: DBOSClient | None = None
        # Many coroutines ask at once, each from a worker thread: one client, made once.
        self._making = threading.Lock()

    def _dbos(self) -> DBOSClient:
        with self._making:
            if self._client is None:
                # The tables exist before anything is enqueued, even if no worker (which
                # would create them at launch) has ever started.
                DBOS.migrate(self.url)
                self._client = DBOSClient(
                    system_database_url=self.url, system_database_pool_size=CLIENT_POOL_SIZE
                )
            return self._client

    async def enqueue(
        self,
        queue: str,
        workflow: str,
        workflow_id: str,
        *args: Any,
        partition: str | None = None,
        priority: int | None = None,
    ) -> str:
        """Put the registered workflow ``workflow(*args)`` on ``queue`` as ``workflow_id``."""
        options: EnqueueOptions = {
            "workflow_name": workflow,
            "queue_name": queue,
            "workflow_id": workflow_id,
            "app_version": APP_VERSION,
        }
        if queue in self.partitioned:
            options["queue_partition_key"] = partition or "-"
        if priority is not None:
            options["priority"] = priority
        client = await asyncio.to_thread(self._dbos)
        handle: Any = await client.enqueue_async(options, *args)
        return str(handle.get_workflow_id())

    async def result(self, workflow_id: str) -> Any:
        """The result of ``workflow_id`` once it ends (raises what it raised); bound it with
        ``asyncio.timeout`` (the workflow carries on regardless).

        DBOS's own wait polls at one fixed interval; an operation handed to a worker usually
        ends within tens of milliseconds, so this one asks soon, then less and less often
        (5 ms growing to 20 ms for three seconds, then to 100 ms): a queue hop costs little
        latency and an hours-long wait little load.
        """
        client = await asyncio.to_thread(self._dbos)
        system = client._sys_db
        delay = FIRST_POLL_S
        started = time.monotonic()
        while True:
            found = await asyncio.to_thread(system.check_workflow_result, workflow_id)
            if not isinstance(found, NoResult):
                return found
            await asyncio.sleep(delay)
            waited = time.monotonic() - started
            delay = min(delay * 1.5, BRISK_POLL_S if waited < BRISK_S else LAST_POLL_S)

    async def resume(self, workflow_id: str) -> None:
        """Enqueue ``workflow_id`` again from its last checkpoint (a dead process's run)."""
        client = await asyncio.to_thread(self._dbos)
        await client.resume_workflow_async(workflow_id)

    async def recover(self, executor_id: str) -> list[str]:
        """Hand back to their queues the unfinished workflows of the dead ``executor_id``.

        The same as DBOS's own recovery on restart: each PENDING row of that executor goes
        back to ENQUEUED on its queue (a direct run: DBOS's internal queue), and the first
        live listener to dequeue it owns it; a second recovery matches nothing.
        """
        client = await asyncio.to_thread(self._dbos)
        rows = await client.list_workflows_async(
            status="PENDING", executor_id=executor_id, load_input=False, load_output=False
        )

        def reenqueue() -> list[str]:
            system = client._sys_db
            return [
                row.workflow_id
                for row in rows
                if system.reenqueue_for_recovery(row.workflow_id, [executor_id], INTERNAL_QUEUE)
            ]

        return await asyncio.to_thread(reenqueue)

    async def step_names(self, workflow_id: str) -> list[str]:
        """The checkpointed operations of ``workflow_id`` so far, in order."""
        client = await asyncio.to_thread(self._dbos)
        steps = await client.list_workflow_steps_async(workflow_id, load_output=False)
        return [str(step["function_name"]) for step in steps]

    async def status(self, workflow_id: str) -> str | None:
        """DBOS's status of ``workflow_id``: ENQUEUED, PENDING, SUCCESS, ERROR, ... or None."""
        client = await asyncio.to_thread(self._dbos)
        found = await client.list_workflows_async(
            workflow_ids=[workflow_id], load_input=False, load_output=False
        )
        return str(found[0].status) if found else None

    async def in_flight(self) -> list[dict[str, Any]]:
        """Every queued or running workflow: id, name, queue, status, executor, age (s)."""
        client = await asyncio.to_thread(self._dbos)
        rows = await client.list_queued_workflows_async(load_input=False)
        now_ms = time.time() * 1000
        return [
            {
                "workflow_id": row.workflow_id,
                "name": row.name,
                "queue": row.queue_name,
                "status": str(row.status),
                "executor_id": row.executor_id,
                "age_s": round((now_ms - (row.created_at or now_ms)) / 1000, 3),
            }
            for row in rows
        ]

    async def queue_depths(self) -> dict[str, dict[str, float]]:
        """Per queue: workflows waiting, running, and the age of the oldest waiting (s)."""
        depths = {name: {"waiting": 0.0, "running": 0.0, "oldest_s": 0.0} for name in QUEUES}
        for item in await self.in_flight():
            row = depths.get(str(item["queue"]))
            if row is None:
                continue
            if item["status"] == "ENQUEUED":
                row["waiting"] += 1
                row["oldest_s"] = max(row["oldest_s"], float(item["age_s"]))
            else:
                row["running"] += 1
        return depths

    async def completed_since(self, seconds: float) -> int:
        """Workflows that ended in the last ``seconds`` (throughput)."""
        client = await asyncio.to_thread(self._dbos)
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - seconds))
        rows = await client.list_workflows_async(
            completed_after=since, load_input=False, load_output=False
        )
        return len(rows)

    def close(self) -> None:
        """Release the client's connections."""
        with self._making:
            client, self._client = self._client, None
        if client is not None:
            client.destroy()
