"""Cursor pagination over Graph edges, one page in memory at a time (reference §2.3).

As Meta's SDK does, it re-sends the same path and parameters with ``after=<cursor>`` while
the page carries both ``paging.cursors.after`` and ``paging.next``, and stops at an empty
page. It never follows the ``next`` URL itself: that URL is built for a token in the query
string, and our token travels in a header.

    listing = paginate(requestor, "act_1/campaigns", model=Campaign, page_size=100)
    async for campaign in listing: ...
    async for page in listing.pages(): ...   # whole pages, for batch-minded callers
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from meta_agent.graph.requestor import CallOptions, Requestor

M = TypeVar("M", bound=BaseModel)


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
