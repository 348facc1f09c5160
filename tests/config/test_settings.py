"""Settings: YAML file, environment and overrides in precedence; errors name the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from meta_agent.config import load_settings
from meta_agent.errors import ConfigError


def _yaml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_file_or_environment() -> None:
    """With nothing set: in-memory cache, SQLite journal in the data directory, port 8000."""
    settings = load_settings()
    assert settings.cache.backend == "memory"
    assert settings.service.port == 8000
    assert settings.journal_url.endswith("/data/journal.db")


def test_yaml_values_are_loaded(tmp_path: Path) -> None:
    """The YAML file's sections fill the settings; unset fields keep their defaults."""
    path = _yaml(tmp_path, "cache:\n  backend: redis\n  ttl: 60\napi:\n  timeout: 5\n")
    settings = load_settings(path)
    assert (settings.cache.backend, settings.cache.ttl, settings.api.timeout) == ("redis", 60, 5)
    assert settings.cache.url == "redis://127.0.0.1:6379/0"


def test_the_config_file_may_come_from_meta_agent_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """META_AGENT_CONFIG names the file when no path is passed."""
    monkeypatch.setenv("META_AGENT_CONFIG", str(_yaml(tmp_path, "service:\n  port: 9001\n")))
    assert load_settings().service.port == 9001


def test_environment_beats_yaml_field_by_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A nested variable overrides its one field; the section's other YAML fields stay."""
    path = _yaml(tmp_path, "cache:\n  backend: memory\n  ttl: 60\n")
    monkeypatch.setenv("META_AGENT_CACHE__BACKEND", "redis")
    settings = load_settings(path)
    assert (settings.cache.backend, settings.cache.ttl) == ("redis", 60)


def test_explicit_overrides_beat_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """load_settings(**overrides) wins over the environment, which wins over the file."""
    path = _yaml(tmp_path, "service:\n  port: 7000\n  host: 10.0.0.1\n")
    monkeypatch.setenv("META_AGENT_SERVICE__PORT", "7100")
    monkeypatch.setenv("META_AGENT_SERVICE__HOST", "10.0.0.2")
    settings = load_settings(path, service={"port": 7200})
    assert (settings.service.port, settings.service.host) == (7200, "10.0.0.2")


def test_nested_environment_variables_without_a_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """META_AGENT_CACHE__BACKEND and friends set nested fields (values parsed and typed)."""
    monkeypatch.setenv("META_AGENT_CACHE__BACKEND", "redis")
    monkeypatch.setenv("META_AGENT_CACHE__URL", "redis://cache:6379/2")
    monkeypatch.setenv("META_AGENT_MONITORING__METRICS_ENABLED", "false")
    settings = load_settings()
    assert (settings.cache.backend, settings.cache.url) == ("redis", "redis://cache:6379/2")
    assert settings.monitoring.metrics_enabled is False


def test_a_bad_environment_value_names_the_setting_and_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An out-of-range port is a ConfigError naming service.port and its variable."""
    monkeypatch.setenv("META_AGENT_SERVICE__PORT", "99999")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert caught.value.details["field"] == "service.port"
    assert "META_AGENT_SERVICE__PORT" in str(caught.value)


def test_a_bad_yaml_value_names_the_setting_and_the_file(tmp_path: Path) -> None:
    """An unknown cache backend in the file names cache.backend and the file."""
    path = _yaml(tmp_path, "cache:\n  backend: memcached\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert caught.value.details["field"] == "cache.backend"
    assert str(path) in str(caught.value)
    assert "META_AGENT_CACHE__BACKEND" in str(caught.value)


def test_an_unknown_setting_is_refused(tmp_path: Path) -> None:
    """A misspelt field is an error, not silently ignored."""
    with pytest.raises(ConfigError) as caught:
        load_settings(_yaml(tmp_path, "cache:\n  backnd: redis\n"))
    assert caught.value.details["field"] == "cache.backnd"


@pytest.mark.parametrize(
    ("text", "message"),
    [(None, "does not exist"), ("cache: [", "not valid YAML"), ("- a\n- b\n", "mapping")],
    ids=["missing", "malformed", "not-a-mapping"],
)
def test_an_unusable_file_is_a_config_error(tmp_path: Path, text: str | None, message: str) -> None:
    """A missing, malformed or non-mapping file is a ConfigError naming config."""
    path = tmp_path / "config.yaml"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message) as caught:
        load_settings(path)
    assert caught.value.details["field"] == "config"


def test_yaml_strings_expand_environment_references(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """${NAME} in a YAML string is replaced by that variable (the file holds no password)."""
    monkeypatch.setenv("DB_PASSWORD", "s3cret")
    path = _yaml(tmp_path, 'database:\n  url: "postgresql+psycopg://u:${DB_PASSWORD}@db/x"\n')
    assert load_settings(path).database.url == "postgresql+psycopg://u:s3cret@db/x"


def test_an_unset_yaml_reference_is_a_config_error(tmp_path: Path) -> None:
    """${NAME} with NAME unset fails loudly, naming the variable."""
    path = _yaml(tmp_path, 'database:\n  url: "postgresql+psycopg://u:${DB_PASSWORD}@db/x"\n')
    with pytest.raises(ConfigError, match="DB_PASSWORD is not set"):
        load_settings(path)


def test_expires_at_is_parsed_from_iso_8601(monkeypatch: pytest.MonkeyPatch) -> None:
    """credentials.expires_at from the environment becomes an aware datetime."""
    monkeypatch.setenv("META_AGENT_CREDENTIALS__EXPIRES_AT", "2026-01-31T00:00:00+00:00")
    expires_at = load_settings().credentials.expires_at
    assert expires_at is not None
    assert expires_at.isoformat() == "2026-01-31T00:00:00+00:00"


def test_secrets_stay_out_of_the_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tokens from the environment are SecretStr: the settings' repr does not show them."""
    monkeypatch.setenv("META_AGENT_CREDENTIALS__ACCESS_TOKEN", "EAAB-leak-me")
    monkeypatch.setenv("META_AGENT_CREDENTIALS__VAULT__URL", "http://127.0.0.1:8200")
    monkeypatch.setenv("META_AGENT_CREDENTIALS__VAULT__TOKEN", "vault-leak-me")
    settings = load_settings()
    assert "leak-me" not in repr(settings)
    assert settings.credentials.vault is not None
    assert settings.credentials.vault.mount == "secret"


class TestSandboxMode:
    """Which world requests go to: the embedded sandbox or Meta."""

    def test_auto_without_any_token_uses_the_sandbox(self) -> None:
        """No token configured anywhere (and no META_ACCESS_TOKEN): the sandbox."""
        assert load_settings().uses_sandbox is True

    @pytest.mark.parametrize(
        ("variable", "value"),
        [
            ("META_ACCESS_TOKEN", "EAAB"),
            ("META_AGENT_CREDENTIALS__ACCESS_TOKEN", "EAAB"),
            ("META_AGENT_CREDENTIALS__TOKEN_FILE", "/run/secrets/meta"),
            ("META_AGENT_CREDENTIALS__VAULT__URL", "https://vault.example.com"),
        ],
    )
    def test_auto_with_a_token_source_goes_live(
        self, monkeypatch: pytest.MonkeyPatch, variable: str, value: str
    ) -> None:
        """Any configured token source (token, file, Vault, META_ACCESS_TOKEN) means Meta."""
        monkeypatch.setenv(variable, value)
        assert load_settings().uses_sandbox is False

    def test_always_uses_the_sandbox_even_with_a_token(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """mode always ignores configured credentials."""
        monkeypatch.setenv("META_ACCESS_TOKEN", "EAAB")
        monkeypatch.setenv("META_AGENT_SANDBOX__MODE", "always")
        assert load_settings().uses_sandbox is True

    def test_never_goes_live_even_without_a_token(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """mode never refuses the sandbox, so a missing token fails instead of faking it."""
        monkeypatch.setenv("META_AGENT_SANDBOX__MODE", "never")
        assert load_settings().uses_sandbox is False

    def test_an_unknown_mode_is_refused(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """sandbox.mode accepts auto, always or never only."""
        monkeypatch.setenv("META_AGENT_SANDBOX__MODE", "sometimes")
        with pytest.raises(ConfigError) as caught:
            load_settings()
        assert caught.value.details["field"] == "sandbox.mode"


def test_journal_url_follows_the_database_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    """database.url (from META_AGENT_DATABASE__URL) replaces the SQLite default."""
    monkeypatch.setenv("META_AGENT_DATABASE__URL", "postgresql+psycopg://u@db/meta_agent")
    assert load_settings().journal_url == "postgresql+psycopg://u@db/meta_agent"
