"""A dry run shows the plan: every object with its name, money, schedule, targeting with
Meta's ids, placements, the creative's text and media, Meta's estimate, the policy's word."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from meta_agent.cache import MemoryCache
from meta_agent.errors import RequestValidationError
from meta_agent.gate.policy import AccountPolicy, PolicyBook
from meta_agent.graph.client import GraphClient
from meta_agent.interfaces.examples import example
from meta_agent.orchestrator.env import Env
from meta_agent.orchestrator.orchestrator import Orchestrator
from meta_agent.store.sql import SqlJournal
from tests.conftest import INR_ACCOUNT
from tests.orchestrator.conftest import full_campaign_request, live_objects


def _objects(result: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [entry for entry in result["objects"] if entry["kind"] == kind]


async def test_the_plan_names_every_object_with_what_would_be_sent(
    orchestrator: Orchestrator, client: httpx2.AsyncClient
) -> None:
    """Names without their key tag, budgets in major units, targeting ids, text, estimates."""
    response = await orchestrator.execute(full_campaign_request(dry_run=True, adsets=2))
    result = response.result or {}
    assert [o["name"] for o in _objects(result, "campaign")] == ["Winter shoes"]
    adset = _objects(result, "adset")[0]
    assert adset["name"] == "Adults 0"
    assert adset["daily_budget"] == "INR 500.00 (50000)"
    assert adset["schedule"] == "starts when activated, no end date"
    assert adset["targeting"]["locations"] == ["IN"]
    assert adset["targeting"]["ages"] == "18-45"
    assert adset["placements"].startswith("Advantage+ placements")
    assert "to" in adset["estimate"]["audience"]
    # Meta removed daily_outcomes_curve and estimate_dau from delivery estimates (v26.0, every
    # version since 2026-10-27): the plan shows the audience only, and says nothing it lacks.
    assert "per_day" not in adset["estimate"]
    assert "daily_active_users" not in adset["estimate"]
    creative = _objects(result, "adcreative")[0]
    assert creative["message"] == "Run further."
    assert creative["call_to_action"] == "SHOP_NOW"
    assert len(creative["image_hash"]) == 32
    ad = _objects(result, "ad")[0]
    assert (ad["adset"], ad["creative"]) == ("Adults 0", "Creative 0-0")
    assert result["policy"]["verdict"].startswith("allowed")
    assert await live_objects(client) == []


async def test_interests_are_shown_with_the_ids_meta_resolved(orchestrator: Orchestrator) -> None:
    """An interest given by name appears with Meta's id; placements given are listed."""
    request = example("create_full_campaign", "carousel")
    response = await orchestrator.execute(request)
    result = response.result or {}
    adset = _objects(result, "adset")[0]
    (interest,) = adset["targeting"]["interests"]
    assert interest.removeprefix("Coffee (").removesuffix(")").isdigit()
    assert adset["placements"] == "platforms: facebook, instagram"
    assert adset["schedule"] == "starts 2030-01-01T09:00:00Z, ends 2030-01-31T21:00:00Z"
    assert adset["daily_budget"] == "USD 20.00 (2000)"
    cards = _objects(result, "adcreative")[0]["cards"]
    assert [card["headline"] for card in cards] == ["Espresso", "Filter", "Cold-Brew"]


async def test_the_verdict_says_everything_goes_active_when_asked(
    orchestrator: Orchestrator,
) -> None:
    """With activate (and a policy that does not hold activations) the verdict says ACTIVE."""
    request = full_campaign_request(dry_run=True, activate=True, adsets=1, ads_per_adset=1)
    policy = ((await orchestrator.execute(request)).result or {})["policy"]
    assert policy["activation"] == "yes"
    assert "ACTIVE" in policy["verdict"]


async def test_the_verdict_says_when_activation_waits_for_an_approval(
    graph_client: GraphClient, journal: SqlJournal
) -> None:
    """A policy that holds activations: the dry run's verdict says the approver is needed."""
    book = PolicyBook(default=AccountPolicy(activation_requires_approval=True))
    env = Env.build(graph_client, journal, cache=MemoryCache(), policies=book)
    request = full_campaign_request(dry_run=True, activate=True, adsets=1, ads_per_adset=1)
    policy = ((await Orchestrator(env).execute(request)).result or {})["policy"]
    assert policy["activation"] == "waits for an approval"
    assert "approver" in policy["verdict"]


async def test_an_update_creative_dry_run_shows_the_new_creative_and_the_ad(
    orchestrator: Orchestrator,
) -> None:
    """The new creative's text and the ad it goes on, with the creative it replaces."""
    launched = await orchestrator.execute(full_campaign_request("launch", adsets=1, images=1))
    ad = (launched.result or {})["ads"][0]
    request = example("update_creative")
    request["account_id"] = INR_ACCOUNT
    request["data"]["ad_id"] = ad["id"]
    request["data"]["creative"]["page_id"] = full_campaign_request()["data"]["ads"][0]["creative"][
        "page_id"
    ]
    response = await orchestrator.execute(request)
    assert response.status == "COMPLETED", response.error
    creative, change = (response.result or {})["objects"]
    assert creative["name"] == "Spring hero, v2"
    assert creative["message"] == "Fresh roast, delivered."
    assert "hero-2" in creative["image_hash"]
    assert change["creative"] == "Spring hero, v2"
    assert change["replaces"] == ad["creative_id"]


async def test_an_update_stated_in_another_currency_is_refused(orchestrator: Orchestrator) -> None:
    """'25.00 INR' for a USD ad set: refused before any write, naming the change's field."""
    launch = example("create_full_campaign")
    launch["options"] = {}
    created = (await orchestrator.execute(launch)).result or {}
    request = example("update_campaign")
    request["data"]["updates"] = [
        {
            "object_id": created["adsets"][0]["id"],
            "level": "adset",
            "changes": {"daily_budget": "25.00 INR"},
        }
    ]
    with pytest.raises(RequestValidationError) as caught:
        await orchestrator.execute(request)
    assert caught.value.field == "data.updates[0].changes.daily_budget"
    assert "USD" in caught.value.message
