"""Every object type Meta's SDK describes, read through the SDK on every live version.

For each type in ``sdk_fields.json`` the suite gets an instance from the sandbox (created
through the SDK where the SDK creates one, else a listed or seeded one), reads it with every field of
the SDK's ``Field`` class, and calls every ``get_<edge>()`` the SDK class defines, loading the
cursor's first page. A type the sandbox cannot produce an instance of is skipped with the
reason, so the suite covers it as soon as the sandbox serves it.

``measure()`` is what ``scripts/compat_table.py`` prints the README's figures from.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import requests
from facebook_business.adobjects.abstractcrudobject import AbstractCrudObject
from facebook_business.adobjects.abstractobject import AbstractObject
from facebook_business.adobjects.adaccount import AdAccount
from facebook_business.adobjects.adimage import AdImage
from facebook_business.adobjects.adreportrun import AdReportRun
from facebook_business.adobjects.advideo import AdVideo
from facebook_business.adobjects.campaign import Campaign
from facebook_business.adobjects.page import Page
from facebook_business.adobjects.user import User
from facebook_business.api import Cursor, FacebookAdsApi
from facebook_business.exceptions import FacebookError, FacebookRequestError

from meta_agent import versions
from meta_agent.interfaces.walkthrough import solid_png
from meta_agent.sandbox import SandboxConfig
from meta_agent.sandbox.state import PIXEL_ID, USER_ID
from tests.compat.test_official_sdk import TARGETING, Harness
from tests.conftest import INR_ACCOUNT, PAGE_ID

pytestmark = pytest.mark.compat

ROOT = Path(__file__).resolve().parents[2]
DATA_FILE = ROOT / "src/meta_agent/sandbox/data/sdk_fields.json"
TABLE_SCRIPT = ROOT / "scripts" / "compat_table.py"
SDK_OBJECTS: dict[str, Any] = json.loads(DATA_FILE.read_text())["objects"]


# How far the suite moves the sandbox's clock (three days of delivery, and a little more).
SIMULATED_DAYS = 4


def live_versions(today: datetime | None = None) -> list[str]:
    """The versions Meta serves for ads on the day and on every day the suite's clock reaches:
    released, and not past their sunset (a version in its last days is left out, since the
    sandbox would serve its calls as the next version once its clock passed the sunset)."""
    start = (today or datetime.now(UTC)).date()
    end = start + timedelta(days=SIMULATED_DAYS)
    return [v.name for v in versions.VERSIONS if v.released <= start and not v.is_sunset(end)]


class NoInstanceError(Exception):
    """The sandbox cannot produce an instance of a type; the message says what is missing."""


# -- the SDK's classes, fields and edge readers -------------------------------------------

_MODULES = {name: name.lower() for name in SDK_OBJECTS}
_GET_EDGE = re.compile(r"method='GET',\s*endpoint='/(\w+)'")


@cache
def sdk_class(name: str) -> type[AbstractObject]:
    """The SDK class for a type name (``AdAccount`` -> facebook_business...adaccount)."""
    module = importlib.import_module(f"facebook_business.adobjects.{_MODULES[name]}")
    cls: type[AbstractObject] = getattr(module, name)
    return cls


@cache
def sdk_fields(name: str) -> tuple[str, ...]:
    """Every field name of the SDK class's ``Field`` class."""
    return tuple(sorted(SDK_OBJECTS[name]["fields"]))


@cache
def edge_readers(name: str) -> dict[str, str]:
    """Edge name -> the SDK's ``get_*`` method that reads it (as scripts/sdk_fields.py finds
    them), for every GET edge the SDK class defines."""
    cls = sdk_class(name)
    readers = {}
    for attr in sorted(vars(cls)):
        if attr.startswith("get_"):
            match = _GET_EDGE.search(inspect.getsource(getattr(cls, attr)))
            if match is not None:
                readers[match.group(1)] = attr
    assert set(readers) == set(SDK_OBJECTS[name]["edges"]), name
    return readers


# -- what Meta requires on edges that refuse a bare read ----------------------------------


def edge_params(name: str, edge: str, labels: list[str]) -> dict[str, Any]:
    """The parameters Meta requires on an edge, as the SDK passes them (none for most);
    ``labels`` are ad label ids for the ``*bylabels`` edges (none while the sandbox has none)."""
    optimization = {"optimization_goal": "LINK_CLICKS", "targeting_spec": TARGETING}
    required: dict[tuple[str, str], dict[str, Any]] = {
        ("AdAccount", "delivery_estimate"): optimization,
        ("AdSet", "delivery_estimate"): {"optimization_goal": "LINK_CLICKS"},
        ("AdAccount", "reachestimate"): {"targeting_spec": TARGETING},
        ("AdAccount", "targetingsearch"): {"q": "cricket"},
        ("AdAccount", "generatepreviews"): {
            "creative": {"object_story_id": f"{PAGE_ID}_1"},
            "ad_format": "DESKTOP_FEED_STANDARD",
        },
        ("Ad", "previews"): {"ad_format": "DESKTOP_FEED_STANDARD"},
        ("AdCreative", "previews"): {"ad_format": "DESKTOP_FEED_STANDARD"},
    }
    params = dict(required.get((name, edge), {}))
    if edge.endswith("bylabels") and labels:
        params["ad_label_ids"] = labels
    if edge == "picture":
        params["redirect"] = False  # JSON, not the image bytes the SDK cannot parse
    return params


# -- instances ------------------------------------------------------------------------------


# Types the SDK reads only as the rows of the edge that lists them (no api_get): listed again
# on each version, with every SDK field, so each version's read is its own.
LISTED = frozenset({"AdActivity", "AdAccountUser", "AdsInsights", "VideoThumbnail"})


class Instances:
    """One instance of each type, made on first use and reused across versions."""

    def __init__(self, harness: Harness, workdir: Path) -> None:
        self.harness = harness
        self.workdir = workdir
        self._made: dict[str, AbstractObject | NoInstanceError] = {}

    def get(self, name: str) -> AbstractObject:
        """The instance of ``name``, or NoInstanceError naming what the sandbox lacks."""
        if name not in self._made or name in LISTED:
            maker = self._makers().get(name)
            try:
                if maker is None:
                    raise NoInstanceError(f"the suite has no way to make a {name}")
                self._made[name] = _as_sdk_class(name, maker())
            except NoInstanceError as missing:
                self._made[name] = missing
        made = self._made[name]
        if isinstance(made, NoInstanceError):
            raise made
        return made

    def label_ids(self) -> list[str]:
        """The ad label's id, for the edges that select by label; none if there is none."""
        try:
            return [self.id_of("AdLabel")]
        except NoInstanceError:
            return []

    def id_of(self, name: str) -> str:
        """The id of the instance of ``name``."""
        return str(self.get(name)["id"])

    def _makers(self) -> dict[str, Callable[[], AbstractObject]]:
        return {
            "Ad": self._ad,
            "AdAccount": self._ad_account,
            "AdAccountUser": self._ad_account_user,
            "AdActivity": self._ad_activity,
            "AdCreative": self._ad_creative,
            "AdImage": self._ad_image,
            "AdLabel": self._ad_label,
            "AdReportRun": self._ad_report_run,
            "AdRule": self._ad_rule,
            "AdSet": self._ad_set,
            "AdVideo": self._ad_video,
            "AdsInsights": self._ads_insights,
            "AdsPixel": self._ads_pixel,
            "Business": self._business,
            "BusinessUser": self._business_user,
            "Campaign": self._campaign,
            "CustomAudience": self._custom_audience,
            "CustomConversion": self._custom_conversion,
            "Page": self._page,
            "User": self._user,
            "VideoThumbnail": self._video_thumbnail,
        }

    @property
    def account(self) -> AdAccount:
        return AdAccount(INR_ACCOUNT)

    # Types the sandbox seeds.
    def _user(self) -> AbstractObject:
        return User(fbid=USER_ID)

    def _page(self) -> AbstractObject:
        return Page(PAGE_ID)

    def _ad_account(self) -> AbstractObject:
        return self.account

    def _ads_pixel(self) -> AbstractObject:
        return _first(self.account.get_ads_pixels(), "AdsPixel", f"{INR_ACCOUNT}/adspixels") or (
            sdk_class("AdsPixel")(PIXEL_ID)
        )

    def _custom_audience(self) -> AbstractObject:
        account = self.account
        params = {
            "name": "SDK audience",
            "subtype": "CUSTOM",
            "customer_file_source": "USER_PROVIDED_ONLY",
        }
        return self._found(
            "CustomAudience",
            account.get_custom_audiences,
            f"{INR_ACCOUNT}/customaudiences",
            Creation(account.create_custom_audience, params),
        )

    # The ad hierarchy and media, created through the SDK.
    def _campaign(self) -> AbstractObject:
        return self.account.create_campaign(
            params={
                "name": "SDK objects",
                "objective": Campaign.Objective.outcome_traffic,
                "status": Campaign.Status.active,
                "special_ad_categories": [],
                "is_adset_budget_sharing_enabled": False,
            }
        )

    def _ad_set(self) -> AbstractObject:
        return self.account.create_ad_set(
            params={
                "name": "SDK objects",
                "campaign_id": self.id_of("Campaign"),
                "daily_budget": 50000,
                "billing_event": "IMPRESSIONS",
                "optimization_goal": "LINK_CLICKS",
                "targeting": TARGETING,
                "status": "ACTIVE",
            }
        )

    def _ad_image(self) -> AbstractObject:
        path = self.workdir / "sdk-objects.png"
        path.write_bytes(solid_png(1080, 1080, (30, 60, 90)))
        image = self.account.create_ad_image(params={AdImage.Field.filename: str(path)})
        # An image's node id is "<account number>:<hash>".
        node = AdImage(f"{INR_ACCOUNT.removeprefix('act_')}:{image[AdImage.Field.hash]}")
        node[AdImage.Field.hash] = image[AdImage.Field.hash]
        return node

    def _ad_video(self) -> AbstractObject:
        path = self.workdir / "sdk-objects.mp4"
        path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 64)
        video = AdVideo(parent_id=INR_ACCOUNT)
        video[AdVideo.Field.filepath] = str(path)
        video.remote_create()
        self.harness.clock.advance(60)  # past processing, so the video is ready
        return AdVideo(video["id"])

    def _ad_creative(self) -> AbstractObject:
        return self.account.create_ad_creative(
            params={
                "name": "SDK objects",
                "object_story_spec": {
                    "page_id": PAGE_ID,
                    "link_data": {
                        "link": "https://example.com",
                        "message": "Hello",
                        "image_hash": self.get("AdImage")[AdImage.Field.hash],
                        "call_to_action": {"type": "LEARN_MORE"},
                    },
                },
            }
        )

    def _ad(self) -> AbstractObject:
        ad = self.account.create_ad(
            params={
                "name": "SDK objects",
                "adset_id": self.id_of("AdSet"),
                "creative": {"creative_id": self.id_of("AdCreative")},
                "status": "ACTIVE",
            }
        )
        self.harness.clock.advance(3 * 86400)  # three days of delivery, so insights have rows
        return ad

    def _ad_report_run(self) -> AbstractObject:
        self.get("Ad")
        report: AbstractObject = self.account.get_insights(
            fields=["impressions"], params={}, is_async=True
        )
        for _ in range(30):  # the job runs on the sandbox clock; its results need it done
            if report.api_get()[AdReportRun.Field.async_status] == "Job Completed":
                return report
            self.harness.clock.advance(1)
        raise NoInstanceError("the sandbox's async report run did not complete in 30 clock seconds")

    # Types listed from an edge (Meta has no creation for them, or they are rows).
    def _ad_activity(self) -> AbstractObject:
        self.get("Campaign")
        return _listed(self.account.get_activities, "AdActivity", f"{INR_ACCOUNT}/activities")

    def _ad_account_user(self) -> AbstractObject:
        return _listed(self.account.get_users, "AdAccountUser", f"{INR_ACCOUNT}/users")

    def _ads_insights(self) -> AbstractObject:
        self.get("Ad")
        return _listed(
            lambda **kw: self.account.get_insights(
                params={"level": "ad", "date_preset": "last_7d"}, **kw
            ),
            "AdsInsights",
            f"{INR_ACCOUNT}/insights",
        )

    def _video_thumbnail(self) -> AbstractObject:
        video = AdVideo(self.id_of("AdVideo"))
        return _listed(video.get_thumbnails, "VideoThumbnail", f"{video['id']}/thumbnails")

    def _business_user(self) -> AbstractObject:
        user = User(fbid=USER_ID)
        return self._found("BusinessUser", user.get_business_users, "me/business_users")

    def _business(self) -> AbstractObject:
        user = User(fbid=USER_ID)
        return self._found("Business", user.get_businesses, "me/businesses")

    # Types an account creates: listed or seeded first, else created through the SDK.
    def _ad_label(self) -> AbstractObject:
        account = self.account
        return self._found(
            "AdLabel",
            account.get_ad_labels,
            f"{INR_ACCOUNT}/adlabels",
            Creation(account.create_ad_label, {"name": "SDK"}),
        )

    def _custom_conversion(self) -> AbstractObject:
        account = self.account
        params = {
            "name": "SDK purchase",
            "event_source_id": PIXEL_ID,
            "custom_event_type": "PURCHASE",
            "rule": json.dumps({"url": {"i_contains": "thank-you"}}),
        }
        return self._found(
            "CustomConversion",
            account.get_custom_conversions,
            f"{INR_ACCOUNT}/customconversions",
            Creation(account.create_custom_conversion, params),
        )

    def _ad_rule(self) -> AbstractObject:
        account = self.account
        params = {
            "name": "SDK rule",
            "evaluation_spec": {
                "evaluation_type": "SCHEDULE",
                "filters": [
                    {"field": "entity_type", "value": "AD", "operator": "EQUAL"},
                    {"field": "time_preset", "value": "LIFETIME", "operator": "EQUAL"},
                    {"field": "impressions", "value": 100000, "operator": "GREATER_THAN"},
                ],
            },
            "execution_spec": {"execution_type": "PAUSE"},
            "schedule_spec": {"schedule_type": "DAILY"},
        }
        return self._found(
            "AdRule",
            account.get_ad_rules_library,
            f"{INR_ACCOUNT}/adrules_library",
            Creation(account.create_ad_rules_library, params),
        )

    def _found(
        self, name: str, lister: Callable[..., Cursor], where: str, creation: Creation | None = None
    ) -> AbstractObject:
        """The first ``name`` the SDK lists, else one the sandbox holds (its admin listing),
        else one created through the SDK; NoInstanceError saying which of them failed."""
        listed = _first(lister(), name, where)
        if listed is not None:
            return listed
        kind = name.lower()
        seeded = requests.get(
            f"{self.harness.server.url}/_sandbox/objects",
            params={"kind": kind, "live": "true"},
            timeout=10,
        ).json()["data"]
        if seeded:
            return sdk_class(name)(seeded[0]["id"])
        missing = f"GET /{where} is an empty page and /_sandbox/objects holds no {kind!r}"
        if creation is None:
            raise NoInstanceError(f"the sandbox serves no {name}: {missing}")
        try:
            created = creation.create(params=creation.params)
        except FacebookRequestError as error:
            raise NoInstanceError(
                f"the sandbox serves no {name} ({missing}) and refused the SDK's "
                f"{creation.create.__name__}(): ({error.api_error_code()}) "
                f"{error.api_error_message()}"
            ) from error
        return sdk_class(name)(created["id"])


@dataclass(frozen=True)
class Creation:
    """How the SDK creates a type: its ``create_*`` method and the parameters Meta requires."""

    create: Callable[..., AbstractObject]
    params: dict[str, Any]


def _as_sdk_class(name: str, made: AbstractObject) -> AbstractObject:
    """The SDK's own class for an object a create call answered with its base class."""
    cls = sdk_class(name)
    if isinstance(made, cls):
        return made
    return cls(made["id"])


def _first(cursor: Cursor, name: str, where: str) -> AbstractObject | None:
    try:
        first: AbstractObject | None = cursor.get_one()
    except FacebookRequestError as error:
        raise NoInstanceError(
            f"listing {name} ({where}) failed: ({error.api_error_code()}) "
            f"{error.api_error_message()}"
        ) from error
    return first


def _listed(reader: Callable[..., Cursor], name: str, where: str) -> AbstractObject:
    """The first row of an edge that lists ``name``, read with every SDK field of it."""
    row = _first(reader(fields=list(sdk_fields(name))), name, where)
    if row is None:
        raise NoInstanceError(f"the sandbox serves no {name}: GET /{where} is an empty page")
    return row


# -- one measurement ------------------------------------------------------------------------


@dataclass
class Result:
    """What one (type, version) read gave: fields with values, edges that answered."""

    name: str
    version: str
    fields: int
    served: set[str] = field(default_factory=set)
    unexpected: set[str] = field(default_factory=set)
    field_error: str | None = None
    edges: int = 0
    answered: set[str] = field(default_factory=set)
    with_rows: set[str] = field(default_factory=set)
    edge_errors: dict[str, str] = field(default_factory=dict)
    # The facebook-api-version header of each edge's answer: the version that served it.
    served_by: set[str] = field(default_factory=set)

    def checks(self) -> tuple[int, int]:
        """(passed, total): the field read and one per edge."""
        ok = (self.field_error is None) + len(self.answered)
        return ok, 1 + self.edges


def use_version(harness: Harness, version: str) -> None:
    """Point the SDK's default API at the sandbox on ``version``."""
    api = FacebookAdsApi(harness.api._session, api_version=version)
    FacebookAdsApi.set_default_api(api)


def has_node_read(instance: AbstractObject, name: str) -> bool:
    """Whether the SDK reads this type by its id (``api_get``), not only as an edge's rows."""
    return isinstance(instance, AbstractCrudObject) and "api_get" in vars(sdk_class(name))


def on_current_version(instance: AbstractObject, name: str) -> AbstractObject:
    """A fresh object for a node: the SDK binds an object to the API (and so the version) it
    was made under, and a fresh one holds only what this read answers, not a create's.
    (Rows of an edge are listed again on each version, and keep what the listing read.)"""
    if has_node_read(instance, name):
        return sdk_class(name)(instance["id"])
    return instance


def read_fields(instance: AbstractObject, name: str, result: Result) -> None:
    """``api_get`` with every SDK field (types with no node read were read by their edge)."""
    names = list(sdk_fields(name))
    try:
        if has_node_read(instance, name):
            body = instance.api_get(fields=names).export_all_data()
        else:
            body = instance.export_all_data()
    except FacebookError as error:
        result.field_error = _describe(error)
        return
    result.served = {key for key, value in body.items() if key in names and value is not None}
    result.unexpected = set(body) - set(names)


def read_edges(instance: AbstractObject, name: str, result: Result, labels: list[str]) -> None:
    """Every ``get_<edge>()`` of the SDK class, with its first page."""
    readers = edge_readers(name)
    result.edges = len(readers)
    for edge, method in readers.items():
        try:
            # The SDK's edge readers load the first page before they return the cursor.
            cursor = getattr(instance, method)(params=edge_params(name, edge, labels))
        except FacebookError as error:
            result.edge_errors[edge] = _describe(error)
            continue
        result.answered.add(edge)
        if isinstance(cursor, Cursor):
            result.served_by.add(cursor.headers().get("facebook-api-version", "none"))
            if len(cursor) > 0:
                result.with_rows.add(edge)


def _describe(error: FacebookError) -> str:
    if isinstance(error, FacebookRequestError):
        return f"({error.api_error_code()}) {error.api_error_message()}"
    return f"{type(error).__name__}: {error}"


def measure(instances: Instances, name: str, version: str) -> Result:
    """Read one type on one version; raises NoInstanceError when the sandbox has no instance."""
    use_version(instances.harness, version)
    instance = on_current_version(instances.get(name), name)
    result = Result(name, version, fields=len(sdk_fields(name)))
    read_fields(instance, name, result)
    read_edges(instance, name, result, instances.label_ids())
    return result


# -- the suite -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def instances(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Instances]:
    """One sandbox over loopback for the module; instances made on first use."""
    with Harness(SandboxConfig(video_processing_seconds=5)) as harness:
        yield Instances(harness, tmp_path_factory.mktemp("sdk-objects"))


@pytest.mark.parametrize("version", live_versions())
@pytest.mark.parametrize("name", sorted(SDK_OBJECTS))
def test_sdk_reads_every_field_and_edge(instances: Instances, name: str, version: str) -> None:
    """All of the SDK's fields in one read, and each of its edges, answer without an error."""
    try:
        result = measure(instances, name, version)
    except NoInstanceError as missing:
        pytest.skip(f"{name}: {missing}")
    assert result.field_error is None, f"{name} api_get(all SDK fields): {result.field_error}"
    assert not result.unexpected, f"{name}: keys the SDK does not list: {result.unexpected}"
    assert result.served, f"{name}: no SDK field came back with a value"
    assert not result.edge_errors, f"{name} edges: {result.edge_errors}"
    assert result.answered == set(SDK_OBJECTS[name]["edges"])
    if result.edges:
        assert result.served_by == {version}, f"{name}: edges answered by {result.served_by}"


def test_live_versions_follow_the_sunsets() -> None:
    """The versions the suite runs on are the ones Meta serves on the day."""
    assert live_versions(datetime(2026, 12, 3, tzinfo=UTC)) == ["v25.0", "v26.0", "v27.0"]
    assert live_versions(datetime(2026, 11, 6, tzinfo=UTC))[0] == "v24.0"
    # v24.0's last days: the suite's clock would pass its sunset (2026-11-10).
    assert live_versions(datetime(2026, 11, 8, tzinfo=UTC))[0] == "v25.0"
    assert "v27.0" not in live_versions(datetime(2026, 11, 3, tzinfo=UTC))


def _table_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("compat_table_script", TABLE_SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_readme_table_is_current() -> None:
    """README's "Compatibility with Meta's SDK" table holds the figures measured now."""
    script = _table_script()
    live = live_versions()
    table = script.render(script.run(live), live)
    readme = script.README.read_text()
    assert script.with_table(readme, table) == readme, (
        f"README.md's compatibility table is out of date; run: {script.COMMAND} --write"
    )
