"""``keys create|list|revoke``: API keys for the HTTP service and the MCP server.

A key is limited to named accounts and actions, and has a role: ``agent`` (acts),
``approver`` (also grants approvals for its accounts) or ``admin``.

The plaintext is printed once and stored nowhere; the keys file keeps only its hash. The
HTTP service (``meta_agent.interfaces.http``) is imported on first use, like ``serve``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from meta_agent.interfaces.cli_common import ConfigOpt, JsonOpt, err, fail, out, print_json
from meta_agent.interfaces.cli_ops import load_entry

keys_app = typer.Typer(
    help="API keys for the HTTP service and MCP over HTTP: create, list, revoke.",
    no_args_is_help=True,
)


@keys_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Who the key is for, e.g. 'ambient-agent'.")],
    accounts: Annotated[
        str, typer.Option(help="Comma-separated ad accounts (act_...), or * for all.")
    ] = "*",
    actions: Annotated[
        str, typer.Option(help="Comma-separated actions (create_campaign, ...), or * for all.")
    ] = "*",
    role: Annotated[
        str,
        typer.Option(help="agent (acts), approver (also grants approvals) or admin."),
    ] = "agent",
    keys_file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            help="The keys file (default: service.api_keys_file, else api-keys.json in the "
            "data directory).",
            dir_okay=False,
        ),
    ] = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Create an API key; its plaintext is shown once, only its hash is kept."""
    issue = load_entry("meta_agent.interfaces.http.auth", "issue_api_key", "the HTTP service")
    path = keys_file or _default_file(config, as_json=as_json)
    try:
        from meta_agent.principals import Role

        chosen = _role(role, Role, as_json=as_json)
        plaintext, record = issue(path, name, _split(accounts), _split(actions), chosen)
    except Exception as error:
        fail(error, as_json=as_json)
    _show(plaintext, record, path, as_json=as_json)


FileOpt = Annotated[
    Path | None,
    typer.Option("--file", help="The keys file (default: as for keys create).", dir_okay=False),
]


@keys_app.command("list")
def list_keys(
    keys_file: FileOpt = None, as_json: JsonOpt = False, config: ConfigOpt = None
) -> None:
    """The keys in the keys file: id, name, role, accounts, actions, revoked (never secrets)."""
    store = _store(keys_file or _default_file(config, as_json=as_json), as_json=as_json)
    records = store.keys()
    rows = [
        {"id": k.id, "name": k.name, "role": k.role.value, "revoked": k.revoked, **_scope(k)}
        for k in records
    ]
    if as_json:
        print_json(rows)
        return
    from meta_agent.interfaces.render import keys_table

    out.print(keys_table(rows))


@keys_app.command("revoke")
def revoke(
    key_id: Annotated[str, typer.Argument(metavar="ID", help="The key's id (keys list).")],
    keys_file: FileOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Revoke a key: it is refused from the next request on (services re-read the file)."""
    path = keys_file or _default_file(config, as_json=as_json)
    store = _store(path, as_json=as_json)
    records = store.keys()
    found = next((k for k in records if k.id == key_id), None)
    if found is None:
        from meta_agent.errors import RequestValidationError

        fail(
            RequestValidationError(f"ID: no key {key_id!r} in {path}", field="ID"), as_json=as_json
        )
    store.add(found.model_copy(update={"revoked": True}))
    store.save(path)
    if as_json:
        print_json({"id": key_id, "revoked": True})
    else:
        err.print(f"key {key_id} ({found.name}) revoked", markup=False)


def _store(path: Path, *, as_json: bool) -> Any:
    from meta_agent.interfaces.http.auth import ApiKeyStore

    try:
        return ApiKeyStore.load(path)
    except Exception as error:
        fail(error, as_json=as_json)


def _role(value: str, role_cls: Any, *, as_json: bool) -> Any:
    try:
        return role_cls(value)
    except ValueError:
        from meta_agent.errors import RequestValidationError

        fail(
            RequestValidationError(
                f"--role: {value!r} is not a role; use agent, approver or admin", field="--role"
            ),
            as_json=as_json,
        )


def _default_file(config: Path | None, *, as_json: bool) -> Path:
    from meta_agent.config import data_dir, load_settings

    try:
        configured = load_settings(config).service.api_keys_file
    except Exception as error:
        fail(error, as_json=as_json)
    return configured or data_dir() / "api-keys.json"


def _split(values: str) -> list[str]:
    return [part.strip() for part in values.split(",") if part.strip()]


def _show(plaintext: str, record: Any, path: Path, *, as_json: bool) -> None:
    if as_json:
        scope = {**_scope(record), "role": record.role.value}
        print_json({"key": plaintext, "id": record.id, "file": str(path), **scope})
        return
    typer.echo(plaintext)
    scope = _scope(record)
    err.print(
        f"key {record.id} for {record.name!r} in {path}: accounts "
        f"{', '.join(scope['accounts'])}; actions {', '.join(scope['actions'])}",
        markup=False,
    )
    err.print("Shown once: store it now. Point the service at the file with", markup=False)
    err.print(f"  META_AGENT_SERVICE__API_KEYS_FILE={path}", markup=False)


def _scope(record: Any) -> dict[str, Any]:
    return {"accounts": list(record.accounts), "actions": list(record.actions)}
