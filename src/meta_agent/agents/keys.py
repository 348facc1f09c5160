"""Idempotency keys that travel with the objects they created.

Meta has no idempotency header, so the key rides in something Meta stores: the object's
name ends with a short tag, ``Summer sale [ma:3f9a2c1b7e04]``. Before a create whose outcome
is unknown is sent again, the agent lists the account's objects whose name contains the tag
and adopts the one it finds (:func:`find_tagged`).

A key is 12 hex digits. Workflows build theirs as a 6-digit prefix of the workflow plus 6
digits of the item (:func:`workflow_key`), so one listing per edge, filtered on the prefix,
finds everything a workflow created, even after its process died.
"""

from __future__ import annotations

import hashlib
import re

from meta_agent.graph.client import GraphClient
from meta_agent.graph.models import GraphModel
from meta_agent.graph.pagination import paginate
from meta_agent.graph.services._base import act

MAX_NAME = 400
KEY_LENGTH = 12
_TAG = re.compile(r" \[ma:(?P<key>[0-9a-f]{12})\]$")


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def derive_key(*parts: str) -> str:
    """A stable key for one write: ``derive_key(request_id, "campaign")``."""
    return _digest(*parts)[:KEY_LENGTH]


def workflow_prefix(request_id: str) -> str:
    """The 6 digits every key of one workflow starts with."""
    return _digest("workflow", request_id)[:6]


def workflow_key(prefix: str, label: str) -> str:
    """The key of one item (``label`` such as ``adset:0``) of the workflow with ``prefix``."""
    return prefix + _digest(prefix, label)[:6]


def tag(key: str) -> str:
    """The tag written at the end of a name."""
    return f" [ma:{key[:KEY_LENGTH]}]"


def tagged(name: str, key: str | None) -> str:
    """``name`` with the key's tag (the name trimmed so the whole stays within Meta's 400)."""
    if not key:
        return name
    suffix = tag(key)
    return name[: MAX_NAME - len(suffix)] + suffix


def key_of(name: str) -> str | None:
    """The key a tagged name carries, or None."""
    match = _TAG.search(name)
    return match["key"] if match else None


def untagged(name: str) -> str:
    """The name as the user gave it."""
    return _TAG.sub("", name)


class TaggedObject(GraphModel):
    """An ad object found by the tag in its name."""

    id: str
    name: str = ""
    status: str | None = None

    @property
    def key(self) -> str | None:
        """The idempotency key its name carries."""
        return key_of(self.name)


async def list_tagged(
    graph: GraphClient, account_id: str, edge: str, fragment: str
) -> list[TaggedObject]:
    """Live objects on ``act_X/{edge}`` whose name contains ``[ma:{fragment}``.

    ``edge`` is ``campaigns``, ``adsets``, ``adcreatives`` or ``ads``; ``fragment`` a whole
    key or a workflow's prefix. Deleted objects are never listed on these edges, so a
    rolled-back object is not adopted.
    """
    wanted = f"[ma:{fragment}"
    filtering = [{"field": "name", "operator": "CONTAIN", "value": wanted}]
    listing = paginate(
        graph.requestor,
        f"{act(account_id)}/{edge}",
        {"filtering": filtering},
        model=TaggedObject,
        fields=("id", "name", "status"),
        page_size=200,
    )
    # Filtered again here: the server's filter narrows the listing, this makes it exact.
    return [found async for found in listing if (found.key or "").startswith(fragment)]


async def find_tagged(
    graph: GraphClient, account_id: str, edge: str, key: str
) -> TaggedObject | None:
    """The live object on ``act_X/{edge}`` whose name carries ``key``, or None."""
    found = await list_tagged(graph, account_id, edge, key[:KEY_LENGTH])
    return found[0] if found else None
