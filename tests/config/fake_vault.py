"""A fake HashiCorp Vault (KV version 2 reads only), for serving over loopback in tests."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


class FakeVault:
    """Versioned KV v2 secrets behind one root token, answering as Vault's HTTP API does."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.secrets: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.reads = 0

    def put(self, mount: str, path: str, data: dict[str, Any]) -> int:
        """Write a new version of the secret at ``mount``/``path``; returns its version."""
        versions = self.secrets.setdefault((mount, path), [])
        versions.append(dict(data))
        return len(versions)

    def app(self) -> Starlette:
        """The ASGI app: ``GET /v1/{mount}/data/{path}``."""
        return Starlette(routes=[Route("/v1/{mount}/data/{path:path}", self._read)])

    async def _read(self, request: Request) -> JSONResponse:
        self.reads += 1
        if request.headers.get("X-Vault-Token") != self.token:
            return JSONResponse({"errors": ["permission denied"]}, status_code=403)
        key = (request.path_params["mount"], request.path_params["path"])
        versions = self.secrets.get(key)
        if not versions:
            return JSONResponse({"errors": []}, status_code=404)
        version = int(request.query_params.get("version", len(versions)))
        return JSONResponse(_envelope(versions[version - 1], version))


def _envelope(data: dict[str, Any], version: int) -> dict[str, Any]:
    metadata = {
        "created_time": "2025-01-01T00:00:00.000000Z",
        "custom_metadata": None,
        "deletion_time": "",
        "destroyed": False,
        "version": version,
    }
    return {
        "request_id": f"req-{version}",
        "lease_id": "",
        "renewable": False,
        "lease_duration": 0,
        "data": {"data": data, "metadata": metadata},
        "wrap_info": None,
        "warnings": None,
        "auth": None,
    }
