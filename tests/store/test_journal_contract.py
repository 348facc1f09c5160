"""The journal contract, run against every backend (SQLite file, PostgreSQL)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from meta_agent import errors
from meta_agent.store.engine import make_engine
from meta_agent.store.journal import (
    ApprovalRecord,
    ApprovalStatus,
    DuplicateRequestError,
    LedgerEntry,
    NewResource,
    StepStatus,
    WorkflowStatus,
)
from meta_agent.store.migrate import current_revision
from meta_agent.store.sql import SqlJournal
from meta_agent.store.tables import metadata
from tests.store.conftest import MakeJournal, TickingClock

REQUEST = {"name": "Spring sale ₹", "budget": {"amount": 50_000, "currency": "INR"}, "n": None}


async def _workflow(journal: SqlJournal, n: int = 1, request_id: str | None = None) -> str:
    workflow_id = f"wf-{n}"
    await journal.create_workflow(workflow_id, request_id or f"req-{n}", "launch", "act_1", {})
    return workflow_id


# --- schema and migrations --------------------------------------------------------------


async def test_open_twice_is_a_no_op(make_journal: MakeJournal) -> None:
    """Opening an existing journal again migrates nothing and keeps every row."""
    first = await make_journal()
    await _workflow(first)
    second = await make_journal()
    await second.open()
    assert (await second.get_workflow("wf-1")) is not None
    engine = make_engine(first.url)
    try:
        assert current_revision(engine) == "0003"
    finally:
        engine.dispose()


async def test_concurrent_first_opens_both_succeed(journal_url: str) -> None:
    """Two processes opening a fresh journal at once: one migrates, the other waits and uses it."""
    stores = [SqlJournal(journal_url), SqlJournal(journal_url)]
    try:
        await asyncio.gather(*(store.open() for store in stores))
        await _workflow(stores[0])
        assert (await stores[1].get_workflow("wf-1")) is not None
    finally:
        for store in stores:
            await store.close()


async def test_migrated_schema_matches_the_tables(journal_url: str, journal: SqlJournal) -> None:
    """The migrations create exactly the schema the queries are written against."""
    engine = make_engine(journal_url)
    try:
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), metadata)
    finally:
        engine.dispose()
    assert diff == []


async def test_unopened_store_refuses_calls(journal_url: str) -> None:
    """Using a store before open() says what to do, instead of failing obscurely."""
    with pytest.raises(errors.UsageError, match="open"):
        await SqlJournal(journal_url).get_workflow("wf-1")


# --- workflows ------------------------------------------------------------------------


async def test_create_workflow_records_it_running(journal: SqlJournal) -> None:
    """A new workflow is RUNNING, keeps its request exactly, and has aware UTC times."""
    record = await journal.create_workflow("wf-1", "req-1", "launch", "act_1", REQUEST)
    assert (record.status, record.action, record.account_id) == ("RUNNING", "launch", "act_1")
    assert record.request == REQUEST
    assert record.created_at.tzinfo == UTC
    assert record.created_at == record.updated_at
    assert (record.result, record.error) == (None, None)


async def test_get_and_find_return_the_stored_workflow(journal: SqlJournal) -> None:
    """get_workflow (by id) and find_by_request (by request id) agree; unknown is None."""
    created = await journal.create_workflow("wf-1", "req-1", "launch", None, REQUEST)
    assert await journal.get_workflow("wf-1") == created
    assert await journal.find_by_request("req-1") == created
    assert await journal.get_workflow("nope") is None
    assert await journal.find_by_request("nope") is None


async def test_times_are_stored_as_utc_instants(
    journal_url: str, make_journal: MakeJournal
) -> None:
    """A clock in another zone is stored as the same instant and read back in UTC."""
    india = timezone(timedelta(hours=5, minutes=30))
    clock = TickingClock(TickingClock().current.astimezone(india))
    store = SqlJournal(journal_url, now=clock)
    await store.open()
    try:
        record = await store.create_workflow("wf-1", "req-1", "launch", None, {})
    finally:
        await store.close()
    assert record.created_at == clock.current
    assert record.created_at.utcoffset() == timedelta(0)


async def test_repeated_request_id_is_refused_with_the_original(journal: SqlJournal) -> None:
    """A second workflow for the same request_id raises DuplicateRequestError carrying the first."""
    first = await journal.create_workflow("wf-1", "req-1", "launch", None, REQUEST)
    with pytest.raises(DuplicateRequestError) as caught:
        await journal.create_workflow("wf-2", "req-1", "launch", None, {})
    assert caught.value.existing == first
    assert await journal.get_workflow("wf-2") is None


async def test_concurrent_creates_of_one_request_have_one_winner(
    make_journal: MakeJournal,
) -> None:
    """Racing creates (two stores, as two processes) for one request_id: exactly one wins."""
    stores = [await make_journal(), await make_journal()]
    attempts = [
        stores[n % 2].create_workflow(f"wf-{n}", "req-1", "launch", None, {"n": n})
        for n in range(6)
    ]
    outcomes = await asyncio.gather(*attempts, return_exceptions=True)
    winners = [o for o in outcomes if not isinstance(o, BaseException)]
    losers = [o for o in outcomes if isinstance(o, DuplicateRequestError)]
    assert len(winners) == 1
    assert len(losers) == 5
    assert {loser.existing.id for loser in losers} == {winners[0].id}


async def test_a_taken_workflow_id_is_a_usage_error(journal: SqlJournal) -> None:
    """Reusing a workflow id for a different request is the caller's bug, not a duplicate."""
    await _workflow(journal)
    with pytest.raises(errors.UsageError, match="already taken"):
        await journal.create_workflow("wf-1", "req-other", "launch", None, {})


async def test_only_a_workflow_that_never_began_a_step_can_be_discarded(
    journal: SqlJournal,
) -> None:
    """discard_workflow deletes a bare workflow (its request_id free again), and refuses, with
    False and nothing deleted, one that has begun a step."""
    await journal.create_workflow("wf-1", "req-1", "launch", None, REQUEST)
    assert await journal.discard_workflow("wf-1")
    assert await journal.find_by_request("req-1") is None
    await journal.create_workflow("wf-2", "req-1", "launch", None, REQUEST)
    await journal.start_step("wf-2", "launch")
    assert not await journal.discard_workflow("wf-2")
    assert (await journal.get_workflow("wf-2")) is not None
    assert not await journal.discard_workflow("wf-none")


async def test_list_is_newest_first_and_limited(journal: SqlJournal) -> None:
    """list_workflows returns the newest first, at most ``limit`` of them."""
    for n in range(1, 5):
        await _workflow(journal, n)
    assert [w.id for w in await journal.list_workflows()] == ["wf-4", "wf-3", "wf-2", "wf-1"]
    assert [w.id for w in await journal.list_workflows(limit=2)] == ["wf-4", "wf-3"]


async def test_list_filters_by_status(journal: SqlJournal) -> None:
    """A status filter returns only the workflows in that status."""
    for n in range(1, 4):
        await _workflow(journal, n)
    await journal.finish_workflow("wf-2", WorkflowStatus.COMPLETED)
    done = await journal.list_workflows(status=WorkflowStatus.COMPLETED)
    running = await journal.list_workflows(status=WorkflowStatus.RUNNING)
    assert [w.id for w in done] == ["wf-2"]
    assert [w.id for w in running] == ["wf-3", "wf-1"]
    assert await journal.list_workflows(status=WorkflowStatus.ROLLED_BACK) == []


async def test_list_refuses_a_limit_below_one(journal: SqlJournal) -> None:
    """limit=0 is a validation error naming the field."""
    with pytest.raises(errors.RequestValidationError) as caught:
        await journal.list_workflows(limit=0)
    assert caught.value.field == "limit"


async def test_finish_sets_status_result_and_time(journal: SqlJournal) -> None:
    """finish_workflow stores the status and result and moves updated_at on."""
    created = await journal.create_workflow("wf-1", "req-1", "launch", None, {})
    done = await journal.finish_workflow(
        "wf-1", WorkflowStatus.COMPLETED, result={"campaign_id": "120000001"}
    )
    assert (done.status, done.result, done.error) == (
        "COMPLETED",
        {"campaign_id": "120000001"},
        None,
    )
    assert done.updated_at > created.updated_at
    assert done.created_at == created.created_at
    assert await journal.get_workflow("wf-1") == done


async def test_finish_without_error_keeps_the_earlier_error(journal: SqlJournal) -> None:
    """Moving a failed workflow on to ROLLED_BACK keeps the error that caused the rollback."""
    await _workflow(journal)
    error = errors.TransientError("Service unavailable", code=2, fbtrace_id="Abc").to_dict()
    await journal.finish_workflow("wf-1", WorkflowStatus.ROLLING_BACK, error=error)
    rolled = await journal.finish_workflow("wf-1", WorkflowStatus.ROLLED_BACK)
    assert (rolled.status, rolled.error) == ("ROLLED_BACK", error)


async def test_finish_unknown_workflow_is_a_usage_error(journal: SqlJournal) -> None:
    """Finishing a workflow that was never created fails loudly."""
    with pytest.raises(errors.UsageError, match="no workflow"):
        await journal.finish_workflow("nope", WorkflowStatus.FAILED)


# --- steps -----------------------------------------------------------------------------


async def test_steps_are_numbered_in_order(journal: SqlJournal) -> None:
    """Steps get seq 1, 2, 3... and come back in that order with their inputs and keys."""
    wf = await _workflow(journal)
    for name in ("upload_image", "create_campaign", "create_adset"):
        await journal.start_step(wf, name, input={"step": name}, idempotency_key=f"k-{name}")
    await journal.start_step(wf, "delete_campaign", kind="compensation")
    listed = await journal.steps(wf)
    assert [(s.seq, s.name, s.kind) for s in listed] == [
        (1, "upload_image", "action"),
        (2, "create_campaign", "action"),
        (3, "create_adset", "action"),
        (4, "delete_campaign", "compensation"),
    ]
    assert listed[1].input == {"step": "create_campaign"}
    assert listed[1].idempotency_key == "k-create_campaign"
    assert (listed[3].input, listed[3].idempotency_key) == ({}, None)
    assert all(s.status == StepStatus.STARTED and s.finished_at is None for s in listed)


async def test_steps_of_workflows_are_numbered_apart(journal: SqlJournal) -> None:
    """Each workflow numbers its own steps from 1."""
    one, two = await _workflow(journal, 1), await _workflow(journal, 2)
    await journal.start_step(one, "a")
    started = await journal.start_step(two, "b")
    assert started.seq == 1
    assert [s.name for s in await journal.steps(two)] == ["b"]


async def test_concurrent_steps_get_distinct_numbers(make_journal: MakeJournal) -> None:
    """Steps started at once (from two stores) on one workflow get seq 1..n, no collision."""
    stores = [await make_journal(), await make_journal()]
    wf = await _workflow(stores[0])
    started = await asyncio.gather(*(stores[n % 2].start_step(wf, f"s{n}") for n in range(8)))
    assert sorted(s.seq for s in started) == list(range(1, 9))


async def test_complete_step_stores_output(journal: SqlJournal) -> None:
    """complete_step marks the step COMPLETED with its output and finish time."""
    wf = await _workflow(journal)
    started = await journal.start_step(wf, "create_campaign", input={"name": "x"})
    done = await journal.complete_step(wf, started.seq, {"id": "120000001", "tags": ["a", "b"]})
    assert (done.status, done.output) == (
        StepStatus.COMPLETED,
        {"id": "120000001", "tags": ["a", "b"]},
    )
    assert done.finished_at is not None
    assert done.finished_at > done.started_at
    assert done.started_at == started.started_at
    assert await journal.steps(wf) == [done]


async def test_failed_step_error_round_trips(journal: SqlJournal) -> None:
    """An error stored with fail_step comes back as the same error class and details."""
    wf = await _workflow(journal)
    step = await journal.start_step(wf, "create_adset")
    error = errors.InvalidParameterError(
        "Budget too low — increase it",
        code=100,
        subcode=1885272,
        blame_fields=[["daily_budget"], ["targeting", "geo_locations"]],
        user_msg="Your budget is too low: ₹ 84 is the minimum",
        is_transient=False,
    )
    failed = await journal.fail_step(wf, step.seq, error.to_dict())
    assert failed.status == StepStatus.FAILED
    (stored,) = await journal.steps(wf)
    back = errors.error_from_dict(stored.error or {})
    assert type(back) is errors.InvalidParameterError
    assert (back.message, back.details) == (error.message, error.details)
    assert back.blame_fields == [["daily_budget"], ["targeting", "geo_locations"]]


async def test_step_calls_on_unknown_targets_are_usage_errors(journal: SqlJournal) -> None:
    """Starting a step of an unknown workflow, or finishing an unknown step, fails loudly."""
    wf = await _workflow(journal)
    with pytest.raises(errors.UsageError, match="no workflow"):
        await journal.start_step("nope", "a")
    with pytest.raises(errors.UsageError, match="no step 7"):
        await journal.complete_step(wf, 7, {})
    with pytest.raises(errors.UsageError, match="no step 7"):
        await journal.fail_step(wf, 7, {"kind": "transient", "message": "x"})


async def test_unknown_step_kind_is_refused(journal: SqlJournal) -> None:
    """A step kind other than action/compensation is a validation error on ``kind``."""
    wf = await _workflow(journal)
    with pytest.raises(errors.RequestValidationError) as caught:
        await journal.start_step(wf, "a", kind="rollback")
    assert caught.value.field == "kind"


async def test_started_step_survives_closing_and_reopening(make_journal: MakeJournal) -> None:
    """A STARTED step is durable: a new store on the same database (a restart) sees it."""
    before = await make_journal()
    wf = await _workflow(before)
    started = await before.start_step(wf, "create_ad", input={"n": 1}, idempotency_key="k1")
    await before.close()
    after = await make_journal()
    assert await after.steps(wf) == [started]
    assert (await after.get_workflow(wf)) is not None


# --- resources -------------------------------------------------------------------------


async def test_resources_are_listed_in_creation_order(journal: SqlJournal) -> None:
    """Resources come back in the order recorded, with their undo and details."""
    wf = await _workflow(journal)
    await journal.add_resource(wf, "create_campaign", "campaign", "1", details={"name": "c"})
    await journal.add_resource(wf, "upload_image", "image", "abc123", undo="keep")
    await journal.add_resource(wf, "create_adset", "adset", "2")
    listed = await journal.resources(wf)
    assert [(r.seq, r.kind, r.object_id, r.undo) for r in listed] == [
        (1, "campaign", "1", "delete"),
        (2, "image", "abc123", "keep"),
        (3, "adset", "2", "delete"),
    ]
    assert listed[0].details == {"name": "c"}
    assert listed[1].details == {}
    assert not any(r.undone for r in listed)


async def test_recording_a_resource_twice_keeps_the_first(journal: SqlJournal) -> None:
    """add_resource is idempotent on (workflow, kind, object id): a replay adds nothing."""
    wf = await _workflow(journal)
    first = await journal.add_resource(wf, "create_campaign", "campaign", "1", details={"a": 1})
    again = await journal.add_resource(wf, "retry", "campaign", "1", details={"a": 2})
    assert again == first
    other_kind = await journal.add_resource(wf, "create_ad", "ad", "1")
    assert other_kind.seq == 2
    assert len(await journal.resources(wf)) == 2


async def test_concurrent_recordings_of_one_resource_keep_one(make_journal: MakeJournal) -> None:
    """The same object recorded at once from two stores is stored exactly once."""
    stores = [await make_journal(), await make_journal()]
    wf = await _workflow(stores[0])
    recorded = await asyncio.gather(
        *(stores[n % 2].add_resource(wf, "s", "campaign", "1") for n in range(6))
    )
    assert all(r == recorded[0] for r in recorded)
    assert len(await stores[0].resources(wf)) == 1


async def test_mark_undone_flags_only_that_resource(journal: SqlJournal) -> None:
    """mark_undone flags the named resource and leaves the others."""
    wf = await _workflow(journal)
    await journal.add_resource(wf, "s", "campaign", "1")
    await journal.add_resource(wf, "s", "adset", "2")
    await journal.mark_undone(wf, "adset", "2")
    assert [(r.object_id, r.undone) for r in await journal.resources(wf)] == [
        ("1", False),
        ("2", True),
    ]


async def test_resource_calls_on_unknown_targets_are_usage_errors(journal: SqlJournal) -> None:
    """Recording for an unknown workflow, or undoing an unrecorded object, fails loudly."""
    wf = await _workflow(journal)
    with pytest.raises(errors.UsageError, match="no workflow"):
        await journal.add_resource("nope", "s", "campaign", "1")
    with pytest.raises(errors.UsageError, match="no campaign '9'"):
        await journal.mark_undone(wf, "campaign", "9")


async def test_unknown_workflow_has_no_steps_or_resources(journal: SqlJournal) -> None:
    """Listing the steps or resources of an unknown workflow is empty, not an error."""
    assert await journal.steps("nope") == []
    assert await journal.resources("nope") == []


async def test_resources_can_be_recorded_together_and_with_a_step_outcome(
    journal: SqlJournal,
) -> None:
    """add_resources and complete_step(created=...) record objects atomically, in order."""
    workflow_id = await _workflow(journal, 90)
    step = await journal.start_step(workflow_id, "launch")
    await journal.add_resources(
        workflow_id, "launch", [NewResource("campaign", "c1"), NewResource("adset", "s1")]
    )
    await journal.complete_step(
        workflow_id,
        step.seq,
        {"ok": True},
        created=[NewResource("ad", "a1", details={"label": "ad0"}), NewResource("adset", "s1")],
        step="launch",
    )
    recorded = await journal.resources(workflow_id)
    assert [(r.kind, r.object_id, r.step) for r in recorded] == [
        ("campaign", "c1", "launch"),
        ("adset", "s1", "launch"),
        ("ad", "a1", "launch"),
    ]
    assert recorded[2].details == {"label": "ad0"}
    assert (await journal.steps(workflow_id))[0].status.value == "COMPLETED"


async def test_a_failed_step_keeps_what_it_created(journal: SqlJournal) -> None:
    """fail_step(created=...) records the objects with the failure, for the rollback."""
    workflow_id = await _workflow(journal, 91)
    step = await journal.start_step(workflow_id, "launch")
    await journal.fail_step(
        workflow_id,
        step.seq,
        {"kind": "invalid_parameter"},
        created=[NewResource("ad", "a9")],
        step="launch",
    )
    assert [r.object_id for r in await journal.resources(workflow_id)] == ["a9"]


# --- the write gate's records: principals, approvals, the budget ledger -----------------


def _approval(workflow_id: str, n: int = 1, hours: float = 1) -> ApprovalRecord:
    now = datetime.now(UTC)
    return ApprovalRecord(
        id=f"ap-{n}",
        workflow_id=workflow_id,
        account_id="act_1",
        requested_by="k-agent",
        status=ApprovalStatus.PENDING,
        rules=["activation_requires_approval"],
        diff=[{"method": "POST", "path": "120", "params": {"status": "ACTIVE"}}],
        fingerprints=["f1"],
        created_at=now,
        expires_at=now + timedelta(hours=hours),
    )


async def test_a_workflow_keeps_its_principal(journal: SqlJournal) -> None:
    """The principal a workflow runs for is journaled with it and read back whole."""
    principal = {"id": "k1", "role": "agent", "accounts": ["act_1"], "actions": ["*"]}
    await journal.create_workflow("wf-p", "req-p", "launch", "act_1", {}, principal=principal)
    found = await journal.get_workflow("wf-p")
    assert found is not None
    assert found.principal == principal


async def test_an_approval_is_decided_once(journal: SqlJournal) -> None:
    """PENDING moves to APPROVED once; a second decision is a conflict and changes nothing."""
    workflow_id = await _workflow(journal)
    created = await journal.create_approval(_approval(workflow_id))
    assert created.status is ApprovalStatus.PENDING
    assert created.diff[0]["params"] == {"status": "ACTIVE"}
    approved = await journal.decide_approval("ap-1", ApprovalStatus.APPROVED, "ana", "ok")
    assert (approved.status, approved.decided_by, approved.note) == (
        ApprovalStatus.APPROVED,
        "ana",
        "ok",
    )
    with pytest.raises(errors.ConflictError):
        await journal.decide_approval("ap-1", ApprovalStatus.REJECTED, "bob", None)
    assert [a.id for a in await journal.approvals_of(workflow_id)] == ["ap-1"]
    pending = await journal.list_approvals(status=ApprovalStatus.PENDING)
    assert pending == []


async def test_concurrent_decisions_let_exactly_one_win(journal: SqlJournal) -> None:
    """Ten approvers at once: one decision is recorded, nine are conflicts."""
    workflow_id = await _workflow(journal)
    await journal.create_approval(_approval(workflow_id))
    outcomes = await asyncio.gather(
        *(
            journal.decide_approval("ap-1", ApprovalStatus.APPROVED, f"a{n}", None)
            for n in range(10)
        ),
        return_exceptions=True,
    )
    assert sum(1 for outcome in outcomes if isinstance(outcome, ApprovalRecord)) == 1


def _entry(key: str, added: int, object_key: str = "obj", before: int | None = None) -> LedgerEntry:
    return LedgerEntry(
        key=key,
        account_id="act_1",
        day="2026-12-02",
        object_key=object_key,
        field="daily_budget",
        before=before,
        after=(before or 0) + added,
        added=added,
    )


async def _reserve(journal: SqlJournal, entry: LedgerEntry, cap: int | None) -> tuple[bool, int]:
    refused, totals = await journal.reserve_budgets([(entry, cap)])
    return refused is None, totals[0]


async def test_the_ledger_refuses_past_the_cap_and_counts_a_key_once(journal: SqlJournal) -> None:
    """Reservations add up to the cap; the one past it is refused; a repeated key counts once."""
    assert await _reserve(journal, _entry("a", 600), 1000) == (True, 600)
    assert await _reserve(journal, _entry("a", 600), 1000) == (True, 600)
    assert await _reserve(journal, _entry("b", 500), 1000) == (False, 600)
    assert await _reserve(journal, _entry("c", 400), 1000) == (True, 1000)
    assert await _reserve(journal, _entry("d", 5), None) == (True, 1005)


async def test_a_batch_of_reservations_is_all_or_nothing(journal: SqlJournal) -> None:
    """One entry past the cap refuses the whole batch; a batch under it is recorded whole,
    each entry counting those before it (a key named twice counts once)."""
    refused, totals = await journal.reserve_budgets(
        [(_entry("p", 300), 1000), (_entry("q", 300), 1000), (_entry("r", 500), 1000)]
    )
    assert (refused, totals) == (2, [300, 600, 600])
    assert await _reserve(journal, _entry("s", 1000), 1000) == (True, 1000)  # p, q not kept
    other = replace(_entry("t", 900), account_id="act_2")
    refused, totals = await journal.reserve_budgets(
        [(other, 1000), (_entry("s", 1000), 1000), (other, 1000)]
    )
    assert (refused, totals) == (None, [900, 1000, 900])


async def test_concurrent_reservations_never_pass_the_cap(journal: SqlJournal) -> None:
    """Twenty writers racing for a cap of ten units: exactly ten get through."""
    outcomes = await asyncio.gather(*(_reserve(journal, _entry(f"k{n}", 1), 10) for n in range(20)))
    assert sum(1 for recorded, _ in outcomes if recorded) == 10


async def test_the_first_value_of_the_day_is_remembered(journal: SqlJournal) -> None:
    """The day's first ledger entry of an object's field gives its value before the day began."""
    await _reserve(journal, _entry("x1", 100, "o1", before=500), None)
    await _reserve(journal, _entry("x2", 100, "o1", before=600), None)
    assert await journal.first_budget_today("act_1", "2026-12-02", "o1", "daily_budget") == 500
    assert await journal.first_budget_today("act_1", "2026-12-02", "o2", "daily_budget") is None
