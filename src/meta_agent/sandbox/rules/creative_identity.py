"""Who a creative speaks for: its Page, its Instagram account, its political authorization.

The Page must be one the sandbox user can advertise for, the Instagram account the one
connected to that Page, and from v22.0 it is named by ``instagram_user_id`` only (§11).
"""

from __future__ import annotations

from typing import Any

from meta_agent import versions
from meta_agent.sandbox.rules.creative_fields import Path, bad, param_name
from meta_agent.sandbox.state import SandboxState

AUTHORIZATION_CATEGORIES = ("NONE", "POLITICAL", "POLITICAL_WITH_DIGITALLY_CREATED_MEDIA")


def check_page(state: SandboxState, value: Any, path: Path) -> dict[str, Any]:
    """The Page a creative speaks for: it must be a Page this sandbox user can advertise for.

    Raises:
        GraphError: absent, or not such a Page.
    """
    page_id = str(value) if isinstance(value, str | int) else ""
    if not page_id:
        raise bad(
            path,
            f"The parameter {param_name(path)} is required",
            "Missing required parameter",
            "Name the Facebook Page the ad runs as in object_story_spec.page_id.",
        )
    page = state.find(page_id)
    if page is None or page.get("kind") != "page":
        raise bad(
            path,
            f"Param {param_name(path)} must be a valid Page ID ({page_id} is not a Page you "
            "can advertise for)",
            "Invalid Page",
            "Use the id of a Page listed by GET /me/accounts.",
        )
    return page


def check_instagram_user(page: dict[str, Any], value: Any, path: Path) -> str:
    """The Instagram account must be the one connected to the creative's Page.

    Raises:
        GraphError: any other account.
    """
    user_id = str(value) if isinstance(value, str | int) else ""
    if user_id != page.get("instagram_user_id"):
        raise bad(
            path,
            f"Param {param_name(path)} must be the Instagram account connected to Page "
            f"{page['id']}",
            "Instagram account not connected",
            "Use the id in GET /{page_id}?fields=instagram_business_account.",
        )
    return user_id


def refuse_instagram_actor_id(path: Path, version: str) -> None:
    """``instagram_actor_id`` was replaced by ``instagram_user_id`` in v22.0 (§11).

    Raises:
        GraphError: always, on v22.0 and later.
    """
    if versions.at_least(version, "v22.0"):
        raise bad(
            path,
            f"Param {param_name(path)} is no longer supported from v22.0; use instagram_user_id",
            "instagram_actor_id is deprecated",
            "Send the Instagram account as 'instagram_user_id' instead of 'instagram_actor_id'.",
        )


def check_authorization_category(value: str | None) -> None:
    """``authorization_category`` from its enum.

    Raises:
        GraphError: an unknown category.
    """
    if value is not None and value not in AUTHORIZATION_CATEGORIES:
        raise bad(
            ("authorization_category",),
            "param authorization_category must be one of {"
            + ", ".join(AUTHORIZATION_CATEGORIES)
            + "}",
            "Invalid value",
            f"'{value}' is not a valid authorization_category.",
        )
