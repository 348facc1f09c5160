"""Scripted faults: each kind's wire shape, how rules match and fire, the spec and admin API."""

from __future__ import annotations

import re
from typing import Any

import httpx2
import pytest
from starlette.applications import Starlette

from meta_agent.sandbox import (
    FaultRule,
    ManualClock,
    Sandbox,
    SandboxConfig,
    create_app,
    parse_fault_spec,
)
from tests.conftest import INR_ACCOUNT, TOKEN, Graph, LiveServer, error_of

CAMPAIGN: dict[str, str] = {
    "name": "Faulty",
    "objective": "OUTCOME_TRAFFIC",
    "status": "PAUSED",
    "special_ad_categories": "[]",
    "is_adset_budget_sharing_enabled": "false",
}


async def script(client: httpx2.AsyncClient, spec: str) -> list[dict[str, Any]]:
    """Install a fault spec through the admin endpoint and return the rules it lists."""
    response = await client.post("/_sandbox/faults", json={"spec": spec})
    assert response.status_code == 200, response.text
    rules: list[dict[str, Any]] = response.json()["rules"]
    return rules


async def statuses(graph: Graph, path: str, count: int) -> list[int]:
    """HTTP statuses of ``count`` GETs of ``path``."""
    return [(await graph.get(path)).status_code for _ in range(count)]


async def test_transient_is_code_2_http_503(client: httpx2.AsyncClient, graph: Graph) -> None:
    """transient: Meta's 'Service temporarily unavailable', code 2, is_transient, HTTP 503."""
    await script(client, "transient")
    response = await graph.get("me")
    error = error_of(response)
    assert response.status_code == 503
    assert (error["code"], error["is_transient"]) == (2, True)
    assert error["message"] == "Service temporarily unavailable"


async def test_unknown_is_code_1_http_500(client: httpx2.AsyncClient, graph: Graph) -> None:
    """unknown: code 1 subcode 99, HTTP 500."""
    await script(client, "unknown")
    response = await graph.get("me")
    error = error_of(response)
    assert response.status_code == 500
    assert (error["code"], error["error_subcode"]) == (1, 99)


@pytest.mark.parametrize(("spec", "status"), [("http_5xx", 502), ("http_5xx:code=503", 503)])
async def test_http_5xx_is_an_html_page(
    client: httpx2.AsyncClient, graph: Graph, spec: str, status: int
) -> None:
    """http_5xx: a proxy's error page in HTML, not a Graph envelope."""
    await script(client, spec)
    response = await graph.get("me")
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    assert response.text.startswith("<html>")


async def test_timeout_hangs_then_504(
    client: httpx2.AsyncClient, graph: Graph, clock: ManualClock
) -> None:
    """timeout: the server hangs timeout_s (instantly, on a ManualClock), then a 504."""
    await script(client, "timeout:timeout=45")
    before = clock.now()
    response = await graph.get("me")
    assert response.status_code == 504
    assert clock.now() - before == 45


async def test_timeout_does_nothing(
    client: httpx2.AsyncClient, graph: Graph, sandbox: Sandbox
) -> None:
    """A timed-out write was never run: nothing is stored."""
    await script(client, "timeout:method=POST")
    assert (await graph.post(f"{INR_ACCOUNT}/campaigns", **CAMPAIGN)).status_code == 504
    assert list(sandbox.state.of_kind("campaign")) == []


@pytest.mark.parametrize(
    ("spec", "code", "subcode"),
    [
        ("rate_limit", 17, 2446079),
        ("rate_limit:code=17", 17, 2446079),
        ("rate_limit:code=80004", 80004, 2446079),
        ("rate_limit:code=80000", 80000, 2446079),
        ("rate_limit:code=613", 613, 1487742),
        ("rate_limit:code=4", 4, None),
    ],
)
async def test_rate_limit_faults(
    client: httpx2.AsyncClient, graph: Graph, spec: str, code: int, subcode: int | None
) -> None:
    """rate_limit: the limiter's own envelopes, HTTP 400, transient."""
    await script(client, spec)
    response = await graph.get(INR_ACCOUNT)
    error = error_of(response)
    assert response.status_code == 400
    assert (error["code"], error.get("error_subcode"), error["is_transient"]) == (
        code,
        subcode,
        True,
    )


async def test_latency_moves_the_clock(
    client: httpx2.AsyncClient, graph: Graph, clock: ManualClock
) -> None:
    """latency: the answer comes ms later (instantly, on a ManualClock) and is unchanged."""
    await script(client, "latency:ms=250")
    before = clock.now()
    response = await graph.get("me")
    assert response.status_code == 200
    assert clock.now() - before == pytest.approx(0.25)


async def test_latency_composes_with_other_faults(
    client: httpx2.AsyncClient, graph: Graph, clock: ManualClock
) -> None:
    """A latency rule delays every request while a later rule still counts and fires."""
    await script(client, "latency:ms=100;transient:nth=2")
    before = clock.now()
    assert await statuses(graph, "me", 3) == [200, 503, 200]
    assert clock.now() - before == pytest.approx(0.3)


async def test_first_firing_rule_wins_but_later_rules_keep_counting(
    client: httpx2.AsyncClient, graph: Graph
) -> None:
    """transient:nth=1;unknown:nth=2 fails request 1 with 503 and request 2 with 500."""
    await script(client, "transient:nth=1;unknown:nth=2")
    assert await statuses(graph, "me", 3) == [503, 500, 200]


async def test_drop_after_commit_in_process(
    client: httpx2.AsyncClient, graph: Graph, sandbox: Sandbox
) -> None:
    """drop_after_commit: the ASGI app breaks off (ConnectionResetError) after storing the write."""
    await script(client, "drop_after_commit:method=POST,path=act_*/campaigns")
    with pytest.raises(ConnectionResetError):
        await graph.post(f"{INR_ACCOUNT}/campaigns", **CAMPAIGN)
    assert [c["name"] for c in sandbox.state.of_kind("campaign")] == ["Faulty"]


async def test_drop_after_commit_over_a_socket(live: LiveServer) -> None:
    """Over loopback the client sees a transport error, yet the campaign exists afterwards."""
    async with httpx2.AsyncClient(base_url=live.url) as client:
        await script(client, "drop_after_commit:method=POST,path=act_*/campaigns")
        with pytest.raises(httpx2.TransportError):
            await client.post(
                f"/v25.0/{INR_ACCOUNT}/campaigns", params={"access_token": TOKEN}, data=CAMPAIGN
            )
        listed = (await client.get("/_sandbox/objects", params={"kind": "campaign"})).json()
        assert [c["name"] for c in listed["data"]] == ["Faulty"]
        again = await client.get(
            f"/v25.0/{INR_ACCOUNT}/campaigns", params={"access_token": TOKEN, "fields": "name"}
        )
        assert [c["name"] for c in again.json()["data"]] == ["Faulty"]


async def test_nth_fires_once_on_the_nth_match(client: httpx2.AsyncClient, graph: Graph) -> None:
    """nth=2: only the second matching request fails."""
    await script(client, "transient:nth=2")
    assert await statuses(graph, "me", 4) == [200, 503, 200, 200]


async def test_times_caps_how_often_a_rule_fires(client: httpx2.AsyncClient, graph: Graph) -> None:
    """times=2: the first two matches fail, then the rule is spent."""
    await script(client, "transient:times=2")
    assert await statuses(graph, "me", 4) == [503, 503, 200, 200]


async def _pattern(seed: int) -> list[int]:
    app = create_app(SandboxConfig(seed=seed), clock=ManualClock(), faults="transient:p=0.5")
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://sandbox.test") as client:
        return await statuses(Graph(client), "me", 24)


async def test_probability_is_seeded_and_repeatable() -> None:
    """p=0.5 with the same seed fails the same requests every run; another seed differs."""
    first, second, other = await _pattern(7), await _pattern(7), await _pattern(8)
    assert first == second
    assert {200, 503} == set(first)
    assert first != other


async def test_method_and_path_glob_select_requests(
    client: httpx2.AsyncClient, graph: Graph
) -> None:
    """method=POST,path=act_*/campaigns hits campaign creates in any account, nothing else."""
    await script(client, "transient:method=post,path=act_*/campaigns")
    assert (await graph.get(f"{INR_ACCOUNT}/campaigns")).status_code == 200
    assert (await graph.get("me")).status_code == 200
    for account in (INR_ACCOUNT, "act_9876543210"):
        assert (await graph.post(f"{account}/campaigns", **CAMPAIGN)).status_code == 503


async def test_batch_partial_never_fires_outside_a_batch(
    client: httpx2.AsyncClient, graph: Graph
) -> None:
    """batch_partial only concerns batch items; a plain call is untouched."""
    await script(client, "batch_partial")
    assert (await graph.get("me")).status_code == 200


async def test_in_batch_false_spares_batch_items(client: httpx2.AsyncClient) -> None:
    """in_batch=false limits a rule to standalone calls."""
    await script(client, "transient:path=me,in_batch=false")
    response = await client.post(
        "/v25.0/",
        params={"access_token": TOKEN},
        data={"batch": '[{"method":"GET","relative_url":"me"}]'},
    )
    assert response.json()[0]["code"] == 200


async def test_faults_given_at_start_up() -> None:
    """create_app(faults=spec) installs the rules from the start."""
    app: Starlette = create_app(clock=ManualClock(), faults="unknown:path=me")
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://sandbox.test") as client:
        assert (await Graph(client).get("me")).status_code == 500


class TestSpecParser:
    """The compact and JSON spec forms, and what they say when wrong."""

    def test_compact_form(self) -> None:
        """Rules split on ';', options on ',', with p/ms/timeout aliases."""
        rules = parse_fault_spec(
            "transient:p=0.1; drop_after_commit:method=POST,path=act_*/ads,nth=2;latency:ms=200"
        )
        assert rules == [
            FaultRule(kind="transient", probability=0.1),
            FaultRule(kind="drop_after_commit", method="POST", path="act_*/ads", nth=2),
            FaultRule(kind="latency", latency_ms=200),
        ]

    def test_json_form(self) -> None:
        """A JSON list of rule objects is accepted."""
        rules = parse_fault_spec('[{"kind": "timeout", "timeout_s": 5, "times": 1}]')
        assert rules == [FaultRule(kind="timeout", timeout_s=5, times=1)]

    def test_empty_spec_is_no_rules(self) -> None:
        """An empty spec clears the script."""
        assert parse_fault_spec("  ") == []

    @pytest.mark.parametrize(
        ("spec", "says"),
        [
            ("explode", "unknown fault kind 'explode'"),
            ("transient:p", "needs the form key=value"),
            ("transient:colour=red", "unknown option 'colour'"),
            ("transient:p=2", "probability"),
            ("transient:nth=0", "nth"),
            ("rate_limit:code=99", "rate_limit code must be one of"),
            ("http_5xx:code=404", "500 to 599"),
            ("transient:code=17", "code applies only to rate_limit, http_5xx and graph_error"),
            ("[{nope", "not valid JSON"),
            ('[{"kind": "transient", "extra": 1}]', "unknown option 'extra'"),
            ('["transient"]', "invalid fault rule"),
        ],
    )
    def test_errors_name_the_problem(self, spec: str, says: str) -> None:
        """Each mistake gets a one-line message saying what is wrong."""
        with pytest.raises(ValueError, match=re.escape(says)) as caught:
            parse_fault_spec(spec)
        assert "\n" not in str(caught.value)

    def test_unknown_kind_lists_the_kinds(self) -> None:
        """The message for a wrong kind lists every valid one."""
        with pytest.raises(ValueError, match="batch_partial"):
            parse_fault_spec("oops:p=1")


class TestAdminEndpoint:
    """/_sandbox/faults: install, list with counters, clear."""

    async def test_counters_after_requests(self, client: httpx2.AsyncClient, graph: Graph) -> None:
        """GET lists each rule with how often it matched and fired."""
        await script(client, "transient:path=me,nth=2")
        await statuses(graph, "me", 3)
        await graph.get(INR_ACCOUNT)
        rules = (await client.get("/_sandbox/faults")).json()["rules"]
        assert [(r["kind"], r["path"], r["matched"], r["fired"]) for r in rules] == [
            ("transient", "me", 3, 1)
        ]

    async def test_json_rules_and_delete(self, client: httpx2.AsyncClient, graph: Graph) -> None:
        """POST a JSON list installs it; DELETE clears the script."""
        response = await client.post("/_sandbox/faults", json=[{"kind": "unknown"}])
        assert response.json()["rules"][0]["kind"] == "unknown"
        assert (await graph.get("me")).status_code == 500
        assert (await client.delete("/_sandbox/faults")).json() == {"rules": []}
        assert (await graph.get("me")).status_code == 200

    async def test_posting_again_replaces_and_resets_counters(
        self, client: httpx2.AsyncClient, graph: Graph
    ) -> None:
        """A new script replaces the old one, with fresh counters."""
        await script(client, "transient:nth=1")
        assert (await graph.get("me")).status_code == 503
        rules = await script(client, "transient:nth=1")
        assert (rules[0]["matched"], rules[0]["fired"]) == (0, 0)
        assert (await graph.get("me")).status_code == 503

    @pytest.mark.parametrize(
        "body",
        [{"spec": "explode"}, {"rules": []}, [{"kind": "nope"}]],
    )
    async def test_bad_scripts_are_400(self, client: httpx2.AsyncClient, body: Any) -> None:
        """A script the sandbox cannot read is a 400 naming the problem; the old one stays."""
        await script(client, "transient:path=me")
        response = await client.post("/_sandbox/faults", json=body)
        assert response.status_code == 400
        assert response.json()["error"]["type"] == "SandboxAdminError"
        assert len((await client.get("/_sandbox/faults")).json()["rules"]) == 1

    async def test_malformed_json_body_is_400(self, client: httpx2.AsyncClient) -> None:
        """A body that is not JSON is a 400 too."""
        response = await client.post("/_sandbox/faults", content=b"{nope")
        assert response.status_code == 400
