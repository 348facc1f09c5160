"""Exactly one object per planned item, and nothing left behind, under the failures that used to
get around it: a gateway error after Meta committed a batch, two workflows whose keys collided
under the old 24-bit prefix, and a rollback batch whose answer was lost after it was applied.

The sandbox's object listing is the witness throughout.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import random
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime
from typing import Any

import httpx2
import pytest
from pydantic import SecretStr

from meta_agent.agents.keys import key_of, workflow_key, workflow_prefix
from meta_agent.cache import MemoryCache
from meta_agent.graph.client import GraphClient
from meta_agent.graph.guard import UNGUARDED
from meta_agent.graph.settings import GraphSettings
from meta_agent.orchestrator.env import Env
from meta_agent.orchestrator.orchestrator import Orchestrator
from meta_agent.principals import LOCAL_OPERATOR, acting_as
from meta_agent.sandbox import ManualClock, Sandbox, parse_fault_spec
from meta_agent.store.sql import SqlJournal
from tests.conftest import INR_ACCOUNT, TOKEN, VERSION, LiveServer
from tests.orchestrator.conftest import full_campaign_request, live_objects

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
HTML_PAGE = b"<html><body><h1>502 Bad Gateway</h1>nginx</body></html>"


class CommitThenFail:
    """A proxy in front of the sandbox: the Nth matching request reaches it and is committed,
    then the answer is thrown away and the caller gets a gateway's 502 (or 200 with HTML)."""

    def __init__(self, app: Any, *, path: str, nth: int, status: int = 502) -> None:
        self.app, self.path, self.nth, self.status = app, path, nth, status
        self.seen = 0
        self.fired = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Forward; replace the chosen answer."""
        if scope["type"] != "http" or scope["method"] != "POST" or not self._matches(scope):
            await self.app(scope, receive, send)
            return
        self.seen += 1
        if self.seen != self.nth:
            await self.app(scope, receive, send)
            return

        async def swallow(message: Message) -> None:
            return None

        await self.app(scope, receive, swallow)  # Meta commits it...
        self.fired += 1
        headers = [(b"content-type", b"text/html"), (b"content-length", b"%d" % len(HTML_PAGE))]
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": HTML_PAGE})  # ...the proxy answers

    def _matches(self, scope: Scope) -> bool:
        path = str(scope["path"]).strip("/").split("/", 1)
        rest = path[1] if len(path) > 1 else ""
        return fnmatch.fnmatch(rest, self.path)


def _orchestrator(graph: GraphClient, journal: SqlJournal) -> Orchestrator:
    return Orchestrator(Env.build(graph, journal, cache=MemoryCache()))


def _graph(url: str, clock: ManualClock) -> GraphClient:
    return GraphClient(
        GraphSettings(access_token=SecretStr(TOKEN), base_url=url, version=VERSION),
        guard=UNGUARDED,
        now=clock.now,
        sleep=clock.sleep,
        rng=random.Random(1),
        wall_clock=lambda: datetime.fromtimestamp(clock.now(), UTC),
    )


def _duplicates(objects: list[dict[str, Any]]) -> list[str]:
    keys = Counter(key_of(str(o.get("name", ""))) for o in objects)
    return [key for key, count in keys.items() if key and count > 1]


@pytest.mark.parametrize("status", [502, 200])
async def test_a_gateway_error_after_the_batch_committed_does_not_duplicate_the_launch(
    app: Any, clock: ManualClock, client: httpx2.AsyncClient, journal: SqlJournal, status: int
) -> None:
    """The launch batch commits, a proxy answers 502 (or an HTML page): 16 objects, not 32."""
    proxy = CommitThenFail(app, path="", nth=1, status=status)
    with LiveServer(proxy) as server:  # type: ignore[arg-type]
        graph = _graph(server.url, clock)
        try:
            response = await _orchestrator(graph, journal).execute(full_campaign_request("gw"))
        finally:
            await graph.aclose()
    assert proxy.fired == 1
    assert response.status == "COMPLETED", response.error
    live = await live_objects(client)
    assert Counter(o["kind"] for o in live) == {"campaign": 1, "adset": 3, "adcreative": 6, "ad": 6}
    assert _duplicates(live) == []
    assert response.result is not None
    ids = {response.result["campaign"]["id"], *(a["id"] for a in response.result["ads"])}
    assert ids <= {o["id"] for o in live}


def _old_prefix(request_id: str) -> str:
    """The 24-bit workflow prefix keys had before (sha256 of the request id, 6 hex digits)."""
    return hashlib.sha256(f"workflow\x1f{request_id}".encode()).hexdigest()[:6]


def _colliding_pair() -> tuple[str, str]:
    seen: dict[str, str] = {}
    for n in range(200_000):
        request_id = f"launch-{n}"
        prefix = _old_prefix(request_id)
        if prefix in seen:
            return seen[prefix], request_id
        seen[prefix] = request_id
    raise AssertionError("no collision found")


async def test_two_request_ids_that_collided_before_keep_their_objects_apart(
    orchestrator: Orchestrator, client: httpx2.AsyncClient, sandbox: Sandbox
) -> None:
    """A and B shared an old prefix: B fails and rolls back; every object of A stays live."""
    first, second = _colliding_pair()
    assert _old_prefix(first) == _old_prefix(second)
    done = await orchestrator.execute(full_campaign_request(first))
    assert done.status == "COMPLETED", done.error
    before = {o["id"] for o in await live_objects(client)}
    assert len(before) == 16
    rule = "graph_error:code=100,subcode=1885272,method=POST,path=act_*/ads,nth=4"
    sandbox.faults.replace(parse_fault_spec(rule))
    failed = await orchestrator.execute(full_campaign_request(second))
    assert failed.status == "ROLLED_BACK", failed
    assert {o["id"] for o in await live_objects(client)} == before


async def test_a_lost_answer_to_the_rollback_batch_is_verified_not_left_failed(
    orchestrator: Orchestrator, client: httpx2.AsyncClient, sandbox: Sandbox
) -> None:
    """The compensating deletes are applied but their answer is dropped: read back, ROLLED_BACK."""
    rules = [
        {
            "kind": "graph_error",
            "code": 100,
            "subcode": 1885272,
            "method": "POST",
            "path": "act_*/ads",
            "nth": 1,
            "in_batch": True,
        },
        {"kind": "drop_after_commit", "method": "POST", "path": "", "nth": 2},
    ]
    sandbox.faults.replace(parse_fault_spec(json.dumps(rules)))
    response = await orchestrator.execute(full_campaign_request("lost-rollback"))
    assert response.status == "ROLLED_BACK", response.error
    assert await live_objects(client) == []


async def test_adoption_claims_only_an_object_under_its_own_parent(
    orchestrator: Orchestrator, client: httpx2.AsyncClient, sandbox: Sandbox, graph_client: Any
) -> None:
    """A planted ad set carrying our key under another campaign is never adopted as ours."""
    request = full_campaign_request("adopt-1", images=2, adsets=1, ads_per_adset=1)
    key = workflow_key(workflow_prefix(INR_ACCOUNT, "adopt-1"), "adset0")
    with acting_as(LOCAL_OPERATOR):
        planted = await _plant(graph_client, key)
    sandbox.faults.replace(parse_fault_spec("drop_after_commit:method=POST,path=,nth=1"))
    response = await orchestrator.execute(request)
    assert response.status == "COMPLETED", response.error
    assert response.result is not None
    ours = response.result["adsets"][0]["id"]
    assert ours != planted["id"]
    adsets = {o["id"]: o for o in await live_objects(client, ("adset",))}
    assert adsets[ours]["campaign_id"] == response.result["campaign"]["id"]
    assert planted["id"] in adsets  # left alone


async def _plant(graph: Any, key: str) -> dict[str, Any]:
    """An ad set carrying ``key`` under a campaign of its own (someone else's, in effect)."""
    other = await graph.post(
        f"{INR_ACCOUNT}/campaigns",
        {
            "name": "Other",
            "objective": "OUTCOME_TRAFFIC",
            "status": "PAUSED",
            "special_ad_categories": [],
            "is_adset_budget_sharing_enabled": False,
        },
    )
    return await graph.post(
        f"{INR_ACCOUNT}/adsets",
        {
            "name": f"Impostor [ma:{key}]",
            "campaign_id": other["id"],
            "daily_budget": 50_000,
            "billing_event": "IMPRESSIONS",
            "optimization_goal": "LINK_CLICKS",
            "bid_strategy": "LOWEST_COST_WITHOUT_CAP",
            "targeting": {
                "geo_locations": {"countries": ["IN"]},
                "targeting_automation": {"advantage_audience": 0},
            },
            "status": "PAUSED",
        },
    )
