"""Approvals at the command line, as real subprocesses: a held launch, refused and granted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from meta_agent.interfaces.demo_request import demo_request
from tests.conftest import INR_ACCOUNT


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own CLI, fixed arguments
        [sys.executable, "-m", "meta_agent", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


@pytest.fixture
def env(tmp_path: Path, data_dir: Path) -> dict[str, str]:
    """The CLI's environment: its data directory, and a config where activation needs approval."""
    config = tmp_path / "config.yaml"
    config.write_text(
        f"policies:\n  accounts:\n    {INR_ACCOUNT}:\n      activation_requires_approval: true\n",
        encoding="utf-8",
    )
    keep = {k: v for k, v in os.environ.items() if not k.startswith("META_")}
    return {**keep, "META_AGENT_DATA_DIR": str(data_dir), "META_AGENT_CONFIG": str(config)}


def _request(tmp_path: Path) -> Path:
    request: dict[str, Any] = demo_request("cli-held", activate=True)
    data = request["data"]
    data["adsets"], data["ads"], data["images"] = (
        data["adsets"][:1],
        data["ads"][:1],
        data["images"][:1],
    )
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request), encoding="utf-8")
    return path


@pytest.mark.timeout(180)
def test_a_held_launch_exits_5_and_only_another_approver_releases_it(
    tmp_path: Path, env: dict[str, str]
) -> None:
    """run → exit 5 PENDING_APPROVAL; the operator who asked is refused (2); Ana's key grants it."""
    made = _cli(
        env, "keys", "create", "ana", "--accounts", INR_ACCOUNT, "--role", "approver", "--json"
    )
    assert made.returncode == 0, made.stderr
    ana = json.loads(made.stdout)["key"]
    held = _cli(env, "run", str(_request(tmp_path)), "--json")
    assert held.returncode == 5, held.stderr
    assert json.loads(held.stdout)["status"] == "PENDING_APPROVAL"
    assert "approvals approve" in held.stderr
    listed = json.loads(_cli(env, "approvals", "list", "--json").stdout)
    assert [a["status"] for a in listed] == ["PENDING"]
    approval_id = listed[0]["id"]
    self_approved = _cli(env, "approvals", "approve", approval_id, "--json")
    assert self_approved.returncode == 2
    assert json.loads(self_approved.stdout)["error"]["kind"] == "access_denied"
    granted = _cli(env, "approvals", "approve", approval_id, "--key", ana, "--json")
    assert granted.returncode == 0, granted.stderr
    assert json.loads(granted.stdout)["status"] == "COMPLETED"
    shown = json.loads(_cli(env, "approvals", "show", approval_id, "--json").stdout)
    assert (shown["status"], shown["decided_by"]) == ("APPROVED", ana.split("_")[1])
