"""Policy: what each ad account allows, the built-in default, and the early checks.

Budgets are policy, not hope. The write gate (:mod:`meta_agent.gate.gate`) enforces an
:class:`AccountPolicy` on every write as it leaves; workflows also run :class:`PolicyCheck`
in ``prepare`` so a request that breaks it is refused early, before anything is journaled,
with a :class:`PolicyViolationError` naming the field, the limit, what was asked and by how
much it is over. Amounts are in the account currency's minor unit (Meta's unit); messages
show them in major units with the currency beside them: ``USD 5.00 (500)``.

With no policy configured, :func:`default_policy` still applies: per object at most the
equivalent of USD 1,000 a day, per account at most USD 5,000 of new or raised daily budget a
day, converted into the account's currency with the approximate rates of
:data:`USD_RATES` (a cap, not accounting: set ``policies`` for exact figures).
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from meta_agent.errors import PolicyViolationError
from meta_agent.graph.values import Money, minor_unit_factor


class AccountPolicy(BaseModel):
    """What one ad account allows. Amounts are in the account currency's minor unit."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_daily_budget: int | None = Field(
        default=None,
        ge=0,
        description="per object; a lifetime budget counts per day of its schedule",
    )
    max_lifetime_budget: int | None = Field(default=None, ge=0)
    max_spend_cap: int | None = Field(default=None, ge=0, description="a campaign's spend_cap")
    max_bid_amount: int | None = Field(default=None, ge=0, description="an ad set's bid_amount")
    max_increase_pct: Decimal | None = Field(
        default=None, ge=0, description="largest budget increase one change may make, in percent"
    )
    max_daily_increase_pct: Decimal | None = Field(
        default=None, ge=0, description="largest increase of one budget over a day, in percent"
    )
    max_account_daily_total: int | None = Field(
        default=None,
        ge=0,
        description="new and raised daily budget (lifetime per day) per account per day (UTC)",
    )
    approval_above_daily_budget: int | None = Field(
        default=None, ge=0, description="a budget per day above this waits for an approval"
    )
    increases_beyond_limit: Literal["refuse", "approve"] = Field(
        default="refuse", description="past max_increase_pct: refuse, or wait for an approval"
    )
    allowed_objectives: frozenset[str] | None = None
    allowed_special_ad_categories: frozenset[str] | None = None
    activation_requires_approval: bool = False
    approval_ttl_hours: float = Field(default=24.0, gt=0, le=24 * 30)


DEFAULT_CAPS_USD = {"max_daily_budget": Decimal(1000), "max_account_daily_total": Decimal(5000)}
"""The built-in default policy, in US dollars (major units)."""

USD_RATES: dict[str, Decimal] = {
    code: Decimal(rate)
    for code, rate in {
        "USD": "1",
        "EUR": "0.92",
        "GBP": "0.79",
        "CHF": "0.88",
        "CAD": "1.37",
        "AUD": "1.52",
        "NZD": "1.66",
        "JPY": "150",
        "CNY": "7.2",
        "HKD": "7.8",
        "TWD": "32",
        "KRW": "1350",
        "SGD": "1.35",
        "INR": "84",
        "IDR": "15800",
        "MYR": "4.5",
        "THB": "35",
        "PHP": "57",
        "VND": "25000",
        "PKR": "280",
        "BDT": "118",
        "LKR": "300",
        "TRY": "34",
        "ILS": "3.7",
        "AED": "3.67",
        "SAR": "3.75",
        "QAR": "3.64",
        "EGP": "48",
        "NGN": "1600",
        "KES": "129",
        "ZAR": "18",
        "BRL": "5.5",
        "MXN": "18",
        "ARS": "950",
        "CLP": "930",
        "COP": "4000",
        "PEN": "3.7",
        "UYU": "40",
        "SEK": "10.6",
        "NOK": "10.8",
        "DKK": "6.9",
        "PLN": "4.0",
        "CZK": "23",
        "HUF": "360",
        "RON": "4.6",
        "ISK": "138",
        "BGN": "1.8",
    }.items()
}
"""Approximate units of each currency per US dollar, for the default caps only."""


def default_policy(currency: str) -> AccountPolicy:
    """The built-in caps converted into ``currency`` (unknown currencies: the USD figures,
    which a weak currency makes strict: set a policy for it)."""
    rate = USD_RATES.get(currency.upper(), Decimal(1))
    factor = minor_unit_factor(currency)
    caps = {
        name: int((usd * rate * factor).to_integral_value(ROUND_DOWN))
        for name, usd in DEFAULT_CAPS_USD.items()
    }
    return AccountPolicy(**caps)


class PolicyBook(BaseModel):
    """Policies by ad account (``act_...``), and the default for every other account.

    ``default`` unset means the built-in :func:`default_policy` of the account's currency;
    a configured policy replaces it whole (an unset cap there is no cap).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    default: AccountPolicy | None = None
    accounts: dict[str, AccountPolicy] = Field(default_factory=dict)

    def for_account(self, account_id: str, currency: str = "USD") -> AccountPolicy:
        """The policy of ``account_id`` (with or without ``act_``) in its ``currency``."""
        digits = account_id.removeprefix("act_")
        found = self.accounts.get(f"act_{digits}") or self.accounts.get(digits) or self.default
        return found if found is not None else default_policy(currency)


def over_limit(
    field: str,
    rule: str,
    amount: int,
    limit: int,
    currency: str,
    *,
    whose: str = "the account's",
    unit: str = "",
) -> PolicyViolationError:
    """The refusal of ``amount`` past ``limit``: the rule, both amounts and the excess, in
    major units beside Meta's minor units (``unit`` is, e.g., `` a day``)."""
    return PolicyViolationError(
        f"{field}: {money(amount, currency)}{unit} is over {whose} {rule} of "
        f"{money(limit, currency)} by {money(amount - limit, currency)}",
        field=field,
        limit=rule,
        allowed=limit,
        requested=amount,
        excess=amount - limit,
        currency=currency,
    )


def money(minor: int, currency: str) -> str:
    """An amount as a person reads it, with Meta's minor units beside: ``USD 5.00 (500)``."""
    value = Money(amount_minor=minor, currency=currency.upper())
    return f"{value.currency} {value.major:,} ({minor})"


class PolicyCheck:
    """Checks one request against one account's policy, in the account's currency."""

    def __init__(self, policy: AccountPolicy, currency: str) -> None:
        self.policy = policy
        self.currency = currency

    def budget(self, field: str, amount: int | None, *, lifetime: bool = False) -> None:
        """A daily (or lifetime) budget within the policy's maximum.

        Raises:
            PolicyViolationError: over the maximum.
        """
        limit = self.policy.max_lifetime_budget if lifetime else self.policy.max_daily_budget
        if amount is None or limit is None or amount <= limit:
            return
        name = "max_lifetime_budget" if lifetime else "max_daily_budget"
        raise self._over(field, name, amount, limit)

    def increase(self, field: str, before: int | None, after: int | None) -> None:
        """A budget change no larger than the policy's percentage.

        Raises:
            PolicyViolationError: the increase is over the cap.
        """
        cap = self.policy.max_increase_pct
        if self.policy.increases_beyond_limit == "approve":
            return  # the gate holds it for an approval instead
        if cap is None or before is None or after is None or after <= before or before == 0:
            return
        allowed = int(before * (1 + cap / 100))
        if after > allowed:
            raise PolicyViolationError(
                f"{field}: raising {self._money(before)} to {self._money(after)} is "
                f"{_pct(before, after)}% more; the account's policy allows at most {cap}% per "
                f"change (up to {self._money(allowed)}). Raise it in steps, or change the policy.",
                field=field,
                limit="max_increase_pct",
                allowed=allowed,
                requested=after,
                excess=after - allowed,
            )

    def objective(self, field: str, objective: str) -> None:
        """An objective the policy allows.

        Raises:
            PolicyViolationError: not in ``allowed_objectives``.
        """
        allowed = self.policy.allowed_objectives
        if allowed is not None and objective not in allowed:
            raise PolicyViolationError(
                f"{field}: objective {objective} is not allowed on this account; allowed: "
                f"{', '.join(sorted(allowed))}",
                field=field,
                limit="allowed_objectives",
                allowed=sorted(allowed),
                requested=objective,
            )

    def special_categories(self, field: str, categories: list[str]) -> None:
        """Special ad categories the policy allows.

        Raises:
            PolicyViolationError: a category outside ``allowed_special_ad_categories``.
        """
        allowed = self.policy.allowed_special_ad_categories
        refused = sorted(set(categories) - set(allowed)) if allowed is not None else []
        if refused:
            raise PolicyViolationError(
                f"{field}: special ad categories {', '.join(refused)} are not allowed on this "
                "account",
                field=field,
                limit="allowed_special_ad_categories",
                allowed=sorted(allowed or ()),
                requested=refused,
            )

    def _over(self, field: str, name: str, amount: int, limit: int) -> PolicyViolationError:
        return over_limit(field, name, amount, limit, self.currency)

    def _money(self, minor: int) -> str:
        return money(minor, self.currency)


def _pct(before: int, after: int) -> Decimal:
    return ((Decimal(after) - before) * 100 / before).quantize(Decimal("0.1"))
