"""Structured concurrency: run awaitables together; if one fails, the others are cancelled.

``asyncio.gather`` leaves the siblings of a failed awaitable running in the background (and
their half-made coroutines warning at exit). :func:`gather_all` runs them in a TaskGroup,
so a failure cancels the rest and waits for them, then raises the first error as itself,
not wrapped in an ``ExceptionGroup``, so callers keep catching what they always caught.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


async def gather_all(*coros: Coroutine[Any, Any, T]) -> list[T]:
    """The results of ``coros`` in order; the first failure cancels the others and is raised."""
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(coro) for coro in coros]
    except BaseExceptionGroup as failed:
        raise _first(failed) from None
    return [task.result() for task in tasks]


def _first(group: BaseExceptionGroup[Any]) -> BaseException:
    error = group.exceptions[0]
    return _first(error) if isinstance(error, BaseExceptionGroup) else error


A = TypeVar("A")
B = TypeVar("B")
C = TypeVar("C")


async def gather2(a: Coroutine[Any, Any, A], b: Coroutine[Any, Any, B]) -> tuple[A, B]:
    """Two differently typed results, as :func:`gather_all` runs them."""
    results: list[Any] = await gather_all(a, b)
    return results[0], results[1]


async def gather3(
    a: Coroutine[Any, Any, A], b: Coroutine[Any, Any, B], c: Coroutine[Any, Any, C]
) -> tuple[A, B, C]:
    """Three differently typed results, as :func:`gather_all` runs them."""
    results: list[Any] = await gather_all(a, b, c)
    return results[0], results[1], results[2]
