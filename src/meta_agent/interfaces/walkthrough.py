"""A scripted launch rehearsal against the embedded sandbox (the README's first command).

It drives the sandbox through meta-agent's own Graph client, in process over the ASGI
transport, the way it would drive Meta:
list accounts, upload an image, send the whole campaign structure in one batch, show how a
bad budget is refused, activate, let a simulated week pass and read the results back.
"""

from __future__ import annotations

import base64
import json
import struct
import time
import zlib
from typing import Any
from urllib.parse import parse_qsl, urlencode

from pydantic import SecretStr
from rich.console import Console
from rich.table import Table

from meta_agent.errors import InvalidParameterError
from meta_agent.graph.client import GraphClient
from meta_agent.graph.guard import UNGUARDED
from meta_agent.graph.settings import GraphSettings
from meta_agent.sandbox import ManualClock, SandboxConfig, create_app
from meta_agent.sandbox.config import DEFAULT_TOKEN
from meta_agent.sandbox.state import PAGE_ID

TOKEN = DEFAULT_TOKEN
ACCOUNT = "act_1234567890"
VERSION = "v25.0"
WEEK = 7 * 86400


def solid_png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A valid PNG of one colour, built without an imaging library."""
    row = b"\x00" + bytes(rgb) * width
    raw = zlib.compress(row * height, 9)

    def chunk(tag: bytes, data: bytes) -> bytes:
        body = tag + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


async def run_walkthrough(console: Console, *, quiet: bool = False) -> dict[str, Any]:
    """Run the rehearsal, printing each step; returns a summary for ``--json``."""
    clock = ManualClock(start=time.time())
    app = create_app(SandboxConfig(seed=7), clock=clock)
    settings = GraphSettings(access_token=SecretStr(DEFAULT_TOKEN), base_url="http://sandbox.local")

    def say(*renderables: Any) -> None:
        if not quiet:
            console.print(*renderables)

    # A tour of the raw client on a throwaway in-memory sandbox: no account of anyone is
    # reachable from it, so it writes as the library user does, without the gate.
    async with GraphClient(
        settings, app=app, now=clock.now, sleep=clock.sleep, guard=UNGUARDED
    ) as graph:
        accounts = await graph.get(
            "me/adaccounts", {"fields": "account_id,name,currency,timezone_name"}
        )
        say(
            _table(
                "Ad accounts", accounts["data"], ["account_id", "name", "currency", "timezone_name"]
            )
        )
        image = await graph.post(
            f"{ACCOUNT}/adimages", {"bytes": _b64(solid_png(1080, 1080, (201, 111, 47)))}
        )
        image_hash = next(iter(image["images"].values()))["hash"]
        say(f"Uploaded image [bold]{image_hash}[/]")
        say(await _refused_budget(graph))
        created = await _launch_in_one_batch(graph, image_hash)
        say(_table("Created in one batch request (all PAUSED)", created, ["name", "id"]))
        for object_id in (created[0]["id"], created[1]["id"], created[3]["id"]):
            await graph.post(object_id, {"status": "ACTIVE"})
        clock.advance(WEEK)
        say("Activated, then let one simulated week pass.")
        totals = await graph.get(
            f"{ACCOUNT}/insights",
            {
                "level": "campaign",
                "date_preset": "last_7d",
                "fields": "campaign_name,impressions,clicks,spend,ctr,cpc",
            },
        )
        say(
            _table(
                "Last 7 days",
                totals["data"],
                ["campaign_name", "impressions", "clicks", "spend", "ctr", "cpc"],
            )
        )
        platforms = await graph.get(
            f"{ACCOUNT}/insights",
            {
                "date_preset": "last_7d",
                "breakdowns": "publisher_platform",
                "fields": "impressions,spend",
            },
        )
        say(
            _table("By platform", platforms["data"], ["publisher_platform", "impressions", "spend"])
        )
    calls = app.state.sandbox.counters.total
    say(f"{calls} Graph calls served by the sandbox. Try `meta-agent sandbox` to keep one running.")
    return {
        "accounts": accounts["data"],
        "image_hash": image_hash,
        "created": created,
        "insights": totals["data"],
        "by_platform": platforms["data"],
        "graph_calls": calls,
    }


async def _refused_budget(graph: GraphClient) -> str:
    """A campaign budget under the INR floor, refused the way Meta refuses it."""
    try:
        await graph.post(
            f"{ACCOUNT}/campaigns",
            {
                "name": "Too small",
                "objective": "OUTCOME_TRAFFIC",
                "special_ad_categories": [],
                "status": "PAUSED",
                "daily_budget": 100,
            },
        )
    except InvalidParameterError as error:
        blamed = ".".join(error.blame_fields[0]) if error.blame_fields else "?"
        return f"Refused as Meta would: [red]({error.code}/{error.subcode})[/] {blamed}: {error.user_message}"
    return "[red]The sandbox accepted a budget under the floor[/]"


async def _launch_in_one_batch(graph: GraphClient, image_hash: str) -> list[dict[str, str]]:
    targeting = {
        "geo_locations": {"countries": ["IN"]},
        "age_min": 21,
        "age_max": 45,
        "targeting_automation": {"advantage_audience": 0},
    }
    story = {
        "page_id": PAGE_ID,
        "link_data": {
            "link": "https://example.com/coffee",
            "message": "Fresh roast, delivered.",
            "image_hash": image_hash,
            "call_to_action": {"type": "SHOP_NOW"},
        },
    }
    items = [
        _item(
            "campaign",
            f"{ACCOUNT}/campaigns",
            name="Diwali Coffee Launch",
            objective="OUTCOME_TRAFFIC",
            special_ad_categories=[],
            status="PAUSED",
            is_adset_budget_sharing_enabled=False,
        ),
        _item(
            "adset",
            f"{ACCOUNT}/adsets",
            name="India 21-45",
            campaign_id="{result=campaign:$.id}",
            daily_budget=150000,
            billing_event="IMPRESSIONS",
            optimization_goal="LINK_CLICKS",
            targeting=targeting,
            status="PAUSED",
        ),
        _item(
            "creative", f"{ACCOUNT}/adcreatives", name="Roast hero image", object_story_spec=story
        ),
        _item(
            "ad",
            f"{ACCOUNT}/ads",
            name="Roast hero ad",
            adset_id="{result=adset:$.id}",
            creative={"creative_id": "{result=creative:$.id}"},
            status="PAUSED",
        ),
    ]
    slots = await graph.post("", {"batch": items})
    return [
        {"name": _display(item), "id": json.loads(slot["body"]).get("id", "?") if slot else "?"}
        for item, slot in zip(items, slots, strict=True)
    ]


def _display(item: dict[str, Any]) -> str:
    return str(dict(parse_qsl(str(item["body"])))["name"])


def _item(ref: str, url: str, **body: Any) -> dict[str, Any]:
    encoded = {
        k: json.dumps(v) if isinstance(v, dict | list | bool) else v for k, v in body.items()
    }
    return {
        "method": "POST",
        "relative_url": url,
        "name": ref,
        "body": urlencode(encoded),
        "omit_response_on_success": False,
    }


def _table(title: str, rows: list[dict[str, Any]], columns: list[str]) -> Table:
    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(row.get(column, "")) for column in columns))
    return table


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
