"""Image limits checked before any pixel is decoded: Meta's file size, this service's pixels."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from meta_agent.agents.assets import AssetAgent
from meta_agent.agents.media import MIB, ImageAsset, ImageRules
from meta_agent.errors import RequestValidationError
from meta_agent.graph.client import GraphClient
from meta_agent.sandbox import Sandbox
from tests.conftest import INR_ACCOUNT


def png(width: int, height: int) -> bytes:
    """A one-bit PNG: a few kilobytes, however many pixels it declares."""
    buffer = io.BytesIO()
    Image.new("1", (width, height)).save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def test_the_defaults_are_metas_file_size_and_36_megapixels() -> None:
    """30 MB per image file (Meta's maximum), 36 million pixels decoded at most."""
    rules = ImageRules()
    assert rules.max_bytes == 30 * MIB
    assert rules.max_pixels == 36_000_000


async def test_a_file_over_the_size_limit_is_refused_unread(
    graph_client: GraphClient, sandbox: Sandbox
) -> None:
    """Over max_bytes: refused naming the field and the limit, without opening the data."""
    agent = AssetAgent(graph_client, image_rules=ImageRules(max_bytes=1024))
    with pytest.raises(RequestValidationError, match="over Meta's") as caught:
        await agent.upload_images(INR_ACCOUNT, [ImageAsset(data=b"not even an image" * 100)])
    assert caught.value.field == "assets[0].data"
    assert caught.value.details["limit_bytes"] == 1024
    assert sandbox.counters.total == 0


async def test_too_many_pixels_is_refused_from_the_header(
    graph_client: GraphClient, sandbox: Sandbox
) -> None:
    """Over max_pixels: refused naming the field, the size it declares and the limit."""
    agent = AssetAgent(graph_client, image_rules=ImageRules(max_pixels=1_000_000))
    with pytest.raises(RequestValidationError, match="1200x1200 is over 1,000,000") as caught:
        await agent.upload_images(INR_ACCOUNT, [{"data": png(1200, 1200)}])
    assert caught.value.field == "assets[0].data"
    assert caught.value.details["limit_pixels"] == 1_000_000
    assert sandbox.counters.total == 0


async def test_pillows_own_bomb_guard_reads_as_the_same_refusal(
    graph_client: GraphClient,
) -> None:
    """Past Pillow's far larger guard (a warning, then an error): the pixel refusal, not 'unreadable'."""
    agent = AssetAgent(graph_client, image_rules=ImageRules(max_pixels=10**12))
    with pytest.raises(RequestValidationError, match="megapixels") as caught:
        await agent.upload_images(INR_ACCOUNT, [{"data": png(20_000, 10_000)}])
    assert caught.value.field == "assets[0].data"
