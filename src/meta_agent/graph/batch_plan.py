"""Planning one round of a batch: which items travel together in which chunk of at most 50."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from meta_agent.graph.batch_wire import BatchItem

MAX_BATCH_SIZE = 50


def plan_chunks(
    items: Sequence[BatchItem], max_size: int = MAX_BATCH_SIZE
) -> list[list[BatchItem]]:
    """Pack one round's items (in the order added) into chunks of at most ``max_size``.

    Items linked by dependencies among ``items`` stay in one chunk. A group larger than a
    chunk sends only its first ``max_size`` items, which hold every dependency of their own
    (a dependency is always added earlier); the rest waits for the next round. Groups are
    packed first-fit, largest first, and each chunk keeps the order added.
    """
    groups = sorted((group[:max_size] for group in _groups(items)), key=len, reverse=True)
    chunks: list[list[BatchItem]] = []
    for group in groups:
        target = next((chunk for chunk in chunks if len(chunk) + len(group) <= max_size), None)
        if target is None:
            chunks.append(list(group))
        else:
            target.extend(group)
    return [sorted(chunk, key=lambda item: item.index) for chunk in chunks]


def _groups(items: Sequence[BatchItem]) -> list[list[BatchItem]]:
    """Items connected by dependencies (a union-find over names), each in the order added."""
    parent = {item.index: item.index for item in items}
    by_name = {item.name: item.index for item in items if item.name}

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    for item in items:
        for name in item.depends_on:
            if name in by_name:
                parent[root(item.index)] = root(by_name[name])
    groups: dict[int, list[BatchItem]] = defaultdict(list)
    for item in items:
        groups[root(item.index)].append(item)
    return list(groups.values())
