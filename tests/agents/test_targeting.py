"""TargetingHelper: names resolved through targeting search, cached, and built into a spec."""

from __future__ import annotations

import asyncio

import pytest

from meta_agent.agents.params import TargetingParams
from meta_agent.agents.targeting import TargetingHelper, pick_interest
from meta_agent.agents.validation import validate
from meta_agent.errors import RequestValidationError
from meta_agent.graph.models import TargetingOption
from meta_agent.sandbox import Sandbox
from tests.conftest import INR_ACCOUNT


def searches(sandbox: Sandbox) -> int:
    """How many targeting searches the sandbox has served."""
    return sandbox.counters.by_route.get("GET search", 0)


async def test_build_resolves_interests_and_places(targeting_helper: TargetingHelper) -> None:
    """Interest and place names become ids and keys in the spec, beside the given fields."""
    params = TargetingParams(
        interests=["coffee", "Yoga"],
        places=["Mumbai", {"name": "Karnataka", "location_type": "region"}],
        countries=["in"],
        age_min=21,
        genders=["female"],
    )
    spec = await targeting_helper.build(params, INR_ACCOUNT)
    assert spec.flexible_spec == [
        {"interests": [{"id": "6003120903976", "name": "Coffee"}, spec_interest(spec, "Yoga")]}
    ]
    geo = spec.geo_locations or {}
    assert geo["countries"] == ["IN"]
    assert geo["cities"] == [{"key": "1035086"}]
    assert len(geo["regions"]) == 1
    assert spec.age_min == 21
    assert spec.genders == [2]
    assert spec.targeting_automation == {"advantage_audience": 0}


def spec_interest(spec: object, name: str) -> dict[str, str]:
    """The resolved interest called ``name`` in a built spec."""
    items = spec.flexible_spec[0]["interests"]  # type: ignore[attr-defined]
    found: dict[str, str] = next(item for item in items if item["name"] == name)
    return found


async def test_second_build_hits_the_cache(
    targeting_helper: TargetingHelper, sandbox: Sandbox
) -> None:
    """A term resolved once is not searched again (the cache answers, case aside)."""
    await targeting_helper.build(TargetingParams(interests=["Running"], countries=["IN"]), "1")
    before = searches(sandbox)
    assert before == 1
    spec = await targeting_helper.build(
        TargetingParams(interests=["running"], countries=["IN"]), INR_ACCOUNT
    )
    assert searches(sandbox) == before
    assert spec.flexible_spec == [{"interests": [{"id": "6003042302589", "name": "Running"}]}]


async def test_concurrent_builds_naming_one_interest_search_it_once(
    targeting_helper: TargetingHelper, sandbox: Sandbox
) -> None:
    """Ad sets of one launch resolved at once, all naming "Running": one search, not five."""
    params = TargetingParams(interests=["Running"], countries=["IN"])
    specs = await asyncio.gather(*(targeting_helper.build(params, INR_ACCOUNT) for _ in range(5)))
    assert searches(sandbox) == 1
    assert all(spec.flexible_spec == specs[0].flexible_spec for spec in specs)


async def test_unmatched_interest_names_term_and_path(targeting_helper: TargetingHelper) -> None:
    """A name that matches nothing raises, naming the term and its field path."""
    params = TargetingParams(
        interests=["Coffee", "Tea", "underwater basket weaving"], countries=["IN"]
    )
    with pytest.raises(RequestValidationError) as caught:
        await targeting_helper.build(params, INR_ACCOUNT)
    assert caught.value.field == "targeting.interests[2]"
    assert '"underwater basket weaving"' in caught.value.message
    assert "broader term" in caught.value.message


async def test_unmatched_place_names_its_path(targeting_helper: TargetingHelper) -> None:
    """An unknown place raises with the path under the caller's prefix."""
    params = TargetingParams(places=["Atlantis"])
    with pytest.raises(RequestValidationError) as caught:
        await targeting_helper.build(params, INR_ACCOUNT, at="adsets[1].targeting")
    assert caught.value.field == "adsets[1].targeting.places[0]"


def test_exact_name_beats_a_bigger_audience() -> None:
    """An exact (case-insensitive) name wins; without one, the largest audience does."""
    options = [
        TargetingOption(id="1", name="Coffee lovers", audience_size_upper_bound=900),
        TargetingOption(id="2", name="Coffee", audience_size_upper_bound=100),
        TargetingOption(id="3", name="Coffeehouses", audience_size_upper_bound=500),
    ]
    assert (pick_interest("COFFEE", options) or options[0]).id == "2"
    assert (pick_interest("coff", options) or options[1]).id == "1"
    assert pick_interest("coffee", []) is None


async def test_placements_and_audiences_reach_the_spec(
    targeting_helper: TargetingHelper,
) -> None:
    """Manual placements, custom and excluded audiences and locales pass through as Meta names them."""
    params = TargetingParams(
        countries=["US"],
        custom_audiences=["23850000000000002"],
        excluded_custom_audiences=["23850000000000001"],
        placements={"publisher_platforms": ["facebook"], "facebook_positions": ["feed"]},
        locales=[6],
        advantage_audience=True,
    )
    spec = await targeting_helper.build(params, INR_ACCOUNT)
    assert spec.publisher_platforms == ["facebook"]
    assert spec.facebook_positions == ["feed"]
    assert spec.custom_audiences == [{"id": "23850000000000002"}]
    assert spec.excluded_custom_audiences == [{"id": "23850000000000001"}]
    assert spec.locales == [6]
    assert spec.targeting_automation == {"advantage_audience": 1}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"countries": ["IN"], "age_min": 16}, "targeting.age_min"),
        ({"countries": ["IN"], "age_min": 40, "age_max": 30}, "targeting.age_min"),
        ({}, "targeting.countries"),
        ({"countries": ["IN"], "advantage_audience": True, "age_max": 40}, "targeting.age_max"),
        (
            {"countries": ["IN"], "placements": {"publisher_platforms": ["audience_network"]}},
            "targeting.placements.publisher_platforms",
        ),
        (
            {
                "countries": ["IN"],
                "placements": {
                    "publisher_platforms": ["facebook"],
                    "facebook_positions": ["video_feeds"],
                },
            },
            "targeting.placements.facebook_positions",
        ),
        (
            {
                "countries": ["IN"],
                "placements": {
                    "publisher_platforms": ["facebook"],
                    "instagram_positions": ["reels"],
                },
            },
            "targeting.placements.instagram_positions",
        ),
        ({"cities": [{"key": "1035086", "radius": 5}]}, "targeting.cities[0].radius"),
        (
            {"countries": ["IN"], "custom_audiences": ["1"], "excluded_custom_audiences": ["1"]},
            "targeting.excluded_custom_audiences",
        ),
        ({"countries": ["IN"], "interests": ["ok", ""]}, "targeting.interests[1]"),
    ],
)
def test_invalid_targeting_names_the_field(data: dict[str, object], field: str) -> None:
    """Each targeting rule refuses with the dotted path of the field to fix."""
    with pytest.raises(RequestValidationError) as caught:
        validate(TargetingParams, data, at="targeting")
    assert caught.value.field == field
    assert caught.value.message.startswith(f"{field}: ")
