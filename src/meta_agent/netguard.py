"""Is an address on the public internet? For URLs a remote caller makes this machine fetch.

A caller of the HTTP service or of MCP over HTTP must not be able to make meta-agent read
from the network it runs in (cloud metadata endpoints, databases, admin ports): a URL whose
host resolves to a loopback, private, link-local or otherwise reserved address is refused.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit


class PrivateAddressError(ValueError):
    """The URL's host is not on the public internet."""


async def require_public(url: str) -> None:
    """Return when every address ``url``'s host resolves to is public.

    Raises:
        PrivateAddressError: a private, loopback, link-local or reserved address, or no host.
    """
    host = urlsplit(url).hostname
    if not host:
        raise PrivateAddressError(f"{url!r} names no host")
    try:
        infos = await asyncio.to_thread(socket.getaddrinfo, host, None)
    except socket.gaierror as error:
        raise PrivateAddressError(f"{host} does not resolve ({error.strerror})") from None
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if not address.is_global:
            raise PrivateAddressError(f"{host} resolves to {address}, which is not public")
