"""The event bus (specification §3.3): what happened, for whoever wants to know.

Events are emitted after the journal has recorded what they announce, so a subscriber never
hears of something the journal does not know. A subscriber that fails is logged and
skipped: an event can never fail the workflow that emitted it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog

log = structlog.get_logger("meta_agent.events")

CAMPAIGN_CREATED = "campaign_created"
ADSET_CREATED = "adset_created"
AD_CREATED = "ad_created"
WORKFLOW_STARTED = "workflow_started"
WORKFLOW_COMPLETED = "workflow_completed"
WORKFLOW_FAILED = "workflow_failed"
WORKFLOW_ROLLED_BACK = "workflow_rolled_back"
STEP_COMPLETED = "step_completed"
ANY = "*"


@dataclass(frozen=True)
class Event:
    """One thing that happened; ``data`` is JSON-compatible."""

    type: str
    workflow_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    at: datetime = field(default_factory=lambda: datetime.now(UTC))


Handler = Callable[[Event], Awaitable[None]]


class EventBus:
    """In-process publish/subscribe; ``subscribe("*", handler)`` hears everything."""

    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = defaultdict(list)

    def subscribe(self, event_type: str, handler: Handler) -> Callable[[], None]:
        """Call ``handler`` for each event of ``event_type``; returns an unsubscribe function."""
        self._handlers[event_type].append(handler)
        return lambda: self._handlers[event_type].remove(handler)

    async def emit(self, event: Event) -> None:
        """Deliver ``event`` to its subscribers, in the order they subscribed."""
        for handler in [*self._handlers.get(event.type, ()), *self._handlers.get(ANY, ())]:
            try:
                await handler(event)
            except Exception:  # a subscriber must never break a workflow
                log.exception("event.handler_failed", event_type=event.type)
