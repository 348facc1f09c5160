"""Requests a person can read: ``schema ACTION`` and ``example ACTION``.

``schema`` prints the JSON Schema of an action's ``data``, the very one the MCP tool of that
action advertises (:func:`meta_agent.orchestrator.action_schema.data_schema`); ``example``
prints a complete request that ``meta-agent run --dry-run`` accepts as it is.
"""

from __future__ import annotations

from typing import Annotated, Literal

import typer

from meta_agent.interfaces.cli_common import fail, print_json

ActionArg = Annotated[
    str,
    typer.Argument(
        metavar="ACTION",
        help="create_full_campaign, create_campaign, update_campaign, update_creative, "
        "get_insights, performance_report, optimize_campaign or bulk.",
    ),
]
Kind = Literal["image", "video", "carousel"]


def schema(action: ActionArg) -> None:
    """The JSON Schema of ACTION's `data` (what its MCP tool gives a model as `data`).

    The writing actions' MCP tools advertise exactly this schema for their `data` argument;
    get_insights and performance_report take the same fields as the tool's own arguments.
    Money fields take an integer in the account currency's minor unit (5000 is 50.00 USD,
    1000 is 1000 JPY) or the amount as text, "50.00 USD".
    """
    from meta_agent.errors import RequestValidationError
    from meta_agent.orchestrator.action_schema import data_schema

    try:
        print_json(data_schema(action))
    except RequestValidationError as error:
        fail(error)


def example(
    action: ActionArg,
    kind: Annotated[
        Kind,
        typer.Option(help="The creative of create_full_campaign: image, video or carousel."),
    ] = "image",
    campaign_id: Annotated[
        str | None, typer.Option(help="The campaign an update, report or optimization names.")
    ] = None,
    adset_id: Annotated[
        str | None, typer.Option(help="The ad set update_campaign changes.")
    ] = None,
    ad_id: Annotated[str | None, typer.Option(help="The ad update_creative changes.")] = None,
) -> None:
    """A complete request for ACTION, ready for `meta-agent run FILE --dry-run`.

    It names the embedded sandbox's USD account (act_9876543210): change account_id, the
    Page and the ids (--campaign-id ...) for your own. Images are inline base64 (over HTTP
    `path` is refused: use `url` or `data`); the video example reads clip.mp4 beside you.
    Save it, then: meta-agent example create_full_campaign > req.json && meta-agent run
    req.json --dry-run.
    """
    from meta_agent.errors import RequestValidationError
    from meta_agent.interfaces.examples import Ids
    from meta_agent.interfaces.examples import example as build

    ids = Ids(
        **{
            name: value
            for name, value in (
                ("campaign_id", campaign_id),
                ("adset_id", adset_id),
                ("ad_id", ad_id),
            )
            if value is not None
        }
    )
    try:
        print_json(build(action, kind, ids))
    except ValueError as error:
        fail(RequestValidationError(f"ACTION: {error}", field="ACTION"))
