"""The process's startup heap, kept out of the garbage collector's way.

A process imports and builds a few hundred thousand objects that live until it exits (the
schemas, the SDK field tables, compiled queries, the sandbox's data). CPython's collector
walks every one of them at each full collection: tens of milliseconds that fall in the
middle of whichever request happens to be running. Once startup is over,
:func:`freeze_startup_heap` moves them to the permanent generation (``gc.freeze``, as large
Python services do before they fork or serve); what requests allocate is collected as
before.
"""

from __future__ import annotations

import gc

_frozen = False


def freeze_startup_heap() -> int:
    """Collect once, then freeze what survives; only the first call in a process does it
    (the heap frozen is the one startup built). Returns how many objects are frozen."""
    global _frozen
    if not _frozen:
        gc.collect()
        gc.freeze()
        _frozen = True
    return gc.get_freeze_count()
