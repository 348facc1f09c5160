"""Batches: encoding, chunking, references, partial failures and re-sending against the sandbox."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from typing import Any

import pytest
from pydantic import SecretStr
from starlette.applications import Starlette

from meta_agent import errors
from meta_agent.graph.batch import (
    BatchBuilder,
    BatchItem,
    form_body,
    item_result,
    plan_chunks,
    ref,
    select,
    substitute,
    wire_item,
)
from meta_agent.graph.client import GraphClient
from meta_agent.graph.guard import UNGUARDED, Write
from meta_agent.graph.requestor import Requestor
from meta_agent.graph.settings import GraphSettings
from meta_agent.interfaces.walkthrough import solid_png
from meta_agent.sandbox import Sandbox, parse_fault_spec
from meta_agent.sandbox.timeline import RequestTimeline
from tests.conftest import INR_ACCOUNT, PAGE_ID, TOKEN, LiveServer

CAMPAIGN = {
    "name": "Batch test",
    "objective": "OUTCOME_TRAFFIC",
    "special_ad_categories": [],
    "status": "PAUSED",
    "is_adset_budget_sharing_enabled": False,
}
AD_SET = {
    "billing_event": "IMPRESSIONS",
    "optimization_goal": "LINK_CLICKS",
    "daily_budget": 50000,
    "targeting": {
        "geo_locations": {"countries": ["IN"]},
        "targeting_automation": {"advantage_audience": 0},
    },
    "status": "PAUSED",
}


def _item(index: int, name: str | None = None, *needs: str) -> BatchItem:
    return BatchItem(index, "GET", "me", {}, name, tuple(needs))


def _kinds(sandbox: Sandbox, kind: str) -> list[dict[str, Any]]:
    return list(sandbox.state.of_kind(kind))


# --- pure parts ---------------------------------------------------------------------------


def test_ref_builds_the_reference_string() -> None:
    """ref() writes Meta's {result=name:$.path} syntax, $.id by default."""
    assert ref("campaign") == "{result=campaign:$.id}"
    assert ref("img", "$.images.*.hash") == "{result=img:$.images.*.hash}"


def test_body_is_form_encoded_with_nested_values_as_json(requestor: Requestor) -> None:
    """A body is key=quoted-value joined by &, nested values JSON, references left readable."""
    builder = BatchBuilder(requestor)
    builder.add("POST", "act_1/campaigns", {"name": "A & B", "special_ad_categories": []}, name="c")
    builder.add("POST", "act_1/ads", {"creative": {"creative_id": ref("c")}, "on": True})
    assert form_body(builder.items[0].params) == "name=A%20%26%20B&special_ad_categories=%5B%5D"
    assert form_body(builder.items[1].params) == (
        "creative=%7B%22creative_id%22%3A%22{result=c:$.id}%22%7D&on=true"
    )
    assert builder.items[1].depends_on == ("c",)


def test_wire_item_names_items_and_asks_for_their_answers() -> None:
    """A named item sets omit_response_on_success=false; a GET carries params in its URL."""
    read = BatchItem(0, "GET", "me", {"fields": "id,name"}, "me")
    entry = wire_item(read, {"me"}, [])
    assert entry == {
        "method": "GET",
        "relative_url": "me?fields=id%2Cname",
        "name": "me",
        "omit_response_on_success": False,
    }
    write = BatchItem(1, "POST", "act_1/adimages", {}, None, ("me",), ("me",))
    assert wire_item(write, {"me"}, ["file1_0"]) == {
        "method": "POST",
        "relative_url": "act_1/adimages",
        "depends_on": "me",
        "attached_files": "file1_0",
    }
    assert "depends_on" not in wire_item(write, set(), [])  # answered earlier: substituted


def test_select_reads_the_jsonpath_subset() -> None:
    """$.key, [n], .* and [*] reach what batch references need; substitution joins with commas."""
    body = {
        "id": "7",
        "images": {"a.png": {"hash": "h1"}, "b.png": {"hash": "h2"}},
        "data": [{"id": 1}],
    }
    assert select(body, "$.id") == ["7"]
    assert select(body, "$.images.*.hash") == ["h1", "h2"]
    assert select(body, "$.data[0].id") == [1]
    assert select(body, "$.data[*].id") == [1]
    assert substitute("ids={result=u:$.images.*.hash}&x={result=other:$.id}", {"u": body}) == (
        "ids=h1,h2&x={result=other:$.id}"
    )
    with pytest.raises(errors.RequestValidationError):
        substitute("{result=u:$.missing}", {"u": body})
    with pytest.raises(errors.RequestValidationError):
        select(body, "id")


def test_120_independent_items_split_into_chunks_of_50() -> None:
    """Independent items fill chunks of 50, in the order added."""
    chunks = plan_chunks([_item(i) for i in range(120)])
    assert [len(chunk) for chunk in chunks] == [50, 50, 20]
    assert [item.index for item in chunks[0]] == list(range(50))


def test_chains_stay_inside_one_chunk() -> None:
    """A dependency chain is never split across chunks of one round."""
    items = [_item(i) for i in range(45)]
    items += [_item(45, "root"), *(_item(46 + i, f"child{i}", "root") for i in range(9))]
    chunks = plan_chunks(items)
    chain = next(chunk for chunk in chunks if any(item.name == "root" for item in chunk))
    assert {item.name for item in chain} >= {"root", *(f"child{i}" for i in range(9))}
    assert all(len(chunk) <= 50 for chunk in chunks)


def test_a_chain_longer_than_a_chunk_sends_its_head_first() -> None:
    """A group of 60 sends its first 50 (dependencies included) and leaves the rest for later."""
    items = [_item(0, "root"), *(_item(i, f"c{i}", "root") for i in range(1, 60))]
    chunks = plan_chunks(items)
    assert [[item.index for item in chunk] for chunk in chunks] == [list(range(50))]


def test_builder_rejects_unknown_dependencies_and_duplicate_names(requestor: Requestor) -> None:
    """Misuse is caught when an item is added, before anything is sent."""
    batch = BatchBuilder(requestor)
    batch.get("me", name="me")
    with pytest.raises(errors.RequestValidationError):
        batch.get("me", name="me")
    with pytest.raises(errors.RequestValidationError):
        batch.post("act_1/adsets", {"campaign_id": ref("nope")})
    with pytest.raises(errors.RequestValidationError):
        batch.get("me", name="bad:name")
    with pytest.raises(errors.RequestValidationError):
        batch.add("GET", "me", files={"f": ("a.png", b"x", "image/png")})


def test_item_errors_go_through_the_error_table() -> None:
    """A slot's error body becomes the same exception a standalone call raises."""
    body = {
        "error": {"message": "bad", "code": 100, "error_data": {"blame_field_specs": [["name"]]}}
    }
    result = item_result(400, body)
    assert isinstance(result.error, errors.InvalidParameterError)
    assert result.error.blame_fields == [["name"]]
    assert isinstance(item_result(400, {"error": {"code": 17}}).error, errors.RateLimitedError)
    assert item_result(200, {"id": "1"}).ok


# --- against the sandbox ------------------------------------------------------------------


async def test_120_reads_take_three_requests(requestor: Requestor, sandbox: Sandbox) -> None:
    """120 reads go out as three batch requests of at most 50, in one round."""
    batch = BatchBuilder(requestor)
    for _ in range(120):
        batch.get("me", {"fields": "id"})
    results = await batch.execute()
    assert all(result.body == {"id": "100000000000001"} for result in results.values())
    assert (results.calls, results.rounds) == (3, 1)
    assert sandbox.counters.by_route["POST /"] == 3


async def test_references_resolve_across_chunks(requestor: Requestor, sandbox: Sandbox) -> None:
    """60 ad sets under one campaign: the tail, sent in a later chunk, gets the real id."""
    batch = BatchBuilder(requestor)
    batch.post(f"{INR_ACCOUNT}/campaigns", CAMPAIGN, name="campaign")
    for index in range(60):
        spec = {**AD_SET, "name": f"as{index}", "campaign_id": ref("campaign")}
        batch.post(f"{INR_ACCOUNT}/adsets", spec, name=f"as{index}")
    results = await batch.execute()
    campaign_id = results["campaign"].unwrap()["id"]
    assert not results.errors()
    assert results.rounds == 2
    adsets = _kinds(sandbox, "adset")
    assert len(adsets) == 60
    assert {adset["campaign_id"] for adset in adsets} == {campaign_id}


async def test_one_invalid_item_does_not_fail_the_others(
    requestor: Requestor, sandbox: Sandbox
) -> None:
    """A partial failure: the invalid item carries Meta's error, the valid ones succeed."""
    batch = BatchBuilder(requestor)
    good = [
        batch.post(f"{INR_ACCOUNT}/campaigns", {**CAMPAIGN, "name": f"ok{i}"}) for i in range(3)
    ]
    bad = batch.post(f"{INR_ACCOUNT}/campaigns", {**CAMPAIGN, "objective": "NOPE"})
    results = await batch.execute()
    assert all(results[key].ok for key in good)
    error = results[bad].error
    assert isinstance(error, errors.InvalidParameterError)
    assert error.blame_fields == [["objective"]]
    assert len(_kinds(sandbox, "campaign")) == 3


async def test_only_the_unanswered_item_is_sent_again(
    requestor: Requestor, sandbox: Sandbox
) -> None:
    """batch_partial leaves one slot null; only that item is re-sent, nothing is duplicated."""
    sandbox.faults.replace(parse_fault_spec("batch_partial:nth=3"))
    batch = BatchBuilder(requestor)
    keys = [batch.post(f"{INR_ACCOUNT}/campaigns", {**CAMPAIGN, "name": f"c{i}"}) for i in range(5)]
    results = await batch.execute()
    assert all(results[key].ok for key in keys)
    assert sandbox.faults.fired == [1]
    assert sandbox.counters.by_route["POST /"] == 2
    assert sandbox.counters.by_route["POST {adaccount}/campaigns"] == 5  # each ran exactly once
    assert sorted(c["name"] for c in _kinds(sandbox, "campaign")) == [f"c{i}" for i in range(5)]


async def test_unanswered_dependency_is_resent_with_its_dependent(
    requestor: Requestor, sandbox: Sandbox
) -> None:
    """A null dependency leaves its dependent null too; both are re-sent and linked correctly."""
    sandbox.faults.replace(parse_fault_spec("batch_partial:nth=1"))
    batch = BatchBuilder(requestor)
    batch.post(f"{INR_ACCOUNT}/campaigns", CAMPAIGN, name="campaign")
    batch.post(
        f"{INR_ACCOUNT}/adsets", {**AD_SET, "name": "a", "campaign_id": ref("campaign")}, name="a"
    )
    results = await batch.execute()
    assert results["a"].ok
    assert _kinds(sandbox, "adset")[0]["campaign_id"] == results["campaign"].body["id"]
    assert results.rounds == 2


async def test_item_that_never_gets_an_answer_gives_up(
    requestor: Requestor, sandbox: Sandbox
) -> None:
    """An item left null on every attempt surfaces a TransientError after max_attempts."""
    sandbox.faults.replace(parse_fault_spec("batch_partial:path=me"))
    batch = BatchBuilder(requestor, max_attempts=3)
    batch.get("me")
    batch.get(INR_ACCOUNT, {"fields": "id"})
    results = await batch.execute()
    assert isinstance(results[0].error, errors.TransientError)
    assert results[1].ok
    assert sandbox.faults.fired == [3]


async def test_failed_dependency_is_its_own_error(requestor: Requestor, sandbox: Sandbox) -> None:
    """Dependents of a failed item get DependencyFailedError naming it, in and across chunks."""
    batch = BatchBuilder(requestor, max_size=2)
    batch.post(f"{INR_ACCOUNT}/campaigns", {**CAMPAIGN, "objective": "NOPE"}, name="campaign")
    for name in ("a", "b"):
        batch.post(
            f"{INR_ACCOUNT}/adsets",
            {**AD_SET, "name": name, "campaign_id": ref("campaign")},
            name=name,
        )
    other = batch.get("me")
    results = await batch.execute()
    assert isinstance(results["campaign"].error, errors.InvalidParameterError)
    codes = []
    for name in ("a", "b"):
        error = results[name].error
        assert isinstance(error, errors.DependencyFailedError)
        assert error.details["dependency"] == "campaign"
        assert error.details["dependency_error"]["kind"] == "invalid_parameter"
        codes.append(error.code)
    assert codes == [960, None]  # "a" went alongside and Meta aborted it; "b" was never sent
    assert results[other].ok
    assert _kinds(sandbox, "adset") == []


async def test_images_upload_as_attached_files(requestor: Requestor) -> None:
    """Files attached to items travel as multipart parts of the batch call."""
    batch = BatchBuilder(requestor)
    pngs = [solid_png(8, 8, (i * 40, 10, 200)) for i in range(3)]
    keys = [
        batch.post(f"{INR_ACCOUNT}/adimages", files={"file": (f"i{i}.png", png, "image/png")})
        for i, png in enumerate(pngs)
    ]
    results = await batch.execute()
    hashes = [next(iter(results[key].unwrap()["images"].values()))["hash"] for key in keys]
    assert hashes == [hashlib.md5(png, usedforsecurity=False).hexdigest() for png in pngs]
    assert results.calls == 1


async def test_image_hash_reference_feeds_a_creative(
    requestor: Requestor, sandbox: Sandbox
) -> None:
    """{result=img:$.images.*.hash} carries an uploaded image's hash into a creative."""
    batch = BatchBuilder(requestor)
    png = solid_png(8, 8, (1, 2, 3))
    batch.post(f"{INR_ACCOUNT}/adimages", name="img", files={"f": ("x.png", png, "image/png")})
    spec = {
        "name": "cr",
        "object_story_spec": {
            "page_id": PAGE_ID,
            "link_data": {
                "link": "https://example.com",
                "message": "hi",
                "image_hash": ref("img", "$.images.*.hash"),
            },
        },
    }
    creative = batch.post(f"{INR_ACCOUNT}/adcreatives", spec)
    results = await batch.execute()
    assert results[creative].ok, results[creative].error
    stored = _kinds(sandbox, "adcreative")[0]
    assert hashlib.md5(png, usedforsecurity=False).hexdigest() in str(stored)


async def test_item_usage_headers_feed_the_pacer(requestor: Requestor) -> None:
    """Each item's usage headers reach the pacer under the item's ad account."""
    batch = BatchBuilder(requestor)
    for index in range(5):
        batch.post(f"{INR_ACCOUNT}/campaigns", {**CAMPAIGN, "name": f"c{index}"})
    await batch.execute()
    meter = requestor.pacer.meter("1234567890")
    assert meter.usage.account_pct > 0
    assert meter.tier is not None


async def test_lost_batch_answer_makes_writes_unknown_and_resends_reads(
    requestor: Requestor, sandbox: Sandbox
) -> None:
    """A batch whose answer is lost: its writes are outcome-unknown, its reads are re-sent."""
    sandbox.faults.replace(parse_fault_spec("drop_after_commit:method=POST,path=,nth=1"))
    batch = BatchBuilder(requestor)
    write = batch.post(f"{INR_ACCOUNT}/campaigns", CAMPAIGN)
    read = batch.get("me")
    results = await batch.execute()
    error = results[write].error
    assert isinstance(error, errors.OutcomeUnknownError)
    assert error.details["batch_item"] == write
    assert results[read].ok
    assert len(_kinds(sandbox, "campaign")) == 1  # committed once, never re-sent


async def test_batch_over_loopback(live: LiveServer, live_app: Starlette) -> None:
    """Over a real socket: an attached image and a campaign with a dependent ad set."""
    settings = GraphSettings(access_token=SecretStr(TOKEN), base_url=live.url, version="v25.0")
    async with GraphClient(settings, guard=UNGUARDED) as graph:
        batch = BatchBuilder(graph.requestor)
        png = solid_png(4, 4, (9, 9, 9))
        image = batch.post(f"{INR_ACCOUNT}/adimages", files={"f": ("a.png", png, "image/png")})
        batch.post(f"{INR_ACCOUNT}/campaigns", CAMPAIGN, name="campaign")
        batch.post(f"{INR_ACCOUNT}/adsets", {**AD_SET, "name": "a", "campaign_id": ref("campaign")})
        results = await batch.execute()
    assert not results.errors()
    assert results[image].ok
    assert live_app.state.sandbox.counters.by_route["POST /"] == 1


class _SlowGuard:
    """A write guard whose every admission holds the loop 30 ms (as judging 50 writes can)."""

    def __init__(self) -> None:
        self.admitted = 0
        self.refuse_from: int | None = None

    async def admit(self, writes: Sequence[Write]) -> None:
        time.sleep(0.03)  # noqa: ASYNC251 - CPU-bound work: nothing else on the loop runs
        self.admitted += 1
        if self.refuse_from is not None and self.admitted >= self.refuse_from:
            raise errors.PolicyViolationError("refused by the test guard")

    async def settled(self, writes: Sequence[Write], body: Any) -> None:
        """Nothing to remember."""


async def test_a_rounds_chunks_are_all_admitted_before_any_is_sent(live_app: Starlette) -> None:
    """Three chunks of campaigns behind a guard that holds the loop: one round trip, not three
    (were each chunk sent as soon as it was admitted, the next admission would outlast it)."""
    timeline = RequestTimeline(live_app, hold_s=0.05)
    with LiveServer(timeline) as live:  # type: ignore[arg-type]
        settings = GraphSettings(access_token=SecretStr(TOKEN), base_url=live.url, version="v25.0")
        async with GraphClient(settings, guard=_SlowGuard()) as graph:
            await graph.get(INR_ACCOUNT, {"fields": "currency"})  # names the tier to the pacer
            timeline.reset()
            batch = BatchBuilder(graph.requestor, concurrency=8)
            for n in range(120):
                batch.post(f"{INR_ACCOUNT}/campaigns", {**CAMPAIGN, "name": f"c{n}"})
            results = await batch.execute()
    assert not results.errors()
    assert (timeline.requests, timeline.round_trips()) == (3, 1)


async def test_a_refused_chunk_stops_the_round_after_the_admitted_ones_go(
    requestor: Requestor, sandbox: Sandbox
) -> None:
    """The guard refuses the third chunk: the two admitted before it are sent (their writes were
    let through), the refusal is raised, and nothing of the third chunk exists."""
    guard = _SlowGuard()
    guard.refuse_from = 3
    requestor.guard = guard
    batch = BatchBuilder(requestor)
    for n in range(120):
        batch.post(f"{INR_ACCOUNT}/campaigns", {**CAMPAIGN, "name": f"c{n}"})
    with pytest.raises(errors.PolicyViolationError):
        await batch.execute()
    assert len(_kinds(sandbox, "campaign")) == 100
