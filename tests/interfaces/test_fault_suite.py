"""A seeded run of 120 launches through the HTTP service under about 9% injected faults.

Transient errors, 5xx from a proxy, throttling, answers dropped after the write committed and
partial batches, on single requests and batches alike, plus a refusal of some ads that makes
their launch roll back (under the same faults); every tenth request_id is sent again.
The sandbox's object listing is the witness: 0 duplicates, 0 orphans, 0 ROLLBACK_FAILED, every
workflow terminal, and no answer of the service at or above 500.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import httpx2
import pytest

from meta_agent.agents.keys import WORKFLOW_CHARS, key_of, workflow_prefix
from meta_agent.sandbox import ManualClock, SandboxConfig, create_app, parse_fault_spec
from tests.conftest import INR_ACCOUNT
from tests.interfaces.test_http_support import open_harness
from tests.orchestrator.conftest import full_campaign_request

LAUNCHES = 120
FAULTS = (
    "transient:p=0.02;http_5xx:p=0.02;rate_limit:p=0.01;"
    "drop_after_commit:method=POST,p=0.02;batch_partial:p=0.02;"
    "graph_error:code=100,subcode=1885272,method=POST,path=act_*/ads,p=0.03"
)
TERMINAL = {"COMPLETED", "ROLLED_BACK"}


@pytest.mark.timeout(300)
async def test_launches_under_mixed_faults_leave_exactly_their_objects(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """120 launches, ~9% faults: each COMPLETED with its objects or ROLLED_BACK with none."""
    # The keys in the names are this suite's witness of exactly-once: keep them.
    monkeypatch.setenv("META_AGENT_NAMING__KEYS", "keep")
    clock = ManualClock()
    app = create_app(SandboxConfig(seed=20261202), clock=clock)
    async with open_harness(app, clock, tmp_path, monkeypatch) as harness:
        app.state.sandbox.faults.replace(parse_fault_spec(FAULTS))
        outcomes: dict[str, dict[str, Any]] = {}
        statuses: Counter[int] = Counter()
        async with harness.client() as http:
            for n in range(LAUNCHES):
                request_id = f"fault-{n // 10 * 10}" if n % 10 == 9 else f"fault-{n}"
                body = full_campaign_request(request_id, images=2, adsets=2, ads_per_adset=1)
                response = await http.post("/v1/requests", json=body)
                statuses[response.status_code] += 1
                if response.status_code == 200:
                    outcome = response.json()
                    if request_id in outcomes and outcome["workflow_id"]:
                        assert outcome["replayed"], outcome
                    outcomes[request_id] = outcome
        app.state.sandbox.faults.replace([])
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://sb") as sandbox:
            listing = await sandbox.get(
                "/_sandbox/objects", params={"kind": "campaign,adset,adcreative,ad", "live": "1"}
            )
        live = listing.json()["data"]
    _check(outcomes, statuses, live)


def _check(
    outcomes: dict[str, dict[str, Any]], statuses: Counter[int], live: list[dict[str, Any]]
) -> None:
    assert not [code for code in statuses if code >= 500], statuses
    final = Counter(outcome["status"] for outcome in outcomes.values())
    print({"answers": dict(statuses), "workflows": dict(final), "live objects": len(live)})  # noqa: T201
    assert set(final) <= TERMINAL, final
    assert final["COMPLETED"] > LAUNCHES // 2, final  # the faults did not simply stop everything
    assert final["ROLLED_BACK"] > 0, final  # and rollbacks ran under them too
    keys = Counter(key_of(str(o["name"])) for o in live)
    assert [k for k, count in keys.items() if count > 1] == [], "duplicates"
    completed = {
        workflow_prefix(INR_ACCOUNT, request_id)
        for request_id, outcome in outcomes.items()
        if outcome["status"] == "COMPLETED"
    }
    orphans = [
        o["id"] for o in live if str(key_of(str(o["name"])))[:WORKFLOW_CHARS] not in completed
    ]
    assert orphans == [], "orphans"
    for outcome in outcomes.values():
        if outcome["status"] == "COMPLETED":
            result = outcome["result"]
            wanted = {result["campaign"]["id"], *(ad["id"] for ad in result["ads"])}
            assert wanted <= {o["id"] for o in live}, outcome["request_id"]
