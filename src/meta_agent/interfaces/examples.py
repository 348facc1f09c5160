"""A valid request for every action and creative kind: what ``meta-agent example`` prints.

Each example runs as printed against the embedded sandbox's USD account (``run --dry-run``
accepts every one; a test proves it). The ids an update needs (a campaign, an ad set, an
ad) are parameters, their placeholders the ids a person replaces; images are inline base64
PNGs small enough to read past, so the example needs no file beside it (over HTTP, ``path``
is refused: give ``url`` or ``data``).
"""

from __future__ import annotations

import base64
import io
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PIL import Image

from meta_agent.orchestrator.requests import ACTIONS

ACCOUNT = "act_9876543210"  # the embedded sandbox's USD account
PAGE = "102030405060708"
LINK = "https://example.com/spring"
KINDS = ("image", "video", "carousel")
CAMPAIGN_ID = "120000000000000001"
ADSET_ID = "120000000000000002"
AD_ID = "120000000000000003"


@dataclass(frozen=True)
class Ids:
    """The existing objects an example acts on (placeholders unless given)."""

    campaign_id: str = CAMPAIGN_ID
    adset_id: str = ADSET_ID
    ad_id: str = AD_ID


def png_base64(colour: str, size: tuple[int, int] = (1080, 1080)) -> str:
    """A plain ``colour`` PNG of ``size`` (at least Meta's feed minimum), as base64."""
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG", optimize=True)
    return base64.b64encode(buffer.getvalue()).decode()


def _request(action: str, data: dict[str, Any], **options: bool) -> dict[str, Any]:
    return {
        "request_id": f"example-{action}-{uuid.uuid4().hex[:8]}",
        "action": action,
        "account_id": ACCOUNT,
        "data": data,
        "options": {"dry_run": True, "activate": False, **options},
    }


def _adset(name: str = "US 25-44") -> dict[str, Any]:
    return {
        "name": name,
        "optimization_goal": "LINK_CLICKS",
        "billing_event": "IMPRESSIONS",
        "daily_budget": "20.00 USD",
        "start_time": "2030-01-01T09:00:00+00:00",
        "end_time": "2030-01-31T21:00:00+00:00",
        "targeting": {
            "countries": ["US"],
            "age_min": 25,
            "age_max": 44,
            "interests": ["Coffee"],
            "placements": {"publisher_platforms": ["facebook", "instagram"]},
        },
    }


def _campaign() -> dict[str, Any]:
    return {"name": "Spring launch", "objective": "OUTCOME_TRAFFIC"}


def _image_creative(image_ref: str = "hero") -> dict[str, Any]:
    return {
        "kind": "image",
        "name": "Spring hero",
        "page_id": PAGE,
        "image_ref": image_ref,
        "link": LINK,
        "message": "Fresh roast, delivered.",
        "headline": "Spring roast",
        "call_to_action": "SHOP_NOW",
    }


def _creative(kind: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The creative of ``kind`` and the assets it needs (``images``, ``videos``)."""
    creative: dict[str, Any]
    if kind == "video":
        creative = {
            "kind": "video",
            "name": "Spring video",
            "page_id": PAGE,
            "video_ref": "spring-roast",
            "thumbnail_ref": "poster",
            "message": "Watch the roast.",
            "title": "Spring roast",
            "link": LINK,
            "call_to_action": "LEARN_MORE",
        }
        assets = {
            "images": [{"name": "poster", "data": png_base64("navy")}],
            "videos": [{"name": "spring-roast", "title": "spring-roast", "path": "clip.mp4"}],
        }
        return creative, assets
    if kind == "carousel":
        cards = [
            {"link": f"{LINK}/{name}", "image_ref": name, "headline": name.title()}
            for name in ("espresso", "filter", "cold-brew")
        ]
        creative = {
            "kind": "carousel",
            "name": "Spring carousel",
            "page_id": PAGE,
            "message": "Three roasts, one spring.",
            "link": LINK,
            "cards": cards,
            "call_to_action": "SHOP_NOW",
        }
        colours = ("saddlebrown", "peru", "black")
        images = [
            {"name": card["image_ref"], "data": png_base64(colour)}
            for card, colour in zip(cards, colours, strict=True)
        ]
        return creative, {"images": images}
    return _image_creative(), {"images": [{"name": "hero", "data": png_base64("navy")}]}


def full_campaign(kind: str = "image") -> dict[str, Any]:
    """``create_full_campaign`` with one ad set and one ad of creative ``kind``."""
    creative, assets = _creative(kind)
    ad = {"name": f"Spring {kind} ad", "adset_ref": "US 25-44", "creative": creative}
    data = {**assets, "campaign": _campaign(), "adsets": [_adset()], "ads": [ad]}
    return _request("create_full_campaign", data)


def _create_campaign(ids: Ids) -> dict[str, Any]:
    return _request("create_campaign", {"campaign": _campaign(), "adsets": [_adset()]})


def _update_campaign(ids: Ids) -> dict[str, Any]:
    updates = [
        {"object_id": ids.campaign_id, "level": "campaign", "changes": {"name": "Spring, v2"}},
        {"object_id": ids.adset_id, "level": "adset", "changes": {"daily_budget": "25.00 USD"}},
    ]
    return _request("update_campaign", {"updates": updates})


def _update_creative(ids: Ids) -> dict[str, Any]:
    data = {
        "ad_id": ids.ad_id,
        "images": [{"name": "hero-2", "data": png_base64("darkgreen")}],
        "creative": {**_image_creative("hero-2"), "name": "Spring hero, v2"},
    }
    return _request("update_creative", data)


def _get_insights(ids: Ids) -> dict[str, Any]:
    data = {
        "level": "campaign",
        "object_id": ids.campaign_id,
        "date_preset": "last_7d",
        "fields": ["impressions", "clicks", "spend", "actions"],
        "breakdowns": ["age", "gender"],
    }
    return _request("get_insights", data)


def _performance_report(ids: Ids) -> dict[str, Any]:
    data = {"object_id": ids.campaign_id, "level": "campaign", "date_preset": "last_7d"}
    return _request("performance_report", data)


def _optimize(ids: Ids) -> dict[str, Any]:
    policy = {"min_impressions": 1000, "max_change_percent": 20}
    data = {"campaign_id": ids.campaign_id, "date_preset": "last_7d", "policy": policy}
    return _request("optimize_campaign", data)


def _bulk(ids: Ids) -> dict[str, Any]:
    items = [
        {key: value for key, value in full_campaign().items() if key in {"action", "data"}},
        {key: value for key, value in _update_campaign(ids).items() if key in {"action", "data"}},
    ]
    return _request("bulk", {"requests": items})


_BUILDERS: dict[str, Callable[[Ids], dict[str, Any]]] = {
    "create_campaign": _create_campaign,
    "update_campaign": _update_campaign,
    "update_creative": _update_creative,
    "get_insights": _get_insights,
    "performance_report": _performance_report,
    "optimize_campaign": _optimize,
    "bulk": _bulk,
}


def example(action: str, kind: str = "image", ids: Ids | None = None) -> dict[str, Any]:
    """A request for ``action`` (``kind``: the creative of ``create_full_campaign``).

    Raises:
        ValueError: an unknown action or kind (the message lists the known ones).
    """
    if action not in ACTIONS:
        raise ValueError(f"{action!r} is not an action; use one of {', '.join(ACTIONS)}")
    if kind not in KINDS:
        raise ValueError(f"{kind!r} is not a creative kind; use one of {', '.join(KINDS)}")
    if action == "create_full_campaign":
        return full_campaign(kind)
    return _BUILDERS[action](ids or Ids())
