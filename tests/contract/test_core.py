"""Wire-level behaviour common to every endpoint: auth, versions, envelopes, paths."""

from __future__ import annotations

import hashlib
import hmac

import httpx2
import pytest

from meta_agent.sandbox import SandboxConfig
from tests.conftest import INR_ACCOUNT, TOKEN, Graph, error_of


async def test_me_reads_requested_fields(graph: Graph) -> None:
    """GET /me returns the seeded user with only the requested fields."""
    response = await graph.get("me", fields="id,name")
    assert response.status_code == 200
    assert response.json() == {"id": "100000000000001", "name": "Sandbox Marketer"}
    assert response.headers["facebook-api-version"] == "v25.0"


@pytest.mark.parametrize(
    "how",
    ["query", "form", "json", "bearer", "oauth"],
)
async def test_token_is_read_from_every_place_meta_reads_it(
    client: httpx2.AsyncClient, how: str
) -> None:
    """The token is accepted from the query, a form body, a JSON body or the Authorization header."""
    url = "/v25.0/me"
    if how == "query":
        response = await client.get(url, params={"access_token": TOKEN})
    elif how == "form":
        response = await client.post(url, data={"access_token": TOKEN, "method": "get"})
    elif how == "json":
        response = await client.post(url, json={"access_token": TOKEN, "method": "get"})
    else:
        scheme = "Bearer" if how == "bearer" else "OAuth"
        response = await client.get(url, headers={"Authorization": f"{scheme} {TOKEN}"})
    assert response.status_code == 200, response.text
    assert response.json()["id"] == "100000000000001"


async def test_wrong_token_gets_code_190(client: httpx2.AsyncClient) -> None:
    """Any token but the configured one gets Meta's 190 envelope, without a (#) prefix."""
    response = await client.get("/v25.0/me", params={"access_token": "nope"})
    error = error_of(response)
    assert response.status_code == 400
    assert error["code"] == 190
    assert error["type"] == "OAuthException"
    assert error["message"].startswith("Invalid OAuth access token")
    assert "fbtrace_id" in error


async def test_missing_token_gets_code_2500(client: httpx2.AsyncClient) -> None:
    """No token at all is Meta's 2500 'active access token' error."""
    error = error_of(await client.get("/v25.0/me"))
    assert error["code"] == 2500


class TestAppSecretProof:
    """appsecret_proof is enforced once an app secret is configured."""

    @pytest.fixture
    def config(self) -> SandboxConfig:
        from pydantic import SecretStr

        return SandboxConfig(app_secret=SecretStr("shh"))

    async def test_missing_proof_is_refused(self, graph: Graph) -> None:
        """Without a proof the call fails with code 100."""
        error = error_of(await graph.get("me"))
        assert error["code"] == 100
        assert "appsecret_proof" in error["message"]

    async def test_valid_proof_is_accepted(self, client: httpx2.AsyncClient) -> None:
        """HMAC-SHA256(app_secret, token) in hex is accepted."""
        proof = hmac.new(b"shh", TOKEN.encode(), hashlib.sha256).hexdigest()
        response = await client.get(
            "/v25.0/me", params={"access_token": TOKEN, "appsecret_proof": proof}
        )
        assert response.status_code == 200


async def test_unknown_object_is_100_33(graph: Graph) -> None:
    """A missing object is 100/33 GraphMethodException, never a 404."""
    response = await graph.get("999999999999")
    error = error_of(response)
    assert response.status_code == 400
    assert (error["code"], error["error_subcode"], error["type"]) == (
        100,
        33,
        "GraphMethodException",
    )


async def test_unknown_field_names_field_and_node_type(graph: Graph) -> None:
    """Asking for a field the node lacks is 100 'Tried accessing nonexisting field'."""
    error = error_of(await graph.get(INR_ACCOUNT, fields="id,bogus"))
    assert error["code"] == 100
    assert "(bogus)" in error["message"]
    assert "(AdAccount)" in error["message"]


async def test_unknown_version_is_unknown_path(client: httpx2.AsyncClient) -> None:
    """A version Meta never had is 2500 'Unknown path components'."""
    error = error_of(await client.get("/v99.0/me", params={"access_token": TOKEN}))
    assert error["code"] == 2500


async def test_sunset_version_is_served_by_oldest_live_version(client: httpx2.AsyncClient) -> None:
    """v24.0 is past its Marketing API sunset (2026-11-10): the call is upgraded, as Meta does."""
    response = await client.get("/v24.0/me", params={"access_token": TOKEN})
    assert response.status_code == 200
    assert response.headers["facebook-api-version"] == "v25.0"


class TestSunsetRejected:
    """With sunset_policy=reject, an expired version gets code 2635."""

    @pytest.fixture
    def config(self) -> SandboxConfig:
        return SandboxConfig(sunset_policy="reject")

    async def test_v24_is_refused_with_2635(self, client: httpx2.AsyncClient) -> None:
        """The deprecated-version error names the newest version (v27.0 since 2026-11-04)."""
        error = error_of(await client.get("/v24.0/me", params={"access_token": TOKEN}))
        assert error["code"] == 2635
        assert "v27.0" in error["message"]


async def test_slashes_are_normalised(client: httpx2.AsyncClient) -> None:
    """Trailing and doubled slashes (as the SDK sends them) reach the same node."""
    response = await client.get(f"/v25.0//{INR_ACCOUNT}/", params={"access_token": TOKEN})
    assert response.status_code == 200
    assert response.json() == {"id": INR_ACCOUNT}


async def test_multi_id_read(graph: Graph) -> None:
    """GET /?ids=a,b returns an object keyed by id."""
    response = await graph.get("", ids=f"{INR_ACCOUNT},me", fields="id")
    assert response.status_code == 200
    assert set(response.json()) == {INR_ACCOUNT, "me"}


async def test_accounts_are_seeded_with_currency_and_timezone(graph: Graph) -> None:
    """One INR and one USD account, with realistic time zones and a tier."""
    body = (
        await graph.get(
            "me/adaccounts", fields="account_id,currency,timezone_name,ads_api_access_tier"
        )
    ).json()
    by_currency = {row["currency"]: row for row in body["data"]}
    assert by_currency["INR"]["timezone_name"] == "Asia/Kolkata"
    assert by_currency["USD"]["timezone_name"] == "America/Los_Angeles"
    assert by_currency["INR"]["ads_api_access_tier"] == "standard_access"


async def test_pages_are_listed_for_page_id(graph: Graph) -> None:
    """/me/accounts lists a Page usable as page_id."""
    body = (await graph.get("me/accounts", fields="id,name")).json()
    assert body["data"][0]["id"] == "102030405060708"


async def test_malformed_json_body_is_a_400_not_a_500(client: httpx2.AsyncClient) -> None:
    """A body that is not JSON is a caller's mistake: code 100, HTTP 400."""
    response = await client.post(
        "/v25.0/me", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert error_of(response)["code"] == 100


async def test_etag_and_if_none_match(graph: Graph, client: httpx2.AsyncClient) -> None:
    """A read carries an ETag; sending it back in If-None-Match gets 304 with no body."""
    first = await graph.get(INR_ACCOUNT, fields="name")
    etag = first.headers["etag"]
    again = await client.get(
        f"/v25.0/{INR_ACCOUNT}",
        params={"access_token": TOKEN, "fields": "name"},
        headers={"If-None-Match": etag},
    )
    assert again.status_code == 304
    assert again.content == b""
