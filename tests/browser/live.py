"""The HTTP service over loopback for the browser: uvicorn on a free port, an API key issued."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from meta_agent.config import load_settings
from meta_agent.interfaces.http import HttpServer, issue_api_key
from tests.conftest import INR_ACCOUNT, free_port
from tests.interfaces.test_http_support import serving


@dataclass(frozen=True)
class Served:
    """Where the service listens, and the bearer header of a key that may read reports."""

    url: str
    headers: dict[str, str]


@asynccontextmanager
async def http_service(folder: Path) -> AsyncIterator[Served]:
    """The service its settings describe (the embedded sandbox in ``META_AGENT_DATA_DIR``),
    served until the block ends; its key may read the INR account's reports."""
    keys_file = folder / "keys.json"
    plaintext, _ = issue_api_key(keys_file, "browser", [INR_ACCOUNT], ["performance_report"])
    settings = load_settings(service={"api_keys_file": keys_file})
    async with HttpServer(settings, "127.0.0.1", free_port()) as server:
        task = await serving(server)
        try:
            yield Served(
                f"http://127.0.0.1:{server.port}", {"Authorization": f"Bearer {plaintext}"}
            )
        finally:
            server.stop()
            await task
