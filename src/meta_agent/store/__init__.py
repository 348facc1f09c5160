"""The workflow journal: a Protocol (``journal.py``) and its SQL implementation (``sql.py``).

``SqlJournal``, ``open_journal`` and ``default_journal_url`` are imported on first use, so
reading the records and the Protocol does not load SQLAlchemy.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from meta_agent.store.journal import (
    DuplicateRequestError,
    JournalStore,
    ResourceRecord,
    StepRecord,
    StepStatus,
    WorkflowRecord,
    WorkflowStatus,
)

if TYPE_CHECKING:
    from meta_agent.store.engine import default_journal_url
    from meta_agent.store.sql import SqlJournal, open_journal

_LAZY = {
    "SqlJournal": "meta_agent.store.sql",
    "open_journal": "meta_agent.store.sql",
    "default_journal_url": "meta_agent.store.engine",
}

__all__ = [
    "DuplicateRequestError",
    "JournalStore",
    "ResourceRecord",
    "SqlJournal",
    "StepRecord",
    "StepStatus",
    "WorkflowRecord",
    "WorkflowStatus",
    "default_journal_url",
    "open_journal",
]


def __getattr__(name: str) -> Any:
    """Import the SQL implementation when one of its names is first asked for."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(module), name)
