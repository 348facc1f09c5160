"""update_creative end to end against the sandbox: a new creative shown, or nothing changed."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from meta_agent.errors import RequestValidationError
from meta_agent.orchestrator.orchestrator import Orchestrator
from meta_agent.sandbox import Sandbox
from tests.conftest import PAGE_ID, USD_ACCOUNT
from tests.orchestrator.conftest import full_campaign_request, image_data, live_objects
from tests.orchestrator.test_updates import read, write_count


def creative_request(
    ad_id: str, request_id: str = "swap-1", *, image: int | None = 5, **data: Any
) -> dict[str, Any]:
    """An update_creative request: a new image creative made from a new image by default."""
    body: dict[str, Any] = {"ad_id": ad_id, **data}
    if "creative_id" not in data and "creative" not in data:
        body["creative"] = {
            "kind": "image",
            "name": "Spring look",
            "page_id": PAGE_ID,
            "image_ref": "hero",
            "link": "https://example.com/spring",
            "message": "New season.",
            "call_to_action": "SHOP_NOW",
        }
    if image is not None and "creative_id" not in data:
        body.setdefault("images", [{"name": "hero", "data": image_data(image)}])
    return {"request_id": request_id, "action": "update_creative", "data": body}


@pytest.fixture
async def launched(orchestrator: Orchestrator) -> dict[str, Any]:
    """A campaign with one ad set and two ads, each with its own creative."""
    request = full_campaign_request("setup", images=2, adsets=1, ads_per_adset=2)
    response = await orchestrator.execute(request)
    assert response.result is not None, response.error
    return response.result


async def test_an_inline_creative_with_a_new_image_replaces_the_old(
    orchestrator: Orchestrator, client: httpx2.AsyncClient, launched: dict[str, Any]
) -> None:
    """The image is uploaded, the creative made, and the ad now shows it; the old one stays."""
    ad = launched["ads"][0]
    response = await orchestrator.execute(creative_request(ad["id"]))
    assert response.status == "COMPLETED", response.error
    result = response.result
    assert result is not None
    assert result["old_creative_id"] == ad["creative_id"]
    assert result["created_creative"] is True
    assert "hero" in result["images"]
    assert (await read(client, ad["id"]))["creative_id"] == result["new_creative_id"]
    creatives = {r["id"] for r in await live_objects(client, ("adcreative",))}
    assert {ad["creative_id"], result["new_creative_id"]} <= creatives


async def test_an_existing_creative_is_pointed_at_without_making_one(
    orchestrator: Orchestrator, client: httpx2.AsyncClient, launched: dict[str, Any]
) -> None:
    """creative_id: the ad shows that creative; no new creative is made."""
    first, second = launched["ads"]
    before = len(await live_objects(client, ("adcreative",)))
    response = await orchestrator.execute(
        creative_request(first["id"], creative_id=second["creative_id"])
    )
    assert response.status == "COMPLETED", response.error
    assert (await read(client, first["id"]))["creative_id"] == second["creative_id"]
    assert len(await live_objects(client, ("adcreative",))) == before


async def test_a_failure_pointing_the_ad_deletes_the_new_creative(
    orchestrator: Orchestrator, client: httpx2.AsyncClient, launched: dict[str, Any]
) -> None:
    """point_ad fails at Meta: the new creative is deleted, the ad still shows the old one."""
    ad = launched["ads"][0]
    creatives = {r["id"] for r in await live_objects(client, ("adcreative",))}
    fault = f"unknown:method=POST,path={ad['id']},in_batch=false"
    assert (await client.post("/_sandbox/faults", json={"spec": fault})).status_code == 200
    response = await orchestrator.execute(creative_request(ad["id"]))
    assert response.status == "ROLLED_BACK", response
    assert response.error is not None
    assert response.error["step"] == "point_ad"
    assert {r["id"] for r in await live_objects(client, ("adcreative",))} == creatives
    assert (await read(client, ad["id"]))["creative_id"] == ad["creative_id"]


async def test_a_dry_run_has_meta_validate_and_changes_nothing(
    orchestrator: Orchestrator, sandbox: Sandbox, launched: dict[str, Any]
) -> None:
    """dry_run with an existing creative: Meta checks the change, nothing is written."""
    first, second = launched["ads"]
    request = creative_request(first["id"], creative_id=second["creative_id"])
    request["options"] = {"dry_run": True}
    writes = write_count(sandbox)
    response = await orchestrator.execute(request)
    assert response.status == "COMPLETED", response.error
    assert response.result is not None
    assert response.result["validated_by_meta"] is True
    assert write_count(sandbox) == writes + 1  # the one validate_only POST, which stores nothing
    assert sandbox.state.get(first["id"])["creative_id"] == first["creative_id"]


async def test_a_dry_run_of_an_inline_creative_is_checked_by_meta(
    orchestrator: Orchestrator, client: httpx2.AsyncClient, launched: dict[str, Any]
) -> None:
    """An inline creative on an existing image hash is validated inline; nothing is made."""
    ad = launched["ads"][0]
    image_hash = next(iter(launched["images"].values()))
    request = creative_request(ad["id"], image=None)
    creative = request["data"]["creative"]
    del creative["image_ref"]
    creative["image_hash"] = image_hash
    request["options"] = {"dry_run": True}
    before = await live_objects(client, ("adcreative",))
    response = await orchestrator.execute(request)
    assert response.status == "COMPLETED", response.error
    assert response.result is not None
    assert response.result["validated_by_meta"] is True
    assert await live_objects(client, ("adcreative",)) == before


async def test_a_repeated_request_id_makes_nothing_again(
    orchestrator: Orchestrator, sandbox: Sandbox, launched: dict[str, Any]
) -> None:
    """The same request_id again returns the first result; no write reaches Meta."""
    request = creative_request(launched["ads"][0]["id"], "same")
    first = await orchestrator.execute(request)
    writes = write_count(sandbox)
    again = await orchestrator.execute(request)
    assert again.replayed
    assert again.result == first.result
    assert write_count(sandbox) == writes


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"images": [{"name": "other", "data": image_data(5)}]}, "data.creative.image_ref"),
        ({"creative_id": "123", "creative": {"name": "x"}}, "data.creative"),
        ({"ad_id": "999999"}, "data.ad_id"),
    ],
)
async def test_a_bad_request_names_its_field(
    orchestrator: Orchestrator, launched: dict[str, Any], change: dict[str, Any], field: str
) -> None:
    """A reference to nothing, two creatives or an unknown ad: refused, naming the field."""
    request = creative_request(launched["ads"][0]["id"])
    request["data"].update(change)
    with pytest.raises(RequestValidationError) as caught:
        await orchestrator.execute(request)
    assert caught.value.field is not None
    assert caught.value.field.startswith(field)


async def test_an_ad_of_another_account_is_refused(
    orchestrator: Orchestrator, launched: dict[str, Any]
) -> None:
    """account_id, when given, must be the ad's account."""
    request = creative_request(launched["ads"][0]["id"])
    request["account_id"] = USD_ACCOUNT
    with pytest.raises(RequestValidationError) as caught:
        await orchestrator.execute(request)
    assert caught.value.field == "data.ad_id"
