"""A witness of how a client's requests overlapped, for tests and benchmarks.

:class:`RequestTimeline` wraps the sandbox's ASGI app and notes when each Graph request (the
admin routes under ``/_sandbox`` aside) began and ended. From those spans it reads the
client's **sequential round trips**: the longest chain of requests in which each began only
after the one before it had ended. Requests sent together count once however many there are;
a request that had to wait for another's answer adds one. That is the number the latency
multiplies, whatever the client does between requests.

``hold_s`` holds each request that long before serving it, so requests a client sends
concurrently overlap even in process, where the sandbox would otherwise serve one before the
next has started.

Served in a process of its own, the timeline answers ``GET /_timeline`` with
``{"requests": ..., "round_trips": ..., "spans": [[start, end], ...]}`` (seconds from the
first request's start, in arrival order) and ``DELETE /_timeline`` by forgetting what it noted.
"""

from __future__ import annotations

import asyncio
import bisect
import json
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


class RequestTimeline:
    """ASGI middleware noting each Graph request's start and end (see the module docs)."""

    def __init__(self, app: App | None = None, *, hold_s: float = 0.0) -> None:
        """``app`` may be set later (a server started before the app it serves is built)."""
        self.app = app
        self.hold_s = hold_s
        self.spans: list[tuple[float, float]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.app is not None, "RequestTimeline.app is not set"
        if scope["type"] == "http" and scope["path"] == "/_timeline":
            await self._answer(scope, send)
            return
        if scope["type"] != "http" or str(scope["path"]).startswith("/_sandbox"):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        noted = False

        async def noting(message: MutableMapping[str, Any]) -> None:
            # The span ends as the last byte leaves, noted before it is sent: a client that
            # has its answer (and resets the timeline) always finds the request noted.
            nonlocal noted
            last = message["type"] == "http.response.body" and not message.get("more_body")
            if last and not noted:
                noted = True
                self.spans.append((started, time.perf_counter()))
            await send(message)

        try:
            if self.hold_s:
                await asyncio.sleep(self.hold_s)
            await self.app(scope, receive, noting)
        finally:
            if not noted:
                self.spans.append((started, time.perf_counter()))

    async def _answer(self, scope: Scope, send: Send) -> None:
        if scope["method"] == "DELETE":
            self.reset()
        origin = min((start for start, _ in self.spans), default=0.0)
        spans = [[round(start - origin, 6), round(end - origin, 6)] for start, end in self.spans]
        body = json.dumps(
            {"requests": self.requests, "round_trips": self.round_trips(), "spans": spans}
        )
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body.encode()})

    @property
    def requests(self) -> int:
        """Graph requests served so far."""
        return len(self.spans)

    def round_trips(self) -> int:
        """The longest chain of requests each begun after the one before it ended."""
        return longest_chain(self.spans)

    def reset(self) -> None:
        """Forget what was noted (to measure the next run alone)."""
        self.spans.clear()


def longest_chain(spans: list[tuple[float, float]]) -> int:
    """How many of ``spans`` (start, end) can follow one another without overlapping, at most.

    Spans visited by end time: a span extends the longest chain among those that ended by its
    start (a binary search over the ends; ``best[i]`` is the longest chain among the first i).
    """
    ordered = sorted(spans, key=lambda span: span[1])
    ends = [end for _, end in ordered]
    best = [0]
    for start, _ in ordered:
        before = bisect.bisect_right(ends, start, hi=len(best) - 1)
        best.append(max(best[-1], best[before] + 1))
    return best[-1]
