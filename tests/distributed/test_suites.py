"""The invariants under stress, with real worker processes on PostgreSQL.

* Faults: launches over four ad accounts (two currencies) through the HTTP service, about
  10% of the sandbox's requests failing in every way it knows, some request_ids sent twice at
  once; two orchestrator and two campaign workers share the work.
* Crashes: worker processes (orchestrator and agents) SIGKILLed at random moments, 30 times
  and more, while launches flow; each killed worker comes back with its id (it carries on its
  own work) or never does (a new one takes its work over after the timeout). Nobody types a
  command.

The witness is the sandbox's object listing: every workflow COMPLETED with exactly its objects
or ROLLED_BACK with none live; 0 orphans, 0 duplicates, 0 ROLLBACK_FAILED, 0 answers >= 500.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest
from pydantic import SecretStr

from meta_agent.agents.keys import WORKFLOW_CHARS, key_of, workflow_prefix
from meta_agent.interfaces.http.app import create_app
from meta_agent.sandbox.state import seed_accounts
from meta_agent.service import MetaAgentService
from tests.conftest import LiveServer
from tests.distributed.conftest import Cluster, cluster_settings
from tests.interfaces.test_http_support import BASE_URL, WEBHOOK_SECRET, key_store
from tests.orchestrator.conftest import full_campaign_request

pytestmark = [pytest.mark.postgres]

# The cluster sandbox's four accounts (INR, USD, EUR, GBP), each with the Page it advertises.
PAGES = {f"act_{seed.account['account_id']}": seed.page_id for seed in seed_accounts(4)}
ACCOUNTS = tuple(PAGES)
OBJECTS_PER_LAUNCH = 7  # a campaign, two ad sets, two creatives, two ads
FAULTS = (
    "transient:p=0.02;http_5xx:p=0.02;rate_limit:p=0.01;timeout:p=0.01;"
    "drop_after_commit:method=POST,p=0.02;batch_partial:p=0.02;"
    "graph_error:code=100,subcode=1885272,method=POST,path=act_*/ads,p=0.02"
)
TERMINAL = {"COMPLETED", "ROLLED_BACK"}
KINDS = "campaign,adset,adcreative,ad"


def _body(n: int, request_id: str) -> dict[str, Any]:
    account = ACCOUNTS[n % len(ACCOUNTS)]
    body = full_campaign_request(request_id, images=1, adsets=2, ads_per_adset=1)
    body["account_id"] = account
    for ad in body["data"]["ads"]:
        ad["creative"]["page_id"] = PAGES[account]
    for adset in body["data"]["adsets"]:
        adset["daily_budget"] = 5_000  # at or above every seeded currency's floor
        adset["targeting"]["countries"] = ["US"]
    return body


@pytest.fixture
async def http(cluster: Cluster) -> AsyncIterator[httpx2.AsyncClient]:
    """The HTTP service in distributed mode: it only enqueues and waits for the workers."""
    service = await MetaAgentService.open(cluster_settings(cluster.env))
    store, keys = key_store()
    api = create_app(service, keys=store, webhook_secret=SecretStr(WEBHOOK_SECRET), sync_wait=180.0)
    transport = httpx2.ASGITransport(app=api)
    headers = {"Authorization": f"Bearer {keys['admin']}"}
    try:
        async with httpx2.AsyncClient(
            transport=transport, base_url=BASE_URL, headers=headers, timeout=240
        ) as client:
            yield client
    finally:
        await service.aclose()


async def _sandbox(live: LiveServer, method: str, path: str, **options: Any) -> Any:
    async with httpx2.AsyncClient(base_url=live.url) as admin:
        response = await admin.request(method, path, **options)
        assert response.status_code == 200, response.text
        return response.json()


async def _send_all(
    http: httpx2.AsyncClient, bodies: list[dict[str, Any]], concurrency: int
) -> tuple[dict[str, dict[str, Any]], Counter[int]]:
    """Send every body (at most ``concurrency`` at once); the last answer per request_id."""
    gate = asyncio.Semaphore(concurrency)
    outcomes: dict[str, dict[str, Any]] = {}
    statuses: Counter[int] = Counter()

    async def send(body: dict[str, Any]) -> None:
        async with gate:
            response = await http.post("/v1/requests", json=body)
        statuses[response.status_code] += 1
        if response.status_code == 200:
            outcomes[body["request_id"]] = response.json()

    await asyncio.gather(*(send(body) for body in bodies))
    return outcomes, statuses


def _check(
    outcomes: dict[str, dict[str, Any]],
    statuses: Counter[int],
    live: list[dict[str, Any]],
    bodies: list[dict[str, Any]],
) -> None:
    assert not [code for code in statuses if code >= 500], statuses
    assert set(outcomes) == {body["request_id"] for body in bodies}, statuses
    final = Counter(outcome["status"] for outcome in outcomes.values())
    print({"answers": dict(statuses), "workflows": dict(final), "live": len(live)})  # noqa: T201
    assert set(final) <= TERMINAL, final
    keys = Counter(key_of(str(o["name"])) for o in live)
    assert [k for k, count in keys.items() if count > 1] == [], "duplicates"
    accounts = {body["request_id"]: body["account_id"] for body in bodies}
    completed = {
        workflow_prefix(accounts[request_id], request_id): outcome
        for request_id, outcome in outcomes.items()
        if outcome["status"] == "COMPLETED"
    }
    owners = Counter(str(key_of(str(o["name"])))[:WORKFLOW_CHARS] for o in live)
    assert set(owners) <= set(completed), "orphans"
    for prefix, outcome in completed.items():
        assert owners[prefix] == OBJECTS_PER_LAUNCH, (outcome["request_id"], owners[prefix])
        result = outcome["result"]
        wanted = {result["campaign"]["id"], *(ad["id"] for ad in result["ads"])}
        assert wanted <= {o["id"] for o in live}, outcome["request_id"]


@pytest.mark.timeout(600)
async def test_launches_under_faults_with_workers(
    cluster: Cluster, http: httpx2.AsyncClient, cluster_live: LiveServer
) -> None:
    """40 launches, 8 at once, ~10% faults, every tenth request_id sent twice at once."""
    cluster.start("orchestrator", "orchestrator-2")
    cluster.start("campaign", "campaign-2")
    await cluster.ready("orchestrator-2", "campaign-2")
    await _sandbox(cluster_live, "POST", "/_sandbox/reset")
    await _sandbox(cluster_live, "POST", "/_sandbox/faults", json={"spec": FAULTS})
    bodies = [_body(n, f"fault-{n}") for n in range(40)]
    bodies += [_body(n, f"fault-{n}") for n in range(0, 40, 10)]  # the same, concurrently
    try:
        outcomes, statuses = await _send_all(http, bodies, concurrency=8)
    finally:
        await _sandbox(cluster_live, "DELETE", "/_sandbox/faults")
    live = (await _sandbox(cluster_live, "GET", "/_sandbox/objects", params=_live_params()))["data"]
    _check(outcomes, statuses, live, bodies)
    assert Counter(o["status"] for o in outcomes.values())["COMPLETED"] >= 20


def _live_params() -> dict[str, str]:
    return {"kind": KINDS, "live": "1"}


@pytest.mark.timeout(900)
async def test_workers_killed_at_random_moments(
    cluster: Cluster, http: httpx2.AsyncClient, cluster_live: LiveServer
) -> None:
    """30 to 40 SIGKILLs of orchestrator and agent workers while 36 launches run: no command
    typed, every workflow terminal, exactly its objects or none."""
    await _sandbox(cluster_live, "POST", "/_sandbox/reset")
    # A little latency on every request widens the windows a kill can land in.
    latency = [{"kind": "latency", "path": "", "latency_ms": 40}]
    await _sandbox(cluster_live, "POST", "/_sandbox/faults", json=latency)
    bodies = [_body(n, f"crash-{n}") for n in range(36)]
    rng = random.Random(20261203)
    kills = 0
    generation = Counter[str]()
    done = asyncio.Event()

    async def killer() -> None:
        nonlocal kills
        while kills < 40 and not (done.is_set() and kills >= 30):
            await asyncio.sleep(rng.uniform(0.2, 0.9))
            worker_id = rng.choice(sorted(cluster.processes))
            agent = worker_id.rsplit("-", 1)[0]
            cluster.kill(worker_id)
            kills += 1
            if rng.random() < 0.75:
                cluster.start(agent, worker_id)  # back with its id: carries on its own work
            else:  # never returns: a new worker takes its work over after the timeout
                generation[agent] += 1
                cluster.start(agent, f"{agent}-{generation[agent] + 1}")

    chaos = asyncio.create_task(killer())
    try:
        outcomes, statuses = await _send_all(http, bodies, concurrency=6)
        done.set()
        await chaos
    finally:
        chaos.cancel()
        await _sandbox(cluster_live, "DELETE", "/_sandbox/faults")
    live = (await _sandbox(cluster_live, "GET", "/_sandbox/objects", params=_live_params()))["data"]
    print({"kills": kills})  # noqa: T201
    assert kills >= 30
    _check(outcomes, statuses, live, bodies)
