"""read_ahead: one page fetched ahead and never more, errors where they belong, clean closing."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import AsyncIterator
from contextlib import aclosing

import pytest

from meta_agent.graph.pagination import read_ahead

SIZE = 4


async def numbered(
    log: list[str], pages: int, fail_at: int | None = None
) -> AsyncIterator[list[int]]:
    """``pages`` pages of SIZE numbers; each fetch suspends once and is logged when it lands."""
    try:
        for number in range(pages):
            await asyncio.sleep(0)  # a real fetch waits on the network at least once
            if number == fail_at:
                log.append(f"failed {number}")
                raise RuntimeError(f"page {number} refused")
            log.append(f"fetched {number}")
            yield list(range(number * SIZE, (number + 1) * SIZE))
    except asyncio.CancelledError:
        log.append("cancelled")
        raise


def fetched(log: list[str]) -> int:
    """Pages fetched so far."""
    return sum(entry.startswith("fetched") for entry in log)


async def settle() -> None:
    """Let the event loop run the fetch in flight (as a caller awaiting its own work would)."""
    for _ in range(5):
        await asyncio.sleep(0)


async def consume(items: AsyncIterator[int], seen: list[int]) -> None:
    """Take every item into ``seen``, letting the loop run between items."""
    async for item in items:
        await settle()
        seen.append(item)


async def test_next_page_is_fetched_while_this_one_is_consumed() -> None:
    """While page k is used, page k+1 arrives, and page k+2 is not asked for."""
    log: list[str] = []
    ahead: list[int] = []
    async for item in read_ahead(numbered(log, 5), yield_every=1):
        await settle()
        ahead.append(fetched(log) - (item // SIZE + 1))
    assert len(ahead) == 5 * SIZE
    assert ahead[: 4 * SIZE] == [1] * (4 * SIZE)  # always exactly one page ahead...
    assert ahead[4 * SIZE :] == [0] * SIZE  # ...except on the last page: nothing left to fetch


async def test_items_come_in_order_once_each() -> None:
    """Every item of every page, in order, whatever the caller's pace."""
    items = [item async for item in read_ahead(numbered([], 7), yield_every=3)]
    assert items == list(range(7 * SIZE))


async def test_error_fetching_ahead_is_raised_after_the_page_before() -> None:
    """Page 2 fails while page 1 is consumed; the error comes after page 1's last item."""
    log: list[str] = []
    seen: list[int] = []
    with pytest.raises(RuntimeError, match="page 2 refused"):
        await consume(read_ahead(numbered(log, 5, fail_at=2), yield_every=1), seen)
    assert "failed 2" in log
    assert seen == list(range(2 * SIZE))


async def test_closing_early_cancels_the_fetch_in_flight() -> None:
    """A caller that stops after one item leaves no fetch running."""
    log: list[str] = []
    async with aclosing(read_ahead(numbered(log, 5))) as items:
        async for _ in items:
            break
    await settle()
    assert log == ["fetched 0", "cancelled"]


async def test_a_failed_fetch_the_caller_never_reached_is_not_reported() -> None:
    """Closing on page 0 after page 1's fetch failed leaves no "exception never retrieved"."""
    loop = asyncio.get_running_loop()
    reported: list[dict[str, object]] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    log: list[str] = []
    try:
        await take_one_then_close(read_ahead(numbered(log, 5, fail_at=1), yield_every=1))
        gc.collect()
        await settle()
    finally:
        loop.set_exception_handler(None)
    assert "failed 1" in log
    assert reported == []


async def take_one_then_close(items: AsyncIterator[int]) -> None:
    """Take one item, let the fetch ahead finish, close the iterator."""
    async with aclosing(items):
        async for _ in items:
            await settle()
            break


async def test_empty_source_yields_nothing() -> None:
    """No page, no item."""
    assert [item async for item in read_ahead(numbered([], 0))] == []


class Page(list[int]):
    """A page that can be watched with a weak reference."""


async def watched(refs: list[weakref.ref[Page]], pages: int) -> AsyncIterator[Page]:
    """``pages`` pages, each remembered weakly so a test can see which are still alive."""
    for number in range(pages):
        await asyncio.sleep(0)
        page = Page(range(number * SIZE, (number + 1) * SIZE))
        refs.append(weakref.ref(page))
        yield page
        del page


async def test_at_most_two_pages_are_alive() -> None:
    """A slow caller has its page and the one read ahead alive, and none before them."""
    refs: list[weakref.ref[Page]] = []
    alive: list[tuple[int, list[int]]] = []
    async for item in read_ahead(watched(refs, 5), yield_every=1):
        await settle()
        gc.collect()
        alive.append(
            (item // SIZE, [number for number, ref in enumerate(refs) if ref() is not None])
        )
    assert len(alive) == 5 * SIZE
    assert all(live in ([page], [page, page + 1]) for page, live in alive)
    assert any(len(live) == 2 for _, live in alive)  # the read-ahead page was there
