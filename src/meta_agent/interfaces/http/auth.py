"""API keys for the HTTP service: stored hashed, each limited to ad accounts and actions.

A key reads ``mak_<id>_<secret>``: the id finds the record, the secret is checked against
the record's salted PBKDF2-SHA256 hash with :func:`hmac.compare_digest`. The plaintext is
shown once, by :func:`new_api_key`, and never stored or logged. The secret is 32 random
bytes, so guessing it is hopeless whatever the hash; the salt and the (recorded, raisable)
iteration count guard the file should it leak, while keeping each request's check cheap.

Keys live in a JSON or YAML file (``service.api_keys_file``)::

    {"keys": [{"id": "k1a2b3", "name": "ambient-agent", "hash": "pbkdf2_sha256$...",
               "accounts": ["act_1234567890"], "actions": ["create_full_campaign", "read"]}]}

``accounts`` and ``actions`` are lists of names, or ``["*"]`` for all; ``role`` is ``agent``
(the default), ``approver`` (may also grant approvals for its accounts) or ``admin``. A key
resolves to a :class:`~meta_agent.principals.Principal` (:meth:`ApiKey.principal`), which is
what the write gate checks. Besides the
orchestrator's actions (``create_full_campaign``, ``get_insights``, ...), three name the
journal's operations: ``read`` (request status, workflow list and journal), ``resume`` and
``rollback``. A key may also read a workflow of an action it is allowed to run.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Iterable
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from meta_agent.errors import ConfigError
from meta_agent.principals import Principal, Role, normalize_accounts

PREFIX = "mak"
ALL = "*"
READ = "read"
RESUME = "resume"
ROLLBACK = "rollback"
ITERATIONS = 10_000
_SCHEME = "pbkdf2_sha256"


class ApiKey(BaseModel):
    """One API key as stored: its hash, never its plaintext."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9]{4,32}$")
    name: str = Field(min_length=1, max_length=200)
    hash: str = Field(description="pbkdf2_sha256$<iterations>$<salt hex>$<digest hex>")
    accounts: list[str] = Field(default_factory=lambda: [ALL])
    actions: list[str] = Field(default_factory=lambda: [ALL])
    role: Role = Role.AGENT
    revoked: bool = False

    def principal(self) -> Principal:
        """The principal this key acts as (accounts normalised to ``act_<digits>``)."""
        return Principal(
            id=self.id,
            name=self.name,
            role=self.role,
            accounts=normalize_accounts(self.accounts),
            actions=frozenset(self.actions),
        )

    def allows_account(self, account_id: str | None) -> bool:
        """Whether this key may act on ``account_id`` (None: only an all-accounts key)."""
        return self.principal().allows_account(account_id)

    def allows_action(self, action: str) -> bool:
        """Whether this key may perform ``action``."""
        return self.principal().allows_action(action)

    @property
    def all_accounts(self) -> bool:
        """True for a key that is not limited to named accounts."""
        return ALL in self.accounts


class KeyFile(BaseModel):
    """The shape of the keys file."""

    model_config = ConfigDict(extra="forbid")

    keys: list[ApiKey] = Field(default_factory=list)


def hash_secret(secret: str, *, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    """The stored form of ``secret``: salted PBKDF2-SHA256 with its parameters."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", secret.encode(), salt, iterations)
    return f"{_SCHEME}${iterations}${salt.hex()}${digest.hex()}"


def verify_secret(secret: str, stored: str) -> bool:
    """Whether ``secret`` matches ``stored`` (constant-time comparison of the digests)."""
    try:
        scheme, iterations, salt, digest = stored.split("$")
        if scheme != _SCHEME:
            return False
        again = hashlib.pbkdf2_hmac("sha256", secret.encode(), bytes.fromhex(salt), int(iterations))
    except ValueError:
        return False
    return hmac.compare_digest(again.hex(), digest)


def new_api_key(
    name: str,
    accounts: Iterable[str] = (ALL,),
    actions: Iterable[str] = (ALL,),
    role: Role = Role.AGENT,
) -> tuple[str, ApiKey]:
    """A fresh key: ``(plaintext, record)``. Show the plaintext once; store only the record."""
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    record = ApiKey(
        id=key_id,
        name=name,
        hash=hash_secret(secret),
        accounts=list(accounts) or [ALL],
        actions=list(actions) or [ALL],
        role=role,
    )
    return f"{PREFIX}_{key_id}_{secret}", record


def split_key(plaintext: str) -> tuple[str, str] | None:
    """``(id, secret)`` of a key in the ``mak_<id>_<secret>`` form, else None."""
    prefix, _, rest = plaintext.partition("_")
    key_id, _, secret = rest.partition("_")
    if prefix != PREFIX or not key_id or not secret:
        return None
    return key_id, secret


class ApiKeyStore:
    """The keys the service accepts, by id."""

    def __init__(self, keys: Iterable[ApiKey] = ()) -> None:
        self._keys = {key.id: key for key in keys}

    def __len__(self) -> int:
        return len(self._keys)

    def keys(self) -> list[ApiKey]:
        """Every stored key (hashes only)."""
        return list(self._keys.values())

    def add(self, key: ApiKey) -> None:
        """Accept ``key`` (replacing one with the same id)."""
        self._keys[key.id] = key

    def authenticate(self, plaintext: str) -> ApiKey | None:
        """The key ``plaintext`` is, or None when it is unknown or wrong."""
        parts = split_key(plaintext.strip())
        if parts is None:
            return None
        record = self._keys.get(parts[0])
        if record is None or record.revoked or not verify_secret(parts[1], record.hash):
            return None
        return record

    @classmethod
    def load(cls, path: Path) -> ApiKeyStore:
        """The keys in ``path`` (JSON, or YAML for ``.yaml``/``.yml``).

        Raises:
            ConfigError: the file is missing or malformed (named).
        """
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(
                f"service.api_keys_file: {path} does not exist", field="service.api_keys_file"
            ) from None
        try:
            loaded = _parse(path, text)
            return cls(KeyFile.model_validate(loaded).keys)
        except (ValueError, yaml.YAMLError, ValidationError) as error:
            raise ConfigError(
                f"service.api_keys_file: {path} is not a valid keys file: {error}",
                field="service.api_keys_file",
            ) from None

    def save(self, path: Path) -> None:
        """Write the keys to ``path`` (JSON or YAML by suffix), readable by the owner only."""
        data = KeyFile(keys=self.keys()).model_dump(mode="json")
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix in {".yaml", ".yml"}:
            text = yaml.safe_dump(data, sort_keys=False)
        else:
            text = json.dumps(data, indent=2) + "\n"
        path.touch(mode=0o600, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def _parse(path: Path, text: str) -> object:
    if path.suffix in {".yaml", ".yml"}:
        return yaml.safe_load(text) or {}
    return json.loads(text)


def issue_api_key(
    path: Path,
    name: str,
    accounts: Iterable[str] = (ALL,),
    actions: Iterable[str] = (ALL,),
    role: Role = Role.AGENT,
) -> tuple[str, ApiKey]:
    """Create a key and add it to the keys file at ``path`` (created if missing).

    Returns ``(plaintext, record)``: show the plaintext once, it is stored nowhere.

    Raises:
        ConfigError: the existing file is malformed.
    """
    store = ApiKeyStore.load(path) if path.exists() else ApiKeyStore()
    plaintext, record = new_api_key(name, accounts, actions, role)
    store.add(record)
    store.save(path)
    return plaintext, record
