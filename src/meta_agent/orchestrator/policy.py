"""Guardrails: a per-account policy checked before any write.

Budgets are policy, not hope. A request that breaks the policy is refused before anything is
sent to Meta, with a :class:`PolicyViolationError` naming the field, the limit, what was
asked and by how much it is over.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from meta_agent.errors import PolicyViolationError
from meta_agent.graph.values import Money


class AccountPolicy(BaseModel):
    """What one ad account allows. Amounts are in the account currency's minor unit."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_daily_budget: int | None = Field(default=None, ge=0)
    max_lifetime_budget: int | None = Field(default=None, ge=0)
    max_increase_pct: Decimal | None = Field(
        default=None, ge=0, description="largest budget increase one change may make, in percent"
    )
    allowed_objectives: frozenset[str] | None = None
    allowed_special_ad_categories: frozenset[str] | None = None
    activation_requires_approval: bool = False


class PolicyBook(BaseModel):
    """Policies by ad account (``act_...``), and the default for every other account."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    default: AccountPolicy = AccountPolicy()
    accounts: dict[str, AccountPolicy] = Field(default_factory=dict)

    def for_account(self, account_id: str) -> AccountPolicy:
        """The policy of ``account_id`` (with or without ``act_``)."""
        digits = account_id.removeprefix("act_")
        return self.accounts.get(f"act_{digits}") or self.accounts.get(digits) or self.default


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

    def activation(self, field: str, approved_by: str | None) -> None:
        """Activation with an approval when the policy asks for one.

        Raises:
            PolicyViolationError: activation asked without the required approval.
        """
        if self.policy.activation_requires_approval and not approved_by:
            raise PolicyViolationError(
                f"{field}: this account's policy requires an approval to activate; set "
                "options.approved_by to who approved it, or create the objects PAUSED",
                field=field,
                limit="activation_requires_approval",
            )

    def _over(self, field: str, name: str, amount: int, limit: int) -> PolicyViolationError:
        return PolicyViolationError(
            f"{field}: {self._money(amount)} is over the account's {name} of "
            f"{self._money(limit)} by {self._money(amount - limit)}",
            field=field,
            limit=name,
            allowed=limit,
            requested=amount,
            excess=amount - limit,
        )

    def _money(self, minor: int) -> str:
        return str(Money(amount_minor=minor, currency=self.currency))


def _pct(before: int, after: int) -> Decimal:
    return ((Decimal(after) - before) * 100 / before).quantize(Decimal("0.1"))
