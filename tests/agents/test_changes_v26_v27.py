"""meta-agent never depends on what Meta removed in v26/v27 (reference §13.2-§13.3).

Each test runs the real agents into the sandbox on its default clock (2026-11-18), when every
v26 change applies to every version: what the client would have sent is refused before it is
sent, and what it does send is what Meta keeps (the ad set reads back as written).
"""

from __future__ import annotations

from typing import Any

import pytest

from meta_agent.agents.campaigns import CampaignAgent
from meta_agent.agents.creative_params import ImageCreativeParams
from meta_agent.agents.creatives import AdCreationAgent
from meta_agent.agents.params import AdSetParams, CampaignParams
from meta_agent.agents.validation import validate
from meta_agent.errors import RequestValidationError
from meta_agent.graph.client import GraphClient
from meta_agent.sandbox import Sandbox
from tests.agents.test_creatives import image_params, record
from tests.conftest import INR_ACCOUNT
from tests.graph.test_services import PNG

PLACES = {"places": ["Mumbai"]}


def adset_input(**targeting: Any) -> dict[str, Any]:
    """A link-click ad set in Mumbai as a caller sends it, ``targeting`` laid over the places."""
    return {
        "name": "Mumbai",
        "optimization_goal": "LINK_CLICKS",
        "destination_type": "WEBSITE",
        "targeting": {**PLACES, **targeting},
        "daily_budget": 50_000,
    }


def adset(**targeting: Any) -> AdSetParams:
    """The validated ad set of :func:`adset_input`."""
    return validate(AdSetParams, adset_input(**targeting))


async def campaign_id(agent: CampaignAgent, *categories: str) -> str:
    params = CampaignParams.model_validate(
        {"name": "Homes", "objective": "OUTCOME_TRAFFIC", "special_ad_categories": categories}
    )
    made = await agent.create_campaign(INR_ACCOUNT, params, idempotency_key="c")
    assert made.id is not None
    return made.id


@pytest.mark.parametrize("advantage", [False, True])
async def test_housing_ad_sets_always_carry_the_advantage_flag(
    campaign_agent: CampaignAgent, sandbox: Sandbox, advantage: bool
) -> None:
    """The v26 rule for restricted categories (flag required, else 1870227) never trips."""
    parent = await campaign_id(campaign_agent, "HOUSING")
    made = await campaign_agent.create_adset(
        INR_ACCOUNT, parent, adset(advantage_audience=advantage), idempotency_key="a"
    )
    assert made.id is not None
    stored = sandbox.state.get(made.id)["targeting"]["targeting_automation"]
    assert stored == {"advantage_audience": int(advantage)}


@pytest.mark.parametrize(
    ("placements", "field", "removed"),
    [
        pytest.param(
            {
                "publisher_platforms": ["facebook", "messenger"],
                "facebook_positions": ["feed"],
                "messenger_positions": ["sponsored_messages", "story"],
            },
            "messenger_positions",
            "story",
            id="messenger-story",
        ),
        pytest.param(
            {"publisher_platforms": ["instagram"], "instagram_positions": ["stream", "explore"]},
            "instagram_positions",
            "explore",
            id="instagram-explore",
        ),
    ],
)
async def test_removed_placements_are_refused_before_sending(
    sandbox: Sandbox,
    placements: dict[str, Any],
    field: str,
    removed: str,
) -> None:
    """Refused while the caller's input is validated, so no request is ever made of it."""
    before = sandbox.counters.total
    with pytest.raises(RequestValidationError) as caught:
        validate(AdSetParams, adset_input(placements=placements))
    assert caught.value.field == f"targeting.placements.{field}"
    assert removed in str(caught.value)
    assert "v26" in str(caught.value)
    assert sandbox.counters.total == before


async def test_placements_that_remain_read_back_as_written(
    campaign_agent: CampaignAgent, sandbox: Sandbox
) -> None:
    """Explore home and Messenger's other positions are still served: nothing is dropped."""
    placements = {
        "publisher_platforms": ["facebook", "instagram", "messenger"],
        "facebook_positions": ["feed"],
        "instagram_positions": ["stream", "explore_home"],
        "messenger_positions": ["sponsored_messages"],
    }
    parent = await campaign_id(campaign_agent)
    made = await campaign_agent.create_adset(
        INR_ACCOUNT, parent, adset(placements=placements), idempotency_key="a"
    )
    assert made.id is not None
    stored = sandbox.state.get(made.id)["targeting"]
    assert {key: stored[key] for key in placements} == placements


def test_creatives_cannot_ask_for_a_survey_or_a_web_only_treatment() -> None:
    """The creative inputs offer neither; an attempt is refused by name, never sent."""
    for extra in ({"interactive_components_spec": {}}, {"applink_treatment": "web_only"}):
        with pytest.raises(RequestValidationError) as caught:
            ImageCreativeParams.parse(image_params(**extra))
        assert next(iter(extra)) in str(caught.value.field)


async def test_creatives_go_out_without_survey_or_applink_treatment(
    creative_agent: AdCreationAgent, graph_client: GraphClient, sandbox: Sandbox
) -> None:
    """What the agent sends makes no survey and no web-only creative (both refused since v26)."""
    image = await graph_client.images.upload_bytes(INR_ACCOUNT, PNG, name="hero.png")
    params = ImageCreativeParams.parse(image_params(image_ref=None, image_hash=image.hash))
    made = await creative_agent.create_image_creative(INR_ACCOUNT, params, idempotency_key="c")
    stored = record(sandbox, made.id)
    assert "interactive_components_spec" not in stored
    assert "applink_treatment" not in stored
