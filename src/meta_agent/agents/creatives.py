"""The AdCreationAgent: image, video and carousel creatives, ads, and swapping an ad's creative.

Every create writes its idempotency key into the object's name (:mod:`meta_agent.agents.keys`).
When a create's answer is lost (:class:`OutcomeUnknownError`), the agent looks for an object
carrying that key and adopts it; only if none exists is the create sent again, once.

A creative and its ad go out together in one batch request, the ad naming the creative by a
batch reference. Creatives are immutable (reference §3.3): to change what an ad shows, the
agent makes a new creative and points the ad at it, keeping the old id so it can be undone.

The pure converters :func:`creative_spec` and :func:`ad_spec` (from
:mod:`meta_agent.agents.creative_specs`) let the orchestrator put the same objects into its
own batch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypedDict, Unpack

import structlog

from meta_agent.agents.creative_params import (
    AdParams,
    AdResult,
    AnyCreativeParams,
    CarouselCreativeParams,
    CreativeAndAd,
    CreativeReplacement,
    CreativeResult,
    ImageCreativeParams,
    VideoCreativeParams,
)
from meta_agent.agents.creative_specs import (
    ad_create,
    ad_result,
    ad_spec,
    creative_create,
    creative_result,
    creative_spec,
    inline_creative,
    normalise_key,
)
from meta_agent.agents.keys import find_tagged
from meta_agent.cache.base import Cache
from meta_agent.errors import (
    MetaAgentError,
    NotFoundError,
    OutcomeUnknownError,
    RequestValidationError,
)
from meta_agent.graph.batch import BatchBuilder, ItemResult, ref
from meta_agent.graph.client import GraphClient
from meta_agent.graph.services import AdCreativeCreate, AdUpdate, CreativeRef
from meta_agent.graph.services._base import ObjectService, WriteSpec, act

__all__ = ["AdCreationAgent", "ad_spec", "creative_spec"]

log = structlog.get_logger("meta_agent.agents")

AD_CACHE_TTL = 60.0


class CreateOptions(TypedDict, total=False):
    """Options of every create: ``validate_only`` (check, create nothing) and ``assets``
    (asset names, as in ``image_ref``, mapped to image hashes or video ids)."""

    validate_only: bool
    assets: Mapping[str, str] | None


# -- the agent ----------------------------------------------------------------------------------

Service = ObjectService[Any, Any, Any]


@dataclass(frozen=True)
class _Made:
    id: str | None
    reconciled: bool = False


class AdCreationAgent:
    """Makes creatives and ads on one :class:`GraphClient`; ``cache`` keeps ad reads briefly."""

    def __init__(
        self, graph: GraphClient, cache: Cache | None = None, *, ad_ttl: float = AD_CACHE_TTL
    ) -> None:
        self._graph = graph
        self._cache = cache
        self._ad_ttl = ad_ttl

    async def create_image_creative(
        self,
        account_id: str,
        params: ImageCreativeParams,
        *,
        idempotency_key: str,
        **options: Unpack[CreateOptions],
    ) -> CreativeResult:
        """A single-image link creative (see :meth:`create_creative`)."""
        return await self.create_creative(
            account_id, params, idempotency_key=idempotency_key, **options
        )

    async def create_video_creative(
        self,
        account_id: str,
        params: VideoCreativeParams,
        *,
        idempotency_key: str,
        **options: Unpack[CreateOptions],
    ) -> CreativeResult:
        """A video creative; the video must have finished processing (see :meth:`create_creative`)."""
        return await self.create_creative(
            account_id, params, idempotency_key=idempotency_key, **options
        )

    async def create_carousel_creative(
        self,
        account_id: str,
        params: CarouselCreativeParams,
        *,
        idempotency_key: str,
        **options: Unpack[CreateOptions],
    ) -> CreativeResult:
        """A carousel creative of 2 to 10 cards (see :meth:`create_creative`)."""
        return await self.create_creative(
            account_id, params, idempotency_key=idempotency_key, **options
        )

    async def create_creative(
        self,
        account_id: str,
        params: AnyCreativeParams,
        *,
        idempotency_key: str,
        **options: Unpack[CreateOptions],
    ) -> CreativeResult:
        """Create any creative; with ``validate_only`` Meta checks it and nothing is created
        (the result's id is None).

        Raises:
            RequestValidationError: an asset reference ``assets`` does not resolve.
            InvalidParameterError: Meta refused the creative (``blame_fields`` says where).
        """
        key = normalise_key(idempotency_key)
        spec = creative_create(params, key, assets=options.get("assets"))
        made = await self._create(
            account_id,
            "adcreatives",
            self._graph.creatives,
            spec,
            key,
            options.get("validate_only", False),
        )
        return creative_result(spec, params, made.id, made.reconciled)

    async def create_ad(
        self,
        account_id: str,
        params: AdParams,
        *,
        idempotency_key: str,
        **options: Unpack[CreateOptions],
    ) -> AdResult:
        """Create an ad (PAUSED unless ``params.status`` says otherwise); an inline creative
        is made with it in one round trip (:meth:`create_creative_and_ad`).

        Raises:
            RequestValidationError: an ad set or creative known only by a reference.
            InvalidParameterError: Meta refused the ad.
        """
        if params.creative is not None:
            both = await self.create_creative_and_ad(
                account_id, params, idempotency_key=idempotency_key, **options
            )
            return both.ad
        key = normalise_key(idempotency_key)
        spec = ad_create(params, None, None, key)
        validate_only = options.get("validate_only", False)
        made = await self._create(account_id, "ads", self._graph.ads, spec, key, validate_only)
        return ad_result(spec, made.id, made.reconciled)

    async def create_creative_and_ad(
        self,
        account_id: str,
        params: AdParams,
        *,
        idempotency_key: str,
        **options: Unpack[CreateOptions],
    ) -> CreativeAndAd:
        """The creative given inline in ``params.creative`` and the ad showing it, in ONE
        request. If the ad fails, the new creative is deleted again. With ``validate_only``
        Meta checks the ad with its creative inline, and nothing is created.

        Raises:
            RequestValidationError: no inline creative, or an unresolved reference.
            InvalidParameterError: Meta refused the creative or the ad.
        """
        creative = inline_creative(params)
        key = normalise_key(idempotency_key)
        cspec = creative_create(creative, key, assets=options.get("assets"))
        if options.get("validate_only", False):
            return await self._validate_both(account_id, params, creative, cspec, key)
        results = await self._send_both(account_id, params, cspec, key)
        made = await self._settle(
            results["creative"], account_id, "adcreatives", self._graph.creatives, cspec, key
        )
        assert made.id is not None  # a create that succeeded has an id
        aspec = ad_create(params, None, made.id, key)
        try:
            ad = await self._settle(results["ad"], account_id, "ads", self._graph.ads, aspec, key)
        except MetaAgentError:
            await self._discard_creative(made.id)
            raise
        return CreativeAndAd(
            creative=creative_result(cspec, creative, made.id, made.reconciled),
            ad=ad_result(aspec, ad.id, ad.reconciled),
        )

    async def replace_creative(
        self,
        ad_id: str,
        creative: AnyCreativeParams | str,
        *,
        idempotency_key: str,
        assets: Mapping[str, str] | None = None,
    ) -> CreativeReplacement:
        """Point the ad at a new creative (made from params, or an existing id); it goes back
        to review. The answer keeps the old creative's id for :meth:`undo_replacement`. If
        pointing the ad fails, a creative made here is deleted again.

        Raises:
            NotFoundError: no such ad.
            InvalidParameterError: Meta refused the creative or the change.
        """
        ad = await self._graph.ads.get(ad_id, fields=("id", "account_id", "creative"))
        old = ad.creative.id if ad.creative is not None else None
        new_id = creative if isinstance(creative, str) else None
        if not isinstance(creative, str):
            result = await self.create_creative(
                str(ad.account_id), creative, idempotency_key=idempotency_key, assets=assets
            )
            new_id = result.id
        assert new_id is not None  # not a dry run
        try:
            await self._point(ad_id, new_id, normalise_key(idempotency_key))
        except MetaAgentError:
            if not isinstance(creative, str):
                await self._discard_creative(new_id)
            raise
        log.info("agents.creative.replaced", ad_id=ad_id, old=old, new=new_id)
        made_here = not isinstance(creative, str)
        return CreativeReplacement(
            ad_id=ad_id, old_creative_id=old, new_creative_id=new_id, created_creative=made_here
        )

    async def undo_replacement(
        self, replacement: CreativeReplacement, *, delete_new: bool = False
    ) -> CreativeReplacement:
        """Point the ad back at its old creative; ``delete_new`` also deletes the one made.

        Raises:
            RequestValidationError: the ad had no creative before.
            ApiError: Meta refused the change.
        """
        old = replacement.old_creative_id
        if old is None:
            raise RequestValidationError(
                "old_creative_id: the ad had no creative to go back to", field="old_creative_id"
            )
        await self._point(replacement.ad_id, old, None)
        if delete_new and replacement.created_creative:
            await self.delete_creative(replacement.new_creative_id)
        new = replacement.new_creative_id
        return CreativeReplacement(
            ad_id=replacement.ad_id, old_creative_id=new, new_creative_id=old
        )

    async def pause_ad(self, ad_id: str) -> None:
        """Pause the ad now (the request takes the client's priority lane).

        Raises:
            ApiError: Meta refused, or the call failed after retries.
        """
        await self._graph.ads.pause(ad_id)
        await self._forget(ad_id)

    async def delete_ad(self, ad_id: str) -> None:
        """Delete the ad; one already gone counts as deleted.

        Raises:
            ApiError: Meta refused, or the call failed after retries.
        """
        try:
            await self._graph.ads.delete(ad_id)
        except NotFoundError:
            log.info("agents.ad.already_gone", ad_id=ad_id)
        await self._forget(ad_id)

    async def delete_creative(self, creative_id: str) -> None:
        """Delete the creative; one already gone counts as deleted.

        Raises:
            ApiError: Meta refused, or the call failed after retries.
        """
        try:
            await self._graph.creatives.delete(creative_id)
        except NotFoundError:
            log.info("agents.creative.already_gone", creative_id=creative_id)

    async def get_ad(self, ad_id: str, *, fresh: bool = False) -> AdResult:
        """The ad (from the cache unless ``fresh``; writes through this agent refresh it).

        Raises:
            NotFoundError: no such ad.
        """
        if self._cache is not None and not fresh:
            cached = await self._cache.get(_ad_key(ad_id))
            if cached is not None:
                return AdResult.model_validate(cached)
        ad = await self._graph.ads.get(ad_id)
        result = AdResult(
            id=ad.id,
            name=str(ad.name),
            adset_id=ad.adset_id,
            status=str(ad.status),
            creative_id=ad.creative.id if ad.creative else None,
            effective_status=ad.effective_status,
        )
        if self._cache is not None:
            await self._cache.set(_ad_key(ad_id), result.model_dump(mode="json"), ttl=self._ad_ttl)
        return result

    # -- the create ladder ----------------------------------------------------------------------

    async def _create(
        self,
        account_id: str,
        edge: str,
        service: Service,
        spec: WriteSpec,
        key: str,
        validate_only: bool,
    ) -> _Made:
        """One create; a lost answer is reconciled by the key before a single re-send."""
        try:
            created = await service.create(
                account_id, spec, validate_only=validate_only, idempotency_key=key
            )
        except OutcomeUnknownError:
            if validate_only:
                raise  # nothing can have been created
            return await self._reconcile(account_id, edge, service, spec, key)
        return _Made(created.id)

    async def _reconcile(
        self, account_id: str, edge: str, service: Service, spec: WriteSpec, key: str
    ) -> _Made:
        found = await find_tagged(self._graph, account_id, edge, key)
        if found is not None:
            log.info("agents.create.reconciled", edge=edge, id=found.id)
            return _Made(found.id, reconciled=True)
        log.warning("agents.create.resent", edge=edge)
        created = await service.create(account_id, spec, idempotency_key=key)
        return _Made(created.id)

    async def _settle(
        self,
        result: ItemResult,
        account_id: str,
        edge: str,
        service: Service,
        spec: WriteSpec,
        key: str,
    ) -> _Made:
        """A batch item's id; a lost answer is reconciled as for a single create."""
        if result.ok:
            return _Made(str(result.body["id"]))
        if isinstance(result.error, OutcomeUnknownError):
            return await self._reconcile(account_id, edge, service, spec, key)
        assert result.error is not None  # a failed item carries its error
        raise result.error

    async def _send_both(
        self, account_id: str, params: AdParams, cspec: AdCreativeCreate, key: str
    ) -> Mapping[str | int, ItemResult]:
        batch = BatchBuilder(self._graph.requestor)
        batch.post(f"{act(account_id)}/adcreatives", cspec.to_params(), name="creative")
        aspec = ad_create(params, None, ref("creative"), key)
        batch.post(f"{act(account_id)}/ads", aspec.to_params(), name="ad")
        return await batch.execute()

    async def _validate_both(
        self,
        account_id: str,
        params: AdParams,
        creative: AnyCreativeParams,
        cspec: AdCreativeCreate,
        key: str,
    ) -> CreativeAndAd:
        """Meta checks an ad with its creative inline: both validated, nothing stored."""
        aspec = ad_create(params, None, "0", key)
        wire = {**aspec.to_params(), "creative": cspec.to_params()}
        await self._graph.post(f"{act(account_id)}/ads", wire, validate_only=True)
        checked = creative_result(cspec, creative, None)
        ad = ad_result(aspec, None).model_copy(update={"creative_id": None})
        return CreativeAndAd(creative=checked, ad=ad)

    async def _point(self, ad_id: str, creative_id: str, key: str | None) -> None:
        """``POST /{ad_id} creative={"creative_id": ...}``; the same change sent twice is
        harmless, so a lost answer is simply sent again, once."""
        change = AdUpdate(creative=CreativeRef(creative_id=creative_id))
        try:
            await self._graph.ads.update(ad_id, change, idempotency_key=key)
        except OutcomeUnknownError:
            log.warning("agents.ad.repointed_again", ad_id=ad_id)
            await self._graph.ads.update(ad_id, change, idempotency_key=key)
        await self._forget(ad_id)

    async def _discard_creative(self, creative_id: str) -> None:
        """Compensation: delete a creative made for a step that failed; never mask that failure."""
        try:
            await self.delete_creative(creative_id)
        except MetaAgentError as error:
            log.warning("agents.creative.discard_failed", creative_id=creative_id, error=error.kind)

    async def _forget(self, ad_id: str) -> None:
        if self._cache is not None:
            await self._cache.delete(_ad_key(ad_id))


def _ad_key(ad_id: str) -> str:
    return f"agents:ad:{ad_id}"
