"""One Graph request and its response, independent of the HTTP server that carried them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from meta_agent.sandbox.params import Params


@dataclass
class GraphRequest:
    """A decoded Graph API call (an HTTP request, or one item of a batch)."""

    method: str
    path: str
    version: str
    params: Params
    headers: dict[str, str] = field(default_factory=dict)
    in_batch: bool = False
    # The method a ``method=`` parameter or ``X-HTTP-Method-Override`` header asked for.
    method_override: str | None = None
    # The base URL the client reached the sandbox at (``http://host:port``), when known.
    base_url: str | None = None

    @property
    def segments(self) -> list[str]:
        """Path components, without the version."""
        return [part for part in self.path.split("/") if part]


@dataclass
class GraphResponse:
    """What the sandbox answers: status, JSON body (None for an empty one) and headers.

    ``encoded`` holds the body's bytes once something has encoded it (the ETag does), so
    the HTTP layer sends them instead of encoding the body again.
    """

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    drop_connection: bool = False
    encoded: bytes | None = None


# Built once: json.dumps with options builds a new encoder on every call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def encode_json(body: Any) -> bytes:
    """A JSON body as the sandbox sends it: UTF-8, compact, keys in the order they were set."""
    return _ENCODER.encode(body).encode("utf-8")
