"""Who the token is and what it can use: ``/me``, ``me/adaccounts``, ``act_{id}``, ``me/accounts``."""

from __future__ import annotations

from collections.abc import Sequence

from meta_agent.graph.models import AdAccount, Page, User
from meta_agent.graph.pagination import Paginator
from meta_agent.graph.services._base import Service, act


def _with_currency(fields: Sequence[str] | None) -> Sequence[str] | None:
    """Money on an account is only meaningful with its currency, so always read both."""
    if fields is None or "currency" in fields:
        return fields
    return [*fields, "currency"]


class AccountService(Service):
    """The user, the ad accounts and the Pages the token can act for."""

    async def me(self, fields: Sequence[str] | None = None) -> User:
        """The user the token belongs to.

        Raises:
            AuthError: the token is invalid or expired.
        """
        return await self._read("me", User, fields)

    def ad_accounts(
        self, *, fields: Sequence[str] | None = None, page_size: int | None = None
    ) -> Paginator[AdAccount]:
        """The ad accounts the user can use (``me/adaccounts``), lazily."""
        fields = _with_currency(fields)
        return self._list("me/adaccounts", AdAccount, fields=fields, page_size=page_size)

    async def get(self, account_id: str, fields: Sequence[str] | None = None) -> AdAccount:
        """One ad account (``act_<digits>``; the digits alone work too).

        Raises:
            NotFoundError: no such account, or the token cannot see it.
        """
        return await self._read(act(account_id), AdAccount, _with_currency(fields))

    def pages(
        self, *, fields: Sequence[str] | None = None, page_size: int | None = None
    ) -> Paginator[Page]:
        """The Pages the user manages (``me/accounts``), lazily."""
        return self._list("me/accounts", Page, fields=fields, page_size=page_size)
