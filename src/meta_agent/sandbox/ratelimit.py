"""Meta's rate limits as the sandbox enforces them (reference §7).

Two meters per ad account: the ads-management *score* (reads 1 point, writes 3, decaying
linearly over the tier's window, blocking for the tier's block period once exceeded) and the
hourly *business use case* counters (``ads_management`` and ``ads_insights``). An app-wide
meter feeds ``X-App-Usage``. Every response carries the headers, errors included, so a client
can slow down before it is refused.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Literal

from meta_agent.sandbox.config import SandboxConfig
from meta_agent.sandbox.errors import GraphError

Weight = Literal[1, 3]
APP_CALLS_PER_WINDOW = 20_000  # 200 calls x 100 daily users, per rolling hour


def call_weight(method: str, insights: bool) -> Weight:
    """Score points of one call: writes cost three times a read; insights reads cost one."""
    return 1 if method == "GET" or insights else 3


@dataclass
class _Window:
    """A fixed window counter (BUC and app meters)."""

    start: float = 0.0
    count: int = 0

    def roll(self, now: float, length: float) -> None:
        if now - self.start >= length:
            self.start, self.count = now, 0

    def remaining(self, now: float, length: float) -> float:
        return max(0.0, self.start + length - now)


@dataclass
class _Account:
    score: float = 0.0
    last: float = 0.0
    blocked_until: float = 0.0
    management: _Window | None = None
    insights: _Window | None = None


class RateLimiter:
    """Scores calls per ad account and refuses them the way Meta does once budgets are spent."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.limits = config.limits()
        self.tier = f"{config.tier}_access"
        self._accounts: dict[str, _Account] = {}
        self._app = _Window()
        self.active_ads: dict[str, int] = {}

    def charge(self, account_id: str, weight: int, now: float, insights: bool) -> None:
        """Add one call to the account's meters.

        Raises:
            GraphError: 17/2446079 while the score is blocked, 80004 or 80000/2446079 when
                the hourly use-case budget is spent, 4 when the app budget is.
        """
        account = self._account(account_id, now)
        self._app.roll(now, self.limits.buc_window_seconds)
        if self._app.count >= APP_CALLS_PER_WINDOW:
            raise _app_limit()
        if now < account.blocked_until:
            raise _score_limit()
        window = self._buc(account, insights, now)
        if window.count >= self._buc_limit(account_id, insights):
            raise _buc_limit(insights)
        if not insights and account.score + weight > self.limits.max_score:
            account.blocked_until = now + self.limits.block_seconds
            raise _score_limit()
        self._app.count += 1
        window.count += 1
        if not insights:
            account.score += weight

    def headers(self, account_id: str, now: float, insights: bool) -> dict[str, str]:
        """The usage headers Meta attaches to a call on this account."""
        account = self._account(account_id, now)
        window = self._buc(account, insights, now)
        buc_pct = _pct(window.count, self._buc_limit(account_id, insights))
        regain_s = max(
            account.blocked_until - now,
            window.remaining(now, self.limits.buc_window_seconds) if buc_pct >= 100 else 0.0,
        )
        usage_type = "ads_insights" if insights else "ads_management"
        buc = {
            "type": usage_type,
            "call_count": buc_pct,
            "total_cputime": buc_pct // 2,
            "total_time": buc_pct // 2,
            "estimated_time_to_regain_access": math.ceil(regain_s / 60) if regain_s > 0 else 0,
            "ads_api_access_tier": self.tier,
        }
        app_pct = _pct(self._app.count, APP_CALLS_PER_WINDOW)
        out = {
            "x-business-use-case-usage": _json({account_id: [buc]}),
            "x-ad-account-usage": _json(
                {
                    "acc_id_util_pct": round(100 * account.score / self.limits.max_score, 2),
                    "reset_time_duration": math.ceil(self._reset_seconds(account, now)),
                    "ads_api_access_tier": self.tier,
                }
            ),
            "x-app-usage": _json(
                {"call_count": app_pct, "total_time": app_pct // 2, "total_cputime": app_pct // 2}
            ),
        }
        if insights:
            out["x-fb-ads-insights-throttle"] = _json(
                {"app_id_util_pct": app_pct, "acc_id_util_pct": buc_pct, "ads_api_access_tier": self.tier}
            )
        return out

    def _account(self, account_id: str, now: float) -> _Account:
        account = self._accounts.setdefault(account_id, _Account(last=now))
        rate = self.limits.max_score / self.limits.decay_seconds
        account.score = max(0.0, account.score - rate * max(0.0, now - account.last))
        account.last = now
        return account

    def _buc(self, account: _Account, insights: bool, now: float) -> _Window:
        if insights:
            account.insights = account.insights or _Window(start=now)
            window = account.insights
        else:
            account.management = account.management or _Window(start=now)
            window = account.management
        window.roll(now, self.limits.buc_window_seconds)
        return window

    def _buc_limit(self, account_id: str, insights: bool) -> int:
        ads = self.active_ads.get(account_id, 0)
        if insights:
            return self.limits.buc_ads_insights_base + self.limits.buc_insights_per_active_ad * ads
        return self.limits.buc_ads_management_base + self.limits.buc_per_active_ad * ads

    def _reset_seconds(self, account: _Account, now: float) -> float:
        if now < account.blocked_until:
            return account.blocked_until - now
        rate = self.limits.max_score / self.limits.decay_seconds
        return account.score / rate


def _pct(count: int, limit: int) -> int:
    return min(100, math.floor(100 * count / limit)) if limit > 0 else 100


def _json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


def _score_limit() -> GraphError:
    return GraphError(
        message="(#17) User request limit reached",
        code=17,
        subcode=2446079,
        is_transient=True,
        user_title="Ad Account Has Too Many API Calls",
        user_msg="There have been too many calls from this ad-account. Please wait a bit and try again.",
    )


def _buc_limit(insights: bool) -> GraphError:
    if insights:
        return GraphError(
            message=(
                "(#80000) There have been too many calls from this ad-account. Wait a bit and "
                "try again. For more info, please refer to "
                "https://developers.facebook.com/docs/graph-api/overview/rate-limiting#ads-insights."
            ),
            code=80000,
            subcode=2446079,
            is_transient=True,
        )
    return GraphError(
        message=(
            "(#80004) There have been too many calls to this ad-account. Wait a bit and try "
            "again. For more info, please refer to "
            "https://developers.facebook.com/docs/graph-api/overview/rate-limiting#ads-management."
        ),
        code=80004,
        subcode=2446079,
        is_transient=True,
    )


def _app_limit() -> GraphError:
    return GraphError(message="(#4) Application request limit reached", code=4, is_transient=True)
