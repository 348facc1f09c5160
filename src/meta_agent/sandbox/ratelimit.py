"""Meta's rate limits as the sandbox enforces them (reference §7).

Meters per ad account: the ads-management *score* (reads 1 point, writes 3, decaying
linearly to zero over the tier's window, blocking for the tier's block period once a call
would pass the tier's maximum), the hourly *business use case* counters (``ads_management``
and ``ads_insights``), and, when configured, a per-second cap on mutations. An app-wide meter
feeds ``X-App-Usage``. Every response on an ad account carries the headers, errors included,
so a client can slow down before it is refused. Every window is divided by
``SandboxConfig.time_scale``.
"""

from __future__ import annotations

import json
import math
from collections import deque
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from meta_agent.sandbox.config import SandboxConfig
from meta_agent.sandbox.errors import GraphError

Weight = Literal[1, 3]
APP_CALLS_PER_WINDOW = 20_000  # 200 calls x 100 daily users, per rolling hour
WRITE_WEIGHT = 3
_MINUTE = 60.0
_TOO_MANY_TITLE = "Ad Account Has Too Many API Calls"
_TOO_MANY_MSG = (
    "There have been too many calls from this ad-account. Please wait a bit and try again."
)


def call_weight(method: str, insights: bool) -> Weight:
    """Score points of one call: writes cost three times a read; insights calls cost one."""
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
    management: _Window = field(default_factory=_Window)
    insights: _Window = field(default_factory=_Window)
    mutations: deque[float] = field(default_factory=deque)

    def window(self, insights: bool) -> _Window:
        return self.insights if insights else self.management


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
        """Add one call to the account's meters, or refuse it without charging.

        Raises:
            GraphError: 4 when the app budget is spent; 17/2446079 while the score is blocked
                or when this call would pass the tier's maximum; 80004 or 80000/2446079 when
                the hourly use-case budget is spent; 613/5044001 past the mutation cap.
        """
        account = self._account(account_id, now)
        self._app.roll(now, self.limits.buc_window_seconds)
        if self._app.count >= APP_CALLS_PER_WINDOW:
            raise app_limit_error()
        if now < account.blocked_until:
            raise score_limit_error()
        window = account.window(insights)
        if window.count >= self._buc_limit(account_id, insights):
            raise buc_limit_error(insights)
        if not insights and account.score + weight > self.limits.max_score:
            account.blocked_until = now + self.limits.block_seconds
            raise score_limit_error()
        if weight == WRITE_WEIGHT:
            self._count_mutation(account, now)
        self._app.count += 1
        window.count += 1
        if not insights:
            account.score += weight

    def headers(self, account_id: str, now: float, insights: bool) -> dict[str, str]:
        """The usage headers Meta attaches to a call on this account (lower-case names)."""
        account = self._account(account_id, now)
        self._app.roll(now, self.limits.buc_window_seconds)
        app_pct = _pct(self._app.count, APP_CALLS_PER_WINDOW)
        out = {
            "x-business-use-case-usage": _json(
                {account_id: [self._buc_usage(account_id, now, insights)]}
            ),
            "x-ad-account-usage": _json(
                {
                    "acc_id_util_pct": self._score_pct(account, now),
                    "reset_time_duration": math.ceil(self._reset_seconds(account, now)),
                    "ads_api_access_tier": self.tier,
                }
            ),
            "x-app-usage": self._app_usage(app_pct),
        }
        if insights:
            buc_pct = _pct(account.insights.count, self._buc_limit(account_id, True))
            out["x-fb-ads-insights-throttle"] = _json(
                {
                    "app_id_util_pct": app_pct,
                    "acc_id_util_pct": buc_pct,
                    "ads_api_access_tier": self.tier,
                }
            )
        return out

    def app_headers(self, now: float) -> dict[str, str]:
        """``X-App-Usage`` alone, for calls that touch no ad account (``/me``, ``/search``)."""
        self._app.roll(now, self.limits.buc_window_seconds)
        return {"x-app-usage": self._app_usage(_pct(self._app.count, APP_CALLS_PER_WINDOW))}

    @staticmethod
    @lru_cache(maxsize=128)  # a function of the percentage (0 to 100) alone
    def _app_usage(app_pct: int) -> str:
        return _json(
            {"call_count": app_pct, "total_time": app_pct // 2, "total_cputime": app_pct // 2}
        )

    def _buc_usage(self, account_id: str, now: float, insights: bool) -> dict[str, Any]:
        """One ``X-Business-Use-Case-Usage`` entry; the regain time is in minutes, rounded up."""
        account = self._accounts[account_id]
        window = account.window(insights)
        pct = _pct(window.count, self._buc_limit(account_id, insights))
        regain_s = max(account.blocked_until - now, 0.0)
        if pct >= 100:
            regain_s = max(regain_s, window.remaining(now, self.limits.buc_window_seconds))
        return {
            "type": "ads_insights" if insights else "ads_management",
            "call_count": pct,
            "total_cputime": pct // 2,
            "total_time": pct // 2,
            "estimated_time_to_regain_access": math.ceil(regain_s / _MINUTE),
            "ads_api_access_tier": self.tier,
        }

    def _account(self, account_id: str, now: float) -> _Account:
        """The account's meters brought up to ``now``: score decayed, hourly windows rolled."""
        account = self._accounts.get(account_id)
        if account is None:
            account = _Account(last=now, management=_Window(now), insights=_Window(now))
            self._accounts[account_id] = account
        account.score = max(0.0, account.score - self._decay_rate() * max(0.0, now - account.last))
        account.last = now
        account.management.roll(now, self.limits.buc_window_seconds)
        account.insights.roll(now, self.limits.buc_window_seconds)
        return account

    def _count_mutation(self, account: _Account, now: float) -> None:
        """Meta caps create/edit calls at about 100 a second per ad account (613/5044001)."""
        cap = self.config.mutations_per_second
        if cap is None:
            return
        window = 1.0 / self.config.time_scale
        while account.mutations and account.mutations[0] <= now - window:
            account.mutations.popleft()
        if len(account.mutations) >= cap:
            raise mutation_rate_error()
        account.mutations.append(now)

    def _decay_rate(self) -> float:
        """Points per second: a full score drains to zero over the tier's decay window."""
        return self.limits.max_score / self.limits.decay_seconds

    def _buc_limit(self, account_id: str, insights: bool) -> int:
        ads = self.active_ads.get(account_id, 0)
        if insights:
            return self.limits.buc_ads_insights_base + self.limits.buc_insights_per_active_ad * ads
        return self.limits.buc_ads_management_base + self.limits.buc_per_active_ad * ads

    def _score_pct(self, account: _Account, now: float) -> float:
        # While blocked the account is at its limit, whatever the decayed score says.
        if now < account.blocked_until:
            return 100.0
        return round(min(100.0, 100 * account.score / self.limits.max_score), 2)

    def _reset_seconds(self, account: _Account, now: float) -> float:
        """Seconds until the score is back to zero (or the block lifts, if later)."""
        drained = account.score / self._decay_rate()
        return max(drained, account.blocked_until - now)


def _pct(count: int, limit: int) -> int:
    return min(100, math.floor(100 * count / limit)) if limit > 0 else 100


_COMPACT = json.JSONEncoder(separators=(",", ":"))  # built once: json.dumps builds one a call


def _json(value: object) -> str:
    return _COMPACT.encode(value)


def score_limit_error() -> GraphError:
    """17/2446079: the ad account's ads-management score is spent (§6.4)."""
    return GraphError(
        message="(#17) User request limit reached",
        code=17,
        subcode=2446079,
        is_transient=True,
        user_title=_TOO_MANY_TITLE,
        user_msg=_TOO_MANY_MSG,
    )


def buc_limit_error(insights: bool) -> GraphError:
    """80000 (ads_insights) or 80004 (ads_management) with subcode 2446079 (§6.3)."""
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


def app_limit_error() -> GraphError:
    """Code 4: the app's platform budget is spent."""
    return GraphError(message="(#4) Application request limit reached", code=4, is_transient=True)


def account_calls_error() -> GraphError:
    """613/1487742, Meta's other answer to an over-used ad account (§6.4)."""
    return GraphError(
        message="User request limit reached",
        code=613,
        subcode=1487742,
        is_transient=True,
        user_title="Too Many Calls",
        user_msg=_TOO_MANY_MSG,
    )


def mutation_rate_error() -> GraphError:
    """613/5044001: too many creates and edits per second on one ad account (§7.2)."""
    return GraphError(
        message=(
            "(#613) Calls to this api have exceeded the rate limit. There have been too many "
            "create or edit calls on this ad account in a short time."
        ),
        code=613,
        subcode=5044001,
        is_transient=True,
        user_title=_TOO_MANY_TITLE,
        user_msg=_TOO_MANY_MSG,
    )
