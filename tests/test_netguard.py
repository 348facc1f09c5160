"""Only public addresses may be fetched for a remote caller."""

from __future__ import annotations

import pytest

from meta_agent.netguard import PrivateAddressError, require_public


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x.png",
        "http://10.1.2.3/x.png",
        "http://192.168.0.10/x.png",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/x.png",
        "http://localhost/x.png",
        "file:///etc/passwd",
    ],
)
async def test_private_and_local_addresses_are_refused(url: str) -> None:
    """Loopback, private, link-local (cloud metadata) and host-less URLs are refused."""
    with pytest.raises(PrivateAddressError):
        await require_public(url)


async def test_a_public_address_passes() -> None:
    """A global address literal passes (no DNS needed for a literal)."""
    await require_public("https://8.8.8.8/image.png")
