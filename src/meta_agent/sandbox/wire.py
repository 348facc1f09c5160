"""One Graph request and its response, independent of the HTTP server that carried them."""

from __future__ import annotations

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

    @property
    def segments(self) -> list[str]:
        """Path components, without the version."""
        return [part for part in self.path.split("/") if part]


@dataclass
class GraphResponse:
    """What the sandbox answers: status, JSON body (None for an empty one) and headers."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    drop_connection: bool = False
