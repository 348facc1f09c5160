"""The one module that imports the HTTP library (httpx2).

It sends bytes and returns bytes. What it adds is the distinction a careful client needs:
a failure *before* the request left (safe to resend) versus a failure *after* (the server may
have acted on it). :func:`fetch` (and :func:`download` over it) is the other door out: every
fetch made for a caller (an image URL, a webhook), through the egress guard
(:mod:`meta_agent.egress`), connected to the very address the guard checked.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import httpx2

from meta_agent.egress import Destination, EgressPolicy


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
    """A fetch failed: too large, too slow, too many redirects, or the exchange failed."""


REDIRECTS = frozenset({301, 302, 303, 307, 308})


async def download(
    url: str,
    *,
    max_bytes: int,
    egress: EgressPolicy,
    field: str = "url",
    time_limit: float = 30.0,
) -> bytes:
    """GET a file (an image to upload) through the egress guard, at most ``max_bytes``.

    Raises:
        RequestValidationError: ``egress`` refuses the URL or a redirect (names ``field``).
        DownloadError: an HTTP error status, a body over ``max_bytes``, or a failed exchange.
    """
    response = await fetch(
        "GET", url, egress=egress, field=field, max_bytes=max_bytes, time_limit=time_limit
    )
    if response.status >= 300:
        raise DownloadError(f"the server answered HTTP {response.status}")
    return response.body


async def fetch(
    method: str,
    url: str,
    *,
    egress: EgressPolicy,
    field: str,
    max_bytes: int,
    time_limit: float,
    content: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    follow_redirects: bool = True,
    transport: Any = None,
) -> RawResponse:
    """One exchange made for a caller, to the very address ``egress`` checked.

    The host is resolved once and every address checked; the connection goes to the checked
    address (the Host header, TLS SNI and certificate check keep the host name). Redirects
    are followed by hand, each hop checked the same way, at most ``egress.max_redirects``;
    the body is streamed and cut at ``max_bytes``; everything, resolution included, ends
    within ``time_limit`` seconds. ``transport`` is an httpx2 transport, for tests.

    Raises:
        RequestValidationError: ``egress`` refuses the URL or a redirect (names ``field``).
        DownloadError: over ``max_bytes``, over ``time_limit``, too many redirects, or the
            exchange failed.
    """
    exchange = _Exchange(egress, field, max_bytes, headers or {}, follow_redirects)
    try:
        async with (
            asyncio.timeout(time_limit),
            httpx2.AsyncClient(
                timeout=time_limit, trust_env=False, follow_redirects=False, transport=transport
            ) as client,
        ):
            return await exchange.follow(client, method, url, content)
    except TimeoutError:
        raise DownloadError(f"no complete answer within {time_limit:g} s") from None
    except (httpx2.HTTPError, httpx2.InvalidURL, OSError) as error:
        raise DownloadError(f"{type(error).__name__}: {error}") from None


@dataclass(frozen=True)
class _Exchange:
    egress: EgressPolicy
    field: str
    max_bytes: int
    headers: Mapping[str, str]
    follow_redirects: bool

    async def follow(
        self, client: httpx2.AsyncClient, method: str, url: str, content: bytes | None
    ) -> RawResponse:
        label = None
        for _ in range(self.egress.max_redirects + 1):
            destination = await self.egress.destination(url, self.field, label=label)
            response = await self.send(client, method, destination, content)
            location = response.headers.get("location")
            if not self.follow_redirects or response.status not in REDIRECTS or not location:
                return response
            url = urljoin(destination.url, location)
            label = f"{url} (a redirect from {destination.url})"
            if response.status == 303 or (response.status in {301, 302} and method == "POST"):
                method, content = "GET", None
        raise DownloadError(f"more than {self.egress.max_redirects} redirects")

    async def send(
        self,
        client: httpx2.AsyncClient,
        method: str,
        destination: Destination,
        content: bytes | None,
    ) -> RawResponse:
        host = self.egress.connect_host(destination.address)
        literal = f"[{host}]" if ":" in host else host
        request = client.build_request(
            method,
            f"{destination.scheme}://{literal}:{destination.port}{destination.target}",
            content=content,
            headers={**self.headers, "Host": destination.host_header},
            extensions={"sni_hostname": destination.host} if destination.scheme == "https" else {},
        )
        response = await client.send(request, stream=True)
        try:
            body = await _capped(response, self.max_bytes)
        finally:
            await response.aclose()
        headers = {key.lower(): value for key, value in response.headers.items()}
        return RawResponse(response.status_code, headers, body)


async def _capped(response: httpx2.Response, max_bytes: int) -> bytes:
    """The body, refused as soon as it is known to pass ``max_bytes``."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise DownloadError(f"the answer is larger than {max_bytes} bytes ({declared})")
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > max_bytes:
            raise DownloadError(f"the answer is larger than {max_bytes} bytes")
    return bytes(body)
