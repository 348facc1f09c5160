"""The AssetAgent (specification §4.2): ad images and videos into an ad account, checked first.

::

    upload_images(account, assets)
      prepare   read bytes (data, file, URL), decode and check with Pillow   no Graph call
      dedupe    MD5 of the bytes = Meta's image hash; repeats in the input collapse to one
      known?    cache, then GET act_X/adimages?hashes=[...]                   1 round trip
      upload    the rest as files of one multipart POST act_X/adimages        1 round trip

An image is content-addressed (Meta's hash is the MD5 of the file), so N new images cost two
round trips: one listing and one multipart upload (split only past 10 files or 50 MB per
request, and those parts go concurrently). That beats N parallel uploads (N requests) and a
batch with attached files (the same single request, but with a JSON envelope and per-item
bodies to decode). Content addressing also makes a dropped upload safe to reconcile: look the
hashes up, send only what is missing.

Image URLs: Meta's ``adimages`` edge takes no URL (reference §3.5), so the agent downloads the
file itself (``graph.transport.download``, a client apart from the Graph one, through the
egress guard, capped at the 30 MB limit) and uploads the bytes; a video URL goes to Meta as
``file_url``, which Meta fetches (for a remote caller it is checked by the guard first).
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import structlog

from meta_agent.agents.media import (
    IMAGE_EXTENSIONS,
    VIDEO_HEAD_BYTES,
    ImageAsset,
    ImageResult,
    ImageRules,
    ImageSpec,
    Placement,
    StoredImage,
    VideoAsset,
    VideoResult,
    VideoRules,
    check_size,
    check_video,
    inspect_image,
    parse_asset,
)
from meta_agent.cache.base import Cache
from meta_agent.concurrency import gather2, gather_all
from meta_agent.egress import EgressPolicy
from meta_agent.errors import ApiError, OutcomeUnknownError, RequestValidationError
from meta_agent.graph.client import GraphClient
from meta_agent.graph.models import AdImage
from meta_agent.graph.services._base import act
from meta_agent.graph.services.images import file_field
from meta_agent.graph.transport import DownloadError, FileField, download

log = structlog.get_logger("meta_agent.agents.assets")

Fetch = Callable[[str, int], Awaitable[bytes]]
"""Downloads a URL, reading at most the given number of bytes; raises ``DownloadError``."""

# An image's hash is the MD5 of its bytes: it never goes stale, only away (a delete forgets it).
CACHE_TTL: float | None = None
MAX_FILES_PER_REQUEST = 10
MAX_REQUEST_BYTES = 50 * 1024 * 1024
LOOKUP_CHUNK = 100
INSPECTED_MEMO = 4096  # images whose checks are remembered (a few bytes each)
_LOOKUP_FIELDS = ("hash", "name", "url", "width", "height", "status")
T = TypeVar("T")

__all__ = [
    "AssetAgent",
    "Fetch",
    "ImageAsset",
    "ImageResult",
    "ImageRules",
    "Placement",
    "StoredImage",
    "VideoAsset",
    "VideoResult",
    "VideoRules",
]


@dataclass(frozen=True)
class _Prepared:
    """An image read and checked: where it came from, its bytes, hash and upload file name."""

    field: str
    content: bytes
    digest: str
    spec: ImageSpec
    filename: str


@dataclass(frozen=True)
class CheckedImages:
    """Images read, checked and hashed, and which of them the account already has."""

    account_id: str
    prepared: list[_Prepared]
    unique: dict[str, _Prepared]
    known: dict[str, StoredImage]

    def missing(self) -> list[tuple[str, FileField]]:
        """The images the account lacks, each once: its hash and the file to upload."""
        return [
            (digest, file_field(item.filename, item.content))
            for digest, item in self.unique.items()
            if digest not in self.known
        ]

    def hashes(self) -> list[str]:
        """Each input image's hash (Meta's image hash: the MD5 of its bytes), in input order."""
        return [item.digest for item in self.prepared]


class AssetAgent:
    """Uploads checked, deduplicated images and videos to ad accounts."""

    def __init__(
        self,
        graph: GraphClient,
        cache: Cache | None = None,
        *,
        fetch: Fetch | None = None,
        image_rules: ImageRules | None = None,
        video_rules: VideoRules | None = None,
        max_concurrency: int = 4,
        cache_ttl: float | None = CACHE_TTL,
        local_files: bool = True,
        egress: EgressPolicy | None = None,
    ) -> None:
        """``local_files=False`` (a remote caller: HTTP, MCP over HTTP) refuses ``path``
        assets, and image and video URLs ``egress`` refuses (default: public addresses
        only): the caller must not make the server read its own files or its own network.
        A local caller's URLs are fetched through the same guard, admitting every address.
        ``fetch`` replaces the downloader (tests); a remote caller's URL is checked first."""
        self._graph = graph
        self._cache = cache
        self._fetch = fetch
        egress = egress or EgressPolicy()
        self._egress = egress if not local_files else egress.local()
        self._image_rules = image_rules or ImageRules()
        self._video_rules = video_rules or VideoRules()
        self._limit = asyncio.Semaphore(max_concurrency)
        self._ttl = cache_ttl
        self._local_files = local_files
        self._inspected: dict[tuple[str, tuple[Placement, ...]], ImageSpec] = {}

    async def upload_image(
        self, account_id: str, asset: ImageAsset | Mapping[str, Any]
    ) -> ImageResult:
        """Check one image and upload it, unless the account already has these bytes.

        Raises:
            RequestValidationError: the asset is invalid, unreadable or fails the spec checks
                (``field`` starts with ``asset``).
            ApiError: Meta refused the upload or the call failed after retries.
        """
        checked = parse_asset(ImageAsset, asset, "asset")
        return (await self._upload(account_id, [("asset", checked)]))[0]

    async def upload_images(
        self, account_id: str, assets: Sequence[ImageAsset | Mapping[str, Any]]
    ) -> list[ImageResult]:
        """Check every image, then upload the new ones (each distinct image once).

        Results are in input order. Nothing is uploaded unless every asset passes the checks.

        Raises:
            RequestValidationError: an asset fails (``field`` is ``assets[i]...``).
            ApiError: Meta refused the upload or the call failed after retries.
        """
        fields = [f"assets[{i}]" for i in range(len(assets))]
        checked = [parse_asset(ImageAsset, a, f) for a, f in zip(assets, fields, strict=True)]
        return await self._upload(account_id, list(zip(fields, checked, strict=True)))

    async def delete_image(self, account_id: str, image_hash: str) -> None:
        """Delete an image no creative uses, and forget it in the cache.

        Raises:
            InvalidParameterError: Meta refused (no such image, or a creative uses it).
        """
        await self._graph.images.delete(account_id, image_hash)
        if self._cache is not None:
            await self._cache.delete(_cache_key(account_id, image_hash))

    async def check_images(
        self,
        account_id: str,
        assets: Sequence[ImageAsset | Mapping[str, Any]],
        *,
        at: str = "assets",
    ) -> CheckedImages:
        """Read, check and hash every image, and find those the account already has.

        Reads only: a workflow runs this before it writes anything, so a bad image is refused
        up front; :meth:`upload_checked` then sends only what is missing.

        Raises:
            RequestValidationError: an asset fails (``field`` is ``{at}[i]...``).
        """
        fields = [f"{at}[{i}]" for i in range(len(assets))]
        parsed = [parse_asset(ImageAsset, a, f) for a, f in zip(assets, fields, strict=True)]
        sources = await self._bounded(self._read(f, a) for f, a in zip(fields, parsed, strict=True))
        digests = list(dict.fromkeys(_md5(content) for _, content in sources))
        # The account lookup needs only the hashes: it runs while Pillow checks the pixels,
        # and starts first, so its request is out before the decoding threads compete.
        known, prepared = await gather2(
            self._known(account_id, digests),
            self._bounded(
                self._inspect(f, a, source)
                for f, a, source in zip(fields, parsed, sources, strict=True)
            ),
        )
        unique: dict[str, _Prepared] = {}
        for item in prepared:
            unique.setdefault(item.digest, item)  # a repeat is uploaded once, under the first
        return CheckedImages(account_id, prepared, unique, known)

    async def upload_checked(self, checked: CheckedImages) -> list[ImageResult]:
        """Upload the images :meth:`check_images` found missing; results in input order.

        Raises:
            ApiError: Meta refused the upload or the call failed after retries.
        """
        missing = [p for d, p in checked.unique.items() if d not in checked.known]
        fresh = await self._upload_missing(checked.account_id, missing)
        await self._remember(checked.account_id, {**checked.known, **fresh})
        return _results(checked.prepared, checked.known, fresh)

    async def remember(self, checked: CheckedImages, uploaded: Iterable[str]) -> None:
        """Note images sent some other way (attached to a launch batch) as on the account,
        so the next launch need not look them up (until :meth:`delete_image` forgets one)."""
        stored = {
            digest: StoredImage(
                hash=digest,
                name=item.filename,
                width=item.spec.width,
                height=item.spec.height,
            )
            for digest in uploaded
            if (item := checked.unique.get(digest)) is not None
        }
        await self._remember(checked.account_id, stored)

    async def _upload(
        self, account_id: str, items: list[tuple[str, ImageAsset]]
    ) -> list[ImageResult]:
        prepared = await self._bounded(self._prepare(f, a) for f, a in items)
        unique: dict[str, _Prepared] = {}
        for item in prepared:
            unique.setdefault(item.digest, item)  # a repeat is uploaded once, under the first
        known = await self._known(account_id, list(unique))
        return await self.upload_checked(CheckedImages(account_id, prepared, unique, known))

    async def _prepare(self, field: str, asset: ImageAsset) -> _Prepared:
        return await self._inspect(field, asset, await self._read(field, asset))

    async def _inspect(self, field: str, asset: ImageAsset, source: tuple[str, bytes]) -> _Prepared:
        source_field, content = source
        digest = _md5(content)
        # The checks are a pure function of the bytes (named by their hash) and placements:
        # an image launched again (the warm path) is not decoded again.
        checked = (digest, asset.placements)
        spec = self._inspected.get(checked)
        if spec is None:
            spec = await asyncio.to_thread(
                inspect_image, content, source_field, asset.placements, self._image_rules
            )
            if len(self._inspected) >= INSPECTED_MEMO:
                del self._inspected[next(iter(self._inspected))]  # the oldest goes first
            self._inspected[checked] = spec
        for warning in spec.warnings:
            log.warning("asset.image.warning", field=field, hash=digest, warning=warning)
        return _Prepared(field, content, digest, spec, _filename(asset, digest, spec))

    async def _read(self, field: str, asset: ImageAsset) -> tuple[str, bytes]:
        """The asset's bytes and the dotted name of the field they came from."""
        limit = self._image_rules.max_bytes
        if asset.data is not None:
            return f"{field}.data", asset.data
        if asset.path is not None:
            self._check_local(f"{field}.path")
            return f"{field}.path", await _read_file(asset.path, f"{field}.path", limit)
        url_field = f"{field}.url"
        try:
            return url_field, await self._download(str(asset.url), limit, url_field)
        except DownloadError as error:
            raise RequestValidationError(
                f"{url_field}: could not download {asset.url} ({error}); check the address "
                "is public, or send the image as data",
                field=url_field,
            ) from None

    async def _download(self, url: str, limit: int, field: str) -> bytes:
        if self._fetch is None:
            return await download(url, max_bytes=limit, egress=self._egress, field=field)
        if not self._local_files:
            await self._egress.check(url, field)
        return await self._fetch(url, limit)

    def _check_local(self, field: str) -> None:
        if not self._local_files:
            raise RequestValidationError(
                f"{field}: this service does not read files on its own disk for remote callers; "
                "send the image as data (base64) or a public url instead",
                field=field,
            )

    async def _known(self, account_id: str, digests: list[str]) -> dict[str, StoredImage]:
        """The images among ``digests`` the cache or the account already has."""
        found = await self._cached(account_id, digests)
        missing = [d for d in digests if d not in found]
        for start in range(0, len(missing), LOOKUP_CHUNK):
            found |= await self._lookup(account_id, missing[start : start + LOOKUP_CHUNK])
        return found

    async def _cached(self, account_id: str, digests: list[str]) -> dict[str, StoredImage]:
        if self._cache is None or not digests:
            return {}
        cache = self._cache
        values = await asyncio.gather(*(cache.get(_cache_key(account_id, d)) for d in digests))
        return {d: StoredImage.model_validate(v) for d, v in zip(digests, values, strict=True) if v}

    async def _lookup(self, account_id: str, digests: list[str]) -> dict[str, StoredImage]:
        listing = self._graph.images.list_by_hashes(account_id, digests, fields=_LOOKUP_FIELDS)
        wanted = set(digests)
        return {
            image.hash: _stored(image)
            for image in await listing.collect()
            if image.hash in wanted and image.status != "DELETED"
        }

    async def _upload_missing(
        self, account_id: str, missing: list[_Prepared]
    ) -> dict[str, StoredImage]:
        uploaded: dict[str, StoredImage] = {}
        for part in await self._bounded(
            self._upload_files(account_id, group) for group in _pack(missing)
        ):
            uploaded |= part
        return uploaded

    async def _upload_files(
        self, account_id: str, group: list[_Prepared]
    ) -> dict[str, StoredImage]:
        """One multipart upload; a dropped one is reconciled by hash, never blindly resent."""
        sources = [(p.filename, p.content) for p in group]
        try:
            images = await self._graph.images.upload_files(account_id, sources)
        except OutcomeUnknownError:
            landed = await self._lookup(account_id, [p.digest for p in group])
            rest = [p for p in group if p.digest not in landed]
            log.info("asset.image.reconciled", landed=len(landed), resent=len(rest))
            sent = [(p.filename, p.content) for p in rest]
            images = await self._graph.images.upload_files(account_id, sent) if rest else []
            return landed | _match(rest, images)
        log.info("asset.image.uploaded", files=len(group), bytes=sum(len(s[1]) for s in sources))
        return _match(group, images)

    async def _remember(self, account_id: str, images: Mapping[str, StoredImage]) -> None:
        if self._cache is None:
            return
        cache, ttl = self._cache, self._ttl
        await asyncio.gather(
            *(
                cache.set(_cache_key(account_id, d), image.model_dump(mode="json"), ttl)
                for d, image in images.items()
            )
        )

    async def _bounded(self, calls: Iterable[Coroutine[Any, Any, T]]) -> list[T]:
        async def run(call: Coroutine[Any, Any, T]) -> T:
            try:
                async with self._limit:
                    return await call
            finally:
                if inspect.getcoroutinestate(call) == inspect.CORO_CREATED:
                    call.close()  # cancelled while queued: it never started, say so quietly

        return await gather_all(*(run(c) for c in calls))

    async def upload_video(
        self, account_id: str, asset: VideoAsset | Mapping[str, Any], *, wait_ready: bool = False
    ) -> VideoResult:
        """Upload a video (a file in resumable chunks, or a URL Meta fetches).

        With ``wait_ready``, returns once Meta has encoded it (``status == "ready"``).

        Raises:
            RequestValidationError: the asset is invalid or the file fails the checks.
            InvalidParameterError: Meta refused the file, or encoding failed.
            TransientError: encoding was not ready within the uploader's timeout.
        """
        video = parse_asset(VideoAsset, asset, "asset")
        if video.path is not None:
            self._check_local("asset.path")
            video_id, state = await self._upload_video_file(account_id, video, wait_ready)
        else:
            video_id, state = await self._upload_video_url(account_id, video, wait_ready)
        log.info("asset.video.uploaded", video_id=video_id, status=state)
        return VideoResult(id=video_id, title=video.title, status=state)

    async def _upload_video_file(
        self, account_id: str, video: VideoAsset, wait: bool
    ) -> tuple[str, str]:
        path = video.path
        assert path is not None
        size, head = await _video_head(path, "asset.path")
        check_video(path.name, size, head, "asset.path", self._video_rules)
        uploaded = await self._graph.videos.upload(account_id, path, title=video.title, wait=wait)
        if video.name is not None and video.name != video.title:
            # The chunked protocol's finish phase carries only the title.
            await self._graph.post(uploaded.video_id, {"name": video.name}, account=act(account_id))
        state = uploaded.status.state if uploaded.status else "processing"
        return uploaded.video_id, state

    async def _upload_video_url(
        self, account_id: str, video: VideoAsset, wait: bool
    ) -> tuple[str, str]:
        if not self._local_files:
            await self._egress.check(str(video.url), "asset.url")
        params = {"file_url": video.url, "title": video.title, "name": video.name}
        account = act(account_id)
        body = await self._graph.post(f"{account}/advideos", params, account=account)
        video_id = str(body["id"])
        if not wait:
            return video_id, "processing"
        status = await self._graph.videos.wait_until_ready(video_id, account=account)
        return video_id, status.state


async def _read_file(path: Path, field: str, limit: int) -> bytes:
    """The file's bytes, its size checked before reading (in a thread: files can be large)."""
    try:
        check_size((await asyncio.to_thread(path.stat)).st_size, limit, field, "image")
        return await asyncio.to_thread(path.read_bytes)
    except OSError as error:
        raise RequestValidationError(
            f"{field}: cannot read {path} ({error.strerror or error}); give an existing file",
            field=field,
        ) from None


async def _video_head(path: Path, field: str) -> tuple[int, bytes]:
    def read() -> tuple[int, bytes]:
        with path.open("rb") as file:
            return path.stat().st_size, file.read(VIDEO_HEAD_BYTES)

    try:
        return await asyncio.to_thread(read)
    except OSError as error:
        raise RequestValidationError(
            f"{field}: cannot read {path} ({error.strerror or error}); give an existing file",
            field=field,
        ) from None


def _filename(asset: ImageAsset, digest: str, spec: ImageSpec) -> str:
    """The upload's file name, which Meta keeps as the image name (at most 100 characters).

    Meta wants an image extension on it; one is added when the name has none.
    """
    if asset.name is not None:
        base = asset.name
    elif asset.path is not None:
        base = asset.path.name
    else:
        base = urlsplit(asset.url or "").path.rpartition("/")[2] or digest
    stem, dot, extension = base.replace("/", "_").replace("\\", "_").rpartition(".")
    if not (dot and extension.lower() in IMAGE_EXTENSIONS):
        stem, extension = f"{stem}{dot}{extension}", spec.extension
    return f"{stem[: 99 - len(extension)]}.{extension}"


def _pack(items: list[_Prepared]) -> list[list[_Prepared]]:
    """Group uploads into requests: bounded files and bytes, and file names distinct in each
    (Meta keys its reply by file name)."""
    groups: list[list[_Prepared]] = []
    for item in items:
        for group in groups:
            if (
                len(group) < MAX_FILES_PER_REQUEST
                and sum(len(p.content) for p in group) + len(item.content) <= MAX_REQUEST_BYTES
                and all(p.filename != item.filename for p in group)
            ):
                group.append(item)
                break
        else:
            groups.append([item])
    return groups


def _match(group: list[_Prepared], images: list[AdImage]) -> dict[str, StoredImage]:
    """Pair each file with its reply entry: by hash, else by file name.

    Raises:
        ApiError: Meta's reply had no entry for a file.
    """
    by_hash = {image.hash: image for image in images}
    by_name = {image.name: image for image in images}
    matched: dict[str, StoredImage] = {}
    for item in group:
        image = by_hash.get(item.digest) or by_name.get(item.filename)
        if image is None:
            raise ApiError(
                f"Meta's reply to the image upload has no entry for {item.filename}",
                field=item.field,
            )
        matched[item.digest] = _stored(image)
    return matched


def _stored(image: AdImage) -> StoredImage:
    return StoredImage(
        hash=image.hash, name=image.name, url=image.url, width=image.width, height=image.height
    )


def _results(
    prepared: list[_Prepared], known: Mapping[str, StoredImage], fresh: Mapping[str, StoredImage]
) -> list[ImageResult]:
    seen: set[str] = set()
    results = []
    for item in prepared:
        image = known.get(item.digest) or fresh[item.digest]
        reused = item.digest in known or item.digest in seen
        seen.add(item.digest)
        results.append(
            ImageResult(**image.model_dump(), reused=reused, warnings=item.spec.warnings)
        )
    return results


def _md5(content: bytes) -> str:
    """Meta's image hash: the MD5 of the bytes."""
    return hashlib.md5(content, usedforsecurity=False).hexdigest()


def _cache_key(account_id: str, digest: str) -> str:
    return f"asset:image:{act(account_id)}:{digest}"
