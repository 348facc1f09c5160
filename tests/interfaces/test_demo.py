"""`meta-agent demo`: the bundled campaign through the service, a week later its report."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

from meta_agent.interfaces.demo_request import IMAGE_SIZE, demo_image, demo_request
from tests.interfaces.conftest import invoke, json_of


def test_demo_request_is_the_promised_campaign() -> None:
    """The bundled request has 6 images, 1 campaign, 3 ad sets and 6 ads, each ad its own image."""
    request = demo_request("r-1")
    data = request["data"]
    assert request["action"] == "create_full_campaign"
    assert request["options"] == {"activate": True}
    assert len(data["images"]) == 6
    assert len(data["adsets"]) == 3
    assert len({ad["creative"]["image_ref"] for ad in data["ads"]}) == 6
    assert {ad["adset_ref"] for ad in data["ads"]} == {a["name"] for a in data["adsets"]}


def test_demo_images_are_distinct_feed_sized_pngs() -> None:
    """Each demo image is a 1200x1200 PNG, and no two are the same."""
    from io import BytesIO

    from PIL import Image

    images = [demo_image(index) for index in range(6)]
    assert len(set(images)) == 6
    with Image.open(BytesIO(images[0])) as first:
        assert first.format == "PNG"
        assert first.size == IMAGE_SIZE


def test_demo_json_creates_activates_and_reports(tmp_path: Path, data_dir: Path) -> None:
    """demo --json: every object created and ACTIVE, steps in order, a week of spend reported."""
    html = tmp_path / "report.html"
    result = invoke("demo", "--json", "--html", str(html))
    assert result.exit_code == 0, result.output
    document = json_of(result)
    assert document["status"] == "COMPLETED"
    assert document["steps"][-2:] == ["launch", "activate"]  # names given back in the activation
    kinds = [row["kind"] for row in document["created"]]
    assert [kinds.count(k) for k in ("campaign", "ad set", "creative", "ad", "image")] == [
        1,
        3,
        6,
        6,
        6,
    ]
    statuses = {row["status"] for row in document["created"] if row["kind"] != "image"}
    assert statuses <= {"ACTIVE", "-"}
    report = document["report"]
    spend = Decimal(report["summary"]["spend_major"])
    assert spend > 0
    assert len(report["daily"]) == 7
    by_platform = sum(Decimal(s["metrics"]["spend_major"]) for s in report["platforms"])
    assert by_platform == spend
    assert document["html_report"] == str(html)
    page = html.read_text()
    assert f"{spend:,.2f}" in page
    assert len(re.findall(r"<svg\b", page)) == 3


def test_demo_touches_nothing_in_the_data_dir(data_dir: Path) -> None:
    """The demo's journal and sandbox are its own: the data directory is not even created."""
    result = invoke("demo", "--json")
    assert result.exit_code == 0, result.output
    assert not data_dir.exists()


def test_demo_for_people_shows_progress_tables_and_report() -> None:
    """Without --json: each step as it completes, the created objects, the report's tables."""
    result = invoke("demo")
    assert result.exit_code == 0, result.output
    for line in ("✓ step launch completed", "✓ step activate completed", "✓ workflow completed"):
        assert line in result.stderr
    assert "What the demo created" in result.stdout
    assert "Roast & Co. launch" in result.stdout
    for section in ("By day", "By platform", "By age and gender", "Spend"):
        assert section in result.stdout
    assert "Traceback" not in result.output
