"""`meta-agent run` and `workflows ...` on the persisted embedded sandbox, and their exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from meta_agent.interfaces.cli_common import SANDBOX_NOTICE
from meta_agent.interfaces.demo_request import demo_request
from tests.interfaces.conftest import invoke, json_of, write_request


def _small_request(request_id: str, **options: Any) -> dict[str, Any]:
    """A one-ad-set, two-ad launch (quicker than the demo's)."""
    request = demo_request(request_id, activate=False)
    data = request["data"]
    data["adsets"] = data["adsets"][:1]
    data["ads"] = data["ads"][:2]
    data["images"] = data["images"][:2]
    request["options"] = options
    return request


def test_run_without_token_uses_the_embedded_sandbox_and_says_so(tmp_path: Path) -> None:
    """No access token: the run goes to the embedded sandbox, says so on stderr, exits 0."""
    path = write_request(tmp_path, _small_request("run-ok"))
    result = invoke("run", str(path), "--json")
    assert result.exit_code == 0, result.output
    assert SANDBOX_NOTICE in result.stderr
    response = json_of(result)
    assert response["status"] == "COMPLETED"
    assert response["result"]["campaign"]["status"] == "PAUSED"
    assert len(response["result"]["ads"]) == 2


def test_run_table_output_lists_created_objects(tmp_path: Path) -> None:
    """Without --json the created objects are a table on stdout."""
    path = write_request(tmp_path, _small_request("run-table"))
    result = invoke("run", str(path))
    assert result.exit_code == 0, result.output
    assert "COMPLETED" in result.stdout
    assert "Roast & Co. launch" in result.stdout
    assert "Roast ad 2" in result.stdout


def test_dry_run_creates_nothing(tmp_path: Path, data_dir: Path) -> None:
    """--dry-run: Meta validates the plan; the response says dry run; no campaign exists after."""
    path = write_request(tmp_path, _small_request("run-dry"))
    result = invoke("run", str(path), "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    assert json_of(result)["dry_run"] is True
    state = json.loads((data_dir / "sandbox-state.json").read_text())
    kinds = {record["kind"] for record in state["objects"].values()}
    assert "campaign" not in kinds
    assert "ad" not in kinds


def test_bad_request_field_exits_2_naming_the_field(tmp_path: Path) -> None:
    """A request field of the wrong type exits 2, names its path, and prints no traceback."""
    request = _small_request("run-bad")
    request["data"]["adsets"][0]["daily_budget"] = "lots"
    path = write_request(tmp_path, request)
    result = invoke("run", str(path), "--json")
    assert result.exit_code == 2, result.output
    error = json_of(result)["error"]
    assert error["kind"] == "request_validation_error"
    assert error["field"] == "data.adsets[0].daily_budget"
    assert "data.adsets[0].daily_budget" in result.stderr
    assert "Traceback" not in result.output


def test_request_that_is_not_json_exits_2(tmp_path: Path) -> None:
    """A request file that is not JSON exits 2 and says where it broke."""
    path = tmp_path / "broken.json"
    path.write_text('{"action": ')
    result = invoke("run", str(path))
    assert result.exit_code == 2
    assert "is not JSON" in result.stderr


def test_request_refused_by_meta_rolls_back_and_exits_4(tmp_path: Path) -> None:
    """Meta refuses a creative (unknown Page): the workflow rolls back and the CLI exits 4."""
    request = _small_request("run-refused")
    for ad in request["data"]["ads"]:
        ad["creative"]["page_id"] = "999999999"
    path = write_request(tmp_path, request)
    result = invoke("run", str(path), "--json")
    assert result.exit_code == 4, result.output
    response = json_of(result)
    assert response["status"] == "ROLLED_BACK"
    assert "Page" in response["error"]["message"]
    assert "Traceback" not in result.output
    shown = invoke("workflows", "show", response["workflow_id"], "--json")
    assert shown.exit_code == 0, shown.output
    resources = json_of(shown)["resources"]
    assert resources
    assert all(item["undone"] or item["undo"] == "keep" for item in resources)


def test_workflows_list_filters_by_status_and_show_has_steps(tmp_path: Path) -> None:
    """workflows list shows runs newest first, --status filters, show lists a run's steps."""
    ok = json_of(invoke("run", str(write_request(tmp_path, _small_request("wf-ok"))), "--json"))
    request = _small_request("wf-bad")
    request["data"]["ads"][0]["creative"]["page_id"] = "999999999"
    invoke("run", str(write_request(tmp_path, request, "bad.json")))
    listed = invoke("workflows", "list", "--json")
    assert listed.exit_code == 0, listed.output
    assert [row["request_id"] for row in json_of(listed)] == ["wf-bad", "wf-ok"]
    completed = json_of(invoke("workflows", "list", "--status", "COMPLETED", "--json"))
    assert [row["id"] for row in completed] == [ok["workflow_id"]]
    table = invoke("workflows", "list")
    assert ok["workflow_id"] in table.stdout
    detail = json_of(invoke("workflows", "show", ok["workflow_id"], "--json"))
    assert [s["name"] for s in detail["steps"] if s["kind"] == "action"][-2:] == [
        "launch",
        "settle",
    ]
    people = invoke("workflows", "show", ok["workflow_id"])
    assert "launch" in people.stdout


def test_unknown_workflow_is_a_usage_error() -> None:
    """show, resume and rollback of an id the journal does not know exit 2."""
    for verb in ("show", "resume", "rollback"):
        result = invoke("workflows", verb, "nope", "--json")
        assert result.exit_code == 2, (verb, result.output)
        assert json_of(result)["error"]["field"] == "workflow_id"


def test_resume_of_a_finished_workflow_is_refused(tmp_path: Path) -> None:
    """Resuming a workflow that completed is the caller's mistake (exit 2), nothing is redone."""
    ok = json_of(invoke("run", str(write_request(tmp_path, _small_request("wf-r"))), "--json"))
    result = invoke("workflows", "resume", ok["workflow_id"])
    assert result.exit_code == 2, result.output


def test_run_reads_the_request_from_stdin() -> None:
    """`run -` reads the request from standard input."""
    result = invoke("run", "-", "--json", stdin=json.dumps(_small_request("run-stdin")))
    assert result.exit_code == 0, result.output
    assert json_of(result)["request_id"] == "run-stdin"


def test_rollback_of_a_failed_workflow_undoes_what_it_left(tmp_path: Path) -> None:
    """A failure kept as is (rollback_on_failure false) is undone later by `workflows rollback`."""
    request = _small_request("run-kept", rollback_on_failure=False)
    request["data"]["ads"][0]["creative"]["page_id"] = "999999999"
    failed = invoke("run", str(write_request(tmp_path, request)), "--json")
    assert failed.exit_code == 4, failed.output
    workflow_id = json_of(failed)["workflow_id"]
    assert json_of(failed)["status"] == "FAILED"
    left = json_of(invoke("workflows", "show", workflow_id, "--json"))["resources"]
    assert any(item["kind"] == "campaign" and not item["undone"] for item in left)
    rolled = invoke("workflows", "rollback", workflow_id, "--json")
    assert rolled.exit_code == 0, rolled.output
    assert json_of(rolled)["status"] == "ROLLED_BACK"
    after = json_of(invoke("workflows", "show", workflow_id, "--json"))["resources"]
    assert all(item["undone"] or item["undo"] == "keep" for item in after)
