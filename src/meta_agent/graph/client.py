"""``GraphClient``: the facade every agent uses to talk to Meta.

It owns one transport and one requestor (auth, pacing, retries) and hangs the per-family
services and the higher-level helpers (batch, pagination, report jobs, video upload) off it.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import SecretStr

from meta_agent.graph.batch import MAX_BATCH_SIZE, BatchBuilder
from meta_agent.graph.guard import WriteGuard
from meta_agent.graph.pacing_state import SharedPacing
from meta_agent.graph.requestor import CallOptions, GraphResponse, Requestor
from meta_agent.graph.services import (
    AccountService,
    AdCreativeService,
    AdService,
    AdSetService,
    CampaignService,
    ImageService,
    InsightsService,
    TargetingService,
)
from meta_agent.graph.settings import GraphSettings
from meta_agent.graph.transport import FileField, Transport
from meta_agent.graph.video import VideoUploader


class GraphClient:
    """An async Graph API client: ``async with GraphClient(settings) as graph: ...``.

    Every write passes ``guard`` before it is sent (see :mod:`meta_agent.graph.guard`); a
    client built without one sends reads only. With ``shared_pacing``, this client paces
    together with every other one (in any process) using the same store (see
    :mod:`meta_agent.graph.pacing`); the caller owns the store and closes it.
    """

    def __init__(
        self,
        settings: GraphSettings,
        *,
        app: Any = None,
        now: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        guard: WriteGuard | None = None,
        shared_pacing: SharedPacing | None = None,
    ) -> None:
        self.settings = settings
        self.transport = Transport(
            settings.base_url,
            timeout=settings.timeout,
            max_connections=max(settings.max_concurrency * 2, 8),
            app=app,
        )
        self.requestor = Requestor(
            settings,
            self.transport,
            now=now,
            sleep=sleep,
            rng=rng,
            wall_clock=wall_clock,
            guard=guard,
            shared_pacing=shared_pacing,
        )
        self.accounts = AccountService(self.requestor)
        self.campaigns = CampaignService(self.requestor)
        self.adsets = AdSetService(self.requestor)
        self.creatives = AdCreativeService(self.requestor)
        self.ads = AdService(self.requestor)
        self.images = ImageService(self.requestor)
        self.targeting = TargetingService(self.requestor)
        self.insights = InsightsService(self.requestor)
        self.videos = VideoUploader(self.requestor)

    async def __aenter__(self) -> GraphClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Release pooled connections."""
        await self.transport.aclose()

    def use_token(self, token: SecretStr) -> None:
        """Send ``token`` from now on (a rotated token; calls in flight keep the old one)."""
        self.settings = self.settings.model_copy(update={"access_token": token})
        self.requestor.settings = self.settings

    async def get(self, path: str, params: dict[str, Any] | None = None, **options: Any) -> Any:
        """GET a node or edge; returns the decoded body."""
        return (await self.call("GET", path, params, options=CallOptions(**options))).body

    async def post(
        self,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        files: dict[str, FileField] | None = None,
        **options: Any,
    ) -> Any:
        """POST (create or update); returns the decoded body."""
        response = await self.call(
            "POST", path, params, files=files, options=CallOptions(**options)
        )
        return response.body

    async def delete(self, path: str, params: dict[str, Any] | None = None, **options: Any) -> Any:
        """DELETE a node; returns the decoded body."""
        return (await self.call("DELETE", path, params, options=CallOptions(**options))).body

    def batch(
        self,
        *,
        max_size: int = MAX_BATCH_SIZE,
        concurrency: int = 4,
        max_attempts: int | None = None,
    ) -> BatchBuilder:
        """A new batch over this client's requestor: add calls, then ``await .execute()``.

        The options are :class:`~meta_agent.graph.batch.BatchBuilder`'s.

        Raises:
            ConfigError: a limit out of range.
        """
        return BatchBuilder(
            self.requestor, max_size=max_size, concurrency=concurrency, max_attempts=max_attempts
        )

    async def call(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        files: dict[str, FileField] | None = None,
        options: CallOptions | None = None,
    ) -> GraphResponse:
        """One Graph call through the full ladder (pacing, retries, error mapping)."""
        return await self.requestor.call(method, path, params, files=files, options=options)
