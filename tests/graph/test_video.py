"""Chunked video upload against the sandbox: chunks, resumes after drops, encoding polls."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import structlog
from pydantic import SecretStr

from meta_agent import errors
from meta_agent.graph.error_table import build_error
from meta_agent.graph.guard import UNGUARDED
from meta_agent.graph.requestor import Requestor
from meta_agent.graph.settings import GraphSettings
from meta_agent.graph.transport import Transport
from meta_agent.graph.video import (
    BytesSource,
    EncodingStatus,
    FileSource,
    UploadPolicy,
    VideoUploader,
)
from meta_agent.sandbox import ManualClock, Sandbox, SandboxConfig, parse_fault_spec
from tests.conftest import INR_ACCOUNT, TOKEN, LiveServer

MIB = 1024 * 1024
# An MP4 header (size + "ftyp" box), then filler: the sandbox checks only the container magic.
VIDEO = b"\x00\x00\x00\x18ftypmp42" + bytes(random.Random(7).randbytes(5 * MIB // 2 - 12))
TRANSFERS = "act_*/advideos"


def _video(sandbox: Sandbox, video_id: str) -> dict[str, Any]:
    record = sandbox.state.find(video_id)
    assert record is not None
    return record


def _calls(sandbox: Sandbox, route: str) -> int:
    return sandbox.counters.by_route.get(route, 0)


@pytest.fixture
def uploader(requestor: Requestor) -> VideoUploader:
    """An uploader over the in-process sandbox."""
    return VideoUploader(requestor)


async def test_bytes_upload_in_chunks_then_ready(
    uploader: VideoUploader, sandbox: Sandbox, clock: ManualClock
) -> None:
    """2.5 MiB goes up as three server-sized chunks, is finished with its title, and waits for ready."""
    started = clock.now()
    video = await uploader.upload(INR_ACCOUNT, VIDEO, title="Brew guide")
    record = _video(sandbox, video.video_id)
    assert (video.chunks_sent, video.resumes) == (3, 0)
    assert record["bytes_received"] == record["size"] == len(VIDEO)
    assert record["upload_phase"] == "complete"
    assert record["title"] == "Brew guide"
    assert video.status == EncodingStatus(video.video_id, "ready", 100)
    assert clock.now() - started >= SandboxConfig().video_processing_seconds


class _RecordingSource(BytesSource):
    """A source that remembers the ranges it was asked for."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.reads: list[tuple[int, int]] = []

    async def read(self, start: int, end: int) -> bytes:
        self.reads.append((start, end))
        return await super().read(start, end)


async def test_source_is_read_one_chunk_at_a_time(uploader: VideoUploader) -> None:
    """The uploader asks its source only for the ranges the server hands out, never the whole file."""
    source = _RecordingSource(VIDEO)
    await uploader.upload(INR_ACCOUNT, source, wait=False)
    assert source.reads == [(0, MIB), (MIB, 2 * MIB), (2 * MIB, len(VIDEO))]


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    """The test video written to disk."""
    path = tmp_path / "clip.mp4"
    path.write_bytes(VIDEO)
    return path


async def test_file_upload_streams_from_disk(
    uploader: VideoUploader, sandbox: Sandbox, clip: Path
) -> None:
    """A path is uploaded chunk by chunk; the server ends up with exactly the file's bytes."""
    video = await uploader.upload(INR_ACCOUNT, clip, wait=False)
    record = _video(sandbox, video.video_id)
    assert record["bytes_received"] == len(VIDEO)
    assert record["title"] == "clip.mp4"  # the file name when no title is given


async def test_file_source_reads_ranges(clip: Path) -> None:
    """FileSource returns the requested byte range and refuses to read unopened."""
    with FileSource(clip) as source:
        assert await source.read(MIB - 2, MIB + 2) == VIDEO[MIB - 2 : MIB + 2]
        assert source.size == len(VIDEO)
    with pytest.raises(RuntimeError):
        await FileSource(clip).read(0, 1)


@pytest.mark.parametrize("nth", [2, 3, 4], ids=["first-chunk", "middle-chunk", "last-chunk"])
async def test_dropped_chunk_resumes_from_server_offsets(
    uploader: VideoUploader, sandbox: Sandbox, nth: int
) -> None:
    """A transfer lost after the commit is asked again; the 1363037 offsets say where to go on."""
    sandbox.faults.replace(
        parse_fault_spec(f"drop_after_commit:method=POST,path={TRANSFERS},nth={nth}")
    )
    with structlog.testing.capture_logs() as logs:
        video = await uploader.upload(INR_ACCOUNT, VIDEO, wait=False)
    record = _video(sandbox, video.video_id)
    assert record["bytes_received"] == len(VIDEO)
    assert record["upload_phase"] == "complete"
    resumed = [e["reason"] for e in logs if e["event"] == "graph.video.resumed"]
    assert resumed == ["dropped", "offset_mismatch"]
    assert video.resumes == 2
    # start + 3 chunks + the one re-sent question + finish
    assert _calls(sandbox, "POST {adaccount}/advideos") == 6


async def test_dropped_finish_is_reconciled_from_status(
    uploader: VideoUploader, sandbox: Sandbox
) -> None:
    """A finish lost after the commit is confirmed by reading the upload phase, not re-sent."""
    sandbox.faults.replace(
        parse_fault_spec(f"drop_after_commit:method=POST,path={TRANSFERS},nth=5")
    )
    video = await uploader.upload(INR_ACCOUNT, VIDEO)
    assert _video(sandbox, video.video_id)["upload_phase"] == "complete"
    assert video.status is not None
    assert video.status.state == "ready"
    assert _calls(sandbox, "POST {adaccount}/advideos") == 5


async def test_dropped_start_opens_a_new_session(uploader: VideoUploader, sandbox: Sandbox) -> None:
    """A lost start is simply sent again: an empty session is harmless."""
    sandbox.faults.replace(
        parse_fault_spec(f"drop_after_commit:method=POST,path={TRANSFERS},nth=1")
    )
    video = await uploader.upload(INR_ACCOUNT, VIDEO, wait=False)
    assert _video(sandbox, video.video_id)["upload_phase"] == "complete"
    assert len(list(sandbox.state.of_kind("advideo"))) == 2


async def test_a_5xx_on_a_chunk_is_reconciled_by_resuming_not_resent_blindly(
    uploader: VideoUploader, sandbox: Sandbox
) -> None:
    """A 503 on a transfer may have landed: the uploader asks Meta's offsets and resumes once."""
    sandbox.faults.replace(parse_fault_spec(f"transient:method=POST,path={TRANSFERS},nth=3"))
    video = await uploader.upload(INR_ACCOUNT, VIDEO, wait=False)
    assert video.resumes == 1
    assert _video(sandbox, video.video_id)["bytes_received"] == len(VIDEO)


async def test_offsets_that_never_converge_give_up(sandbox: Sandbox, requestor: Requestor) -> None:
    """Every transfer dropped: the uploader stops after max_resumes instead of looping."""
    drops = ";".join(f"drop_after_commit:path={TRANSFERS},nth={n}" for n in range(2, 10))
    sandbox.faults.replace(parse_fault_spec(drops))
    uploader = VideoUploader(requestor, UploadPolicy(max_resumes=2))
    with pytest.raises(errors.TransientError, match="did not converge"):
        await uploader.upload(INR_ACCOUNT, VIDEO, wait=False)
    assert _calls(sandbox, "POST {adaccount}/advideos") == 1 + 3


async def test_not_a_video_is_refused_without_resuming(uploader: VideoUploader) -> None:
    """Bytes no container starts with fail with 352 on the first chunk and surface as is."""
    with pytest.raises(errors.ApiError) as caught:
        await uploader.upload(INR_ACCOUNT, b"plain text, not a video" * 100, wait=False)
    assert caught.value.code == 352


async def test_encoding_is_polled_with_backoff(
    uploader: VideoUploader, sandbox: Sandbox, clock: ManualClock
) -> None:
    """Polls back off (2, 3, 4.5, ... s) until ready: a handful of reads for 20 s of processing."""
    video = await uploader.upload(INR_ACCOUNT, VIDEO, wait=False)
    assert (await uploader.status(video.video_id)).state == "processing"
    status = await uploader.wait_until_ready(video.video_id, account=INR_ACCOUNT)
    assert status.state == "ready"
    assert status.progress == 100
    assert _calls(sandbox, "GET {advideo}") == 1 + 6  # 0, 2, 5, 9.5, 16.25, 26.4 s


async def test_encoding_timeout_is_transient(requestor: Requestor) -> None:
    """A video still processing when the timeout passes raises TransientError naming it."""
    uploader = VideoUploader(requestor, UploadPolicy(encoding_timeout=5))
    video = await uploader.upload(INR_ACCOUNT, VIDEO, wait=False)
    with pytest.raises(errors.TransientError) as caught:
        await uploader.wait_until_ready(video.video_id)
    assert caught.value.details["video_id"] == video.video_id


def test_encoding_error_status_is_parsed() -> None:
    """Meta's error state and the errors of every phase are read from the status object."""
    body = {
        "status": {
            "video_status": "error",
            "processing_progress": 40,
            "processing_phase": {
                "status": "error",
                "errors": [{"code": 1, "message": "Corrupt file"}],
            },
            "uploading_phase": {"status": "complete", "errors": []},
        }
    }
    assert EncodingStatus.parse("v1", body) == EncodingStatus("v1", "error", 40, ("Corrupt file",))


def test_chunk_error_carries_server_offsets() -> None:
    """6001/1363037's error_data (object or JSON string) lands in the error's details."""
    for data in ({"start_offset": 10, "end_offset": 20}, '{"start_offset":"10","end_offset":"20"}'):
        body = {
            "error": {"message": "x", "code": 6001, "error_subcode": 1363037, "error_data": data}
        }
        error = build_error(body, 400)
        assert (error.details["start_offset"], error.details["end_offset"]) == (10, 20)


class TestOverLoopback:
    """The same upload over a real socket, where a drop is a real broken connection."""

    @pytest.fixture
    def config(self) -> SandboxConfig:
        return SandboxConfig(video_processing_seconds=0.05)

    @pytest.fixture
    async def loopback(self, live: LiveServer) -> AsyncIterator[Requestor]:
        settings = GraphSettings(base_url=live.url, version="v25.0", access_token=SecretStr(TOKEN))
        requestor = Requestor(
            settings,
            Transport(live.url),
            rng=random.Random(1),
            wall_clock=lambda: datetime.now(UTC),
            guard=UNGUARDED,
        )
        yield requestor
        await requestor.transport.aclose()

    async def test_dropped_connection_resumes_over_a_socket(
        self, loopback: Requestor, live_app: Any
    ) -> None:
        """A connection broken after the chunk was stored is resumed; encoding is awaited."""
        sandbox: Sandbox = live_app.state.sandbox
        sandbox.faults.replace(
            parse_fault_spec(f"drop_after_commit:method=POST,path={TRANSFERS},nth=3")
        )
        policy = UploadPolicy(poll_first=0.02, poll_max=0.05, encoding_timeout=5)
        video = await VideoUploader(loopback, policy).upload(INR_ACCOUNT, VIDEO)
        assert video.resumes == 2
        assert video.status is not None
        assert video.status.state == "ready"
        assert _video(sandbox, video.video_id)["bytes_received"] == len(VIDEO)
