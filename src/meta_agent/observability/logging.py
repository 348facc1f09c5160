"""structlog, configured once: readable on a terminal, JSON lines otherwise, always on stderr.

Stdout stays free for results (``--json``); nothing here ever renders a secret, because the
callers never put one in an event (the Graph client logs path templates, not parameters).
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

import structlog


def configure_logging(
    level: str = "WARNING", *, json_lines: bool | None = None, stream: TextIO | None = None
) -> None:
    """Route structlog events at ``level`` and above to ``stream`` (stderr by default).

    ``json_lines`` defaults to True when the stream is not a terminal.
    """
    out = stream or sys.stderr
    if json_lines is None:
        json_lines = not out.isatty()
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if json_lines
        else structlog.dev.ConsoleRenderer(colors=out.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )
