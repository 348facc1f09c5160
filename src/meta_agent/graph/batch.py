"""The Batch API (reference §8): many Graph calls in as few HTTP requests as Meta allows.

::

    batch = graph.batch()                       # or BatchBuilder(requestor)
    batch.post("act_1/campaigns", CAMPAIGN, name="campaign")
    batch.post("act_1/adsets", {**AD_SET, "campaign_id": ref("campaign")}, name="adset")
    results = await batch.execute()
    results["adset"].unwrap()["id"]

Execution runs in rounds of chunks of at most 50, each chunk paced as many calls as it holds
items; every dependency chain travels inside one chunk. An item that Meta did not run, or
refused for a passing reason (rate limited, transient), is sent again on its own, with the
items it took down with it, under the same retry policy as a standalone call; an item that
got a success answer is never sent again (:mod:`meta_agent.graph.batch_run` explains why a
re-sent write cannot be applied twice).

The pieces: :mod:`~meta_agent.graph.batch_wire` (encoding, references, slots),
:mod:`~meta_agent.graph.batch_plan` (chunks), :mod:`~meta_agent.graph.batch_results` and
:mod:`~meta_agent.graph.batch_run` (rounds and retries).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import structlog

from meta_agent.errors import ConfigError, RequestValidationError
from meta_agent.graph.batch_plan import MAX_BATCH_SIZE, plan_chunks
from meta_agent.graph.batch_results import BatchResults, ItemResult, item_result
from meta_agent.graph.batch_run import BatchRun
from meta_agent.graph.batch_wire import (
    REFERENCE,
    BatchItem,
    Key,
    account_key,
    dependencies,
    form_body,
    open_slot,
    ref,
    select,
    substitute,
    wire_item,
)
from meta_agent.graph.requestor import Requestor, encode_params
from meta_agent.graph.transport import FileField

__all__ = [
    "MAX_BATCH_SIZE",
    "METHODS",
    "REFERENCE",
    "BatchBuilder",
    "BatchItem",
    "BatchResults",
    "ItemResult",
    "Key",
    "account_key",
    "dependencies",
    "form_body",
    "item_result",
    "open_slot",
    "plan_chunks",
    "ref",
    "select",
    "substitute",
    "wire_item",
]

log = structlog.get_logger("meta_agent.graph")

METHODS = frozenset({"GET", "POST", "DELETE"})
# Characters that would break a reference or the form encoding of one.
_BAD_NAME = re.compile(r"[:{},&=+#?%\s]")


class BatchBuilder:
    """Collects Graph calls, then runs them in chunks of at most 50 (see the module docs)."""

    def __init__(
        self,
        requestor: Requestor,
        *,
        max_size: int = MAX_BATCH_SIZE,
        concurrency: int = 4,
        max_attempts: int | None = None,
    ) -> None:
        """``concurrency`` bounds the chunks in flight; ``max_attempts`` the sends of an item
        that gets no answer or a passing error (default: the requestor's retry policy, whose
        total-time cap applies too).

        Raises:
            ConfigError: a limit out of range.
        """
        if not 1 <= max_size <= MAX_BATCH_SIZE or concurrency < 1:
            raise ConfigError(f"max_size must be 1..{MAX_BATCH_SIZE} and concurrency at least 1")
        self.requestor = requestor
        self.max_size = max_size
        self.concurrency = concurrency
        self.max_attempts = max_attempts or requestor.policy.max_attempts
        self.policy = replace(requestor.policy, max_attempts=self.max_attempts)
        self.items: list[BatchItem] = []

    def __len__(self) -> int:
        return len(self.items)

    def add(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        name: str | None = None,
        depends_on: Sequence[str] = (),
        files: Mapping[str, FileField] | None = None,
    ) -> Key:
        """Add one call; returns its key in the results (``name``, else its index).

        Values are encoded as for a standalone call (lists, dicts and booleans as compact
        JSON). ``depends_on`` names items that must succeed first; references made with
        :func:`ref` add their names to it. Every dependency must have been added before.

        Raises:
            RequestValidationError: an unknown method, a duplicate or unusable name, an unknown
                dependency, or files on a call that is not a POST.
        """
        method = method.upper()
        self._check(method, name, files)
        encoded = encode_params(params or {})
        needs = dependencies(path, encoded, depends_on)
        known = {item.name for item in self.items}
        for dependency in needs:
            if dependency not in known:
                raise RequestValidationError(
                    f"Batch item depends on {dependency!r}, but no earlier item has that name",
                    field="depends_on",
                )
        item = BatchItem(
            len(self.items), method, path.strip("/"), encoded, name, needs, tuple(depends_on)
        )
        self.items.append(replace(item, files=dict(files or {})))
        return item.key

    def get(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        name: str | None = None,
        depends_on: Sequence[str] = (),
    ) -> Key:
        """Add a read (see :meth:`add`)."""
        return self.add("GET", path, params, name=name, depends_on=depends_on)

    def post(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        name: str | None = None,
        depends_on: Sequence[str] = (),
        files: Mapping[str, FileField] | None = None,
    ) -> Key:
        """Add a create or an update, with optional attached files (see :meth:`add`)."""
        return self.add("POST", path, params, name=name, depends_on=depends_on, files=files)

    def delete(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        name: str | None = None,
        depends_on: Sequence[str] = (),
    ) -> Key:
        """Add a delete (see :meth:`add`)."""
        return self.add("DELETE", path, params, name=name, depends_on=depends_on)

    async def execute(self) -> BatchResults:
        """Send every item and collect one result each.

        Nothing is raised for a failed item or a failed request: each item's error, mapped
        through the error table, is in its result.
        """
        run = BatchRun(
            self.requestor,
            self.items,
            max_size=self.max_size,
            concurrency=self.concurrency,
            policy=self.policy,
        )
        results = await run.run()
        log.info(
            "graph.batch.completed",
            items=len(results),
            failed=len(results.errors()),
            calls=results.calls,
            rounds=results.rounds,
            resent=results.resent,
        )
        return results

    def _check(self, method: str, name: str | None, files: Mapping[str, FileField] | None) -> None:
        if method not in METHODS:
            raise RequestValidationError(
                f"Batch method must be GET, POST or DELETE, not {method!r}", field="method"
            )
        if name is not None and (not name or _BAD_NAME.search(name)):
            raise RequestValidationError(
                f"Batch item name {name!r} is empty or has one of : {{ }} , & = + # ? % or a space",
                field="name",
            )
        if name is not None and any(item.name == name for item in self.items):
            raise RequestValidationError(f"Two batch items are named {name!r}", field="name")
        if files and method != "POST":
            raise RequestValidationError("Only a POST can attach files", field="files")
