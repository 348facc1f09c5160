"""The account activity log: every write the sandbox serves, as ``GET /act_X/activities`` lists it.

A create, update or delete of a campaign, ad set, ad or creative is recorded with the
``event_type`` names of Meta's SDK (``AdActivity.EventType``), one entry per changed setting,
and ``extra_data`` (a JSON string, as Meta sends it) holding the old and new values. Creatives
have no create or update event of their own in the SDK's list, so those entries are ``unknown``
as Meta labels an event outside its list.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from datetime import datetime
from itertools import islice
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from meta_agent.sandbox.data.sdk import sdk_object
from meta_agent.sandbox.history import note_write
from meta_agent.sandbox.state import USER_ID

if TYPE_CHECKING:
    from meta_agent.sandbox.core import Ctx

Record = dict[str, Any]

# kind -> Meta's object_type for the activity, and the event recorded on creation.
OBJECT_TYPES = {
    "campaign": "CAMPAIGN_GROUP",
    "adset": "CAMPAIGN",
    "ad": "ADGROUP",
    "adcreative": "AD_CREATIVE",
}
CREATE_EVENTS = {
    "campaign": "create_campaign_group",
    "adset": "create_ad_set",
    "ad": "create_ad",
    "adcreative": "unknown",
}
# kind -> record field -> event type of a change to it (names from AdActivity.EventType).
UPDATE_EVENTS: dict[str, dict[str, str]] = {
    "campaign": {
        "name": "update_campaign_name",
        "status": "update_campaign_run_status",
        "daily_budget": "update_campaign_budget",
        "lifetime_budget": "update_campaign_budget",
        "spend_cap": "update_campaign_group_spend_cap",
        "start_time": "update_campaign_schedule",
        "stop_time": "update_campaign_schedule",
        "bid_strategy": "update_campaign_budget_optimization_toggling_status",
    },
    "adset": {
        "name": "update_ad_set_name",
        "status": "update_ad_set_run_status",
        "daily_budget": "update_ad_set_budget",
        "lifetime_budget": "update_ad_set_budget",
        "bid_amount": "update_ad_set_bidding",
        "bid_strategy": "update_ad_set_bid_strategy",
        "bid_adjustments": "update_ad_set_bid_adjustments",
        "targeting": "update_ad_set_target_spec",
        "start_time": "update_ad_set_duration",
        "end_time": "update_ad_set_duration",
        "optimization_goal": "update_ad_set_optimization_goal",
        "daily_min_spend_target": "update_ad_set_min_spend_target",
        "lifetime_min_spend_target": "update_ad_set_min_spend_target",
        "daily_spend_cap": "update_ad_set_spend_cap",
        "lifetime_spend_cap": "update_ad_set_spend_cap",
    },
    "ad": {
        "name": "update_ad_friendly_name",
        "status": "update_ad_run_status",
        "creative_id": "update_ad_creative",
        "adlabels": "update_ad_labels",
        "bid_amount": "update_ad_bid_info",
        "targeting": "update_ad_targets_spec",
    },
    "adcreative": {},
}
_TIMES = {"start_time", "stop_time", "end_time"}
_MONEY = {
    "daily_budget",
    "lifetime_budget",
    "spend_cap",
    "bid_amount",
    "daily_min_spend_target",
    "lifetime_min_spend_target",
    "daily_spend_cap",
    "lifetime_spend_cap",
}
_SDK_NAMES = {"campaign": "Campaign", "adset": "AdSet", "ad": "Ad", "adcreative": "AdCreative"}
# Bookkeeping the sandbox keeps on records, not settings a user changes.
_IGNORED = {"updated_time", "spent", "kind", "id", "account_id", "created_time"}
DEFAULT_FIELDS = (
    "actor_id",
    "actor_name",
    "application_id",
    "application_name",
    "date_time_in_timezone",
    "event_time",
    "event_type",
    "extra_data",
    "object_id",
    "object_name",
    "object_type",
    "translated_event_type",
)


@contextmanager
def recording(ctx: Ctx, record: Record | None) -> Iterator[None]:
    """Record the writes of the handler run inside: objects it creates, and ``record``'s changes.

    Status and review changes also go into the record's own history (:mod:`..history`),
    which decides when an object could deliver.

    Nothing is recorded when the handler fails (Meta logs only what it applied).
    """
    before = (
        copy.deepcopy(record) if record is not None and record["kind"] in OBJECT_TYPES else None
    )
    count = len(ctx.state.objects)
    yield
    added = len(ctx.state.objects) - count
    if added > 0:
        fresh = list(islice(reversed(ctx.state.objects.values()), added))[::-1]
        for item in fresh:
            if item.get("kind") in OBJECT_TYPES:
                note_write(None, item, ctx.now())
                _log(ctx, item, CREATE_EVENTS[item["kind"]], None)
    if before is not None and record is not None:
        note_write(before, record, ctx.now())
        _log_changes(ctx, before, record)


def _log_changes(ctx: Ctx, before: Record, after: Record) -> None:
    kind = after["kind"]
    events = UPDATE_EVENTS[kind]
    settings = sdk_object(_SDK_NAMES[kind]).fields
    for name in sorted(set(before) | set(after)):
        if name in _IGNORED or before.get(name) == after.get(name):
            continue
        if name not in events and name not in settings:
            continue  # the sandbox's own bookkeeping, not a setting Meta knows
        event = events.get(name, "unknown")
        _log(ctx, after, event, (name, before.get(name), after.get(name)))


def _log(ctx: Ctx, record: Record, event_type: str, change: tuple[str, Any, Any] | None) -> None:
    account = ctx.state.find(f"act_{record.get('account_id')}")
    if account is None:
        return
    now = ctx.now()
    tz = ZoneInfo(str(account.get("timezone_name") or "UTC"))
    moment = datetime.fromtimestamp(now, tz=ZoneInfo("UTC"))
    user = ctx.state.find(USER_ID) or {}
    extra: dict[str, Any] = {}
    if change is not None:
        name, old, new = change
        extra = {"field": name, "old_value": _value(name, old), "new_value": _value(name, new)}
        if name in _MONEY:
            extra["currency"] = account.get("currency")
    ctx.state.activities.append(
        {
            "account_id": str(record["account_id"]),
            "ts": now,
            "actor_id": USER_ID,
            "actor_name": user.get("name"),
            "date_time_in_timezone": moment.astimezone(tz).strftime("%m/%d/%Y at %-I:%M %p"),
            "event_time": moment.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "event_type": event_type,
            "extra_data": json.dumps(extra, sort_keys=True),
            "object_id": record["id"],
            "object_name": record.get("name"),
            "object_type": OBJECT_TYPES[record["kind"]],
            "translated_event_type": _translated(record["kind"], event_type, change),
        }
    )


def _value(name: str, value: Any) -> Any:
    if name in _TIMES and isinstance(value, int | float):
        return datetime.fromtimestamp(value, tz=ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%S%z")
    return value


def _translated(kind: str, event_type: str, change: tuple[str, Any, Any] | None) -> str:
    noun = {"campaign": "Campaign", "adset": "Ad set", "ad": "Ad", "adcreative": "Ad creative"}
    if change is None:
        return f"{noun[kind]} created"
    if event_type == "unknown":
        return f"{noun[kind]} {change[0].replace('_', ' ')} updated"
    return event_type.replace("_", " ").capitalize()


def account_activities(
    ctx: Ctx, account_id: str, object_ids: Collection[str] | None = None
) -> list[Record]:
    """The account's log, newest first, within ``since``/``until`` when given.

    ``object_ids`` keeps only the entries of those objects (an ad set's log: it and its ads).

    Raises:
        GraphError: ``since`` or ``until`` is not a time.
    """
    since, until = ctx.params.time_("since"), ctx.params.time_("until")
    low = since.timestamp() if since is not None else float("-inf")
    high = until.timestamp() if until is not None else float("inf")
    return [
        {key: value for key, value in item.items() if key not in {"account_id", "ts"}}
        for item in reversed(ctx.state.activities)
        if item["account_id"] == account_id
        and low <= item["ts"] <= high
        and (object_ids is None or item["object_id"] in object_ids)
    ]
