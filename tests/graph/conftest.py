"""Fixtures for the Graph client: a requestor wired to the sandbox in process."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr
from starlette.applications import Starlette

from meta_agent.graph.guard import UNGUARDED
from meta_agent.graph.requestor import Requestor
from meta_agent.graph.settings import GraphSettings
from meta_agent.graph.transport import Transport
from meta_agent.sandbox import ManualClock
from tests.conftest import TOKEN


def make_requestor(app: Starlette, clock: ManualClock, **settings: object) -> Requestor:
    """A requestor that talks to ``app`` in process and sleeps on the manual clock."""
    values: dict[str, object] = {"base_url": "http://sandbox", "version": "v25.0", **settings}
    graph_settings = GraphSettings(access_token=SecretStr(TOKEN), **values)
    return Requestor(
        graph_settings,
        Transport("http://sandbox", app=app),
        now=clock.now,
        sleep=clock.sleep,
        rng=random.Random(1),
        wall_clock=lambda: datetime.fromtimestamp(clock.now(), UTC),
        guard=UNGUARDED,
    )


@pytest.fixture
async def requestor(app: Starlette, clock: ManualClock) -> AsyncIterator[Requestor]:
    """The client's send path over the in-process sandbox."""
    r = make_requestor(app, clock)
    yield r
    await r.transport.aclose()
