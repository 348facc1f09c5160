"""Once over a real socket: the server run_server starts, from settings, on the embedded sandbox."""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest

from meta_agent.config import load_settings
from meta_agent.errors import ConfigError
from meta_agent.interfaces.http import HttpServer, issue_api_key
from meta_agent.interfaces.http.app import load_keys
from tests.conftest import free_port
from tests.interfaces.test_http_support import campaign_request, serving


async def test_healthz_and_a_request_over_a_real_socket(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """uvicorn serves /healthz and runs a request end to end against the embedded sandbox."""
    monkeypatch.setenv("META_AGENT_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("META_ACCESS_TOKEN", raising=False)
    keys_file = tmp_path / "keys.json"
    plaintext, _ = issue_api_key(keys_file, "live", ["act_1234567890"], ["create_campaign"])
    settings = load_settings(service={"api_keys_file": keys_file})
    async with HttpServer(settings, "127.0.0.1", free_port()) as server:
        task = await serving(server)
        base = f"http://127.0.0.1:{server.port}"
        headers = {"Authorization": f"Bearer {plaintext}"}
        async with httpx2.AsyncClient(base_url=base, headers=headers, timeout=30) as http:
            health = await http.get("/healthz")
            outcome = await http.post("/v1/requests", json=campaign_request("live-1"))
        server.stop()
        await task
    assert health.status_code == 200, health.text
    assert health.json()["mode"] == "sandbox"
    assert outcome.status_code == 200, outcome.text
    assert outcome.json()["status"] == "COMPLETED"


def test_serving_without_a_keys_file_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The service refuses to start with no API keys configured, naming the setting."""
    monkeypatch.setenv("META_AGENT_DATA_DIR", str(tmp_path))
    with pytest.raises(ConfigError) as caught:
        load_keys(load_settings())
    assert caught.value.details["field"] == "service.api_keys_file"
