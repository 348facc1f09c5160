"""Who calls an MCP tool, and what they may do: the HTTP service's API keys, over MCP.

Over streamable HTTP every request carries ``Authorization: Bearer mak_...``, checked against
the same keys file as the HTTP service (:class:`ApiKeyStore`). The SDK's bearer middleware
calls :class:`ApiKeyVerifier` and answers 401 itself when the key is missing or wrong, so no
tool runs for an unknown caller; a known key reaches the tool as its
:class:`~meta_agent.principals.Principal` (:meth:`Access.principal`), whose actions and
accounts each tool checks before it calls the service (the orchestrator and the write gate
check again: these checks refuse early and name what is missing).

Without keys there are two callers: stdio's local operator (the person who started the
process), and, only when asked with ``--no-auth`` on loopback, :data:`ANONYMOUS`, an agent
that may use every account but can grant nothing.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import structlog
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken

from meta_agent.config import Settings, data_dir
from meta_agent.errors import AccessDeniedError, ConfigError, ConflictError
from meta_agent.interfaces.http.app import DEFAULT_KEYS_FILE, load_keys
from meta_agent.interfaces.http.auth import READ, ApiKeyStore
from meta_agent.interfaces.http.deps import owner
from meta_agent.orchestrator.workflows.bulk import item_account
from meta_agent.principals import LOCAL_OPERATOR, Principal, Role, normalize_account
from meta_agent.service import MetaAgentService
from meta_agent.store.journal import WorkflowRecord

log = structlog.get_logger("meta_agent.mcp")

_PRINCIPAL_CLAIM = "meta_agent_principal"

ANONYMOUS = Principal(id="mcp-anonymous", name="unauthenticated MCP client", role=Role.AGENT)
"""Who an unauthenticated HTTP caller acts as (``--no-auth``, loopback only): an agent, so
its activations wait for an approver like any key's, and it cannot approve them itself."""


class ApiKeyVerifier:
    """The SDK's ``TokenVerifier`` over our API keys: a bearer token is a ``mak_...`` key."""

    def __init__(self, keys: ApiKeyStore) -> None:
        self.keys = keys

    async def verify_token(self, token: str) -> AccessToken | None:
        """The key's access, its principal in the claims; None (so 401) for a bad key."""
        # PBKDF2 is deliberately slow: keep it off the event loop.
        key = await asyncio.to_thread(self.keys.authenticate, token)
        if key is None:
            return None
        principal = key.principal()
        return AccessToken(
            token=token,
            client_id=key.id,
            subject=key.id,
            scopes=sorted(principal.actions),
            claims={_PRINCIPAL_CLAIM: principal.journal_form()},
        )


@dataclass(frozen=True)
class Access:
    """How a server's callers are known: by API key, or as one fixed principal."""

    keys: ApiKeyStore | None
    """None: no authentication (stdio, or ``--no-auth`` on loopback)."""
    unauthenticated: Principal = LOCAL_OPERATOR
    """Who a caller without a key acts as, when there are no keys."""

    @classmethod
    def api_keys(cls, keys: ApiKeyStore) -> Access:
        """Every caller presents a key of ``keys``."""
        return cls(keys)

    @classmethod
    def local(cls) -> Access:
        """stdio: the caller is the local operator, who started this process."""
        return cls(None, LOCAL_OPERATOR)

    @classmethod
    def anonymous(cls) -> Access:
        """HTTP without authentication (``--no-auth``): every caller is :data:`ANONYMOUS`."""
        return cls(None, ANONYMOUS)

    def principal(self) -> Principal:
        """Who the running tool call acts for.

        Raises:
            AccessDeniedError: keys are required and this call carries none.
        """
        token = get_access_token()
        if token is not None and token.claims and _PRINCIPAL_CLAIM in token.claims:
            return Principal.model_validate(token.claims[_PRINCIPAL_CLAIM])
        if self.keys is not None:
            raise AccessDeniedError(
                "no API key: send 'Authorization: Bearer mak_...'", field="authorization"
            )
        return self.unauthenticated


# -- choosing it ---------------------------------------------------------------------------------


def access_for(
    settings: Settings, transport: Literal["stdio", "http"], host: str, *, auth: bool
) -> Access:
    """How callers are known: stdio's local operator, API keys, or (asked for) nobody.

    Raises:
        ConfigError: ``--no-auth`` beyond loopback, or HTTP without a keys file.
    """
    if transport == "stdio":
        return Access.local()
    if not auth:
        if not is_loopback(host):
            raise ConfigError(
                f"--no-auth: refusing to serve MCP without authentication on {host}, beyond "
                "loopback; drop --no-auth and configure service.api_keys_file",
                field="host",
            )
        log.warning("mcp.http.unauthenticated", host=host)
        return Access.anonymous()
    if settings.service.api_keys_file is None and not (data_dir() / DEFAULT_KEYS_FILE).exists():
        raise ConfigError(
            "service.api_keys_file: MCP over HTTP needs the HTTP service's API keys (create one "
            "with `meta-agent keys create`, or set META_AGENT_SERVICE__API_KEYS_FILE); on "
            "loopback only, --no-auth serves without them",
            field="service.api_keys_file",
        )
    return Access.api_keys(load_keys(settings))


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (``localhost``, 127.0.0.0/8, ``::1``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name we cannot vouch for


# -- scopes --------------------------------------------------------------------------------------


def require_action(principal: Principal, action: str) -> None:
    """Refuse a principal that may not perform ``action``.

    Raises:
        AccessDeniedError: naming the action.
    """
    if not principal.allows_action(action):
        raise AccessDeniedError(
            f"action: {principal.label} may not perform {action}; its actions are "
            f"{', '.join(sorted(principal.actions))}",
            field="action",
            principal=principal.id,
            action=action,
        )


def require_account(principal: Principal, account_id: object, field: str = "account_id") -> None:
    """Refuse a principal that may not act on ``account_id`` (normalised first).

    Raises:
        RequestValidationError: ``account_id`` is not an ad account id.
        AccessDeniedError: naming the account, or asking for one from a limited principal.
    """
    account = normalize_account(account_id, field=field)
    if principal.allows_account(account):
        return
    allowed = ", ".join(sorted(principal.accounts))
    if account is None:
        raise AccessDeniedError(
            f"{field}: {principal.label} is limited to ad accounts {allowed}; name the account",
            field=field,
            principal=principal.id,
        )
    raise AccessDeniedError(
        f"{field}: {principal.label} may not act on ad account {account}; its accounts are "
        f"{allowed}",
        field=field,
        principal=principal.id,
        account=account,
    )


def require_request(principal: Principal, action: str, account_id: str | None, data: Any) -> None:
    """Refuse a request (and, for a bulk, any of its items) outside the principal's scopes.

    Raises:
        AccessDeniedError: the first action or account not granted.
        RequestValidationError: an account id that is not one.
    """
    require_action(principal, action)
    if action != "bulk" or account_id is not None:  # a bulk's account is only a default
        require_account(principal, account_id)
    for index, item_action, item_data in _bulk_items(action, data):
        require_action(principal, item_action)
        account = item_account(account_id, item_data, index)
        require_account(principal, account, field=f"data.requests[{index}].account_id")


def _bulk_items(action: str, data: Any) -> Iterator[tuple[int, str, Mapping[str, Any]]]:
    items = data.get("requests") if action == "bulk" and isinstance(data, Mapping) else None
    for index, item in enumerate(items if isinstance(items, list) else []):
        # A malformed item is the orchestrator's to refuse, with its path, before any write.
        if isinstance(item, Mapping) and isinstance(item.get("action"), str):
            yield index, item["action"], item


async def require_object(principal: Principal, service: MetaAgentService, object_id: str) -> None:
    """Refuse a principal limited to accounts when ``object_id`` lies outside them.

    Raises:
        AccessDeniedError: naming the object's account.
        NotFoundError: Meta has no such object.
    """
    if not principal.all_accounts:
        require_account(principal, await owner(service, object_id), field="object_id")


def visible(principal: Principal, record: WorkflowRecord) -> bool:
    """Whether ``principal`` may see ``record``: its account, and ``read`` or its action."""
    return principal.allows_account(record.account_id) and (
        principal.allows_action(READ) or principal.allows_action(record.action)
    )


async def require_workflow(
    principal: Principal, service: MetaAgentService, workflow_id: str, action: str | None = None
) -> None:
    """Refuse a workflow the principal may not see (or, with ``action``, not act on).

    Another account's workflow is answered as unknown, never as forbidden.

    Raises:
        ConflictError: no such workflow that this principal may see.
        AccessDeniedError: ``action`` (``resume``, ``rollback``) is not granted.
    """
    record = await service.parts.store.get_workflow(workflow_id)
    if record is None or not principal.allows_account(record.account_id):
        raise ConflictError(f"workflow_id: no workflow {workflow_id!r}", field="workflow_id")
    if action is not None:
        require_action(principal, action)
    elif not visible(principal, record):
        require_action(principal, READ)
