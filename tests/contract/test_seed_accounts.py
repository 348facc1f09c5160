"""``SandboxConfig(accounts=N)`` / ``meta-agent sandbox --accounts N``: N ad accounts, each
with its own Page, Instagram account and custom audience, in five currencies, at fixed ids.

The expected ids, currencies and floors are written out here rather than computed from the
sandbox's own tables, so a change to the seed or to the minimum budgets fails these tests.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from meta_agent.graph.client import GraphClient
from meta_agent.sandbox import ManualClock, Sandbox, SandboxConfig, create_app
from meta_agent.sandbox.state import seed_accounts
from tests.conftest import PAGE_ID, Graph, make_graph_client
from tests.contract.test_campaigns import assert_error, create_campaign, form
from tests.contract.test_creatives import add_image, created_id

# (act id, currency, timezone, Page id, Instagram account id, custom audience id)
FIVE = [
    ("act_1234567890", "INR", "Asia/Kolkata", "102030405060708", "17841400000000001", "23850000000000001"),
    ("act_9876543210", "USD", "America/Los_Angeles", "102030405060709", "17841400000000002", "23850000000000002"),
    ("act_2000000003", "EUR", "Europe/Berlin", "102030405060710", "17841400000000003", "23850000000000003"),
    ("act_2000000004", "GBP", "Europe/London", "102030405060711", "17841400000000004", "23850000000000004"),
    ("act_2000000005", "JPY", "Asia/Tokyo", "102030405060712", "17841400000000005", "23850000000000005"),
]  # fmt: skip
ACCOUNT_IDS = [row[0] for row in FIVE]
# Daily floor of an impressions-billed ad set, in minor units (JPY has none: yen), and as
# Meta's message shows it.
FLOORS = {
    "INR": (4000, "₹40.00"),
    "USD": (100, "$1.00"),
    "EUR": (100, "€1.00"),
    "GBP": (100, "£1.00"),
    "JPY": (150, "¥150"),
}
TARGETING = {
    "geo_locations": {"countries": ["US"]},
    "targeting_automation": {"advantage_audience": 0},
}


@pytest.fixture
def config() -> SandboxConfig:
    """Five seeded accounts."""
    return SandboxConfig(accounts=5)


per_account = pytest.mark.parametrize("row", FIVE, ids=[f"{r[1]}-{r[0]}" for r in FIVE])


async def test_me_adaccounts_lists_five_accounts_with_their_currencies(graph: Graph) -> None:
    """/me/adaccounts lists the five accounts, in seed order, each in its own currency."""
    body = (await graph.get("me/adaccounts", fields="id,currency,timezone_name")).json()
    assert [(r["id"], r["currency"], r["timezone_name"]) for r in body["data"]] == [
        row[:3] for row in FIVE
    ]
    assert "next" not in body["paging"]


async def test_the_client_stack_lists_and_reads_every_account(graph_client: GraphClient) -> None:
    """The GraphClient's accounts service sees the same five accounts and reads each one."""
    listed = [a async for a in graph_client.accounts.ad_accounts(fields=["id", "currency"])]
    assert [(a.id, a.currency) for a in listed] == [(row[0], row[1]) for row in FIVE]
    for account_id, currency, *_ in FIVE:
        account = await graph_client.accounts.get(account_id)
        assert (account.id, account.currency) == (account_id, currency)


async def test_accounts_are_paged_like_any_edge(clock: ManualClock) -> None:
    """With more accounts than a page holds, the listing pages; currencies keep cycling."""
    big = create_app(SandboxConfig(accounts=30), clock=clock)
    client = make_graph_client(big, clock)
    try:
        listed = [a async for a in client.accounts.ad_accounts(page_size=25)]
    finally:
        await client.aclose()
    assert len(listed) == 30
    assert [a.currency for a in listed[:10]] == ["INR", "USD", "EUR", "GBP", "JPY"] * 2
    assert (listed[-1].id, listed[-1].currency) == ("act_2000000030", "JPY")


@per_account
async def test_the_token_reaches_the_account(graph: Graph, row: tuple[str, ...]) -> None:
    """The one token reads the account node and its edges (no account is out of its reach)."""
    account_id, currency = row[0], row[1]
    body = (await graph.get(account_id, fields="account_id,currency,account_status")).json()
    assert body == {
        "account_id": account_id.removeprefix("act_"),
        "currency": currency,
        "account_status": 1,
        "id": account_id,
    }
    assert (await graph.get(f"{account_id}/campaigns")).json()["data"] == []


@per_account
async def test_each_account_has_its_own_page_and_instagram_account(
    graph: Graph, row: tuple[str, ...]
) -> None:
    """act_X/promote_pages lists only the account's Page; the Page names its Instagram account."""
    account_id, _, _, page_id, instagram_id, _ = row
    pages = (await graph.get(f"{account_id}/promote_pages", fields="id")).json()["data"]
    assert pages == [{"id": page_id}]
    body = (await graph.get(page_id, fields="id,tasks,instagram_business_account")).json()
    assert body["instagram_business_account"] == {"id": instagram_id}
    assert "ADVERTISE" in body["tasks"]


async def test_me_accounts_lists_every_page(graph: Graph) -> None:
    """The user manages all five Pages; the first is the classic seeded Page."""
    body = (await graph.get("me/accounts", fields="id")).json()
    assert [p["id"] for p in body["data"]] == [row[3] for row in FIVE]
    assert body["data"][0]["id"] == PAGE_ID


@per_account
async def test_minimum_budgets_hold_in_each_currency(graph: Graph, row: tuple[str, ...]) -> None:
    """GET act_X/minimum_budgets gives the floors in the account currency's minor units."""
    account_id, currency = row[0], row[1]
    body = (await graph.get(f"{account_id}/minimum_budgets")).json()
    assert body["data"][0]["currency"] == currency
    assert body["data"][0]["min_daily_budget_imp"] == FLOORS[currency][0]


@per_account
async def test_budgets_at_the_minimum_are_accepted_and_below_refused(
    graph: Graph, row: tuple[str, ...]
) -> None:
    """Campaign and ad set budgets at the currency's floor pass; one unit less is refused
    with 1885272 naming the floor in that currency."""
    account_id, currency = row[0], row[1]
    floor, shown = FLOORS[currency]
    await create_campaign(
        graph, account_id, daily_budget=floor, is_adset_budget_sharing_enabled=None
    )
    low = await graph.post(
        f"{account_id}/campaigns",
        **form(
            name="Too low",
            objective="OUTCOME_TRAFFIC",
            status="PAUSED",
            special_ad_categories=[],
            daily_budget=floor - 1,
        ),
    )
    _assert_too_low(low, floor, currency, shown, "campaign")

    campaign_id = await create_campaign(graph, account_id)
    adset = {
        "name": "At the floor",
        "campaign_id": campaign_id,
        "billing_event": "IMPRESSIONS",
        "optimization_goal": "LINK_CLICKS",
        "targeting": TARGETING,
        "status": "PAUSED",
    }
    accepted = await graph.post(f"{account_id}/adsets", **form(**adset, daily_budget=floor))
    assert accepted.status_code == 200, accepted.text
    refused = await graph.post(f"{account_id}/adsets", **form(**adset, daily_budget=floor - 1))
    _assert_too_low(refused, floor, currency, shown, "ad set")


def _assert_too_low(response: Any, floor: int, currency: str, shown: str, level: str) -> None:
    error = assert_error(response, 100, 1885272, ["daily_budget"])
    assert f"{floor} {currency} ({shown})" in error["message"], error
    assert error["error_user_msg"] == (
        f"Your {level} budget must be more than {shown} or your ads may not be delivered."
    )


@per_account
async def test_a_full_launch_runs_on_every_account(
    graph: Graph, sandbox: Sandbox, row: tuple[str, ...]
) -> None:
    """Campaign, ad set on the account's own audience, creative on its own Page and
    Instagram account, and an ad: everything a launch needs is seeded per account."""
    account_id, currency, _, page_id, instagram_id, audience_id = row
    campaign_id = await create_campaign(graph, account_id)
    targeting = {**TARGETING, "custom_audiences": [{"id": audience_id}]}
    adset_id = created_id(
        await graph.post(
            f"{account_id}/adsets",
            **form(
                name="Own audience",
                campaign_id=campaign_id,
                billing_event="IMPRESSIONS",
                optimization_goal="LINK_CLICKS",
                daily_budget=FLOORS[currency][0] * 10,
                targeting=targeting,
                status="PAUSED",
            ),
        )
    )
    spec = {
        "page_id": page_id,
        "instagram_user_id": instagram_id,
        "link_data": {
            "link": "https://example.com/coffee",
            "message": "Fresh beans daily",
            "image_hash": add_image(sandbox, account=account_id),
        },
    }
    creative_id = created_id(
        await graph.post(
            f"{account_id}/adcreatives", name="Beans", object_story_spec=json.dumps(spec)
        )
    )
    ad_id = created_id(
        await graph.post(
            f"{account_id}/ads",
            name="Beans ad",
            adset_id=adset_id,
            creative=json.dumps({"creative_id": creative_id}),
            status="PAUSED",
        )
    )
    body = (await graph.get(ad_id, fields="account_id,adset_id,campaign_id")).json()
    assert body["account_id"] == account_id.removeprefix("act_")
    assert (body["adset_id"], body["campaign_id"]) == (adset_id, campaign_id)


async def test_another_accounts_audience_is_still_refused(graph: Graph) -> None:
    """Audiences stay per account: the EUR account cannot target the JPY account's audience."""
    campaign_id = await create_campaign(graph, "act_2000000003")
    response = await graph.post(
        "act_2000000003/adsets",
        **form(
            name="Borrowed audience",
            campaign_id=campaign_id,
            billing_event="IMPRESSIONS",
            optimization_goal="LINK_CLICKS",
            daily_budget=1000,
            targeting={**TARGETING, "custom_audiences": [{"id": FIVE[4][5]}]},
            status="PAUSED",
        ),
    )
    assert response.status_code == 400
    assert "Invalid custom audience id" in response.json()["error"]["message"]


def _seeded_identity(sandbox: Sandbox) -> list[tuple[str, str, str | None]]:
    return [
        (record["id"], record["kind"], record.get("account_id"))
        for record in sandbox.state.objects.values()
    ]


def test_ids_are_stable_across_builds() -> None:
    """Two builds (and a reset) seed the same objects under the same ids, in the same order."""
    first = Sandbox(SandboxConfig(accounts=5), clock=ManualClock())
    second: Sandbox = create_app(SandboxConfig(accounts=5), clock=ManualClock()).state.sandbox
    assert first.state.to_json() == second.state.to_json()
    expected = _seeded_identity(first)
    first.state.add({"kind": "campaign", "id": first.new_id(), "account_id": "2000000005"})
    first.reset()
    assert _seeded_identity(first) == expected
    assert [r["id"] for r in first.state.accounts()] == ACCOUNT_IDS
    assert [s.page_id for s in seed_accounts(5)] == [row[3] for row in FIVE]


def test_first_accounts_of_a_bigger_seed_keep_their_ids() -> None:
    """Growing N only appends: the first five accounts of a seed of 12 are the same five."""
    twelve = seed_accounts(12)
    assert [f"act_{s.account['account_id']}" for s in twelve[:5]] == ACCOUNT_IDS
    currencies = [s.account["currency"] for s in twelve[5:]]
    assert currencies == ["INR", "USD", "EUR", "GBP", "JPY", "INR", "USD"]
    assert (twelve[-1].account["account_id"], twelve[-1].page_id) == (
        "2000000012",
        "102030405060719",
    )
    single = Sandbox(SandboxConfig(accounts=1), clock=ManualClock())
    assert [r["id"] for r in single.state.accounts()] == ["act_1234567890"]
    assert [r["id"] for r in single.state.of_kind("page")] == [PAGE_ID]


def test_the_default_seed_is_the_classic_one() -> None:
    """Without ``accounts``: the INR and USD accounts sharing one Page, as always."""
    sandbox = Sandbox(SandboxConfig(), clock=ManualClock())
    assert [(r["id"], r["currency"]) for r in sandbox.state.accounts()] == [
        ("act_1234567890", "INR"),
        ("act_9876543210", "USD"),
    ]
    assert [r["id"] for r in sandbox.state.of_kind("page")] == [PAGE_ID]
    assert all("promote_page_ids" not in r for r in sandbox.state.accounts())


class TestDefaultSeedPromotePages:
    """On the classic seed both accounts may promote the one Page."""

    @pytest.fixture
    def config(self) -> SandboxConfig:
        return SandboxConfig()

    async def test_both_accounts_list_the_shared_page(self, graph: Graph) -> None:
        """act_X/promote_pages lists the seeded Page for each classic account."""
        for account_id in ("act_1234567890", "act_9876543210"):
            body = (await graph.get(f"{account_id}/promote_pages", fields="id")).json()
            assert body["data"] == [{"id": PAGE_ID}]


@pytest.mark.parametrize("count", [0, -1, 1001])
def test_out_of_range_counts_are_refused(count: int) -> None:
    """At least one account, at most 1000."""
    with pytest.raises(ValueError, match="accounts"):
        SandboxConfig(accounts=count)
    with pytest.raises(ValueError, match="accounts"):
        seed_accounts(count)


def test_cli_accounts_option_seeds_the_served_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    """`meta-agent sandbox --accounts 5` serves five accounts and lists each with its Page."""
    from meta_agent.interfaces.cli import app as cli

    served: dict[str, Any] = {}
    monkeypatch.setattr("uvicorn.run", lambda asgi, **_: served.setdefault("app", asgi))
    result = CliRunner().invoke(cli, ["sandbox", "--accounts", "5"])
    assert result.exit_code == 0, result.output
    sandbox: Sandbox = served["app"].state.sandbox
    assert sandbox.config.accounts == 5
    assert [r["id"] for r in sandbox.state.accounts()] == ACCOUNT_IDS
    banner = " ".join(result.output.split())  # as printed, whatever the terminal's width
    for account_id, currency, timezone, page_id, *_ in FIVE:
        assert f"ad account : {account_id} {currency} {timezone} page {page_id}" in banner
    assert "access tier : standard" in banner


def test_cli_refuses_zero_accounts(monkeypatch: pytest.MonkeyPatch) -> None:
    """--accounts 0 is the caller's mistake: exit code 2, nothing served."""
    from meta_agent.interfaces.cli import app as cli

    monkeypatch.setattr("uvicorn.run", lambda *_, **__: pytest.fail("must not serve"))
    result = CliRunner().invoke(cli, ["sandbox", "--accounts", "0"])
    assert result.exit_code == 2, result.output
