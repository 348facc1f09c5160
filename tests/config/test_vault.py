"""The access token from HashiCorp Vault (KV v2) through the real hvac client over loopback."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import SecretStr
from structlog.testing import capture_logs

from meta_agent.config.credentials import TokenProvider, resolve_token
from meta_agent.config.settings import CredentialSettings, VaultSettings
from meta_agent.errors import ConfigError
from tests.config.conftest import VAULT_ROOT_TOKEN
from tests.config.fake_vault import FakeVault
from tests.conftest import free_port

META_TOKEN = "EAAB-vault-held-token"
PATH = "meta-agent/access-token"


def _settings(url: str, **vault: Any) -> CredentialSettings:
    return CredentialSettings(vault=VaultSettings(url=url, **vault))


async def test_reads_the_token_with_the_vault_token_from_the_environment(
    vault: FakeVault, vault_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The token is the secret's key at mount/path, read with VAULT_TOKEN, with its version."""
    vault.put("secret", PATH, {"access_token": META_TOKEN})
    monkeypatch.setenv("VAULT_TOKEN", VAULT_ROOT_TOKEN)
    token = await resolve_token(_settings(vault_url))
    assert token.token.get_secret_value() == META_TOKEN
    assert token.source == f"vault secret/{PATH}"
    assert token.version == "1"


async def test_mount_path_key_and_vault_token_come_from_the_settings(
    vault: FakeVault, vault_url: str
) -> None:
    """A custom mount, path and key are honoured; the settings' Vault token beats none in env."""
    vault.put("kv", "team/ads", {"meta": META_TOKEN})
    settings = _settings(
        vault_url, mount="kv", path="team/ads", key="meta", token=SecretStr(VAULT_ROOT_TOKEN)
    )
    token = await resolve_token(settings)
    assert token.token.get_secret_value() == META_TOKEN


async def test_a_wrong_vault_token_names_vault_token(
    vault: FakeVault, vault_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Vault's 403 becomes a ConfigError naming credentials.vault.token, without the token."""
    vault.put("secret", PATH, {"access_token": META_TOKEN})
    monkeypatch.setenv("VAULT_TOKEN", "not-the-root-token")
    with pytest.raises(ConfigError) as caught:
        await resolve_token(_settings(vault_url))
    assert caught.value.details["field"] == "credentials.vault.token"
    assert "not-the-root-token" not in str(caught.value)


async def test_no_vault_token_anywhere_names_vault_token(vault_url: str) -> None:
    """Without VAULT_TOKEN or a configured one, nothing is sent and the setting is named."""
    with pytest.raises(ConfigError) as caught:
        await resolve_token(_settings(vault_url))
    assert caught.value.details["field"] == "credentials.vault.token"


async def test_a_secret_without_the_key_names_vault_key(
    vault: FakeVault, vault_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A secret lacking the configured key is a ConfigError naming credentials.vault.key."""
    vault.put("secret", PATH, {"token": META_TOKEN})
    monkeypatch.setenv("VAULT_TOKEN", VAULT_ROOT_TOKEN)
    with pytest.raises(ConfigError) as caught:
        await resolve_token(_settings(vault_url))
    assert caught.value.details["field"] == "credentials.vault.key"
    assert META_TOKEN not in str(caught.value)


async def test_a_missing_secret_names_vault_path(
    vault_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Vault's 404 becomes a ConfigError naming credentials.vault.path."""
    monkeypatch.setenv("VAULT_TOKEN", VAULT_ROOT_TOKEN)
    with pytest.raises(ConfigError) as caught:
        await resolve_token(_settings(vault_url))
    assert caught.value.details["field"] == "credentials.vault.path"


async def test_an_unreachable_vault_names_vault_url(monkeypatch: pytest.MonkeyPatch) -> None:
    """A refused connection is a ConfigError naming credentials.vault.url."""
    monkeypatch.setenv("VAULT_TOKEN", VAULT_ROOT_TOKEN)
    with pytest.raises(ConfigError) as caught:
        await resolve_token(_settings(f"http://127.0.0.1:{free_port()}"))
    assert caught.value.details["field"] == "credentials.vault.url"


async def test_refresh_picks_up_a_new_secret_version(
    vault: FakeVault, vault_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a new version is written, refresh() returns it and logs the rotation, not the token."""
    vault.put("secret", PATH, {"access_token": META_TOKEN})
    monkeypatch.setenv("VAULT_TOKEN", VAULT_ROOT_TOKEN)
    provider = TokenProvider(_settings(vault_url))
    first = await provider.current()
    vault.put("secret", PATH, {"access_token": "EAAB-rotated-token"})
    with capture_logs() as logs:
        rotated = await provider.refresh()
    assert (first.version, rotated.version) == ("1", "2")
    assert rotated.token.get_secret_value() == "EAAB-rotated-token"
    assert (await provider.current()) is rotated
    assert [entry["event"] for entry in logs] == ["credentials.token.rotated"]
    assert "EAAB-rotated-token" not in repr(logs) + repr(provider)
    assert META_TOKEN not in repr(logs) + repr(provider)


async def test_current_reads_vault_once(
    vault: FakeVault, vault_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """current() caches the token: Vault is asked once, not on every call."""
    vault.put("secret", PATH, {"access_token": META_TOKEN})
    monkeypatch.setenv("VAULT_TOKEN", VAULT_ROOT_TOKEN)
    provider = TokenProvider(_settings(vault_url))
    for _ in range(3):
        await provider.current()
    assert vault.reads == 1


async def test_the_secrets_expires_at_is_tracked_and_warned_about(
    vault: FakeVault, vault_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """expires_at stored beside the token wins over the settings' and warns when close."""
    vault.put("secret", PATH, {"access_token": META_TOKEN, "expires_at": "2025-03-03T00:00:00Z"})
    monkeypatch.setenv("VAULT_TOKEN", VAULT_ROOT_TOKEN)
    settings = CredentialSettings(
        vault=VaultSettings(url=vault_url), expires_at=datetime(2030, 1, 1, tzinfo=UTC)
    )
    provider = TokenProvider(settings, now=lambda: datetime(2025, 3, 1, tzinfo=UTC))
    with capture_logs() as logs:
        token = await provider.current()
    assert token.expires_at == datetime(2025, 3, 3, tzinfo=UTC)
    assert [(e["event"], e["log_level"], e["days_left"]) for e in logs] == [
        ("credentials.token.expiring", "warning", 2.0)
    ]
