"""The HTTP service as the README and /docs present it: the README's request runs as written,
/docs loads with no other host, and the webhook scheme documented is the one the code signs."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from pathlib import Path
from typing import Any

import httpx2

from meta_agent.interfaces.examples import example
from meta_agent.interfaces.http.webhooks import sign
from meta_agent.orchestrator.orchestrator import RETRY_HINT
from tests.interfaces.test_http_openapi import assets_host, harness  # noqa: F401

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_section(heading: str) -> str:
    """The README's text from ``heading`` to the next second-level heading."""
    text = README.read_text()
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    return text[start : end if end != -1 else None]


def readme_request() -> tuple[dict[str, Any], str]:
    """The README's example request and the path its curl command posts it to."""
    section = readme_section("## One request")
    body = json.loads(re.search(r"```json\n(.*?)```", section, re.S)[1])  # type: ignore[index]
    curl = re.search(r"```bash\n(curl .*?)```", section, re.S)[1]  # type: ignore[index]
    path = re.search(r"https?://[^/\s]+(/\S+)", curl)[1]  # type: ignore[index]
    assert '"Authorization: Bearer' in curl
    assert "--data @request.json" in curl
    return body, path


async def test_the_readme_http_example_runs_as_written(
    http: httpx2.AsyncClient,
    assets_host: str,  # noqa: F811
) -> None:
    """The README's request, posted where its curl posts it, completes (its image host is
    pointed at a loopback stand-in: tests run offline)."""
    body, path = readme_request()
    for image in body["data"]["images"]:
        assert "path" not in image, "a path is refused over HTTP"
        image["url"] = re.sub(r"https://[^/]+", assets_host, image["url"])
    response = await http.post(path, json=body)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "COMPLETED", response.text


async def test_docs_load_from_bundled_assets_naming_no_other_host(
    http: httpx2.AsyncClient,
) -> None:
    """/docs and the JavaScript and CSS it loads are served here; the page names no host."""
    page = await http.get("/docs")
    assert page.status_code == 200
    assert "swagger-ui" in page.text
    assert not re.search(r"(src|href)=[\"']?(https?:)?//", page.text), page.text
    assert '"validatorUrl": null' in page.text
    assets = re.findall(r"(?:src|href)=[\"'](/docs/assets/[^\"']+)", page.text)
    assert {Path(a).suffix for a in assets} >= {".js", ".css"}
    script = await http.get("/docs/assets/swagger-ui-bundle.js")
    assert script.status_code == 200
    assert "SwaggerUIBundle" in script.text
    for asset in assets:
        loaded = await http.get(asset)
        assert loaded.status_code == 200, asset
        assert loaded.content, asset
    assert (await http.get("/openapi.json")).status_code == 200


async def test_openapi_documents_the_webhook_scheme(http: httpx2.AsyncClient) -> None:
    """The OpenAPI description names the three headers and the signed string."""
    description = (await http.get("/openapi.json")).json()["info"]["description"]
    for header in ("X-Meta-Agent-Timestamp", "X-Meta-Agent-Signature", "X-Meta-Agent-Delivery"):
        assert header in description
    assert "HMAC-SHA256" in description
    assert "<timestamp>.<body>" in description


def test_the_readme_signature_recipe_is_what_the_service_signs() -> None:
    """The README's verification snippet, run, agrees with the sender's signature."""
    section = readme_section("## The HTTP service")
    snippet = re.search(r"```python\n(.*?)```", section, re.S)[1]  # type: ignore[index]
    secret, timestamp, body = b"s3cret", "1767225600", b'{"status":"COMPLETED"}'
    signature = sign(secret.decode(), timestamp, body)
    scope: dict[str, Any] = {
        "hmac": hmac,
        "hashlib": hashlib,
        "secret": secret,
        "timestamp": timestamp,
        "body": body,
        "signature": signature,
        "time": type("Clock", (), {"time": staticmethod(lambda: 1767225600.0)}),
    }
    exec(snippet, scope)  # noqa: S102 (the README's own snippet)
    assert scope["expected"] == signature
    assert scope["ok"] is True


async def test_http_replays_a_failure_with_the_retry_hint(
    http: httpx2.AsyncClient,
) -> None:
    """POST the same request_id after a failure: the replay's error says to use a new one."""
    request = example("create_full_campaign")
    request["data"]["ads"][0]["creative"]["page_id"] = "111111111111111"  # Meta refuses it
    request = {**request, "request_id": "http-replay", "options": {"dry_run": False}}
    first = (await http.post("/v1/requests", json=request)).json()
    assert first["status"] == "ROLLED_BACK", first
    assert "hint" not in first["error"]
    again = (await http.post("/v1/requests", json=request)).json()
    assert again["replayed"] is True
    assert again["error"]["hint"] == RETRY_HINT
