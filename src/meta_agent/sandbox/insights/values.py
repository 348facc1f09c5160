"""One row's counters rendered as Meta's fields: counters, ratios, money and action lists.

A :class:`View` answers for one row (an entity's segment in one bucket). Identity fields
come from the objects in the entity's chain; ratios are always computed from the row's own
summed counters; action lists carry one entry per action type (and device, when broken
down by ``action_device``; with ``action_target_id`` / ``action_destination`` keys when broken
down by them), with the attribution windows the query asked for.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from meta_agent.sandbox.insights.enums import LEVELS, words
from meta_agent.sandbox.nodes import Record
from meta_agent.sandbox.synth import CONVERSIONS, DEVICES, Counts, allocate

if TYPE_CHECKING:
    from meta_agent.sandbox.insights.layout import Entity, Report


def decimal_text(value: float, places: int = 6) -> str:
    """A number the way insights sends it: a string, at most ``places`` decimals, no padding."""
    text = f"{value:.{places}f}".rstrip("0").rstrip(".")
    return "0" if text in {"", "-0"} else text


# Ratios: numerator, denominator, scale ("spend" is in major units, "reach" is reach).
RATIOS: dict[str, tuple[str, str, float]] = {
    "cpc": ("spend", "clicks", 1),
    "cpm": ("spend", "impressions", 1000),
    "cpp": ("spend", "reach", 1000),
    "ctr": ("clicks", "impressions", 100),
    "frequency": ("impressions", "reach", 1),
    "unique_ctr": ("unique_clicks", "reach", 100),
    "inline_link_click_ctr": ("inline_link_clicks", "impressions", 100),
    "unique_inline_link_click_ctr": ("unique_inline_link_clicks", "reach", 100),
    "unique_link_clicks_ctr": ("unique_inline_link_clicks", "reach", 100),
    "cost_per_inline_link_click": ("spend", "inline_link_clicks", 1),
    "cost_per_unique_click": ("spend", "unique_clicks", 1),
    "cost_per_unique_inline_link_click": ("spend", "unique_inline_link_clicks", 1),
    "cost_per_inline_post_engagement": ("spend", "inline_post_engagement", 1),
}
COUNTERS = (
    "impressions",
    "clicks",
    "unique_clicks",
    "inline_link_clicks",
    "unique_inline_link_clicks",
    "inline_post_engagement",
)
# Single-entry action lists: field → (action_type, numerator, denominator, scale).
SIMPLE_LISTS: dict[str, tuple[str, str, str | None, float]] = {
    "outbound_clicks": ("outbound_click", "outbound_clicks", None, 1),
    "unique_outbound_clicks": ("outbound_click", "unique_outbound_clicks", None, 1),
    "outbound_clicks_ctr": ("outbound_click", "outbound_clicks", "impressions", 100),
    "unique_outbound_clicks_ctr": ("outbound_click", "unique_outbound_clicks", "reach", 100),
    "cost_per_outbound_click": ("outbound_click", "spend", "outbound_clicks", 1),
    "cost_per_unique_outbound_click": ("outbound_click", "spend", "unique_outbound_clicks", 1),
    "website_ctr": ("link_click", "inline_link_clicks", "impressions", 100),
    "video_play_actions": ("video_view", "video_play", None, 1),
    "video_p25_watched_actions": ("video_view", "video_p25", None, 1),
    "video_p50_watched_actions": ("video_view", "video_p50", None, 1),
    "video_p75_watched_actions": ("video_view", "video_p75", None, 1),
    "video_p95_watched_actions": ("video_view", "video_p95", None, 1),
    "video_p100_watched_actions": ("video_view", "video_p100", None, 1),
    "video_thruplay_watched_actions": ("video_view", "video_thruplay", None, 1),
    "video_continuous_2_sec_watched_actions": ("video_view", "a:video_view", None, 1),
    "cost_per_thruplay": ("video_view", "spend", "video_thruplay", 1),
}
ALIASES: dict[str, tuple[str, ...]] = {
    "add_to_cart": ("add_to_cart", "offsite_conversion.fb_pixel_add_to_cart", "omni_add_to_cart"),
    "initiate_checkout": (
        "initiate_checkout",
        "offsite_conversion.fb_pixel_initiate_checkout",
        "omni_initiated_checkout",
    ),
    "purchase": ("offsite_conversion.fb_pixel_purchase", "omni_purchase", "purchase"),
    "lead": ("lead", "onsite_conversion.lead_grouped"),
    "complete_registration": (
        "complete_registration",
        "offsite_conversion.fb_pixel_complete_registration",
        "omni_complete_registration",
    ),
    "landing_page_view": ("landing_page_view", "omni_landing_page_view"),
    "mobile_app_install": ("mobile_app_install", "omni_app_install"),
}
IDENTITY = frozenset(
    words(
        """account_id account_name account_currency campaign_id campaign_name adset_id adset_name
    ad_id ad_name objective optimization_goal buying_type attribution_setting created_time
    updated_time quality_ranking engagement_rate_ranking conversion_rate_ranking date_start
    date_stop"""
    )
)
FILTERABLE_METRICS = frozenset({*COUNTERS, *RATIOS, "spend", "reach"})
# Identity fields that still vary by row: rankings depend on the row's impressions.
RANKINGS = frozenset({"quality_ranking", "engagement_rate_ranking", "conversion_rate_ranking"})


class View:
    """One row's counters seen as Meta's fields."""

    def __init__(self, report: Report, entity: Entity, counts: Counts, reach: int | None) -> None:
        self.report = report
        self.query = report.query
        self.entity = entity
        self.counts = counts
        self.reach = reach
        self.places, self.unit = report.money  # decimals, minor units per major unit

    def value(self, name: str) -> Any:
        """The field's value on this row, or None when Meta would omit it."""
        return getter(name)(self)

    def identity(self, name: str) -> Any:
        """An identity field, computed once per entity (it is the same on all its rows)."""
        known = self.entity.identity
        if name not in known:
            known[name] = self._identity(name)
        return known[name]

    def quantity(self, name: str) -> float:
        """A counter by name; ``spend`` in major units and ``reach`` as reach."""
        if name == "spend":
            return self.counts.get("spend", 0) / self.unit
        if name == "reach":
            return float(self.reach or 0)
        return float(self.counts.get(name, 0))

    def _ratio(self, numerator: str, denominator: str, scale: float) -> str | None:
        below = self.quantity(denominator)
        if below <= 0 or (denominator == "reach" and self.reach is None):
            return None
        return decimal_text(self.quantity(numerator) * scale / below)

    def _simple_list(
        self, action_type: str, numerator: str, denominator: str | None, scale: float
    ) -> list[dict[str, str]] | None:
        if denominator is None:
            amount = self.counts.get(numerator, 0)
            return [{"action_type": action_type, "value": str(amount)}] if amount > 0 else None
        value = self._ratio(numerator, denominator, scale)
        return None if value is None else [{"action_type": action_type, "value": value}]

    def _identity(self, name: str) -> Any:
        chain = self.entity.chain
        level, _, attribute = name.partition("_")
        if level in {"account", "campaign", "adset", "ad"} and attribute in {"id", "name"}:
            record = chain.get(level)
            if record is None:
                return None
            if level == "account" and attribute == "id":
                return str(record["account_id"])
            return str(record[attribute]) if record.get(attribute) is not None else None
        return _IDENTITY_EXTRAS[name](self) if name in _IDENTITY_EXTRAS else None

    def _lowest(self) -> Record:
        for level in LEVELS:
            if level in self.entity.chain:
                return self.entity.chain[level]
        return self.report.model.account

    def created(self, key: str) -> str | None:
        """The date an object was created or updated, in the account's calendar."""
        stamp = self._lowest().get(key)
        return None if stamp is None else self.report.model.date_of(float(stamp)).isoformat()

    def rankings(self, name: str) -> str | None:
        """Quality rankings exist for ads only."""
        ad = self.entity.chain.get("ad")
        if ad is None:
            return None
        return self.report.model.rankings(ad, self.counts.get("impressions", 0))[name]

    def actions(
        self,
        prefix: str,
        bases: Iterable[str],
        names: Callable[[str], Sequence[str]],
        fmt: Formatter,
    ) -> list[dict[str, str]] | None:
        """An action list: one entry per action type, windows and devices as Meta adds them."""
        if self.report.plain_actions:
            return self._plain_actions(prefix, bases, names, fmt)
        out: list[dict[str, str]] = []
        for base in bases:
            total = self.counts.get(f"{prefix}:{base}", 0)
            if total <= 0:
                continue
            windows = self._windows(prefix, base, total)
            for alias in names(base):
                if self.query.action_types is None or alias in self.query.action_types:
                    out.extend(self._entries(alias, total, windows, fmt))
        return out or None

    def _plain_actions(
        self,
        prefix: str,
        bases: Iterable[str],
        names: Callable[[str], Sequence[str]],
        fmt: Formatter,
    ) -> list[dict[str, str]] | None:
        """:meth:`actions` for the common query: by action type only, no windows, no filter."""
        out: list[dict[str, str]] = []
        counts = self.counts
        for base in bases:
            total = counts.get(f"{prefix}:{base}", 0)
            if total <= 0:
                continue
            value = fmt(total)
            for alias in names(base):
                out.append(
                    {"action_type": alias}
                    if value is None
                    else {"action_type": alias, "value": value}
                )
        return out or None

    def _windows(self, prefix: str, base: str, total: int) -> dict[str, int]:
        out: dict[str, int] = {}
        for window in self.query.windows:
            key = f"{prefix}:{base}@{window}"
            if key in self.counts:
                out[window] = self.counts[key]
            elif window in {"default", "dda"} or (
                base not in CONVERSIONS
                and base != "mobile_app_install"
                and window.endswith("_click")
            ):
                out[window] = total
        return out

    def _entries(
        self, alias: str, total: int, windows: dict[str, int], fmt: Formatter
    ) -> list[dict[str, str]]:
        with_type = "action_type" in self.query.action_breakdowns
        targets = self.targets()
        if "action_device" not in self.query.action_breakdowns:
            return [_entry(alias if with_type else None, None, total, windows, fmt, targets)]
        weights = [device[2] for device in DEVICES]
        parts = allocate(total, weights)
        split_windows = {w: allocate(n, weights) for w, n in windows.items()}
        entries = []
        for index, device in enumerate(device for device, *_ in DEVICES):
            if parts[index]:
                by_window = {w: ns[index] for w, ns in split_windows.items()}
                entries.append(
                    _entry(
                        alias if with_type else None, device, parts[index], by_window, fmt, targets
                    )
                )
        return entries

    def targets(self) -> dict[str, str]:
        """``action_target_id`` and ``action_destination`` keys, when broken down by them.

        The target is the Page of the row's ad creative (the lowest object's id when the row
        has no single ad or its creative names no Page); the destination is the creative's
        link, else the target.
        """
        wanted = [
            name
            for name in ("action_target_id", "action_destination")
            if name in self.query.action_breakdowns
        ]
        if not wanted:
            return {}
        known = self.entity.identity
        if "action_target" not in known:
            known["action_target"] = self._target()
        target, destination = known["action_target"]
        values = {"action_target_id": target, "action_destination": destination}
        return {name: values[name] for name in wanted}

    def _target(self) -> tuple[str, str]:
        lowest = self._lowest()
        target = str(
            lowest.get("account_id") if lowest is self.report.model.account else lowest["id"]
        )
        destination: str | None = None
        ad = self.entity.chain.get("ad")
        if ad is not None:
            creative = self.report.model.state.find(str(ad.get("creative_id"))) or {}
            spec = creative.get("object_story_spec") or {}
            if isinstance(spec, dict):
                if spec.get("page_id"):
                    target = str(spec["page_id"])
                link = (spec.get("link_data") or {}).get("link")
                destination = str(link) if link else None
        return target, destination or target


@functools.lru_cache(maxsize=512)
def getter(name: str) -> Callable[[View], Any]:
    """How to read field ``name`` off a :class:`View`: the dispatch, resolved once per name."""
    if name in IDENTITY:
        return _ranking(name) if name in RANKINGS else _cached_identity(name)
    if name in COUNTERS:
        return lambda view: str(view.counts.get(name, 0))
    if name == "spend":
        return lambda view: decimal_text(view.counts.get("spend", 0) / view.unit, view.places)
    if name == "reach":
        return lambda view: None if view.reach is None else str(view.reach)
    if name in RATIOS:
        ratio = RATIOS[name]
        return lambda view: view._ratio(*ratio)
    if name in SIMPLE_LISTS:
        simple = SIMPLE_LISTS[name]
        return lambda view: view._simple_list(*simple)
    return LIST_BUILDERS.get(name, _omitted)


def _ranking(name: str) -> Callable[[View], Any]:
    return lambda view: view._identity(name)  # rankings depend on the row's impressions


def _cached_identity(name: str) -> Callable[[View], Any]:
    return lambda view: view.identity(name)


def _omitted(view: View) -> None:
    return None


Formatter = Callable[[int], str | None]


def _entry(
    alias: str | None,
    device: str | None,
    total: int,
    windows: dict[str, int],
    fmt: Formatter,
    targets: dict[str, str] | None = None,
) -> dict[str, str]:
    entry: dict[str, str] = {}
    if device is not None:
        entry["action_device"] = device
    if targets:
        entry.update(targets)
    if alias is not None:
        entry["action_type"] = alias
    value = fmt(total)
    if value is not None:
        entry["value"] = value
    for window, amount in windows.items():
        formatted = fmt(amount)
        if formatted is not None:
            entry[window] = formatted
    return entry


def _action_bases(view: View) -> tuple[str, ...]:
    return _bases_of(tuple(view.counts))


@functools.lru_cache(maxsize=256)
def _bases_of(keys: tuple[str, ...]) -> tuple[str, ...]:
    """The action types among a row's counter names (rows of one query share a few sets)."""
    return tuple(sorted(key[2:] for key in keys if key.startswith("a:") and "@" not in key))


def _names(base: str) -> tuple[str, ...]:
    return ALIASES.get(base, (base,))


def _per_spend(view: View) -> Formatter:
    spend = view.quantity("spend")
    return lambda n: decimal_text(spend / n) if n > 0 else None


def _money(view: View) -> Formatter:
    places, unit = view.places, view.unit
    return lambda n: decimal_text(n / unit, places)


def _roas(view: View) -> Formatter:
    spend = view.counts.get("spend", 0)
    return lambda n: decimal_text(n / spend) if spend > 0 else None


def _video_average(view: View) -> list[dict[str, str]] | None:
    plays = view.counts.get("video_play", 0)
    if plays <= 0:
        return None
    seconds = round(view.counts.get("video_seconds", 0) / plays)
    return [{"action_type": "video_view", "value": str(seconds)}]


# Video retention: the share of plays still watching at second t, modelled as exp(-t / mean),
# the mean being the row's average watch time, so the curves agree with
# video_avg_time_watched_actions. Points as Meta documents them for video_play_curve_actions:
# seconds 0-14, then ranges starting at 15, 20, 25, 30, 40, 50 and 60+ (22 entries).
CURVE_SECONDS = (*range(15), 15, 20, 25, 30, 40, 50, 60)
RETENTION_SECONDS: dict[str, tuple[int, ...]] = {
    "video_play_curve_actions": CURVE_SECONDS,
    "video_play_retention_0_to_15s_actions": tuple(range(16)),
    "video_play_retention_20_to_60s_actions": tuple(range(20, 61, 5)),
}
# The sandbox's choice for the graph (Meta's points follow the video's length, unmodelled):
# every 5% of a 30-second video.
RETENTION_GRAPH_SECONDS = tuple(1.5 * step for step in range(21))
# Plays that reached N seconds (video_N_sec_watched_actions).
WATCHED_SECONDS = {
    "video_6_sec_watched_actions": 6,
    "video_15_sec_watched_actions": 15,
    "video_30_sec_watched_actions": 30,
}


def _mean_watch(view: View) -> float | None:
    plays = view.counts.get("video_play", 0)
    if plays <= 0:
        return None
    return max(view.counts.get("video_seconds", 0) / plays, 0.1)


def _retention(seconds: Sequence[float]) -> Callable[[View], list[dict[str, Any]] | None]:
    """A histogram field: percent of plays still watching at each point (integers)."""

    def read(view: View) -> list[dict[str, Any]] | None:
        mean = _mean_watch(view)
        if mean is None:
            return None
        values = [round(100 * math.exp(-second / mean)) for second in seconds]
        return [{"action_type": "video_view", "value": values}]

    return read


def _watched(second: int) -> Callable[[View], list[dict[str, str]] | None]:
    """Plays that reached ``second``, on the same curve as the histograms."""

    def read(view: View) -> list[dict[str, str]] | None:
        mean = _mean_watch(view)
        if mean is None:
            return None
        count = round(view.counts.get("video_play", 0) * math.exp(-second / mean))
        return [{"action_type": "video_view", "value": str(count)}] if count > 0 else None

    return read


def _conversion_names(base: str) -> tuple[str, ...]:
    return (base,)


LIST_BUILDERS: dict[str, Callable[[View], Any]] = {
    "actions": lambda v: v.actions("a", _action_bases(v), _names, str),
    "action_values": lambda v: v.actions("v", ["purchase"], _names, _money(v)),
    "cost_per_action_type": lambda v: v.actions("a", _action_bases(v), _names, _per_spend(v)),
    "conversions": lambda v: v.actions("a", CONVERSIONS, _conversion_names, str),
    "conversion_values": lambda v: v.actions("v", ["purchase"], _conversion_names, _money(v)),
    "cost_per_conversion": lambda v: v.actions("a", CONVERSIONS, _conversion_names, _per_spend(v)),
    "purchase_roas": lambda v: v.actions("v", ["purchase"], lambda _: ("omni_purchase",), _roas(v)),
    "website_purchase_roas": lambda v: v.actions(
        "v", ["purchase"], lambda _: ("offsite_conversion.fb_pixel_purchase",), _roas(v)
    ),
    "video_avg_time_watched_actions": _video_average,
    "video_play_retention_graph_actions": _retention(RETENTION_GRAPH_SECONDS),
    **{name: _retention(points) for name, points in RETENTION_SECONDS.items()},
    **{name: _watched(second) for name, second in WATCHED_SECONDS.items()},
}
_IDENTITY_EXTRAS: dict[str, Callable[[View], Any]] = {
    "account_name": lambda v: v.report.model.account.get("name"),
    "account_currency": lambda v: v.report.model.currency,
    "objective": lambda v: (v.entity.chain.get("campaign") or {}).get("objective"),
    "optimization_goal": lambda v: (v.entity.chain.get("adset") or {}).get("optimization_goal"),
    "buying_type": lambda v: (
        (v.entity.chain["campaign"].get("buying_type") or "AUCTION")
        if "campaign" in v.entity.chain
        else None
    ),
    "attribution_setting": lambda v: "7d_click_1d_view" if "adset" in v.entity.chain else None,
    "created_time": lambda v: v.created("created_time"),
    "updated_time": lambda v: v.created("updated_time"),
    "quality_ranking": lambda v: v.rankings("quality_ranking"),
    "engagement_rate_ranking": lambda v: v.rankings("engagement_rate_ranking"),
    "conversion_rate_ranking": lambda v: v.rankings("conversion_rate_ranking"),
}
