"""Limits on what a caller may send: the body's size and how deeply its JSON nests.

:class:`BodyLimits` is a pure ASGI middleware. It refuses a ``Content-Length`` over the limit
at once, counts the bytes of a body as they stream (a chunked body that passes the limit is
refused without reading the rest), and measures the nesting depth and the number of arrays
and objects of a JSON body before any parser sees it (Python's parser recurses, so a deep
enough document is an internal error; and a body of empty arrays parses into far more memory
than it took to send). Refusals use the service's one error shape:
413 ``too_large``, 400 ``bad_request`` for a malformed ``Content-Length``, 422
``request_validation_error`` for nesting.

The default size admits one image at Meta's 30 MB maximum sent as base64 in ``data`` (4/3
of its size) with the rest of the request; images sent by ``url`` cost nothing here.
"""

from __future__ import annotations

import re
from array import array
from itertools import accumulate

from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from meta_agent.interfaces.http.errors import envelope

MIB = 1024 * 1024
DEFAULT_MAX_BODY_BYTES = 48 * MIB
DEFAULT_MAX_JSON_DEPTH = 32
# A bulk of 50 full campaigns holds a few thousand; a body of empty arrays would hold millions,
# each a Python list once parsed (48 MiB of ``[],`` is a gigabyte of lists).
MAX_CONTAINERS = 50_000
# A JSON string, unrolled so the engine runs long strings (base64 images) at C speed.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")  # +1 and -1 as signed bytes
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))


class BodyTooLargeError(Exception):
    """The body passed the limit while it was being read."""


class BodyLimits:
    """Refuses over-large bodies and over-deep JSON before the application reads them."""

    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        max_json_depth: int = DEFAULT_MAX_JSON_DEPTH,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_json_depth = max_json_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self._check_length(_header(scope, b"content-length"))
        if refusal is None:
            try:
                body = await self._read(receive)
            except BodyTooLargeError:
                refusal = self._too_large()
            else:
                refusal = self._check_depth(scope, body)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)

    def _check_length(self, value: str | None) -> JSONResponse | None:
        if value is None:
            return None
        if not value.strip().isdigit():
            message = f"Content-Length {value!r} is not a number of bytes"
            return JSONResponse(envelope("bad_request", message, field="Content-Length"), 400)
        return self._too_large() if int(value) > self.max_body_bytes else None

    async def _read(self, receive: Receive) -> bytes:
        """The whole body, counted as it arrives.

        Raises:
            BodyTooLargeError: the body passed the limit (the rest is left unread).
        """
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return b"".join(chunks)  # a disconnect: the application sees an empty body
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise BodyTooLargeError
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    def _too_large(self) -> JSONResponse:
        limit = self.max_body_bytes
        message = (
            f"the request body is over {limit} bytes ({limit / MIB:g} MiB, "
            "service.max_body_bytes); send images by url rather than as base64 data, or split "
            "a bulk request"
        )
        return JSONResponse(envelope("too_large", message, limit_bytes=limit), 413)

    def _check_depth(self, scope: Scope, body: bytes) -> JSONResponse | None:
        content_type = (_header(scope, b"content-type") or "").lower()
        if not body or (content_type and "json" not in content_type):
            return None
        problem = json_problem(body, self.max_json_depth)
        if problem is None:
            return None
        return JSONResponse(
            envelope("request_validation_error", f"body: {problem}", field="body"), 422
        )


def json_problem(document: bytes, max_depth: int) -> str | None:
    """What is wrong with the shape of a JSON ``document``, if anything: too deep, too many.

    Strings are dropped and the brackets kept, in C; the depth is then a running sum over
    those alone. Brackets that do not balance are left to the JSON parser to refuse.
    """
    brackets = _STRING.sub(b"", document).translate(_STEPS, _NOT_BRACKETS)
    if len(brackets) > 2 * MAX_CONTAINERS:
        return f"the JSON holds more than {MAX_CONTAINERS} arrays and objects; split the request"
    if brackets and max(accumulate(array("b", brackets))) > max_depth:
        return f"the JSON nests deeper than {max_depth} levels; flatten it"
    return None


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands over ``body`` once, then the server's own messages."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # the disconnect, when it comes

    return replay
