"""The cache contract, run against every implementation (memory, Redis)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.cache.conftest import Backend

VALUES: list[Any] = [
    {"id": "6003139266461", "name": "Running shoes ₹", "audience_size": [1200, 1500]},
    ["a", 1, 2.5, True, False, None],
    "plain text",
    42,
    0.125,
    True,
    {"nested": {"deeper": {"list": [{"x": None}]}}},
]


@pytest.mark.parametrize("value", VALUES)
async def test_values_round_trip(backend: Backend, value: Any) -> None:
    """Any JSON-compatible value comes back equal."""
    await backend.cache.set("k", value)
    assert await backend.cache.get("k") == value


async def test_missing_key_is_none(backend: Backend) -> None:
    """An absent key reads as None."""
    assert await backend.cache.get("missing") is None


async def test_returned_values_are_copies(backend: Backend) -> None:
    """Mutating a value read back does not change what the next reader gets."""
    await backend.cache.set("k", {"ids": [1]})
    got = await backend.cache.get("k")
    got["ids"].append(2)
    assert await backend.cache.get("k") == {"ids": [1]}


async def test_value_expires_after_its_ttl(backend: Backend) -> None:
    """A value is served until its TTL has passed, then it is gone."""
    await backend.cache.set("k", "v", ttl=30)
    await backend.advance(29.9)
    assert await backend.cache.get("k") == "v"
    await backend.advance(0.2)
    assert await backend.cache.get("k") is None


async def test_value_without_ttl_stays(backend: Backend) -> None:
    """Without a TTL a value stays however long it is kept."""
    await backend.cache.set("k", "v")
    await backend.advance(10 * 365 * 86400)
    assert await backend.cache.get("k") == "v"


async def test_overwriting_replaces_value_and_ttl(backend: Backend) -> None:
    """Setting a key again replaces its value and its TTL (none means none)."""
    await backend.cache.set("k", 1, ttl=10)
    await backend.cache.set("k", 2)
    await backend.advance(20)
    assert await backend.cache.get("k") == 2


@pytest.mark.parametrize("ttl", [0, -5])
async def test_non_positive_ttl_is_already_expired(backend: Backend, ttl: float) -> None:
    """A TTL of zero or less stores nothing readable (and removes an older value)."""
    await backend.cache.set("k", "old")
    await backend.cache.set("k", "new", ttl=ttl)
    assert await backend.cache.get("k") is None


async def test_delete_forgets_one_key(backend: Backend) -> None:
    """delete removes that key only; deleting a missing key is fine."""
    await backend.cache.set("a", 1)
    await backend.cache.set("b", 2)
    await backend.cache.delete("a")
    await backend.cache.delete("never-set")
    assert (await backend.cache.get("a"), await backend.cache.get("b")) == (None, 2)


async def test_invalidate_removes_matching_keys_only(backend: Backend) -> None:
    """invalidate(glob) removes the matching keys, keeps the rest and says how many went."""
    keys = ["targeting:interest:v25.0:shoes", "targeting:geo:v25.0:IN", "insights:act_1:7d"]
    for key in keys:
        await backend.cache.set(key, key)
    assert await backend.cache.invalidate("targeting:*") == 2
    assert [await backend.cache.get(k) for k in keys] == [None, None, "insights:act_1:7d"]
    assert await backend.cache.invalidate("targeting:*") == 0


@pytest.mark.parametrize(
    ("pattern", "gone"),
    [("k?", {"k1", "k2"}), ("k[1x]", {"k1"}), ("*2", {"k2", "kk2"}), ("k1", {"k1"})],
)
async def test_invalidate_understands_glob_syntax(
    backend: Backend, pattern: str, gone: set[str]
) -> None:
    """``?``, ``[...]`` and ``*`` match as globs, and a plain key matches only itself."""
    for key in ("k1", "k2", "kk2"):
        await backend.cache.set(key, 1)
    assert await backend.cache.invalidate(pattern) == len(gone)
    left = {key for key in ("k1", "k2", "kk2") if await backend.cache.get(key) is not None}
    assert left == {"k1", "k2", "kk2"} - gone


async def test_invalidate_handles_many_keys(backend: Backend) -> None:
    """Invalidating more keys than one scan batch removes and counts them all."""
    for n in range(700):
        await backend.cache.set(f"bulk:{n}", n)
    await backend.cache.set("other", 1)
    assert await backend.cache.invalidate("bulk:*") == 700
    assert await backend.cache.get("bulk:7") is None
    assert await backend.cache.get("other") == 1
