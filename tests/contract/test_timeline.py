"""The request timeline a benchmark reads: its answer over HTTP, spans and round trips."""

from __future__ import annotations

import asyncio

import httpx2
from starlette.applications import Starlette

from meta_agent.sandbox.timeline import RequestTimeline
from tests.conftest import TOKEN


async def test_the_timeline_answers_its_requests_round_trips_and_spans(app: Starlette) -> None:
    """Two reads sent together and one after them: 3 requests in 2 round trips, each span
    from the first one's start; DELETE forgets them; admin routes are not counted."""
    timeline = RequestTimeline(app, hold_s=0.02)
    transport = httpx2.ASGITransport(app=timeline)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx2.AsyncClient(transport=transport, base_url="http://sb") as client:
        me = "/v25.0/me"
        await asyncio.gather(client.get(me, headers=headers), client.get(me, headers=headers))
        await client.get(me, headers=headers)
        await client.get("/_sandbox/objects")
        noted = (await client.get("/_timeline")).json()
        assert (noted["requests"], noted["round_trips"]) == (3, 2)
        starts = sorted(start for start, _ in noted["spans"])
        assert starts[0] == 0.0
        assert all(end - start >= 0.02 for start, end in noted["spans"])
        assert starts[2] >= min(end for _, end in noted["spans"])
        forgotten = (await client.delete("/_timeline")).json()
        assert (forgotten["requests"], forgotten["spans"]) == (0, [])
