"""Ad images and videos: the asset models, and the spec checks run before anything is sent.

The models (:class:`ImageAsset`, :class:`VideoAsset`, their results) are the AssetAgent's
parameters; :func:`parse_asset` turns a failed validation into a ``RequestValidationError``
whose ``field`` is the dotted path to fix.

An image's size and its header (format, width and height) are checked before any pixel is
decoded; then it is decoded in full with Pillow, so a corrupt or truncated file is refused here,
naming the asset field, instead of failing inside a multi-file upload. What Meta cannot use is an
error (format, file size, too few pixels); what Meta would crop or letterbox is a warning,
per placement, because the ad still runs.

The numbers come from Meta's Ads Guide rather than the API reference (which defers to it), so
they live in :class:`ImageRules` and :class:`VideoRules`, where a caller can change them.
"""

from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from PIL import Image, UnidentifiedImageError
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from meta_agent.agents.validation import validate
from meta_agent.errors import RequestValidationError

MIB = 1024 * 1024
M = TypeVar("M", bound=BaseModel)


class Placement(StrEnum):
    """Where an image will show; each has the aspect ratios Meta shows without cropping."""

    FEED = "feed"
    STORIES = "stories"
    REELS = "reels"
    RIGHT_COLUMN = "right_column"
    SEARCH = "search"


# Width / height ranges Meta shows as they are (Ads Guide); outside them it crops or pads.
PLACEMENT_RATIOS: dict[Placement, tuple[float, float, str]] = {
    Placement.FEED: (4 / 5, 1.91, "1.91:1 to 4:5 (1:1 or 4:5 recommended)"),
    Placement.STORIES: (9 / 16, 9 / 16, "9:16"),
    Placement.REELS: (9 / 16, 9 / 16, "9:16"),
    Placement.RIGHT_COLUMN: (1.0, 1.91, "1.91:1 to 1:1"),
    Placement.SEARCH: (1.0, 1.91, "1.91:1 to 1:1"),
}
# Pillow's format names → the file extension Meta's upload wants (MPO is a camera JPEG).
IMAGE_FORMATS = {
    "JPEG": "jpg",
    "MPO": "jpg",
    "PNG": "png",
    "GIF": "gif",
    "BMP": "bmp",
    "TIFF": "tiff",
    "WEBP": "webp",
}
IMAGE_EXTENSIONS = frozenset({"jpg", "jpeg", "png", "gif", "bmp", "tif", "tiff", "webp"})


@dataclass(frozen=True)
class ImageRules:
    """Limits for ad images: beyond ``max_bytes`` or ``max_pixels``, or under the minimum size.

    ``max_bytes`` is Meta's 30 MB maximum for an ad image file. Meta publishes no maximum
    width or height (it scales down whatever it gets, and shows at most about 1440 px), so
    ``max_pixels`` is this service's own: 36 megapixels (6000x6000, any camera's full-size
    photo) decodes to at most 144 MB, where Pillow's default would admit 89 million pixels
    (a 10 KB PNG of 9000x9000 cost 78 MB to decode).
    """

    max_bytes: int = 30 * MIB
    min_width: int = 600
    min_height: int = 315
    recommended_width: int = 1080
    max_pixels: int = 36_000_000
    ratio_tolerance: float = 0.03


@dataclass(frozen=True)
class ImageSpec:
    """What the checks learnt: format (as Meta's file extension), size, and any warnings."""

    extension: str
    width: int
    height: int
    warnings: tuple[str, ...] = ()


def inspect_image(
    content: bytes,
    field: str,
    placements: tuple[Placement, ...] = (Placement.FEED,),
    rules: ImageRules | None = None,
) -> ImageSpec:
    """Decode ``content`` and check it against ``rules`` and each placement's aspect ratios.

    Blocking (a full decode): run it in a worker thread.

    Raises:
        RequestValidationError: the image is unreadable, of a format Meta refuses, too large
            or too small; ``field`` names the asset field it came from.
    """
    rules = rules or ImageRules()
    check_size(len(content), rules.max_bytes, field, "image")
    extension, width, height, animated = _decode(content, field, rules)
    _check_dimensions(width, height, field, rules)
    warnings = [*_ratio_warnings(width, height, placements, rules.ratio_tolerance)]
    if width < rules.recommended_width:
        warnings.append(
            f"{width} px wide is under the recommended {rules.recommended_width} px; "
            "the image may look soft on high-resolution screens"
        )
    if animated:
        warnings.append("animated GIF: ad images show only the first frame")
    return ImageSpec(extension, width, height, tuple(warnings))


def check_size(size: int, limit: int, field: str, what: str) -> None:
    """Refuse an empty file or one over ``limit`` bytes.

    Raises:
        RequestValidationError: the size is 0 or over the limit.
    """
    if size == 0:
        raise RequestValidationError(f"{field}: the {what} file is empty", field=field)
    if size > limit:
        raise RequestValidationError(
            f"{field}: the {what} is {size / MIB:.1f} MB, over Meta's {limit / MIB:.0f} MB "
            f"limit; compress or resize it",
            field=field,
            limit_bytes=limit,
        )


def _decode(content: bytes, field: str, rules: ImageRules) -> tuple[str, int, int, bool]:
    """Format extension, width, height and whether animated, once the whole file is read.

    The header alone (``Image.open`` reads no pixels) is checked against the format and
    ``rules.max_pixels`` first, so a small file declaring a huge canvas is never decoded.
    Then every byte is checked, as cheaply as the format allows (see :func:`_read_through`).
    """
    try:
        with Image.open(io.BytesIO(content)) as image:
            extension = IMAGE_FORMATS.get(image.format or "")
            if extension is None:
                raise _unsupported(field, image.format)
            width, height = image.size
            if width * height > rules.max_pixels:
                raise _too_many_pixels(field, f"{width}x{height} is", rules)
            animated = bool(getattr(image, "is_animated", 0))
            _read_through(image)
            return extension, width, height, animated
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        # Pillow's own guard, from the header, past its far larger limit (a warning, then an
        # error at twice it): the same refusal as ours.
        raise _too_many_pixels(field, "the image declares", rules) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as error:
        raise RequestValidationError(
            f"{field}: the data is not a readable image ({error}); send a JPEG, PNG, GIF, "
            "BMP, TIFF or WebP file",
            field=field,
        ) from None


def _read_through(image: Image.Image) -> None:
    """Read the file to its end, so truncated or damaged data fails here, not at Meta.

    A PNG is checked chunk by chunk against its CRCs to the end marker, without inflating
    a pixel (a 1200x1200 image: 0.02 ms rather than 4 ms). A JPEG's whole entropy-coded
    stream is decoded at an eighth of its size (the DCT scales for free). Other formats are
    decoded in full.
    """
    if image.format == "PNG":
        image.verify()
        return
    if image.format in ("JPEG", "MPO"):
        image.draft(image.mode, (max(1, image.width // 8), max(1, image.height // 8)))
    image.load()


def _too_many_pixels(field: str, what: str, rules: ImageRules) -> RequestValidationError:
    limit = rules.max_pixels
    return RequestValidationError(
        f"{field}: {what} over {limit:,} pixels ({limit / 1e6:g} megapixels, the most this "
        f"service decodes); resize it, {rules.recommended_width} px wide is what Meta shows",
        field=field,
        limit_pixels=limit,
    )


def _unsupported(field: str, kind: str | None) -> RequestValidationError:
    return RequestValidationError(
        f"{field}: {kind or 'this'} images are not accepted for ads; convert it to JPEG or PNG",
        field=field,
    )


def _check_dimensions(width: int, height: int, field: str, rules: ImageRules) -> None:
    if width < rules.min_width or height < rules.min_height:
        raise RequestValidationError(
            f"{field}: the image is {width}x{height} px; ad images must be at least "
            f"{rules.min_width}x{rules.min_height} px, use a larger original",
            field=field,
        )


def _ratio_warnings(
    width: int, height: int, placements: tuple[Placement, ...], tolerance: float
) -> list[str]:
    ratio = width / height
    warnings = []
    for placement in placements:
        low, high, label = PLACEMENT_RATIOS[placement]
        if not low * (1 - tolerance) <= ratio <= high * (1 + tolerance):
            warnings.append(
                f"aspect ratio {width}:{height} ({ratio:.2f}) is outside {label} for "
                f"{placement.value}; Meta will crop or pad it there"
            )
    return warnings


@dataclass(frozen=True)
class VideoRules:
    """Limits for ad video files: size and the file extensions (containers) Meta takes."""

    max_bytes: int = 4 * 1024 * MIB
    extensions: frozenset[str] = frozenset(
        {
            "3g2", "3gp", "3gpp", "asf", "avi", "dat", "divx", "dv", "f4v", "flv", "gif",
            "m2ts", "m4v", "mkv", "mod", "mov", "mp4", "mpe", "mpeg", "mpg", "mts", "nsv",
            "ogm", "ogv", "qt", "tod", "ts", "vob", "webm", "wmv",
        }
    )  # fmt: skip


_ISO_BOXES = (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot")
# The leading bytes a file with each extension must have (extensions not listed: not sniffed).
_SIGNATURES: dict[str, tuple[tuple[int, bytes], ...]] = {
    **dict.fromkeys(
        ("mp4", "m4v", "mov", "qt", "3gp", "3g2", "3gpp", "f4v"),
        tuple((4, box) for box in _ISO_BOXES),
    ),
    **dict.fromkeys(("mkv", "webm"), ((0, b"\x1a\x45\xdf\xa3"),)),
    "avi": ((8, b"AVI "),),
    "flv": ((0, b"FLV"),),
    **dict.fromkeys(("wmv", "asf"), ((0, b"\x30\x26\xb2\x75"),)),
    **dict.fromkeys(("ogv", "ogm"), ((0, b"OggS"),)),
    "gif": ((0, b"GIF8"),),
}
VIDEO_HEAD_BYTES = 16


def check_video(
    name: str, size: int, head: bytes, field: str, rules: VideoRules | None = None
) -> None:
    """Check a video file's size, extension and leading bytes before uploading it.

    Raises:
        RequestValidationError: empty, too large, an extension Meta does not take, or bytes
            that are not the container the extension names.
    """
    rules = rules or VideoRules()
    check_size(size, rules.max_bytes, field, "video")
    extension = name.rpartition(".")[2].lower() if "." in name else ""
    if extension not in rules.extensions:
        raise RequestValidationError(
            f"{field}: {name!r} is not a video file Meta accepts; use MP4 or MOV "
            f"(or one of {', '.join(sorted(rules.extensions))})",
            field=field,
        )
    signatures = _SIGNATURES.get(extension)
    if signatures and not any(head[at : at + len(magic)] == magic for at, magic in signatures):
        raise RequestValidationError(
            f"{field}: {name!r} does not start like a .{extension} file; it may be corrupt "
            "or misnamed, export it again as MP4",
            field=field,
        )


def _check_url(value: str | None) -> str | None:
    if value is not None:
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError("give a public http(s) address, e.g. https://example.com/a.jpg")
    return value


class ImageAsset(BaseModel):
    """One image to upload: exactly one of ``path``, ``url`` or ``data`` (bytes or base64)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: Path | None = None
    url: str | None = None
    data: bytes | None = Field(default=None, repr=False)
    name: str | None = Field(default=None, min_length=1, max_length=100)
    placements: tuple[Placement, ...] = (Placement.FEED,)

    @field_validator("data", mode="before")
    @classmethod
    def _decode_base64(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        text = "".join(value.split())
        if text.startswith("data:"):
            text = text.partition(",")[2]  # a data: URI, as browsers produce
        try:
            return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("text data must be base64; or send the raw bytes") from None

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        return _check_url(value)

    @model_validator(mode="after")
    def _one_source(self) -> ImageAsset:
        given = [name for name in ("path", "url", "data") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(
                f"give exactly one of path, url or data (got {', '.join(given) or 'none'})"
            )
        return self


class VideoAsset(BaseModel):
    """One video to upload: a file ``path`` or a public ``url``, with its ``title``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: Path | None = None
    url: str | None = None
    title: str = Field(min_length=1, max_length=255)
    name: str | None = Field(default=None, min_length=1, max_length=255)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        return _check_url(value)

    @model_validator(mode="after")
    def _one_source(self) -> VideoAsset:
        if (self.path is None) == (self.url is None):
            raise ValueError("give exactly one of path or url")
        return self


class StoredImage(BaseModel):
    """An image in an account's library, as cached: creatives refer to it by ``hash``."""

    model_config = ConfigDict(frozen=True)

    hash: str
    name: str | None = None
    url: str | None = None
    width: int | None = None
    height: int | None = None


class ImageResult(StoredImage):
    """One uploaded image; ``reused`` when no upload was needed (already there, or a repeat)."""

    reused: bool = False
    warnings: tuple[str, ...] = ()


class VideoResult(BaseModel):
    """One uploaded video; ``status`` is Meta's ``video_status`` (``ready`` once encoded)."""

    model_config = ConfigDict(frozen=True)

    id: str
    title: str
    status: str


def parse_asset(model: type[M], value: M | Mapping[str, Any], field: str) -> M:
    """``value`` as ``model``, a validation failure as a :class:`RequestValidationError`.

    Raises:
        RequestValidationError: names the first offending field under ``field``, and the fix.
    """
    return validate(model, value, field)
