"""The sandbox as an ASGI app: decode HTTP into :class:`GraphRequest`, encode the answer.

Everything Meta-shaped happens in ``core``; this module only knows HTTP: where the token and
parameters can hide (query, form, multipart, JSON body, ``Authorization``), how versions and
stray slashes appear in paths, and how to drop a connection on purpose.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.convertors import PathConvertor, register_url_convertor
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from meta_agent import versions
from meta_agent.sandbox.admin import admin_routes
from meta_agent.sandbox.clock import Clock
from meta_agent.sandbox.config import SandboxConfig
from meta_agent.sandbox.core import Sandbox, serve
from meta_agent.sandbox.errors import GraphError, invalid_param
from meta_agent.sandbox.faults import FaultScript, parse_fault_spec
from meta_agent.sandbox.ids import IdGenerator
from meta_agent.sandbox.media import media_routes
from meta_agent.sandbox.params import Params, UploadedFile
from meta_agent.sandbox.state import SandboxState
from meta_agent.sandbox.wire import GraphRequest, GraphResponse, encode_json

_SLASHES = re.compile(r"/{2,}")


class _GraphPath(PathConvertor):
    """Any path but the admin and media ones (``/_sandbox`` and below)."""

    regex = "(?!_sandbox(?:/|$)).*"


register_url_convertor("sandbox_graph_path", _GraphPath())
_METHOD_OVERRIDES = {"GET", "POST", "DELETE"}


def create_app(
    config: SandboxConfig | None = None,
    *,
    clock: Clock | None = None,
    ids: IdGenerator | None = None,
    faults: FaultScript | str | None = None,
    state_file: Path | None = None,
) -> Starlette:
    """Build the sandbox ASGI app; ``app.state.sandbox`` is the :class:`Sandbox` behind it."""
    config = config or SandboxConfig()
    if isinstance(faults, str):
        faults = FaultScript(parse_fault_spec(faults), seed=config.seed)
    state = SandboxState.load(state_file) if state_file and state_file.exists() else None
    sandbox = Sandbox(
        config, clock=clock, ids=ids, faults=faults, state=state, state_file=state_file
    )

    async def graph(request: Request) -> Response:
        return await _graph_endpoint(sandbox, request)

    methods = ["GET", "POST", "DELETE"]
    app = Starlette(
        routes=[
            # Graph paths first, so a read is not matched against every admin route before
            # it; /_sandbox/... skips it and goes on to them, then to the same catch-all.
            Route("/{path:sandbox_graph_path}", graph, methods=methods),
            *admin_routes(sandbox),
            *media_routes(sandbox),
            Route("/{path:path}", graph, methods=methods),
        ]
    )
    app.state.sandbox = sandbox
    return app


async def _graph_endpoint(sandbox: Sandbox, request: Request) -> Response:
    try:
        graph_request = await decode_request(request)
    except GraphError as error:
        return _encode(GraphResponse(error.status, error.envelope("SandboxDecode")))
    return _encode(await serve(sandbox, graph_request))


async def decode_request(request: Request) -> GraphRequest:
    """Turn an HTTP request into a Graph call.

    Raises:
        GraphError: a body that cannot be decoded (malformed JSON, for instance).
    """
    version, path = split_version(_url_path(request))
    # What dict(request.query_params.items()) gives (the last value of a repeated name),
    # without building the multi-dict first.
    query = request.scope["query_string"].decode("latin-1")
    raw: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    files: dict[str, UploadedFile] = {}
    if request.method != "GET":
        body, files = await _decode_body(request)
        raw.update(body)
    # Straight from the scope, as Starlette decodes them: the first Authorization counts,
    # and the last value of any other repeated name.
    pairs = [
        (key.decode("latin-1").lower(), value.decode("latin-1"))
        for key, value in request.scope["headers"]
    ]
    _token_from_header(next((v for k, v in pairs if k == "authorization"), None), raw)
    method = request.method
    headers = dict(pairs)
    override = str(raw.pop("method", "") or headers.get("x-http-method-override", "")).upper()
    if override in _METHOD_OVERRIDES:
        method = override
    graph_request = GraphRequest(method, path, version, Params(raw, files), headers)
    graph_request.method_override = override or None
    graph_request.base_url = _base_url(request)
    return graph_request


def _url_path(request: Request) -> str:
    """``request.url.path``, read from the scope when Starlette would not escape it."""
    path: str = request.scope["path"]
    if path.startswith("//") or any(char in path for char in "?#\\"):
        return request.url.path
    return path


_BASE_URLS: dict[tuple[Any, ...], str] = {}


def _base_url(request: Request) -> str:
    """``str(request.base_url)`` without its slash, built once per scheme, server and host.

    Starlette builds it from exactly these parts of the scope (its path is the root path),
    and building it is a good part of decoding a small read; the few distinct values a
    server sees are kept (at most 64, since the Host header is the client's to choose).
    """
    scope = request.scope
    host = next((value for name, value in scope["headers"] if name == b"host"), None)
    server = scope.get("server")
    root = scope.get("app_root_path", scope.get("root_path", ""))
    key = (scope.get("scheme"), tuple(server) if server else None, host, root)
    url = _BASE_URLS.get(key)
    if url is None:
        url = str(request.base_url).rstrip("/")
        if len(_BASE_URLS) < 64:
            _BASE_URLS[key] = url
    return url


def split_version(url_path: str) -> tuple[str, str]:
    """``/v25.0//act_1/campaigns/`` → (``v25.0``, ``act_1/campaigns``); unversioned → newest."""
    path = _SLASHES.sub("/", url_path).strip("/")
    first, _, rest = path.partition("/")
    if re.match(r"^v\d+\.\d+$", first):
        return first, rest
    return versions.NEWEST, path


async def _decode_body(request: Request) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        return _json_body(await request.body()), {}
    if not (
        content_type.startswith("multipart/form-data")
        or content_type.startswith("application/x-www-form-urlencoded")
    ):
        return {}, {}
    form = await request.form(max_files=100, max_fields=10_000, max_part_size=64 * 1024 * 1024)
    fields: dict[str, Any] = {}
    files: dict[str, UploadedFile] = {}
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            content = await value.read()
            files[key] = UploadedFile(
                value.filename or key, content, value.content_type or "application/octet-stream"
            )
        else:
            fields[key] = value
    await form.close()
    return fields, files


def _json_body(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        decoded = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise invalid_param(
            "The request body is not valid JSON",
            user_msg="Send a JSON object, or use form encoding.",
        ) from None
    if not isinstance(decoded, dict):
        raise invalid_param("The JSON request body must be an object")
    return decoded


def _token_from_header(header: str | None, raw: dict[str, Any]) -> None:
    if not header or "access_token" in raw:
        return
    scheme, _, token = header.partition(" ")
    if scheme.lower() in {"bearer", "oauth"} and token.strip():
        raw["access_token"] = token.strip()


def _encode(response: GraphResponse) -> Response:
    if response.drop_connection:
        return _DroppedResponse()
    if response.status == 304:
        return Response(status_code=304, headers=response.headers)
    if isinstance(response.body, str):
        return Response(response.body, response.status, response.headers, "text/html")
    if response.encoded is not None:
        return Response(response.encoded, response.status, response.headers, _GraphJSON.media_type)
    return _GraphJSON(response.body, response.status, response.headers)


class _GraphJSON(JSONResponse):
    media_type = "application/json; charset=UTF-8"

    def render(self, content: Any) -> bytes:
        return encode_json(content)


class _DroppedResponse(Response):
    """Starts a response and breaks off mid-body, as a connection lost after the commit."""

    def __init__(self) -> None:
        super().__init__(status_code=200)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-type", b"application/json"), (b"content-length", b"64")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b'{"id":', "more_body": True})
        raise ConnectionResetError("sandbox dropped the connection after committing the write")
