"""The command line: typer's runner in process, and the sandbox as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import httpx2
from typer.testing import CliRunner

from meta_agent.interfaces.cli import app
from tests.conftest import TOKEN, free_port

runner = CliRunner()


def test_help_lists_commands() -> None:
    """--help names the commands a newcomer needs."""
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "sandbox" in result.output
    assert "demo" in result.output


def test_bad_fault_spec_is_a_usage_error() -> None:
    """An unknown fault kind exits 2 and names the choices, with no traceback."""
    result = runner.invoke(app, ["sandbox", "--faults", "gremlins:p=1"])
    assert result.exit_code == 2
    assert "unknown fault kind" in result.output
    assert "Traceback" not in result.output


def test_demo_json_reports_what_it_created() -> None:
    """demo --json creates the four objects in one batch and reads spend back."""
    result = runner.invoke(app, ["demo", "--json"])
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
