"""Breakdowns that need an opt-in since 2026-08-03 (reference §13.1), on every version.

``impression_device`` (alone or in any combination), ``frequency_value`` and
``hourly_stats_aggregated_by_audience_time_zone`` need an opt-in in Ads Manager on accounts
that are not sales-supported. Without it a synchronous query answers no rows and no error,
while async report runs still work under a daily quota per account. Meta does not publish
the quota; ``SandboxConfig.opt_in_report_runs_per_day`` is the sandbox's figure.

An account is opted in when ``SandboxConfig.breakdown_opt_in_accounts`` names it (or holds
``*``), or when its record says ``breakdown_opt_in: true`` (set through the admin state or
``POST /_sandbox/breakdown_opt_in``). The seeded accounts are not; none is sales-supported.
"""

from __future__ import annotations

from datetime import date

from meta_agent.sandbox.config import SandboxConfig
from meta_agent.sandbox.errors import GraphError
from meta_agent.sandbox.insights.query import Query
from meta_agent.sandbox.nodes import Record
from meta_agent.sandbox.state import SandboxState
from meta_agent.sandbox.synth import Model

OPT_IN_BREAKDOWNS = frozenset(
    {"impression_device", "frequency_value", "hourly_stats_aggregated_by_audience_time_zone"}
)
OPT_IN_SINCE = date(2026, 8, 3)
QUOTA_CODE, QUOTA_SUBCODE = 80000, 2446079


def opted_in(config: SandboxConfig, account: Record) -> bool:
    """Whether the account may use the opt-in breakdowns freely."""
    named = config.breakdown_opt_in_accounts
    return "*" in named or str(account["id"]) in named or bool(account.get("breakdown_opt_in"))


def needs_opt_in(config: SandboxConfig, model: Model, query: Query) -> bool:
    """Whether ``query`` uses an opt-in breakdown the account has not opted in to, today."""
    if not OPT_IN_BREAKDOWNS & set(query.breakdowns) or model.today() < OPT_IN_SINCE:
        return False
    return not opted_in(config, model.account)


def check_run_quota(config: SandboxConfig, state: SandboxState, model: Model) -> None:
    """Refuse one more async run with opt-in breakdowns once today's quota is used.

    The runs are counted from the stored report runs, so the count survives a state save.

    Raises:
        GraphError: code 80000 / 2446079, with the quota and when it resets.
    """
    today = model.today()
    used = sum(
        1
        for run in state.of_kind("report_run", account_id=model.account["account_id"])
        if run.get("needs_opt_in") and model.date_of(float(run["created_time"])) == today
    )
    if used >= config.opt_in_report_runs_per_day:
        raise GraphError(
            message=(
                "(#80000) There have been too many calls from this ad-account. Report runs "
                f"with {', '.join(sorted(OPT_IN_BREAKDOWNS))} are limited to "
                f"{config.opt_in_report_runs_per_day} a day on accounts that have not opted "
                "in. Wait until tomorrow (the account's time zone) or opt in."
            ),
            code=QUOTA_CODE,
            subcode=QUOTA_SUBCODE,
            user_title="Daily limit for these breakdowns reached",
            user_msg="Opt the ad account in to these breakdowns in Ads Manager, or run the "
            "report again tomorrow.",
        )
