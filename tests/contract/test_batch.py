"""The Batch API (§8): items, references, dependencies, omitted slots, headers and limits."""

from __future__ import annotations

import json
import struct
import zlib
from typing import Any
from urllib.parse import quote, urlencode

import httpx2
import pytest

from meta_agent.sandbox import FaultRule, Sandbox, SandboxConfig
from tests.conftest import INR_ACCOUNT, TOKEN, USD_ACCOUNT, error_of

CAMPAIGN: dict[str, str] = {
    "name": "Batch campaign",
    "objective": "OUTCOME_TRAFFIC",
    "status": "PAUSED",
    "special_ad_categories": "[]",
    "is_adset_budget_sharing_enabled": "false",
}


def create_item(name: str | None = None, **overrides: str) -> dict[str, Any]:
    """A batch item creating a valid campaign in the INR account."""
    item: dict[str, Any] = {
        "method": "POST",
        "relative_url": f"{INR_ACCOUNT}/campaigns",
        "body": urlencode({**CAMPAIGN, **overrides}),
    }
    if name is not None:
        item["name"] = name
    return item


def get_item(relative_url: str, **extra: Any) -> dict[str, Any]:
    """A GET batch item."""
    return {"method": "GET", "relative_url": relative_url, **extra}


async def run_batch(
    client: httpx2.AsyncClient, items: list[dict[str, Any]], files: Any = None, **form: str
) -> list[Any]:
    """POST the batch the way the official SDK does and return the decoded slots."""
    response = await client.post(
        "/v25.0/",
        params={"access_token": TOKEN},
        data={"batch": json.dumps(items), **form},
        files=files,
    )
    assert response.status_code == 200, response.text
    slots: list[Any] = response.json()
    assert len(slots) == len(items)
    return slots


def body_of(slot: dict[str, Any]) -> Any:
    """A slot's body, which Meta sends as a JSON string."""
    assert isinstance(slot["body"], str)
    return json.loads(slot["body"])


def headers_of(slot: dict[str, Any]) -> dict[str, str]:
    """A slot's header list as a dict."""
    return {header["name"]: header["value"] for header in slot["headers"]}


async def test_create_then_read_by_reference(client: httpx2.AsyncClient) -> None:
    """A named create is omitted on success and a later item reads it via {result=c:$.id}."""
    slots = await run_batch(
        client, [create_item("c"), get_item("{result=c:$.id}?fields=name,objective")]
    )
    assert slots[0] is None
    assert slots[1]["code"] == 200
    assert body_of(slots[1])["name"] == "Batch campaign"
    assert body_of(slots[1])["objective"] == "OUTCOME_TRAFFIC"


async def test_omit_response_on_success_false_shows_the_slot(client: httpx2.AsyncClient) -> None:
    """omit_response_on_success=false keeps a named item's slot; unnamed items always show."""
    shown = {**create_item("c"), "omit_response_on_success": False}
    slots = await run_batch(client, [shown, create_item()])
    assert body_of(slots[0]).keys() == {"id"}
    assert body_of(slots[1]).keys() == {"id"}
    assert body_of(slots[0])["id"] != body_of(slots[1])["id"]


async def test_named_item_that_fails_is_never_omitted(client: httpx2.AsyncClient) -> None:
    """Omission applies on success only: a named item's error is always returned."""
    slots = await run_batch(client, [create_item("c", objective="NOPE")])
    assert slots[0]["code"] == 400
    assert body_of(slots[0])["error"]["code"] == 100


async def test_depends_on_chain_runs_in_order(client: httpx2.AsyncClient) -> None:
    """create → rename (depends_on) → read (depends_on) sees the rename."""
    rename = {
        "method": "POST",
        "relative_url": "{result=first:$.id}",
        "body": "name=Renamed",
        "name": "second",
        "depends_on": "first",
    }
    read = get_item("{result=first:$.id}?fields=name", depends_on="second")
    slots = await run_batch(client, [create_item("first"), rename, read])
    assert slots[:2] == [None, None]
    assert body_of(slots[2])["name"] == "Renamed"


async def test_failed_dependency_aborts_dependents_with_960(client: httpx2.AsyncClient) -> None:
    """Items depending on (or referencing) a failed item are not run: code 960 in their slot."""
    slots = await run_batch(
        client,
        [
            create_item("bad", objective="NOPE"),
            get_item("me", depends_on="bad"),
            get_item("{result=bad:$.id}"),
            get_item("me", name="later", omit_response_on_success=False),
        ],
    )
    assert body_of(slots[0])["error"]["code"] == 100
    for slot in slots[1:3]:
        assert slot["code"] == 400
        assert body_of(slot)["error"]["code"] == 960
        assert "Request aborted" in body_of(slot)["error"]["message"]
    assert slots[3]["code"] == 200


async def test_abort_propagates_down_a_chain(client: httpx2.AsyncClient) -> None:
    """A dependent of an aborted item is aborted too."""
    slots = await run_batch(
        client,
        [
            create_item("a", objective="NOPE"),
            get_item("me", name="b", depends_on="a"),
            get_item("me", depends_on="b"),
        ],
    )
    assert [body_of(slot)["error"]["code"] for slot in slots] == [100, 960, 960]


async def test_unknown_dependency_fails_only_that_item(client: httpx2.AsyncClient) -> None:
    """depends_on naming no earlier item is a code 100 error in that slot; the batch goes on."""
    slots = await run_batch(client, [get_item("me", depends_on="ghost"), get_item("me")])
    error = body_of(slots[0])["error"]
    assert (error["code"], slots[0]["code"]) == (100, 400)
    assert "ghost" in error["message"]
    assert slots[1]["code"] == 200


async def test_reference_that_matches_nothing_is_an_item_error(client: httpx2.AsyncClient) -> None:
    """{result=c:$.nothing} fails the item with 100 naming the reference."""
    slots = await run_batch(client, [create_item("c"), get_item("{result=c:$.nothing}")])
    error = body_of(slots[1])["error"]
    assert error["code"] == 100
    assert "{result=c:$.nothing}" in error["message"]


async def test_unparseable_jsonpath_is_an_item_error(client: httpx2.AsyncClient) -> None:
    """A reference whose path does not start at $ is refused with 100."""
    slots = await run_batch(client, [create_item("c"), get_item("{result=c:id}")])
    error = body_of(slots[1])["error"]
    assert error["code"] == 100
    assert "JSONPath" in error["message"]


async def test_wildcard_reference_joins_matches_with_commas(client: httpx2.AsyncClient) -> None:
    """$.data.*.id expands to every id, comma-joined, usable as ?ids=."""
    slots = await run_batch(
        client,
        [
            {**create_item("one"), "omit_response_on_success": "false"},
            create_item(),
            get_item(f"{INR_ACCOUNT}/campaigns?fields=id", name="list"),
            get_item("?ids={result=list:$.data.*.id}&fields=name"),
        ],
    )
    created = {body_of(slots[0])["id"], body_of(slots[1])["id"]}
    assert slots[2] is None
    assert set(body_of(slots[3])) == created


async def test_index_reference(client: httpx2.AsyncClient) -> None:
    """$.data[0].id picks one element of a listing."""
    slots = await run_batch(
        client,
        [
            create_item(),
            get_item(f"{INR_ACCOUNT}/campaigns?fields=id", name="list"),
            get_item("{result=list:$.data[0].id}?fields=name"),
        ],
    )
    assert body_of(slots[2]) == {"name": "Batch campaign", "id": body_of(slots[0])["id"]}


async def test_percent_encoded_reference_in_body(client: httpx2.AsyncClient) -> None:
    """A reference the SDK percent-encoded (%7Bresult%3D...%7D) is substituted too."""
    reference = quote("{result=c:$.id}")
    assert reference.startswith("%7Bresult%3Dc%3A")
    rename = {"method": "POST", "relative_url": reference, "body": f"name=Via%20{reference}"}
    slots = await run_batch(
        client, [create_item("c"), rename, get_item(f"{reference}?fields=name")]
    )
    assert body_of(slots[1]) == {"success": True}
    name = body_of(slots[2])["name"]
    assert name == f"Via {body_of(slots[2])['id']}"


async def test_item_body_is_form_encoded_with_json_values(
    client: httpx2.AsyncClient, sandbox: Sandbox
) -> None:
    """A body such as special_ad_categories=%5B%22HOUSING%22%5D decodes to JSON values."""
    item = create_item(special_ad_categories='["HOUSING"]')
    assert "special_ad_categories=%5B%22HOUSING%22%5D" in item["body"]
    slots = await run_batch(client, [item])
    record = sandbox.state.get(body_of(slots[0])["id"])
    assert record["special_ad_categories"] == ["HOUSING"]


@pytest.mark.parametrize(
    ("relative_url", "served"),
    [
        ("me?fields=id", "v25.0"),
        ("/me?fields=id", "v25.0"),
        ("v26.0/me?fields=id", "v26.0"),
        ("/v26.0/me", "v26.0"),
    ],
)
async def test_relative_url_with_and_without_version(
    client: httpx2.AsyncClient, relative_url: str, served: str
) -> None:
    """Items without a vX.Y/ prefix use the outer version; a leading slash is optional."""
    slots = await run_batch(client, [get_item(relative_url)])
    assert slots[0]["code"] == 200
    assert body_of(slots[0])["id"] == "100000000000001"
    assert headers_of(slots[0])["facebook-api-version"] == served


async def test_per_item_headers_carry_usage(client: httpx2.AsyncClient) -> None:
    """By default each slot has Content-Type and the usage headers of its account."""
    slots = await run_batch(client, [get_item(f"{INR_ACCOUNT}?fields=name")])
    headers = headers_of(slots[0])
    assert headers["Content-Type"].startswith("text/javascript")
    usage = json.loads(headers["X-Business-Use-Case-Usage"])
    assert usage["1234567890"][0]["type"] == "ads_management"
    assert "acc_id_util_pct" in json.loads(headers["X-Ad-Account-Usage"])
    assert "ETag" in headers


async def test_include_headers_false_drops_them(client: httpx2.AsyncClient) -> None:
    """include_headers=false leaves slots with code and body only."""
    slots = await run_batch(client, [get_item("me")], include_headers="false")
    assert set(slots[0]) == {"code", "body"}


async def test_item_error_has_the_standard_envelope(client: httpx2.AsyncClient) -> None:
    """An item's error is the usual envelope as a JSON string, with the item's HTTP status."""
    slots = await run_batch(client, [get_item("999999999999")])
    assert slots[0]["code"] == 400
    error = body_of(slots[0])["error"]
    assert (error["code"], error["error_subcode"], error["type"]) == (
        100,
        33,
        "GraphMethodException",
    )
    assert error["fbtrace_id"]


async def test_item_token_overrides_the_outer_one(client: httpx2.AsyncClient) -> None:
    """An access_token in an item's URL replaces the batch's token for that item only."""
    slots = await run_batch(client, [get_item("me?access_token=wrong"), get_item("me")])
    assert body_of(slots[0])["error"]["code"] == 190
    assert slots[1]["code"] == 200


async def test_item_if_none_match_gets_304(client: httpx2.AsyncClient) -> None:
    """An item's If-None-Match header with the current ETag answers 304 and a null body."""
    first = await run_batch(client, [get_item(INR_ACCOUNT)])
    etag = headers_of(first[0])["ETag"]
    item = get_item(INR_ACCOUNT, headers=[{"name": "If-None-Match", "value": etag}])
    slots = await run_batch(client, [item])
    assert (slots[0]["code"], slots[0]["body"]) == (304, None)


async def test_batch_in_a_json_body(client: httpx2.AsyncClient) -> None:
    """The batch may arrive as a JSON body with batch as a real array."""
    response = await client.post("/v25.0/", json={"access_token": TOKEN, "batch": [get_item("me")]})
    assert response.status_code == 200
    assert body_of(response.json()[0])["id"] == "100000000000001"


async def test_unversioned_batch_path(client: httpx2.AsyncClient) -> None:
    """POST / without a version (the SDK's host-only URL) is a batch too."""
    response = await client.post(
        "/", params={"access_token": TOKEN}, data={"batch": json.dumps([get_item("me")])}
    )
    assert response.status_code == 200
    assert response.json()[0]["code"] == 200


async def test_batch_partial_fault_leaves_null_slots(
    client: httpx2.AsyncClient, sandbox: Sandbox
) -> None:
    """A batch_partial fault skips the item (null slot); its dependents stay null too."""
    sandbox.faults.replace([FaultRule(kind="batch_partial", path="act_*/campaigns")])
    slots = await run_batch(client, [get_item("me"), create_item("c"), get_item("{result=c:$.id}")])
    assert slots[0]["code"] == 200
    assert slots[1:] == [None, None]
    assert list(sandbox.state.of_kind("campaign")) == []


async def test_item_faults_use_the_standard_envelope(
    client: httpx2.AsyncClient, sandbox: Sandbox
) -> None:
    """A transient fault on one item fails that slot with code 2; others succeed."""
    sandbox.faults.replace([FaultRule(kind="transient", path="me", in_batch=True)])
    slots = await run_batch(client, [get_item("me"), get_item(INR_ACCOUNT)])
    assert (slots[0]["code"], body_of(slots[0])["error"]["code"]) == (503, 2)
    assert slots[1]["code"] == 200


async def test_timeout_fault_on_an_item_is_a_null_slot(
    client: httpx2.AsyncClient, sandbox: Sandbox
) -> None:
    """An item that 'times out' inside a batch comes back null, as Meta's slow items do."""
    sandbox.faults.replace([FaultRule(kind="timeout", path="me", in_batch=True)])
    slots = await run_batch(client, [get_item("me"), get_item(INR_ACCOUNT)])
    assert slots[0] is None
    assert slots[1]["code"] == 200


async def test_drop_after_commit_inside_a_batch_just_succeeds(
    client: httpx2.AsyncClient, sandbox: Sandbox
) -> None:
    """An item has no connection of its own: a drop_after_commit fault leaves it successful."""
    sandbox.faults.replace([FaultRule(kind="drop_after_commit", in_batch=True)])
    slots = await run_batch(client, [create_item()])
    assert slots[0]["code"] == 200
    assert len(list(sandbox.state.of_kind("campaign"))) == 1


async def test_fifty_items_are_accepted(client: httpx2.AsyncClient) -> None:
    """Exactly max_batch_size (50) items run."""
    slots = await run_batch(client, [get_item("me")] * 50)
    assert all(slot["code"] == 200 for slot in slots)


async def test_more_than_fifty_items_is_a_top_level_error(client: httpx2.AsyncClient) -> None:
    """51 items: one top-level envelope (code 1, HTTP 400), nothing runs."""
    response = await client.post(
        "/v25.0/",
        params={"access_token": TOKEN},
        data={"batch": json.dumps([create_item()] * 51)},
    )
    error = error_of(response)
    assert response.status_code == 400
    assert error["code"] == 1
    assert "50" in error["message"]


@pytest.mark.parametrize(
    "batch",
    [
        pytest.param("[{not json", id="malformed-json"),
        pytest.param('{"method":"GET"}', id="object-not-array"),
        pytest.param('[{"method":"GET"}]', id="item-without-relative-url"),
        pytest.param('[{"method":"PUT","relative_url":"me"}]', id="bad-method"),
        pytest.param('["me"]', id="item-not-object"),
        pytest.param('[{"method":"POST","relative_url":"me","body":{"a":1}}]', id="body-object"),
    ],
)
async def test_malformed_batch_is_a_top_level_100_naming_batch(
    client: httpx2.AsyncClient, batch: str
) -> None:
    """A batch Meta cannot read is one code 100 envelope blaming the batch parameter."""
    response = await client.post("/v25.0/", params={"access_token": TOKEN}, data={"batch": batch})
    error = error_of(response)
    assert response.status_code == 400
    assert error["code"] == 100
    assert json.loads(error["error_data"])["blame_field_specs"] == [["batch"]]


async def test_missing_batch_parameter(client: httpx2.AsyncClient) -> None:
    """POST / without batch is 100 'The parameter batch is required'."""
    response = await client.post("/v25.0/", params={"access_token": TOKEN})
    assert error_of(response)["code"] == 100
    assert "batch" in error_of(response)["message"]


async def test_batch_without_token_is_a_top_level_error(client: httpx2.AsyncClient) -> None:
    """The batch call needs its own token: without one, a top-level 2500 and nothing runs."""
    items = [get_item(f"me?access_token={TOKEN}")]
    response = await client.post("/v25.0/", data={"batch": json.dumps(items)})
    assert response.status_code == 400
    assert error_of(response)["code"] == 2500


async def test_nested_batch_is_refused(client: httpx2.AsyncClient) -> None:
    """An item that is itself a batch fails with 100."""
    inner = {"method": "POST", "relative_url": "", "body": urlencode({"batch": "[]"})}
    slots = await run_batch(client, [inner])
    assert body_of(slots[0])["error"]["code"] == 100


async def test_unknown_attached_file_is_an_item_error(client: httpx2.AsyncClient) -> None:
    """attached_files naming a part the batch call lacks fails that item with 100."""
    item = {"method": "POST", "relative_url": f"{INR_ACCOUNT}/adimages", "attached_files": "f1"}
    slots = await run_batch(client, [item])
    error = body_of(slots[0])["error"]
    assert error["code"] == 100
    assert "f1" in error["message"]


async def test_usd_and_inr_items_are_keyed_by_their_own_account(
    client: httpx2.AsyncClient,
) -> None:
    """Each item's usage header is keyed by the account it touched, without act_."""
    slots = await run_batch(client, [get_item(INR_ACCOUNT), get_item(USD_ACCOUNT)])
    keys = [set(json.loads(headers_of(s)["X-Business-Use-Case-Usage"])) for s in slots]
    assert keys == [{"1234567890"}, {"9876543210"}]


class TestItemsAreChargedOneByOne:
    """Every item counts against the account's score like a standalone call (§7.3)."""

    @pytest.fixture
    def config(self) -> SandboxConfig:
        return SandboxConfig(tier="development")

    async def test_the_21st_write_in_a_batch_is_throttled(self, client: httpx2.AsyncClient) -> None:
        """20 creates spend the 60-point development score; the 21st gets 17/2446079."""
        slots = await run_batch(client, [create_item()] * 22)
        assert [slot["code"] for slot in slots[:20]] == [200] * 20
        for slot in slots[20:]:
            error = body_of(slot)["error"]
            assert (error["code"], error["error_subcode"]) == (17, 2446079)
        usage = json.loads(headers_of(slots[21])["X-Business-Use-Case-Usage"])
        assert usage["1234567890"][0]["estimated_time_to_regain_access"] > 0


TARGETING = {
    "geo_locations": {"countries": ["IN"]},
    "targeting_automation": {"advantage_audience": 0},
}
ADSET: dict[str, str] = {
    "name": "Batch ad set",
    "daily_budget": "50000",
    "billing_event": "IMPRESSIONS",
    "optimization_goal": "LINK_CLICKS",
    "targeting": json.dumps(TARGETING, separators=(",", ":")),
    "status": "PAUSED",
}


def sdk_body(params: dict[str, str]) -> str:
    """A body encoded as the official SDK encodes it: key=quote(value) joined by &."""
    return "&".join(f"{key}={quote(value)}" for key, value in params.items())


async def test_campaign_and_ad_set_in_one_batch(client: httpx2.AsyncClient) -> None:
    """§8.1's example: an ad set whose campaign_id references the campaign created before it."""
    adset = {
        "method": "POST",
        "relative_url": f"{INR_ACCOUNT}/adsets",
        "body": sdk_body({**ADSET, "campaign_id": "{result=c:$.id}"}),
        "name": "as",
    }
    slots = await run_batch(
        client,
        [
            {**create_item("c"), "omit_response_on_success": False},
            adset,
            get_item("{result=as:$.id}?fields=campaign_id,name"),
            get_item("{result=c:$.id}/adsets?fields=name"),
        ],
    )
    assert slots[1] is None
    read = body_of(slots[2])
    assert (read["name"], read["campaign_id"]) == ("Batch ad set", body_of(slots[0])["id"])
    assert [row["id"] for row in body_of(slots[3])["data"]] == [read["id"]]


async def test_refused_ad_set_aborts_what_depends_on_it(client: httpx2.AsyncClient) -> None:
    """An ad set Meta refuses returns its error; the read that references it gets 960."""
    bad = {**ADSET, "optimization_goal": "NOT_A_GOAL", "campaign_id": "{result=c:$.id}"}
    adset = {
        "method": "POST",
        "relative_url": f"{INR_ACCOUNT}/adsets",
        "body": sdk_body(bad),
        "name": "as",
    }
    slots = await run_batch(client, [create_item("c"), adset, get_item("{result=as:$.id}")])
    assert slots[0] is None
    assert (slots[1]["code"], body_of(slots[1])["error"]["code"]) == (400, 100)
    assert body_of(slots[2])["error"]["code"] == 960


def png(width: int, height: int) -> bytes:
    """A valid, solid grey PNG of the given size (small once compressed)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


async def test_attached_file_reaches_the_item(client: httpx2.AsyncClient) -> None:
    """An image part of the batch call reaches the item naming it; $.images.*.hash feeds on."""
    upload = {
        "method": "POST",
        "relative_url": f"{INR_ACCOUNT}/adimages",
        "attached_files": "hero",
        "name": "img",
        "omit_response_on_success": False,
    }
    listing = get_item(f"{INR_ACCOUNT}/adimages?hashes={{result=img:$.images.*.hash}}&fields=hash")
    files = {"hero": ("hero.png", png(1080, 1080), "image/png")}
    slots = await run_batch(client, [upload, listing], files=files)
    assert slots[0]["code"] == 200, slots[0]
    (image,) = body_of(slots[0])["images"].values()
    assert [row["hash"] for row in body_of(slots[1])["data"]] == [image["hash"]]


async def test_files_not_named_stay_invisible(client: httpx2.AsyncClient) -> None:
    """An item sees only the parts its attached_files names: without it, no upload."""
    item = {"method": "POST", "relative_url": f"{INR_ACCOUNT}/adimages"}
    files = {"hero": ("hero.png", png(1080, 1080), "image/png")}
    slots = await run_batch(client, [item], files=files)
    assert slots[0]["code"] == 400
    assert body_of(slots[0])["error"]["code"] == 100
