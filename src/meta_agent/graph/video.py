"""Chunked, resumable video upload to ``act_{id}/advideos`` and encoding polling (§3.6).

::

    VideoUploader.upload(account, source)
      start     upload_phase=start&file_size=N        → session, video id, first offsets
      transfer  upload_phase=transfer&start_offset=S  + multipart video_file_chunk [S, E)
                 → the next offsets; repeat until start == end
      finish    upload_phase=finish&title=...         → {"success": true}
      wait      GET /{video_id}?fields=status          until video_status is ready

The server hands out the offsets, and a transfer is keyed by its offset, so sending a chunk
again is safe: either it is taken, or Meta answers 6001/1363037 with the offsets it expects in
``error_data``. That makes a dropped transfer (:class:`OutcomeUnknownError`) recoverable: send
the same chunk again and follow whatever offsets come back. A file is read one chunk at a
time, so memory stays flat in the file size.

For Meta's dedicated video host (``graph-video.facebook.com``), give the uploader a requestor
whose transport points there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

import structlog

from meta_agent.errors import (
    ApiError,
    InvalidParameterError,
    OutcomeUnknownError,
    TransientError,
)
from meta_agent.graph.requestor import CallOptions, GraphResponse, Requestor

log = structlog.get_logger("meta_agent.graph.video")

RESUME_SUBCODE = 1363037
_CONTENT_TYPE = "application/octet-stream"


@dataclass(frozen=True)
class UploadPolicy:
    """How patient an upload is: resumes per chunk, and the encoding poll's curve and timeout."""

    max_resumes: int = 5
    poll_first: float = 2.0
    poll_factor: float = 1.5
    poll_max: float = 30.0
    encoding_timeout: float = 600.0


@dataclass(frozen=True)
class EncodingStatus:
    """One poll of ``/{video_id}?fields=status``: ``upload``, ``processing``, ``ready``, ``error``."""

    video_id: str
    state: str
    progress: int = 0
    errors: tuple[str, ...] = ()

    @classmethod
    def parse(cls, video_id: str, body: Mapping[str, Any]) -> EncodingStatus:
        """Read Meta's ``status`` object, collecting the errors of every phase."""
        status = body.get("status") or {}
        errors: list[str] = []
        for phase in ("uploading_phase", "processing_phase", "publishing_phase"):
            for error in (status.get(phase) or {}).get("errors") or []:
                errors.append(
                    str(error.get("message", error) if isinstance(error, dict) else error)
                )
        return cls(
            video_id=video_id,
            state=str(status.get("video_status") or "processing"),
            progress=int(status.get("processing_progress") or 0),
            errors=tuple(errors),
        )


@dataclass(frozen=True)
class UploadedVideo:
    """An uploaded video: its id, chunks sent, resumes from the server's offsets, last status."""

    video_id: str
    chunks_sent: int
    resumes: int
    status: EncodingStatus | None = None


class VideoSource(Protocol):
    """Bytes to upload, read one range at a time."""

    name: str
    size: int

    async def read(self, start: int, end: int) -> bytes:
        """The bytes in ``[start, end)``."""
        ...


class BytesSource:
    """A video already in memory."""

    def __init__(self, data: bytes, name: str = "video.mp4") -> None:
        self.name, self.size = name, len(data)
        self._view = memoryview(data)

    async def read(self, start: int, end: int) -> bytes:
        """The bytes in ``[start, end)`` (a copy of that range only)."""
        return bytes(self._view[start:end])


class FileSource:
    """A video on disk, read chunk by chunk in a worker thread; use as a context manager."""

    def __init__(self, path: Path) -> None:
        self.name, self.size = path.name, path.stat().st_size
        self._path = path
        self._file: IO[bytes] | None = None

    def __enter__(self) -> FileSource:
        self._file = self._path.open("rb")
        return self

    def __exit__(self, *_: object) -> None:
        if self._file is not None:
            self._file.close()

    async def read(self, start: int, end: int) -> bytes:
        """The bytes in ``[start, end)``, without blocking the event loop."""
        if self._file is None:
            raise RuntimeError("open the FileSource with `with` before reading")
        return await asyncio.to_thread(_read_range, self._file, start, end)


def _read_range(file: IO[bytes], start: int, end: int) -> bytes:
    file.seek(start)
    return file.read(end - start)


@dataclass
class _Session:
    """One upload in progress."""

    account: str
    source: VideoSource
    session_id: str
    video_id: str
    chunks_sent: int = 0
    resumes: int = 0


class VideoUploader:
    """Uploads videos in chunks, resuming from the server's offsets, then waits for encoding."""

    def __init__(self, requestor: Requestor, policy: UploadPolicy | None = None) -> None:
        self.requestor = requestor
        self.policy = policy or UploadPolicy()

    async def upload(
        self,
        account: str,
        source: Path | bytes | VideoSource,
        *,
        title: str | None = None,
        wait: bool = True,
    ) -> UploadedVideo:
        """Upload ``source`` (a path, bytes, or any :class:`VideoSource`) to ``account``.

        With ``wait``, returns once encoding is ready.

        Raises:
            ApiError: Meta refused the file (352 format, 382 too small, ...), or any other
                error of a phase after the requestor's retries.
            InvalidParameterError: encoding failed.
            TransientError: the server's offsets did not converge, or encoding timed out.
        """
        if isinstance(source, Path):
            with FileSource(source) as opened:
                return await self.upload(account, opened, title=title, wait=wait)
        if isinstance(source, bytes):
            source = BytesSource(source)
        session, start, end = await self._start(_act(account), source)
        await self._transfer_all(session, start, end)
        await self._finish(session, title or source.name)
        status = await self.wait_until_ready(session.video_id, account=account) if wait else None
        log.info(
            "graph.video.uploaded",
            bytes=source.size,
            chunks=session.chunks_sent,
            resumes=session.resumes,
        )
        return UploadedVideo(session.video_id, session.chunks_sent, session.resumes, status)

    async def _start(self, account: str, source: VideoSource) -> tuple[_Session, int, int]:
        """Open an upload session; return it with the first chunk's offsets."""
        params = {"upload_phase": "start", "file_size": source.size}
        try:
            body = (await self._post(account, params)).body
        except OutcomeUnknownError:
            # A lost start leaves at most an empty session that Meta discards; open another.
            body = (await self._post(account, params)).body
        session = _Session(account, source, str(body["upload_session_id"]), str(body["video_id"]))
        return (session, *_offsets(body))

    async def _transfer_all(self, session: _Session, start: int, end: int) -> None:
        while start < end:
            start, end = await self._transfer(session, start, end)

    async def _transfer(self, session: _Session, start: int, end: int) -> tuple[int, int]:
        """Send the chunk ``[start, end)``; return the offsets the server wants next."""
        for _ in range(self.policy.max_resumes + 1):
            chunk = await session.source.read(start, end)
            try:
                response = await self._post(
                    session.account, self._transfer_params(session, start), chunk=chunk
                )
                session.chunks_sent += 1
                return _offsets(response.body)
            except OutcomeUnknownError:
                # The chunk may have landed; sending it again asks the server where it stands.
                self._resumed(session, start, end, "dropped")
            except ApiError as error:
                start, end = self._server_offsets(session, error)
                if start >= end:
                    return start, end
        raise TransientError(
            f"video upload did not converge after {self.policy.max_resumes} resumes",
            video_id=session.video_id,
        )

    def _server_offsets(self, session: _Session, error: ApiError) -> tuple[int, int]:
        """Where a 1363037 error says to resume; any other error is re-raised."""
        if error.subcode != RESUME_SUBCODE or "start_offset" not in error.details:
            raise error
        start = int(error.details["start_offset"])
        end = int(error.details.get("end_offset", start))
        self._resumed(session, start, end, "offset_mismatch")
        return start, end

    @staticmethod
    def _resumed(session: _Session, start: int, end: int, reason: str) -> None:
        session.resumes += 1
        log.info("graph.video.resumed", reason=reason, start_offset=start, end_offset=end)

    @staticmethod
    def _transfer_params(session: _Session, start: int) -> dict[str, Any]:
        return {
            "upload_phase": "transfer",
            "upload_session_id": session.session_id,
            "start_offset": start,
        }

    async def _finish(self, session: _Session, title: str) -> None:
        params = {"upload_phase": "finish", "upload_session_id": session.session_id, "title": title}
        for _ in range(self.policy.max_resumes + 1):
            try:
                await self._post(session.account, params)
                return
            except OutcomeUnknownError:
                if await self._upload_complete(session):
                    return
            except ApiError as error:
                # The server is missing bytes: send them from where it says, then finish again.
                await self._transfer_all(session, *self._server_offsets(session, error))
        raise TransientError("video upload could not be finished", video_id=session.video_id)

    async def _upload_complete(self, session: _Session) -> bool:
        """After a lost finish: did the server close the session?"""
        response = await self._get_status(session.video_id, session.account)
        status = (response.body or {}).get("status") or {}
        return (status.get("uploading_phase") or {}).get("status") == "complete"

    async def status(self, video_id: str, *, account: str | None = None) -> EncodingStatus:
        """One poll of the video's encoding status."""
        response = await self._get_status(video_id, account)
        return EncodingStatus.parse(video_id, response.body or {})

    async def wait_until_ready(
        self, video_id: str, *, account: str | None = None
    ) -> EncodingStatus:
        """Poll the encoding status with backoff until the video is ready.

        Raises:
            InvalidParameterError: encoding failed (the file cannot be used as it is).
            TransientError: still not ready after ``policy.encoding_timeout`` seconds.
        """
        policy, clock = self.policy, self.requestor
        deadline, interval = clock.now() + policy.encoding_timeout, policy.poll_first
        while True:
            status = await self.status(video_id, account=account)
            if status.state == "ready":
                return status
            if status.state == "error":
                raise InvalidParameterError(
                    f"video {video_id} failed encoding: {'; '.join(status.errors) or 'no detail'}",
                    video_id=video_id,
                )
            if clock.now() + interval > deadline:
                raise TransientError(
                    f"video {video_id} still {status.state} after {policy.encoding_timeout:.0f}s",
                    video_id=video_id,
                )
            await clock.sleep(interval)
            interval = min(interval * policy.poll_factor, policy.poll_max)

    async def _get_status(self, video_id: str, account: str | None) -> GraphResponse:
        options = CallOptions(account=_act(account) if account else None)
        return await self.requestor.call("GET", video_id, {"fields": "status"}, options=options)

    async def _post(
        self, account: str, params: Mapping[str, Any], *, chunk: bytes | None = None
    ) -> GraphResponse:
        files = None
        if chunk is not None:
            files = {"video_file_chunk": ("chunk", chunk, _CONTENT_TYPE)}
        return await self.requestor.call(
            "POST", f"{account}/advideos", params, files=files, options=CallOptions(account=account)
        )


def _offsets(body: Mapping[str, Any]) -> tuple[int, int]:
    """``start_offset``/``end_offset`` of a start or transfer reply (numeric strings)."""
    return int(body["start_offset"]), int(body["end_offset"])


def _act(account: str) -> str:
    return account if account.startswith("act_") else f"act_{account}"
