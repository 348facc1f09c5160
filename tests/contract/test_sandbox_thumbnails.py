"""A video's thumbnails: listed once processed, readable inside ``fields=``, served as PNGs."""

from __future__ import annotations

from meta_agent.sandbox import ManualClock
from meta_agent.sandbox.media import PLACEHOLDER_PNG
from tests.conftest import INR_ACCOUNT, Graph, error_of
from tests.contract.test_sandbox_business import ok

PROCESSING = 20.0  # SandboxConfig().video_processing_seconds


async def uploaded_video(graph: Graph) -> str:
    """A video uploaded by URL (still processing); returns its id."""
    response = await graph.post(f"{INR_ACCOUNT}/advideos", file_url="https://cdn.example/v.mp4")
    assert response.status_code == 200, response.text
    video_id: str = response.json()["id"]
    return video_id


async def test_a_processed_video_has_thumbnails(graph: Graph, clock: ManualClock) -> None:
    """None while processing; then three, the first preferred, at the video's size."""
    video_id = await uploaded_video(graph)
    assert await ok(graph, f"{video_id}/thumbnails") == {"data": []}
    clock.advance(PROCESSING)
    body = await ok(graph, f"{video_id}/thumbnails")
    frames = body["data"]
    assert [t["is_preferred"] for t in frames] == [True, False, False]
    assert {(t["width"], t["height"]) for t in frames} == {(1280, 720)}
    assert len({t["id"] for t in frames}) == len({t["uri"] for t in frames}) == 3
    base = "http://sandbox.test/_sandbox/media/videos/"
    assert all(t["uri"].startswith(base + video_id) for t in frames)


async def test_thumbnail_uris_return_png_bytes(graph: Graph, clock: ManualClock) -> None:
    """Each ``uri`` is served by the sandbox itself."""
    video_id = await uploaded_video(graph)
    clock.advance(PROCESSING)
    for thumbnail in (await ok(graph, f"{video_id}/thumbnails"))["data"]:
        path = thumbnail["uri"].removeprefix("http://sandbox.test")
        response = await graph.client.get(path)
        assert response.status_code == 200
        assert response.headers["content-type"] == "image/png"
        assert response.content == PLACEHOLDER_PNG
    missing = await graph.client.get("/_sandbox/media/videos/1_thumb2.png")
    assert missing.status_code == 404


async def test_thumbnails_inside_fields(graph: Graph, clock: ManualClock) -> None:
    """``fields=thumbnails{uri,width,height,is_preferred}`` expands the same list."""
    video_id = await uploaded_video(graph)
    clock.advance(PROCESSING)
    body = await ok(graph, video_id, fields="thumbnails.limit(1){uri,width,height,is_preferred}")
    assert body["thumbnails"]["data"] == [
        {
            "uri": f"http://sandbox.test/_sandbox/media/videos/{video_id}_thumb1.png",
            "width": 1280,
            "height": 720,
            "is_preferred": True,
        }
    ]
    error = error_of(await graph.get(f"{video_id}/thumbnails", fields="made_up"))
    assert "(made_up) on node type (VideoThumbnail)" in error["message"]
