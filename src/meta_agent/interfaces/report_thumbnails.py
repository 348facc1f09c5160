"""Creative thumbnails embedded in the HTML page as ``data:`` URIs, so it stays self-contained.

Meta's ``thumbnail_url`` points at its CDN (and expires); the page must not load anything,
so each thumbnail is fetched once, through the egress guard, and inlined. The embedded
sandbox serves its own media in process: its URLs are fetched from the sandbox app, never
from the network. A thumbnail that cannot be fetched, is not an image or is too large is
left out (the row keeps its name); the page never fails for it.
"""

from __future__ import annotations

import asyncio
import base64
from typing import TYPE_CHECKING, Any

import httpx2
import structlog

from meta_agent.agents.reporting.builder import MarketerReport
from meta_agent.agents.reporting.levels import LevelRow
from meta_agent.egress import EgressPolicy
from meta_agent.errors import RequestValidationError
from meta_agent.graph.transport import DownloadError, fetch

if TYPE_CHECKING:
    from meta_agent.service import MetaAgentService

log = structlog.get_logger("meta_agent.reports.thumbnails")

MAX_THUMBNAIL_BYTES = 512 * 1024
MAX_THUMBNAILS = 50
TIME_LIMIT = 10.0
FIELD = "thumbnail_url"


async def _in_process(host: str, port: int) -> list[str]:
    """The embedded sandbox answers every host itself: no name is resolved."""
    return ["127.0.0.1"]


class ThumbnailSource:
    """Fetches thumbnails: from the embedded sandbox app, or through the egress guard."""

    def __init__(self, service: MetaAgentService) -> None:
        app = service.parts.sandbox_app
        self.transport: Any = httpx2.ASGITransport(app=app) if app is not None else None
        self.egress = EgressPolicy(resolver=_in_process).local() if app else service.egress

    async def data_uri(self, url: str) -> str | None:
        """``url``'s image as a ``data:`` URI, or None when it cannot be had."""
        try:
            response = await fetch(
                "GET",
                url,
                egress=self.egress,
                field=FIELD,
                max_bytes=MAX_THUMBNAIL_BYTES,
                time_limit=TIME_LIMIT,
                transport=self.transport,
            )
        except (RequestValidationError, DownloadError) as error:
            log.info("reports.thumbnail.skipped", reason=str(error))
            return None
        kind = response.headers.get("content-type", "").split(";")[0].strip()
        if response.status != 200 or not kind.startswith("image/"):
            log.info("reports.thumbnail.skipped", status=response.status, content_type=kind)
            return None
        return f"data:{kind};base64,{base64.b64encode(response.body).decode()}"


async def inline_thumbnails(service: MetaAgentService, report: MarketerReport) -> MarketerReport:
    """``report`` with its creatives' thumbnails embedded (the first :data:`MAX_THUMBNAILS`)."""
    creatives = report.rows.get("creative", [])
    if not creatives:
        return report
    source = ThumbnailSource(service)
    wanted = [row for row in creatives[:MAX_THUMBNAILS] if row.thumbnail_url]
    found = await asyncio.gather(*(source.data_uri(str(row.thumbnail_url)) for row in wanted))
    embedded = {row.id: uri for row, uri in zip(wanted, found, strict=True)}
    rows = [_with_thumbnail(row, embedded.get(row.id)) for row in creatives]
    return report.model_copy(update={"rows": {**report.rows, "creative": rows}})


def _with_thumbnail(row: LevelRow, uri: str | None) -> LevelRow:
    return row.model_copy(update={"thumbnail_url": uri})
