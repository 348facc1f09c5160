"""The write gate knows who owns a video it saw uploaded (Meta's AdVideo has no account_id)."""

from __future__ import annotations

import random
from pathlib import Path

from meta_agent.agents.assets import VideoAsset
from meta_agent.orchestrator.env import Env
from meta_agent.principals import LOCAL_OPERATOR, acting_as
from meta_agent.sandbox import Sandbox
from tests.conftest import INR_ACCOUNT

VIDEO = b"\x00\x00\x00\x18ftypmp42" + random.Random(11).randbytes(200_000)


async def test_a_video_named_apart_from_its_title_is_renamed_through_the_gate(
    env: Env, sandbox: Sandbox, tmp_path: Path
) -> None:
    """The chunked upload's start answers ``video_id`` (no ``id``): the gate learns the owner
    from it, so the rename that follows (the finish phase carries only the title) is admitted
    without asking Meta for a field AdVideo does not have."""
    path = tmp_path / "brew.mp4"
    path.write_bytes(VIDEO)
    with acting_as(LOCAL_OPERATOR):
        uploaded = await env.assets.upload_video(
            INR_ACCOUNT, VideoAsset(path=path, title="Brew guide", name="brew-v1")
        )
    record = sandbox.state.get(uploaded.id)
    assert (record["title"], record["name"]) == ("Brew guide", "brew-v1")
