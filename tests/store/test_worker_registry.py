"""The worker registry on each backend: heartbeats, who counts as dead, marking a takeover."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from meta_agent.store.journal import WorkerRecord
from meta_agent.store.sql import SqlJournal

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def _worker(worker_id: str, *, silent_s: float = 0, status: str = "alive") -> WorkerRecord:
    return WorkerRecord(
        id=worker_id,
        agent=worker_id.rsplit("-", 1)[0],
        queues=[worker_id.rsplit("-", 1)[0]],
        host="h",
        pid=1,
        status=status,
        started_at=NOW - timedelta(hours=1),
        heartbeat_at=NOW - timedelta(seconds=silent_s),
    )


async def test_a_beat_inserts_then_refreshes(journal: SqlJournal) -> None:
    """The first beat registers a worker; the next one updates the same row."""
    await journal.worker_beat(_worker("campaign-1", silent_s=30))
    await journal.worker_beat(_worker("campaign-1"))
    (only,) = await journal.workers()
    assert (only.id, only.queues, only.heartbeat_at) == ("campaign-1", ["campaign"], NOW)


async def test_the_silent_and_the_stopped_are_dead_the_fresh_and_the_sweeper_are_not(
    journal: SqlJournal,
) -> None:
    """Past the cutoff or stopped: dead. A fresh heartbeat, or the sweeper itself: not."""
    await journal.worker_beat(_worker("campaign-1", silent_s=120))
    await journal.worker_beat(_worker("campaign-2", silent_s=1))
    await journal.worker_beat(_worker("asset-1", silent_s=1, status="stopped"))
    await journal.worker_beat(_worker("insights-1", silent_s=500))
    cutoff = NOW - timedelta(seconds=60)
    dead = await journal.dead_workers(cutoff, by="insights-1")
    assert {w.id for w in dead} == {"campaign-1", "asset-1"}
    (forced,) = await journal.dead_workers(cutoff, by="operator", only="campaign-2")
    assert forced.id == "campaign-2"  # an operator's word needs no timeout


async def test_a_takeover_is_marked_once_and_never_over_a_worker_that_came_back(
    journal: SqlJournal,
) -> None:
    """Marked by the first sweeper; a worker that beat after it was read is left alone."""
    await journal.worker_beat(_worker("campaign-1", silent_s=120))
    await journal.worker_beat(_worker("asset-1", silent_s=120))
    cutoff = NOW - timedelta(seconds=60)
    dead = {w.id: w for w in await journal.dead_workers(cutoff, by="orchestrator-1")}
    assert await journal.mark_taken_over(dead["campaign-1"], "orchestrator-1")
    assert not await journal.mark_taken_over(dead["campaign-1"], "asset-2")  # already marked
    await journal.worker_beat(_worker("asset-1"))  # it came back before the mark
    assert not await journal.mark_taken_over(dead["asset-1"], "orchestrator-1")
    rows = {w.id: w for w in await journal.workers()}
    assert (rows["campaign-1"].status, rows["campaign-1"].taken_over_by) == (
        "taken_over",
        "orchestrator-1",
    )
    assert rows["asset-1"].status == "alive"
    assert await journal.dead_workers(cutoff, by="orchestrator-1") == []
