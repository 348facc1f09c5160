"""One ``Settings`` object, from a YAML file and environment variables (specification §12.1).

Precedence, highest first: explicit arguments, environment variables (``META_AGENT_...``,
nested with ``__``: ``META_AGENT_CACHE__BACKEND=redis``), the YAML file
(``META_AGENT_CONFIG`` or ``--config``), then the defaults here. Validated once at start-up:
a bad value is a :class:`~meta_agent.errors.ConfigError` naming the setting and the fix.

String values in the YAML file may reference environment variables as ``${NAME}`` (a database
password, say), so the file itself holds no secret; an unset variable is a ``ConfigError``.

With no access token configured anywhere, meta-agent runs against its embedded Marketing
API sandbox and says so: everything can be tried offline first.
"""

from __future__ import annotations

import os
import re
from contextvars import ContextVar
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from meta_agent.errors import ConfigError
from meta_agent.versions import NEWEST

ENV_PREFIX = "META_AGENT_"
CONFIG_ENV = "META_AGENT_CONFIG"
DATA_DIR_ENV = "META_AGENT_DATA_DIR"
_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_loading: ContextVar[dict[str, Any]] = ContextVar("meta_agent_yaml", default={})  # noqa: B039 - never mutated


def data_dir() -> Path:
    """Where meta-agent keeps its files: ``META_AGENT_DATA_DIR``, else the XDG data dir."""
    explicit = os.environ.get(DATA_DIR_ENV)
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "meta-agent"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ApiSettings(_Section):
    """The Graph API: where, which version, how patiently."""

    base_url: str = "https://graph.facebook.com"
    version: str = NEWEST
    timeout: float = Field(default=30.0, gt=0)
    max_retries: int = Field(default=5, ge=1, le=20)
    max_concurrency: int = Field(default=32, ge=1, le=256)  # see GraphSettings.max_concurrency


class VaultSettings(_Section):
    """HashiCorp Vault (KV v2) holding the access token (specification §10.1)."""

    url: str
    token: SecretStr | None = None
    mount: str = "secret"
    path: str = "meta-agent/access-token"
    key: str = "access_token"


class CredentialSettings(_Section):
    """Where the Meta access token comes from: the environment, a file, or Vault."""

    access_token: SecretStr | None = None
    token_file: Path | None = None
    app_secret: SecretStr | None = None
    vault: VaultSettings | None = None
    expires_at: datetime | None = Field(
        default=None, description="ISO-8601 expiry of the token (UTC when no offset is given)"
    )
    warn_days: int = Field(default=7, ge=0, description="warn this many days before expiry")


class CacheSettings(_Section):
    """The cache: in-memory for one process, Redis when several share it."""

    backend: Literal["memory", "redis"] = "memory"
    url: str = "redis://127.0.0.1:6379/0"
    ttl: float = Field(default=3600.0, gt=0)
    local_ttl: float = Field(
        default=30.0,
        ge=0,
        description="redis backend: keep values read or written in this process for at most "
        "this many seconds, dropped early when another process writes them (pub/sub); "
        "bounds how stale a missed invalidation can make a read; 0 turns the local level off",
    )


class DatabaseSettings(_Section):
    """The workflow journal: SQLite in the data directory unless a URL is given."""

    url: str | None = None
    pool_size: int = Field(
        default=5,
        ge=1,
        le=100,
        description="connections each process keeps to a PostgreSQL journal (as many again "
        "under a burst); mind the server's max_connections across all workers",
    )


class MonitoringSettings(_Section):
    """Logs and metrics."""

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    metrics_enabled: bool = True


class ServiceSettings(_Section):
    """The HTTP service for the ambient agent."""

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    api_keys_file: Path | None = None
    webhook_secret: SecretStr | None = None
    webhook_attempts: int = Field(default=5, ge=1, le=20)
    egress_allow_loopback: bool = Field(
        default=False,
        description="local development only: let image URLs and webhook callbacks reach "
        "loopback (127.0.0.0/8, ::1); private, link-local and reserved addresses stay refused",
    )
    max_body_bytes: int = Field(
        default=48 * 1024 * 1024,
        ge=1024,
        description="refuse larger request bodies (413); the default admits one image at "
        "Meta's 30 MB maximum sent as base64 data, with the rest of its request",
    )
    max_json_depth: int = Field(
        default=32, ge=4, le=256, description="refuse JSON bodies nested deeper (422)"
    )
    sync_wait_seconds: float = Field(
        default=30.0,
        gt=0,
        description="a synchronous request still running after this long is answered 202 "
        "with where to poll, and carries on in the background",
    )


class AgentSettings(_Section):
    """One agent's queue: how much of its work each worker process takes at once."""

    workers: int = Field(
        default=4, ge=1, le=256, description="operations of this agent one process runs at once"
    )
    per_account: int | None = Field(
        default=None,
        ge=1,
        description="at most this many of its operations on one ad account at once, across "
        "all processes (none: no per-account limit)",
    )
    upload_timeout: float | None = Field(
        default=None, gt=0, description="seconds an upload may take (the asset agent)"
    )


class AgentsSettings(_Section):
    """The seed's ``agents:`` section: one queue per agent, one worker service per queue."""

    orchestrator: AgentSettings = AgentSettings(workers=4)
    asset: AgentSettings = AgentSettings(workers=8, per_account=4, upload_timeout=300)
    campaign: AgentSettings = AgentSettings(workers=4, per_account=2)
    ad_creation: AgentSettings = AgentSettings(workers=4, per_account=2)
    insights: AgentSettings = AgentSettings(workers=2, per_account=2)


class DurableSettings(_Section):
    """Durable execution (DBOS Transact): where workflows are checkpointed, who runs them."""

    mode: Literal["embedded", "distributed"] = Field(
        default="embedded",
        description="embedded: this process runs every workflow and agent operation itself; "
        "distributed: workers (meta-agent worker --agent ...) run them from queues in "
        "PostgreSQL, and the service and CLI only enqueue and read results",
    )
    url: str | None = Field(
        default=None,
        description="the database DBOS checkpoints into; default: the journal's database when "
        "it is PostgreSQL, else durable.db beside journal.db",
    )
    takeover_after_seconds: float = Field(
        default=60.0,
        gt=0,
        description="a worker silent this long is declared dead, and a live worker takes over "
        "its unfinished workflows",
    )
    heartbeat_seconds: float = Field(default=5.0, gt=0, description="how often workers report")
    polling_interval_seconds: float | None = Field(
        default=None,
        gt=0,
        le=10,
        description="how often a process looks at its queues; default 0.05 on a worker (the "
        "latency of each hop), 1 in embedded mode (whose queues only hold work handed back "
        "after a crash)",
    )
    pool_size: int = Field(
        default=8,
        ge=2,
        le=100,
        description="connections each process keeps to the durable database (mind the "
        "server's max_connections across all workers)",
    )


class NamingSettings(_Section):
    """What the names of the objects meta-agent creates end with."""

    keys: Literal["strip", "keep"] = Field(
        default="strip",
        description="strip: the idempotency tag ' [ma:...]' leaves each name once its workflow "
        "has completed (the names the request gave); keep: it stays, so an object can be "
        "traced to its workflow from Meta alone",
    )


class SandboxSettings(_Section):
    """The embedded Marketing API sandbox, used when no access token is configured."""

    mode: Literal["auto", "always", "never"] = Field(
        default="auto", description="auto: the sandbox when no token is configured"
    )
    state_file: Path | None = None
    latency_ms: float = Field(default=0.0, ge=0)


class Settings(BaseSettings):
    """Everything meta-agent is configured with."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", frozen=True
    )

    api: ApiSettings = ApiSettings()
    credentials: CredentialSettings = CredentialSettings()
    cache: CacheSettings = CacheSettings()
    database: DatabaseSettings = DatabaseSettings()
    monitoring: MonitoringSettings = MonitoringSettings()
    service: ServiceSettings = ServiceSettings()
    sandbox: SandboxSettings = SandboxSettings()
    agents: AgentsSettings = AgentsSettings()
    durable: DurableSettings = DurableSettings()
    naming: NamingSettings = NamingSettings()
    policies: dict[str, Any] = Field(
        default_factory=dict,
        description="per-account guardrails: {'default': {...}, 'accounts': {'act_1': {...}}}",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments, then the environment, then the YAML file being loaded."""
        return init_settings, env_settings, _YamlValues(settings_cls, _loading.get())

    @property
    def uses_sandbox(self) -> bool:
        """Whether requests go to the embedded sandbox rather than Meta."""
        if self.sandbox.mode != "auto":
            return self.sandbox.mode == "always"
        creds = self.credentials
        has_token = creds.access_token or creds.token_file or creds.vault
        return not has_token and not os.environ.get("META_ACCESS_TOKEN")

    @property
    def journal_url(self) -> str:
        """The journal's SQLAlchemy URL."""
        return self.database.url or f"sqlite:///{data_dir() / 'journal.db'}"

    @property
    def durable_url(self) -> str:
        """Where DBOS checkpoints: ``durable.url``, the journal's PostgreSQL, or a SQLite file
        beside the journal's (two SQLite writers on one file would take turns on its lock)."""
        if self.durable.url:
            return self.durable.url
        journal = self.journal_url
        if journal.startswith("postgresql"):
            return "postgresql://" + journal.split("://", 1)[1]
        folder = data_dir()
        if journal.startswith("sqlite:///") and journal != "sqlite:///:memory:":
            folder = Path(journal.removeprefix("sqlite:///")).parent
        return f"sqlite:///{folder / 'durable.db'}"


def load_settings(config_file: Path | str | None = None, **overrides: Any) -> Settings:
    """Settings from ``config_file`` (or ``META_AGENT_CONFIG``), the environment and overrides.

    Raises:
        ConfigError: the file is missing or malformed, or a setting is invalid (named).
    """
    path = config_file or os.environ.get(CONFIG_ENV)
    token = _loading.set(_read_yaml(Path(path)) if path else {})
    try:
        return Settings(**overrides)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ConfigError(
            f"setting {where}: {first['msg']} (file {path or 'none'}, or {ENV_PREFIX}"
            f"{where.upper().replace('.', '__')} in the environment)",
            field=where,
        ) from None
    finally:
        _loading.reset(token)


class _YamlValues(PydanticBaseSettingsSource):
    """The YAML file's values, below the environment in precedence."""

    def __init__(self, settings_cls: type[BaseSettings], values: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        self.values = values

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self.values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self.values)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist", field="config") from None
    except yaml.YAMLError as error:
        raise ConfigError(
            f"config file {path} is not valid YAML: {error}", field="config"
        ) from None
    if not isinstance(loaded, dict):
        raise ConfigError(f"config file {path} must hold a mapping of sections", field="config")
    expanded: dict[str, Any] = _expand(loaded, path)
    return expanded


def _expand(value: Any, path: Path) -> Any:
    """``value`` with every ``${NAME}`` in its strings replaced by that environment variable."""
    if isinstance(value, dict):
        return {key: _expand(item, path) for key, item in value.items()}
    if isinstance(value, list):
        return [_expand(item, path) for item in value]
    if isinstance(value, str):
        return _ENV_REFERENCE.sub(lambda match: _variable(match.group(1), path), value)
    return value


def _variable(name: str, path: Path) -> str:
    value = os.environ.get(name)
    if value is None:
        raise ConfigError(
            f"config file {path} uses ${{{name}}}, but {name} is not set in the environment",
            field="config",
        )
    return value
