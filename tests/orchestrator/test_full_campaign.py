"""create_full_campaign end to end against the sandbox: all of it, or nothing at all."""

from __future__ import annotations

import httpx2
import pytest
from structlog.testing import capture_logs

from meta_agent.errors import ConflictError, PolicyViolationError, RequestValidationError
from meta_agent.gate.policy import AccountPolicy, PolicyBook
from meta_agent.orchestrator.orchestrator import Orchestrator
from meta_agent.sandbox import Sandbox
from meta_agent.store.sql import SqlJournal
from tests.orchestrator.conftest import full_campaign_request, live_objects, request_count


async def test_full_campaign_creates_the_whole_structure_paused(
    orchestrator: Orchestrator, client: httpx2.AsyncClient
) -> None:
    """One request makes 1 campaign, 3 ad sets, 6 creatives and 6 ads, all PAUSED."""
    response = await orchestrator.execute(full_campaign_request())
    assert response.status == "COMPLETED", response.error
    result = response.result
    assert result is not None
    assert len(result["adsets"]) == 3
    assert len(result["ads"]) == 6
    assert len(result["creatives"]) == 6
    assert len(result["images"]) == 6
    live = await live_objects(client)
    kinds = sorted(record["kind"] for record in live)
    assert kinds.count("campaign") == 1
    assert kinds.count("adset") == 3
    assert kinds.count("adcreative") == 6
    assert kinds.count("ad") == 6
    assert {r["status"] for r in live if r["kind"] != "adcreative"} == {"PAUSED"}
    ad = next(r for r in live if r["id"] == result["ads"][0]["id"])
    assert ad["adset_id"] == result["adsets"][0]["id"]


async def test_the_launch_takes_a_handful_of_requests(orchestrator: Orchestrator) -> None:
    """The whole structure (22 objects) goes out in 4 HTTP requests, not one per object."""
    with capture_logs() as logs:
        response = await orchestrator.execute(full_campaign_request())
    assert response.status == "COMPLETED"
    sent = [line for line in logs if line["event"] == "graph.request.completed"]
    # the account, the image lookup by hash, the batch with the new images attached, and the
    # names given back once the workflow completed (naming.keys: strip)
    assert len(sent) == 4


async def test_a_repeated_request_id_returns_the_first_result_and_creates_nothing(
    orchestrator: Orchestrator, client: httpx2.AsyncClient, sandbox: Sandbox
) -> None:
    """The same request_id again is answered from the journal; Meta is not called."""
    first = await orchestrator.execute(full_campaign_request("same"))
    calls = request_count(sandbox)
    again = await orchestrator.execute(full_campaign_request("same"))
    assert again.replayed
    assert again.result == first.result
    assert request_count(sandbox) == calls
    assert len([r for r in await live_objects(client) if r["kind"] == "campaign"]) == 1


async def test_a_request_id_reused_for_another_request_is_a_conflict(
    orchestrator: Orchestrator,
) -> None:
    """A request_id names one request; sending another body under it is refused."""
    await orchestrator.execute(full_campaign_request("taken"))
    with pytest.raises(ConflictError) as caught:
        await orchestrator.execute(full_campaign_request("taken", adsets=2))
    assert caught.value.details["field"] == "request_id"


FAILURES = {
    "image upload": "graph_error:code=100,method=POST,path=act_*/adimages,nth=1",
    "campaign": "graph_error:code=100,method=POST,path=act_*/campaigns,nth=1",
    "first ad set": "graph_error:code=100,subcode=1885272,method=POST,path=act_*/adsets,nth=1",
    "third ad set": "graph_error:code=100,subcode=1885272,method=POST,path=act_*/adsets,nth=3",
    "first creative": "graph_error:code=100,method=POST,path=act_*/adcreatives,nth=1",
    "last creative": "graph_error:code=100,method=POST,path=act_*/adcreatives,nth=6",
    "first ad": "graph_error:code=100,method=POST,path=act_*/ads,nth=1",
    "last ad": "graph_error:code=100,method=POST,path=act_*/ads,nth=6",
}


@pytest.mark.parametrize("fault", FAILURES.values(), ids=FAILURES.keys())
async def test_a_failure_at_any_step_leaves_nothing_live(
    orchestrator: Orchestrator, client: httpx2.AsyncClient, fault: str
) -> None:
    """Whichever step fails, the rollback deletes everything it made (admin listing as witness)."""
    assert (await client.post("/_sandbox/faults", json={"spec": fault})).status_code == 200
    response = await orchestrator.execute(full_campaign_request())
    assert response.status == "ROLLED_BACK", response
    assert response.error is not None
    assert response.error["kind"] == "workflow_failed"
    assert response.error["cause"]["kind"] == "invalid_parameter"
    assert await live_objects(client) == []


async def test_a_failure_at_activation_rolls_back_too(
    orchestrator: Orchestrator, client: httpx2.AsyncClient
) -> None:
    """Activation is the last step; failing there still leaves no live object."""
    await client.post(
        "/_sandbox/faults", json={"spec": "graph_error:code=100,method=POST,path=[0-9]*,nth=2"}
    )
    response = await orchestrator.execute(full_campaign_request(activate=True))
    assert response.status == "ROLLED_BACK", response
    assert await live_objects(client) == []


async def test_activation_sets_everything_active_last(
    orchestrator: Orchestrator, client: httpx2.AsyncClient
) -> None:
    """With options.activate, the structure is created PAUSED and then activated."""
    response = await orchestrator.execute(full_campaign_request(activate=True))
    assert response.status == "COMPLETED", response.error
    statuses = {r["status"] for r in await live_objects(client, ("campaign", "adset", "ad"))}
    assert statuses == {"ACTIVE"}


async def test_the_journal_records_every_step_and_resource(
    orchestrator: Orchestrator, journal: SqlJournal
) -> None:
    """Steps are journaled STARTED then COMPLETED; every created object is a resource."""
    response = await orchestrator.execute(full_campaign_request())
    assert response.workflow_id is not None
    steps = await journal.steps(response.workflow_id)
    assert [s.name for s in steps] == ["launch", "settle"]  # the images travel in the launch
    assert {s.status.value for s in steps} == {"COMPLETED"}
    kinds = [r.kind for r in await journal.resources(response.workflow_id)]
    assert kinds.count("ad") == 6
    assert kinds.count("campaign") == 1
    assert kinds.count("image") == 0  # images are kept, not journaled: named by their hash


class TestPolicy:
    """Policy violations are refused before any write, naming the limit and the excess."""

    @pytest.fixture
    def policies(self) -> PolicyBook:
        """An account capped at ₹1,000 a day per budget, traffic only, approval to activate."""
        capped = AccountPolicy(
            max_daily_budget=100_000,
            allowed_objectives=frozenset({"OUTCOME_TRAFFIC"}),
            activation_requires_approval=True,
        )
        return PolicyBook(accounts={"act_1234567890": capped})

    async def test_a_budget_over_the_cap_is_refused_before_any_write(
        self, orchestrator: Orchestrator, sandbox: Sandbox, client: httpx2.AsyncClient
    ) -> None:
        """₹2,000 against a ₹1,000 cap: refused, saying the limit and the ₹1,000 excess."""
        with pytest.raises(PolicyViolationError) as caught:
            await orchestrator.execute(full_campaign_request(daily_budget=200_000))
        error = caught.value
        assert error.details["field"] == "data.adsets[0].daily_budget"
        assert error.details["limit"] == "max_daily_budget"
        assert error.details["excess"] == 100_000
        assert "INR 1,000.00 (100000)" in error.message
        assert await live_objects(client) == []

    async def test_activation_without_approval_waits_paused(
        self, orchestrator: Orchestrator, client: httpx2.AsyncClient
    ) -> None:
        """The policy asks for an approver: the launch waits, built and PAUSED, none ACTIVE."""
        response = await orchestrator.execute(full_campaign_request(activate=True))
        assert response.status == "PENDING_APPROVAL"
        assert response.result is not None
        approval = response.result["approval"]
        assert approval["rules"] == ["activation_requires_approval"]
        assert len(approval["diff"]) == 10  # 1 campaign, 3 ad sets, 6 ads, each set ACTIVE
        live = await live_objects(client, ("campaign", "adset", "ad"))
        assert len(live) == 10
        assert {record["status"] for record in live} == {"PAUSED"}

    async def test_an_objective_outside_the_policy_is_refused(
        self, orchestrator: Orchestrator
    ) -> None:
        """OUTCOME_SALES on a traffic-only account is refused, listing what is allowed."""
        request = full_campaign_request()
        request["data"]["campaign"]["objective"] = "OUTCOME_AWARENESS"
        for adset in request["data"]["adsets"]:
            adset["optimization_goal"] = "REACH"
        with pytest.raises(PolicyViolationError) as caught:
            await orchestrator.execute(request)
        assert caught.value.details["allowed"] == ["OUTCOME_TRAFFIC"]


async def test_a_bad_field_names_its_path(orchestrator: Orchestrator) -> None:
    """Validation errors name the full path under data and create nothing."""
    request = full_campaign_request()
    request["data"]["ads"][2]["adset_ref"] = "Nobody"
    with pytest.raises(RequestValidationError) as caught:
        await orchestrator.execute(request)
    assert caught.value.field == "data.ads[2].adset_ref"


async def test_a_budget_below_the_currency_floor_names_the_floor(
    orchestrator: Orchestrator,
) -> None:
    """₹1 a day is refused with the INR floor in rupees, before anything is sent."""
    with pytest.raises(RequestValidationError) as caught:
        await orchestrator.execute(full_campaign_request(daily_budget=100))
    assert caught.value.field == "data.adsets[0].daily_budget"
    assert "₹" in caught.value.message


async def test_dry_run_validates_with_meta_and_creates_nothing(
    orchestrator: Orchestrator, client: httpx2.AsyncClient
) -> None:
    """A dry run checks the plan (validate_only) and leaves no ad object behind."""
    response = await orchestrator.execute(full_campaign_request(dry_run=True))
    assert response.status == "COMPLETED"
    assert response.dry_run
    assert response.result is not None
    assert "campaign" in response.result["validated_by_meta"]
    assert await live_objects(client) == []


async def test_an_interest_that_matches_nothing_is_named_before_anything_is_sent(
    orchestrator: Orchestrator, client: httpx2.AsyncClient
) -> None:
    """Targeting names are resolved up front: an unknown one is a field error, nothing created."""
    request = full_campaign_request()
    request["data"]["adsets"][1]["targeting"]["interests"] = ["Underwater basket weaving"]
    with pytest.raises(RequestValidationError) as caught:
        await orchestrator.execute(request)
    assert caught.value.field == "data.adsets[1].targeting.interests[0]"
    assert "Underwater basket weaving" in caught.value.message
    assert await live_objects(client) == []
