"""The error table and the hierarchy: every row maps, every error round-trips through JSON."""

from __future__ import annotations

import json

import pytest

from meta_agent import errors
from meta_agent.graph.error_table import ERROR_TABLE, blame_fields, build_error, classify


def _envelope(code: int, subcode: int | None = None, **extra: object) -> dict[str, object]:
    body: dict[str, object] = {
        "message": f"({code})",
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "T",
    }
    if subcode is not None:
        body["error_subcode"] = subcode
    body.update(extra)
    return {"error": body}


@pytest.mark.parametrize(
    ("key", "cls"), sorted(ERROR_TABLE.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0))
)
def test_every_table_row_builds_its_class(
    key: tuple[int, int | None], cls: type[errors.ApiError]
) -> None:
    """Each (code, subcode) row of the table produces an exception of its class."""
    code, subcode = key
    error = build_error(_envelope(code, subcode), 400)
    assert type(error) is cls
    assert error.code == code
    assert error.subcode == subcode


@pytest.mark.parametrize(
    ("code", "subcode", "expected"),
    [
        (100, 33, errors.NotFoundError),
        (100, 1885272, errors.InvalidParameterError),
        (190, 463, errors.AuthError),
        (17, 2446079, errors.RateLimitedError),
        (80004, 2446079, errors.RateLimitedError),
        (613, 1487742, errors.RateLimitedError),
        (2, None, errors.TransientError),
        (1, 99, errors.TransientError),
        (2635, None, errors.VersionError),
        (294, None, errors.PermissionDeniedError),
    ],
)
def test_reference_codes_map_to_what_to_do_next(
    code: int, subcode: int | None, expected: type[errors.ApiError]
) -> None:
    """The §6.3 codes a client meets most often land in the class that says what to do."""
    assert classify(code, subcode) is expected


def test_unknown_code_follows_is_transient() -> None:
    """A code not in the table is transient only if Meta says so."""
    assert classify(123456, None, is_transient=True) is errors.TransientError
    assert classify(123456, None) is errors.ApiError


def test_blame_fields_from_json_string_or_dict() -> None:
    """error_data arrives as a JSON string or an object; both give the blame paths."""
    spec = {"blame_field_specs": [["targeting", "age_max"]]}
    assert blame_fields(json.dumps(spec)) == [["targeting", "age_max"]]
    assert blame_fields(spec) == [["targeting", "age_max"]]
    assert blame_fields("") == []
    assert blame_fields("not json") == []


def test_invalid_parameter_carries_meta_fields() -> None:
    """The user title and message and the blame fields survive into the exception."""
    body = _envelope(
        100,
        1885272,
        error_user_title="Budget Too Low",
        error_user_msg="Your budget must be more than ₹40.00",
        error_data='{"blame_field_specs":[["daily_budget"]]}',
    )
    error = build_error(body, 400)
    assert isinstance(error, errors.InvalidParameterError)
    assert error.blame_fields == [["daily_budget"]]
    assert error.user_message == "Your budget must be more than ₹40.00"
    assert error.details["fbtrace_id"] == "T"


def test_rate_limited_carries_retry_after() -> None:
    """A throttling error knows how long to wait when the headers said so."""
    error = build_error(_envelope(17, 2446079), 400, retry_after=300)
    assert isinstance(error, errors.RateLimitedError)
    assert error.retry_after == 300


@pytest.mark.parametrize(
    "error",
    [
        errors.InvalidParameterError(
            "bad", code=100, subcode=1885272, blame_fields=[["daily_budget"]]
        ),
        errors.RateLimitedError("slow", code=17, retry_after=12.5),
        errors.OutcomeUnknownError(
            "maybe", method="POST", path="act_1/campaigns", idempotency_key="k1"
        ),
        errors.RequestValidationError("no", field="campaign.daily_budget"),
        errors.TransportError("down"),
    ],
)
def test_errors_round_trip_through_json(error: errors.MetaAgentError) -> None:
    """to_dict → JSON → error_from_dict gives back the same class, message and details."""
    revived = errors.error_from_dict(json.loads(json.dumps(error.to_dict())))
    assert type(revived) is type(error)
    assert revived.message == error.message
    assert revived.details == error.details


def test_non_graph_body_is_transient() -> None:
    """An error response without Meta's envelope (a proxy's page) is treated as transient."""
    assert isinstance(build_error({"oops": 1}, 502), errors.TransientError)
