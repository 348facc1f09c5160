"""The one place the reports read insights rows from.

Every report module asks :func:`fetch_rows`, never the Graph client directly, so the
source can change (a multi-account export of concurrent async report jobs) in one place.
"""

from __future__ import annotations

from typing import Any

from meta_agent.agents.insights import InsightsAgent, InsightsParams
from meta_agent.graph.models import InsightsRow


async def fetch_rows(agent: InsightsAgent, **query: Any) -> list[InsightsRow]:
    """Every insights row of ``query`` (the fields of :class:`InsightsParams`).

    Raises:
        RequestValidationError: a bad query parameter, named.
        ApiError: Meta refused the query.
    """
    return await agent.get_insights(InsightsParams.build(**query))
