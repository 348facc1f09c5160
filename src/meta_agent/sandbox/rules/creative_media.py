"""The media a creative uses: the account's images and videos, and a dynamic creative's assets.

Images are named by hash and videos by id; both must belong to the creative's ad account
and not be deleted, and a video must have finished processing on the sandbox clock.
"""

from __future__ import annotations

from typing import Any

from meta_agent.sandbox.rules.creative_fields import (
    CALL_TO_ACTION_TYPES,
    Path,
    bad,
    check_url,
    id_text,
    optional_text,
    param_name,
    require_object,
)
from meta_agent.sandbox.state import SandboxState


class MediaLookup:
    """Finds the account's images and videos, refusing ones that are missing or not ready."""

    def __init__(self, state: SandboxState, account_id: str, now: float) -> None:
        self.state = state
        self.account_id = account_id
        self.now = now

    def image(self, image_hash: Any, path: Path) -> str:
        """The hash, once known to name an image in this ad account.

        Raises:
            GraphError: no such (non-deleted) image in the account's library.
        """
        text = optional_text(image_hash, path) or ""
        record = self.state.find(f"{self.account_id}:{text}")
        if record is None or record.get("kind") != "adimage" or record.get("status") == "DELETED":
            raise bad(
                path,
                f"Image with hash {text!r} was not found in ad account {self.account_id} "
                f"({param_name(path)})",
                "Image not found",
                "Upload the image to this ad account (POST /act_{id}/adimages) and use the hash "
                "it returns.",
            )
        return text

    def video(self, video_id: Any, path: Path) -> str:
        """The video id, once known to name a processed video in this ad account.

        Raises:
            GraphError: no such video in the account, or it is still processing.
        """
        text = str(video_id) if isinstance(video_id, str | int) else ""
        record = self.state.find(text)
        if (
            record is None
            or record.get("kind") != "advideo"
            or (record.get("account_id") != self.account_id or record.get("status") == "DELETED")
        ):
            raise bad(
                path,
                f"Video {text!r} was not found in ad account {self.account_id} "
                f"({param_name(path)})",
                "Video not found",
                "Upload the video to this ad account (POST /act_{id}/advideos) and use its id.",
            )
        ready_at = record.get("ready_at")
        if ready_at is None or self.now < float(ready_at):
            raise bad(
                path,
                f"Video {text} is still processing and can't be used in an ad yet",
                "Video still processing",
                "Wait until GET /{video_id}?fields=status shows video_status 'ready', then retry.",
            )
        return text


def check_asset_feed_spec(media: MediaLookup, value: Any) -> dict[str, Any]:
    """A dynamic creative's assets: images and videos must exist, links and CTAs be valid.

    Raises:
        GraphError: the first asset that breaks a rule.
    """
    path: Path = ("asset_feed_spec",)
    spec = require_object(value, path)
    for index, image in enumerate(_assets(spec, "images")):
        item = require_object(image, (*path, "images", str(index)))
        media.image(item.get("hash"), (*path, "images", str(index), "hash"))
    for index, video in enumerate(_assets(spec, "videos")):
        item = require_object(video, (*path, "videos", str(index)))
        media.video(id_text(item.get("video_id")), (*path, "videos", str(index), "video_id"))
    for index, link in enumerate(_assets(spec, "link_urls")):
        item_path = (*path, "link_urls", str(index))
        check_url(require_object(link, item_path).get("website_url"), (*item_path, "website_url"))
    for index, kind in enumerate(_assets(spec, "call_to_action_types")):
        if kind not in CALL_TO_ACTION_TYPES:
            item_path = (*path, "call_to_action_types", str(index))
            raise bad(
                item_path,
                f"param {param_name(item_path)} must be one of the call to action types",
                "Invalid call to action",
                f"'{kind}' is not a call to action type; use e.g. LEARN_MORE or SHOP_NOW.",
            )
    return spec


def _assets(spec: dict[str, Any], key: str) -> list[Any]:
    value = spec.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise bad(
            ("asset_feed_spec", key),
            f"Param asset_feed_spec[{key}] must be an array",
            "Array expected",
            f"Send asset_feed_spec.{key} as a JSON array.",
        )
    return value
