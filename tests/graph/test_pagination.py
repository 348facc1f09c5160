"""Cursor pagination against the sandbox: counts of items and requests, summaries, laziness."""

from __future__ import annotations

import pytest

from meta_agent.graph.models import Campaign
from meta_agent.graph.pagination import paginate
from meta_agent.graph.requestor import Requestor
from meta_agent.graph.services import CampaignService
from meta_agent.sandbox import Sandbox
from tests.conftest import INR_ACCOUNT, USD_ACCOUNT
from tests.graph.test_services import campaign_spec

ROUTE = "GET {adaccount}/campaigns"


async def seed(requestor: Requestor, count: int) -> list[str]:
    """``count`` campaigns in the INR account, created through the service; their ids."""
    campaigns = CampaignService(requestor)
    ids = []
    for index in range(count):
        created = await campaigns.create(INR_ACCOUNT, campaign_spec(f"Campaign {index:02}"))
        assert created.id is not None
        ids.append(created.id)
    return ids


def listing_requests(sandbox: Sandbox) -> int:
    """How many campaign listings the sandbox has served."""
    return sandbox.counters.by_route.get(ROUTE, 0)


@pytest.fixture
async def twelve(requestor: Requestor) -> list[str]:
    """Twelve campaigns to page through."""
    return await seed(requestor, 12)


async def test_twelve_items_in_pages_of_five_take_three_requests(
    requestor: Requestor, sandbox: Sandbox, twelve: list[str]
) -> None:
    """12 campaigns at page_size 5 come back whole, without repeats, in exactly 3 requests."""
    listing = paginate(requestor, f"{INR_ACCOUNT}/campaigns", model=Campaign, page_size=5)
    ids = [campaign.id async for campaign in listing]
    assert sorted(ids) == sorted(twelve)
    assert len(set(ids)) == 12
    assert listing_requests(sandbox) == 3


async def test_pages_arrive_whole(requestor: Requestor, twelve: list[str]) -> None:
    """``pages()`` yields each page as one list: 5, 5, 2, and only the last has no next."""
    listing = CampaignService(requestor).list(INR_ACCOUNT, page_size=5)
    pages = [page async for page in listing.pages()]
    assert [len(page.items) for page in pages] == [5, 5, 2]
    assert [page.has_next for page in pages] == [True, True, False]
    assert all(isinstance(item, Campaign) for page in pages for item in page.items)


async def test_summary_gives_the_total(requestor: Requestor, twelve: list[str]) -> None:
    """With ``summary`` the edge's total_count is known after the first page."""
    listing = CampaignService(requestor).list(INR_ACCOUNT, page_size=5, summary=True)
    assert listing.total_count is None
    async for page in listing.pages():
        assert page.total_count == 12
        break
    assert listing.total_count == 12


async def test_empty_edge_yields_nothing_in_one_request(
    requestor: Requestor, sandbox: Sandbox
) -> None:
    """An account without campaigns: no items, no pages, one request, total 0."""
    listing = CampaignService(requestor).list(USD_ACCOUNT, summary=True)
    assert await listing.collect() == []
    assert [page async for page in listing.pages()] == []
    assert listing.total_count == 0
    assert listing_requests(sandbox) == 2


async def test_fetching_is_lazy_and_one_page_at_a_time(
    requestor: Requestor, sandbox: Sandbox, twelve: list[str]
) -> None:
    """Nothing is fetched before iterating; stopping after one item costs one request."""
    listing = CampaignService(requestor).list(INR_ACCOUNT, page_size=5)
    assert listing_requests(sandbox) == 0
    async for _campaign in listing:
        break
    assert listing_requests(sandbox) == 1


async def test_field_selection_reaches_the_items(requestor: Requestor, twelve: list[str]) -> None:
    """Only the selected fields come back; the rest stay unset on the model."""
    listing = CampaignService(requestor).list(INR_ACCOUNT, fields=["name"], page_size=50)
    campaigns = await listing.collect()
    assert len(campaigns) == 12
    assert all(c.name is not None and c.objective is None for c in campaigns)


async def test_filters_travel_on_every_page(requestor: Requestor, twelve: list[str]) -> None:
    """Parameters such as effective_status are re-sent with each cursor."""
    campaigns = CampaignService(requestor)
    await campaigns.activate(twelve[0])
    listing = campaigns.list(INR_ACCOUNT, effective_status=["PAUSED"], page_size=5)
    assert sorted([c.id async for c in listing]) == sorted(twelve[1:])
