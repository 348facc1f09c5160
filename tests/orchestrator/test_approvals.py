"""Approvals: held writes wait, only another approver of the account decides, and they expire."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import pytest

from meta_agent.errors import AccessDeniedError, ConflictError, UnknownRecordError
from meta_agent.gate.policy import AccountPolicy, PolicyBook
from meta_agent.orchestrator.orchestrator import Orchestrator
from meta_agent.principals import Principal, Role
from tests.conftest import INR_ACCOUNT, USD_ACCOUNT
from tests.orchestrator.conftest import full_campaign_request, live_objects

AGENT = Principal(id="k-agent", name="agent", role=Role.AGENT)
ANA = Principal(id="k-ana", name="Ana", role=Role.APPROVER)
USD_APPROVER = Principal(id="k-bob", role=Role.APPROVER, accounts=frozenset({USD_ACCOUNT}))


@pytest.fixture
def policies() -> PolicyBook:
    """Activation on the INR account needs an approval."""
    return PolicyBook(accounts={INR_ACCOUNT: AccountPolicy(activation_requires_approval=True)})


async def _held(orchestrator: Orchestrator, request_id: str = "held-1", **options: Any) -> str:
    response = await orchestrator.execute(
        full_campaign_request(
            request_id, images=2, adsets=1, ads_per_adset=2, activate=True, **options
        ),
        AGENT,
    )
    assert response.status == "PENDING_APPROVAL", response
    assert response.result is not None
    return str(response.result["approval"]["id"])


async def _statuses(client: httpx2.AsyncClient) -> set[str]:
    return {r["status"] for r in await live_objects(client, ("campaign", "adset", "ad"))}


async def test_granting_sends_exactly_the_held_writes(
    orchestrator: Orchestrator, client: httpx2.AsyncClient
) -> None:
    """Ana approves the agent's activation: the workflow completes and everything is ACTIVE."""
    approval_id = await _held(orchestrator)
    assert await _statuses(client) == {"PAUSED"}
    shown = await orchestrator.approvals.get(approval_id, ANA)
    assert len(shown.diff) == 4  # campaign, ad set, two ads set ACTIVE
    assert all(item["params"]["status"] == "ACTIVE" for item in shown.diff)
    response = await orchestrator.approvals.approve(approval_id, ANA, "looks right")
    assert response.status == "COMPLETED", response.error
    assert await _statuses(client) == {"ACTIVE"}
    decided = await orchestrator.approvals.get(approval_id, ANA)
    assert (decided.status.value, decided.decided_by) == ("APPROVED", "k-ana")


async def test_the_requester_cannot_approve_itself(orchestrator: Orchestrator) -> None:
    """An approver who asked for the approval cannot grant it; another approver must."""
    response = await orchestrator.execute(
        full_campaign_request("self", images=2, adsets=1, ads_per_adset=1, activate=True), ANA
    )
    assert response.result is not None
    approval_id = response.result["approval"]["id"]
    with pytest.raises(AccessDeniedError, match="cannot grant"):
        await orchestrator.approvals.approve(approval_id, ANA)


async def test_an_agent_or_another_accounts_approver_cannot_approve(
    orchestrator: Orchestrator, client: httpx2.AsyncClient
) -> None:
    """The agent role may not approve, nor an approver limited to another account."""
    approval_id = await _held(orchestrator)
    other_agent = Principal(id="k-other", role=Role.AGENT)
    with pytest.raises(AccessDeniedError, match="approver or admin role"):
        await orchestrator.approvals.approve(approval_id, other_agent)
    with pytest.raises(UnknownRecordError):  # not even visible to it
        await orchestrator.approvals.approve(approval_id, USD_APPROVER)
    assert await _statuses(client) == {"PAUSED"}


async def test_rejecting_rolls_back_what_the_workflow_built(
    orchestrator: Orchestrator, client: httpx2.AsyncClient
) -> None:
    """A rejected launch is rolled back: nothing it created stays live."""
    approval_id = await _held(orchestrator)
    response = await orchestrator.approvals.reject(approval_id, ANA, "wrong audience")
    assert response.status == "ROLLED_BACK"
    assert await live_objects(client) == []
    with pytest.raises(ConflictError):
        await orchestrator.approvals.approve(approval_id, ANA)


async def test_rejecting_keeps_the_objects_when_the_request_said_so(
    orchestrator: Orchestrator, client: httpx2.AsyncClient
) -> None:
    """rollback_on_failure false: rejected, the PAUSED objects stay and the workflow FAILED."""
    approval_id = await _held(orchestrator, "keep", rollback_on_failure=False)
    response = await orchestrator.approvals.reject(approval_id, ANA)
    assert response.status == "FAILED"
    assert await _statuses(client) == {"PAUSED"}


async def test_an_approval_expires_and_its_workflow_ends(
    orchestrator: Orchestrator, client: httpx2.AsyncClient
) -> None:
    """Past its time an approval is EXPIRED, cannot be granted, and the launch is rolled back."""
    approval_id = await _held(orchestrator)
    later = datetime.now(UTC) + timedelta(hours=25)
    orchestrator.approvals.now = lambda: later
    assert await orchestrator.approvals.expire_due() == 1
    found = await orchestrator.approvals.get(approval_id, ANA)
    assert found.status.value == "EXPIRED"
    with pytest.raises(ConflictError):
        await orchestrator.approvals.approve(approval_id, ANA)
    assert await live_objects(client) == []


async def test_a_replayed_request_id_answers_pending_with_the_approval(
    orchestrator: Orchestrator,
) -> None:
    """Sending the held request again returns the same pending answer and makes nothing."""
    approval_id = await _held(orchestrator)
    again = await orchestrator.execute(
        full_campaign_request("held-1", images=2, adsets=1, ads_per_adset=2, activate=True),
        AGENT,
    )
    assert again.replayed
    assert again.status == "PENDING_APPROVAL"
    assert again.result is not None
    assert again.result["approval"]["id"] == approval_id


async def test_approvals_are_listed_only_for_the_principals_accounts(
    orchestrator: Orchestrator,
) -> None:
    """An approver of another account sees none of this account's approvals."""
    approval_id = await _held(orchestrator)
    assert [a.id for a in await orchestrator.approvals.list(ANA)] == [approval_id]
    assert await orchestrator.approvals.list(USD_APPROVER) == []


async def test_a_reused_request_id_of_another_account_reveals_nothing(
    orchestrator: Orchestrator,
) -> None:
    """A USD-only caller reusing an INR workflow's request_id gets a conflict without its id."""
    await _held(orchestrator)
    usd_only = Principal(id="k-usd", accounts=frozenset({USD_ACCOUNT}))
    request = full_campaign_request("held-1", account=USD_ACCOUNT)
    with pytest.raises(ConflictError) as caught:
        await orchestrator.execute(request, usd_only)
    assert "workflow_id" not in caught.value.details
    assert "already in use" in caught.value.message
