"""The egress guard: only public addresses are fetched, and the address checked is the one dialed.

Two raw HTTP servers listen on the same port: "internal" on 127.0.0.1 (what an attacker wants
to reach) and "public" on 127.0.0.2, which stands in for the public address ``PUBLIC``: the
policy's ``dial`` hook (a test seam) connects ``PUBLIC`` there, so no test connects beyond
loopback. Names resolve through a local resolver, never DNS.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

import pytest

from meta_agent.egress import EgressPolicy, IPAddress, system_resolver
from meta_agent.errors import RequestValidationError
from meta_agent.graph.transport import DownloadError, download, fetch

PUBLIC = "93.184.216.34"
FIELD = "data.images[0].url"


@dataclass
class RawServer:
    """An HTTP/1.1 server that counts the connections it accepts and answers by path."""

    host: str
    port: int = 0
    connections: int = 0
    hosts: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Read one request head, answer it, close."""
        self.connections += 1
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        path = head[0].split(" ")[1]
        fields = (line.split(": ", 1) for line in head[1:] if ": " in line)
        headers = {name.lower(): value for name, value in fields}
        self.hosts.append(headers.get("host", ""))
        self.paths.append(path)
        try:
            writer.write(await self.answer(path))
            await writer.drain()
        finally:
            writer.close()

    async def answer(self, path: str) -> bytes:
        """The raw response for ``path``."""
        if path.startswith("/go?to="):
            return (
                f"HTTP/1.1 302 Found\r\nLocation: {path[7:]}\r\nContent-Length: 0\r\n\r\n".encode()
            )
        if path == "/loop":
            return b"HTTP/1.1 302 Found\r\nLocation: /loop\r\nContent-Length: 0\r\n\r\n"
        if path == "/big":  # no length: the body ends when the connection does
            return b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + b"x" * 100_000
        if path == "/declared":
            return b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 100_000
        if path == "/slow":
            await self.release.wait()  # set at teardown: a hang, without a real sleep
        body = f"{self.host} {path}".encode()
        return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)


@pytest.fixture
async def servers() -> AsyncIterator[tuple[RawServer, RawServer]]:
    """The internal (127.0.0.1) and public stand-in (127.0.0.2) servers, on one port."""
    internal, public = RawServer("127.0.0.1"), RawServer("127.0.0.2")
    first = await asyncio.start_server(internal.handle, internal.host, 0)
    port = first.sockets[0].getsockname()[1]
    second = await asyncio.start_server(public.handle, public.host, port)
    internal.port = public.port = port
    try:
        yield internal, public
    finally:
        for server, raw in ((first, internal), (second, public)):
            raw.release.set()
            server.close()
            await server.wait_closed()
        await asyncio.sleep(0)  # let released handlers finish writing and close


@dataclass
class Resolver:
    """Names to addresses; a name with several answers gives the next one on each lookup."""

    names: dict[str, list[list[str]]]
    lookups: list[str] = field(default_factory=list)

    async def __call__(self, host: str, port: int) -> Sequence[str]:
        """The next answer for ``host``; an unknown name does not resolve."""
        self.lookups.append(host)
        answers = self.names.get(host)
        if not answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return answers.pop(0) if len(answers) > 1 else answers[0]


def to_public_server(address: IPAddress) -> str:
    """The dial hook: the public stand-in address is served on 127.0.0.2."""
    return "127.0.0.2" if str(address) == PUBLIC else str(address)


def policy(names: dict[str, list[list[str]]], **options: bool) -> tuple[EgressPolicy, Resolver]:
    """A policy resolving ``names`` locally and dialing ``PUBLIC`` at the public stand-in."""
    resolver = Resolver(names)
    return EgressPolicy(resolver=resolver, dial=to_public_server, **options), resolver


async def get(egress: EgressPolicy, url: str, *, max_bytes: int = 10_000) -> bytes:
    """Download ``url`` through the guard, naming the image field."""
    return await download(url, max_bytes=max_bytes, egress=egress, field=FIELD)


async def test_a_name_resolving_to_loopback_is_refused_before_any_connection(
    servers: tuple[RawServer, RawServer],
) -> None:
    """A name resolving to 127.0.0.1 is refused naming the field; the server accepts nothing."""
    internal, _ = servers
    egress, _ = policy({"intranet.test": [["127.0.0.1"]]})
    with pytest.raises(RequestValidationError) as caught:
        await get(egress, f"http://intranet.test:{internal.port}/admin/reset")
    assert caught.value.field == FIELD
    assert caught.value.message.startswith(f"{FIELD}: http://intranet.test:")
    assert (
        "resolves to 127.0.0.1, a loopback address; meta-agent fetches only public addresses"
        in (caught.value.message)
    )
    assert internal.connections == 0


async def test_one_private_answer_among_public_ones_refuses(
    servers: tuple[RawServer, RawServer],
) -> None:
    """If ANY resolved address is not public the URL is refused, and nothing is dialed."""
    internal, public = servers
    egress, _ = policy({"mixed.test": [[PUBLIC, "10.0.0.5"]]})
    with pytest.raises(RequestValidationError, match=r"10\.0\.0\.5, a private address"):
        await get(egress, f"http://mixed.test:{public.port}/x")
    assert internal.connections + public.connections == 0


async def test_a_public_name_is_dialed_at_its_checked_address_with_its_host_header(
    servers: tuple[RawServer, RawServer],
) -> None:
    """The checked address is dialed; the Host header keeps the name; public redirects work."""
    internal, public = servers
    egress, _ = policy({"cdn.test": [[PUBLIC]]})
    url = f"http://cdn.test:{public.port}/go?to=/img.png"
    assert await get(egress, url) == b"127.0.0.2 /img.png"
    assert public.hosts == [f"cdn.test:{public.port}"] * 2
    assert public.paths == ["/go?to=/img.png", "/img.png"]
    assert internal.connections == 0


@pytest.mark.parametrize(
    "target", ["http://127.0.0.1:{port}/admin", "http://intranet.test:{port}/"]
)
async def test_a_redirect_to_loopback_is_refused_at_the_redirect(
    servers: tuple[RawServer, RawServer], target: str
) -> None:
    """A public first hop that redirects to loopback (literal or by name) is refused there."""
    internal, public = servers
    egress, _ = policy({"cdn.test": [[PUBLIC]], "intranet.test": [["127.0.0.1"]]})
    location = target.format(port=internal.port)
    with pytest.raises(RequestValidationError, match=r"a redirect from http://cdn\.test") as caught:
        await get(egress, f"http://cdn.test:{public.port}/go?to={location}")
    assert caught.value.field == FIELD
    assert "a loopback address" in caught.value.message
    assert (public.connections, internal.connections) == (1, 0)


async def test_dns_rebinding_cannot_reach_loopback(servers: tuple[RawServer, RawServer]) -> None:
    """A resolver answering public then loopback: resolved once, the public answer is dialed."""
    internal, public = servers
    egress, resolver = policy({"rebind.test": [[PUBLIC], ["127.0.0.1"]]})
    body = await get(egress, f"http://rebind.test:{public.port}/img.png")
    assert body == b"127.0.0.2 /img.png"
    assert resolver.lookups == ["rebind.test"]
    assert (public.connections, internal.connections) == (1, 0)


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.1.2.3/x.png",
        "http://172.16.0.1/x.png",
        "http://192.168.0.10/x.png",
        "http://100.64.0.1/x.png",
        "http://127.0.0.1/x.png",
        "http://[::1]/x.png",
        "http://[::ffff:127.0.0.1]/x.png",
        "http://[::ffff:169.254.169.254]/x.png",
        "http://[::127.0.0.1]/x.png",
        "http://[2002:7f00:1::]/x.png",
        "http://[64:ff9b::a00:1]/x.png",
        "http://[fe80::1]/x.png",
        "http://[fd00::1]/x.png",
        "http://0.0.0.0/x.png",
        "http://[::]/x.png",
        "http://224.0.0.1/x.png",
        "http://240.0.0.1/x.png",
        "http://2130706433/x.png",
        "http://0177.0.0.1/x.png",
        "http://0x7f.1/x.png",
        "http://127.1/x.png",
        "file:///etc/passwd",
        "http:///no-host",
    ],
)
async def test_non_public_literals_and_spellings_are_refused(url: str) -> None:
    """Metadata, private, CGNAT, loopback in every spelling and IPv6 form: refused, no lookup."""
    egress, resolver = policy({})
    with pytest.raises(RequestValidationError) as caught:
        await egress.check(url, FIELD)
    assert caught.value.field == FIELD
    assert resolver.lookups == []


@pytest.mark.parametrize(
    "answer", ["::ffff:10.0.0.1", "fe80::1%eth0", "169.254.169.254", "100.100.100.100"]
)
async def test_non_public_answers_from_the_resolver_are_refused(answer: str) -> None:
    """A name whose answer is a mapped, link-local or CGNAT address is refused."""
    egress, _ = policy({"name.test": [[answer]]})
    with pytest.raises(RequestValidationError, match="resolves to"):
        await egress.check("https://name.test/a.png", FIELD)


async def test_public_literals_pass() -> None:
    """Global IPv4 and IPv6 literals pass, with no lookup."""
    egress, resolver = policy({})
    first = await egress.destination("https://8.8.8.8/image.png?v=1", FIELD)
    second = await egress.destination("http://[2606:4700::1111]:8080/a", FIELD)
    assert (str(first.address), first.host_header, first.target) == (
        "8.8.8.8",
        "8.8.8.8",
        "/image.png?v=1",
    )
    assert second.host_header == "[2606:4700::1111]:8080"
    assert resolver.lookups == []


async def test_allowing_loopback_admits_loopback_only() -> None:
    """service.egress_allow_loopback admits 127/8 and ::1; private and link-local stay refused."""
    egress, _ = policy({"localhost": [["127.0.0.1", "::1"]]}, allow_loopback=True)
    await egress.check("http://localhost:8000/hook", FIELD)
    await egress.check("http://[::1]/hook", FIELD)
    for url in ("http://10.0.0.1/", "http://169.254.169.254/", "http://0.0.0.0/"):
        with pytest.raises(RequestValidationError):
            await egress.check(url, FIELD)


async def test_an_unresolvable_name_is_refused_naming_the_field() -> None:
    """A name that does not resolve is a validation error, not a traceback."""
    egress, _ = policy({})
    with pytest.raises(RequestValidationError, match="does not resolve") as caught:
        await egress.check("https://nowhere.test/a.png", FIELD)
    assert caught.value.field == FIELD


async def test_redirects_are_capped(servers: tuple[RawServer, RawServer]) -> None:
    """A redirect loop stops after max_redirects hops, each one checked and dialed."""
    _, public = servers
    egress, resolver = policy({"cdn.test": [[PUBLIC]]})
    with pytest.raises(DownloadError, match="more than 5 redirects"):
        await get(egress, f"http://cdn.test:{public.port}/loop")
    assert public.connections == 6
    assert len(resolver.lookups) == 6


@pytest.mark.parametrize("path", ["/big", "/declared"])
async def test_a_body_over_the_cap_is_cut(servers: tuple[RawServer, RawServer], path: str) -> None:
    """A body past max_bytes (streamed, or declared by Content-Length) is refused."""
    _, public = servers
    egress, _ = policy({"cdn.test": [[PUBLIC]]})
    with pytest.raises(DownloadError, match="larger than 1000 bytes"):
        await get(egress, f"http://cdn.test:{public.port}{path}", max_bytes=1000)


async def test_a_slow_server_hits_the_time_cap(servers: tuple[RawServer, RawServer]) -> None:
    """A server that does not answer is given up on at the total time limit."""
    _, public = servers
    egress, _ = policy({"cdn.test": [[PUBLIC]]})
    started = time.monotonic()
    with pytest.raises(DownloadError, match=r"within 0\.2 s"):
        await download(
            f"http://cdn.test:{public.port}/slow",
            max_bytes=1000,
            egress=egress,
            field=FIELD,
            time_limit=0.2,
        )
    assert time.monotonic() - started < 2


async def test_the_time_cap_covers_resolution() -> None:
    """A resolver that never answers is cut by the same total time limit."""

    async def hang(host: str, port: int) -> list[str]:
        await asyncio.Event().wait()
        return []

    egress = EgressPolicy(resolver=hang)
    with pytest.raises(DownloadError, match=r"within 0\.1 s"):
        await fetch(
            "GET", "http://slow.test/", egress=egress, field=FIELD, max_bytes=10, time_limit=0.1
        )


async def test_a_refused_post_redirect_is_not_followed_when_redirects_are_off(
    servers: tuple[RawServer, RawServer],
) -> None:
    """With follow_redirects off (webhooks) a 302 is the answer, and its target is untouched."""
    internal, public = servers
    egress, _ = policy({"hooks.test": [[PUBLIC]]})
    url = f"http://hooks.test:{public.port}/go?to=http://127.0.0.1:{internal.port}/"
    response = await fetch(
        "POST",
        url,
        egress=egress,
        field="callback_url",
        max_bytes=10,
        time_limit=5,
        content=b"{}",
        follow_redirects=False,
    )
    assert response.status == 302
    assert internal.connections == 0


async def test_the_default_resolver_is_the_loops_getaddrinfo() -> None:
    """system_resolver answers from getaddrinfo (localhost needs no network)."""
    answers = await system_resolver("localhost", 80)
    assert {ipaddress.ip_address(a).is_loopback for a in answers} == {True}
