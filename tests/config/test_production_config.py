"""config/production.yaml loads with the code as it is, so the example never drifts."""

from __future__ import annotations

from datetime import date

import pytest

from meta_agent.config import load_settings
from meta_agent.config.credentials import resolve_token
from meta_agent.errors import ConfigError
from meta_agent.gate.policy import PolicyBook
from meta_agent.versions import BY_NAME, VERSIONS
from tests.config.conftest import VAULT_ROOT_TOKEN
from tests.config.deployment import ROOT
from tests.config.fake_vault import FakeVault

PRODUCTION = ROOT / "config" / "production.yaml"


@pytest.fixture
def production_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The variables production.yaml needs."""
    monkeypatch.setenv("POSTGRES_PASSWORD", "pg-password")


@pytest.mark.usefixtures("production_env")
def test_production_yaml_loads() -> None:
    """Vault credentials, Redis, PostgreSQL, no sandbox, a supported API version."""
    settings = load_settings(PRODUCTION)
    assert settings.credentials.vault is not None
    assert settings.cache.backend == "redis"
    assert settings.journal_url.startswith("postgresql+psycopg://meta_agent:pg-password@")
    assert settings.sandbox.mode == "never"
    assert settings.uses_sandbox is False
    assert settings.api.version in {version.name for version in VERSIONS}
    assert not BY_NAME[settings.api.version].is_sunset(date(2026, 12, 3))


@pytest.mark.usefixtures("production_env")
def test_production_policies_are_a_valid_policy_book() -> None:
    """The policies section parses as the orchestrator's PolicyBook, one account configured."""
    book = PolicyBook.model_validate(load_settings(PRODUCTION).policies)
    assert book.for_account("act_1234567890").max_daily_budget == 2500000
    assert book.default.activation_requires_approval is True


def test_production_yaml_needs_the_database_password() -> None:
    """Without POSTGRES_PASSWORD in the environment, loading fails and names it."""
    with pytest.raises(ConfigError, match="POSTGRES_PASSWORD"):
        load_settings(PRODUCTION)


@pytest.mark.usefixtures("production_env")
async def test_production_credentials_resolve_from_vault(
    vault: FakeVault, vault_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Vault mount, path and key of production.yaml find the token (URL from the env)."""
    settings = load_settings(PRODUCTION)
    assert settings.credentials.vault is not None
    vault_settings = settings.credentials.vault
    vault.put(vault_settings.mount, vault_settings.path, {vault_settings.key: "EAAB-production"})
    monkeypatch.setenv("META_AGENT_CREDENTIALS__VAULT__URL", vault_url)
    monkeypatch.setenv("VAULT_TOKEN", VAULT_ROOT_TOKEN)
    token = await resolve_token(load_settings(PRODUCTION).credentials)
    assert token.token.get_secret_value() == "EAAB-production"
