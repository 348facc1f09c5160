"""Ad images: uploads by bytes, multipart and zip, hashes, listing, copy and delete (§3.5)."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import struct
import zipfile
import zlib
from typing import Any

import pytest

from meta_agent.sandbox import Sandbox
from tests.conftest import INR_ACCOUNT, PAGE_ID, USD_ACCOUNT, Graph, error_of

EDGE = f"{INR_ACCOUNT}/adimages"


def png(width: int, height: int, shade: int = 0) -> bytes:
    """A real (decodable) RGB PNG of one colour, built without an imaging library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes([shade, 80, 160]) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def gif(width: int, height: int) -> bytes:
    """The header of a GIF: signature and logical screen size."""
    return b"GIF89a" + struct.pack("<HH", width, height) + b"\x00\x00\x00;"


def jpeg(width: int, height: int) -> bytes:
    """A JPEG's markers up to the frame header (APP0 first, as cameras write it)."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, height, width, 3) + b"\x01\x11\x00" * 3
    return b"\xff\xd8" + app0 + sof + b"\xff\xd9"


def webp(width: int, height: int) -> bytes:
    """An extended-format WebP header (VP8X) carrying the canvas size."""
    body = b"VP8X" + struct.pack("<I", 10) + b"\x00\x00\x00\x00"
    body += (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body


def b64(content: bytes) -> str:
    """Base64 text, as the ``bytes`` parameter carries an image."""
    return base64.b64encode(content).decode()


def md5(content: bytes) -> str:
    """Meta's image hash."""
    return hashlib.md5(content, usedforsecurity=False).hexdigest()


async def upload(graph: Graph, content: bytes, account: str = INR_ACCOUNT) -> dict[str, Any]:
    """Upload by ``bytes``; returns the single entry of the reply."""
    response = await graph.post(f"{account}/adimages", bytes=b64(content))
    assert response.status_code == 200, response.text
    entry: dict[str, Any] = response.json()["images"]["bytes"]
    return entry


def use_in_creative(sandbox: Sandbox, image_hash: str) -> str:
    """Store a creative whose link ad shows the image (as the creatives family stores them)."""
    creative_id = sandbox.new_id()
    sandbox.state.add(
        {
            "kind": "adcreative",
            "id": creative_id,
            "account_id": INR_ACCOUNT.removeprefix("act_"),
            "name": "Uses the image",
            "status": "ACTIVE",
            "object_story_spec": {
                "page_id": PAGE_ID,
                "link_data": {"link": "https://example.com", "image_hash": image_hash},
            },
            "created_time": sandbox.clock.now(),
        }
    )
    return creative_id


async def test_upload_by_bytes_answers_under_the_bytes_key(graph: Graph) -> None:
    """A base64 upload answers {"images": {"bytes": {...}}} with the MD5 hash and the size."""
    content = png(40, 30)
    response = await graph.post(EDGE, bytes=b64(content))
    assert response.status_code == 200
    entry = response.json()["images"]["bytes"]
    assert entry["hash"] == md5(content)
    assert (entry["width"], entry["height"]) == (40, 30)
    assert "/_sandbox/media/" in entry["url"]
    assert {"url_128", "url_256", "url_256_height", "url_256_width", "name"} <= set(entry)


async def test_multipart_upload_is_keyed_by_the_file_name(graph: Graph) -> None:
    """The SDK's create_ad_image sends field 'filename'; the reply is keyed by the file's name."""
    content = png(12, 10)
    files = {"filename": ("hero.png", content, "image/png")}
    images = (await graph.post(EDGE, files=files)).json()["images"]
    assert list(images) == ["hero.png"]
    assert images["hero.png"]["hash"] == md5(content)
    assert images["hero.png"]["name"] == "hero.png"


async def test_legacy_path_field_name_and_several_files(graph: Graph) -> None:
    """Any field name works (the legacy SDK uses the path); each file gets its own entry."""
    files = {
        "/home/marketer/assets/banner.png": ("banner.png", png(20, 20), "image/png"),
        "second": ("square.gif", gif(64, 64), "image/gif"),
    }
    images = (await graph.post(EDGE, files=files)).json()["images"]
    assert set(images) == {"banner.png", "square.gif"}
    assert images["square.gif"]["width"] == 64


@pytest.mark.parametrize(
    ("maker", "name"),
    [(png, "a.png"), (gif, "a.gif"), (jpeg, "a.jpg"), (webp, "a.webp")],
)
async def test_dimensions_are_read_from_each_format(graph: Graph, maker: Any, name: str) -> None:
    """Width and height come from the file's own header for PNG, GIF, JPEG and WebP."""
    files = {"filename": (name, maker(321, 123), "application/octet-stream")}
    entry = (await graph.post(EDGE, files=files)).json()["images"][name]
    assert (entry["width"], entry["height"]) == (321, 123)


async def test_bytes_that_are_no_image_are_refused(graph: Graph) -> None:
    """Base64 of a text file is refused with code 100 naming the problem and blaming bytes."""
    error = error_of(await graph.post(EDGE, bytes=b64(b"just some text, not pixels")))
    assert (error["code"], error.get("error_subcode")) == (100, None)
    assert "Invalid image" in error["message"]
    assert json.loads(error["error_data"])["blame_field_specs"] == [["bytes"]]


async def test_bad_base64_is_refused(graph: Graph) -> None:
    """Text that is not base64 at all is refused with code 100 on bytes."""
    error = error_of(await graph.post(EDGE, bytes="not*base64!"))
    assert (error["code"], error.get("error_subcode")) == (100, None)
    assert "base64" in error["message"]


async def test_file_without_an_image_extension_is_refused(graph: Graph) -> None:
    """A multipart file must be named with an image extension, even if its bytes are a PNG."""
    files = {"filename": ("notes.txt", png(5, 5), "text/plain")}
    error = error_of(await graph.post(EDGE, files=files))
    assert error["code"] == 100
    assert "notes.txt" in error["message"]


async def test_upload_without_any_image_is_refused(graph: Graph) -> None:
    """No bytes, no file, no copy_from: code 100 saying what to send."""
    error = error_of(await graph.post(EDGE, name="empty"))
    assert error["code"] == 100
    assert "bytes" in error["message"]


async def test_same_bytes_twice_give_one_image(graph: Graph) -> None:
    """Re-uploading identical bytes returns the same hash and does not duplicate the image."""
    content = png(50, 50)
    first = await upload(graph, content)
    second = await upload(graph, content)
    assert first["hash"] == second["hash"]
    listed = (await graph.get(EDGE)).json()["data"]
    assert [item["hash"] for item in listed] == [first["hash"]]


async def test_list_defaults_to_hash_and_id(graph: Graph) -> None:
    """Without fields the listing gives hash and the '<account>:<hash>' id."""
    entry = await upload(graph, png(8, 8))
    item = (await graph.get(EDGE)).json()["data"][0]
    assert item == {"hash": entry["hash"], "id": f"1234567890:{entry['hash']}"}


async def test_hashes_filter_accepts_json_and_comma_forms(graph: Graph) -> None:
    """hashes=["h1"] (JSON) and hashes=h1,h2 (comma form) both filter the listing."""
    hashes = [(await upload(graph, png(10 + n, 10)))["hash"] for n in range(3)]
    one = (await graph.get(EDGE, hashes=json.dumps([hashes[1]]))).json()["data"]
    assert [item["hash"] for item in one] == [hashes[1]]
    two = (await graph.get(EDGE, hashes=f"{hashes[0]},{hashes[2]}")).json()["data"]
    assert sorted(item["hash"] for item in two) == sorted([hashes[0], hashes[2]])


async def test_listing_pages_with_cursors(graph: Graph) -> None:
    """limit=2 over three images gives a next page holding the third."""
    for n in range(3):
        await upload(graph, png(20, 20 + n))
    first = (await graph.get(EDGE, limit=2, fields="hash,width,height")).json()
    assert len(first["data"]) == 2
    assert "next" in first["paging"]
    after = first["paging"]["cursors"]["after"]
    rest = (await graph.get(EDGE, limit=2, after=after)).json()
    assert len(rest["data"]) == 1
    assert "next" not in rest["paging"]


async def test_listed_fields_describe_the_image(graph: Graph) -> None:
    """Requested fields come back: size, name, status and the account."""
    content = png(33, 44)
    await graph.post(EDGE, files={"filename": ("shot.png", content, "image/png")})
    fields = "hash,width,height,name,status,account_id,url,created_time,creatives"
    item = (await graph.get(EDGE, fields=fields)).json()["data"][0]
    assert (item["width"], item["height"], item["name"]) == (33, 44, "shot.png")
    assert (item["status"], item["account_id"], item["creatives"]) == ("ACTIVE", "1234567890", [])
    assert item["created_time"].endswith("+0530")


async def test_delete_removes_the_image_from_the_library(graph: Graph) -> None:
    """DELETE /act_X/adimages?hash=... succeeds and the image leaves the listing."""
    entry = await upload(graph, png(9, 9))
    response = await graph.delete(EDGE, hash=entry["hash"])
    assert response.json() == {"success": True}
    assert (await graph.get(EDGE)).json()["data"] == []


async def test_delete_needs_a_known_hash(graph: Graph) -> None:
    """Deleting without hash names the parameter; an unknown hash is code 100 too."""
    missing = error_of(await graph.delete(EDGE))
    assert missing["code"] == 100
    assert "hash" in missing["message"]
    unknown = error_of(await graph.delete(EDGE, hash="0" * 32))
    assert unknown["code"] == 100
    assert "does not exist" in unknown["message"]


async def test_delete_is_refused_while_a_creative_uses_the_image(
    graph: Graph, sandbox: Sandbox
) -> None:
    """An image a creative's story spec names can't be deleted; the listing shows the user."""
    entry = await upload(graph, png(16, 16))
    creative_id = use_in_creative(sandbox, entry["hash"])
    error = error_of(await graph.delete(EDGE, hash=entry["hash"]))
    assert (error["code"], error.get("error_subcode")) == (100, None)
    assert creative_id in error["message"]
    listed = (await graph.get(EDGE, fields="creatives")).json()["data"][0]
    assert listed["creatives"] == [creative_id]


async def test_uploaded_hash_is_usable_in_a_creative(graph: Graph) -> None:
    """The hash an upload returns is accepted by the creatives endpoint of that account."""
    entry = await upload(graph, png(60, 60))
    spec = {
        "page_id": PAGE_ID,
        "link_data": {"link": "https://example.com", "message": "Hi", "image_hash": entry["hash"]},
    }
    response = await graph.post(f"{INR_ACCOUNT}/adcreatives", object_story_spec=json.dumps(spec))
    assert response.status_code == 200, response.text


async def test_copy_from_brings_an_image_to_another_account(graph: Graph) -> None:
    """copy_from with source_account_id and hash puts the same image in this account."""
    entry = await upload(graph, png(14, 15))
    copy_from = json.dumps({"source_account_id": "1234567890", "hash": entry["hash"]})
    images = (await graph.post(f"{USD_ACCOUNT}/adimages", copy_from=copy_from)).json()["images"]
    assert images[entry["hash"]]["width"] == 14
    listed = (await graph.get(f"{USD_ACCOUNT}/adimages", fields="hash,height")).json()["data"]
    assert listed == [{"hash": entry["hash"], "height": 15, "id": f"9876543210:{entry['hash']}"}]


async def test_copy_from_an_unknown_image_is_refused(graph: Graph) -> None:
    """copy_from naming a hash the source account lacks is code 100."""
    copy_from = json.dumps({"source_account_id": "1234567890", "hash": "f" * 32})
    error = error_of(await graph.post(f"{USD_ACCOUNT}/adimages", copy_from=copy_from))
    assert error["code"] == 100
    assert "not found" in error["message"]


async def test_zip_upload_adds_every_image_inside(graph: Graph) -> None:
    """A .zip of images answers one entry per image file in it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("one.png", png(3, 4))
        archive.writestr("nested/two.gif", gif(7, 8))
    files = {"filename": ("batch.zip", buffer.getvalue(), "application/zip")}
    images = (await graph.post(EDGE, files=files)).json()["images"]
    assert set(images) == {"one.png", "two.gif"}


async def test_validate_only_stores_nothing(graph: Graph) -> None:
    """execution_options=["validate_only"] checks the image and answers success only."""
    response = await graph.post(EDGE, bytes=b64(png(5, 5)), execution_options='["validate_only"]')
    assert response.json() == {"success": True}
    assert (await graph.get(EDGE)).json()["data"] == []


async def test_images_stay_in_their_account(graph: Graph) -> None:
    """An image uploaded to one account is not listed by the other."""
    await upload(graph, png(6, 6))
    assert (await graph.get(f"{USD_ACCOUNT}/adimages")).json()["data"] == []
