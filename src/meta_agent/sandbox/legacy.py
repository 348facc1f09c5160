"""Legacy Graph features closed to apps created on or after 2026-11-04 (reference §13.1, §13.3).

With ``SandboxConfig.new_app`` the sandbox refuses, on every version and inside batches too:
multi-id reads (``GET /?ids=``), HTTP method override (a ``method=`` parameter or the
``X-HTTP-Method-Override`` header), field aliases (``fields=name.as(x)``), ``date_format``,
JSONP (``callback=``) and async batch requests (``/act_X/async_batch_requests``). The
synchronous batch (``POST /`` with ``batch``) is not affected.

The reference gives no error code or message for these refusals, so each is a ``(#100)``
naming the feature and the date; the code and wording are the sandbox's own, not Meta's.
"""

from __future__ import annotations

import re

from meta_agent.sandbox.errors import GraphError, invalid_param
from meta_agent.sandbox.wire import GraphRequest

CUTOFF = "2026-11-04"
_ALIAS = re.compile(r"\.as\(")


def refuse_legacy(req: GraphRequest) -> None:
    """Raise for the first legacy feature ``req`` uses; return quietly when it uses none.

    Raises:
        GraphError: code 100, naming the feature, its parameter and what to do instead.
    """
    segments = req.segments
    if req.method_override is not None:
        raise _closed(
            "HTTP method override",
            "method",
            f"Send {req.method_override} as the HTTP method instead of method= or "
            "X-HTTP-Method-Override.",
        )
    if not segments and "ids" in req.params:
        raise _closed("Multi-id reads (?ids=)", "ids", "Read each object at /{id}.")
    if "date_format" in req.params:
        raise _closed("date_format", "date_format", "Read the ISO-8601 times Meta returns.")
    if "callback" in req.params:
        raise _closed("JSONP (callback=)", "callback", "Read the JSON body.")
    fields = req.params.get_raw("fields")
    if fields is not None and _ALIAS.search(str(fields)):
        raise _closed("Field aliases (.as())", "fields", "Request fields by their own names.")
    if len(segments) == 2 and segments[1] == "async_batch_requests":
        raise _closed(
            "Async batch requests",
            "adbatch",
            "Send at most 50 requests in one synchronous batch (POST / with batch=).",
        )


def _closed(feature: str, blame: str, instead: str) -> GraphError:
    return invalid_param(
        f"{feature} is not available to apps created on or after {CUTOFF}",
        blame=blame,
        title="Legacy Graph API feature",
        user_msg=instead,
    )
