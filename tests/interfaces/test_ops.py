"""`health`, `serve`, `mcp` and `--config`: verdicts, lazy servers, configuration errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer

from meta_agent.interfaces.cli_ops import call_entry, load_entry
from tests.interfaces.conftest import invoke, json_of


def test_health_of_the_embedded_sandbox_is_healthy() -> None:
    """health --json: every check ok on the embedded sandbox, exit 0."""
    result = invoke("health", "--json")
    assert result.exit_code == 0, result.output
    report = json_of(result)
    assert report["status"] == "healthy"
    assert report["mode"] == "sandbox"
    assert set(report["checks"]) == {"api_connectivity", "database", "cache", "agents", "queues"}


def test_health_table_names_each_check() -> None:
    """health for people: a table with each check."""
    result = invoke("health")
    assert result.exit_code == 0, result.output
    assert "api_connectivity" in result.stdout
    assert "healthy" in result.stdout


def test_unhealthy_cache_exits_1(tmp_path: Path) -> None:
    """A Redis cache nobody listens on: health reports unhealthy and exits 1."""
    config = tmp_path / "meta-agent.yaml"
    config.write_text("cache:\n  backend: redis\n  url: redis://127.0.0.1:1/0\n")
    result = invoke("health", "--json", "--config", str(config))
    assert result.exit_code == 1, result.output
    report = json_of(result)
    assert report["status"] == "unhealthy"
    assert report["checks"]["cache"]["ok"] is False
    assert report["checks"]["database"]["ok"] is True


def test_missing_config_file_is_a_usage_error(tmp_path: Path) -> None:
    """--config naming a file that does not exist exits 2 and names it."""
    result = invoke("workflows", "list", "--config", str(tmp_path / "nope.yaml"))
    assert result.exit_code == 2
    assert "nope.yaml" in result.stderr


def test_invalid_setting_is_a_usage_error(tmp_path: Path) -> None:
    """A setting out of range exits 2 naming the setting."""
    config = tmp_path / "meta-agent.yaml"
    config.write_text("api:\n  max_retries: 0\n")
    result = invoke("health", "--json", "--config", str(config))
    assert result.exit_code == 2, result.output
    assert json_of(result)["error"]["field"] == "api.max_retries"


def test_serve_and_mcp_register_their_options() -> None:
    """serve takes --host/--port; mcp takes --transport stdio|http."""
    serve = invoke("serve", "--help")
    assert "--host" in serve.stdout
    assert "--port" in serve.stdout
    mcp = invoke("mcp", "--help")
    assert "--transport" in mcp.stdout
    assert "stdio" in mcp.stdout


def test_mcp_refuses_an_unknown_transport() -> None:
    """--transport carrier-pigeon exits 2."""
    assert invoke("mcp", "--transport", "carrier-pigeon").exit_code == 2


def test_a_missing_server_module_exits_1_with_a_message(capsys: pytest.CaptureFixture[str]) -> None:
    """A server whose module is not installed: a clear message and exit 1, no traceback."""
    with pytest.raises(typer.Exit) as stopped:
        load_entry("meta_agent.interfaces.no_such_server", "run", "the imaginary server")
    assert stopped.value.exit_code == 1
    assert "the imaginary server is not available" in capsys.readouterr().err


def test_entry_points_get_only_the_options_they_accept() -> None:
    """call_entry passes the options a server's signature names (or all of them to **kwargs)."""
    seen: dict[str, object] = {}

    def narrow(settings: object, port: int) -> None:
        seen.update(settings=settings, port=port)

    call_entry(narrow, settings="s", host="h", port=1)
    assert seen == {"settings": "s", "port": 1}


def test_keys_create_prints_the_key_once_and_stores_its_hash(data_dir: Path) -> None:
    """keys create: the plaintext on stdout, the file keeps only a hash, the scope as asked."""
    result = invoke("keys", "create", "agent", "--accounts", "act_1234567890", "--json")
    assert result.exit_code == 0, result.output
    created = json_of(result)
    assert created["accounts"] == ["act_1234567890"]
    stored = Path(created["file"]).read_text()
    assert Path(created["file"]).parent == data_dir
    assert created["id"] in stored
    assert created["key"] not in stored
