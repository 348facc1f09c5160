"""Settings of one sandbox instance."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from meta_agent.sandbox.state import MAX_SEED_ACCOUNTS

# The sandbox's well-known token: a public fixture, not a credential.
DEFAULT_TOKEN = "sandbox-token"  # noqa: S105

Tier = Literal["development", "standard"]
SunsetPolicy = Literal["upgrade", "reject"]


class TierLimits(BaseModel):
    """The ads-management scoring figures of one access tier (reference §7.2, §7.3)."""

    model_config = ConfigDict(frozen=True)

    max_score: float
    decay_seconds: float
    block_seconds: float
    buc_ads_management_base: int
    buc_ads_insights_base: int
    buc_per_active_ad: int = 40
    buc_insights_per_active_ad: int = 400
    buc_window_seconds: float = 3600.0


TIERS: dict[str, TierLimits] = {
    "development": TierLimits(
        max_score=60,
        decay_seconds=300,
        block_seconds=300,
        buc_ads_management_base=300,
        buc_ads_insights_base=600,
    ),
    "standard": TierLimits(
        max_score=9000,
        decay_seconds=300,
        block_seconds=60,
        buc_ads_management_base=100_000,
        buc_ads_insights_base=190_000,
    ),
}


class SandboxConfig(BaseModel):
    """Everything that shapes one sandbox: who may call it, how fast, how faulty, how limited."""

    model_config = ConfigDict(frozen=True)

    token: SecretStr = SecretStr(DEFAULT_TOKEN)
    app_secret: SecretStr | None = None
    app_id: str = "1000000000000001"
    seed: int = 0
    accounts: int | None = Field(
        default=None,
        ge=1,
        le=MAX_SEED_ACCOUNTS,
        description=(
            "Seed this many ad accounts, each with its own Page and Instagram account, in "
            "INR, USD, EUR, GBP, JPY in turn (ids: state.seed_accounts); None keeps the classic "
            "seed of two accounts (INR, USD) sharing one Page."
        ),
    )
    latency_ms: float = Field(default=0.0, ge=0)
    tier: Tier = "standard"
    time_scale: float = Field(
        default=1.0,
        gt=0,
        description="Divides every rate-limit window, so a test can compress minutes into seconds.",
    )
    rate_limits: bool = True
    new_app: bool = Field(
        default=False,
        description=(
            "Behave as for an app created on or after 2026-11-04 (reference §13.1): multi-id "
            "reads (?ids=), method override (method= or X-HTTP-Method-Override), field aliases "
            "(.as()), date_format, JSONP (callback=) and async batch requests are refused."
        ),
    )
    sunset_policy: SunsetPolicy = "upgrade"
    base_url: str = "http://127.0.0.1:8765"
    max_ads_per_adset: int = 50
    max_adsets_per_campaign: int = 200
    max_adsets_per_account: int = 5000
    max_batch_size: int = 50
    video_processing_seconds: float = 20.0
    report_run_seconds: float = 6.0
    mutations_per_second: int | None = Field(
        default=None,
        ge=1,
        description=(
            "Cap on creates/edits per second per ad account (Meta's is about 100, error "
            "613/5044001); None turns it off, since a ManualClock never lets a second pass."
        ),
    )
    report_max_rows: int = Field(
        default=1_000_000,
        ge=0,
        description="An async insights job estimated above this many rows fails with -3/1504045.",
    )
    breakdown_opt_in_accounts: frozenset[str] = Field(
        default=frozenset(),
        description=(
            "Ad accounts (act_<digits>, or '*' for all) opted in to the breakdowns that need it "
            "since 2026-08-03 (impression_device, frequency_value, "
            "hourly_stats_aggregated_by_audience_time_zone; reference §13.1). Seeded accounts "
            "are not opted in; an account record's breakdown_opt_in (PUT /_sandbox/state or "
            "POST /_sandbox/breakdown_opt_in) opts one in too."
        ),
    )
    opt_in_report_runs_per_day: int = Field(
        default=25,
        ge=0,
        description=(
            "Async report runs per account and account-local day that use those breakdowns "
            "without the opt-in; Meta states a daily quota without its figure, so this number "
            "is the sandbox's choice. The next run fails with code 80000, subcode 2446079."
        ),
    )
    sync_insights_max_rows: int = Field(
        default=50_000,
        ge=0,
        description="A sync insights query above this many rows fails with code 1 (HTTP 500).",
    )

    def limits(self) -> TierLimits:
        """The tier's figures with every window divided by ``time_scale``."""
        base = TIERS[self.tier]
        return base.model_copy(
            update={
                "decay_seconds": base.decay_seconds / self.time_scale,
                "block_seconds": base.block_seconds / self.time_scale,
                "buc_window_seconds": base.buc_window_seconds / self.time_scale,
            }
        )
