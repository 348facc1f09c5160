"""Media the sandbox serves itself: uploaded image and video bytes, from ``/_sandbox/media``.

An image's ``url`` and ``permalink_url`` point at ``{base}/_sandbox/media/{hash}.{ext}``, where
``base`` is the base URL of the request that read them (so the link is always reachable from
where the client stands) or, without one, ``SandboxConfig.base_url``. Images are stored once per
hash, whichever accounts hold them; each is at most the upload cap (30 MB) and the store keeps at
most :data:`MAX_TOTAL_BYTES`, forgetting the oldest first. A video's ``source`` is
``{base}/_sandbox/media/videos/{id}.mp4`` (the bytes of a ``source`` file, or of its chunks as
they arrive; a ``file_url`` or slideshow video has none, so it answers 404), and its pictures
and thumbnails a placeholder PNG the sandbox draws (Meta draws them from the video's frames).
The bytes live in memory only: a state file keeps the records, not their bytes.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections import OrderedDict
from weakref import WeakKeyDictionary

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from meta_agent.sandbox.core import Ctx, Sandbox

MEDIA_PATH = "/_sandbox/media"
MAX_TOTAL_BYTES = 256 * 1024 * 1024
CONTENT_TYPES = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "bmp": "image/bmp",
    "tiff": "image/tiff",
    "tif": "image/tiff",
    "webp": "image/webp",
}
VIDEO_PREFIX = "video:"
# ``{id}.mp4`` (the bytes), ``{id}_thumb.png``, ``{id}_thumb{n}.png`` (the n-th of its
# thumbnails) or ``icon.png`` (the drawn placeholder).
_VIDEO_NAME = re.compile(r"^(?:(?P<id>\d+)(?P<kind>\.mp4|_thumb\d*\.png)|icon\.png)$")
# ``{hash}.{ext}``, or a size variant ``{hash}_s128x128.{ext}`` (served at the original size).
_NAME = re.compile(r"^(?P<hash>[0-9a-f]{32})(?:_[a-z0-9]+)?\.(?P<ext>[a-z]+)$")


class MediaStore:
    """Uploaded bytes by image hash, bounded in total size (oldest forgotten first)."""

    def __init__(self, limit: int = MAX_TOTAL_BYTES) -> None:
        self.limit = limit
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._total = 0

    def put(self, digest: str, content: bytes) -> None:
        """Keep ``content`` under ``digest`` (the newest entry), evicting old ones past the cap."""
        if digest in self._items:
            self._items.move_to_end(digest)
            return
        self._items[digest] = content
        self._total += len(content)
        while self._total > self.limit and len(self._items) > 1:
            _, dropped = self._items.popitem(last=False)
            self._total -= len(dropped)

    def append(self, key: str, chunk: bytes) -> None:
        """Add a chunk to the bytes under ``key``; a file past the whole cap is not kept."""
        content = self._items.pop(key, b"")
        self._total -= len(content)
        if len(content) + len(chunk) <= self.limit:
            self.put(key, content + chunk)

    def drop(self, key: str) -> None:
        """Forget the bytes under ``key``."""
        self._total -= len(self._items.pop(key, b""))

    def get(self, digest: str) -> bytes | None:
        """The bytes uploaded under ``digest``, if still kept."""
        return self._items.get(digest)


_STORES: WeakKeyDictionary[Sandbox, MediaStore] = WeakKeyDictionary()


def media_of(sandbox: Sandbox) -> MediaStore:
    """The media store of ``sandbox`` (made on first use)."""
    store = _STORES.get(sandbox)
    if store is None:
        store = _STORES[sandbox] = MediaStore()
    return store


def base_url(ctx: Ctx) -> str:
    """The sandbox's own base URL as the client reached it (else the configured one)."""
    return (ctx.req.base_url or ctx.sb.config.base_url).rstrip("/")


def image_url(ctx: Ctx, digest: str, ext: str) -> str:
    """Where the sandbox serves the image with this hash."""
    return f"{base_url(ctx)}{MEDIA_PATH}/{digest}.{ext}"


def video_url(ctx: Ctx, video_id: str) -> str:
    """Where the sandbox serves a video's bytes (its ``source``)."""
    return f"{base_url(ctx)}{MEDIA_PATH}/videos/{video_id}.mp4"


def video_picture_url(ctx: Ctx, video_id: str | None = None) -> str:
    """A video's picture (thumbnail), or with no id the video icon: a drawn placeholder PNG."""
    name = f"{video_id}_thumb.png" if video_id else "icon.png"
    return f"{base_url(ctx)}{MEDIA_PATH}/videos/{name}"


def video_thumbnail_url(ctx: Ctx, video_id: str, frame: int) -> str:
    """The ``frame``-th thumbnail of a video (``GET /{video_id}/thumbnails``): a placeholder PNG."""
    return f"{base_url(ctx)}{MEDIA_PATH}/videos/{video_id}_thumb{frame}.png"


def video_content_type(content: bytes) -> str:
    """The content type of a video file, from its container's leading bytes."""
    if content[4:8] in {b"ftyp", b"moov", b"mdat", b"wide", b"free"}:
        return "video/quicktime" if content[8:10] == b"qt" else "video/mp4"
    if content.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm"
    if content.startswith(b"RIFF"):
        return "video/x-msvideo"
    if content.startswith(b"FLV"):
        return "video/x-flv"
    return "application/octet-stream"


def _placeholder_png(width: int = 16, height: int = 9) -> bytes:
    """A small grey PNG, drawn once, standing in for a frame of the video."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return b"".join(
        (b"\x89PNG\r\n\x1a\n", chunk(b"IHDR", header), chunk(b"IDAT", zlib.compress(rows)))
    ) + chunk(b"IEND", b"")


PLACEHOLDER_PNG = _placeholder_png()


def media_routes(sandbox: Sandbox) -> list[Route]:
    """``GET /_sandbox/media/{hash}.{ext}``: the uploaded bytes with their content type.

    ``GET /_sandbox/media/videos/{id}.mp4`` serves a video's bytes, and ``{id}_thumb.png``
    or ``{id}_thumb{n}.png`` (for a video the sandbox knows) or ``icon.png`` the placeholder.
    """

    def missing() -> Response:
        return JSONResponse({"error": {"message": "No such media", "code": 404}}, 404)

    async def video(request: Request) -> Response:
        match = _VIDEO_NAME.match(str(request.path_params["name"]))
        if match is None:
            return missing()
        if match["id"] is None:
            return Response(PLACEHOLDER_PNG, media_type="image/png")
        if match["kind"].startswith("_thumb"):
            record = sandbox.state.find(match["id"])
            if record is None or record.get("kind") != "advideo":
                return missing()
            return Response(PLACEHOLDER_PNG, media_type="image/png")
        content = media_of(sandbox).get(VIDEO_PREFIX + match["id"])
        if content is None:
            return missing()
        return Response(content, media_type=video_content_type(content))

    async def image(request: Request) -> Response:
        match = _NAME.match(str(request.path_params["name"]))
        content = media_of(sandbox).get(match["hash"]) if match else None
        if match is None or content is None:
            return JSONResponse({"error": {"message": "No such media", "code": 404}}, 404)
        kind = CONTENT_TYPES.get(match["ext"], "application/octet-stream")
        return Response(content, media_type=kind)

    return [
        Route(f"{MEDIA_PATH}/videos/{{name}}", video, methods=["GET"]),
        Route(f"{MEDIA_PATH}/{{name}}", image, methods=["GET"]),
    ]
