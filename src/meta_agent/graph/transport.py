"""The one module that imports the HTTP library (httpx2).

It sends bytes and returns bytes. What it adds is the distinction a careful client needs:
a failure *before* the request left (safe to resend) versus a failure *after* (the server may
have acted on it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx2


@dataclass(frozen=True)
class RawResponse:
    """Status, lower-cased headers and body of one HTTP exchange."""

    status: int
    headers: Mapping[str, str]
    body: bytes


class SendFailedError(Exception):
    """The exchange failed; ``maybe_delivered`` says whether the server may have received it."""

    def __init__(self, message: str, *, maybe_delivered: bool) -> None:
        super().__init__(message)
        self.maybe_delivered = maybe_delivered


FileField = tuple[str, bytes, str]

_NOT_SENT = (
    httpx2.ConnectError,
    httpx2.ConnectTimeout,
    httpx2.PoolTimeout,
    httpx2.UnsupportedProtocol,
)


class Transport:
    """Pooled async HTTP with timeouts; ``app`` serves an ASGI app in process instead."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 60.0,
        max_connections: int = 32,
        app: Any = None,
    ) -> None:
        transport = httpx2.ASGITransport(app=app) if app is not None else None
        self._client = httpx2.AsyncClient(
            base_url=base_url,
            timeout=httpx2.Timeout(timeout, connect=min(timeout, 10.0)),
            limits=httpx2.Limits(max_connections=max_connections),
            transport=transport,
        )

    async def send(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str],
        form: Mapping[str, str] | None = None,
        files: Mapping[str, FileField] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> RawResponse:
        """Send one request.

        Raises:
            SendFailedError: the exchange did not complete.
        """
        try:
            response = await self._client.request(
                method, path, params=query, data=form, files=files, headers=headers
            )
        except _NOT_SENT as error:
            raise SendFailedError(
                f"{type(error).__name__}: {error}", maybe_delivered=False
            ) from None
        except (httpx2.TransportError, OSError) as error:
            # Read timeouts, resets and truncated bodies: the request was out of our hands.
            raise SendFailedError(
                f"{type(error).__name__}: {error}", maybe_delivered=True
            ) from None
        headers_out = {key.lower(): value for key, value in response.headers.items()}
        return RawResponse(response.status_code, headers_out, response.content)

    async def aclose(self) -> None:
        """Close pooled connections."""
        await self._client.aclose()


class DownloadError(Exception):
    """A file could not be downloaded: a refusal, too large, or the exchange failed."""


async def download(url: str, *, max_bytes: int, time_limit: float = 30.0) -> bytes:
    """GET a public file (an image to upload), reading no more than ``max_bytes``.

    A client of its own: the Graph transport is bound to Meta's host (or to the sandbox).

    Raises:
        DownloadError: an HTTP error status, a body over ``max_bytes``, or a failed exchange.
    """
    try:
        async with (
            httpx2.AsyncClient(timeout=time_limit, follow_redirects=True) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code >= 400:
                raise DownloadError(f"the server answered HTTP {response.status_code}")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    raise DownloadError(f"the file is larger than {max_bytes} bytes")
            return bytes(body)
    except (httpx2.HTTPError, httpx2.InvalidURL, OSError) as error:
        raise DownloadError(f"{type(error).__name__}: {error}") from None
