"""Deterministic Graph-style ids: numeric strings of 18 digits, as Meta returns them."""

from __future__ import annotations

import base64
import hashlib
import random


class IdGenerator:
    """Hands out unique numeric-string ids; the same seed gives the same sequence."""

    def __init__(self, seed: int = 0, start: int = 0) -> None:
        self._base = 120_210_000_000_000_000 + (seed % 10_000) * 1_000_000_000
        self.counter = start

    def next_id(self) -> str:
        """The next object id."""
        self.counter += 1
        return str(self._base + self.counter)


def trace_id(rng: random.Random) -> str:
    """An opaque ``fbtrace_id`` like Meta's (11 url-safe characters)."""
    # 66 random bits in url-safe base64 (A-Z a-z 0-9 - _): one draw, not one per character.
    return base64.urlsafe_b64encode(rng.getrandbits(72).to_bytes(9, "big"))[:11].decode()


def image_hash(content: bytes) -> str:
    """The ad image hash: MD5 of the file's bytes in lowercase hex, as Meta computes it."""
    return hashlib.md5(content, usedforsecurity=False).hexdigest()
