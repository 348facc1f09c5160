"""The egress guard: which addresses meta-agent may fetch from for a caller, decided once.

A caller must not be able to make meta-agent read from the network it runs in (cloud
metadata at 169.254.169.254, databases, admin ports on loopback) through a URL it gives: an
image to download, a webhook ``callback_url`` to POST to. Every such fetch goes::

    EgressPolicy.destination(url, field)   parse; resolve the host once; refuse if ANY
                                           address is not public; pick the address to dial
    graph.transport.fetch(...)             dial exactly that address (Host header and TLS
                                           name stay the host name); each redirect hop
                                           goes back through destination(); hops, bytes
                                           and total time capped

Because the address checked is the address dialed, a DNS answer that changes between the
check and the connection (rebinding) cannot reach loopback, and a redirect is checked like
the first URL. Refused: loopback, private, link-local, shared (CGNAT, 100.64.0.0/10),
multicast, unspecified and reserved addresses, and the IPv6 forms that carry one of them
(IPv4-mapped, IPv4-compatible, 6to4, NAT64, Teredo). IPv4 spellings that resolvers accept
(``2130706433``, ``0177.0.0.1``, ``0x7f.1``) are read as the address they spell.

A refusal is a :class:`~meta_agent.errors.RequestValidationError` naming the caller's field.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from meta_agent.errors import RequestValidationError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]
"""Resolves ``(host, port)`` to address strings, like ``getaddrinfo``."""
Dial = Callable[[IPAddress], str]
"""Where to connect for a checked address (the address itself, but for tests)."""

PUBLIC_ONLY = "meta-agent fetches only public addresses"
LOOPBACK_HINT = " (for local development, service.egress_allow_loopback allows loopback)"
DEFAULT_PORTS = {"http": 80, "https": 443}
_LEGACY_IPV4 = re.compile(r"^[0-9a-fA-FxX.]+$")
_SHARED = ipaddress.ip_network("100.64.0.0/10")
_PRIVATE_V4 = tuple(
    ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
)
_UNIQUE_LOCAL = ipaddress.ip_network("fc00::/7")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")
_COMPATIBLE = ipaddress.ip_network("::/96")


async def system_resolver(host: str, port: int) -> list[str]:
    """The event loop's ``getaddrinfo`` (TCP addresses only)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


@dataclass(frozen=True)
class Destination:
    """A URL checked for egress: what to send, and the one address to dial."""

    url: str
    """The URL as given (redirects are joined against it)."""
    scheme: str
    host: str
    """The host name (ASCII, IDNA) for the Host header and TLS, or the address it spells."""
    port: int
    target: str
    """Path and query."""
    address: IPAddress
    """The checked address; the connection goes here and nowhere else."""

    @property
    def host_header(self) -> str:
        """``host`` with the port when it is not the scheme's default."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if DEFAULT_PORTS[self.scheme] == self.port else f"{host}:{self.port}"


@dataclass(frozen=True)
class EgressPolicy:
    """Which addresses may be fetched from, and how host names are resolved.

    ``allow_loopback`` (the setting ``service.egress_allow_loopback``) admits loopback, for
    local development; ``allow_private`` admits every address and is only for a local caller
    (the CLI, MCP over stdio), who can reach this machine's network anyway: never a setting.
    ``resolver`` and ``dial`` are seams for tests.
    """

    allow_loopback: bool = False
    allow_private: bool = False
    resolver: Resolver = system_resolver
    dial: Dial | None = None
    max_redirects: int = 5

    def local(self) -> EgressPolicy:
        """This policy for a local caller: every address admitted, the same resolver."""
        return EgressPolicy(True, True, self.resolver, self.dial, self.max_redirects)

    def connect_host(self, address: IPAddress) -> str:
        """The host to connect to for ``address``: itself, unless a test hook says otherwise."""
        return self.dial(address) if self.dial is not None else str(address)

    async def destination(self, url: str, field: str, *, label: str | None = None) -> Destination:
        """Parse ``url``, resolve its host once and refuse any address that is not admitted.

        ``label`` is how messages name the URL (a redirect says where it came from).

        Raises:
            RequestValidationError: not an http(s) URL with a host, the host does not
                resolve, or one of its addresses is not public (``field`` names it).
        """
        scheme, host, port, target = _split(url, field)
        addresses = await self._resolve(host, port, label or url, field)
        for address in addresses:
            self._admit(address, host, label or url, field)
        return Destination(url, scheme, host, port, target, addresses[0])

    async def check(self, url: str, field: str) -> None:
        """Refuse ``url`` as :meth:`destination` would (for a URL fetched later, or by Meta).

        Raises:
            RequestValidationError: as :meth:`destination`.
        """
        await self.destination(url, field)

    async def _resolve(self, host: str, port: int, url: str, field: str) -> list[IPAddress]:
        literal = ip_literal(host)
        if literal is not None:
            return [literal]
        try:
            answers = await self.resolver(host, port)
            addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in answers]
        except (OSError, UnicodeError, ValueError) as error:
            reason = getattr(error, "strerror", None) or error
            message = f"{url} names {host}, which does not resolve ({reason})"
            raise _refused(field, message) from None
        if not addresses:
            raise _refused(field, f"{url} names {host}, which resolves to no address")
        return addresses

    def _admit(self, address: IPAddress, host: str, url: str, field: str) -> None:
        reason = refusal(address)
        if reason is None or self.allow_private:
            return
        loopback = reason.endswith("loopback address")
        if loopback and self.allow_loopback:
            return
        verb = "names" if ip_literal(host) is not None else "resolves to"
        hint = LOOPBACK_HINT if loopback else ""
        raise _refused(field, f"{url} {verb} {address}, {reason}; {PUBLIC_ONLY}{hint}")


def ip_literal(host: str) -> IPAddress | None:
    """The address ``host`` spells (any IPv4 form a resolver accepts, or IPv6), else None."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _LEGACY_IPV4.match(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def refusal(address: IPAddress) -> str | None:
    """Why ``address`` is not a public address (``"a loopback address"``...), or None."""
    if isinstance(address, ipaddress.IPv4Address):
        return _refusal_v4(address)
    embedded = _embedded_v4(address)
    if embedded is not None:
        form, inner = embedded
        reason = _refusal_v4(inner)
        return None if reason is None else f"{form} form of {inner}, {reason}"
    return _refusal_v6(address)


def _refusal_v4(address: ipaddress.IPv4Address) -> str | None:
    checks = (
        (address.is_unspecified or address in ipaddress.ip_network("0.0.0.0/8"), "unspecified"),
        (address.is_loopback, "loopback"),
        (address.is_link_local, "link-local"),
        (address.is_multicast, "multicast"),
        (address in _SHARED, "shared (CGNAT, 100.64.0.0/10)"),
        (any(address in n for n in _PRIVATE_V4), "private"),
        (address.is_reserved or not address.is_global, "reserved"),
    )
    return _first(checks)


def _refusal_v6(address: ipaddress.IPv6Address) -> str | None:
    checks = (
        (address.is_unspecified, "unspecified"),
        (address.is_loopback, "loopback"),
        (address.is_link_local, "link-local"),
        (address.is_multicast, "multicast"),
        (address in _UNIQUE_LOCAL or address.is_site_local, "private"),
        (address in _NAT64_LOCAL or address.is_reserved or not address.is_global, "reserved"),
    )
    return _first(checks)


def _first(checks: tuple[tuple[bool, str], ...]) -> str | None:
    for failed, kind in checks:
        if failed:
            article = "an" if kind[0] in "aeiou" else "a"
            return f"{article} {kind} address"
    return None


def _embedded_v4(address: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    """The IPv4 address an IPv6 form carries, and the form's name."""
    low = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.ipv4_mapped is not None:
        return "an IPv4-mapped", address.ipv4_mapped
    if address in _TRANSLATED:
        return "an IPv4-translated", low
    if address in _COMPATIBLE and int(address) > 1:
        return "an IPv4-compatible", low
    if address.sixtofour is not None:
        return "a 6to4", address.sixtofour
    if address in _NAT64:
        return "a NAT64", low
    if address.teredo is not None:
        return "a Teredo", address.teredo[1]
    return None


def _split(url: str, field: str) -> tuple[str, str, int, str]:
    """Scheme, ASCII host, port and path-and-query of an http(s) URL."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError as error:
        raise _refused(field, f"{url!r} is not a valid URL ({error})") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not host:
        raise _refused(field, f"{url!r} is not an http(s) URL with a host")
    try:
        ascii_host = host.encode("idna").decode("ascii").rstrip(".")
    except UnicodeError:
        raise _refused(field, f"{url!r} has an invalid host name") from None
    literal = ip_literal(ascii_host)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host_out = str(literal) if literal is not None else ascii_host
    return scheme, host_out, port or DEFAULT_PORTS[scheme], target


def _refused(field: str, message: str) -> RequestValidationError:
    return RequestValidationError(f"{field}: {message}", field=field)
