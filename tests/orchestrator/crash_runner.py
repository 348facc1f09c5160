"""Runs one request through the orchestrator against a sandbox over loopback: a process for
the crash tests to kill mid-workflow.

    python -m tests.orchestrator.crash_runner BASE_URL JOURNAL_URL REQUEST.json
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from pydantic import SecretStr

from meta_agent.graph.client import GraphClient
from meta_agent.graph.settings import GraphSettings
from meta_agent.orchestrator.env import Env
from meta_agent.orchestrator.orchestrator import Orchestrator
from meta_agent.store.sql import SqlJournal

TOKEN = "sandbox-token"


async def main(base_url: str, journal_url: str, request: dict[str, object]) -> None:
    """Execute the request; print the response as JSON."""
    settings = GraphSettings(access_token=SecretStr(TOKEN), base_url=base_url, version="v25.0")
    journal = SqlJournal(journal_url)
    await journal.open()
    async with GraphClient(settings) as graph:
        orchestrator = Orchestrator(Env.build(graph, journal))
        response = await orchestrator.execute(request)
        sys.stdout.write(response.model_dump_json() + "\n")  # the parent test reads it
    await journal.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], json.loads(Path(sys.argv[3]).read_text())))
