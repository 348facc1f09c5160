"""Image dimensions read straight from file headers, so the sandbox needs no imaging library.

Meta decodes every uploaded ad image and refuses what it cannot decode; the sandbox reads just
enough of each format's header to know the format and the pixel size: PNG, JPEG, GIF, WebP,
BMP and TIFF. Anything else is "not an image" (``sniff`` returns None).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

# The extensions Meta accepts for ad image files (a .zip of them is unpacked separately).
IMAGE_EXTENSIONS = frozenset({"jpg", "jpeg", "png", "gif", "bmp", "webp", "tif", "tiff"})

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# JPEG start-of-frame markers carry the size; C4, C8 and CC are other segments in that range.
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})


@dataclass(frozen=True)
class ImageInfo:
    """What the sandbox knows about an image: its format (as a file extension) and size."""

    format: str
    width: int
    height: int


def sniff(content: bytes) -> ImageInfo | None:
    """The format and pixel size of ``content``, or None when it is no image we can read."""
    for reader in (_png, _jpeg, _gif, _webp, _bmp, _tiff):
        try:
            info = reader(content)
        except (struct.error, IndexError):
            info = None  # a truncated header: not a usable image
        if info is not None:
            return info if info.width > 0 and info.height > 0 else None
    return None


def extension(filename: str) -> str:
    """The lower-case extension of a file name (``""`` when it has none)."""
    _, dot, ext = filename.rpartition(".")
    return ext.lower() if dot else ""


def _png(data: bytes) -> ImageInfo | None:
    if not data.startswith(_PNG_SIGNATURE) or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return ImageInfo("png", width, height)


def _gif(data: bytes) -> ImageInfo | None:
    if data[:6] not in {b"GIF87a", b"GIF89a"}:
        return None
    width, height = struct.unpack("<HH", data[6:10])
    return ImageInfo("gif", width, height)


def _bmp(data: bytes) -> ImageInfo | None:
    if data[:2] != b"BM" or len(data) < 26:
        return None
    width, height = struct.unpack("<ii", data[18:26])
    return ImageInfo("bmp", abs(width), abs(height))  # negative height = top-down rows


def _tiff(data: bytes) -> ImageInfo | None:
    order = {b"II*\x00": "<", b"MM\x00*": ">"}.get(data[:4])
    if order is None:
        return None
    (ifd,) = struct.unpack(order + "I", data[4:8])
    (count,) = struct.unpack(order + "H", data[ifd : ifd + 2])
    size: dict[int, int] = {}
    for index in range(count):
        entry = data[ifd + 2 + 12 * index : ifd + 14 + 12 * index]
        tag, kind = struct.unpack(order + "HH", entry[:4])
        if tag in {256, 257}:  # ImageWidth, ImageLength: SHORT (3) or LONG (4)
            fmt = order + ("H" if kind == 3 else "I")
            size[tag] = struct.unpack(fmt, entry[8 : 8 + struct.calcsize(fmt)])[0]
    if 256 not in size or 257 not in size:
        return None
    return ImageInfo("tiff", size[256], size[257])


def _webp(data: bytes) -> ImageInfo | None:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return None
    chunk = data[12:16]
    if chunk == b"VP8X":
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return ImageInfo("webp", width, height)
    if chunk == b"VP8L" and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return ImageInfo("webp", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    if chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", data[26:30])
        return ImageInfo("webp", width & 0x3FFF, height & 0x3FFF)
    return None


def _jpeg(data: bytes) -> ImageInfo | None:
    if data[:2] != b"\xff\xd8":
        return None
    offset = 2
    while offset + 4 <= len(data):
        if data[offset] != 0xFF:
            return None
        marker = data[offset + 1]
        if marker == 0xFF:  # fill byte before a marker
            offset += 1
            continue
        if marker in _JPEG_STANDALONE:
            offset += 2
            continue
        (length,) = struct.unpack(">H", data[offset + 2 : offset + 4])
        if marker in _JPEG_SOF:
            height, width = struct.unpack(">HH", data[offset + 5 : offset + 9])
            return ImageInfo("jpg", width, height)
        offset += 2 + length
    return None
