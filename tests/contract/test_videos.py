"""Ad videos: simple and chunked uploads, resuming, processing status, listing, delete (§3.6)."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest

from meta_agent.sandbox import ManualClock, SandboxConfig
from tests.conftest import INR_ACCOUNT, PAGE_ID, USD_ACCOUNT, Graph, error_of

EDGE = f"{INR_ACCOUNT}/advideos"
MIB = 1024 * 1024
PROCESSING = 20.0  # SandboxConfig().video_processing_seconds
# An MP4 starts with an ftyp box; the rest of the file is opaque to the sandbox.
CLIP = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 10_000  # 2,560,012 bytes: 3 chunks


def ok(response: httpx2.Response) -> dict[str, Any]:
    """The body of a successful call."""
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def status_of(graph: Graph, video_id: str) -> dict[str, Any]:
    """The video's ``status`` object."""
    status: dict[str, Any] = ok(await graph.get(video_id, fields="status"))["status"]
    return status


async def start(graph: Graph, size: int = len(CLIP)) -> dict[str, Any]:
    """Open a chunked upload session."""
    return ok(await graph.post(EDGE, upload_phase="start", file_size=str(size)))


async def transfer(graph: Graph, session: str, offset: int, chunk: bytes) -> httpx2.Response:
    """Send one chunk from ``offset``, as the SDK's transfer phase does."""
    files = {"video_file_chunk": ("clip.mp4", chunk, "multipart/form-data")}
    return await graph.post(
        EDGE, files=files, upload_phase="transfer", upload_session_id=session, start_offset=offset
    )


async def upload_all(graph: Graph, opened: dict[str, Any], content: bytes = CLIP) -> None:
    """Send every chunk the sandbox asks for, following its offsets."""
    begin, end = int(opened["start_offset"]), int(opened["end_offset"])
    while begin != end:
        reply = ok(await transfer(graph, opened["upload_session_id"], begin, content[begin:end]))
        begin, end = int(reply["start_offset"]), int(reply["end_offset"])


async def test_file_url_upload_returns_an_id(graph: Graph) -> None:
    """file_url with any http(s) address answers {"id"}; the sandbox never fetches it."""
    body = ok(await graph.post(EDGE, file_url="https://cdn.example.com/clip.mp4", title="Clip"))
    assert set(body) == {"id"}
    read = ok(await graph.get(body["id"], fields="title,length"))
    assert read["title"] == "Clip"
    assert read["length"] > 0


async def test_file_url_that_is_not_a_url_gets_389(graph: Graph) -> None:
    """A file_url that is no http(s) URL fails as Meta's unfetchable URL does: code 389."""
    error = error_of(await graph.post(EDGE, file_url="clip.mp4"))
    assert (error["code"], error.get("error_subcode")) == (389, None)
    assert "Unable to fetch video file from URL" in error["message"]


async def test_source_file_upload_returns_an_id(graph: Graph) -> None:
    """A multipart 'source' file uploads in one request."""
    files = {"source": ("clip.mp4", CLIP, "video/mp4")}
    video_id = ok(await graph.post(EDGE, files=files))["id"]
    status = await status_of(graph, video_id)
    assert status["uploading_phase"]["bytes_transferred"] == len(CLIP)


async def test_source_that_is_no_video_gets_352(graph: Graph) -> None:
    """Bytes no video container starts with are refused with code 352."""
    files = {"source": ("clip.mp4", b"plain text, not a movie", "video/mp4")}
    error = error_of(await graph.post(EDGE, files=files))
    assert error["code"] == 352


async def test_upload_without_a_video_is_refused(graph: Graph) -> None:
    """No source, file_url or upload phase: code 100 saying what to send."""
    error = error_of(await graph.post(EDGE, title="nothing"))
    assert error["code"] == 100
    assert "file_url" in error["message"]


async def test_chunked_upload_happy_path(graph: Graph, clock: ManualClock) -> None:
    """start → transfer (1 MiB chunks) → finish, then processing turns into ready."""
    opened = await start(graph)
    assert (opened["start_offset"], opened["end_offset"]) == ("0", str(MIB))
    offsets = []
    begin, end = 0, MIB
    while begin != end:
        reply = ok(await transfer(graph, opened["upload_session_id"], begin, CLIP[begin:end]))
        begin, end = int(reply["start_offset"]), int(reply["end_offset"])
        offsets.append((reply["start_offset"], reply["end_offset"]))
    size = str(len(CLIP))
    assert offsets == [(str(MIB), str(2 * MIB)), (str(2 * MIB), size), (size, size)]
    session = opened["upload_session_id"]
    finished = await graph.post(EDGE, upload_phase="finish", upload_session_id=session, title="c")
    assert ok(finished) == {"success": True}
    assert (await status_of(graph, opened["video_id"]))["video_status"] == "processing"
    clock.advance(PROCESSING)
    status = await status_of(graph, opened["video_id"])
    assert (status["video_status"], status["processing_progress"]) == ("ready", 100)


async def test_wrong_offset_answers_the_expected_chunk(graph: Graph) -> None:
    """A chunk from an unexpected offset gets 6001/1363037 with the offsets to resume from."""
    opened = await start(graph)
    session = opened["upload_session_id"]
    ok(await transfer(graph, session, 0, CLIP[:MIB]))
    response = await transfer(graph, session, 0, CLIP[:MIB])  # resent: the server moved on
    error = error_of(response)
    assert (error["code"], error["error_subcode"]) == (6001, 1363037)
    # A dict, not a JSON string: the official SDK indexes error_data directly here.
    assert error["error_data"] == {"start_offset": MIB, "end_offset": 2 * MIB}
    resumed = ok(await transfer(graph, session, MIB, CLIP[MIB : 2 * MIB]))
    assert resumed["start_offset"] == str(2 * MIB)


async def test_status_while_uploading_shows_the_bytes_so_far(graph: Graph) -> None:
    """Mid-upload the video reports video_status 'upload' and the bytes transferred."""
    opened = await start(graph)
    ok(await transfer(graph, opened["upload_session_id"], 0, CLIP[:MIB]))
    status = await status_of(graph, opened["video_id"])
    assert status["video_status"] == "upload"
    assert status["uploading_phase"] == {
        "status": "in_progress",
        "bytes_transferred": MIB,
        "source_file_size": len(CLIP),
        "errors": [],
    }


async def test_finish_before_every_byte_arrived_is_refused(graph: Graph) -> None:
    """finish with bytes missing is refused with the chunk still expected."""
    opened = await start(graph)
    session = opened["upload_session_id"]
    error = error_of(await graph.post(EDGE, upload_phase="finish", upload_session_id=session))
    assert (error["code"], error["error_subcode"]) == (6001, 1363037)
    assert error["error_data"] == {"start_offset": 0, "end_offset": MIB}


async def test_first_chunk_must_be_a_video(graph: Graph) -> None:
    """The first chunk is checked for a video container like a whole file (code 352)."""
    opened = await start(graph, size=100)
    error = error_of(await transfer(graph, opened["upload_session_id"], 0, b"x" * 100))
    assert error["code"] == 352


async def test_unknown_session_is_refused(graph: Graph) -> None:
    """A transfer naming no open session is code 100 blaming upload_session_id."""
    error = error_of(await transfer(graph, "999", 0, CLIP[:10]))
    assert error["code"] == 100
    assert json.loads(error["error_data"])["blame_field_specs"] == [["upload_session_id"]]


async def test_cancel_ends_the_session_and_the_video(graph: Graph) -> None:
    """upload_phase=cancel succeeds; the video is gone and the session takes no more chunks."""
    opened = await start(graph)
    session = opened["upload_session_id"]
    cancelled = await graph.post(EDGE, upload_phase="cancel", upload_session_id=session)
    assert ok(cancelled) == {"success": True}
    gone = error_of(await graph.get(opened["video_id"], fields="status"))
    assert (gone["code"], gone["error_subcode"]) == (100, 33)
    closed = error_of(await transfer(graph, session, 0, CLIP[:MIB]))
    assert closed["code"] == 100
    assert "cancelled" in closed["message"]


async def test_unknown_upload_phase_is_refused(graph: Graph) -> None:
    """upload_phase outside start/transfer/finish/cancel is code 100."""
    error = error_of(await graph.post(EDGE, upload_phase="resume"))
    assert error["code"] == 100
    assert "upload_phase" in error["message"]


class TestProcessing:
    """Processing takes config.video_processing_seconds of sandbox time."""

    @pytest.fixture
    def config(self) -> SandboxConfig:
        return SandboxConfig(video_processing_seconds=10)

    async def test_progress_rises_until_ready(self, graph: Graph, clock: ManualClock) -> None:
        """processing_progress grows with sandbox time, then the video is ready at 100."""
        video_id = ok(await graph.post(EDGE, file_url="https://example.com/v.mp4"))["id"]
        first = await status_of(graph, video_id)
        assert (first["video_status"], first["processing_progress"]) == ("processing", 0)
        assert first["processing_phase"]["status"] == "in_progress"
        clock.advance(5)
        assert (await status_of(graph, video_id))["processing_progress"] == 50
        clock.advance(5)
        ready = await status_of(graph, video_id)
        assert ready["video_status"] == "ready"
        assert ready["processing_phase"]["status"] == "complete"

    async def test_source_url_appears_once_ready(self, graph: Graph, clock: ManualClock) -> None:
        """source and format are only served for a processed video."""
        video_id = ok(await graph.post(EDGE, file_url="https://example.com/v.mp4"))["id"]
        early = ok(await graph.get(video_id, fields="source,picture"))
        assert "source" not in early
        assert "/_sandbox/media/videos/" in early["picture"]
        clock.advance(10)
        late = ok(await graph.get(video_id, fields="source,format,created_time,updated_time"))
        assert late["source"].endswith(".mp4")
        assert late["format"][-1]["filter"] == "native"


async def test_processed_video_is_usable_in_a_creative(graph: Graph, clock: ManualClock) -> None:
    """A creative refuses the video while it processes and accepts it once ready."""
    video_id = ok(await graph.post(EDGE, file_url="https://example.com/v.mp4"))["id"]
    data = {"video_id": video_id, "message": "Watch", "image_url": "https://example.com/t.png"}
    spec = json.dumps({"page_id": PAGE_ID, "video_data": data})
    early = error_of(await graph.post(f"{INR_ACCOUNT}/adcreatives", object_story_spec=spec))
    assert "processing" in early["message"]
    clock.advance(PROCESSING)
    ok(await graph.post(f"{INR_ACCOUNT}/adcreatives", object_story_spec=spec))


async def test_list_shows_uploaded_videos_only(graph: Graph) -> None:
    """The listing holds finished uploads, not sessions still transferring."""
    video_id = ok(await graph.post(EDGE, file_url="https://example.com/a.mp4", title="A"))["id"]
    await start(graph)
    listed = ok(await graph.get(EDGE, fields="title"))["data"]
    assert listed == [{"title": "A", "id": video_id}]
    assert ok(await graph.get(f"{USD_ACCOUNT}/advideos"))["data"] == []


async def test_list_filters_by_title_and_length(graph: Graph) -> None:
    """title and minlength/maxlength filter the listing."""
    files = {"source": ("clip.mp4", CLIP, "video/mp4")}  # about 10 seconds at 2 Mbit/s
    video_id = ok(await graph.post(EDGE, files=files, title="Brew"))["id"]
    assert [v["id"] for v in ok(await graph.get(EDGE, title="Brew"))["data"]] == [video_id]
    assert ok(await graph.get(EDGE, title="Other"))["data"] == []
    assert ok(await graph.get(EDGE, minlength="60"))["data"] == []
    assert len(ok(await graph.get(EDGE, maxlength="60"))["data"]) == 1


async def test_delete_by_video_id(graph: Graph) -> None:
    """DELETE /act_X/advideos?video_id= succeeds; the video leaves the listing."""
    video_id = ok(await graph.post(EDGE, file_url="https://example.com/a.mp4"))["id"]
    assert ok(await graph.delete(EDGE, video_id=video_id)) == {"success": True}
    assert ok(await graph.get(EDGE))["data"] == []
    again = error_of(await graph.delete(EDGE, video_id=video_id))
    assert again["code"] == 100
    assert "does not exist" in again["message"]


async def test_video_title_can_be_edited(graph: Graph) -> None:
    """POST /{video_id} with title and description updates them."""
    video_id = ok(await graph.post(EDGE, file_url="https://example.com/a.mp4"))["id"]
    assert ok(await graph.post(video_id, title="New", description="Desc")) == {"success": True}
    read = ok(await graph.get(video_id, fields="title,description"))
    assert (read["title"], read["description"]) == ("New", "Desc")
