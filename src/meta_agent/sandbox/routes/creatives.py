"""Ad creatives: ``/act_{id}/adcreatives`` and ``/{creative_id}`` (reference §3.3, §5.8).

A creative is immutable once made: only its name, status and labels change. To change what
an ad shows, make a new creative and point the ad at it (``POST /{ad_id}
creative={"creative_id": ...}``). ``build_creative`` is shared with the ads family, which
accepts a whole creative spec inline when an ad is created.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from meta_agent.sandbox.core import Ctx
from meta_agent.sandbox.errors import GraphError, invalid_param
from meta_agent.sandbox.filtering import edge_filters
from meta_agent.sandbox.nodes import Edge, NodeType, Record, Registry, compact
from meta_agent.sandbox.params import COMMON_PARAMS, Params, check_enum, check_known
from meta_agent.sandbox.routes.common import (
    account_of,
    created,
    deleted,
    filtered_page,
    guard_editable,
    updated,
)
from meta_agent.sandbox.routes.labels import given_labels
from meta_agent.sandbox.rules import creative as rules

NAME_MAX = 100
STATUSES = ("ACTIVE", "IN_PROCESS", "WITH_ISSUES", "DELETED")
# The SDK's create_ad_creative parameters; those the sandbox does not model are accepted as-is.
CREATE_PARAMS = frozenset(
    """actor_id ad_disclaimer_spec adlabels applink_treatment asset_feed_spec
    authorization_category body branded_content branded_content_sponsor_page_id bundle_folder_id
    call_to_action categorization_criteria category_media_source contextual_multi_ads
    creative_sourcing_spec degrees_of_freedom_spec destination_set_id destination_spec
    dynamic_ad_voice enable_launch_instant_app existing_post_title facebook_branded_content
    format_transformation_spec generative_asset_spec image_crops image_file image_hash image_url
    instagram_branded_content instagram_permalink_url instagram_user_id
    interactive_components_spec is_dco_internal link_og_id link_url
    marketing_message_structured_spec media_optimization_spec media_sourcing_spec name object_id
    object_story_id object_story_spec object_type object_url omnichannel_link_spec
    page_welcome_message place_page_set_id platform_customizations playable_asset_id
    portrait_customizations product_set_id product_suggestion_settings recommender_settings
    regional_regulation_disclaimer_spec source_facebook_post_id source_instagram_media_id
    template_url template_url_spec thumbnail_url title url_tags use_page_actor_override
    wamo_whatsapp_identity_spec""".split()  # noqa: SIM905 (the SDK's list, kept as a block)
)
UPDATE_PARAMS = frozenset({"name", "status", "adlabels", "account_id"})
FIELDS = CREATE_PARAMS | {
    "id",
    "account_id",
    "status",
    "call_to_action_type",
    "effective_authorization_category",
    "effective_instagram_media_id",
    "effective_object_story_id",
    "thumbnail_id",
    "video_id",
    "product_data",
    "link_destination_display_url",
}
# Derived from the spec at creation, kept on the record so reads need no re-parsing.
_FACTS = ("object_type", "image_hash", "image_url", "video_id", "title", "body")


def register(registry: Registry) -> None:
    """Register the creative node and the account's ``adcreatives`` edge."""
    registry.node(
        NodeType(
            "adcreative",
            "AdCreative",
            FIELDS,
            render,
            ("id",),
            update=_update,
            delete=deleted,
        )
    )
    registry.add_edge("adaccount", "adcreatives", Edge(get=_list, post=_create))


def render(ctx: Ctx, record: Record) -> dict[str, Any]:
    """A creative with every readable field Meta would send for it."""
    story_id = record.get("object_story_id")
    return compact(
        {
            **{key: record.get(key) for key in _FACTS},
            "id": record["id"],
            "account_id": record["account_id"],
            "name": record["name"],
            "status": record["status"],
            "object_story_spec": record.get("object_story_spec"),
            "object_story_id": story_id,
            "effective_object_story_id": story_id or f"{record['page_id']}_{record['id']}",
            "actor_id": record["page_id"],
            "asset_feed_spec": record.get("asset_feed_spec"),
            "url_tags": record.get("url_tags"),
            "degrees_of_freedom_spec": record.get("degrees_of_freedom_spec"),
            "authorization_category": record.get("authorization_category"),
            "effective_authorization_category": record.get("authorization_category") or "NONE",
            "instagram_user_id": record.get("instagram_user_id"),
            "link_url": record.get("link_url"),
            "call_to_action_type": record.get("call_to_action_type"),
            "thumbnail_url": _thumbnail_url(ctx, record),
            "adlabels": record.get("adlabels"),
            "applink_treatment": record.get("applink_treatment"),
            "interactive_components_spec": record.get("interactive_components_spec"),
        }
    )


def _thumbnail_url(ctx: Ctx, record: Record) -> str:
    image = ctx.state.find(f"{record['account_id']}:{record.get('image_hash')}")
    if image is not None and image.get("url"):
        return str(image["url"])
    if record.get("image_url"):
        return str(record["image_url"])
    # Meta serves thumbnails from its CDN; the sandbox names one it will never fetch.
    return f"https://scontent.sandbox.invalid/creative/{record['id']}/thumbnail.png"


def _list(ctx: Ctx, account: Record) -> Any:
    records = ctx.state.of_kind("adcreative", account_id=account["account_id"])
    live = [r for r in records if r.get("status") != "DELETED"]
    return filtered_page(ctx, live, edge_filters(ctx.params, "adcreative"))


def _create(ctx: Ctx, account: Record) -> Any:
    account = account_of(ctx, account["id"])
    record = build_creative(ctx, account, ctx.params)
    return created(ctx, record | given_labels(ctx, account["account_id"]))


def build_creative(ctx: Ctx, account: Record, params: Params) -> Record:
    """Validate a creative spec (a request's parameters, or an ad's inline ``creative``).

    Returns the record to store; storing is the caller's business (``validate_only``).

    Raises:
        GraphError: the first rule of §3.3/§5.8 the spec breaks.
    """
    if "instagram_actor_id" in params:
        rules.refuse_instagram_actor_id(("instagram_actor_id",), ctx.req.version)
    check_known(params, CREATE_PARAMS, "AdCreative")
    account_id = str(account["account_id"])
    media = rules.MediaLookup(ctx.state, account_id, ctx.now())
    survey = rules.is_survey(params.json_("interactive_components_spec"))
    if survey:
        rules.refuse_survey(("interactive_components_spec",), ctx.req.version, _today(ctx))
    facts, page_id = _content(ctx, params, media)
    now = ctx.now()
    record: Record = {
        "kind": "adcreative",
        "id": ctx.sb.new_id(),
        "account_id": account_id,
        "name": params.str_("name", max_len=NAME_MAX) or _default_name(ctx),
        "status": "ACTIVE",
        "page_id": page_id,
        "created_time": now,
        "updated_time": now,
        **_options(ctx, params, media),
        **{key: getattr(facts, key) for key in _FACTS},
        "link_url": facts.link,
        "call_to_action_type": facts.call_to_action_type,
        "is_survey": survey or None,  # internal: ads check it when they switch to a creative
    }
    record["instagram_user_id"] = _instagram_user(ctx, params, page_id)
    return compact(record)


def _instagram_user(ctx: Ctx, params: Params, page_id: str) -> str | None:
    """The Instagram account the ad also runs as: top-level, or inside the story spec."""
    if "instagram_user_id" in params:
        page_record = ctx.state.get(page_id)
        value = params.get_raw("instagram_user_id")
        return rules.check_instagram_user(page_record, value, ("instagram_user_id",))
    spec = params.json_("object_story_spec")
    return str(spec["instagram_user_id"]) if spec and spec.get("instagram_user_id") else None


def _content(ctx: Ctx, params: Params, media: rules.MediaLookup) -> tuple[rules.StoryFacts, str]:
    """What the ad shows: a story spec, an existing post, or dynamic assets (with a Page)."""
    spec = params.json_("object_story_spec")
    story_id = params.str_("object_story_id")
    if spec is not None and story_id is not None:
        raise invalid_param(
            "Only one of object_story_spec and object_story_id can be set",
            blame="object_story_id",
            title="Conflicting creative content",
            user_msg="Either describe a new post (object_story_spec) or reuse one (object_story_id).",
        )
    if story_id is not None:
        return rules.StoryFacts(), rules.check_object_story_id(ctx.state, story_id).split("_")[0]
    if spec is None:
        raise invalid_param(
            "The parameter object_story_spec is required (or object_story_id, or asset_feed_spec "
            "with object_story_spec)",
            blame="object_story_spec",
            title="Missing creative content",
            user_msg="Describe the ad in object_story_spec (with page_id and link_data, video_data "
            "or photo_data), or reuse a post with object_story_id.",
        )
    checker = rules.StoryChecker(ctx.state, media, ctx.req.version)
    needs_story = "asset_feed_spec" not in params
    return checker.check(spec, ("object_story_spec",), needs_story=needs_story)


def _today(ctx: Ctx) -> date:
    return ctx.sb.today().date()


def _options(ctx: Ctx, params: Params, media: rules.MediaLookup) -> dict[str, Any]:
    """The optional parts of a creative, each checked against its rule."""
    out: dict[str, Any] = {
        "object_story_spec": params.json_("object_story_spec"),
        "object_story_id": params.str_("object_story_id"),
        "url_tags": params.str_("url_tags", max_len=rules.MAX_URL_LENGTH),
        "adlabels": params.list_("adlabels"),
        "applink_treatment": rules.check_applink_treatment(params.str_("applink_treatment")),
        "interactive_components_spec": params.json_("interactive_components_spec"),
    }
    if "asset_feed_spec" in params:
        out["asset_feed_spec"] = rules.check_asset_feed_spec(media, params.json_("asset_feed_spec"))
    if "degrees_of_freedom_spec" in params:
        dof = params.json_("degrees_of_freedom_spec")
        out["degrees_of_freedom_spec"] = rules.check_degrees_of_freedom(dof, _today(ctx))
    category = params.str_("authorization_category")
    rules.check_authorization_category(category)
    out["authorization_category"] = category
    return out


def _default_name(ctx: Ctx) -> str:
    # Meta names unnamed creatives after their creation moment.
    return "Creative " + ctx.sb.today().strftime("%Y-%m-%d %H:%M:%S")


def _update(ctx: Ctx, record: Record) -> Any:
    for name in ctx.params.names():
        if name not in UPDATE_PARAMS and name not in COMMON_PARAMS:
            raise _immutable(record["id"], name)
    guard_editable(ctx, record, set())
    changes: dict[str, Any] = {}
    if "name" in ctx.params:
        changes["name"] = ctx.params.require_str("name", max_len=NAME_MAX)
    status = ctx.params.str_("status")
    if status is not None:
        check_enum("status", status, STATUSES)
        changes["status"] = status
    account_id = ctx.params.str_("account_id")
    if account_id is not None and account_id.removeprefix("act_") != record["account_id"]:
        raise _immutable(record["id"], "account_id")
    changes.update(given_labels(ctx, record["account_id"]))
    return updated(ctx, record, changes)


def _immutable(creative_id: str, name: str) -> GraphError:
    return invalid_param(
        f"Ad creative {creative_id} can't be edited: only name, status and adlabels can be "
        f"changed, not {name}",
        blame=name,
        title="Ad creatives can't be edited",
        user_msg="Create a new creative with the change, then point the ad at it with "
        'POST /{ad_id} creative={"creative_id": "<new id>"}.',
    )
