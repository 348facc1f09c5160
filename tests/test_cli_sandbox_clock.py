"""`meta-agent sandbox --clock manual|accelerated`: a standalone sandbox whose time a user moves.

With the manual clock a user's own campaign, created over HTTP, gets a week of delivery from
``POST /_sandbox/clock/advance {"days": 7}`` and its insights show it, as the demo's do. The
system clock cannot be moved, and the refusal says how to start one that can.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx2
import pytest
import structlog

from meta_agent.interfaces.cli import sandbox_clock_of
from meta_agent.interfaces.demo_request import demo_image
from meta_agent.sandbox import AcceleratedClock, ManualClock, SandboxConfig, SystemClock, create_app
from tests.conftest import INR_ACCOUNT, PAGE_ID, Graph, free_port
from tests.contract.test_creatives import created_id, make_adset, make_campaign

WEEK_DAYS = 7


@pytest.fixture
def manual_sandbox() -> Iterator[str]:
    """``python -m meta_agent sandbox --clock manual`` on a free port; yields its base URL."""
    port = free_port()
    command = [sys.executable, "-m", "meta_agent", "sandbox", "--port", str(port)]
    process = subprocess.Popen(  # noqa: S603
        [*command, "--clock", "manual"], stderr=subprocess.PIPE, text=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx2.get(f"{url}/_sandbox/health")
                break
            except httpx2.TransportError:
                assert time.monotonic() < deadline, "sandbox did not start"
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=10)
    assert "clock        : manual" in stderr


async def launch(graph: Graph) -> str:
    """An ACTIVE campaign, ad set, creative (uploaded image) and ad, all over HTTP."""
    campaign_id = await make_campaign(graph, status="ACTIVE")
    adset_id = await make_adset(graph, campaign_id, status="ACTIVE")
    uploaded = await graph.post(
        f"{INR_ACCOUNT}/adimages", bytes=base64.b64encode(demo_image(0)).decode()
    )
    assert uploaded.status_code == 200, uploaded.text
    image_hash = uploaded.json()["images"]["bytes"]["hash"]
    link = {"link": "https://example.com/coffee", "message": "Fresh", "image_hash": image_hash}
    creative_id = created_id(
        await graph.post(
            f"{INR_ACCOUNT}/adcreatives",
            name="Beans",
            object_story_spec=json.dumps({"page_id": PAGE_ID, "link_data": link}),
        )
    )
    created_id(
        await graph.post(
            f"{INR_ACCOUNT}/ads",
            name="Ad",
            adset_id=adset_id,
            creative=json.dumps({"creative_id": creative_id}),
            status="ACTIVE",
        )
    )
    return campaign_id


async def spend_and_impressions(graph: Graph, campaign_id: str) -> tuple[float, int]:
    """The campaign's last-7-days spend and impressions (zero when there is no row)."""
    response = await graph.get(
        f"{campaign_id}/insights", fields="spend,impressions", date_preset="last_7d"
    )
    assert response.status_code == 200, response.text
    rows = response.json()["data"]
    if not rows:
        return 0.0, 0
    return float(rows[0]["spend"]), int(rows[0]["impressions"])


async def test_manual_clock_gives_a_users_campaign_a_week_of_delivery(
    manual_sandbox: str,
) -> None:
    """Create over HTTP, advance {"days": 7}, and the campaign's insights show delivery."""
    async with httpx2.AsyncClient(base_url=manual_sandbox, timeout=30) as client:
        graph = Graph(client)
        campaign_id = await launch(graph)
        assert await spend_and_impressions(graph, campaign_id) == (0.0, 0)
        moved = await client.post("/_sandbox/clock/advance", json={"days": WEEK_DAYS})
        assert moved.status_code == 200, moved.text
        assert moved.json()["advanced"] == WEEK_DAYS * 86_400
        spend, impressions = await spend_and_impressions(graph, campaign_id)
    assert spend > 0
    assert impressions > 0


async def test_system_clock_refuses_to_advance_naming_the_manual_clock() -> None:
    """On the system clock (the CLI's default) advance is a 400 that names --clock manual."""
    clock = sandbox_clock_of("system")
    assert isinstance(clock, SystemClock)
    app = create_app(SandboxConfig(), clock=clock)
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=app), base_url="http://sandbox"
    ) as client:
        response = await client.post("/_sandbox/clock/advance", json={"days": 7})
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert "--clock manual" in message
    assert "system clock" in message


def test_cli_clocks_start_now() -> None:
    """manual starts at the wall time and stands still; accelerated runs at --time-scale."""
    manual = sandbox_clock_of("manual")
    assert isinstance(manual, ManualClock)
    assert abs(manual.now() - time.time()) < 5
    accelerated = sandbox_clock_of("accelerated", 3600)
    assert isinstance(accelerated, AcceleratedClock)
    assert accelerated.speed == 3600


async def test_accelerated_clock_runs_fast_and_can_jump() -> None:
    """Sandbox time is start + real elapsed x speed; advance adds to it; sleep is shorter."""
    real = [100.0]
    clock = AcceleratedClock(60, start=1_000.0, real=lambda: real[0])
    real[0] += 2
    assert clock.now() == 1_120.0
    clock.advance(86_400)
    assert clock.now() == 1_120.0 + 86_400
    started = time.monotonic()
    await AcceleratedClock(1_000).sleep(10)  # 10 sandbox seconds = 10 ms of real time
    assert time.monotonic() - started < 1
    with pytest.raises(ValueError, match="positive"):
        AcceleratedClock(0)


@pytest.mark.parametrize(
    ("body", "query", "seconds"),
    [
        ({"days": 7}, {}, 7 * 86_400),
        ({"days": 1, "hours": 2}, {}, 86_400 + 7_200),
        (None, {"seconds": "90"}, 90),
        (None, {"minutes": "5"}, 300),
    ],
)
async def test_advance_takes_units_in_a_json_body_or_the_query(
    body: dict[str, int] | None, query: dict[str, str], seconds: int
) -> None:
    """{"days": 7}, ?seconds=90 and friends; the answer says how far and where time is now."""
    clock = ManualClock()
    start = clock.now()
    app = create_app(SandboxConfig(), clock=clock)
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=app), base_url="http://sandbox"
    ) as client:
        response = await client.post("/_sandbox/clock/advance", json=body, params=query)
    assert response.status_code == 200, response.text
    assert response.json()["advanced"] == seconds
    assert clock.now() == start + seconds


@pytest.mark.parametrize(
    ("body", "needle"),
    [({"weeks": 1}, "unknown unit weeks"), ({"days": -1}, "only moves forward"), ({}, "how far")],
)
async def test_bad_advance_bodies_are_400_with_the_reason(
    body: dict[str, int], needle: str
) -> None:
    """Unknown units, going back and saying nothing are refused, each with its reason."""
    app = create_app(SandboxConfig(), clock=ManualClock())
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=app), base_url="http://sandbox"
    ) as client:
        response = await client.post("/_sandbox/clock/advance", json=body)
    assert response.status_code == 400
    assert needle in response.json()["error"]["message"]


def test_accelerated_clock_needs_a_positive_time_scale() -> None:
    """--clock accelerated --time-scale 0 is a usage error (exit 2), before anything listens."""
    from typer.testing import CliRunner

    from meta_agent.interfaces.cli import app

    saved = structlog.get_config()
    try:
        result = CliRunner().invoke(app, ["sandbox", "--clock", "accelerated", "--time-scale", "0"])
    finally:
        structlog.configure(**saved)
    assert result.exit_code == 2
    assert "positive" in result.output
