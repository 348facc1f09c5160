"""``keys create``: an API key for the HTTP service, limited to named accounts and actions.

The plaintext is printed once and stored nowhere; the keys file keeps only its hash. The
HTTP service (``meta_agent.interfaces.http``) is imported on first use, like ``serve``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from meta_agent.interfaces.cli_common import ConfigOpt, JsonOpt, err, fail, print_json
from meta_agent.interfaces.cli_ops import load_entry

keys_app = typer.Typer(help="API keys for the HTTP service.", no_args_is_help=True)


@keys_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Who the key is for, e.g. 'ambient-agent'.")],
    accounts: Annotated[
        str, typer.Option(help="Comma-separated ad accounts (act_...), or * for all.")
    ] = "*",
    actions: Annotated[
        str, typer.Option(help="Comma-separated actions (create_campaign, ...), or * for all.")
    ] = "*",
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
        plaintext, record = issue(path, name, _split(accounts), _split(actions))
    except Exception as error:
        fail(error, as_json=as_json)
    _show(plaintext, record, path, as_json=as_json)


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
        print_json({"key": plaintext, "id": record.id, "file": str(path), **_scope(record)})
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


def _scope(record: Any) -> dict[str, list[str]]:
    return {"accounts": list(record.accounts), "actions": list(record.actions)}
