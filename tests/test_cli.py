"""The command line: typer's runner in process, and the sandbox and demo as real subprocesses.

Command-by-command tests live in ``tests/interfaces/``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx2
import pytest
import structlog
from typer.testing import CliRunner

from meta_agent.interfaces.cli import app
from tests.conftest import TOKEN, free_port

runner = CliRunner()


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """The CLI sets structlog's level; put the previous setup back for the tests after."""
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


def test_help_lists_commands() -> None:
    """--help names every command."""
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in (
        "demo",
        "run",
        "workflows",
        "insights",
        "report",
        "health",
        "sandbox",
        "serve",
        "mcp",
        "walkthrough",
    ):
        assert command in result.output


def test_bad_fault_spec_is_a_usage_error() -> None:
    """An unknown fault kind exits 2 and names the choices, with no traceback."""
    result = runner.invoke(app, ["sandbox", "--faults", "gremlins:p=1"])
    assert result.exit_code == 2
    assert "unknown fault kind" in result.output
    assert "Traceback" not in result.output


def test_walkthrough_json_reports_what_it_created() -> None:
    """walkthrough --json creates the four objects in one batch and reads spend back."""
    result = runner.invoke(app, ["walkthrough", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert [c["name"] for c in summary["created"]] == [
        "Diwali Coffee Launch",
        "India 21-45",
        "Roast hero image",
        "Roast hero ad",
    ]
    assert all(c["id"].isdigit() for c in summary["created"])
    assert float(summary["insights"][0]["spend"]) > 0
    platform_spend = sum(float(r["spend"]) for r in summary["by_platform"])
    assert round(platform_spend, 2) == round(float(summary["insights"][0]["spend"]), 2)


def test_sandbox_subprocess_serves_and_prints_banner() -> None:
    """`meta-agent sandbox` starts, prints its URL, token and accounts, and answers the SDK's paths."""
    port = free_port()
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "meta_agent", "sandbox", "--port", str(port)],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                response = httpx2.get(
                    f"http://127.0.0.1:{port}/v25.0/me/adaccounts", params={"access_token": TOKEN}
                )
                break
            except httpx2.TransportError:
                assert time.monotonic() < deadline, "sandbox did not start"
                time.sleep(0.05)
        assert response.status_code == 200
        assert len(response.json()["data"]) == 2
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=10)
    assert f"http://127.0.0.1:{port}" in stderr
    assert "act_1234567890" in stderr
    assert "sandbox-token" in stderr


def test_demo_subprocess_prints_one_json_document(tmp_path: Path) -> None:
    """`python -m meta_agent demo --json` as a real process: one JSON document, a week of spend."""
    env = {**os.environ, "META_AGENT_DATA_DIR": str(tmp_path / "data")}
    env.pop("META_AGENT_CONFIG", None)
    completed = subprocess.run(
        [sys.executable, "-m", "meta_agent", "demo", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=50,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "Traceback" not in completed.stderr
    document = json.loads(completed.stdout)
    assert document["status"] == "COMPLETED"
    assert document["mode"] == "sandbox"
    assert len([row for row in document["created"] if row["kind"] == "ad"]) == 6
    assert Decimal(document["report"]["summary"]["spend_major"]) > 0
    assert not (tmp_path / "data").exists()
