"""Ad images: ``/act_{id}/adimages`` upload, list and delete (reference §3.5).

An image is known by the MD5 of its bytes (its ``hash``); the library holds one image per hash
and account, so uploading the same bytes twice returns the same hash. The sandbox keeps the
size and dimensions it read from the bytes, and the bytes themselves in its media store
(:mod:`meta_agent.sandbox.media`): an image's ``url`` and ``permalink_url`` are the sandbox's
own ``/_sandbox/media/{hash}.{ext}``, built from the base URL of the request that reads them.
"""

from __future__ import annotations

import base64
import binascii
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from meta_agent.sandbox.core import Ctx
from meta_agent.sandbox.errors import GraphError, invalid_param
from meta_agent.sandbox.ids import image_hash
from meta_agent.sandbox.imaging import IMAGE_EXTENSIONS, ImageInfo, extension, sniff
from meta_agent.sandbox.media import image_url, media_of
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
from meta_agent.sandbox.params import check_known, validate_only
from meta_agent.sandbox.routes.common import SUCCESS, account_of, deleted

MAX_IMAGE_BYTES = 30 * 1024 * 1024  # Meta's ceiling for one ad image file
MAX_ZIP_ENTRIES = 100
CREATE_PARAMS = frozenset({"bytes", "copy_from", "name"})
DELETE_PARAMS = frozenset({"hash", "image_id"})
FIELDS = frozenset(
    {
        "id",
        "account_id",
        "created_time",
        "creatives",
        "hash",
        "height",
        "width",
        "original_height",
        "original_width",
        "name",
        "permalink_url",
        "status",
        "updated_time",
        "url",
        "url_128",
        "is_associated_creatives_in_adgroups",
    }
)
_FORMATS = "PNG, JPEG, GIF, BMP, TIFF or WebP"


@dataclass(frozen=True)
class Upload:
    """One image file in a request: its key in the reply, its name, bytes and decoded header."""

    key: str
    name: str
    content: bytes
    info: ImageInfo


def register(registry: Registry) -> None:
    """Register the image node and the account's ``adimages`` edge."""
    registry.node(NodeType("adimage", "AdImage", FIELDS, render, ("hash", "id")))
    registry.add_edge("adaccount", "adimages", Edge(get=_list, post=_create, delete=_delete))


def render(ctx: Ctx, record: Record) -> dict[str, Any]:
    """An image as the library lists it."""
    tz = ctx.state.get(f"act_{record['account_id']}")["timezone_name"]
    creatives = creatives_using(ctx, record)
    return compact(
        {
            "id": record["id"],
            "account_id": record["account_id"],
            "hash": record["hash"],
            "name": record["name"],
            "width": record["width"],
            "height": record["height"],
            "original_width": record["width"],
            "original_height": record["height"],
            "status": record.get("status", "ACTIVE"),
            "url": _url(ctx, record),
            "url_128": _variant(ctx, record, "s128x128"),
            "permalink_url": _url(ctx, record),
            "created_time": fmt_time(record["created_time"], tz),
            "updated_time": fmt_time(record["updated_time"], tz),
            "creatives": creatives,
            "is_associated_creatives_in_adgroups": _in_ads(ctx, creatives),
        }
    )


def upload_entry(ctx: Ctx, record: Record) -> dict[str, Any]:
    """One entry of the ``{"images": {...}}`` reply to an upload."""
    return {
        "hash": record["hash"],
        "url": _url(ctx, record),
        "url_128": _variant(ctx, record, "s128x128"),
        "url_256": _variant(ctx, record, "s256x256"),
        "url_256_height": _variant(ctx, record, "p256h"),
        "url_256_width": _variant(ctx, record, "p256w"),
        "height": record["height"],
        "width": record["width"],
        "name": record["name"],
    }


def _url(ctx: Ctx, record: Record) -> str:
    """The sandbox's own URL for the image (the stored ``url`` names the file's extension)."""
    return image_url(ctx, str(record["hash"]), str(record["url"]).rpartition(".")[2])


def _variant(ctx: Ctx, record: Record, size: str) -> str:
    """A size variant's URL; the sandbox serves it at the original size."""
    stem, _, ext = _url(ctx, record).rpartition(".")
    return f"{stem}_{size}.{ext}"


def creatives_using(ctx: Ctx, record: Record) -> list[str]:
    """Ids of the account's live creatives whose spec names this image's hash."""
    return [
        creative["id"]
        for creative in ctx.state.of_kind("adcreative", account_id=record["account_id"])
        if creative.get("status") != "DELETED" and _mentions(creative, record["hash"])
    ]


def _mentions(creative: Record, digest: str) -> bool:
    if creative.get("image_hash") == digest:
        return True
    specs = (creative.get(key) for key in ("object_story_spec", "asset_feed_spec"))
    return any(_contains(spec, digest) for spec in specs)


def _contains(value: Any, target: str) -> bool:
    if isinstance(value, dict):
        return any(_contains(item, target) for item in value.values())
    if isinstance(value, list):
        return any(_contains(item, target) for item in value)
    return isinstance(value, str) and value == target


def _in_ads(ctx: Ctx, creative_ids: list[str]) -> bool:
    wanted = set(creative_ids)
    return any(
        ad.get("creative_id") in wanted and ad.get("status") != "DELETED"
        for ad in ctx.state.of_kind("ad")
    )


def _create(ctx: Ctx, account: Record) -> Any:
    account = account_of(ctx, account["id"])
    check_known(ctx.params, CREATE_PARAMS, "AdImage")
    uploads = [*_from_bytes(ctx), *_from_files(ctx)]
    copies = _copy_source(ctx, account["account_id"])
    if not uploads and copies is None:
        raise invalid_param(
            "No image was provided: send bytes, a multipart image file, or copy_from",
            blame="bytes",
            title="Image missing",
            user_msg="Send the image as base64 'bytes', as a multipart file part, or use "
            "copy_from with source_account_id and hash.",
        )
    if validate_only(ctx.params):
        return dict(SUCCESS)
    images = {u.key: upload_entry(ctx, _store(ctx, account["account_id"], u)) for u in uploads}
    if copies is not None:
        images[copies["hash"]] = upload_entry(ctx, _copy(ctx, account["account_id"], copies))
    return {"images": images}


def _from_bytes(ctx: Ctx) -> list[Upload]:
    text = ctx.params.str_("bytes")
    if text is None:
        return []
    compact_text = "".join(text.split()).replace("-", "+").replace("_", "/")
    try:
        content = base64.b64decode(compact_text + "=" * (-len(compact_text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise invalid_param(
            "Param bytes must be the image file encoded as base64",
            blame="bytes",
            title="Invalid image data",
            user_msg="Encode the image file's bytes as base64 and send them in 'bytes'.",
        ) from None
    info = _decode(content, "bytes", "bytes")
    name = ctx.params.str_("name", max_len=100) or f"{image_hash(content)}.{info.format}"
    return [Upload("bytes", name, content, info)]


def _from_files(ctx: Ctx) -> Iterator[Upload]:
    for field, uploaded in ctx.params.files.items():
        name = uploaded.filename.replace("\\", "/").rsplit("/", 1)[-1] or field
        ext = extension(name)
        if ext == "zip":
            yield from _unzip(uploaded.content, field)
            continue
        if ext not in IMAGE_EXTENSIONS:
            raise invalid_param(
                f"File {name} is not an image: its name must end in an image extension "
                f"({', '.join(sorted(IMAGE_EXTENSIONS))}) or .zip",
                blame=(field,),
                title="Unsupported file type",
                user_msg=f"Upload images as {_FORMATS} files named with their extension.",
            )
        yield Upload(name, name, uploaded.content, _decode(uploaded.content, name, field))


def _unzip(content: bytes, field: str) -> Iterator[Upload]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        entries = [e for e in archive.infolist() if not e.is_dir()]
    except (zipfile.BadZipFile, ValueError):
        raise invalid_param(
            "The uploaded .zip file can't be read", blame=(field,), title="Invalid zip file"
        ) from None
    images = [e for e in entries if extension(e.filename) in IMAGE_EXTENSIONS]
    if not images or len(images) > MAX_ZIP_ENTRIES:
        raise invalid_param(
            f"A .zip upload must hold between 1 and {MAX_ZIP_ENTRIES} image files",
            blame=(field,),
            title="No images in zip file",
        )
    for entry in images:
        name = entry.filename.rsplit("/", 1)[-1]
        if entry.file_size > MAX_IMAGE_BYTES:
            raise _too_large(name, field)
        data = archive.read(entry)
        yield Upload(name, name, data, _decode(data, name, field))


def _decode(content: bytes, name: str, field: str) -> ImageInfo:
    """The image's header, or Meta's refusal of a file it cannot use as an image."""
    if len(content) > MAX_IMAGE_BYTES:
        raise _too_large(name, field)
    info = sniff(content)
    if info is None:
        raise invalid_param(
            f"Invalid image: {name} is not a {_FORMATS} image",
            blame=(field,),
            title="Invalid image",
            user_msg=f"The file could not be read as an image; upload a {_FORMATS} file.",
        )
    return info


def _too_large(name: str, field: str) -> GraphError:
    return invalid_param(
        f"Image {name} is larger than the 30 MB limit",
        blame=(field,),
        title="Image too large",
        user_msg="Upload an image file of 30 MB or less.",
    )


def _store(ctx: Ctx, account_id: str, upload: Upload) -> Record:
    """The library entry for these bytes: the existing one (revived if deleted) or a new one."""
    digest = image_hash(upload.content)
    media_of(ctx.sb).put(digest, upload.content)
    now = ctx.now()
    existing = ctx.state.find(f"{account_id}:{digest}")
    if existing is not None:
        if existing.get("status") == "DELETED":
            existing.update(status="ACTIVE", name=upload.name, updated_time=now)
        return existing
    return ctx.state.add(
        {
            "kind": "adimage",
            "id": f"{account_id}:{digest}",
            "account_id": account_id,
            "hash": digest,
            "name": upload.name,
            "width": upload.info.width,
            "height": upload.info.height,
            "status": "ACTIVE",
            "url": image_url(ctx, digest, upload.info.format),
            "created_time": now,
            "updated_time": now,
            "size": len(upload.content),
        }
    )


def _copy_source(ctx: Ctx, account_id: str) -> Record | None:
    """The image ``copy_from`` names, checked before anything is stored."""
    spec = ctx.params.object_("copy_from")
    if spec is None:
        return None
    source = str(spec.get("source_account_id") or "").removeprefix("act_")
    digest = str(spec.get("hash") or "")
    if not source or not digest:
        raise invalid_param(
            "copy_from needs both source_account_id and hash",
            blame=("copy_from", "hash" if source else "source_account_id"),
            user_msg='Send copy_from as {"source_account_id": "<digits>", "hash": "<hash>"}.',
        )
    record = ctx.state.find(f"{source}:{digest}")
    if record is None or record.get("kind") != "adimage" or record.get("status") == "DELETED":
        raise invalid_param(
            f"Image with hash {digest} was not found in ad account {source}",
            blame=("copy_from", "hash"),
            title="Image not found",
            user_msg="Check the source account id and the image hash to copy.",
        )
    return record


def _copy(ctx: Ctx, account_id: str, source: Record) -> Record:
    existing = ctx.state.find(f"{account_id}:{source['hash']}")
    if existing is not None and existing.get("status") != "DELETED":
        return existing
    now = ctx.now()
    copy = {**source, "id": f"{account_id}:{source['hash']}", "account_id": account_id}
    copy.update(status="ACTIVE", created_time=now, updated_time=now)
    return ctx.state.add(copy)


def _list(ctx: Ctx, account: Record) -> Any:
    params = ctx.params
    hashes = _hash_filter(ctx)
    min_width = params.int_("minwidth", minimum=0) or 0
    min_height = params.int_("minheight", minimum=0) or 0
    name = params.str_("name")
    chosen = [
        record
        for record in ctx.state.of_kind("adimage", account_id=account["account_id"])
        if record.get("status") != "DELETED"
        and (hashes is None or record["hash"] in hashes)
        and record["width"] >= min_width
        and record["height"] >= min_height
        and (name is None or record["name"] == name)
    ]
    return page(ctx, chosen, lambda r: read_node(ctx, r))


def _hash_filter(ctx: Ctx) -> set[str] | None:
    """``hashes`` and ``selected_hashes`` (JSON list or comma form) combined."""
    found: set[str] | None = None
    for param in ("hashes", "selected_hashes"):
        values = ctx.params.list_(param)
        if values is not None:
            found = (found or set()) | {str(value) for value in values}
    return found


def _delete(ctx: Ctx, account: Record) -> Any:
    check_known(ctx.params, DELETE_PARAMS, "AdImage")
    digest = ctx.params.require_str("hash")
    record = ctx.state.find(f"{account['account_id']}:{digest}")
    if record is None or record.get("kind") != "adimage" or record.get("status") == "DELETED":
        raise invalid_param(
            f"Image with hash {digest} does not exist in ad account {account['account_id']}",
            blame="hash",
            title="Image not found",
            user_msg="List the account's images (GET /act_{id}/adimages) to find the hash.",
        )
    users = creatives_using(ctx, record)
    if users:
        raise invalid_param(
            f"Image with hash {digest} is used by ad creative(s) {', '.join(users)} and "
            "can't be deleted",
            blame="hash",
            title="Image in use",
            user_msg="Only images no creative uses can be deleted; delete those creatives first.",
        )
    return deleted(ctx, record)
