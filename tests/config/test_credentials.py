"""Where the access token comes from, its expiry warnings, rotation from a file, no leaks."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from structlog.testing import capture_logs

from meta_agent.config.credentials import TokenProvider, resolve_token
from meta_agent.config.settings import CredentialSettings
from meta_agent.errors import ConfigError

TOKEN = "EAAB-secret-token-value"
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def _clock() -> datetime:
    return NOW


async def test_the_configured_token_comes_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """credentials.access_token beats META_ACCESS_TOKEN."""
    monkeypatch.setenv("META_ACCESS_TOKEN", "from-env")
    token = await resolve_token(CredentialSettings(access_token=SecretStr(TOKEN)))
    assert (token.token.get_secret_value(), token.source) == (TOKEN, "settings")


async def test_meta_access_token_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """With nothing configured, META_ACCESS_TOKEN is used (surrounding blanks dropped)."""
    monkeypatch.setenv("META_ACCESS_TOKEN", f" {TOKEN}\n")
    token = await resolve_token(CredentialSettings())
    assert (token.token.get_secret_value(), token.source) == (
        TOKEN,
        "environment META_ACCESS_TOKEN",
    )


async def test_no_token_anywhere_is_a_config_error() -> None:
    """Nothing configured names credentials.access_token and the ways to set it."""
    with pytest.raises(ConfigError) as caught:
        await resolve_token(CredentialSettings())
    assert caught.value.details["field"] == "credentials.access_token"
    assert "META_ACCESS_TOKEN" in str(caught.value)


async def test_token_file_is_read_and_stripped(tmp_path: Path) -> None:
    """A token file's content, without its trailing newline, with the file's mtime as version."""
    path = tmp_path / "token"
    path.write_text(TOKEN + "\n", encoding="utf-8")
    token = await resolve_token(CredentialSettings(token_file=path))
    assert token.token.get_secret_value() == TOKEN
    assert token.version == str(path.stat().st_mtime_ns)


@pytest.mark.parametrize("content", [None, "  \n"], ids=["missing", "empty"])
async def test_an_unusable_token_file_names_the_setting(
    tmp_path: Path, content: str | None
) -> None:
    """A missing or empty token file is a ConfigError naming credentials.token_file."""
    path = tmp_path / "token"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        await resolve_token(CredentialSettings(token_file=path))
    assert caught.value.details["field"] == "credentials.token_file"


async def test_refresh_picks_up_a_rewritten_token_file(tmp_path: Path) -> None:
    """refresh() re-reads the file: the new token is returned and the rotation logged."""
    path = tmp_path / "token"
    path.write_text(TOKEN, encoding="utf-8")
    provider = TokenProvider(CredentialSettings(token_file=path))
    await provider.current()
    path.write_text("EAAB-the-new-one", encoding="utf-8")
    os.utime(path, ns=(1, 1))  # a distinct mtime even on coarse file systems
    with capture_logs() as logs:
        token = await provider.refresh()
    assert token.token.get_secret_value() == "EAAB-the-new-one"
    assert (await provider.current()).token.get_secret_value() == "EAAB-the-new-one"
    assert [entry["event"] for entry in logs] == ["credentials.token.rotated"]


async def test_refresh_of_an_unchanged_source_logs_nothing(tmp_path: Path) -> None:
    """No rotation is reported when the file still holds the same copy."""
    path = tmp_path / "token"
    path.write_text(TOKEN, encoding="utf-8")
    provider = TokenProvider(CredentialSettings(token_file=path))
    await provider.current()
    with capture_logs() as logs:
        await provider.refresh()
    assert logs == []


@pytest.mark.parametrize(
    ("expires_in", "state", "event"),
    [
        (timedelta(days=30), "valid", None),
        (timedelta(days=3), "expiring", "credentials.token.expiring"),
        (timedelta(days=-1), "expired", "credentials.token.expired"),
    ],
)
async def test_expiry_state_and_warning(
    expires_in: timedelta, state: str, event: str | None
) -> None:
    """Within warn_days a WARNING says expiring, past it expired; never the token itself."""
    settings = CredentialSettings(
        access_token=SecretStr(TOKEN), expires_at=NOW + expires_in, warn_days=7
    )
    provider = TokenProvider(settings, now=_clock)
    with capture_logs() as logs:
        await provider.current()
        expiry = provider.check_expiry()
    assert expiry.state == state
    assert expiry.days_left == round(expires_in.total_seconds() / 86400, 2)
    assert [entry["event"] for entry in logs] == ([event] * 2 if event else [])
    assert all(entry["log_level"] == "warning" for entry in logs)
    assert TOKEN not in repr(logs)


async def test_a_naive_expiry_is_read_as_utc() -> None:
    """expires_at without an offset means UTC."""
    settings = CredentialSettings(
        access_token=SecretStr(TOKEN), expires_at=datetime(2025, 6, 2, 12, 0)
    )
    token = await TokenProvider(settings, now=_clock).current()
    assert token.expires_at == datetime(2025, 6, 2, 12, 0, tzinfo=UTC)


async def test_unknown_expiry_without_settings_or_probe() -> None:
    """With no expiry anywhere the state is unknown and nothing is logged."""
    provider = TokenProvider(CredentialSettings(access_token=SecretStr(TOKEN)), now=_clock)
    with capture_logs() as logs:
        await provider.current()
    assert provider.check_expiry().state == "unknown"
    assert logs == []


async def test_the_probe_supplies_expiry_when_nothing_else_does() -> None:
    """An injected probe (Meta's debug_token in the service) is asked with the token itself."""
    asked: list[str] = []

    async def probe(token: SecretStr) -> datetime | None:
        asked.append(token.get_secret_value())
        return NOW + timedelta(days=1)

    provider = TokenProvider(
        CredentialSettings(access_token=SecretStr(TOKEN)), probe=probe, now=_clock
    )
    with capture_logs() as logs:
        token = await provider.current()
    assert asked == [TOKEN]
    assert token.expires_at == NOW + timedelta(days=1)
    assert [entry["event"] for entry in logs] == ["credentials.token.expiring"]


async def test_the_settings_expiry_spares_the_probe() -> None:
    """A configured expires_at is used without asking the probe."""

    async def probe(token: SecretStr) -> datetime | None:
        raise AssertionError("the probe must not be asked")

    settings = CredentialSettings(access_token=SecretStr(TOKEN), expires_at=NOW)
    token = await TokenProvider(settings, probe=probe, now=_clock).current()
    assert token.expires_at == NOW


async def test_repr_never_shows_the_token() -> None:
    """Neither the provider's repr nor the resolved token's shows the secret."""
    provider = TokenProvider(CredentialSettings(access_token=SecretStr(TOKEN)))
    assert repr(provider) == "TokenProvider(unresolved)"
    token = await provider.current()
    assert TOKEN not in repr(provider)
    assert TOKEN not in repr(token)
    assert "source='settings'" in repr(provider)


async def test_a_failed_refresh_keeps_the_previous_token(tmp_path: Path) -> None:
    """If the source becomes unreadable, refresh() raises and current() still has the old token."""
    path = tmp_path / "token"
    path.write_text(TOKEN, encoding="utf-8")
    provider = TokenProvider(CredentialSettings(token_file=path))
    await provider.current()
    path.unlink()
    with pytest.raises(ConfigError):
        await provider.refresh()
    assert (await provider.current()).token.get_secret_value() == TOKEN
