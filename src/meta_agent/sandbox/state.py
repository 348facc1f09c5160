"""The sandbox's world: seeded identity, and every object created, as plain JSON records.

Records are dicts so the whole state saves to and loads from one JSON document
(``--state FILE`` and the ``/_sandbox/state`` admin endpoints). Each record carries ``kind``
and ``account_id``; times are sandbox-clock seconds, rendered on the way out.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
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
# The business owning every seeded ad account, Page and the pixel; the token's user in it.
BUSINESS_ID = "1122334455667788"
BUSINESS_USER_ID = "100000000000101"
# An agency the owner shares those assets with (its client assets); the user works there too.
AGENCY_ID = "1122334455667799"
AGENCY_USER_ID = "100000000000102"
# Account k's seeded custom conversion is CUSTOM_CONVERSION_BASE + k.
CUSTOM_CONVERSION_BASE = 23860000000000000

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


# ``accounts=N`` seeds: the markets the accounts cycle through, and the id patterns (1-based k).
SEED_CURRENCIES = ("INR", "USD", "EUR", "GBP", "JPY")
_MARKETS: dict[str, tuple[str, str, float, str]] = {
    # currency: (label, timezone_name, timezone_offset_hours_utc, business_country_code)
    "INR": ("India", "Asia/Kolkata", 5.5, "IN"),
    "USD": ("US", "America/Los_Angeles", -8.0, "US"),
    "EUR": ("Germany", "Europe/Berlin", 1.0, "DE"),
    "GBP": ("UK", "Europe/London", 0.0, "GB"),
    "JPY": ("Japan", "Asia/Tokyo", 9.0, "JP"),
}
MAX_SEED_ACCOUNTS = 1000
_AUDIENCE_NAMES = ("Website visitors 30d", "Past purchasers 180d")
_PAGE_TASKS = ("ADVERTISE", "ANALYZE", "CREATE_CONTENT", "MANAGE")


@dataclass(frozen=True)
class SeedAccount:
    """One seeded ad account and what a launch on it needs: its Page, Instagram account,
    custom audience (the pixel is shared by all accounts)."""

    account: dict[str, Any]
    page_id: str
    instagram_user_id: str
    audience_id: str


def seed_account_id(k: int) -> str:
    """The ``account_id`` of the k-th seeded account (1-based): the two classic ones first."""
    classic = [str(account["account_id"]) for account in SEED_ACCOUNTS]
    return classic[k - 1] if k <= len(classic) else str(2_000_000_000 + k)


def seed_accounts(count: int | None = None) -> list[SeedAccount]:
    """The ad accounts a fresh sandbox holds.

    ``None`` is the classic seed: :data:`SEED_ACCOUNTS` (INR, USD) sharing one Page. ``count``
    gives that many accounts, k = 1..count, each with its own Page and Instagram account,
    currencies cycling through :data:`SEED_CURRENCIES` (so the first two are the classic ones):
    ``act_1234567890``, ``act_9876543210``, then ``act_{2000000000 + k}``; Page
    ``102030405060708 + k - 1``; Instagram ``17841400000000000 + k``; custom audience
    ``23850000000000000 + k``. Account 1's Page, Instagram account and audience are the
    classic ones, so ``PAGE_ID`` keeps working.

    Raises:
        ValueError: ``count`` outside 1..MAX_SEED_ACCOUNTS.
    """
    if count is None:
        return [
            SeedAccount(dict(account), PAGE_ID, INSTAGRAM_USER_ID, CUSTOM_AUDIENCE_IDS[index])
            for index, account in enumerate(SEED_ACCOUNTS)
        ]
    if not 1 <= count <= MAX_SEED_ACCOUNTS:
        raise ValueError(f"accounts must be between 1 and {MAX_SEED_ACCOUNTS}, not {count}")
    seeded = []
    for k in range(1, count + 1):
        if k <= len(SEED_ACCOUNTS):
            account = dict(SEED_ACCOUNTS[k - 1])
        else:
            currency = SEED_CURRENCIES[(k - 1) % len(SEED_CURRENCIES)]
            label, timezone_name, offset, country = _MARKETS[currency]
            account = {
                "account_id": seed_account_id(k),
                "name": f"Sandbox {label} {k} ({currency})",
                "currency": currency,
                "timezone_name": timezone_name,
                "timezone_offset_hours_utc": offset,
                "business_country_code": country,
            }
        seeded.append(
            SeedAccount(
                account,
                page_id=str(int(PAGE_ID) + k - 1),
                instagram_user_id=str(int(INSTAGRAM_USER_ID) - 1 + k),
                audience_id=str(int(CUSTOM_AUDIENCE_IDS[0]) - 1 + k),
            )
        )
    return seeded


def _page_record(page_id: str, name: str, instagram_user_id: str) -> dict[str, Any]:
    return {
        "kind": "page",
        "id": page_id,
        "name": name,
        "category": "Coffee Shop",
        "instagram_user_id": instagram_user_id,
        "account_id": None,
        "tasks": list(_PAGE_TASKS),
        "business_id": BUSINESS_ID,
    }


def seed_records(tier: str, now: float, accounts: int | None = None) -> dict[str, dict[str, Any]]:
    """The identity every fresh sandbox starts with: a user, its ad accounts, Pages, a pixel,
    the business owning them all (the user its admin) and an agency they are shared with.

    ``accounts`` as in :func:`seed_accounts`; each account of a counted seed names its own
    Page in ``promote_page_ids`` (what ``GET /act_X/promote_pages`` lists). Each account also
    has a custom audience and a custom conversion (``CUSTOM_CONVERSION_BASE + k``).
    """
    seeded = seed_accounts(accounts)
    records: dict[str, dict[str, Any]] = {
        USER_ID: {"kind": "user", "id": USER_ID, "name": "Sandbox Marketer", "account_id": None},
    }
    for k, seed in enumerate(seeded, start=1):
        if seed.page_id not in records:
            name = "Sandbox Coffee Co." if k == 1 else f"Sandbox Coffee Co. {k}"
            records[seed.page_id] = _page_record(seed.page_id, name, seed.instagram_user_id)
    records.update(_business_records(now))
    records[PIXEL_ID] = {
        "kind": "pixel",
        "id": PIXEL_ID,
        "name": "Sandbox Pixel",
        "account_id": None,
        "business_id": BUSINESS_ID,
        "created_time": now - 400 * 86400,
        "last_fired_time": now - 3600,
    }
    for seed in seeded:
        act_id = f"act_{seed.account['account_id']}"
        records[act_id] = {
            "kind": "adaccount",
            "id": act_id,
            **seed.account,
            "account_status": 1,
            "disable_reason": 0,
            "amount_spent": "0",
            "balance": "0",
            "spend_cap": "0",
            "ads_api_access_tier": f"{tier}_access",
            "created_time": now - 400 * 86400,
            "business_id": BUSINESS_ID,
        }
        if accounts is not None:
            records[act_id]["promote_page_ids"] = [seed.page_id]
    for index, seed in enumerate(seeded):
        records[seed.audience_id] = {
            "kind": "customaudience",
            "id": seed.audience_id,
            "name": _AUDIENCE_NAMES[index % 2],
            "account_id": seed.account["account_id"],
            "approximate_count_lower_bound": 12000 + 9000 * (index % 2),
            "subtype": "WEBSITE",
            "retention_days": 30 if index % 2 == 0 else 180,
            "pixel_id": PIXEL_ID,
            "created_time": now - 90 * 86400,
        }
    for k, seed in enumerate(seeded, start=1):
        conversion = _custom_conversion_record(str(CUSTOM_CONVERSION_BASE + k), seed, now)
        records[conversion["id"]] = conversion
    return records


def _business_records(now: float) -> dict[str, dict[str, Any]]:
    """The owner business, an agency managing its assets, and the token's user in each."""
    owner = _business(BUSINESS_ID, "Sandbox Coffee Co. Business", "RETAIL", now)
    owner.update(primary_page_id=PAGE_ID, agency_ids=[AGENCY_ID])
    agency = _business(AGENCY_ID, "Sandbox Media Agency", "ADVERTISING", now)
    return {
        BUSINESS_ID: owner,
        AGENCY_ID: agency,
        BUSINESS_USER_ID: _member(BUSINESS_USER_ID, BUSINESS_ID, "ADMIN"),
        AGENCY_USER_ID: _member(AGENCY_USER_ID, AGENCY_ID, "EMPLOYEE"),
    }


def _business(business_id: str, name: str, vertical: str, now: float) -> dict[str, Any]:
    return {
        "kind": "business",
        "id": business_id,
        "name": name,
        "account_id": None,
        "created_time": now - 500 * 86400,
        "vertical": vertical,
        "verification_status": "verified",
    }


def _member(member_id: str, business_id: str, role: str) -> dict[str, Any]:
    """The token's user as a member of a business (a BusinessUser has an id of its own)."""
    return {
        "kind": "businessuser",
        "id": member_id,
        "user_id": USER_ID,
        "business_id": business_id,
        "name": "Sandbox Marketer",
        "email": "marketer@sandbox.example",
        "role": role,
        "account_id": None,
    }


def _custom_conversion_record(conversion_id: str, seed: SeedAccount, now: float) -> dict[str, Any]:
    """A purchase conversion on the shared pixel: a thank-you page visit."""
    rule = {"and": [{"event": {"eq": "Purchase"}}, {"URL": {"i_contains": "/thank-you"}}]}
    return {
        "kind": "customconversion",
        "id": conversion_id,
        "account_id": seed.account["account_id"],
        "name": "Purchase (thank-you page)",
        "custom_event_type": "PURCHASE",
        "event_source_id": PIXEL_ID,
        "rule": json.dumps(rule, separators=(",", ":")),
        "default_conversion_value": 0,
        "created_time": now - 60 * 86400,
        "last_fired_time": now - 7200,
    }


class SandboxState:
    """All objects by id, plus the id counter; the only mutable world the handlers touch.

    ``version`` counts the writes served (see :meth:`touch`); values derived from the
    objects (a report run's layout) are cached against it. It is not saved.
    """

    def __init__(
        self,
        objects: dict[str, dict[str, Any]],
        id_counter: int = 0,
        activities: list[dict[str, Any]] | None = None,
    ) -> None:
        self.objects = objects
        # The same records by kind, in creation order: handlers ask for one kind at a time
        # (an account's ads, an ad set's ads), many times per batch.
        self._kinds: dict[str, dict[str, dict[str, Any]]] = {}
        for record in objects.values():
            self._kinds.setdefault(record["kind"], {})[record["id"]] = record
        self.id_counter = id_counter
        # The account activity log (``GET /act_X/activities``), oldest first (activities.py).
        self.activities: list[dict[str, Any]] = activities if activities is not None else []
        self.version = 0

    def touch(self) -> None:
        """Mark the objects as possibly changed (records are edited in place by handlers)."""
        self.version += 1

    @classmethod
    def fresh(cls, tier: str, now: float, accounts: int | None = None) -> SandboxState:
        """A state holding only the seeded identity (``accounts`` as in :func:`seed_accounts`)."""
        return cls(seed_records(tier, now, accounts))

    def add(self, record: dict[str, Any]) -> dict[str, Any]:
        """Store a new record under its ``id``."""
        self.objects[record["id"]] = record
        self._kinds.setdefault(record["kind"], {})[record["id"]] = record
        self.touch()
        return record

    def remove(self, object_id: str) -> None:
        """Forget a record entirely (most deletions only set its status to DELETED)."""
        record = self.objects.pop(object_id)
        del self._kinds[record["kind"]][object_id]
        self.touch()

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
        for record in self._kinds.get(kind, {}).values():
            if all(record.get(k) == v for k, v in match.items()):
                yield record

    def accounts(self) -> list[dict[str, Any]]:
        """The seeded ad accounts."""
        return list(self.of_kind("adaccount"))

    def to_json(self) -> dict[str, Any]:
        """The whole state as one JSON-serialisable document."""
        return {
            "format": STATE_FORMAT,
            "id_counter": self.id_counter,
            "objects": self.objects,
            "activities": self.activities,
        }

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> SandboxState:
        """Rebuild a state saved by :meth:`to_json`.

        Raises:
            ValueError: the document is not a sandbox state of a known format.
        """
        if document.get("format") != STATE_FORMAT or not isinstance(document.get("objects"), dict):
            raise ValueError(f"not a sandbox state document (format {STATE_FORMAT} expected)")
        activities = [dict(item) for item in document.get("activities", [])]
        return cls(dict(document["objects"]), int(document.get("id_counter", 0)), activities)

    def save(self, path: Path) -> None:
        """Write the state to ``path`` atomically."""
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(self.to_json(), separators=(",", ":")), encoding="utf-8")
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> SandboxState:
        """Read a state written by :meth:`save`."""
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")))
