"""Targeting search (every /search type), targetingsearch and audience estimates (§10.1)."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime
from typing import Any

import httpx2
import pytest

from meta_agent.sandbox import ManualClock
from meta_agent.sandbox.state import CUSTOM_AUDIENCE_IDS
from tests.conftest import INR_ACCOUNT, Graph, error_of

INDIA = {"geo_locations": {"countries": ["IN"]}}


def data_of(response: httpx2.Response) -> Any:
    """The ``data`` of a successful call."""
    assert response.status_code == 200, response.text
    return response.json()["data"]


def blame(error: dict[str, Any]) -> list[list[str]]:
    """The error's blame_field_specs."""
    specs: list[list[str]] = json.loads(error["error_data"])["blame_field_specs"]
    return specs


async def search(graph: Graph, kind: str, **params: Any) -> Any:
    """``GET /search?type=kind`` with list and object values JSON-encoded, as the SDK sends."""
    encoded = {k: json.dumps(v) if isinstance(v, list | dict) else v for k, v in params.items()}
    return data_of(await graph.get("search", type=kind, **encoded))


async def interest(graph: Graph, name: str) -> dict[str, Any]:
    """The interest called ``name``, found through adinterest search."""
    items = await search(graph, "adinterest", q=name)
    found: dict[str, Any] = next(item for item in items if item["name"] == name)
    return found


async def reach(graph: Graph, spec: dict[str, Any]) -> tuple[int, int]:
    """``(users_lower_bound, users_upper_bound)`` for a targeting spec."""
    response = await graph.get(f"{INR_ACCOUNT}/reachestimate", targeting_spec=json.dumps(spec))
    body = data_of(response)
    assert body["estimate_ready"] is True
    return body["users_lower_bound"], body["users_upper_bound"]


async def test_adinterest_finds_interests_by_name(graph: Graph) -> None:
    """q=coffee puts the exact 'Coffee' interest first, with id, path, topic and audience bounds."""
    items = await search(graph, "adinterest", q="coffee")
    first = items[0]
    assert first["name"] == "Coffee"
    assert first["id"].startswith("6003")
    assert len(first["id"]) == 13
    assert first["path"][-1] == "Coffee"
    assert first["topic"] == "Food and drink"
    assert 0 < first["audience_size_lower_bound"] < first["audience_size_upper_bound"]
    assert all("coffee" in item["name"].lower() for item in items)


async def test_adinterest_pages_with_limit(graph: Graph) -> None:
    """limit caps a page and paging.next leads on."""
    body = (await graph.get("search", type="adinterest", q="a", limit=2)).json()
    assert len(body["data"]) == 2
    assert "next" in body["paging"]


@pytest.mark.parametrize("params", [{}, {"q": ""}, {"q": "   "}])
async def test_missing_q_is_refused_naming_q(graph: Graph, params: dict[str, str]) -> None:
    """adinterest without a query text is code 100 blaming q."""
    error = error_of(await graph.get("search", type="adinterest", **params))
    assert (error["code"], error.get("error_subcode")) == (100, None)
    assert blame(error) == [["q"]]


async def test_unknown_type_is_refused(graph: Graph) -> None:
    """A type outside the search types is code 100 listing the valid ones; none at all too."""
    error = error_of(await graph.get("search", type="adcolour", q="x"))
    assert error["code"] == 100
    assert "adinterest" in error["message"]
    assert blame(error) == [["type"]]
    missing = error_of(await graph.get("search", q="x"))
    assert missing["code"] == 100
    assert blame(missing) == [["type"]]


async def test_search_is_deterministic(graph: Graph) -> None:
    """The same query gives the same answer, every time."""
    first = (await graph.get("search", type="adgeolocation", q="san")).json()
    second = (await graph.get("search", type="adgeolocation", q="san")).json()
    assert first == second


async def test_adinterestsuggestion_suggests_related_interests(graph: Graph) -> None:
    """Suggestions for Cricket start with other cricket interests and leave Cricket out."""
    items = await search(graph, "adinterestsuggestion", interest_list=["Cricket"])
    names = [item["name"] for item in items]
    assert "Cricket" not in names
    assert "cricket" in names[0].lower()
    assert {"id", "audience_size_lower_bound", "path"} <= set(items[0])


async def test_adinterestsuggestion_needs_an_interest_list(graph: Graph) -> None:
    """Without interest_list: code 100 naming it."""
    error = error_of(await graph.get("search", type="adinterestsuggestion"))
    assert error["code"] == 100
    assert blame(error) == [["interest_list"]]


async def test_adinterestvalid_checks_names_and_ids(graph: Graph) -> None:
    """Known names are valid with their id; unknown names, ids and deprecated ones are not."""
    coffee = await interest(graph, "Coffee")
    by_name = await search(graph, "adinterestvalid", interest_list=["coffee", "Zzzyzx"])
    assert by_name[0] == {
        "name": "Coffee",
        "valid": True,
        "id": coffee["id"],
        "audience_size_lower_bound": coffee["audience_size_lower_bound"],
        "audience_size_upper_bound": coffee["audience_size_upper_bound"],
    }
    assert by_name[1] == {"name": "Zzzyzx", "valid": False}
    by_id = await search(graph, "adinterestvalid", interest_fbid_list=[coffee["id"], "6003000"])
    assert [item["valid"] for item in by_id] == [True, False]
    deprecated = await search(graph, "adinterestvalid", interest_list=["Coffeehouses"])
    assert deprecated[0]["valid"] is False


async def test_adgeolocation_finds_countries(graph: Graph) -> None:
    """location_types=["country"] finds India by name, with Meta's country shape."""
    items = await search(graph, "adgeolocation", q="ind", location_types=["country"])
    india = items[0]
    assert india == {
        "key": "IN",
        "name": "India",
        "type": "country",
        "country_code": "IN",
        "supports_region": True,
        "supports_city": True,
    }
    assert all(item["type"] == "country" for item in items)


async def test_adgeolocation_finds_cities_with_their_region(graph: Graph) -> None:
    """Cities carry region, region_id and country; country_code narrows the search."""
    items = await search(
        graph, "adgeolocation", q="san francisco", location_types=["city"], country_code="US"
    )
    city = items[0]
    assert (city["key"], city["name"], city["type"]) == ("2420379", "San Francisco", "city")
    assert (city["region"], city["region_id"], city["country_name"]) == (
        "California",
        3847,
        "United States",
    )


async def test_adgeolocation_finds_indian_states_zips_and_markets(graph: Graph) -> None:
    """Regions, ZIP codes and DMA geo markets are searchable too."""
    regions = await search(graph, "adgeolocation", q="maha", location_types=["region"])
    assert (regions[0]["name"], regions[0]["country_code"]) == ("Maharashtra", "IN")
    zips = await search(graph, "adgeolocation", q="94110", location_types=["zip"])
    assert (zips[0]["key"], zips[0]["primary_city"]) == ("US:94110", "San Francisco")
    markets = await search(graph, "adgeolocation", q="san francisco", location_types=["geo_market"])
    assert markets[0]["key"] == "DMA:807"


async def test_adgeolocation_cities_of_one_region(graph: Graph) -> None:
    """region_id lists a region's cities (q still narrows them)."""
    items = await search(graph, "adgeolocation", q="p", location_types=["city"], region_id=1748)
    assert items
    assert {item["region"] for item in items} == {"Maharashtra"}


async def test_adgeolocation_refuses_an_unknown_location_type(graph: Graph) -> None:
    """location_types outside Meta's list is code 100."""
    error = error_of(
        await graph.get("search", type="adgeolocation", q="x", location_types='["planet"]')
    )
    assert error["code"] == 100
    assert blame(error) == [["location_types"]]


async def test_adgeolocationmeta_describes_keys_by_type(graph: Graph) -> None:
    """Metadata comes back keyed by location type, then by key; unknown keys are left out."""
    body = await search(
        graph, "adgeolocationmeta", countries=["US"], regions=["3847"], zips=["US:94110", "X:1"]
    )
    assert body["countries"]["US"]["name"] == "United States"
    assert body["regions"]["3847"]["name"] == "California"
    assert list(body["zips"]) == ["US:94110"]


async def test_adlocale_finds_languages_with_integer_keys(graph: Graph) -> None:
    """Locales come back as {"key": int, "name": ...}."""
    items = await search(graph, "adlocale", q="english")
    assert all(isinstance(item["key"], int) for item in items)
    assert {"key": 6, "name": "English (US)"} in items


async def test_adtargetingcategory_lists_a_class(graph: Graph) -> None:
    """class=behaviors lists behaviours with type, path, description and bounds."""
    items = await search(graph, "adTargetingCategory", **{"class": "behaviors"})
    assert items
    assert {item["type"] for item in items} == {"behaviors"}
    assert {"id", "name", "path", "description", "audience_size_upper_bound"} <= set(items[0])
    devices = await search(graph, "adtargetingcategory", **{"class": "user_os"})
    assert devices[0]["platform"] in {"iOS", "Android"}


async def test_adtargetingcategory_needs_a_known_class(graph: Graph) -> None:
    """A missing or unknown class is code 100 naming class."""
    missing = error_of(await graph.get("search", type="adTargetingCategory"))
    assert missing["code"] == 100
    assert blame(missing) == [["class"]]
    unknown = error_of(await graph.get("search", type="adTargetingCategory", **{"class": "x"}))
    assert unknown["code"] == 100
    assert blame(unknown) == [["class"]]


async def test_adradiussuggestion_is_tighter_in_cities(graph: Graph) -> None:
    """Central Mumbai gets a smaller radius than the Nevada desert; units follow the request."""
    city = await search(graph, "adradiussuggestion", latitude="19.07", longitude="72.88")
    desert = await search(graph, "adradiussuggestion", latitude="39.5", longitude="-116.5")
    assert city[0]["distance_unit"] == "mile"
    assert city[0]["suggested_radius"] < desert[0]["suggested_radius"]
    km = await search(
        graph, "adradiussuggestion", latitude="39.5", longitude="-116.5", distance_unit="kilometer"
    )
    assert km[0]["suggested_radius"] > desert[0]["suggested_radius"]


async def test_adradiussuggestion_needs_valid_coordinates(graph: Graph) -> None:
    """A missing or out-of-range latitude is code 100 naming it."""
    missing = error_of(await graph.get("search", type="adradiussuggestion", longitude="1"))
    assert blame(missing) == [["latitude"]]
    wrong = error_of(
        await graph.get("search", type="adradiussuggestion", latitude="91", longitude="1")
    )
    assert wrong["code"] == 100
    assert blame(wrong) == [["latitude"]]


async def test_targetingoptionstatus_reports_deprecations(graph: Graph) -> None:
    """Live options are NORMAL; deprecated ones say so and name alternatives."""
    coffee = await interest(graph, "Coffee")
    houses = (await search(graph, "adinterestvalid", interest_list=["Coffeehouses"]))[0]
    items = await search(
        graph, "targetingoptionstatus", targeting_option_list=[coffee["id"], houses["id"]]
    )
    assert (items[0]["current_status"], items[0]["alternatives"]) == ("NORMAL", [])
    assert items[1]["current_status"] == "DEPRECATING"
    assert {"id": coffee["id"], "name": "Coffee"} in items[1]["alternatives"]
    missing = error_of(await graph.get("search", type="targetingoptionstatus"))
    assert blame(missing) == [["targeting_option_list"]]


async def test_targetingsearch_spans_every_option_type(graph: Graph) -> None:
    """/act_X/targetingsearch finds interests and behaviours alike, each with its type."""
    items = data_of(await graph.get(f"{INR_ACCOUNT}/targetingsearch", q="travel"))
    assert {"interests", "behaviors"} <= {item["type"] for item in items}
    assert items[0]["name"] == "Travel"
    error = error_of(await graph.get(f"{INR_ACCOUNT}/targetingsearch"))
    assert error["code"] == 100
    assert blame(error) == [["q"]]


async def test_reach_estimate_narrows_with_age_gender_and_interests(graph: Graph) -> None:
    """Each added constraint shrinks the audience; the same spec always gives the same bounds."""
    coffee = await interest(graph, "Coffee")
    everyone = await reach(graph, INDIA)
    young = await reach(graph, {**INDIA, "age_min": 18, "age_max": 24})
    young_women = await reach(graph, {**INDIA, "age_min": 18, "age_max": 24, "genders": [2]})
    flexible = [{"interests": [{"id": coffee["id"], "name": "Coffee"}]}]
    narrow = {**INDIA, "age_min": 18, "age_max": 24, "genders": [2], "flexible_spec": flexible}
    coffee_lovers = await reach(graph, narrow)
    assert everyone[1] > young[1] > young_women[1] > coffee_lovers[1] > 0
    assert everyone[0] < everyone[1]
    assert await reach(graph, INDIA) == everyone


async def test_reach_estimate_follows_the_locations(graph: Graph) -> None:
    """A city reaches fewer people than its region, and the region fewer than the country."""
    country = await reach(graph, {"geo_locations": {"countries": ["US"]}})
    region = await reach(graph, {"geo_locations": {"regions": [{"key": "3847"}]}})
    city = await reach(graph, {"geo_locations": {"cities": [{"key": "2420379"}]}})
    assert country[1] > region[1] > city[1]


async def test_more_interests_in_one_group_widen_the_audience(graph: Graph) -> None:
    """Interests in one flexible_spec entry are ORed: adding one widens the reach."""
    coffee, tea = await interest(graph, "Coffee"), await interest(graph, "Tea")
    one = await reach(graph, {**INDIA, "flexible_spec": [{"interests": [{"id": coffee["id"]}]}]})
    both = [{"interests": [{"id": coffee["id"]}, {"id": tea["id"]}]}]
    two = await reach(graph, {**INDIA, "flexible_spec": both})
    assert two[1] > one[1]


async def test_custom_audience_caps_the_reach(graph: Graph) -> None:
    """A small custom audience bounds the estimate by its size."""
    spec = {**INDIA, "custom_audiences": [{"id": CUSTOM_AUDIENCE_IDS[0]}]}
    assert (await reach(graph, spec))[1] < 20_000


@pytest.mark.parametrize(
    ("spec", "path"),
    [
        (
            {"geo_locations": {"countries": ["ZZ"]}},
            ["targeting_spec", "geo_locations", "countries"],
        ),
        ({"age_min": 30}, ["targeting_spec", "geo_locations"]),
        ({**INDIA, "age_min": 40, "age_max": 30}, ["targeting_spec", "age_min"]),
        (
            {**INDIA, "flexible_spec": [{"interests": [{"id": "1"}]}]},
            ["targeting_spec", "flexible_spec", "0", "interests"],
        ),
    ],
)
async def test_reach_estimate_refuses_bad_specs(
    graph: Graph, spec: dict[str, Any], path: list[str]
) -> None:
    """Unknown countries or interests, no location, inverted ages: code 100 blaming the key."""
    response = await graph.get(f"{INR_ACCOUNT}/reachestimate", targeting_spec=json.dumps(spec))
    error = error_of(response)
    assert (error["code"], error.get("error_subcode")) == (100, None)
    assert blame(error) == [path]


async def test_reach_estimate_needs_a_targeting_spec(graph: Graph) -> None:
    """Without targeting_spec the estimate is code 100 naming it."""
    error = error_of(await graph.get(f"{INR_ACCOUNT}/reachestimate"))
    assert error["code"] == 100
    assert blame(error) == [["targeting_spec"]]


class TestDeliveryCurveBeforeV26:
    """The curve and estimate_dau, as Meta sent them until v26 removed them (§13.2)."""

    @pytest.fixture
    def clock(self) -> ManualClock:
        return ManualClock(start=datetime(2026, 7, 1, tzinfo=UTC).timestamp())

    async def test_delivery_estimate_curve_in_account_currency(self, graph: Graph) -> None:
        """The daily outcomes curve rises with spend (INR minor units) and matches reach bounds."""
        spec = json.dumps(INDIA)
        rows = data_of(
            await graph.get(
                f"{INR_ACCOUNT}/delivery_estimate",
                targeting_spec=spec,
                optimization_goal="LINK_CLICKS",
            )
        )
        row = rows[0]
        curve = row["daily_outcomes_curve"]
        assert curve[0] == {"spend": 0, "reach": 0, "impressions": 0, "actions": 0}
        assert [p["spend"] for p in curve] == sorted(p["spend"] for p in curve)
        assert all(a["impressions"] < b["impressions"] for a, b in itertools.pairwise(curve))
        assert all(p["reach"] <= p["impressions"] for p in curve)
        assert curve[1]["spend"] == 44_000  # US$5 at the sandbox's 88 INR to the dollar, in paise
        lower, upper = await reach(graph, INDIA)
        assert (row["estimate_mau_lower_bound"], row["estimate_mau_upper_bound"]) == (lower, upper)
        assert row["estimate_ready"] is True
        assert row["estimate_dau"] > 0


async def test_delivery_estimate_needs_a_valid_goal(graph: Graph) -> None:
    """optimization_goal is required and must be one of Meta's goals."""
    url = f"{INR_ACCOUNT}/delivery_estimate"
    missing = error_of(await graph.get(url, targeting_spec=json.dumps(INDIA)))
    assert blame(missing) == [["optimization_goal"]]
    wrong = error_of(
        await graph.get(url, targeting_spec=json.dumps(INDIA), optimization_goal="FAME")
    )
    assert wrong["code"] == 100
    assert blame(wrong) == [["optimization_goal"]]
