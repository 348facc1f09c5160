"""What a batch's items got: one :class:`ItemResult` each, collected in :class:`BatchResults`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from meta_agent.errors import (
    ApiError,
    MetaAgentError,
    OutcomeUnknownError,
    TransientError,
)
from meta_agent.graph.batch_wire import BatchItem, Key
from meta_agent.graph.error_table import build_error
from meta_agent.graph.requestor import template


@dataclass(frozen=True)
class ItemResult:
    """What one item got: ``ok`` with its decoded ``body``, or an ``error``."""

    ok: bool
    body: Any = None
    error: MetaAgentError | None = None
    status: int | None = None

    def unwrap(self) -> Any:
        """The body of a success.

        Raises:
            MetaAgentError: the item's error.
        """
        if self.error is not None:
            raise self.error
        return self.body


class BatchResults(Mapping[Key, ItemResult]):
    """Results by index (in the order added) or by name.

    ``calls`` is how many HTTP requests the batch took, ``rounds`` how many of those had to
    wait for one another, ``resent`` how many item sends were second (or later) tries.
    """

    def __init__(
        self,
        items: Sequence[BatchItem],
        results: Mapping[int, ItemResult],
        calls: int,
        rounds: int,
        resent: int = 0,
    ) -> None:
        self._items = list(items)
        self._results = dict(results)
        self._names = {item.name: item.index for item in items if item.name}
        self.calls = calls
        self.rounds = rounds
        self.resent = resent

    def __getitem__(self, key: Key) -> ItemResult:
        return self._results[self._names[key] if isinstance(key, str) else key]

    def __iter__(self) -> Iterator[Key]:
        return iter(range(len(self._items)))

    def __len__(self) -> int:
        return len(self._items)

    def errors(self) -> dict[Key, MetaAgentError]:
        """The failed items' errors, by name (or index when unnamed)."""
        found = {item.key: self._results[item.index].error for item in self._items}
        return {key: error for key, error in found.items() if error is not None}


def item_result(
    status: int, body: Any, blocked_for: float = 0.0, item: BatchItem | None = None
) -> ItemResult:
    """One answered slot, judged by the rules of a standalone answer (reference §6.1).

    A Graph error envelope is Meta's answer (the item was not applied) and goes through the
    error table. A failure without one (a 5xx, a body that is not JSON) says nothing about
    whether the item ran: a transient error for a read, an unknown outcome for a write.
    """
    if isinstance(body, Mapping) and "error" in body:
        return ItemResult(False, body, build_error(body, status, blocked_for or None), status)
    if status >= 500 or isinstance(body, str):
        return ItemResult(False, body, _unanswered_failure(status, item), status)
    if status >= 400 or (isinstance(body, Mapping) and body.get("success") is False):
        return ItemResult(
            False,
            body,
            ApiError(f"Batch item failed with HTTP {status}", http_status=status),
            status,
        )
    return ItemResult(True, body, None, status)


def _unanswered_failure(status: int, item: BatchItem | None) -> ApiError:
    if item is None or not item.is_write:
        return TransientError(f"Batch item answered HTTP {status}", http_status=status)
    return OutcomeUnknownError(
        f"{item.method} {template(item.path)} in a batch answered HTTP {status} without a "
        "Graph error, so it may have been applied",
        http_status=status,
        method=item.method,
        path=item.path,
        batch_item=item.key,
    )
