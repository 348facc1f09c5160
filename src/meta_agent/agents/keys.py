"""Idempotency keys that travel with the objects they created.

Meta has no idempotency header, so the key rides in something Meta stores: the object's
name ends with a short tag, ``Summer sale [ma:3f9a2c1b7e]``. Before a create whose outcome
is unknown is sent again, the agent lists the account's objects whose name contains the tag
and adopts the one it finds (:func:`find_tagged`).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from meta_agent.graph.client import GraphClient
from meta_agent.graph.services._base import act

MAX_NAME = 400
_TAG = re.compile(r" \[ma:(?P<key>[0-9a-f]{10})\]$")


def derive_key(*parts: str) -> str:
    """A stable key for one write of one workflow: ``derive_key(request_id, "campaign")``."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
    return digest[:10]


def tag(key: str) -> str:
    """The tag written at the end of a name."""
    return f" [ma:{key[:10]}]"


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


async def find_tagged(
    graph: GraphClient, account_id: str, edge: str, key: str
) -> dict[str, Any] | None:
    """The live object on ``act_X/{edge}`` whose name carries ``key``, or None.

    ``edge`` is ``campaigns``, ``adsets``, ``adcreatives`` or ``ads``. Deleted objects are
    never listed on these edges, so a rolled-back object is not adopted.
    """
    wanted = tag(key).strip()
    params = {
        "fields": "id,name,status",
        "filtering": [{"field": "name", "operator": "CONTAIN", "value": wanted}],
        "limit": 200,
    }
    path: str | None = f"{act(account_id)}/{edge}"
    while path:
        body = await graph.get(path, params)
        for entry in body.get("data", []):
            if key_of(str(entry.get("name", ""))) == key[:10]:
                return dict(entry)
        after = body.get("paging", {}).get("cursors", {}).get("after")
        path = path if after and body.get("paging", {}).get("next") else None
        params = {**params, "after": after}
    return None
