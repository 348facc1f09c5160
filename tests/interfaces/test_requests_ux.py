"""Requests a person can read and run: schema, example, demo --print-request, and the small
things around them (Ctrl-C, keys, a replayed failure, money as text)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer

from meta_agent.interfaces.cli_common import run_async
from meta_agent.interfaces.examples import KINDS, example
from meta_agent.orchestrator.action_schema import DATA_MODELS
from meta_agent.orchestrator.orchestrator import RETRY_HINT
from meta_agent.orchestrator.requests import ACTIONS
from meta_agent.service import MetaAgentService
from tests.interfaces.conftest import invoke, json_of, write_request
from tests.interfaces.test_mcp import connected, service  # noqa: F401 (fixture)

# A minimal MP4 (an ftyp box), enough for the upload checks of the video example.
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 64


def test_every_action_has_a_schema() -> None:
    """DATA_MODELS covers every action, so `schema ACTION` answers for each."""
    assert set(DATA_MODELS) == set(ACTIONS)


async def test_schema_is_the_one_mcp_advertises(service: MetaAgentService) -> None:  # noqa: F811
    """`meta-agent schema ACTION` prints exactly the data schema of that MCP tool."""
    async with connected(service) as session:
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
    for name in ("create_full_campaign", "update_campaign", "update_creative", "bulk"):
        printed = json.loads(invoke("schema", name).stdout)
        definitions = printed.pop("$defs", {})
        advertised = tools[name].input_schema
        assert advertised["properties"]["data"] == printed, name
        for key, definition in definitions.items():
            assert advertised["$defs"][key] == definition, (name, key)


def test_schema_of_an_unknown_action_names_the_actions() -> None:
    """An unknown ACTION exits 2 and lists the actions."""
    result = invoke("schema", "launch_rocket")
    assert result.exit_code == 2
    assert "create_full_campaign" in result.stderr


def test_money_fields_say_minor_units_or_text_in_the_schema() -> None:
    """The schema tells a person how to write money: minor units, or '50.00 USD'."""
    schema = json.loads(invoke("schema", "create_campaign").stdout)
    budget = schema["$defs"]["AdSetParams"]["properties"]["daily_budget"]
    assert "50.00 USD" in json.dumps(budget)


def _launch_for_updates(tmp_path: Path) -> dict[str, str]:
    """Create (for real) the image example, for the examples that act on existing objects."""
    request = json.loads(invoke("example", "create_full_campaign").stdout)
    request["options"]["dry_run"] = False
    result = invoke("run", str(write_request(tmp_path, request, "launch.json")), "--json")
    assert result.exit_code == 0, result.output
    created = json_of(result)["result"]
    return {
        "--campaign-id": created["campaign"]["id"],
        "--adset-id": created["adsets"][0]["id"],
        "--ad-id": created["ads"][0]["id"],
    }


def test_every_example_is_accepted_by_run_dry_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`example ACTION` (each creative kind too) runs as printed under `run --dry-run`."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "clip.mp4").write_bytes(MP4)
    ids = [arg for pair in _launch_for_updates(tmp_path).items() for arg in pair]
    cases = [("create_full_campaign", "--kind", kind) for kind in KINDS]
    cases += [(action, *ids) for action in ACTIONS if action != "create_full_campaign"]
    for case in cases:
        printed = invoke("example", *case)
        assert printed.exit_code == 0, printed.output
        path = write_request(tmp_path, json.loads(printed.stdout), "example.json")
        result = invoke("run", str(path), "--dry-run", "--json")
        assert result.exit_code == 0, (case, result.output)
        assert json_of(result)["status"] == "COMPLETED", case


def test_demo_print_request_prints_a_runnable_request(tmp_path: Path) -> None:
    """`demo --print-request` prints the demo's request; `run --dry-run` accepts it."""
    printed = invoke("demo", "--print-request")
    assert printed.exit_code == 0, printed.output
    request = json.loads(printed.stdout)
    assert request["action"] == "create_full_campaign"
    result = invoke("run", str(write_request(tmp_path, request)), "--dry-run", "--json")
    assert result.exit_code == 0, result.output


def test_budget_as_text_in_another_currency_is_refused_naming_the_field(tmp_path: Path) -> None:
    """'20.00 INR' on the USD account exits 2, naming the field, both currencies, the fix."""
    request = json.loads(invoke("example", "create_campaign").stdout)
    request["data"]["adsets"][0]["daily_budget"] = "20.00 INR"
    result = invoke("run", str(write_request(tmp_path, request)), "--dry-run", "--json")
    assert result.exit_code == 2, result.output
    error = json_of(result)["error"]
    assert error["field"] == "data.adsets[0].daily_budget"
    assert "INR" in error["message"]
    assert "USD" in error["message"]


def test_budget_as_text_is_converted_with_the_currency_offset(tmp_path: Path) -> None:
    """'20.00 USD' is 2000 cents: the plan shows USD 20.00 (2000)."""
    request = json.loads(invoke("example", "create_campaign").stdout)
    result = invoke("run", str(write_request(tmp_path, request)), "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    adset = next(o for o in json_of(result)["result"]["objects"] if o["kind"] == "adset")
    assert adset["daily_budget"] == "USD 20.00 (2000)"


def test_a_replayed_failure_says_how_to_retry(tmp_path: Path) -> None:
    """The same request_id after a failure replays it, with the hint to use a new request_id."""
    request = json.loads(invoke("example", "create_full_campaign").stdout)
    request["data"]["ads"][0]["creative"]["page_id"] = "111111111111111"  # Meta refuses it
    request["options"]["dry_run"] = False
    request["request_id"] = "replay-me"
    path = write_request(tmp_path, request)
    first = invoke("run", str(path), "--json")
    assert first.exit_code == 4, first.output
    assert "hint" not in json_of(first)["error"]
    again = invoke("run", str(path))
    assert again.exit_code == 4
    assert "replayed" in again.stdout
    assert "new request_id" in " ".join(again.stderr.split())
    replayed = json_of(invoke("run", str(path), "--json"))
    assert replayed["replayed"] is True
    assert replayed["error"]["hint"] == RETRY_HINT


def test_ctrl_c_names_the_workflow_and_how_to_resume_or_roll_back(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Interrupted while a workflow runs: the message names it, resume and rollback."""
    from meta_agent.interfaces import cli_common

    async def work() -> None:
        cli_common._running["workflow_id"] = "wf123"
        raise KeyboardInterrupt

    with pytest.raises(typer.Exit) as exit_info:
        run_async(work)
    assert exit_info.value.exit_code == 130
    text = " ".join(capsys.readouterr().err.split())
    assert "meta-agent workflows resume wf123" in text
    assert "meta-agent workflows rollback wf123" in text


def test_keys_list_and_revoke(tmp_path: Path) -> None:
    """keys create, then list shows it (no secret), revoke marks it, list says revoked."""
    keys_file = str(tmp_path / "keys.json")
    created = invoke("keys", "create", "agent", "--file", keys_file, "--json")
    assert created.exit_code == 0, created.output
    record = json_of(created)
    listed = json_of(invoke("keys", "list", "--file", keys_file, "--json"))
    assert [row["id"] for row in listed] == [record["id"]]
    assert record["key"] not in json.dumps(listed)
    revoked = invoke("keys", "revoke", record["id"], "--file", keys_file)
    assert revoked.exit_code == 0, revoked.output
    assert json_of(invoke("keys", "list", "--file", keys_file, "--json"))[0]["revoked"] is True
    table = invoke("keys", "list", "--file", keys_file)
    assert "revoked" in table.stdout


def test_ctrl_c_in_a_real_run_names_its_workflow(tmp_path: Path) -> None:
    """SIGINT to `meta-agent run` mid-workflow: stderr names that workflow and the commands."""
    import os
    import re
    import signal
    import subprocess
    import sys
    import time

    (tmp_path / "clip.mp4").write_bytes(MP4)  # the video's encoding keeps the run busy
    request = json.loads(invoke("example", "create_full_campaign", "--kind", "video").stdout)
    path = write_request(tmp_path, request)
    env = {**os.environ, "META_AGENT_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200"}
    command = [sys.executable, "-m", "meta_agent", "run", str(path), "--dry-run"]
    with subprocess.Popen(  # noqa: S603 - our own CLI, fixed arguments
        command, cwd=tmp_path, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
    ) as process:
        assert process.stderr is not None
        started = None
        deadline = time.monotonic() + 60
        while started is None and time.monotonic() < deadline:
            started = re.search(r"workflow (\w+) started", process.stderr.readline())
        assert started is not None, "the workflow never started"
        time.sleep(0.5)
        process.send_signal(signal.SIGINT)
        rest = process.stderr.read()
        assert process.wait(timeout=30) == 130
    text = " ".join(rest.split())
    assert f"meta-agent workflows resume {started[1]}" in text
    assert f"meta-agent workflows rollback {started[1]}" in text


def _failing_launch(request_id: str) -> dict[str, Any]:
    """The image example, for real, on a Page Meta refuses: it runs, fails, rolls back."""
    request = example("create_full_campaign")
    request["data"]["ads"][0]["creative"]["page_id"] = "111111111111111"
    return {**request, "request_id": request_id, "options": {"dry_run": False}}


async def test_mcp_replays_a_failure_with_the_retry_hint(
    service: MetaAgentService,  # noqa: F811
) -> None:
    """The same request_id through MCP after a failure: replayed, with the hint."""
    request = _failing_launch("mcp-replay")
    arguments = {"data": request["data"], "account_id": request["account_id"]}
    arguments["request_id"] = request["request_id"]
    async with connected(service) as session:
        first = await session.call_tool("create_full_campaign", arguments)
        again = await session.call_tool("create_full_campaign", arguments)
    assert first.is_error
    assert "hint" not in (first.structured_content or {})["error"]
    replayed = again.structured_content or {}
    assert replayed["replayed"] is True
    assert replayed["error"]["hint"] == RETRY_HINT
