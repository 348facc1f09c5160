"""``create_full_campaign``: assets, campaign, ad sets, creatives and ads, or nothing at all.

Critical path, in round trips: the reads (the account's currency, for budget floors and
policy; targeting search; which images the account already has), all at once and cached
(the account for a day, targeting for a week, image hashes until the image is deleted) →
the whole structure with its new images attached, in one batch, or for a launch past 50
objects in two waves of concurrent batches (:mod:`~.launch`) → (when asked) one batch
activating it. A second launch on the same account with known targeting and images needs no
read: one round trip. Every object is created PAUSED; activation comes last, once
everything exists, so no money is spent on a half-built campaign.

A dry run stops before the launch: the campaign and every creative are checked by Meta
(``validate_only``); the ad sets and ads, which need ids that do not exist yet, are
checked by our own rules (objectives, goals, billing, budgets, schedule, targeting).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from meta_agent.agents.assets import CheckedImages, ImageAsset, VideoAsset
from meta_agent.agents.budgets import check_minimums
from meta_agent.agents.campaigns import adset_spec, campaign_spec
from meta_agent.agents.creative_params import AdParams, AnyCreativeParams
from meta_agent.agents.creatives import ad_spec, creative_spec
from meta_agent.agents.keys import workflow_key, workflow_prefix
from meta_agent.agents.params import AdSetParams, CampaignParams, check_budget_level
from meta_agent.agents.validation import validate
from meta_agent.concurrency import gather3
from meta_agent.errors import MetaAgentError, RequestValidationError
from meta_agent.gate.policy import PolicyCheck
from meta_agent.graph.models import TargetingSpec
from meta_agent.orchestrator import events as ev
from meta_agent.orchestrator.engine import StepRun, WorkflowContext
from meta_agent.orchestrator.env import Env
from meta_agent.orchestrator.plan_details import describe_launch
from meta_agent.orchestrator.requests import OrchestratorRequest
from meta_agent.orchestrator.settle import settle
from meta_agent.orchestrator.workflows.launch import (
    IMAGE,
    WAVE_CONCURRENCY,
    LaunchItem,
    image_item,
    launch,
    planned,
)

# One launch: its ad sets travel with their campaign in one batch (so at most 49), its ads in
# the second wave's batches (sent together: the round trips do not grow with them).
MAX_ADSETS = 49
MAX_ADS = 1000


class FullCampaignData(BaseModel):
    """The ``data`` of ``create_full_campaign``.

    Ads name their ad set by its ``name`` (``adset_ref``) and carry their creative inline
    (``creative``) or name an existing one (``creative_id``); creatives name uploaded
    images by their asset ``name`` (``image_ref``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    images: list[ImageAsset] = Field(default_factory=list)
    videos: list[VideoAsset] = Field(default_factory=list)
    campaign: CampaignParams
    adsets: list[AdSetParams] = Field(min_length=1, max_length=MAX_ADSETS)
    ads: list[AdParams] = Field(min_length=1, max_length=MAX_ADS)


@dataclass(frozen=True)
class Plan:
    """A validated request: the data, the account's currency, and each item's key."""

    account_id: str
    currency: str
    data: FullCampaignData
    prefix: str
    targeting: list[dict[str, Any]]
    images: CheckedImages | None

    def key(self, label: str) -> str:
        """The idempotency key of one item of this workflow."""
        return workflow_key(self.prefix, label)


async def prepare(request: OrchestratorRequest, env: Env) -> Plan:
    """Validate everything that can be checked before a write, the policy included.

    Raises:
        RequestValidationError: a field is wrong (``field`` is its ``data....`` path).
        PolicyViolationError: the account's policy refuses a budget, objective or activation.
    """
    account_id = request.require_account()
    data = validate(FullCampaignData, request.data, "data")
    check_references(data)
    # Reads only, all at once: the account (for policy and floors), targeting names,
    # and the images (checked, hashed, and looked up on the account).
    currency, targeting, images = await gather3(
        check_structure(request, env, data.campaign, data.adsets),
        resolve_targeting(env, account_id, data.adsets),
        _check_images(env, account_id, data),
    )
    prefix = workflow_prefix(request.account_id, request.journal_id)
    return Plan(account_id, currency, data, prefix, targeting["adsets"], images)


async def _check_images(env: Env, account_id: str, data: FullCampaignData) -> CheckedImages | None:
    if not data.images:
        return None
    return await env.assets.check_images(account_id, data.images, at="data.images")


async def check_structure(
    request: OrchestratorRequest,
    env: Env,
    campaign: CampaignParams,
    adsets: Sequence[AdSetParams],
) -> str:
    """Budget level, the account's policy and Meta's floors; returns the account currency.

    Raises:
        RequestValidationError: a budget on both levels or neither, or below the floor.
        PolicyViolationError: the account's policy refuses the request.
    """
    try:
        check_budget_level(campaign, adsets)
    except RequestValidationError as error:
        raise _under_data(error) from None
    account_id = request.require_account()
    account = await env.account(account_id)
    policy = PolicyCheck(env.policies.for_account(account_id, account.currency), account.currency)
    check_policy(request, campaign, adsets, policy)
    check_floors(campaign, adsets, account.currency)
    return account.currency


def check_references(data: FullCampaignData) -> None:
    """Every ``adset_ref`` names an ad set, every ``image_ref`` an image, names are unique.

    Raises:
        RequestValidationError: naming the reference and what it could have named.
    """
    adsets = [adset.name for adset in data.adsets]
    _unique(adsets, "data.adsets", "name")
    images = [image.name for image in data.images]
    _unique([n for n in images if n], "data.images", "name")
    for index, ad in enumerate(data.ads):
        at = f"data.ads[{index}]"
        if ad.adset_ref is None or ad.adset_ref not in adsets:
            raise RequestValidationError(
                f"{at}.adset_ref: names no ad set of this request; use one of {adsets}",
                field=f"{at}.adset_ref",
            )
        if ad.creative_ref is not None:
            raise RequestValidationError(
                f"{at}.creative_ref: give the creative inline (creative) or an existing "
                "creative_id",
                field=f"{at}.creative_ref",
            )
        if ad.creative is not None:
            for ref in _image_refs(ad.creative):
                if ref not in images:
                    raise RequestValidationError(
                        f"{at}.creative: image_ref {ref!r} names no image of this request; "
                        f"use one of {[n for n in images if n]}",
                        field=f"{at}.creative.image_ref",
                    )


def check_policy(
    request: OrchestratorRequest,
    campaign: CampaignParams,
    adsets: Sequence[AdSetParams],
    check: PolicyCheck,
) -> None:
    """The account's policy, before any write.

    Raises:
        PolicyViolationError: naming the limit and by how much the request is over it.
    """
    check.objective("data.campaign.objective", campaign.objective)
    check.special_categories("data.campaign.special_ad_categories", campaign.categories)
    check.budget("data.campaign.daily_budget", campaign.daily_budget)
    check.budget("data.campaign.lifetime_budget", campaign.lifetime_budget, lifetime=True)
    for index, adset in enumerate(adsets):
        check.budget(f"data.adsets[{index}].daily_budget", adset.daily_budget)
        check.budget(f"data.adsets[{index}].lifetime_budget", adset.lifetime_budget, lifetime=True)


def check_floors(campaign: CampaignParams, adsets: Sequence[AdSetParams], currency: str) -> None:
    """Meta's minimum budgets for the account currency.

    Raises:
        RequestValidationError: a budget below the floor (the floor said in major units).
    """
    check_minimums(campaign, currency, adsets=adsets, at="data.campaign")
    for index, adset in enumerate(adsets):
        check_minimums(adset, currency, at=f"data.adsets[{index}]")


async def run(
    ctx: WorkflowContext, request: OrchestratorRequest, plan: Plan, env: Env
) -> dict[str, Any]:
    """The workflow itself (see the module docs)."""
    images = image_hashes(plan)
    videos: dict[str, str] = {}
    if plan.data.videos:
        videos = (
            await ctx.step("upload_videos", lambda run: _videos(run, plan, env), agent="asset")
        )["videos"]
    assets = {"images": images, "videos": videos}
    items = launch_items(plan, plan.targeting, images | videos)
    if request.options.dry_run:
        view = await describe_launch(
            items, env, plan.account_id, plan.currency, activate=request.options.activate
        )
        validated = await ctx.step("validate", lambda run: _validate(plan, env, items))
        return {**validated, **view}
    created = await ctx.step(
        "launch",
        lambda run: _launch(run, plan, env, items),
        input={"items": [item.label for item in items], "images": images},
        planned=planned(items),
        agent="campaign",
    )
    ids: dict[str, str] = created["ids"]
    await ctx.emit(ev.CAMPAIGN_CREATED, campaign_id=ids["campaign"], account_id=plan.account_id)
    if request.options.activate:
        await ctx.step("activate", lambda run: activate_all(env, ids, run), agent="campaign")
    return _result(plan, ids, assets, active=request.options.activate)


def image_hashes(plan: Plan) -> dict[str, str]:
    """``{asset name: hash}`` of the request's images, known before any is sent (the MD5)."""
    if plan.images is None:
        return {}
    pairs = zip(plan.data.images, plan.images.hashes(), strict=True)
    return {asset.name: digest for asset, digest in pairs if asset.name}


def launch_items(
    plan: Plan, targeting: list[dict[str, Any]], media: Mapping[str, str]
) -> list[LaunchItem]:
    """The objects to create, in dependency order, with their keys: first the images the
    account lacks (a creative waits for those it shows), then the campaign and the rest."""
    data = plan.data
    missing = plan.images.missing() if plan.images is not None else []
    items = [image_item(f"image{n}", digest, file) for n, (digest, file) in enumerate(missing)]
    new_images = {item.key: item.label for item in items}
    items.append(campaign_item(data.campaign, plan.key("campaign")))
    adset_labels = {}
    for index, adset in enumerate(data.adsets):
        label = f"adset{index}"
        adset_labels[adset.name] = label
        spec = TargetingSpec.model_validate(targeting[index])
        items.append(adset_item(label, adset, spec, plan.key(label)))
    for index, ad in enumerate(data.ads):
        adset_label = adset_labels[str(ad.adset_ref)]
        waits = tuple(
            new_images[media[ref]]
            for ref in (_image_refs(ad.creative) if ad.creative is not None else [])
            if media.get(ref) in new_images
        )
        items.extend(_ad_items(plan, index, ad, adset_label, media, waits))
    return items


def campaign_item(campaign: CampaignParams, key: str) -> LaunchItem:
    """The campaign of a launch."""
    return LaunchItem(
        "campaign",
        "campaign",
        "campaigns",
        key,
        lambda ids: campaign_spec(campaign, key).to_params(),
    )


def adset_item(label: str, adset: AdSetParams, spec: TargetingSpec, key: str) -> LaunchItem:
    """One ad set of a launch, under the launch's campaign."""

    def build(ids: Mapping[str, str]) -> dict[str, Any]:
        return adset_spec(adset, ids["campaign"], spec, key).to_params()

    return LaunchItem(label, "adset", "adsets", key, build, needs=("campaign",))


def _ad_items(
    plan: Plan,
    index: int,
    ad: AdParams,
    adset_label: str,
    media: Mapping[str, str],
    images: tuple[str, ...],
) -> list[LaunchItem]:
    """An ad and its inline creative, which waits for the new ``images`` it shows."""
    ad_label, creative_label = f"ad{index}", f"creative{index}"
    ad_key = plan.key(ad_label)
    items = []
    if ad.creative is not None:
        creative, creative_key = ad.creative, plan.key(creative_label)
        items.append(
            LaunchItem(
                creative_label,
                "adcreative",
                "adcreatives",
                creative_key,
                lambda ids: creative_spec(creative, creative_key, assets=media),
                needs=tuple(dict.fromkeys(images)),
            )
        )
        needs: tuple[str, ...] = (adset_label, creative_label)

        def build(ids: Mapping[str, str]) -> dict[str, Any]:
            return ad_spec(ad, ids[adset_label], ids[creative_label], ad_key)
    else:
        needs = (adset_label,)

        def build(ids: Mapping[str, str]) -> dict[str, Any]:
            return ad_spec(ad, ids[adset_label], ad.creative_id, ad_key)

    items.append(LaunchItem(ad_label, "ad", "ads", ad_key, build, needs=needs))
    return items


async def resolve_targeting(
    env: Env, account_id: str, adsets: Sequence[AdSetParams]
) -> dict[str, Any]:
    """Each ad set's targeting with its names resolved (searches run at once)."""
    specs = await asyncio.gather(
        *(
            env.targeting.build(adset.targeting, account_id, at=f"data.adsets[{i}].targeting")
            for i, adset in enumerate(adsets)
        )
    )
    return {"adsets": [spec.model_dump(mode="json", exclude_none=True) for spec in specs]}


async def _videos(run: StepRun, plan: Plan, env: Env) -> dict[str, Any]:
    """Upload the videos (journaled: each upload makes a new video object)."""
    videos: dict[str, str] = {}
    for clip in plan.data.videos:
        video = await env.assets.upload_video(plan.account_id, clip, wait_ready=True)
        await run.created("video", video.id, undo="keep")
        videos[clip.name or video.id] = video.id
    return {"videos": videos}


async def _launch(run: StepRun, plan: Plan, env: Env, items: list[LaunchItem]) -> dict[str, Any]:
    state = await launch(run, env, plan.account_id, items)
    if plan.images is not None:
        sent = [item.key for item in items if item.kind == IMAGE and item.label in state.ids]
        await env.assets.remember(plan.images, sent)
    objects = {label: id_ for label, id_ in state.ids.items() if not label.startswith("image")}
    return {"ids": objects, "requests": state.requests}


async def _validate(plan: Plan, env: Env, items: list[LaunchItem]) -> dict[str, Any]:
    """Ask Meta to validate what can be validated alone; return the plan.

    A dry run sends no image, so a creative showing a new one is checked by our rules only.
    """
    checkable = [item for item in items if not item.needs and item.kind != IMAGE]
    batch = env.graph.batch()
    for item in checkable:
        params = {**item.build({}), "execution_options": ["validate_only"]}
        batch.post(f"{plan.account_id}/{item.edge}", params, name=item.label)
    results = await batch.execute()
    for item in checkable:
        results[item.label].unwrap()
    return {
        "dry_run": True,
        "validated_by_meta": [item.label for item in checkable],
        "validated_locally": [item.label for item in items if item.needs],
        "images_to_upload": [item.key for item in items if item.kind == IMAGE],
        "plan": [
            {"label": item.label, "kind": item.kind, "needs": list(item.needs)} for item in items
        ],
    }


async def activate_all(env: Env, ids: Mapping[str, str], run: StepRun) -> dict[str, Any]:
    """Everything ACTIVE in one batch: ads and ad sets first, the campaign last.

    The same batch settles the workflow (``settle.py``): each name given back rides in the
    object's activation, and each object is read back after it, so activating costs no
    round trip more than before.

    Raises:
        MetaAgentError: an activation Meta refused (the workflow fails and rolls back).
    """
    order = sorted(ids, key=lambda label: (label == "campaign", label.startswith("adset")))
    labels = [label for label in order if not label.startswith("creative")]
    writes = {ids[label]: {"status": "ACTIVE"} for label in labels}
    resources = await env.store.resources(run.ctx.workflow_id)
    output = await settle(
        env.graph, resources, env.naming_keys, writes, concurrency=WAVE_CONCURRENCY
    )
    failed: dict[str, MetaAgentError] = output.pop("failed")
    for label in labels:
        if ids[label] in failed:
            raise failed[ids[label]]
    return {"activated": labels, **output}


def _result(
    plan: Plan, ids: Mapping[str, str], assets: Mapping[str, Any], *, active: bool
) -> dict[str, Any]:
    data = plan.data
    status = "ACTIVE" if active else "PAUSED"
    return {
        "account_id": plan.account_id,
        "currency": plan.currency,
        "campaign": {"id": ids["campaign"], "name": data.campaign.name, "status": status},
        "adsets": [
            {"id": ids[f"adset{i}"], "name": a.name, "status": status}
            for i, a in enumerate(data.adsets)
        ],
        "creatives": [
            {"id": ids[f"creative{i}"], "name": ad.creative.name}
            for i, ad in enumerate(data.ads)
            if ad.creative is not None
        ],
        "ads": [
            {
                "id": ids[f"ad{i}"],
                "name": ad.name,
                "adset_id": ids[_adset_label(data, ad)],
                "creative_id": ids.get(f"creative{i}", ad.creative_id),
                "status": status,
            }
            for i, ad in enumerate(data.ads)
        ],
        "images": dict(assets["images"]),
        "videos": dict(assets["videos"]),
    }


def _adset_label(data: FullCampaignData, ad: AdParams) -> str:
    names = [adset.name for adset in data.adsets]
    return f"adset{names.index(str(ad.adset_ref))}"


def _image_refs(creative: AnyCreativeParams) -> list[str]:
    refs = [getattr(creative, "image_ref", None), getattr(creative, "thumbnail_ref", None)]
    refs += [card.image_ref for card in getattr(creative, "cards", [])]
    return [ref for ref in refs if ref]


def _unique(names: list[str], at: str, field: str) -> None:
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name in seen:
            raise RequestValidationError(
                f"{at}[{index}].{field}: {name!r} is used twice; names must be unique",
                field=f"{at}[{index}].{field}",
            )
        seen.add(name)


def _under_data(error: RequestValidationError) -> RequestValidationError:
    field = f"data.{error.field}" if error.field else "data"
    return RequestValidationError(f"data.{error.message}", **{**error.details, "field": field})
