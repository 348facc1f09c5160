"""Cursor pagination over Graph edges, one page in memory at a time (reference §2.3).

As Meta's SDK does, it re-sends the same path and parameters with ``after=<cursor>`` while
the page carries both ``paging.cursors.after`` and ``paging.next``, and stops at an empty
page. It never follows the ``next`` URL itself: that URL is built for a token in the query
string, and our token travels in a header.

    listing = paginate(requestor, "act_1/campaigns", model=Campaign, page_size=100)
    async for campaign in listing: ...
    async for page in listing.pages(): ...   # whole pages, for batch-minded callers
    async for row in read_ahead(pages): ...  # items, the next page fetched while this one is used
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from meta_agent.graph.requestor import CallOptions, Requestor

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[M]):
    """One page of an edge: its items, the cursor past it, and the edge's total when asked."""

    items: list[M]
    after: str | None
    has_next: bool
    total_count: int | None = None


class Paginator(Generic[M]):
    """An edge listing: iterate items with ``async for``, or whole pages with ``pages()``.

    Nothing is fetched until iteration starts; each iteration starts again from the first
    page. ``total_count`` holds ``summary.total_count`` once a page asked with ``summary``
    has been read.
    """

    def __init__(
        self,
        requestor: Requestor,
        path: str,
        params: Mapping[str, Any] | None,
        *,
        model: type[M],
        options: CallOptions | None = None,
    ) -> None:
        self._requestor = requestor
        self._path = path
        self._params = dict(params or {})
        self._model = model
        self._options = options
        self.total_count: int | None = None

    async def pages(self) -> AsyncIterator[Page[M]]:
        """Every non-empty page in order.

        Raises:
            ApiError: a page could not be read (after the requestor's retries).
        """
        params = dict(self._params)
        while True:
            response = await self._requestor.call("GET", self._path, params, options=self._options)
            page = self._parse(response.body)
            if not page.items:
                return
            yield page
            if not page.has_next or page.after is None or page.after == params.get("after"):
                return
            params["after"] = page.after

    async def __aiter__(self) -> AsyncIterator[M]:
        async for page in self.pages():
            for item in page.items:
                yield item

    async def collect(self) -> list[M]:
        """Every item in a list (for listings known to be small).

        Raises:
            ApiError: a page could not be read.
        """
        return [item async for item in self]

    def _parse(self, body: Any) -> Page[M]:
        body = body if isinstance(body, dict) else {}
        paging = body.get("paging") or {}
        summary = body.get("summary")
        if isinstance(summary, dict) and "total_count" in summary:
            self.total_count = int(summary["total_count"])
        return Page(
            items=[self._model.model_validate(item) for item in body.get("data") or []],
            after=(paging.get("cursors") or {}).get("after"),
            has_next="next" in paging,
            total_count=self.total_count,
        )


def paginate(
    requestor: Requestor,
    path: str,
    params: Mapping[str, Any] | None = None,
    *,
    model: type[M],
    fields: Sequence[str] | None = None,
    page_size: int | None = None,
    summary: bool = False,
    options: CallOptions | None = None,
) -> Paginator[M]:
    """A lazy listing of the edge at ``path``, parsed into ``model``.

    ``fields`` selects what each item carries (sent comma-separated), ``page_size`` is the
    ``limit`` per request (Meta's default is 25), and ``summary`` asks for the edge's total.
    """
    query = dict(params or {})
    if fields:
        query["fields"] = ",".join(fields)
    if page_size is not None:
        query["limit"] = page_size
    if summary:
        query["summary"] = True
    return Paginator(requestor, path, query, model=model, options=options)


async def read_ahead(
    pages: AsyncIterator[Sequence[T]], *, yield_every: int = 256
) -> AsyncIterator[T]:
    """The items of ``pages``, fetching page k+1 while the caller works through page k.

    A cursor makes page k+1 depend on page k, so reading ahead is at most one page deep: the
    next page is asked for (as a task) as soon as page k arrives, and never more than that,
    so at most two pages are held. Every ``yield_every`` items the caller's loop lets the
    event loop run (a zero sleep, never a wait), so the request goes out and its answer is
    read while the caller is busy. An error fetching page k+1 is raised after the last item
    of page k, where reading page by page would raise it. Closing the iterator early
    (``aclosing``, ``break`` then garbage collection) cancels the fetch in flight.

    Raises:
        Exception: whatever fetching a page raised (an :class:`~meta_agent.errors.ApiError`).
    """
    ahead = asyncio.ensure_future(_next_page(pages))
    try:
        while (page := await ahead) is not None:
            ahead = asyncio.ensure_future(_next_page(pages))
            for index, item in enumerate(page):
                if index % yield_every == 0:
                    await asyncio.sleep(0)
                yield item
            del page  # released before the next page is awaited: two pages held at most
    finally:
        ahead.add_done_callback(_observe)  # a fetch the caller never reached may have failed
        ahead.cancel()  # a no-op once it is done


async def _next_page(pages: AsyncIterator[Sequence[T]]) -> Sequence[T] | None:
    return await anext(pages, None)


def _observe(task: asyncio.Future[Any]) -> None:
    """Retrieve an abandoned fetch's outcome, so asyncio does not report it as never seen."""
    if not task.cancelled():
        task.exception()
