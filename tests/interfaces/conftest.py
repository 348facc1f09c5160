"""The CLI in process (typer's runner) with its data directory in a temporary folder."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
import structlog
from click.testing import Result
from starlette.applications import Starlette
from typer.testing import CliRunner

from meta_agent.interfaces.cli import app
from meta_agent.sandbox import ManualClock
from tests.interfaces.test_http_support import Harness, open_harness

# Settings a developer's shell might carry, which would change what the CLI talks to.
_ENVIRONMENT = (
    "META_AGENT_CONFIG",
    "META_ACCESS_TOKEN",
    "META_AGENT_CREDENTIALS__ACCESS_TOKEN",
    "META_AGENT_CREDENTIALS__TOKEN_FILE",
    "META_AGENT_SANDBOX__MODE",
    "META_AGENT_SANDBOX__STATE_FILE",
    "META_AGENT_DATABASE__URL",
    "META_AGENT_CACHE__BACKEND",
)
# Kinds of sandbox record whose times make the synthetic delivery model spend.
_DELIVERING = {"campaign", "adset", "ad"}


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Journal and sandbox state live in a temporary folder, never in the real home."""
    path = tmp_path / "data"
    monkeypatch.setenv("META_AGENT_DATA_DIR", str(path))
    monkeypatch.setenv("COLUMNS", "200")
    for name in _ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    return path


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """The CLI points structlog at the runner's stderr; put the previous setup back after."""
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


def invoke(*args: str, stdin: str | None = None) -> Result:
    """Run ``meta-agent ARGS`` in process."""
    return CliRunner().invoke(app, list(args), input=stdin)


def json_of(result: Result) -> Any:
    """The one JSON document the command printed to stdout."""
    return json.loads(result.stdout)


def write_request(folder: Path, request: dict[str, Any], name: str = "request.json") -> Path:
    """``request`` as a JSON file the CLI can run."""
    path = folder / name
    path.write_text(json.dumps(request))
    return path


def age_sandbox(data_dir: Path, days: int) -> None:
    """Move every campaign, ad set and ad of the persisted sandbox ``days`` into the past.

    The embedded sandbox runs on the system clock, so an object created a second ago has
    delivered nothing; shifting its times in the state document gives it a history.
    """
    path = data_dir / "sandbox-state.json"
    state = json.loads(path.read_text())
    shift = days * 86400
    for record in state["objects"].values():
        if record.get("kind") not in _DELIVERING:
            continue
        for key, value in record.items():
            if key.endswith(("_time", "_until")) and isinstance(value, int | float):
                record[key] = value - shift
        # The status and review histories (sandbox/history.py) decide when it delivered.
        history = record.get("status_history", [])
        record["status_history"] = [[since - shift, status] for since, status in history]
        reviews = record.get("review_history", [])
        record["review_history"] = [[low - shift, high - shift] for low, high in reviews]
    path.write_text(json.dumps(state))


@pytest.fixture
async def harness(
    app: Starlette, clock: ManualClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Harness]:
    """The HTTP service over a service opened on the in-process sandbox (a module may
    redefine it with other options)."""
    async with open_harness(app, clock, tmp_path, monkeypatch) as built:
        yield built


@pytest.fixture
async def http(harness: Harness) -> AsyncIterator[httpx2.AsyncClient]:
    """A client holding the all-powerful key."""
    async with harness.client() as client:
        yield client
