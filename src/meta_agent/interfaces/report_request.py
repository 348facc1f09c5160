"""What a caller asks of ``report``: one object's report, or one across accounts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from meta_agent.agents.reporting.accounts import AccountsReport
from meta_agent.agents.reporting.builder import MarketerReport
from meta_agent.errors import RequestValidationError
from meta_agent.interfaces.report_thumbnails import inline_thumbnails

if TYPE_CHECKING:
    from meta_agent.agents.report import Level
    from meta_agent.service import MetaAgentService

AnyReport = MarketerReport | AccountsReport
ALL_ACCOUNTS = "all"


@dataclass(frozen=True)
class ReportRequest:
    """``target`` is an object id, ``all`` (every account the token reaches) or
    ``act_1,act_2``; the rest applies to whichever report that makes."""

    target: str
    level: str | None = None
    windows: tuple[str, ...] = ()
    result_action: str | None = None
    rates: Mapping[str, Decimal] = field(default_factory=dict)
    convert_to: str | None = None

    @property
    def across_accounts(self) -> bool:
        """Whether this asks for one report over several accounts."""
        return self.target == ALL_ACCOUNTS or "," in self.target

    def accounts(self) -> list[str] | None:
        """The accounts listed (None: every account the token reaches).

        Raises:
            RequestValidationError: an item is not ``act_<digits>``.
        """
        if self.target == ALL_ACCOUNTS:
            return None
        listed = [part.strip() for part in self.target.split(",") if part.strip()]
        for item in listed:
            if not (item.startswith("act_") and item[4:].isdigit()):
                raise RequestValidationError(
                    f"OBJECT_ID: '{item}' is not an ad account; list act_<digits>, comma-separated",
                    field="object_id",
                )
        return listed

    async def build(
        self, service: MetaAgentService, dates: Mapping[str, Any], *, for_html: bool = False
    ) -> AnyReport:
        """The report asked for, over ``dates`` (``for_html``: thumbnails embedded).

        Raises:
            RequestValidationError: a bad option, named.
            ApiError: Meta refused a query.
        """
        if self.across_accounts:
            return await service.accounts_report(
                self.accounts(), dates=dates, rates=self.rates, convert_to=self.convert_to
            )
        if self.rates or self.convert_to:
            raise RequestValidationError(
                "--rate and --convert-to are for a report across accounts ('all' or act_1,act_2)",
                field="convert_to",
            )
        report = await service.report(
            self.target,
            cast("Level | None", self.level),
            result_action=self.result_action,
            attribution_windows=self.windows,
            **dates,
        )
        return await inline_thumbnails(service, report) if for_html else report
