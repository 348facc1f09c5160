"""An agent's time limit (agents.asset.upload_timeout) cuts a slow step off: the workflow fails
there, naming the limit, and leaves nothing behind."""

from __future__ import annotations

from pathlib import Path

import httpx2
from pydantic import SecretStr

from meta_agent.durable import DurableConfig, QueueLimits
from meta_agent.graph.client import GraphClient
from meta_agent.graph.settings import GraphSettings
from meta_agent.orchestrator.dispatch import Dispatch
from meta_agent.orchestrator.env import Env
from meta_agent.orchestrator.orchestrator import Orchestrator
from meta_agent.store.sql import SqlJournal
from tests.conftest import TOKEN, LiveServer
from tests.orchestrator.conftest import full_campaign_request, live_objects
from tests.orchestrator.test_creative_update import creative_request


async def test_an_upload_past_the_asset_agents_limit_fails_the_workflow(
    live: LiveServer, tmp_path: Path
) -> None:
    """Uploads held 2 s by the sandbox, a 0.3 s limit: a creative swap is ROLLED_BACK at
    upload_assets, the error names the setting, and the ad keeps its creative. (A launch sends
    its images inside its batch, so the slow uploads are the swap's own.)"""
    settings = GraphSettings(access_token=SecretStr(TOKEN), base_url=live.url, version="v25.0")
    journal = SqlJournal(f"sqlite:///{tmp_path / 'journal.db'}")
    await journal.open()
    limits = {"asset": QueueLimits(worker_concurrency=2, timeout=0.3)}
    slow = {"kind": "latency", "method": "POST", "path": "act_*/adimages", "latency_ms": 2000}
    try:
        async with GraphClient(settings) as graph:
            orchestrator = Orchestrator(
                Env.build(graph, journal), Dispatch(DurableConfig(limits=limits))
            )
            setup = full_campaign_request("setup", images=1, adsets=1, ads_per_adset=1)
            launched = (await orchestrator.execute(setup)).result
            assert launched is not None
            ad = launched["ads"][0]
            async with httpx2.AsyncClient(base_url=live.url) as admin:
                assert (await admin.post("/_sandbox/faults", json=[slow])).status_code == 200
            response = await orchestrator.execute(creative_request(ad["id"], "slow-upload"))
    finally:
        await journal.close()
    assert response.status == "ROLLED_BACK", response
    assert response.error is not None
    cause = response.error["cause"]
    assert (cause["kind"], cause["step"]) == ("step_timeout", "upload_assets")
    assert "agents.asset.upload_timeout" in cause["message"]
    async with httpx2.AsyncClient(base_url=live.url) as admin:
        creatives = [o for o in await live_objects(admin) if o["kind"] == "adcreative"]
    assert [c["id"] for c in creatives] == [ad["creative_id"]]
