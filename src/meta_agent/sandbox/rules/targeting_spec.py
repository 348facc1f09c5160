"""What the targeting rules share: errors that blame a key inside ``targeting``, and lists.

Every error names the offending path inside the spec in ``blame_field_specs``
(``[["targeting", "age_max"]]``), as Meta does, so a client can point at the exact key.
"""

from __future__ import annotations

from typing import Any

from meta_agent.sandbox.errors import GraphError, invalid_param


def targeting_error(
    message: str, *path: str, subcode: int | None = None, title: str, user_msg: str
) -> GraphError:
    """A code 100 error blaming ``targeting`` → ``path``."""
    return invalid_param(
        message, subcode=subcode, blame=("targeting", *path), title=title, user_msg=user_msg
    )


def as_list(value: Any) -> list[Any]:
    """``value`` if it is a list, else empty (the rule for that key reports the bad shape)."""
    return value if isinstance(value, list) else []
