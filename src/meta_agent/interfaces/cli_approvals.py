"""``approvals list|show|approve|reject``: the writes a policy held, and their decision.

At the CLI you act as the local operator, or, with ``--key`` (or ``META_AGENT_API_KEY``), as
the principal of an API key from the keys file: an approver who must not be the requester
proves who they are with their own key. The workflow a grant releases carries on right here
and its outcome is printed as ``run`` prints one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from meta_agent.interfaces.cli_common import (
    ConfigOpt,
    JsonOpt,
    finish_response,
    open_service,
    out,
    print_json,
    run_async,
)
from meta_agent.principals import LOCAL_OPERATOR, Principal
from meta_agent.store.journal import ApprovalStatus

approvals_app = typer.Typer(
    help="Approvals: list, show, grant or reject the writes a policy held.", no_args_is_help=True
)
ApprovalId = Annotated[str, typer.Argument(metavar="ID", help="The approval's id.")]
KeyOpt = Annotated[
    str | None,
    typer.Option(
        "--key",
        envvar="META_AGENT_API_KEY",
        help="Act as this API key's principal (default: the local operator).",
        show_default=False,
    ),
]
NoteOpt = Annotated[str | None, typer.Option("--note", help="Why; kept with the decision.")]


@approvals_app.command("list")
def approvals_list(
    status: Annotated[
        ApprovalStatus | None, typer.Option("--status", help="Only approvals in this state.")
    ] = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Approvals of your accounts, newest first (expired ones are marked EXPIRED)."""

    async def work() -> list[dict[str, Any]]:
        async with open_service(config, announce=False) as service:
            principal = _principal(service.settings, key)
            return await service.approvals(principal, status=status)

    rows = run_async(work, as_json=as_json)
    if as_json:
        print_json(rows)
        return
    from meta_agent.interfaces.render import approvals_table

    out.print(approvals_table(rows))


@approvals_app.command("show")
def approvals_show(
    approval_id: ApprovalId, key: KeyOpt = None, as_json: JsonOpt = False, config: ConfigOpt = None
) -> None:
    """One approval with the exact writes it holds."""

    async def work() -> dict[str, Any]:
        async with open_service(config, announce=False) as service:
            return await service.approval(approval_id, _principal(service.settings, key))

    detail = run_async(work, as_json=as_json)
    if as_json:
        print_json(detail)
        return
    from meta_agent.interfaces.render import approval_view

    out.print(approval_view(detail))


@approvals_app.command("approve")
def approvals_approve(
    approval_id: ApprovalId,
    note: NoteOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Grant the held writes; the workflow carries on and its outcome is printed."""
    _decide(approval_id, "approve", note, key, as_json=as_json, config=config)


@approvals_app.command("reject")
def approvals_reject(
    approval_id: ApprovalId,
    note: NoteOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Reject the held writes; the workflow ends, rolled back unless it asked otherwise."""
    _decide(approval_id, "reject", note, key, as_json=as_json, config=config)


def _decide(
    approval_id: str,
    verb: str,
    note: str | None,
    key: str | None,
    *,
    as_json: bool,
    config: Path | None,
) -> None:
    async def work() -> Any:
        async with open_service(config) as service:
            principal = _principal(service.settings, key)
            decide = service.approve if verb == "approve" else service.reject
            return await decide(approval_id, principal, note)

    response = run_async(work, as_json=as_json)
    succeeded = response.status == "COMPLETED" or (
        verb == "reject" and response.status in ("ROLLED_BACK", "FAILED")
    )
    finish_response(response, as_json=as_json, succeeded=succeeded)


def _principal(settings: Any, plaintext: str | None) -> Principal:
    """The local operator, or the principal of the API key given.

    Raises:
        AccessDeniedError: the key is not in the keys file, or is wrong or revoked.
    """
    if not plaintext:
        return LOCAL_OPERATOR
    from meta_agent.config import data_dir
    from meta_agent.errors import AccessDeniedError
    from meta_agent.interfaces.http.auth import ApiKeyStore

    path = settings.service.api_keys_file or data_dir() / "api-keys.json"
    found = ApiKeyStore.load(Path(path)).authenticate(plaintext)
    if found is None:
        raise AccessDeniedError("--key: not a valid API key of this service (unknown or revoked)")
    return found.principal()
