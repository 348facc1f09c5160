"""The sandbox's world: seeded identity, and every object created, as plain JSON records.

Records are dicts so the whole state saves to and loads from one JSON document
(``--state FILE`` and the ``/_sandbox/state`` admin endpoints). Each record carries ``kind``
and ``account_id``; times are sandbox-clock seconds, rendered on the way out.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from meta_agent.sandbox.errors import object_not_found

STATE_FORMAT = 1

USER_ID = "100000000000001"
PAGE_ID = "102030405060708"
INSTAGRAM_USER_ID = "17841400000000001"
PIXEL_ID = "555000000000001"
APP_ID = "1000000000000001"
CUSTOM_AUDIENCE_IDS = ("23850000000000001", "23850000000000002")

SEED_ACCOUNTS: tuple[dict[str, Any], ...] = (
    {
        "account_id": "1234567890",
        "name": "Sandbox India (INR)",
        "currency": "INR",
        "timezone_name": "Asia/Kolkata",
        "timezone_offset_hours_utc": 5.5,
        "business_country_code": "IN",
    },
    {
        "account_id": "9876543210",
        "name": "Sandbox US (USD)",
        "currency": "USD",
        "timezone_name": "America/Los_Angeles",
        "timezone_offset_hours_utc": -8.0,
        "business_country_code": "US",
    },
)


def seed_records(tier: str, now: float) -> dict[str, dict[str, Any]]:
    """The identity every fresh sandbox starts with: a user, two ad accounts, a Page."""
    records: dict[str, dict[str, Any]] = {
        USER_ID: {"kind": "user", "id": USER_ID, "name": "Sandbox Marketer", "account_id": None},
        PAGE_ID: {
            "kind": "page",
            "id": PAGE_ID,
            "name": "Sandbox Coffee Co.",
            "category": "Coffee Shop",
            "instagram_user_id": INSTAGRAM_USER_ID,
            "account_id": None,
            "tasks": ["ADVERTISE", "ANALYZE", "CREATE_CONTENT", "MANAGE"],
        },
        PIXEL_ID: {"kind": "pixel", "id": PIXEL_ID, "name": "Sandbox Pixel", "account_id": None},
    }
    for account in SEED_ACCOUNTS:
        act_id = f"act_{account['account_id']}"
        records[act_id] = {
            "kind": "adaccount",
            "id": act_id,
            **account,
            "account_status": 1,
            "disable_reason": 0,
            "amount_spent": "0",
            "balance": "0",
            "spend_cap": "0",
            "ads_api_access_tier": f"{tier}_access",
            "created_time": now - 400 * 86400,
        }
    for index, audience_id in enumerate(CUSTOM_AUDIENCE_IDS):
        records[audience_id] = {
            "kind": "customaudience",
            "id": audience_id,
            "name": ("Website visitors 30d", "Past purchasers 180d")[index],
            "account_id": SEED_ACCOUNTS[index % 2]["account_id"],
            "approximate_count_lower_bound": 12000 + 9000 * index,
        }
    return records


class SandboxState:
    """All objects by id, plus the id counter; the only mutable world the handlers touch.

    ``version`` counts the writes served (see :meth:`touch`); values derived from the
    objects (a report run's layout) are cached against it. It is not saved.
    """

    def __init__(self, objects: dict[str, dict[str, Any]], id_counter: int = 0) -> None:
        self.objects = objects
        self.id_counter = id_counter
        self.version = 0

    def touch(self) -> None:
        """Mark the objects as possibly changed (records are edited in place by handlers)."""
        self.version += 1

    @classmethod
    def fresh(cls, tier: str, now: float) -> SandboxState:
        """A state holding only the seeded identity."""
        return cls(seed_records(tier, now))

    def add(self, record: dict[str, Any]) -> dict[str, Any]:
        """Store a new record under its ``id``."""
        self.objects[record["id"]] = record
        self.touch()
        return record

    def find(self, object_id: str) -> dict[str, Any] | None:
        """The record with this id, or None."""
        return self.objects.get(object_id)

    def get(self, object_id: str, method: str = "GET", kind: str | None = None) -> dict[str, Any]:
        """The record with this id (of ``kind`` when given), else Meta's 100/33 error.

        Raises:
            GraphError: no such object, or not of the expected kind.
        """
        record = self.objects.get(object_id)
        if record is None or (kind is not None and record["kind"] != kind):
            raise object_not_found(object_id, method)
        return record

    def of_kind(self, kind: str, **match: Any) -> Iterator[dict[str, Any]]:
        """Records of one kind whose fields equal ``match``, in creation order."""
        for record in self.objects.values():
            if record["kind"] == kind and all(record.get(k) == v for k, v in match.items()):
                yield record

    def accounts(self) -> list[dict[str, Any]]:
        """The seeded ad accounts."""
        return list(self.of_kind("adaccount"))

    def to_json(self) -> dict[str, Any]:
        """The whole state as one JSON-serialisable document."""
        return {"format": STATE_FORMAT, "id_counter": self.id_counter, "objects": self.objects}

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> SandboxState:
        """Rebuild a state saved by :meth:`to_json`.

        Raises:
            ValueError: the document is not a sandbox state of a known format.
        """
        if document.get("format") != STATE_FORMAT or not isinstance(document.get("objects"), dict):
            raise ValueError(f"not a sandbox state document (format {STATE_FORMAT} expected)")
        return cls(dict(document["objects"]), int(document.get("id_counter", 0)))

    def save(self, path: Path) -> None:
        """Write the state to ``path`` atomically."""
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(self.to_json(), separators=(",", ":")), encoding="utf-8")
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> SandboxState:
        """Read a state written by :meth:`save`."""
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")))
