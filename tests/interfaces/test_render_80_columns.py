"""Tables a person reads fit an 80-column terminal: no line longer, no id cut or ellipsised."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from rich.console import Console, RenderableType

from meta_agent.interfaces.plan_render import objects_table, updates_table
from meta_agent.interfaces.render import (
    approvals_table,
    created_table,
    keys_table,
    workflows_table,
)
from meta_agent.store.journal import WorkflowRecord, WorkflowStatus

WIDTH = 80
WORKFLOW_ID = "494c84544bbb4158a0bf40a8e9e869a6"
APPROVAL_ID = "9f1c2a7be0d34c5f8a6b1e2d3c4f5a6b"


def rendered(view: RenderableType, width: int = WIDTH) -> str:
    """``view`` as a terminal ``width`` columns wide (80 unless said) shows it."""
    buffer = io.StringIO()
    Console(file=buffer, width=width, color_system=None).print(view)
    return buffer.getvalue()


def assert_fits(text: str, *whole: str) -> None:
    """No line over 80 columns, nothing ellipsised, and each of ``whole`` on one line."""
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= WIDTH
    assert "…" not in text
    for value in whole:
        assert any(value in line for line in lines), value


def test_workflows_table_keeps_ids_whole_at_80_columns() -> None:
    """The longest action and status beside a whole workflow id, in 80 columns."""
    moment = datetime(2026, 12, 3, 15, 21, 9, tzinfo=UTC)
    record = WorkflowRecord(
        WORKFLOW_ID,
        "spring-launch-2026-request-with-a-long-name",
        "create_full_campaign",
        "act_1234567890",
        WorkflowStatus.ROLLBACK_FAILED,
        {},
        moment,
        moment,
    )
    assert_fits(
        rendered(workflows_table([record])),
        WORKFLOW_ID,
        "create_full_campaign",
        "ROLLBACK_FAILED",
        "act_1234567890",
    )


def test_approvals_table_keeps_ids_whole_at_80_columns() -> None:
    """An approval's id, account and status stay whole."""
    row = {
        "id": APPROVAL_ID,
        "status": "PENDING",
        "account_id": "act_1234567890",
        "diff": [{}, {}],
        "rules": ["activation_requires_approval", "max_budget_increase_percent"],
        "expires_at": "2026-12-04T15:21:09+00:00",
    }
    assert_fits(rendered(approvals_table([row])), APPROVAL_ID, "act_1234567890", "PENDING")


def test_keys_and_created_tables_fit_80_columns() -> None:
    """Keys and a launch's objects, ids whole."""
    key = {
        "id": "k_3f9a2b7c1d",
        "name": "ambient-agent",
        "role": "agent",
        "revoked": False,
        "accounts": ["act_1234567890", "act_9876543210"],
        "actions": ["create_full_campaign", "update_campaign", "read"],
    }
    assert_fits(rendered(keys_table([key])), "k_3f9a2b7c1d")
    result = {
        "campaign": {"id": "120210000000000001", "name": "Roast & Co. launch", "status": "PAUSED"},
        "ads": [{"id": "120210000000000009", "name": "Roast ad 1", "status": "PAUSED"}],
    }
    assert_fits(rendered(created_table(result)), "120210000000000001", "120210000000000009")


def test_a_plan_fits_80_columns() -> None:
    """A launch's plan and an update's before and after, in 80 columns."""
    objects = [
        {
            "label": "adset0",
            "kind": "adset",
            "name": "Coffee lovers 21-34",
            "daily_budget": "INR 500.00 (50000)",
            "schedule": "starts 2030-01-01T09:00:00Z, ends 2030-01-31T21:00:00Z",
            "targeting": {"interests": ["Coffee (6003120903976)"]},
        }
    ]
    assert_fits(rendered(objects_table(objects, "INR")), "INR 500.00 (50000)", "6003120903976")
    update = {
        "object_id": "120210000000000002",
        "level": "adset",
        "currency": "USD",
        "before": {"daily_budget": 2000},
        "after": {"daily_budget": 2500},
    }
    text = rendered(updates_table([update]))
    assert_fits(text, "120210000000000002", "USD 20.00 (2000)", "USD 25.00 (2500)")


def test_an_optimization_plan_shows_money_and_why() -> None:
    """An optimizer's change: budgets in major units, its rationale, its notes."""
    from meta_agent.interfaces.plan_render import plan_views

    result = {
        "campaign_id": "120210000000000001",
        "changes": [
            {
                "object_id": "120210000000000002",
                "level": "adset",
                "kind": "raise_budget",
                "before": {"daily_budget": 50000},
                "after": {"daily_budget": 60000},
                "currency": "INR",
                "rationale": "cost per result 20% under target",
            }
        ],
        "notes": ["ad 3: not enough data"],
    }
    text = "".join(rendered(view) for view in plan_views(result))
    assert_fits(text, "INR 500.00 (50000)", "INR 600.00 (60000)", "note: ad 3: not enough data")
    assert "cost per result" in text


def test_an_approval_shows_held_budgets_in_major_units() -> None:
    """A held write's budget reads USD 25.00 (2500), not a bare 2500."""
    from meta_agent.interfaces.render import approval_view

    detail = {
        "id": APPROVAL_ID,
        "status": "PENDING",
        "account_id": "act_9876543210",
        "requested_by": "agent",
        "expires_at": "2026-12-04T15:21:09+00:00",
        "diff": [
            {
                "method": "POST",
                "path": "120210000000000002",
                "params": {"daily_budget": 2500},
                "currency": "USD",
                "holds": ["a raise of 25% needs an approval"],
            }
        ],
    }
    assert "daily_budget=USD 25.00 (2500)" in rendered(approval_view(detail), width=200)


def test_a_bulk_plan_shows_each_item() -> None:
    """A bulk dry run: each item's line, then its own plan, in 80 columns."""
    from meta_agent.interfaces.plan_render import is_plan, plan_views

    update = {
        "object_id": "120210000000000002",
        "level": "adset",
        "currency": "USD",
        "before": {"daily_budget": 2000},
        "after": {"daily_budget": 2500},
    }
    result = {
        "results": [
            {
                "index": 0,
                "status": "COMPLETED",
                "request_id": "b/0",
                "result": {"updates": [update]},
            },
            {"index": 1, "status": "FAILED", "request_id": "b/1", "error": {"message": "no ad"}},
        ]
    }
    assert is_plan(result)
    text = "".join(rendered(view) for view in plan_views(result))
    assert_fits(text, "item 0: COMPLETED", "USD 25.00 (2500)", "item 1: FAILED", "error: no ad")
