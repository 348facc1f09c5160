"""A video's thumbnails: ``GET /{video_id}/thumbnails`` and ``fields=thumbnails{...}``.

Meta draws a few frames of a processed video as thumbnails, one of them preferred (the one
ads show unless a creative picks another). The sandbox offers :data:`FRAMES` of them once the
video is ready, each a placeholder PNG it serves itself (``media.video_thumbnail_url``) at the
video's native size; a video still processing has none yet.
"""

from __future__ import annotations

from typing import Any

from meta_agent.sandbox.core import Ctx
from meta_agent.sandbox.media import video_thumbnail_url
from meta_agent.sandbox.nodes import Edge, Record, Registry, sdk_page
from meta_agent.sandbox.routes.videos import NATIVE_SIZE, is_ready

FRAMES = 3
DEFAULT_FIELDS = ("id", "height", "is_preferred", "name", "scale", "uri", "width")


def register(registry: Registry) -> None:
    """Attach the thumbnails edge to the video node."""
    registry.add_edge("advideo", "thumbnails", Edge(get=_thumbnails))


def thumbnails(ctx: Ctx, video: Record) -> list[dict[str, Any]]:
    """The video's thumbnails, the first preferred; none before processing ends."""
    if not is_ready(video, ctx.now()):
        return []
    width, height = NATIVE_SIZE
    return [
        {
            "id": f"{video['id']}{frame:02d}",
            "name": f"Frame {frame}",
            "uri": video_thumbnail_url(ctx, video["id"], frame),
            "width": width,
            "height": height,
            "scale": 1,
            "is_preferred": frame == 1,
        }
        for frame in range(1, FRAMES + 1)
    ]


def _thumbnails(ctx: Ctx, video: Record) -> Any:
    return sdk_page(ctx, thumbnails(ctx, video), "VideoThumbnail", DEFAULT_FIELDS)
