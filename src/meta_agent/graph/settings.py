"""Settings of one Graph client: where, which version, which credentials, how patient."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from meta_agent import versions


class GraphSettings(BaseModel):
    """Validated once, passed down; secrets stay ``SecretStr`` and never reach a log."""

    model_config = ConfigDict(frozen=True)

    base_url: str = "https://graph.facebook.com"
    version: str = versions.NEWEST
    access_token: SecretStr
    app_secret: SecretStr | None = None
    timeout: float = Field(default=60.0, gt=0)
    max_attempts: int = Field(default=5, ge=1)
    max_retry_seconds: float = Field(default=300.0, gt=0)
    # Requests in flight per account: enough for every batch of a 1,000-object launch's wave
    # at once (the pacer still admits each by its weight against the account's budgets).
    max_concurrency: int = Field(default=32, ge=1)
    slow_at_pct: float = Field(default=75.0, gt=0, le=100)
    target_pct: float = Field(default=95.0, gt=0, le=100)

    @field_validator("version")
    @classmethod
    def _known_shape(cls, value: str) -> str:
        if not versions.VERSION_PATTERN.match(value):
            raise ValueError(f"version must look like v25.0, not {value!r}")
        return value
