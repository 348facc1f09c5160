"""The AssetAgent over the real client stack and the sandbox: checks, dedupe, batch, videos."""

from __future__ import annotations

import base64
import hashlib
import io
import random
import re
from pathlib import Path

import pytest
import structlog
from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from meta_agent.agents import assets as assets_module
from meta_agent.agents.assets import AssetAgent, ImageAsset, Placement, VideoAsset
from meta_agent.cache.memory import MemoryCache
from meta_agent.egress import EgressPolicy, IPAddress
from meta_agent.errors import RequestValidationError
from meta_agent.graph.client import GraphClient
from meta_agent.graph.transport import DownloadError
from meta_agent.sandbox import ManualClock, Sandbox, parse_fault_spec
from tests.conftest import INR_ACCOUNT, LiveServer

DIGITS = INR_ACCOUNT.removeprefix("act_")
# An MP4 header (size + "ftyp" box), then filler: enough for the container checks.
VIDEO = b"\x00\x00\x00\x18ftypmp42" + random.Random(7).randbytes(300_000)


def picture(width: int = 1080, height: int = 1080, shade: int = 0, fmt: str = "PNG") -> bytes:
    """A real image of one colour, encoded by Pillow."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (shade, 90, 160)).save(buffer, format=fmt)
    return buffer.getvalue()


def md5(content: bytes) -> str:
    """Meta's image hash of ``content``."""
    return hashlib.md5(content, usedforsecurity=False).hexdigest()


def calls(sandbox: Sandbox, method: str, edge: str = "adimages") -> int:
    """Requests the sandbox served for ``method`` on the account's ``edge``."""
    return sum(
        count
        for route, count in sandbox.counters.by_route.items()
        if route.startswith(f"{method} ") and route.endswith(f"/{edge}")
    )


def library(sandbox: Sandbox) -> set[str]:
    """Hashes of the live images in the INR account's library."""
    return {
        record["hash"]
        for record in sandbox.state.of_kind("adimage", account_id=DIGITS)
        if record.get("status") != "DELETED"
    }


async def test_upload_from_bytes(asset_agent: AssetAgent, sandbox: Sandbox) -> None:
    """Raw bytes go up once; the result carries Meta's hash (the MD5), size and URL."""
    content = picture(1200, 628)
    result = await asset_agent.upload_image(INR_ACCOUNT, ImageAsset(data=content, name="Hero"))
    assert (result.hash, result.width, result.height) == (md5(content), 1200, 628)
    assert result.name == "Hero.png"
    assert result.url
    assert not result.reused
    assert library(sandbox) == {md5(content)}


async def test_upload_from_path(asset_agent: AssetAgent, tmp_path: Path) -> None:
    """A file on disk is read and uploaded under its file name."""
    path = tmp_path / "summer.jpg"
    path.write_bytes(picture(1080, 1350, fmt="JPEG"))
    result = await asset_agent.upload_image(INR_ACCOUNT, {"path": str(path)})
    assert (result.name, result.hash) == ("summer.jpg", md5(path.read_bytes()))


@pytest.mark.parametrize("prefix", ["", "data:image/png;base64,"])
async def test_upload_from_base64(asset_agent: AssetAgent, prefix: str) -> None:
    """Base64 text (plain or a data: URI) is decoded to the same bytes, so the same hash."""
    content = picture(shade=3)
    text = prefix + base64.b64encode(content).decode()
    result = await asset_agent.upload_image(INR_ACCOUNT, {"data": text})
    assert result.hash == md5(content)
    assert result.name == f"{md5(content)}.png"


async def test_same_bytes_twice_upload_once(asset_agent: AssetAgent, sandbox: Sandbox) -> None:
    """The second upload of the same bytes is answered from the cache: no request at all."""
    content = picture(shade=5)
    first = await asset_agent.upload_image(INR_ACCOUNT, ImageAsset(data=content))
    before = sandbox.counters.total
    second = await asset_agent.upload_image(INR_ACCOUNT, ImageAsset(data=content))
    assert sandbox.counters.total == before
    assert (second.hash, second.reused, first.reused) == (first.hash, True, False)


async def test_image_already_in_account_is_reused(
    graph_client: GraphClient, sandbox: Sandbox
) -> None:
    """Without a cache hit, the account's library is asked by hash and the upload skipped."""
    content = picture(shade=7)
    await graph_client.images.upload_bytes(INR_ACCOUNT, content, name="earlier.png")
    posts = calls(sandbox, "POST")
    result = await AssetAgent(graph_client).upload_image(INR_ACCOUNT, ImageAsset(data=content))
    assert calls(sandbox, "POST") == posts
    assert (result.reused, result.name, result.hash) == (True, "earlier.png", md5(content))


async def test_cache_is_per_account(asset_agent: AssetAgent, sandbox: Sandbox) -> None:
    """An image cached for one account is still uploaded to another."""
    content = picture(shade=9)
    await asset_agent.upload_image(INR_ACCOUNT, ImageAsset(data=content))
    other = await asset_agent.upload_image("9876543210", ImageAsset(data=content))
    assert not other.reused
    assert calls(sandbox, "POST") == 2


def _damaged(content: bytes) -> bytes:
    """``content`` with one byte flipped halfway through (a PNG's chunk CRC no longer holds)."""
    flipped = bytearray(content)
    flipped[len(content) // 2] ^= 0xFF
    return bytes(flipped)


@pytest.mark.parametrize(
    "content",
    [
        b"definitely not an image",
        picture()[:400],
        picture(fmt="JPEG")[:-300],
        _damaged(picture(1200, 628, shade=3)),
    ],
    ids=["garbage", "truncated", "truncated-jpeg", "damaged-png"],
)
async def test_corrupt_image_refused_naming_the_field(
    asset_agent: AssetAgent, sandbox: Sandbox, content: bytes
) -> None:
    """Unreadable or truncated data is refused before any request, naming asset.data."""
    with pytest.raises(RequestValidationError, match="not a readable image") as caught:
        await asset_agent.upload_image(INR_ACCOUNT, ImageAsset(data=content))
    assert caught.value.field == "asset.data"
    assert sandbox.counters.total == 0


async def test_too_small_image_refused(asset_agent: AssetAgent, sandbox: Sandbox) -> None:
    """An image under 600 px wide is an error that says the minimum."""
    with pytest.raises(RequestValidationError, match="at least 600x315") as caught:
        await asset_agent.upload_image(INR_ACCOUNT, ImageAsset(data=picture(400, 400)))
    assert caught.value.field == "asset.data"
    assert sandbox.counters.total == 0


async def test_unsupported_format_refused(asset_agent: AssetAgent) -> None:
    """A format Pillow reads but Meta refuses (ICO) is an error naming the field."""
    with pytest.raises(RequestValidationError, match="ICO images are not accepted") as caught:
        await asset_agent.upload_image(INR_ACCOUNT, {"data": picture(256, 256, fmt="ICO")})
    assert caught.value.field == "asset.data"


async def test_aspect_ratio_outside_placement_warns(asset_agent: AssetAgent) -> None:
    """A 9:16 image warns for feed (it will be cropped) yet uploads; for stories it fits."""
    tall = picture(1080, 1920)
    with structlog.testing.capture_logs() as logs:
        feed = await asset_agent.upload_image(INR_ACCOUNT, ImageAsset(data=tall))
    assert len(feed.warnings) == 1
    assert "for feed" in feed.warnings[0]
    assert [e["event"] for e in logs if e["log_level"] == "warning"] == ["asset.image.warning"]
    stories = ImageAsset(data=tall, placements=(Placement.STORIES, Placement.REELS))
    assert (await asset_agent.upload_image(INR_ACCOUNT, stories)).warnings == ()


async def test_low_resolution_warns(asset_agent: AssetAgent) -> None:
    """Over the minimum but under 1080 px wide is a warning, not an error."""
    result = await asset_agent.upload_image(INR_ACCOUNT, ImageAsset(data=picture(800, 800)))
    assert any("recommended 1080" in w for w in result.warnings)


async def test_six_images_with_a_duplicate(asset_agent: AssetAgent, sandbox: Sandbox) -> None:
    """Six inputs, five distinct: one lookup and one multipart upload, results in input order."""
    contents = [picture(shade=10 * i) for i in range(5)]
    inputs = [*contents[:3], contents[1], *contents[3:]]
    results = await asset_agent.upload_images(INR_ACCOUNT, [ImageAsset(data=c) for c in inputs])
    assert [r.hash for r in results] == [md5(c) for c in inputs]
    assert [r.reused for r in results] == [False, False, False, True, False, False]
    assert (calls(sandbox, "GET"), calls(sandbox, "POST")) == (1, 1)
    assert library(sandbox) == {md5(c) for c in contents}


async def test_batch_mixes_cached_known_and_new(
    asset_agent: AssetAgent, graph_client: GraphClient, sandbox: Sandbox
) -> None:
    """Cached images need no lookup, the account's are not re-sent, only new ones go up."""
    cached, known, new = picture(shade=1), picture(shade=2), picture(shade=4)
    await asset_agent.upload_image(INR_ACCOUNT, ImageAsset(data=cached))
    await graph_client.images.upload_bytes(INR_ACCOUNT, known)
    sandbox.counters.by_route.clear()
    results = await asset_agent.upload_images(
        INR_ACCOUNT, [{"data": cached}, {"data": known}, {"data": new}]
    )
    assert [r.reused for r in results] == [True, True, False]
    assert (calls(sandbox, "GET"), calls(sandbox, "POST")) == (1, 1)


async def test_one_bad_image_stops_the_whole_batch(
    asset_agent: AssetAgent, sandbox: Sandbox
) -> None:
    """Every image is checked before anything is sent; the error names the bad item."""
    assets = [ImageAsset(data=picture(shade=i)) for i in range(3)]
    assets.insert(2, ImageAsset(data=b"\x89PNG broken"))
    with pytest.raises(RequestValidationError) as caught:
        await asset_agent.upload_images(INR_ACCOUNT, assets)
    assert caught.value.field == "assets[2].data"
    assert sandbox.counters.total == 0


async def test_same_name_different_images_both_kept(
    asset_agent: AssetAgent, sandbox: Sandbox
) -> None:
    """Meta keys its reply by file name, so same-named files go in separate requests."""
    first, second = picture(shade=20), picture(shade=21)
    results = await asset_agent.upload_images(
        INR_ACCOUNT, [{"data": first, "name": "ad.png"}, {"data": second, "name": "ad.png"}]
    )
    assert [r.hash for r in results] == [md5(first), md5(second)]
    assert calls(sandbox, "POST") == 2


async def test_dropped_upload_is_reconciled_not_duplicated(
    asset_agent: AssetAgent, sandbox: Sandbox
) -> None:
    """An upload whose reply was lost is confirmed by hash, not sent again."""
    sandbox.faults.replace(
        parse_fault_spec("drop_after_commit:method=POST,path=act_*/adimages,nth=1")
    )
    contents = [picture(shade=30), picture(shade=31)]
    with structlog.testing.capture_logs() as logs:
        results = await asset_agent.upload_images(INR_ACCOUNT, [{"data": c} for c in contents])
    assert [r.hash for r in results] == [md5(c) for c in contents]
    reconciled = [e for e in logs if e["event"] == "asset.image.reconciled"]
    assert [(e["landed"], e["resent"]) for e in reconciled] == [(2, 0)]
    assert calls(sandbox, "POST") == 1
    assert library(sandbox) == {md5(c) for c in contents}


@pytest.mark.parametrize(
    ("value", "field", "fix"),
    [
        ({}, "asset", "exactly one of path, url or data"),
        ({"data": b"x", "url": "https://example.com/a.png"}, "asset", "got url, data"),
        ({"data": "not base64!"}, "asset.data", "must be base64"),
        ({"url": "ftp://example.com/a.png"}, "asset.url", "http(s) address"),
        ({"path": "/nonexistent/a.png"}, "asset.path", "give an existing file"),
        ({"data": b"x", "name": "n" * 101}, "asset.name", "at most 100"),
    ],
)
async def test_invalid_asset_names_field_and_fix(
    asset_agent: AssetAgent, value: dict[str, object], field: str, fix: str
) -> None:
    """A bad asset is a RequestValidationError naming the field and saying what to do."""
    with pytest.raises(RequestValidationError, match=re.escape(fix)) as caught:
        await asset_agent.upload_image(INR_ACCOUNT, value)
    assert caught.value.field == field


async def test_url_image_downloaded_with_injected_fetch(
    graph_client: GraphClient, asset_cache: MemoryCache
) -> None:
    """A URL is fetched by the agent's downloader (capped at 30 MB) and the bytes uploaded."""
    content = picture(shade=40)
    seen: list[tuple[str, int]] = []

    async def fetch(url: str, limit: int) -> bytes:
        seen.append((url, limit))
        if url.endswith("missing.png"):
            raise DownloadError("the server answered HTTP 404")
        return content

    agent = AssetAgent(graph_client, asset_cache, fetch=fetch)
    result = await agent.upload_image(INR_ACCOUNT, {"url": "https://cdn.example/p/hero.png"})
    assert (result.hash, result.name) == (md5(content), "hero.png")
    assert seen == [("https://cdn.example/p/hero.png", 30 * 1024 * 1024)]
    with pytest.raises(RequestValidationError, match="HTTP 404") as caught:
        await agent.upload_image(INR_ACCOUNT, {"url": "https://cdn.example/missing.png"})
    assert caught.value.field == "asset.url"


async def test_url_image_downloaded_over_loopback(asset_agent: AssetAgent) -> None:
    """The default downloader fetches over real HTTP; an error status names asset.url."""
    content = picture(shade=50)

    async def serve(request: Request) -> Response:
        found = request.path_params["name"] == "hero.png"
        return Response(content if found else b"", status_code=200 if found else 404)

    with LiveServer(Starlette(routes=[Route("/{name}", serve)])) as server:
        result = await asset_agent.upload_image(INR_ACCOUNT, {"url": f"{server.url}/hero.png"})
        with pytest.raises(RequestValidationError, match="HTTP 404") as caught:
            await asset_agent.upload_image(INR_ACCOUNT, {"url": f"{server.url}/gone.png"})
    assert result.hash == md5(content)
    assert caught.value.field == "asset.url"


async def test_delete_image_forgets_it(asset_agent: AssetAgent, sandbox: Sandbox) -> None:
    """A deleted image leaves the library and the cache, so uploading it again sends it."""
    content = picture(shade=60)
    first = await asset_agent.upload_image(INR_ACCOUNT, ImageAsset(data=content))
    await asset_agent.delete_image(INR_ACCOUNT, first.hash)
    assert library(sandbox) == set()
    again = await asset_agent.upload_image(INR_ACCOUNT, ImageAsset(data=content))
    assert not again.reused
    assert calls(sandbox, "POST") == 2


async def test_video_upload_waits_until_ready(
    asset_agent: AssetAgent, sandbox: Sandbox, clock: ManualClock, tmp_path: Path
) -> None:
    """A small file goes up in chunks; with wait_ready the result is ready, on sandbox time."""
    path = tmp_path / "brew.mp4"
    path.write_bytes(VIDEO)
    started = clock.now()
    asset = VideoAsset(path=path, title="Brew guide", name="brew-v1")
    result = await asset_agent.upload_video(INR_ACCOUNT, asset, wait_ready=True)
    record = sandbox.state.get(result.id)
    assert (result.title, result.status) == ("Brew guide", "ready")
    assert (record["title"], record["name"], record["size"]) == (
        "Brew guide",
        "brew-v1",
        len(VIDEO),
    )
    assert clock.now() - started >= sandbox.config.video_processing_seconds


async def test_video_upload_without_waiting(asset_agent: AssetAgent, tmp_path: Path) -> None:
    """Without wait_ready the video comes back still processing."""
    path = tmp_path / "clip.mov"
    path.write_bytes(VIDEO)
    result = await asset_agent.upload_video(INR_ACCOUNT, {"path": path, "title": "Clip"})
    assert result.status == "processing"


async def test_video_from_url_is_fetched_by_meta(asset_agent: AssetAgent, sandbox: Sandbox) -> None:
    """A video URL goes to Meta as file_url in one request, then is polled until ready."""
    asset = {"url": "https://cdn.example/v/launch.mp4", "title": "Launch"}
    result = await asset_agent.upload_video(INR_ACCOUNT, asset, wait_ready=True)
    assert result.status == "ready"
    assert sandbox.state.get(result.id)["file_url"] == asset["url"]
    assert calls(sandbox, "POST", "advideos") == 1


@pytest.mark.parametrize(
    ("name", "content", "fix"),
    [
        ("notes.txt", VIDEO, "not a video file Meta accepts"),
        ("fake.mp4", b"hello, this is text" * 10, "does not start like a .mp4"),
        ("empty.mp4", b"", "file is empty"),
    ],
)
async def test_bad_video_refused_before_upload(
    asset_agent: AssetAgent,
    sandbox: Sandbox,
    tmp_path: Path,
    name: str,
    content: bytes,
    fix: str,
) -> None:
    """Extension, container and size are checked locally, naming asset.path."""
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(RequestValidationError, match=fix) as caught:
        await asset_agent.upload_video(INR_ACCOUNT, VideoAsset(path=path, title="x"))
    assert caught.value.field == "asset.path"
    assert sandbox.counters.total == 0


async def test_a_remote_caller_cannot_make_the_server_read_its_files(
    graph_client: GraphClient, tmp_path: Path
) -> None:
    """With local files off (HTTP, MCP over HTTP), a path asset is refused naming the field."""
    secret = tmp_path / "server-only.png"
    secret.write_bytes(b"not for you")
    agent = AssetAgent(graph_client, local_files=False)
    with pytest.raises(RequestValidationError) as caught:
        await agent.upload_image(INR_ACCOUNT, {"path": str(secret)})
    assert caught.value.field == "asset.path"
    assert "base64" in caught.value.message


async def test_a_remote_caller_cannot_make_the_server_fetch_from_its_own_network(
    graph_client: GraphClient,
) -> None:
    """With local files off, an image URL on loopback is refused before any download."""
    agent = AssetAgent(graph_client, local_files=False)
    with pytest.raises(RequestValidationError) as caught:
        await agent.upload_image(INR_ACCOUNT, {"url": "http://127.0.0.1:9/metadata.png"})
    assert caught.value.field == "asset.url"
    assert "a loopback address; meta-agent fetches only public addresses" in caught.value.message


def public_cdn(names: dict[str, str]) -> EgressPolicy:
    """A guard resolving ``names`` locally; the public-looking 93.184.216.34 is dialed on loopback."""

    async def resolve(host: str, port: int) -> list[str]:
        return [names[host]]

    def dial(address: IPAddress) -> str:
        return "127.0.0.1" if str(address) == "93.184.216.34" else str(address)

    return EgressPolicy(resolver=resolve, dial=dial)


async def test_a_remote_callers_image_url_is_fetched_from_the_checked_address(
    graph_client: GraphClient,
) -> None:
    """A remote caller's public image URL is downloaded, dialed at the address the guard checked."""
    content = picture(shade=70)
    hosts: list[str] = []

    async def serve(request: Request) -> Response:
        hosts.append(request.headers["host"])
        return Response(content)

    with LiveServer(Starlette(routes=[Route("/{name}", serve)])) as server:
        port = server.url.rsplit(":", 1)[1]
        egress = public_cdn({"cdn.test": "93.184.216.34"})
        agent = AssetAgent(graph_client, local_files=False, egress=egress)
        result = await agent.upload_image(INR_ACCOUNT, {"url": f"http://cdn.test:{port}/a.png"})
    assert result.hash == md5(content)
    assert hosts == [f"cdn.test:{port}"]


async def test_a_remote_callers_redirect_to_loopback_is_refused_naming_the_field(
    graph_client: GraphClient,
) -> None:
    """A public image URL that redirects to loopback is refused at the hop, naming asset.url."""
    reached: list[str] = []

    async def redirect(request: Request) -> Response:
        return Response(status_code=302, headers={"location": "http://127.0.0.1:9/admin"})

    async def admin(request: Request) -> Response:
        reached.append(request.url.path)
        return Response(b"")

    routes = [Route("/a.png", redirect), Route("/admin", admin)]
    with LiveServer(Starlette(routes=routes)) as server:
        port = server.url.rsplit(":", 1)[1]
        agent = AssetAgent(
            graph_client, local_files=False, egress=public_cdn({"cdn.test": "93.184.216.34"})
        )
        with pytest.raises(RequestValidationError, match="a redirect from") as caught:
            await agent.upload_image(INR_ACCOUNT, {"url": f"http://cdn.test:{port}/a.png"})
    assert caught.value.field == "asset.url"
    assert reached == []


async def test_a_remote_callers_video_url_on_a_private_address_is_refused(
    graph_client: GraphClient, sandbox: Sandbox
) -> None:
    """A remote caller's video file_url on the metadata address never reaches Meta."""
    agent = AssetAgent(graph_client, local_files=False)
    asset = {"url": "http://169.254.169.254/latest/v.mp4", "title": "x"}
    with pytest.raises(RequestValidationError, match="link-local") as caught:
        await agent.upload_video(INR_ACCOUNT, asset)
    assert caught.value.field == "asset.url"
    assert sandbox.counters.total == 0


async def test_an_image_checked_once_is_not_decoded_again(
    asset_agent: AssetAgent, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The checks are a function of the bytes: a second launch of the same image (the warm
    path) neither decodes it again nor looks it up (the cache knows it is on the account)."""
    content = picture(shade=77)
    first = await asset_agent.check_images(INR_ACCOUNT, [ImageAsset(data=content)])
    await asset_agent.remember(first, [md5(content)])
    decoded: list[bytes] = []
    original = assets_module.inspect_image

    def counted(data: bytes, *args: object) -> object:
        decoded.append(data)
        return original(data, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(assets_module, "inspect_image", counted)
    lookups = calls(sandbox, "GET")
    again = await asset_agent.check_images(INR_ACCOUNT, [ImageAsset(data=content)])
    assert decoded == []
    assert calls(sandbox, "GET") == lookups
    assert again.missing() == []
    assert again.hashes() == [md5(content)]
