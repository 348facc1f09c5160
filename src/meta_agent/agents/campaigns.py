"""The CampaignAgent: campaigns and ad sets, created once, checked before they are sent.

Every create carries its idempotency key in the object's name (:mod:`meta_agent.agents.keys`).
When the answer to a create is lost (:class:`OutcomeUnknownError`), the agent looks for an
object carrying the key and adopts it; only when there is none does it send again, once.
:func:`campaign_spec` and :func:`adset_spec` are the pure conversions the orchestrator's
batch launch uses for the same requests.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import cast

from pydantic import BaseModel, ConfigDict

from meta_agent.agents import keys
from meta_agent.agents.budgets import (
    DEFAULT_MINIMUM_BUDGETS,
    CurrencyFloors,
    adset_floor,
    check_floor,
    check_minimums,
    fetch_minimums,
    schedule_days,
)
from meta_agent.agents.params import (
    BID_CAPPED,
    AdSetChanges,
    AdSetParams,
    BidStrategy,
    CampaignChanges,
    CampaignParams,
    check_adset_level,
    check_delivery,
)
from meta_agent.agents.targeting import TargetingHelper
from meta_agent.cache.base import Cache
from meta_agent.errors import ApiError, AuthError, OutcomeUnknownError
from meta_agent.graph.client import GraphClient
from meta_agent.graph.models import AdSet, Campaign, Money, TargetingSpec
from meta_agent.graph.services._base import Created, act
from meta_agent.graph.services.adsets import AdSetCreate, AdSetUpdate
from meta_agent.graph.services.campaigns import CampaignCreate, CampaignUpdate

DAY_SECONDS = 24 * 3600


class CampaignResult(BaseModel):
    """A campaign as the agent reports it: budgets as ``Money`` when the currency is known.

    ``id`` is None after a ``validate_only`` dry run; ``adopted`` says an ambiguous create was
    reconciled with the campaign it had in fact created.
    """

    model_config = ConfigDict(frozen=True)

    id: str | None
    name: str
    status: str | None = None
    objective: str | None = None
    daily_budget: Money | None = None
    lifetime_budget: Money | None = None
    spend_cap: Money | None = None
    idempotency_key: str | None = None
    adopted: bool = False


class AdSetResult(BaseModel):
    """An ad set as the agent reports it (see :class:`CampaignResult`)."""

    model_config = ConfigDict(frozen=True)

    id: str | None
    name: str
    campaign_id: str | None = None
    status: str | None = None
    optimization_goal: str | None = None
    billing_event: str | None = None
    daily_budget: Money | None = None
    lifetime_budget: Money | None = None
    bid_amount: Money | None = None
    targeting: TargetingSpec | None = None
    idempotency_key: str | None = None
    adopted: bool = False


def campaign_spec(params: CampaignParams, key: str | None) -> CampaignCreate:
    """The wire create for ``params``, its name tagged with ``key`` (pure)."""
    fields = params.model_dump(exclude_none=True, exclude={"name", "promoted_object"})
    fields["special_ad_categories"] = params.categories
    if not params.has_budget:
        fields["is_adset_budget_sharing_enabled"] = bool(params.is_adset_budget_sharing_enabled)
    if params.promoted_object is not None:
        fields["promoted_object"] = params.promoted_object.model_dump(exclude_none=True)
    if not params.special_ad_category_country:
        fields.pop("special_ad_category_country", None)
    return CampaignCreate(name=keys.tagged(params.name, key), **fields)


def adset_spec(
    params: AdSetParams, campaign_id: str, targeting: TargetingSpec, key: str | None
) -> AdSetCreate:
    """The wire create for ``params`` under ``campaign_id`` with resolved ``targeting`` (pure)."""
    fields = params.model_dump(
        exclude_none=True, exclude={"name", "targeting", "promoted_object", "attribution_spec"}
    )
    if params.promoted_object is not None:
        fields["promoted_object"] = params.promoted_object.model_dump(exclude_none=True)
    if params.attribution_spec is not None:
        fields["attribution_spec"] = [w.model_dump() for w in params.attribution_spec]
    return AdSetCreate(
        name=keys.tagged(params.name, key), campaign_id=campaign_id, targeting=targeting, **fields
    )


class CampaignAgent:
    """Create, change, pause, resume and delete campaigns and ad sets, checked first."""

    def __init__(self, graph: GraphClient, cache: Cache, targeting: TargetingHelper) -> None:
        self._graph = graph
        self._cache = cache
        self._targeting = targeting

    # -- campaigns ------------------------------------------------------------------------------

    async def create_campaign(
        self,
        account_id: str,
        params: CampaignParams,
        *,
        idempotency_key: str,
        validate_only: bool = False,
    ) -> CampaignResult:
        """Create a campaign (PAUSED unless asked), adopting it if an earlier try landed.

        Raises:
            RequestValidationError: a budget below the account currency's minimum.
            InvalidParameterError: Meta refused a parameter.
            OutcomeUnknownError: the create and its one re-send were both lost.
        """
        currency = None
        if params.has_budget or params.spend_cap:
            currency = await self.currency(account_id)
            floors = await self.minimum_budgets(account_id)
            check_minimums(params, currency, floors=floors)
        spec = campaign_spec(params, idempotency_key)
        created, adopted = await self._create_once(
            account_id,
            "campaigns",
            idempotency_key,
            lambda: self._graph.campaigns.create(
                account_id, spec, validate_only=validate_only, idempotency_key=idempotency_key
            ),
        )
        return CampaignResult(
            id=created,
            name=params.name,
            status=params.status,
            objective=params.objective,
            daily_budget=_money(params.daily_budget, currency),
            lifetime_budget=_money(params.lifetime_budget, currency),
            spend_cap=_money(params.spend_cap, currency),
            idempotency_key=idempotency_key,
            adopted=adopted,
        )

    async def get_campaign(self, campaign_id: str) -> CampaignResult:
        """The campaign as it is now.

        Raises:
            NotFoundError: no such campaign.
        """
        campaign = await self._graph.campaigns.get(campaign_id)
        currency = await self.currency(campaign.account_id) if campaign.account_id else None
        return _campaign_result(campaign, currency)

    async def update_campaign(self, campaign_id: str, changes: CampaignChanges) -> CampaignResult:
        """Apply ``changes`` (a new name keeps the idempotency tag); returns the campaign after.

        Raises:
            RequestValidationError: a new budget below the currency's minimum.
            InvalidParameterError: Meta refused a change.
        """
        before = await self._graph.campaigns.get(campaign_id)
        update = changes.model_dump(exclude_none=True)
        if changes.name is not None:
            update["name"] = keys.tagged(changes.name, keys.key_of(before.name or ""))
        if changes.daily_budget or changes.lifetime_budget:
            schedule = (
                changes.start_time or before.start_time,
                changes.stop_time or before.stop_time,
            )
            await self._check_change(before.account_id or "", changes, None, schedule)
        await self._graph.campaigns.update(campaign_id, CampaignUpdate(**update))
        return await self.get_campaign(campaign_id)

    async def pause_campaign(self, campaign_id: str) -> None:
        """Stop the campaign's delivery now (priority lane).

        Raises:
            ApiError: Meta refused, or the call failed after retries.
        """
        await self._graph.campaigns.pause(campaign_id)

    async def resume_campaign(self, campaign_id: str) -> None:
        """Set the campaign ACTIVE again.

        Raises:
            ApiError: Meta refused, or the call failed after retries.
        """
        await self._graph.campaigns.activate(campaign_id)

    async def delete_campaign(self, campaign_id: str) -> None:
        """Delete the campaign (its ad sets and ads go with it).

        Raises:
            ApiError: Meta refused, or the call failed after retries.
        """
        await self._graph.campaigns.delete(campaign_id)

    # -- ad sets --------------------------------------------------------------------------------

    async def create_adset(
        self,
        account_id: str,
        campaign_id: str,
        params: AdSetParams,
        *,
        idempotency_key: str,
        validate_only: bool = False,
    ) -> AdSetResult:
        """Create an ad set under ``campaign_id``: checked against the campaign, names resolved.

        Raises:
            RequestValidationError: a goal the objective does not offer, a budget on the wrong
                level or below the minimum, or a targeting name that matches nothing.
            InvalidParameterError: Meta refused a parameter.
            OutcomeUnknownError: the create and its one re-send were both lost.
        """
        campaign = await self._graph.campaigns.get(campaign_id)
        check_delivery(campaign.objective or "", params)
        check_adset_level(_as_params(campaign), params)
        currency = await self.currency(account_id)
        if params.has_budget:
            check_minimums(params, currency, floors=await self.minimum_budgets(account_id))
        targeting = await self._targeting.build(params.targeting, account_id)
        spec = adset_spec(params, campaign_id, targeting, idempotency_key)
        created, adopted = await self._create_once(
            account_id,
            "adsets",
            idempotency_key,
            lambda: self._graph.adsets.create(
                account_id, spec, validate_only=validate_only, idempotency_key=idempotency_key
            ),
        )
        return AdSetResult(
            id=created,
            name=params.name,
            campaign_id=campaign_id,
            status=params.status,
            optimization_goal=params.optimization_goal,
            billing_event=params.billing_event,
            daily_budget=_money(params.daily_budget, currency),
            lifetime_budget=_money(params.lifetime_budget, currency),
            bid_amount=_money(params.bid_amount, currency),
            targeting=targeting,
            idempotency_key=idempotency_key,
            adopted=adopted,
        )

    async def get_adset(self, adset_id: str) -> AdSetResult:
        """The ad set as it is now.

        Raises:
            NotFoundError: no such ad set.
        """
        adset = await self._graph.adsets.get(adset_id)
        currency = await self.currency(adset.account_id) if adset.account_id else None
        return _adset_result(adset, currency)

    async def list_adsets(self, campaign_id: str) -> list[AdSetResult]:
        """Every live ad set of the campaign (all pages).

        Raises:
            NotFoundError: no such campaign.
        """
        adsets = [adset async for adset in self._graph.adsets.list_for_campaign(campaign_id)]
        account_id = adsets[0].account_id if adsets else None
        currency = await self.currency(account_id) if account_id else None
        return [_adset_result(adset, currency) for adset in adsets]

    async def update_adset(
        self, adset_id: str, changes: AdSetChanges, *, account_id: str | None = None
    ) -> AdSetResult:
        """Apply ``changes`` (new targeting names are resolved); returns the ad set after.

        Raises:
            RequestValidationError: a budget below the minimum, or an unknown targeting name.
            InvalidParameterError: Meta refused a change.
        """
        before = await self._graph.adsets.get(adset_id)
        account = account_id or before.account_id or ""
        update = changes.model_dump(exclude_none=True, exclude={"targeting"})
        if changes.name is not None:
            update["name"] = keys.tagged(changes.name, keys.key_of(before.name or ""))
        if changes.targeting is not None:
            update["targeting"] = await self._targeting.build(changes.targeting, account)
        if changes.daily_budget or changes.lifetime_budget:
            schedule = (
                changes.start_time or before.start_time,
                changes.end_time or before.end_time,
            )
            billing = before.billing_event or "IMPRESSIONS"
            await self._check_change(account, changes, billing, schedule)
        await self._graph.adsets.update(adset_id, AdSetUpdate(**update))
        return await self.get_adset(adset_id)

    async def pause_adset(self, adset_id: str) -> None:
        """Stop the ad set's delivery now (priority lane).

        Raises:
            ApiError: Meta refused, or the call failed after retries.
        """
        await self._graph.adsets.pause(adset_id)

    async def resume_adset(self, adset_id: str) -> None:
        """Set the ad set ACTIVE again.

        Raises:
            ApiError: Meta refused, or the call failed after retries.
        """
        await self._graph.adsets.activate(adset_id)

    async def delete_adset(self, adset_id: str) -> None:
        """Delete the ad set (its ads go with it).

        Raises:
            ApiError: Meta refused, or the call failed after retries.
        """
        await self._graph.adsets.delete(adset_id)

    # -- account facts, cached ------------------------------------------------------------------

    async def currency(self, account_id: str) -> str:
        """The account's currency (cached for a day).

        Raises:
            NotFoundError: no such account.
        """
        key = f"account:{act(account_id)}:currency"
        cached = await self._cache.get(key)
        if cached is not None:
            return str(cached)
        account = await self._graph.accounts.get(account_id, fields=["currency"])
        currency = account.currency or ""
        await self._cache.set(key, currency, ttl=DAY_SECONDS)
        return currency

    async def minimum_budgets(self, account_id: str) -> CurrencyFloors | None:
        """The account's daily floors from Meta (cached a day); None: use the built-in table.

        Raises:
            AuthError: the token is invalid (any other failure falls back to the table).
        """
        key = f"budgets:minimum:{act(account_id)}"
        cached = await self._cache.get(key)
        if cached is not None:
            return CurrencyFloors.model_validate(cached)
        try:
            floors = await fetch_minimums(self._graph, account_id)
        except AuthError:
            raise
        except ApiError:
            return None  # the edge is unavailable: the table in budgets.py decides
        if floors is not None:
            await self._cache.set(key, floors.model_dump(), ttl=DAY_SECONDS)
        return floors

    # -- internals ------------------------------------------------------------------------------

    async def _create_once(
        self, account_id: str, edge: str, key: str, send: Callable[[], Awaitable[Created]]
    ) -> tuple[str | None, bool]:
        """Send a create; if its outcome is lost, adopt the tagged object or send once more."""
        try:
            return (await send()).id, False
        except OutcomeUnknownError:
            found = await keys.find_tagged(self._graph, account_id, edge, key)
            if found is not None:
                return found.id, True
            return (await send()).id, False

    async def _check_change(
        self,
        account_id: str,
        changes: CampaignChanges | AdSetChanges,
        billing_event: str | None,
        schedule: tuple[datetime | None, datetime | None],
    ) -> None:
        """A changed budget against the floor: the ad set's billing class, else impressions."""
        currency = await self.currency(account_id)
        row = await self.minimum_budgets(account_id) or DEFAULT_MINIMUM_BUDGETS.get(currency)
        if row is None:
            return
        floor, label = (
            adset_floor(row, billing_event) if billing_event else (row.impressions, "campaigns")
        )
        days = schedule_days(*schedule)
        check_floor(changes.daily_budget, changes.lifetime_budget, floor, days, row, label)


def _money(minor: int | None, currency: str | None) -> Money | None:
    if minor is None or not currency:
        return None
    return Money(amount_minor=minor, currency=currency.upper())


def _as_params(campaign: Campaign) -> CampaignParams:
    """Enough of a read campaign to check an ad set's budget level against it."""
    return CampaignParams.model_construct(
        name=campaign.name or "",
        objective=campaign.objective or "",
        daily_budget=campaign.daily_budget or None,
        lifetime_budget=campaign.lifetime_budget or None,
        bid_strategy=_capped(campaign.bid_strategy) if _has_budget(campaign) else None,
        stop_time=campaign.stop_time,
    )


def _capped(strategy: str | None) -> BidStrategy | None:
    """The campaign's strategy when it needs ad set bids (all the budget check looks at)."""
    return cast("BidStrategy", strategy) if strategy in BID_CAPPED else None


def _has_budget(campaign: Campaign) -> bool:
    return bool(campaign.daily_budget or campaign.lifetime_budget)


def _campaign_result(campaign: Campaign, currency: str | None) -> CampaignResult:
    name = campaign.name or ""
    return CampaignResult(
        id=campaign.id,
        name=keys.untagged(name),
        status=campaign.status,
        objective=campaign.objective,
        daily_budget=_money(campaign.daily_budget, currency),
        lifetime_budget=_money(campaign.lifetime_budget, currency),
        spend_cap=_money(campaign.spend_cap, currency),
        idempotency_key=keys.key_of(name),
    )


def _adset_result(adset: AdSet, currency: str | None) -> AdSetResult:
    name = adset.name or ""
    return AdSetResult(
        id=adset.id,
        name=keys.untagged(name),
        campaign_id=adset.campaign_id,
        status=adset.status,
        optimization_goal=adset.optimization_goal,
        billing_event=adset.billing_event,
        daily_budget=_money(adset.daily_budget, currency),
        lifetime_budget=_money(adset.lifetime_budget, currency),
        bid_amount=_money(adset.bid_amount, currency),
        targeting=adset.targeting,
        idempotency_key=keys.key_of(name),
    )
