"""Ad videos: ``/act_{id}/advideos`` uploads (simple and chunked), listing, ``/{video_id}`` (§3.6).

A video arrives whole (``source`` file, ``file_url``, ``slideshow_spec``) or in chunks: ``start``
opens an upload session, each ``transfer`` carries the bytes from the offset the sandbox expects
next, ``finish`` closes it. A chunk sent from any other offset fails with 6001/1363037 and the
expected offsets in ``error_data``, which is how the official SDK resumes. Once uploaded, a video
is ``processing`` for ``config.video_processing_seconds`` of sandbox time, then ``ready``.
"""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import urlsplit

from meta_agent.sandbox.core import Ctx
from meta_agent.sandbox.errors import GraphError, invalid_param, object_not_found, required_param
from meta_agent.sandbox.media import VIDEO_PREFIX, media_of, video_picture_url, video_url
from meta_agent.sandbox.nodes import (
    Edge,
    NodeType,
    Record,
    Registry,
    compact,
    fmt_time,
    page,
    read_node,
)
from meta_agent.sandbox.params import check_enum, check_known, validate_only
from meta_agent.sandbox.routes.common import SUCCESS, account_of, created, deleted, updated

CHUNK_BYTES = 1024 * 1024  # the chunk size Meta hands out in start/transfer replies
UPLOAD_PHASES = ("start", "transfer", "finish", "cancel")
NATIVE_SIZE = (1280, 720)  # the sandbox cannot decode video; every upload plays at 720p
BYTES_PER_SECOND = 250_000  # ~2 Mbit/s: turns a file size into a plausible duration
# Parameters the official SDK's create_ad_video knows (AdAccount.create_ad_video param_types).
_SDK_PARAMS = """application_id asked_fun_fact_prompt_id audio_story_wave_animation_handle chunk_session_id
    composer_entry_picker composer_entry_point composer_entry_time composer_session_events_log
    composer_session_id composer_source_surface composer_type container_type content_category
    creative_tools description edit_description_spec embeddable end_offset
    fbuploader_video_file_chunk file_size file_url fisheye_video_cropped formatting fov
    front_z_rotation fun_fact_prompt_id fun_fact_toastee_id guide guide_enabled initial_heading
    initial_pitch instant_game_entry_point_data is_ai_generated is_boost_intended
    is_group_linking_post is_partnership_ad is_voice_clip location_source_id name
    og_action_type_id og_icon_id og_object_id og_phrase og_suggestion_mechanism original_fov
    original_projection_type partnership_ad_ad_code publish_event_id referenced_sticker_id
    replace_video_id selected_audio_spec slideshow_spec source source_instagram_media_id
    spherical start_offset swap_mode text_format_metadata thumb time_since_original_post title
    transcode_setting_properties unpublished_content_type upload_phase upload_session_id
    upload_setting_properties video_file_chunk video_id_original video_start_time_ms
    waterfall_id"""
CREATE_PARAMS = frozenset(_SDK_PARAMS.split())
UPDATE_PARAMS = frozenset({"name", "title", "description", "status"})
DELETE_PARAMS = frozenset({"video_id"})
FIELDS = frozenset(
    {
        "id",
        "title",
        "description",
        "length",
        "created_time",
        "updated_time",
        "source",
        "picture",
        "format",
        "status",
        "permalink_url",
        "published",
        "icon",
    }
)


def register(registry: Registry) -> None:
    """Register the video node and the account's ``advideos`` edge."""
    registry.node(
        NodeType("advideo", "AdVideo", FIELDS, render, ("id",), update=_update, delete=deleted)
    )
    registry.add_edge("adaccount", "advideos", Edge(get=_list, post=_create, delete=_delete))


def render(ctx: Ctx, record: Record) -> dict[str, Any]:
    """A video with every readable field; deleted or cancelled videos no longer exist."""
    if record.get("status") == "DELETED":
        raise object_not_found(record["id"], ctx.req.method)
    tz = ctx.state.get(f"act_{record['account_id']}")["timezone_name"]
    ready = is_ready(record, ctx.now())
    picture = video_picture_url(ctx, record["id"])
    return compact(
        {
            "id": record["id"],
            "title": record.get("title"),
            "description": record.get("description"),
            "length": record.get("length"),
            "created_time": fmt_time(record["created_time"], tz),
            "updated_time": fmt_time(record.get("updated_time", record["created_time"]), tz),
            "source": video_url(ctx, record["id"]) if ready else None,
            "picture": picture,
            "icon": video_picture_url(ctx),
            "format": _formats(picture) if ready else [],
            "status": video_status(record, ctx.now(), ctx.sb.config.video_processing_seconds),
            "permalink_url": f"/{record['account_id']}/videos/{record['id']}/",
            "published": False,
        }
    )


def is_ready(record: Record, now: float) -> bool:
    """Whether the video has finished processing (creatives may use it from then on)."""
    ready_at = record.get("ready_at")
    return ready_at is not None and now >= float(ready_at)


def video_status(record: Record, now: float, processing_seconds: float) -> dict[str, Any]:
    """The ``status`` object the SDK's encoding checker polls (``video_status`` and phases)."""
    uploading = compact(
        {
            "status": "in_progress" if record.get("upload_phase") == "transfer" else "complete",
            "bytes_transferred": record.get("bytes_received", record.get("size")),
            "source_file_size": record.get("size"),
            "errors": [],
        }
    )
    if uploading["status"] == "in_progress" or record.get("ready_at") is None:
        return _phases("upload", 0, uploading, "not_started", "not_started")
    ready_at = float(record["ready_at"])
    if now >= ready_at:
        return _phases("ready", 100, uploading, "complete", "complete")
    elapsed = processing_seconds - (ready_at - now)
    progress = max(0, min(99, int(100 * elapsed / processing_seconds))) if processing_seconds else 0
    return _phases("processing", progress, uploading, "in_progress", "not_started")


def _phases(
    status: str, progress: int, uploading: dict[str, Any], processing: str, publishing: str
) -> dict[str, Any]:
    return {
        "video_status": status,
        "processing_progress": progress,
        "uploading_phase": uploading,
        "processing_phase": {"status": processing, "errors": []},
        "publishing_phase": {"status": publishing, "publish_status": "not_published"},
    }


def _formats(picture: str) -> list[dict[str, Any]]:
    width, height = NATIVE_SIZE
    return [
        {"filter": "130x130", "width": 130, "height": 73, "picture": picture},
        {"filter": "720x720", "width": 720, "height": 405, "picture": picture},
        {"filter": "native", "width": width, "height": height, "picture": picture},
    ]


def _create(ctx: Ctx, account: Record) -> Any:
    account = account_of(ctx, account["id"])
    check_known(ctx.params, CREATE_PARAMS, "AdVideo")
    phase = ctx.params.str_("upload_phase")
    if phase is None:
        return created(ctx, _whole_video(ctx, account["account_id"]))
    check_enum("upload_phase", phase, UPLOAD_PHASES)
    if phase == "start":
        return _start(ctx, account["account_id"])
    session = _session(ctx, account["account_id"])
    handlers = {"transfer": _transfer, "finish": _finish, "cancel": _cancel}
    return handlers[phase](ctx, session)


def _whole_video(ctx: Ctx, account_id: str) -> Record:
    """A video sent in one request: a ``source`` file, a ``file_url`` or a ``slideshow_spec``."""
    params = ctx.params
    source = params.files.get("source")
    if source is not None:
        _check_container(source.content, "source")
        record = _new_video(ctx, account_id, len(source.content), uploaded=True)
        if not validate_only(ctx.params):
            media_of(ctx.sb).put(VIDEO_PREFIX + record["id"], source.content)
        return record
    if "slideshow_spec" in params:
        return _slideshow(ctx, account_id)
    url = params.str_("file_url")
    if url is None:
        raise invalid_param(
            "No video was provided: send file_url, a multipart source file, or upload it in "
            "chunks with upload_phase=start",
            blame="source",
            title="Video missing",
            user_msg="Send the video as a 'source' file part or a public 'file_url'.",
        )
    parts = urlsplit(url.strip())
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise invalid_param(
            "Unable to fetch video file from URL.",
            code=389,
            blame="file_url",
            title="Video URL unreachable",
            user_msg="Give file_url as a public http(s) address of the video file.",
        )
    seconds = 6 + int(hashlib.sha256(url.encode()).hexdigest(), 16) % 55
    record = _new_video(ctx, account_id, None, uploaded=True)
    return {**record, "file_url": url, "length": float(seconds)}


def _slideshow(ctx: Ctx, account_id: str) -> Record:
    spec = ctx.params.object_("slideshow_spec") or {}
    images = spec.get("images_urls")
    if not isinstance(images, list) or not 3 <= len(images) <= 7:
        raise invalid_param(
            "slideshow_spec.images_urls must list 3 to 7 image URLs",
            blame=("slideshow_spec", "images_urls"),
            title="Invalid slideshow",
        )
    duration_ms = spec.get("duration_ms", 1750)
    if not isinstance(duration_ms, int) or duration_ms <= 0:
        raise invalid_param(
            "slideshow_spec.duration_ms must be a positive whole number of milliseconds",
            blame=("slideshow_spec", "duration_ms"),
        )
    record = _new_video(ctx, account_id, None, uploaded=True)
    return {**record, "length": round(duration_ms * len(images) / 1000, 2)}


def _new_video(ctx: Ctx, account_id: str, size: int | None, *, uploaded: bool) -> Record:
    now = ctx.now()
    title = ctx.params.str_("title", max_len=255)
    record: Record = {
        "kind": "advideo",
        "id": ctx.sb.new_id(),
        "account_id": account_id,
        "title": title,
        "name": ctx.params.str_("name") or title,
        "description": ctx.params.str_("description"),
        "size": size,
        "length": _length(size),
        "status": "ACTIVE",
        "created_time": now,
        "updated_time": now,
        "ready_at": now + ctx.sb.config.video_processing_seconds if uploaded else None,
    }
    return compact(record) | {"ready_at": record["ready_at"]}


def _length(size: int | None) -> float | None:
    return None if size is None else round(max(1.0, size / BYTES_PER_SECOND), 2)


# Leading bytes of the containers Meta accepts (MP4/MOV/3GP, WebM/MKV, AVI, FLV, MPEG, ASF).
_CONTAINER_BOXES = {b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}
_CONTAINER_MAGIC = (b"\x1a\x45\xdf\xa3", b"FLV", b"\x00\x00\x01\xba", b"\x30\x26\xb2\x75", b"GIF8")


def _check_container(head: bytes, param: str) -> None:
    """Refuse bytes that no video container starts with (code 352), or an empty file (382)."""
    if not head:
        raise invalid_param(
            "The video file you tried to upload is too small. Please try again with a larger file.",
            code=382,
            blame=param,
            title="Video too small",
        )
    known = (
        head[4:8] in _CONTAINER_BOXES
        or head.startswith(_CONTAINER_MAGIC)
        or (head[:4] == b"RIFF" and head[8:12] == b"AVI ")
        or (head[0] == 0x47 and (len(head) < 189 or head[188] == 0x47))  # MPEG-TS sync bytes
    )
    if not known:
        raise invalid_param(
            "The video file you selected is in a format that we don't support.",
            code=352,
            blame=param,
            title="Unsupported video format",
            user_msg="Upload an MP4, MOV, WebM, AVI or other common video file.",
        )


def _start(ctx: Ctx, account_id: str) -> dict[str, Any]:
    size = ctx.params.int_("file_size", required=True, minimum=0)
    assert size is not None
    if size == 0:
        _check_container(b"", "file_size")
    record = _new_video(ctx, account_id, size, uploaded=False)
    record.update(upload_session_id=ctx.sb.new_id(), upload_phase="transfer", bytes_received=0)
    ctx.state.add(record)
    return {
        "upload_session_id": record["upload_session_id"],
        "video_id": record["id"],
        "start_offset": "0",
        "end_offset": str(min(size, CHUNK_BYTES)),
    }


def _session(ctx: Ctx, account_id: str) -> Record:
    """The open (or finished) upload session named by ``upload_session_id``."""
    session_id = ctx.params.require_str("upload_session_id")
    for record in ctx.state.of_kind("advideo", account_id=account_id):
        if record.get("upload_session_id") == session_id:
            return record
    raise invalid_param(
        f"Upload session {session_id} does not exist in this ad account",
        blame="upload_session_id",
        title="Unknown upload session",
        user_msg="Start a new upload with upload_phase=start and use the session id it returns.",
    )


def _check_open(record: Record) -> None:
    phase = record.get("upload_phase")
    if phase != "transfer":
        state = "finished" if phase == "complete" else "cancelled"
        raise invalid_param(
            f"Upload session {record['upload_session_id']} is already {state}",
            blame="upload_session_id",
            title="Upload session closed",
            user_msg="Start a new upload with upload_phase=start.",
        )


def _next_chunk(record: Record) -> tuple[int, int]:
    received = int(record["bytes_received"])
    return received, min(received + CHUNK_BYTES, int(record["size"]))


def _offset_mismatch(record: Record) -> GraphError:
    """6001/1363037 with the chunk the sandbox expects, the reply the SDK resumes from."""
    start, end = _next_chunk(record)
    return GraphError(
        message="There was a problem uploading your video. Please try again.",
        code=6001,
        subcode=1363037,
        user_title="Error Uploading Video",
        user_msg=f"Resume the upload from byte {start}: send the chunk from {start} to {end}.",
        # The SDK reads error_data as a dict here (video_uploader.py), as Meta sends it.
        extra={"error_data": {"start_offset": start, "end_offset": end}},
    )


def _transfer(ctx: Ctx, record: Record) -> dict[str, str]:
    _check_open(record)
    start = ctx.params.int_("start_offset", required=True, minimum=0) or 0
    chunk = ctx.params.files.get("video_file_chunk")
    if chunk is None:
        raise required_param("video_file_chunk")
    if start != record["bytes_received"] or not chunk.content:
        raise _offset_mismatch(record)
    if start + len(chunk.content) > int(record["size"]):
        raise invalid_param(
            f"The chunk runs past the file_size of {record['size']} bytes given at start",
            blame="video_file_chunk",
            title="Chunk too large",
            user_msg="Send exactly the bytes between start_offset and end_offset.",
        )
    if start == 0:
        _check_container(chunk.content, "video_file_chunk")
    media_of(ctx.sb).append(VIDEO_PREFIX + record["id"], chunk.content)
    record["bytes_received"] = start + len(chunk.content)
    record["updated_time"] = ctx.now()
    next_start, next_end = _next_chunk(record)
    return {"start_offset": str(next_start), "end_offset": str(next_end)}


def _finish(ctx: Ctx, record: Record) -> dict[str, bool]:
    _check_open(record)
    if record["bytes_received"] < record["size"]:
        raise _offset_mismatch(record)
    now = ctx.now()
    changes: dict[str, Any] = {"upload_phase": "complete", "updated_time": now}
    changes["ready_at"] = now + ctx.sb.config.video_processing_seconds
    for name in ("title", "name", "description"):
        value = ctx.params.str_(name, max_len=255 if name == "title" else None)
        if value is not None:
            changes[name] = value
    record.update(changes)
    return dict(SUCCESS)


def _cancel(ctx: Ctx, record: Record) -> dict[str, bool]:
    _check_open(record)
    media_of(ctx.sb).drop(VIDEO_PREFIX + record["id"])
    record.update(upload_phase="cancelled", status="DELETED", updated_time=ctx.now())
    return dict(SUCCESS)


def _list(ctx: Ctx, account: Record) -> Any:
    bounds = _bounds(ctx)
    title = ctx.params.str_("title")
    chosen = [
        record
        for record in ctx.state.of_kind("advideo", account_id=account["account_id"])
        if record.get("status") != "DELETED"
        and record.get("upload_phase") != "transfer"
        and (title is None or record.get("title") == title)
        and _within(record, bounds)
    ]
    return page(ctx, chosen, lambda r: read_node(ctx, r))


_BOUND_PARAMS = (
    ("length", "minlength", "maxlength"),
    ("width", "minwidth", "maxwidth"),
    ("height", "minheight", "maxheight"),
    ("aspect_ratio", "min_aspect_ratio", "max_aspect_ratio"),
)


def _bounds(ctx: Ctx) -> dict[str, tuple[float, float]]:
    """The listing's numeric filters, as (low, high) per measure."""
    return {
        measure: (_number(ctx, low) or 0.0, _number(ctx, high) or float("inf"))
        for measure, low, high in _BOUND_PARAMS
    }


def _number(ctx: Ctx, name: str) -> float | None:
    value = ctx.params.get_raw(name)
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise invalid_param(f"Param {name} must be a number", blame=name) from None


def _within(record: Record, bounds: dict[str, tuple[float, float]]) -> bool:
    width, height = NATIVE_SIZE
    measures = {
        "length": float(record.get("length") or 0.0),
        "width": float(width),
        "height": float(height),
        "aspect_ratio": width / height,
    }
    return all(low <= measures[name] <= high for name, (low, high) in bounds.items())


def _update(ctx: Ctx, record: Record) -> Any:
    check_known(ctx.params, UPDATE_PARAMS, "AdVideo")
    if record.get("status") == "DELETED":
        raise object_not_found(record["id"], "POST")
    changes = {
        name: ctx.params.str_(name, max_len=255 if name == "title" else None)
        for name in ("name", "title", "description")
        if name in ctx.params
    }
    return updated(ctx, record, changes)


def _delete(ctx: Ctx, account: Record) -> Any:
    check_known(ctx.params, DELETE_PARAMS, "AdVideo")
    video_id = ctx.params.require_str("video_id")
    record = ctx.state.find(video_id)
    if (
        record is None
        or record.get("kind") != "advideo"
        or record.get("account_id") != account["account_id"]
        or record.get("status") == "DELETED"
    ):
        raise invalid_param(
            f"Video {video_id} does not exist in ad account {account['account_id']}",
            blame="video_id",
            title="Video not found",
            user_msg="List the account's videos (GET /act_{id}/advideos) to find the id.",
        )
    return deleted(ctx, record)
