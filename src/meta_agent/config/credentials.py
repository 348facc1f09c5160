"""Where the Meta access token comes from, when it lapses, and how a new one is picked up.

Sources (specification §10.1), the first one configured wins:

1. ``credentials.access_token`` (``META_AGENT_CREDENTIALS__ACCESS_TOKEN`` or the YAML file);
2. ``credentials.token_file``: a file holding the token and nothing else;
3. ``credentials.vault``: HashiCorp Vault, KV version 2 (``mount``, ``path``, ``key``), read
   with ``hvac``; the Vault token is ``credentials.vault.token`` or ``VAULT_TOKEN``;
4. ``META_ACCESS_TOKEN`` in the environment.

Expiry, the first known of: the ``expires_at`` stored beside the token in the Vault secret
(it changes with each rotation), ``credentials.expires_at``, or what an injected
:data:`ExpiryProbe` reports (the service can wire Meta's ``debug_token`` there; this module
is a leaf and cannot import the Graph client). Within ``credentials.warn_days`` of expiry
:meth:`TokenProvider.check_expiry` logs a WARNING ``credentials.token.expiring``; past it,
``credentials.token.expired``.

Rotation: :meth:`TokenProvider.refresh` re-reads the source, so a rewritten token file or a
new Vault secret version is picked up without a restart (``credentials.token.rotated``).

The token lives only in a :class:`~pydantic.SecretStr`: no log event, ``repr`` or error
message ever holds it.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import hvac
import hvac.exceptions
import structlog
from pydantic import SecretStr

from meta_agent.config.settings import CredentialSettings, VaultSettings
from meta_agent.errors import ConfigError

META_TOKEN_ENV = "META_ACCESS_TOKEN"  # noqa: S105 - the name of a variable, not a secret
VAULT_TOKEN_ENV = "VAULT_TOKEN"  # noqa: S105 - the name of a variable, not a secret
_DAY = 86400.0

ExpiryProbe = Callable[[SecretStr], Awaitable[datetime | None]]
"""Asks an authority (Meta's ``debug_token``) when a token lapses; ``None`` when it never does."""

log = structlog.get_logger("meta_agent.credentials")


@dataclass(frozen=True)
class ResolvedToken:
    """An access token, where it came from, when it lapses (when known), and which copy it is.

    ``version`` tells one copy of the source from the next: the Vault secret's version, or
    the token file's modification time.
    """

    token: SecretStr
    source: str
    expires_at: datetime | None = None
    version: str | None = None


@dataclass(frozen=True)
class TokenExpiry:
    """How close the current token is to lapsing."""

    state: Literal["unknown", "valid", "expiring", "expired"]
    expires_at: datetime | None = None
    days_left: float | None = None


async def resolve_token(
    settings: CredentialSettings, *, probe: ExpiryProbe | None = None
) -> ResolvedToken:
    """The configured access token (and a warning in the log if it is about to lapse).

    Raises:
        ConfigError: none configured, or its source is unreadable (the setting is named).
    """
    return await TokenProvider(settings, probe=probe).current()


class TokenProvider:
    """The current access token, re-read from its source on :meth:`refresh`.

    Safe to share between tasks; holds the token only as a ``SecretStr``.
    """

    def __init__(
        self,
        settings: CredentialSettings,
        *,
        probe: ExpiryProbe | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self._settings = settings
        self._probe = probe
        self._now = now or _utcnow
        self._token: ResolvedToken | None = None
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        current = self._token
        if current is None:
            return "TokenProvider(unresolved)"
        expires = current.expires_at.isoformat() if current.expires_at else None
        return (
            f"TokenProvider(source={current.source!r}, version={current.version!r}, "
            f"expires_at={expires!r})"
        )

    async def current(self) -> ResolvedToken:
        """The token, read from its source the first time.

        Raises:
            ConfigError: no token configured, or its source is unreadable.
        """
        async with self._lock:
            if self._token is None:
                self._token = await self._load()
                self.check_expiry()
            return self._token

    async def refresh(self) -> ResolvedToken:
        """Re-read the source and return the token now there (the rotated one, if any).

        Raises:
            ConfigError: the source has become unreadable; the previous token is kept.
        """
        async with self._lock:
            previous, self._token = self._token, await self._load()
            if previous is not None and _rotated(previous, self._token):
                log.info(
                    "credentials.token.rotated",
                    source=self._token.source,
                    version=self._token.version,
                    previous_version=previous.version,
                )
            self.check_expiry()
            return self._token

    rotate = refresh

    def check_expiry(self) -> TokenExpiry:
        """How close the token is to lapsing; logs a WARNING when within ``warn_days`` or past."""
        current = self._token
        if current is None or current.expires_at is None:
            return TokenExpiry("unknown")
        days_left = round((current.expires_at - self._now()).total_seconds() / _DAY, 2)
        state = _state(days_left, self._settings.warn_days)
        expiry = TokenExpiry(state, current.expires_at, days_left)
        if expiry.state in ("expiring", "expired"):
            log.warning(
                f"credentials.token.{expiry.state}",
                source=current.source,
                expires_at=current.expires_at.isoformat(),
                days_left=expiry.days_left,
                fix="rotate the token at its source, then refresh (or restart)",
            )
        return expiry

    async def _load(self) -> ResolvedToken:
        token = await _read_source(self._settings)
        expires_at = token.expires_at or _aware(self._settings.expires_at)
        if expires_at is None and self._probe is not None:
            expires_at = _aware(await self._probe(token.token))
        return replace(token, expires_at=expires_at)


def _state(days_left: float, warn_days: int) -> Literal["valid", "expiring", "expired"]:
    if days_left <= 0:
        return "expired"
    return "expiring" if days_left <= warn_days else "valid"


def _rotated(previous: ResolvedToken, current: ResolvedToken) -> bool:
    same_token = previous.token.get_secret_value() == current.token.get_secret_value()
    return not same_token or previous.version != current.version


async def _read_source(settings: CredentialSettings) -> ResolvedToken:
    if settings.access_token is not None:
        return ResolvedToken(settings.access_token, "settings")
    if settings.token_file is not None:
        return await _from_file(settings.token_file)
    if settings.vault is not None:
        return await _from_vault(settings.vault)
    from_env = os.environ.get(META_TOKEN_ENV, "").strip()
    if from_env:
        return ResolvedToken(SecretStr(from_env), f"environment {META_TOKEN_ENV}")
    raise ConfigError(
        "no access token configured: set META_AGENT_CREDENTIALS__ACCESS_TOKEN or "
        f"{META_TOKEN_ENV}, or credentials.token_file or credentials.vault in the config file "
        "(or run against the embedded sandbox: sandbox.mode auto or always)",
        field="credentials.access_token",
    )


async def _from_file(path: Path) -> ResolvedToken:
    text, modified = await asyncio.to_thread(_read_file, path)
    if not text:
        raise ConfigError(f"credentials.token_file {path} is empty", field="credentials.token_file")
    return ResolvedToken(SecretStr(text), f"file {path}", version=str(modified))


def _read_file(path: Path) -> tuple[str, int]:
    try:
        return path.read_text(encoding="utf-8").strip(), path.stat().st_mtime_ns
    except OSError as error:
        raise ConfigError(
            f"credentials.token_file {path}: {error.strerror}", field="credentials.token_file"
        ) from None


async def _from_vault(vault: VaultSettings) -> ResolvedToken:
    secret = await asyncio.to_thread(_read_vault, vault, _vault_token(vault))
    data, metadata = _kv2_parts(secret, vault)
    value = data.get(vault.key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(
            f"credentials.vault.key: the Vault secret {vault.mount}/{vault.path} has no "
            f"non-empty {vault.key!r} (it has: {', '.join(sorted(data)) or 'nothing'})",
            field="credentials.vault.key",
        )
    return ResolvedToken(
        SecretStr(value.strip()),
        f"vault {vault.mount}/{vault.path}",
        expires_at=_vault_expiry(data.get("expires_at"), vault),
        version=str(metadata.get("version")),
    )


def _vault_token(vault: VaultSettings) -> SecretStr:
    if vault.token is not None:
        return vault.token
    from_env = os.environ.get(VAULT_TOKEN_ENV, "").strip()
    if from_env:
        return SecretStr(from_env)
    raise ConfigError(
        f"credentials.vault.token: no Vault token; set {VAULT_TOKEN_ENV} or "
        "META_AGENT_CREDENTIALS__VAULT__TOKEN",
        field="credentials.vault.token",
    )


def _read_vault(vault: VaultSettings, token: SecretStr) -> Any:
    """One KV v2 read (hvac is synchronous: this runs in a worker thread)."""
    client = hvac.Client(url=vault.url, token=token.get_secret_value())
    try:
        return client.secrets.kv.v2.read_secret_version(
            path=vault.path, mount_point=vault.mount, raise_on_deleted_version=True
        )
    except (hvac.exceptions.Forbidden, hvac.exceptions.Unauthorized):
        raise _vault_error(
            "token",
            f"Vault refused the token (wrong, expired or without a policy for the path; from {VAULT_TOKEN_ENV} unless set in the config)",
        ) from None
    except hvac.exceptions.InvalidPath:
        raise _vault_error("path", f"no secret at {vault.mount}/{vault.path} in Vault") from None
    except hvac.exceptions.VaultError as error:
        message = f"Vault answered with an error: {type(error).__name__}"
        raise _vault_error("url", message) from None
    except OSError as error:  # requests' connection errors are OSErrors
        message = f"Vault at {vault.url} is unreachable: {type(error).__name__}"
        raise _vault_error("url", message) from None
    finally:
        client.adapter.close()


def _vault_error(setting: str, message: str) -> ConfigError:
    field = f"credentials.vault.{setting}"
    return ConfigError(f"{field}: {message}", field=field)


def _kv2_parts(secret: Any, vault: VaultSettings) -> tuple[dict[str, Any], dict[str, Any]]:
    body = secret.get("data") if isinstance(secret, dict) else None
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise _vault_error(
            "mount", f"{vault.mount}/{vault.path} did not answer as a KV version 2 secret"
        )
    metadata = body.get("metadata") if isinstance(body, dict) else None
    return data, metadata if isinstance(metadata, dict) else {}


def _vault_expiry(value: Any, vault: VaultSettings) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        return _aware(datetime.fromisoformat(str(value)))
    except ValueError:
        raise _vault_error(
            "path", f"expires_at in {vault.mount}/{vault.path} is not an ISO-8601 time"
        ) from None


def _aware(moment: datetime | None) -> datetime | None:
    """``moment`` with a time zone (UTC when it had none)."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _utcnow() -> datetime:
    return datetime.now(UTC)
