"""Pure converters from the agent's params to Graph write params (reference §3.3, §3.4).

:func:`creative_spec` and :func:`ad_spec` give the params of ``POST act_X/adcreatives`` and
``POST act_X/ads``, each name tagged with its idempotency key. The AdCreationAgent sends them
itself; the orchestrator puts them into its own batch, with images, videos, ad sets and
creatives made in the same request named by batch references (:func:`meta_agent.graph.batch.ref`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from meta_agent.agents.creative_params import (
    AdParams,
    AdResult,
    AnyCreativeParams,
    CarouselCard,
    CarouselCreativeParams,
    CreativeResult,
    ImageCreativeParams,
    VideoCreativeParams,
)
from meta_agent.agents.keys import KEY_PATTERN, derive_key, tag, tagged
from meta_agent.errors import RequestValidationError
from meta_agent.graph.models import CallToAction, LinkData, ObjectStorySpec, VideoData
from meta_agent.graph.services import AdCreate, AdCreativeCreate, CreativeRef

CREATIVE_NAME_MAX = 100


def normalise_key(key: str) -> str:
    """A key that fits a name tag: kept when it is one already, else derived from the text."""
    return key if KEY_PATTERN.fullmatch(key) else derive_key(key)


def creative_name(name: str, key: str | None) -> str:
    """``name`` tagged with ``key``, trimmed so the whole fits a creative's 100 characters."""
    if not key:
        return name
    return tagged(name[: CREATIVE_NAME_MAX - len(tag(key))], key)


@dataclass(frozen=True)
class _Media:
    """Resolves images and videos named by hash/id, by asset name, or by an override."""

    assets: Mapping[str, str]
    image_hash: str | None = None
    video_id: str | None = None

    def image(self, given: str | None, asset: str | None, field: str) -> str:
        return given or self.image_hash or self.asset(asset, field, "image_hash")

    def video(self, given: str | None, asset: str | None, field: str) -> str:
        return given or self.video_id or self.asset(asset, field, "video_id")

    def asset(self, name: str | None, field: str, instead: str) -> str:
        if name is not None and name in self.assets:
            return self.assets[name]
        raise RequestValidationError(
            f"{field}: no asset named {name!r} was uploaded in this request; upload it first "
            f"or give its {instead}",
            field=field,
        )


def creative_create(
    params: AnyCreativeParams,
    key: str | None,
    *,
    image_hash: str | None = None,
    video_id: str | None = None,
    assets: Mapping[str, str] | None = None,
) -> AdCreativeCreate:
    """The write spec of a creative (see :func:`creative_spec`).

    Raises:
        RequestValidationError: an asset reference that ``assets`` does not resolve.
    """
    media = _Media(assets or {}, image_hash, video_id)
    if isinstance(params, ImageCreativeParams):
        story = _image_story(params, media)
    elif isinstance(params, VideoCreativeParams):
        story = _video_story(params, media)
    else:
        story = _carousel_story(params, media)
    name = creative_name(params.name, normalise_key(key) if key else None)
    return AdCreativeCreate(name=name, object_story_spec=story, url_tags=params.url_tags)


def creative_spec(
    params: AnyCreativeParams,
    key: str | None,
    *,
    image_hash: str | None = None,
    video_id: str | None = None,
    assets: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Graph params of ``POST act_X/adcreatives`` for ``params``, the name tagged with ``key``.

    ``image_hash`` (the image, or a video's thumbnail) and ``video_id`` stand in for the
    params' ``*_ref``; ``assets`` maps asset names to hashes or video ids, and may hold batch
    references (``ref("img_hero", "$.images.*.hash")``).

    Raises:
        RequestValidationError: an asset reference nothing resolves.
    """
    made = creative_create(params, key, image_hash=image_hash, video_id=video_id, assets=assets)
    return made.to_params()


def _cta(kind: str | None, link: str | None) -> CallToAction | None:
    if kind is None:
        return None
    return CallToAction(type=kind, value={"link": link} if link else None)


def _story(params: AnyCreativeParams, **story: Any) -> ObjectStorySpec:
    return ObjectStorySpec(
        page_id=params.page_id, instagram_user_id=params.instagram_user_id, **story
    )


def _image_story(params: ImageCreativeParams, media: _Media) -> ObjectStorySpec:
    data = LinkData(
        link=params.link,
        message=params.message,
        name=params.headline,
        description=params.description,
        image_hash=media.image(params.image_hash, params.image_ref, "image_ref"),
        call_to_action=_cta(params.call_to_action, params.link),
    )
    return _story(params, link_data=data)


def _video_story(params: VideoCreativeParams, media: _Media) -> ObjectStorySpec:
    thumbnail = None
    if params.thumbnail_url is None:
        thumbnail = media.image(params.thumbnail_hash, params.thumbnail_ref, "thumbnail_ref")
    data = VideoData(
        video_id=media.video(params.video_id, params.video_ref, "video_ref"),
        image_hash=thumbnail,
        image_url=params.thumbnail_url,
        title=params.title,
        message=params.message,
        call_to_action=_cta(params.call_to_action, params.link),
    )
    return _story(params, video_data=data)


def _carousel_story(params: CarouselCreativeParams, media: _Media) -> ObjectStorySpec:
    data = {
        "link": params.link,
        "message": params.message,
        "call_to_action": _cta(params.call_to_action, params.link),
        "child_attachments": [_card(card, i, media) for i, card in enumerate(params.cards)],
        # Not declared on LinkData: they travel as its extras.
        "multi_share_optimized": params.multi_share_optimized,
        "multi_share_end_card": params.multi_share_end_card,
    }
    link_data = LinkData.model_validate({k: v for k, v in data.items() if v is not None})
    return _story(params, link_data=link_data)


def _card(card: CarouselCard, index: int, media: _Media) -> dict[str, Any]:
    # Cards never take the single-image override: each names its own image.
    own = _Media(media.assets)
    cta = _cta(card.call_to_action, card.link)
    data = {
        "link": card.link,
        "image_hash": own.image(card.image_hash, card.image_ref, f"cards[{index}].image_ref"),
        "name": card.headline,
        "description": card.description,
        "call_to_action": cta.model_dump(exclude_none=True) if cta else None,
    }
    return {key: value for key, value in data.items() if value is not None}


def ad_create(
    params: AdParams, adset_id: str | None, creative_id: str | None, key: str | None
) -> AdCreate:
    """The write spec of an ad (see :func:`ad_spec`).

    Raises:
        RequestValidationError: an ad set or creative known only by a reference.
    """
    adset = adset_id or params.adset_id
    if adset is None:
        raise _unresolved("adset_ref", params.adset_ref, "adset_id")
    creative = creative_id or params.creative_id
    if creative is None:
        field = "creative_ref" if params.creative_ref else "creative"
        raise _unresolved(field, params.creative_ref, "creative_id")
    return AdCreate(
        name=tagged(params.name, normalise_key(key) if key else None),
        adset_id=adset,
        creative=CreativeRef(creative_id=creative),
        status=params.status,
        tracking_specs=params.tracking_specs,
    )


def ad_spec(
    params: AdParams,
    adset_id: str | None = None,
    creative_id: str | None = None,
    key: str | None = None,
) -> dict[str, Any]:
    """Graph params of ``POST act_X/ads``: ``adset_id`` and ``creative_id`` (ids or batch
    references) stand in for the params' own, the name tagged with ``key``.

    Raises:
        RequestValidationError: an ad set or creative known only by a reference.
    """
    return ad_create(params, adset_id, creative_id, key).to_params()


def _unresolved(field: str, name: str | None, instead: str) -> RequestValidationError:
    what = f"{name!r} is made in the same request" if name else "the creative is given inline"
    return RequestValidationError(
        f"{field}: {what}; make it first and pass its {instead}", field=field
    )


# -- results of the same specs ------------------------------------------------------------------


def inline_creative(params: AdParams) -> AnyCreativeParams:
    """The creative an ad gives inline, with the ad's ``url_tags`` when it has none of its own.

    Raises:
        RequestValidationError: the ad names an existing creative instead.
    """
    if params.creative is None:
        raise RequestValidationError(
            "creative: give the creative inline (creative={...}); for an existing creative "
            "use create_ad with creative_id",
            field="creative",
        )
    creative = params.creative
    if params.url_tags is not None and creative.url_tags is None:
        creative = creative.model_copy(update={"url_tags": params.url_tags})
    return creative


def creative_result(
    spec: AdCreativeCreate, params: AnyCreativeParams, id: str | None, reconciled: bool = False
) -> CreativeResult:
    """What a creative made from ``spec`` is reported as (``id`` None after a dry run)."""
    name = spec.name or params.name
    return CreativeResult(id=id, name=name, kind=params.kind, reconciled=reconciled)


def ad_result(spec: AdCreate, id: str | None, reconciled: bool = False) -> AdResult:
    """What an ad made from ``spec`` is reported as (``id`` None after a dry run)."""
    return AdResult(
        id=id,
        name=spec.name,
        adset_id=spec.adset_id,
        status=spec.status,
        creative_id=spec.creative.creative_id,
        reconciled=reconciled,
    )
