"""The demo's bundled request: a coffee launch for the embedded sandbox's INR account.

Six 1200x1200 PNG images drawn with Pillow (no files to ship), one traffic campaign, three
ad sets with their own daily budgets and audiences, and two ads per ad set, each with its
own image creative. The request is an ordinary ``create_full_campaign`` request: what
``meta-agent run`` accepts from a file has the same shape.
"""

from __future__ import annotations

import base64
import io
import uuid
from typing import Any

from PIL import Image, ImageDraw

DEMO_ACCOUNT = "act_1234567890"
DEMO_PAGE = "102030405060708"
IMAGE_SIZE = (1200, 1200)
DAILY_BUDGET = 50_000  # ₹500.00 a day per ad set, in paise
# (background, cup) colours of the six images.
PALETTE = (
    ((94, 58, 36), (236, 214, 180)),
    ((36, 52, 94), (250, 240, 220)),
    ((140, 32, 42), (255, 226, 160)),
    ((28, 90, 70), (238, 228, 205)),
    ((60, 60, 60), (224, 160, 96)),
    ((180, 110, 40), (70, 40, 20)),
)
# (ad set name, age_min, age_max, interests)
AUDIENCES = (
    ("Coffee lovers 21-34", 21, 34, ["Coffee"]),
    ("Espresso fans 25-44", 25, 44, ["Espresso"]),
    ("Cold brew fans 18-30", 18, 30, ["Cold brew coffee"]),
)
HEADLINES = (
    "Fresh roast, delivered.",
    "Your morning, upgraded.",
    "Single-origin, small batch.",
    "Brewed the way you like it.",
    "Skip the queue: it's at your door.",
    "Cold brew, ready when you are.",
)


def demo_image(index: int) -> bytes:
    """A distinct 1200x1200 PNG: a cup on a coloured ground (colours by ``index``)."""
    background, cup = PALETTE[index % len(PALETTE)]
    image = Image.new("RGB", IMAGE_SIZE, background)
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((380, 420, 760, 860), radius=60, fill=cup)
    draw.ellipse((700, 520, 880, 740), outline=cup, width=40)
    draw.ellipse((300, 840, 900, 940), fill=cup)
    for offset in (0, 110, 220):
        draw.arc((440 + offset, 220, 520 + offset, 400), 200, 340, fill=cup, width=18)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _adsets() -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "optimization_goal": "LINK_CLICKS",
            "billing_event": "IMPRESSIONS",
            "daily_budget": DAILY_BUDGET,
            "targeting": {
                "countries": ["IN"],
                "age_min": age_min,
                "age_max": age_max,
                "interests": interests,
            },
        }
        for name, age_min, age_max, interests in AUDIENCES
    ]


def _ads() -> list[dict[str, Any]]:
    ads = []
    for index, headline in enumerate(HEADLINES):
        adset = AUDIENCES[index // 2][0]
        ads.append(
            {
                "name": f"Roast ad {index + 1}",
                "adset_ref": adset,
                "creative": {
                    "kind": "image",
                    "name": f"Roast creative {index + 1}",
                    "page_id": DEMO_PAGE,
                    "image_ref": f"roast-{index + 1}",
                    "link": "https://example.com/coffee",
                    "message": headline,
                    "call_to_action": "SHOP_NOW",
                },
            }
        )
    return ads


def demo_request(request_id: str | None = None, *, activate: bool = True) -> dict[str, Any]:
    """The full-campaign request the demo runs (``activate``: set it all ACTIVE at the end)."""
    images = [
        {"name": f"roast-{index + 1}", "data": base64.b64encode(demo_image(index)).decode()}
        for index in range(len(HEADLINES))
    ]
    return {
        "request_id": request_id or f"demo-{uuid.uuid4().hex[:12]}",
        "agent_id": "meta-agent-demo",
        "action": "create_full_campaign",
        "account_id": DEMO_ACCOUNT,
        "data": {
            "images": images,
            "campaign": {"name": "Roast & Co. launch", "objective": "OUTCOME_TRAFFIC"},
            "adsets": _adsets(),
            "ads": _ads(),
        },
        "options": {"activate": activate},
    }
