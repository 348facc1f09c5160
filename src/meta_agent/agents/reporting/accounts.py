"""One report over many ad accounts, for agencies: totals per account, per currency.

Amounts in different currencies are never added together. Totals are kept apart per
currency; a single grand total exists only when the caller states a rate for every
currency (``{"USD": "83.2"}`` with ``convert_to="INR"``: 1 USD = 83.2 INR), and the rates
used are part of the report.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict

from meta_agent.agents.insights import REPORT_FIELDS, InsightsAgent
from meta_agent.agents.report import Metrics, summarize
from meta_agent.agents.reporting.fetch import fetch_rows
from meta_agent.errors import RequestValidationError
from meta_agent.graph.models import AdAccount
from meta_agent.graph.values import Money

_ACCOUNT_FIELDS = ["id", "account_id", "name", "currency"]


class AccountTotals(BaseModel):
    """One account's figures over the period, in its own currency."""

    model_config = ConfigDict(frozen=True)

    account_id: str
    name: str
    currency: str
    metrics: Metrics
    since: date | None = None
    until: date | None = None


class CurrencyTotals(BaseModel):
    """The accounts of one currency, added up (never mixed with another currency)."""

    model_config = ConfigDict(frozen=True)

    currency: str
    accounts: int
    metrics: Metrics


class Converted(BaseModel):
    """Spend and revenue of every account in one currency, at the rates stated."""

    model_config = ConfigDict(frozen=True)

    currency: str
    rates: dict[str, Decimal]
    spend: Money
    revenue: Money


class AccountsReport(BaseModel):
    """Every account's totals, the totals per currency, and a converted total if asked."""

    model_config = ConfigDict(frozen=True)

    date_preset: str | None = None
    since: date | None = None
    until: date | None = None
    accounts: list[AccountTotals]
    currencies: list[CurrencyTotals]
    converted: Converted | None = None
    synthetic: bool = False


async def accounts_report(
    agent: InsightsAgent,
    account_ids: Sequence[str] | None = None,
    *,
    dates: Mapping[str, Any],
    rates: Mapping[str, Decimal] | None = None,
    convert_to: str | None = None,
    synthetic: bool = False,
) -> AccountsReport:
    """Totals of ``account_ids`` (None: every account the token reaches) over ``dates``.

    Raises:
        RequestValidationError: a currency has no rate to ``convert_to``, or no account.
        ApiError: Meta refused a query.
    """
    accounts = await _accounts(agent, account_ids)
    totals = await asyncio.gather(*(_totals(agent, account, dates) for account in accounts))
    by_currency = _by_currency(totals)
    converted = None
    if convert_to is not None:
        converted = convert(by_currency, convert_to.upper(), rates or {})
    return AccountsReport(
        date_preset=dates.get("date_preset"),
        since=_span(dates, "since") or min((t.since for t in totals if t.since), default=None),
        until=_span(dates, "until") or max((t.until for t in totals if t.until), default=None),
        accounts=sorted(totals, key=lambda t: (t.currency, -t.metrics.spend_major, t.name)),
        currencies=by_currency,
        converted=converted,
        synthetic=synthetic,
    )


def _span(dates: Mapping[str, Any], end: str) -> date | None:
    span = dates.get("time_range")
    if span is None:
        return None
    value = span[end] if isinstance(span, Mapping) else getattr(span, end)
    return value if isinstance(value, date) else date.fromisoformat(str(value))


async def _accounts(agent: InsightsAgent, account_ids: Sequence[str] | None) -> list[AdAccount]:
    if account_ids is None:
        found = await agent.graph.accounts.ad_accounts(fields=_ACCOUNT_FIELDS).collect()
        if not found:
            raise RequestValidationError(
                "the token reaches no ad account; list them with --accounts act_...",
                field="accounts",
            )
        return found
    return list(
        await asyncio.gather(*(agent.graph.accounts.get(a, _ACCOUNT_FIELDS) for a in account_ids))
    )


async def _totals(
    agent: InsightsAgent, account: AdAccount, dates: Mapping[str, Any]
) -> AccountTotals:
    account_id = account.id if (account.id or "").startswith("act_") else f"act_{account.id}"
    currency = account.currency or "USD"
    rows = await fetch_rows(
        agent, object_id=account_id, level="account", fields=REPORT_FIELDS, **dates
    )
    return AccountTotals(
        account_id=account_id,
        name=account.name or account_id,
        currency=currency,
        metrics=summarize(rows, currency),
        since=min((row.date_start for row in rows), default=None),
        until=max((row.date_stop for row in rows), default=None),
    )


def _by_currency(totals: Sequence[AccountTotals]) -> list[CurrencyTotals]:
    """Counters added per currency; ratios come from those sums (reach is not added)."""
    groups: dict[str, list[Metrics]] = {}
    for item in totals:
        groups.setdefault(item.currency, []).append(item.metrics)
    return [
        CurrencyTotals(currency=currency, accounts=len(group), metrics=_added(group, currency))
        for currency, group in sorted(groups.items())
    ]


def _added(group: Sequence[Metrics], currency: str) -> Metrics:
    def total(name: str) -> Decimal:
        return sum((Decimal(getattr(m, name) or 0) for m in group), Decimal(0))

    revenues = [m.revenue for m in group if m.revenue is not None]
    return Metrics(
        currency=currency,
        impressions=int(total("impressions")),
        clicks=int(total("clicks")),
        link_clicks=int(total("link_clicks")),
        spend_major=total("spend_major"),
        results=total("results"),
        revenue=sum(revenues, Decimal(0)) if revenues else None,
    )


def convert(
    totals: Sequence[CurrencyTotals], target: str, rates: Mapping[str, Decimal]
) -> Converted:
    """Every currency's spend and revenue in ``target`` at ``rates`` (1 unit = rate target).

    Raises:
        RequestValidationError: a currency of ``totals`` has no rate.
    """
    wanted = {t.currency for t in totals} - {target}
    missing = sorted(wanted - set(rates))
    if missing:
        example = ",".join(f"{name}=<{target} per {name}>" for name in missing)
        raise RequestValidationError(
            f"no rate from {', '.join(missing)} to {target}; give --rate {example}",
            field="rates",
        )
    used = {name: Decimal(rates[name]) for name in sorted(wanted)}
    spend = Decimal(0)
    revenue = Decimal(0)
    for item in totals:
        rate = Decimal(1) if item.currency == target else used[item.currency]
        spend += item.metrics.spend_major * rate
        revenue += (item.metrics.revenue or Decimal(0)) * rate
    return Converted(
        currency=target,
        rates=used,
        spend=Money.from_major(spend, target),
        revenue=Money.from_major(revenue, target),
    )
