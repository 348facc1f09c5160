"""Idempotency keys that travel with the objects they created.

Meta has no idempotency header, so the key rides in something Meta stores: the object's
name ends with a short tag, ``Summer sale [ma:7k2m9x0c4d1fqr8ntvb2s5e]``. Before a create
whose outcome is unknown is sent again, the agent lists the account's objects whose name
contains the tag and adopts the one it finds (:func:`find_tagged`).

A key is 21 characters of Crockford base32 (``0-9a-z`` less ``i l o u``), 105 bits:

- 13 characters (65 bits) name the workflow, derived from the ad account and the
  ``request_id`` (:func:`workflow_prefix`): two workflows of one account share a prefix with
  probability about n²/2⁶⁶, under 10⁻⁸ for a million workflows, so one workflow's rollback
  can never find, adopt or delete another's objects;
- 8 characters (40 bits) name the item within it (:func:`workflow_key`): about 5·10⁻⁷ for a
  1,000-object launch, and :func:`check_distinct` refuses a plan whose keys collide before
  anything is sent.

The tag (`` [ma:`` + 21 + ``]``) takes 27 of a name's characters: 400 for campaigns, ad sets
and ads, 100 for creatives. Names tagged by earlier versions (12 hex digits) are still read.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

from meta_agent.errors import ConfigError
from meta_agent.graph.client import GraphClient
from meta_agent.graph.models import GraphModel
from meta_agent.graph.pagination import paginate
from meta_agent.graph.services._base import act

MAX_NAME = 400
WORKFLOW_CHARS = 13
ITEM_CHARS = 8
KEY_LENGTH = WORKFLOW_CHARS + ITEM_CHARS
ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_KEY = rf"[{ALPHABET}]{{{KEY_LENGTH}}}"
_TAG = re.compile(rf" \[ma:(?P<key>{_KEY}|[0-9a-f]{{12}})\]$")
KEY_PATTERN = re.compile(_KEY)


def _digest(*parts: str) -> str:
    """The SHA-256 of ``parts`` in base32, 51 characters (the alphabet above)."""
    number = int.from_bytes(hashlib.sha256("\x1f".join(parts).encode()).digest(), "big")
    out = []
    for _ in range(51):
        number, digit = divmod(number, 32)
        out.append(ALPHABET[digit])
    return "".join(out)


def derive_key(*parts: str) -> str:
    """A stable key for one write: ``derive_key(request_id, "campaign")``."""
    return _digest(*parts)[:KEY_LENGTH]


def workflow_prefix(account_id: str | None, request_id: str) -> str:
    """The 13 characters every key of one workflow starts with (account and request id)."""
    return _digest("workflow", account_id or "", request_id)[:WORKFLOW_CHARS]


def workflow_key(prefix: str, label: str) -> str:
    """The key of one item (``label`` such as ``adset0``) of the workflow with ``prefix``."""
    return prefix + _digest(prefix, label)[:ITEM_CHARS]


def check_distinct(keys: Iterable[str]) -> None:
    """Refuse a plan two of whose items would carry the same key.

    Raises:
        ConfigError: two keys are equal (rename an item; nothing was sent).
    """
    seen: set[str] = set()
    for key in keys:
        if key in seen:
            raise ConfigError(f"two items of one workflow share the idempotency key {key}")
        seen.add(key)


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


_PARENT = {"adsets": ("campaign_id",), "ads": ("adset_id",)}


class TaggedObject(GraphModel):
    """An ad object found by the tag in its name."""

    id: str
    name: str = ""
    status: str | None = None
    campaign_id: str | None = None
    adset_id: str | None = None

    @property
    def parent_id(self) -> str | None:
        """The object it hangs from: an ad set's campaign, an ad's ad set."""
        return self.adset_id or self.campaign_id

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
        fields=("id", "name", "status", *_PARENT.get(edge, ())),
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
