"""The service facade: built from Settings, health checks, metrics, token rotation."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from starlette.applications import Starlette

from meta_agent.config import load_settings
from meta_agent.observability import metrics
from meta_agent.sandbox import ManualClock
from meta_agent.service import MetaAgentService
from tests.conftest import TOKEN
from tests.orchestrator.conftest import full_campaign_request


@pytest.fixture
async def service(
    app: Starlette, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[MetaAgentService]:
    """The facade on the embedded sandbox, its files in a temporary directory."""
    monkeypatch.setenv("META_AGENT_DATA_DIR", str(tmp_path))
    opened = await MetaAgentService.open(load_settings(), sandbox_app=app)
    yield opened
    await opened.aclose()


async def test_with_no_token_the_service_runs_on_the_sandbox_and_is_healthy(
    service: MetaAgentService,
) -> None:
    """No credentials anywhere: sandbox mode, every health check passes."""
    assert service.mode == "sandbox"
    report = await service.health()
    assert report.status == "healthy"
    assert set(report.checks) == {"api_connectivity", "database", "cache", "agents", "queues"}


async def test_a_request_is_counted_in_the_metrics(service: MetaAgentService) -> None:
    """meta_agent_requests_total and meta_agent_api_calls_total move with a workflow."""

    def requests_total() -> float:
        value = metrics.REGISTRY.get_sample_value(
            "meta_agent_requests_total", {"agent": "orchestrator", "action": "create_full_campaign"}
        )
        return value or 0.0

    before = requests_total()
    response = await service.execute(full_campaign_request("metrics"))
    assert response.status == "COMPLETED"
    assert requests_total() == before + 1
    assert b"meta_agent_api_calls_total" in metrics.exposition()


async def test_a_rotated_token_is_used_from_then_on(
    app: Starlette, clock: ManualClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A token file rewritten at its source is picked up by rotate_token, no restart needed."""
    monkeypatch.setenv("META_AGENT_DATA_DIR", str(tmp_path))
    token_file = tmp_path / "token"
    token_file.write_text("revoked-token")
    settings = load_settings(sandbox={"mode": "never"}, credentials={"token_file": str(token_file)})
    service = await MetaAgentService.open(settings, sandbox_app=app)
    try:
        assert service.mode == "live"
        assert (await service.health()).checks["api_connectivity"].ok is False
        token_file.write_text(TOKEN)
        await service.rotate_token()
        assert (await service.health()).checks["api_connectivity"].ok is True
        assert "revoked-token" not in repr(service.parts.tokens)
    finally:
        await service.aclose()


def test_a_process_that_opens_the_service_freezes_its_startup_heap(tmp_path: Path) -> None:
    """After ``MetaAgentService.open`` the objects startup built are frozen, out of the
    collector's full passes (a fresh process: this one may have frozen already)."""
    script = (
        "import asyncio, gc\n"
        "from meta_agent.config import load_settings\n"
        "from meta_agent.service import MetaAgentService\n"
        "async def main():\n"
        "    before = gc.get_freeze_count()\n"
        "    service = await MetaAgentService.open(load_settings())\n"
        "    print('frozen', before, gc.get_freeze_count())\n"
        "    await service.aclose()\n"
        "asyncio.run(main())\n"
    )
    env = {**os.environ, "META_AGENT_DATA_DIR": str(tmp_path)}
    done = subprocess.run(  # noqa: S603 - this interpreter, our own script
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    line = next(line for line in done.stdout.splitlines() if line.startswith("frozen "))
    before, after = (int(n) for n in line.split()[1:])
    assert before == 0
    assert after > 10_000  # the imports alone are far more
