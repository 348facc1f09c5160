"""Media served by the sandbox: image urls and a video's source fetch back the uploaded bytes."""

from __future__ import annotations

import json

import pytest

from meta_agent.sandbox import ManualClock
from tests.conftest import INR_ACCOUNT, USD_ACCOUNT, Graph
from tests.contract.test_images import b64, gif, jpeg, md5, png
from tests.contract.test_videos import CLIP, PROCESSING, start, upload_all

EDGE = f"{INR_ACCOUNT}/adimages"
VIDEO_EDGE = f"{INR_ACCOUNT}/advideos"


async def listed(graph: Graph, digest: str, account: str = INR_ACCOUNT) -> dict[str, str]:
    """The image's url fields as GET act_X/adimages?hashes=[...] reads them."""
    response = await graph.get(
        f"{account}/adimages", hashes=json.dumps([digest]), fields="url,permalink_url,url_128"
    )
    assert response.status_code == 200, response.text
    (item,) = response.json()["data"]
    return dict(item)


async def fetch(graph: Graph, url: str) -> tuple[bytes, str]:
    """The bytes and content type the sandbox serves at ``url``."""
    response = await graph.client.get(url)
    assert response.status_code == 200, url
    return response.content, response.headers["content-type"]


async def test_bytes_upload_is_served_back(graph: Graph) -> None:
    """An image uploaded as base64 bytes: its url and permalink_url return exactly those bytes."""
    content = png(40, 30)
    entry = (await graph.post(EDGE, bytes=b64(content))).json()["images"]["bytes"]
    item = await listed(graph, md5(content))
    base = str(graph.client.base_url).rstrip("/")
    assert item["url"] == entry["url"] == f"{base}/_sandbox/media/{md5(content)}.png"
    for field in ("url", "permalink_url", "url_128"):
        assert await fetch(graph, item[field]) == (content, "image/png")


@pytest.mark.parametrize(
    ("maker", "name", "kind"),
    [(png, "hero.png", "image/png"), (gif, "a.gif", "image/gif"), (jpeg, "b.jpg", "image/jpeg")],
)
async def test_multipart_upload_is_served_back(
    graph: Graph, maker: object, name: str, kind: str
) -> None:
    """A multipart file comes back byte for byte, with its format's content type."""
    assert callable(maker)
    content: bytes = maker(16, 12)
    files = {"filename": (name, content, "application/octet-stream")}
    assert (await graph.post(EDGE, files=files)).status_code == 200
    item = await listed(graph, md5(content))
    assert await fetch(graph, item["url"]) == (content, kind)


async def test_copied_image_is_served_too(graph: Graph) -> None:
    """copy_from to another account points at the same bytes."""
    content = png(8, 8, shade=3)
    await graph.post(EDGE, bytes=b64(content))
    spec = json.dumps({"source_account_id": INR_ACCOUNT.removeprefix("act_"), "hash": md5(content)})
    assert (await graph.post(f"{USD_ACCOUNT}/adimages", copy_from=spec)).status_code == 200
    item = await listed(graph, md5(content), USD_ACCOUNT)
    assert (await fetch(graph, item["url"]))[0] == content


async def test_unknown_media_is_404(graph: Graph) -> None:
    """A hash never uploaded, or a malformed name, is not found."""
    for name in ("0" * 32 + ".png", "nothing"):
        response = await graph.client.get(f"/_sandbox/media/{name}")
        assert response.status_code == 404


async def video_source(graph: Graph, clock: ManualClock, video_id: str) -> dict[str, str]:
    """The video's source and pictures once processing is done."""
    clock.advance(PROCESSING + 1)
    response = await graph.get(video_id, fields="source,picture,icon,format")
    assert response.status_code == 200, response.text
    body: dict[str, str] = response.json()
    return body


async def test_video_source_file_is_served_back(graph: Graph, clock: ManualClock) -> None:
    """A multipart source video: its source URL returns the bytes; its picture is a PNG."""
    files = {"source": ("clip.mp4", CLIP, "video/mp4")}
    video_id = (await graph.post(VIDEO_EDGE, files=files)).json()["id"]
    read = await video_source(graph, clock, video_id)
    base = str(graph.client.base_url).rstrip("/")
    assert read["source"] == f"{base}/_sandbox/media/videos/{video_id}.mp4"
    assert await fetch(graph, read["source"]) == (CLIP, "video/mp4")
    for url in (read["picture"], read["icon"]):
        content, kind = await fetch(graph, url)
        assert (content[:8], kind) == (b"\x89PNG\r\n\x1a\n", "image/png")


async def test_chunked_video_is_served_back(graph: Graph, clock: ManualClock) -> None:
    """A video sent in chunks (start, transfer..., finish) comes back whole."""
    opened = await start(graph)
    await upload_all(graph, opened)
    session = opened["upload_session_id"]
    finish = await graph.post(VIDEO_EDGE, upload_phase="finish", upload_session_id=session)
    assert finish.status_code == 200, finish.text
    read = await video_source(graph, clock, opened["video_id"])
    assert await fetch(graph, read["source"]) == (CLIP, "video/mp4")


async def test_video_without_bytes_is_404(graph: Graph, clock: ManualClock) -> None:
    """A file_url video has no bytes in the sandbox; an unknown video has no thumbnail."""
    body = (await graph.post(VIDEO_EDGE, file_url="https://cdn.example.com/clip.mp4")).json()
    read = await video_source(graph, clock, body["id"])
    assert (await graph.client.get(read["source"])).status_code == 404
    assert (await graph.client.get("/_sandbox/media/videos/1_thumb.png")).status_code == 404
