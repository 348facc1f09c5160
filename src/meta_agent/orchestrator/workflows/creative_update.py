"""``update_creative``: show another creative in an ad, undone whole if any part fails.

Creatives are immutable (reference §3.3), so changing what an ad shows means a new creative
and pointing the ad at it. ``data`` names the ad and either the new creative inline (its
images, if new, in ``images`` and named by ``image_ref``) or an existing ``creative_id``.

Steps: ``upload_assets`` (only with images) → ``create_creative`` (an adcreative, deleted on
rollback) → ``point_ad`` (the ad, journaled with its old creative *before* it is changed, so
a rollback points it back). If pointing the ad fails, the rollback deletes the new creative
and the ad still shows the old one.

A dry run uploads nothing and changes nothing: Meta validates the change of creative
(``validate_only``), with the new creative inline, unless it needs images of this request,
which exist only after an upload; then it is checked by our own rules alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from meta_agent.agents.assets import ImageAsset
from meta_agent.agents.creative_params import (
    AnyCreativeParams,
    CreativeParams,
    GraphId,
    exactly_one,
)
from meta_agent.agents.creatives import creative_spec
from meta_agent.agents.keys import workflow_key, workflow_prefix
from meta_agent.agents.validation import validate
from meta_agent.errors import InvalidParameterError, NotFoundError, RequestValidationError
from meta_agent.graph.models import Ad
from meta_agent.graph.services._base import act
from meta_agent.orchestrator.engine import Planned, StepRun, WorkflowContext
from meta_agent.orchestrator.env import Env
from meta_agent.orchestrator.plan_details import creative_summary
from meta_agent.orchestrator.requests import OrchestratorRequest

AD_FIELDS = ("id", "account_id", "status", "creative")


class CreativeUpdateData(BaseModel):
    """The ``data`` of ``update_creative``: the ad, and its new creative (inline or by id)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ad_id: GraphId
    creative: CreativeParams | None = None
    creative_id: GraphId | None = None
    images: list[ImageAsset] = Field(default_factory=list, max_length=10)

    @model_validator(mode="after")
    def _one_creative(self) -> Self:
        exactly_one(self, "creative", "creative_id")
        return self


@dataclass(frozen=True)
class Plan:
    """A validated request, the ad's account and the creative it shows now."""

    account_id: str
    ad_id: str
    old_creative_id: str | None
    data: CreativeUpdateData
    prefix: str

    def key(self, label: str) -> str:
        """The idempotency key of one item of this workflow."""
        return workflow_key(self.prefix, label)


async def prepare(request: OrchestratorRequest, env: Env) -> Plan:
    """Validate the data and its image references, and read the ad (reads only).

    Raises:
        RequestValidationError: a field is wrong, an ``image_ref`` names no image of the
            request, or the ad is unknown, deleted, of another account or already showing
            ``creative_id``.
    """
    data = validate(CreativeUpdateData, request.data, "data")
    check_references(data)
    ad = await _read_ad(env, data.ad_id)
    account_id = act(ad.account_id or "")
    if request.account_id is not None and request.account_id != account_id:
        raise _refused(
            "data.ad_id",
            f"ad {data.ad_id} belongs to {account_id}, not to account_id {request.account_id}",
        )
    old = ad.creative.id if ad.creative is not None else None
    if data.creative_id is not None and data.creative_id == old:
        raise _refused("data.creative_id", f"the ad already shows creative {old}; nothing to do")
    return Plan(
        account_id, data.ad_id, old, data, workflow_prefix(request.account_id, request.journal_id)
    )


def check_references(data: CreativeUpdateData) -> None:
    """Images serve an inline creative, which names them by ``image_ref``; videos by id.

    Raises:
        RequestValidationError: naming the reference and what it could have named.
    """
    names = [image.name for image in data.images if image.name]
    if data.creative is None:
        if data.images:
            raise _refused("data.images", "images serve an inline creative; remove them")
        return
    if len(set(names)) != len(names):
        raise _refused("data.images", "image names must be unique")
    if getattr(data.creative, "video_ref", None):
        raise _refused(
            "data.creative.video_ref", "upload the video first and give its video_id instead"
        )
    for field, ref in _image_refs(data.creative):
        if ref not in names:
            raise _refused(
                f"data.creative.{field}",
                f"{ref!r} names no image of this request; use one of {names}",
            )


async def _read_ad(env: Env, ad_id: str) -> Ad:
    try:
        ad = await env.graph.ads.get(ad_id, fields=AD_FIELDS)
    except (NotFoundError, InvalidParameterError) as error:
        raise _refused("data.ad_id", f"no ad {ad_id} on Meta ({error.message})") from None
    if ad.status == "DELETED":
        raise _refused("data.ad_id", f"ad {ad_id} is deleted and can't be changed")
    return ad


async def run(
    ctx: WorkflowContext, request: OrchestratorRequest, plan: Plan, env: Env
) -> dict[str, Any]:
    """Upload images, make the creative, point the ad at it (see the module docs)."""
    data = plan.data
    if request.options.dry_run:
        return await ctx.step("validate", lambda run: _validate(env, plan))
    media: dict[str, str] = {}
    if data.images:
        uploaded = await ctx.step(
            "upload_assets", lambda run: _upload(run, env, plan), agent="asset"
        )
        media = dict(uploaded["images"])
    new_id = data.creative_id
    if data.creative is not None:
        made = await ctx.step(
            "create_creative",
            lambda run: _create(run, env, plan, data.creative, media),
            planned=[Planned("adcreative", plan.key("creative"))],
            agent="ad_creation",
        )
        new_id = str(made["creative_id"])
    assert new_id is not None  # exactly one of creative and creative_id
    await ctx.step(
        "point_ad",
        lambda run: _point(run, env, plan, new_id),
        input={"ad_id": plan.ad_id, "creative_id": new_id, "before": plan.old_creative_id},
        agent="ad_creation",
    )
    return {
        "ad_id": plan.ad_id,
        "old_creative_id": plan.old_creative_id,
        "new_creative_id": new_id,
        "created_creative": data.creative is not None,
        "images": media,
    }


async def _upload(run: StepRun, env: Env, plan: Plan) -> dict[str, Any]:
    """The request's images (ones the account has are reused); kept on rollback."""
    images = plan.data.images
    uploaded = await env.assets.upload_images(plan.account_id, images)
    named = {}
    for asset, image in zip(images, uploaded, strict=True):
        await run.created("image", image.hash, undo="keep", details={"reused": image.reused})
        if asset.name:
            named[asset.name] = image.hash
    return {"images": named}


async def _create(
    run: StepRun,
    env: Env,
    plan: Plan,
    creative: AnyCreativeParams | None,
    media: Mapping[str, str],
) -> dict[str, Any]:
    """The new creative, or the one an interrupted try made (found by its key)."""
    key = plan.key("creative")
    if key in run.found:  # the engine journaled it when it found it
        return {"creative_id": run.found[key], "adopted": True}
    assert creative is not None  # this step runs only for an inline creative
    made = await env.creatives.create_creative(
        plan.account_id, creative, idempotency_key=key, assets=media
    )
    assert made.id is not None  # not validate_only
    await run.created("adcreative", made.id, details={"label": "creative"})
    return {"creative_id": made.id, "adopted": made.reconciled}


async def _point(run: StepRun, env: Env, plan: Plan, creative_id: str) -> dict[str, Any]:
    """Journal the creative to go back to, then point the ad at ``creative_id``."""
    if plan.old_creative_id is not None and not await _journaled(run, plan.ad_id):
        before = {"creative": {"creative_id": plan.old_creative_id}}
        await run.created("ad", plan.ad_id, undo="restore", details={"before": before})
    replaced = await env.creatives.replace_creative(
        plan.ad_id, creative_id, idempotency_key=plan.key("point_ad")
    )
    return {"ad_id": plan.ad_id, "creative_id": replaced.new_creative_id}


async def _journaled(run: StepRun, object_id: str) -> bool:
    """Whether an interrupted try journaled the ad already (with the creative it had then)."""
    resources = await run.ctx.store.resources(run.ctx.workflow_id)
    return any(resource.object_id == object_id for resource in resources)


async def _validate(env: Env, plan: Plan) -> dict[str, Any]:
    """Meta checks the ad with its new creative (inline, or by id); nothing is stored."""
    data = plan.data
    result: dict[str, Any] = {
        "dry_run": True,
        "ad_id": plan.ad_id,
        "old_creative_id": plan.old_creative_id,
        "creative_id": data.creative_id,
        "objects": _planned_objects(plan),
    }
    if data.creative is not None and data.images:
        return {**result, "validated_by_meta": False}  # its images exist only after an upload
    if data.creative is not None:
        change: dict[str, Any] = creative_spec(data.creative, plan.key("creative"))
    else:
        change = {"creative_id": data.creative_id}
    await env.graph.post(plan.ad_id, {"creative": change}, validate_only=True)
    return {**result, "validated_by_meta": True}


def _planned_objects(plan: Plan) -> list[dict[str, Any]]:
    """What the dry run shows: the new creative as it would be sent, and the ad's change."""
    data = plan.data
    ad = {"label": "ad", "kind": "ad", "name": f"ad {plan.ad_id}"}
    if data.creative is None:
        return [{**ad, "creative": data.creative_id, "replaces": plan.old_creative_id}]
    # The images are uploaded only when it runs: their names stand in for their hashes.
    pending = {
        image.name: f"{image.name} (uploaded when run)" for image in data.images if image.name
    }
    params = creative_spec(data.creative, plan.key("creative"), assets=pending)
    creative = {
        "label": "creative",
        "kind": "adcreative",
        "name": data.creative.name,
        **creative_summary(params),
    }
    return [creative, {**ad, "creative": data.creative.name, "replaces": plan.old_creative_id}]


def _image_refs(creative: AnyCreativeParams) -> list[tuple[str, str]]:
    """``(field, name)`` of every image the creative names by ``image_ref``."""
    refs = [(field, getattr(creative, field, None)) for field in ("image_ref", "thumbnail_ref")]
    refs += [
        (f"cards[{index}].image_ref", card.image_ref)
        for index, card in enumerate(getattr(creative, "cards", []))
    ]
    return [(field, ref) for field, ref in refs if ref]


def _refused(field: str, fix: str) -> RequestValidationError:
    return RequestValidationError(f"{field}: {fix}", field=field)
