"""Meta's usage headers (reference §7.1), parsed into one snapshot per response.

Every value is a percentage of some budget; a block carries how long until access returns.
Absent headers mean 0 % (Meta sends them only once usage is noticeable).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Usage:
    """What one response said about the budgets its call drew on."""

    account_pct: float = 0.0
    reset_seconds: float = 0.0
    buc_pct: dict[str, float] = field(default_factory=dict)
    regain_seconds: float = 0.0
    app_pct: float = 0.0
    insights_pct: float = 0.0
    tier: str | None = None
    accounts: tuple[str, ...] = ()

    @property
    def peak(self) -> float:
        """The fullest budget, in percent."""
        return max([self.account_pct, self.app_pct, self.insights_pct, *self.buc_pct.values()])

    @property
    def blocked_for(self) -> float:
        """Seconds until a block lifts, 0 when not blocked."""
        if self.regain_seconds > 0:
            return self.regain_seconds
        return self.reset_seconds if self.peak >= 100 else 0.0


def parse_usage(headers: Mapping[str, str]) -> Usage:
    """Read the usage headers of one response (names in any case)."""
    lower = {key.lower(): value for key, value in headers.items()}
    account = _json(lower.get("x-ad-account-usage"))
    app = _json(lower.get("x-app-usage"))
    insights = _json(lower.get("x-fb-ads-insights-throttle"))
    buc = _json(lower.get("x-business-use-case-usage"))
    buc_pct, regain, tier = _buc(buc)
    return Usage(
        account_pct=_num(account.get("acc_id_util_pct")),
        reset_seconds=_num(account.get("reset_time_duration")),
        buc_pct=buc_pct,
        regain_seconds=regain,
        app_pct=max(_num(app.get(k)) for k in ("call_count", "total_time", "total_cputime")),
        insights_pct=max(
            _num(insights.get("app_id_util_pct")), _num(insights.get("acc_id_util_pct"))
        ),
        tier=str(account.get("ads_api_access_tier") or tier or "") or None,
        # BUC usage is keyed by the ad account the call touched (digits, no act_ prefix).
        accounts=tuple(str(key) for key in buc),
    )


def _buc(value: dict[str, Any]) -> tuple[dict[str, float], float, str | None]:
    pct: dict[str, float] = {}
    regain, tier = 0.0, None
    for entries in value.values():
        for entry in entries if isinstance(entries, list) else []:
            kind = str(entry.get("type", "unknown"))
            level = max(_num(entry.get(k)) for k in ("call_count", "total_time", "total_cputime"))
            pct[kind] = max(pct.get(kind, 0.0), level)
            # Meta gives estimated_time_to_regain_access in minutes.
            regain = max(regain, 60 * _num(entry.get("estimated_time_to_regain_access")))
            tier = tier or entry.get("ads_api_access_tier")
    return pct, regain, tier


def _json(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def _num(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0
