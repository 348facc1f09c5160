"""API keys: stored hashed, refused without a key or with a wrong one, limited in scope."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import structlog
from starlette.applications import Starlette

from meta_agent.errors import ConfigError
from meta_agent.interfaces.http import ApiKeyStore, issue_api_key, new_api_key
from meta_agent.interfaces.http.auth import verify_secret
from meta_agent.sandbox import ManualClock
from tests.conftest import USD_ACCOUNT
from tests.interfaces.test_http_support import Harness, campaign_request, open_harness


@pytest.fixture
async def harness(
    app: Starlette, clock: ManualClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Harness]:
    """The HTTP service over a service opened on the in-process sandbox."""
    async with open_harness(app, clock, tmp_path, monkeypatch) as built:
        yield built


def test_a_key_is_stored_hashed_and_verified() -> None:
    """The record holds a salted hash, never the plaintext; only the right secret verifies."""
    plaintext, record = new_api_key("agent", ["act_1"], ["read"])
    secret = plaintext.split("_", 2)[2]
    assert secret not in record.model_dump_json()
    assert record.hash.startswith("pbkdf2_sha256$")
    store = ApiKeyStore([record])
    assert store.authenticate(plaintext) == record
    assert store.authenticate(plaintext + "x") is None
    assert store.authenticate(f"mak_{record.id}_wrong") is None
    assert not verify_secret(secret, "md5$1$00$00")


def test_two_keys_with_one_secret_hash_differently() -> None:
    """Each hash has its own salt."""
    first = new_api_key("a")[1].hash
    second = new_api_key("b")[1].hash
    assert first.split("$")[2] != second.split("$")[2]


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_issued_keys_round_trip_through_the_keys_file(tmp_path: Path, suffix: str) -> None:
    """issue_api_key appends to the file; loading it accepts the plaintext shown once."""
    path = tmp_path / f"keys{suffix}"
    first, _ = issue_api_key(path, "one", ["act_1"], ["create_campaign"])
    second, record = issue_api_key(path, "two")
    assert first not in path.read_text()
    assert second not in path.read_text()
    store = ApiKeyStore.load(path)
    assert len(store) == 2
    assert store.authenticate(second) == record
    assert path.stat().st_mode & 0o077 == 0


def test_a_malformed_keys_file_is_a_config_error_naming_the_setting(tmp_path: Path) -> None:
    """A keys file that is not a list of keys is refused, naming service.api_keys_file."""
    path = tmp_path / "keys.json"
    path.write_text(json.dumps({"keys": [{"id": "x"}]}))
    with pytest.raises(ConfigError) as caught:
        ApiKeyStore.load(path)
    assert caught.value.details["field"] == "service.api_keys_file"
    with pytest.raises(ConfigError):
        ApiKeyStore.load(tmp_path / "missing.json")


async def test_no_key_is_a_401(harness: Harness) -> None:
    """A request without a key is refused with 401 in the one error shape."""
    async with harness.client(None) as http:
        response = await http.get("/v1/workflows")
    assert response.status_code == 401
    assert response.json()["error"]["kind"] == "unauthenticated"
    assert response.headers["www-authenticate"] == "Bearer"


async def test_a_wrong_key_is_a_401(harness: Harness) -> None:
    """A key that is not one of ours (or a tampered one) is refused with 401."""
    async with harness.client(None) as http:
        forged = await http.get("/v1/workflows", headers={"X-API-Key": "mak_abcd_nope"})
        junk = await http.get("/v1/workflows", headers={"Authorization": "Bearer junk"})
    assert forged.status_code == junk.status_code == 401
    assert "not valid" in forged.json()["error"]["message"]


async def test_the_x_api_key_header_is_accepted(harness: Harness) -> None:
    """X-API-Key works as well as the bearer token."""
    async with harness.client(None) as http:
        response = await http.get("/v1/workflows", headers={"X-API-Key": harness.keys["admin"]})
    assert response.status_code == 200


async def test_a_key_without_the_account_is_a_403_naming_it(harness: Harness) -> None:
    """The INR-only key may not create in the USD account; nothing runs."""
    async with harness.client("inr") as http:
        response = await http.post("/v1/requests", json=campaign_request("usd-1", USD_ACCOUNT))
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["kind"] == "forbidden"
    assert error["missing"] == {"account": USD_ACCOUNT}
    assert USD_ACCOUNT in error["message"]
    assert await harness.service.workflows() == []


async def test_a_key_without_the_action_is_a_403_naming_it(harness: Harness) -> None:
    """The read-only key may not create a campaign; the INR key may not roll back."""
    async with harness.client("reader") as http:
        response = await http.post("/v1/requests", json=campaign_request("ro-1"))
    assert response.status_code == 403
    assert response.json()["error"]["missing"] == {"action": "create_campaign"}
    async with harness.client("admin") as http:
        outcome = (await http.post("/v1/requests", json=campaign_request("ro-2"))).json()
    async with harness.client("inr") as http:
        refused = await http.post(f"/v1/workflows/{outcome['workflow_id']}/rollback")
    assert refused.status_code == 403
    assert refused.json()["error"]["missing"] == {"action": "rollback"}


async def test_a_bulk_is_checked_item_by_item(harness: Harness) -> None:
    """A bulk whose second item targets another account is refused as a whole."""
    body = {
        "request_id": "bulk-1",
        "action": "bulk",
        "data": {"requests": [campaign_request("a"), campaign_request("b", USD_ACCOUNT)]},
    }
    async with harness.client("inr") as http:
        response = await http.post("/v1/requests", json=body)
    assert response.status_code == 403
    assert response.json()["error"]["missing"] == {"account": USD_ACCOUNT}
    assert await harness.service.workflows() == []


async def test_a_limited_key_sees_only_its_accounts(harness: Harness) -> None:
    """Workflows of other accounts are left out of the list and unknown by id (404, not 403)."""
    async with harness.client("admin") as http:
        usd = (await http.post("/v1/requests", json=campaign_request("u-1", USD_ACCOUNT))).json()
        await http.post("/v1/requests", json=campaign_request("i-1"))
    async with harness.client("inr") as http:
        listing = (await http.get("/v1/workflows")).json()["data"]
        refused = await http.get(f"/v1/workflows/{usd['workflow_id']}")
        status = await http.get("/v1/requests/u-1")
    assert [item["request_id"] for item in listing] == ["i-1"]
    assert refused.status_code == status.status_code == 404
    assert usd["workflow_id"] not in status.text


async def test_reading_an_object_outside_the_key_accounts_is_a_403(harness: Harness) -> None:
    """Insights or a report on a campaign of another account are refused (its owner looked up)."""
    async with harness.client("admin") as http:
        usd = (await http.post("/v1/requests", json=campaign_request("u-2", USD_ACCOUNT))).json()
    campaign_id = usd["result"]["campaign"]["id"]
    async with harness.client("inr") as http:
        report = await http.get(f"/v1/reports/{campaign_id}", params={"level": "campaign"})
        rows = await http.post(
            "/v1/insights",
            json={"level": "campaign", "object_id": campaign_id, "date_preset": "last_7d"},
        )
    assert report.status_code == rows.status_code == 403
    assert report.json()["error"]["missing"] == {"account": USD_ACCOUNT}


async def test_health_and_metrics_need_no_key(harness: Harness) -> None:
    """Probes and scrapers reach /healthz and /metrics without a key."""
    async with harness.client(None) as http:
        assert (await http.get("/healthz")).status_code == 200
        assert (await http.get("/metrics")).status_code == 200


async def test_a_key_is_never_logged(harness: Harness) -> None:
    """Neither an accepted nor a refused key appears in any log event."""
    with structlog.testing.capture_logs(
        processors=[structlog.contextvars.merge_contextvars]
    ) as events:
        async with harness.client("admin") as http:
            await http.post("/v1/requests", json=campaign_request("log-1"))
            await http.get("/v1/workflows", headers={"Authorization": "Bearer mak_ab12_secret"})
    text = json.dumps(events, default=str)
    assert harness.keys["admin"] not in text
    assert harness.keys["admin"].split("_", 2)[2] not in text
    assert "mak_ab12_secret" not in text
    completed = [e for e in events if e["event"] == "http.request.completed"]
    assert completed[0]["request_id"] == "log-1"
    assert completed[0]["workflow_id"]
