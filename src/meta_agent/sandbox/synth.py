"""Deterministic synthetic delivery: what every ad spent and earned, day by day.

The insights family asks this model for *cells*: the integer counters of one ad on one day
of the account's time zone. Everything a report shows is summed from cells, so the numbers
hold together the way Meta's do. The rules a client may rely on:

- **Deterministic.** Every draw comes from blake2b over (config seed, object id, date, tag);
  the same state, seed and sandbox time give the same numbers, another seed gives others.
- **Who spends.** An ad spends only while it, its ad set and its campaign were all ACTIVE
  and it was not in review, as their status history says (:mod:`.history`): pausing stops
  future spend and keeps the past. Within that, only inside its delivery window: from the
  latest of its own, its ad set's and its campaign's creation and the scheduled starts,
  until the earliest of now and the scheduled ends (schedules as they are now). Partial
  days spend the fraction of the day the ad delivered in.
- **How much.** The budget owner (a CBO campaign, else the ad set) spends its daily budget,
  or its lifetime budget spread evenly over the schedule, times a pacing of 82-100%. A CBO
  campaign splits its day across the ad sets delivering that day, an ad set across its
  delivering ads, by largest remainder in minor units.
- **What it buys.** Impressions are spend over a CPM set by currency (at a purchasing-power
  rate), objective and narrowness of targeting; clicks follow a CTR by objective; actions
  follow the objective; video metrics exist only for ads whose creative has a ``video_id``.
- **Breakdowns add up.** A cell is split over breakdown segments counter by counter by
  largest remainder (impressions by audience share, spend by share x placement CPM, clicks
  and actions by share x placement CTR), so breakdown rows sum exactly to the unbroken row.
- **Reach** is the one counter that does not add up across days: per ad and per row it is
  impressions over a frequency that grows with the days delivered. It adds up across ads
  (so the account's reach is the sum of its campaigns'), and within a breakdown split the
  row's reach is allocated by impressions share, so breakdown rows sum to it too.
- ``unique_*`` counters are treated as additive (a simplification); ratios are always
  computed from the summed counters of the row they appear on.
- Not exact: attribution-window counts inside one segment may break 1d <= 7d <= 28d by one
  (each is allocated on its own), and ``action_device`` is split per row, so device entries
  do not add up across rows. A segment an ad cannot reach that day (an hour after "now")
  shows up as a row of zeros rather than being left out, so rows can be counted unseen.
"""

from __future__ import annotations

import hashlib
import math
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from meta_agent.sandbox.history import Interval, delivery_intervals
from meta_agent.sandbox.rules.changes import V26, Change
from meta_agent.sandbox.rules.money import USD_RATE, ZERO_DECIMAL, minimums
from meta_agent.sandbox.state import SandboxState

Record = dict[str, Any]
Counts = dict[str, int]
DAY = 86_400.0
_FOREVER = float("inf")

# Typical CPM in US cents and CTR, by objective (the sandbox's plausible figures, not Meta's).
CPM_USD_CENTS = {
    "OUTCOME_AWARENESS": 350.0,
    "OUTCOME_TRAFFIC": 800.0,
    "OUTCOME_ENGAGEMENT": 600.0,
    "OUTCOME_LEADS": 1300.0,
    "OUTCOME_SALES": 1500.0,
    "OUTCOME_APP_PROMOTION": 1000.0,
}
CTR = {
    "OUTCOME_AWARENESS": 0.006,
    "OUTCOME_TRAFFIC": 0.018,
    "OUTCOME_ENGAGEMENT": 0.014,
    "OUTCOME_LEADS": 0.012,
    "OUTCOME_SALES": 0.013,
    "OUTCOME_APP_PROMOTION": 0.011,
}
LINK_SHARE = {"OUTCOME_TRAFFIC": 0.8, "OUTCOME_SALES": 0.7, "OUTCOME_APP_PROMOTION": 0.65}
# Ad prices follow local purchasing power, not the exchange rate alone.
PPP = {"INR": 0.25, "JPY": 0.8, "BRL": 0.5, "IDR": 0.3, "MXN": 0.5}
# Conversions per link click, by objective: (action, rate).
FUNNELS: dict[str, tuple[tuple[str, float], ...]] = {
    "OUTCOME_TRAFFIC": (("landing_page_view", 0.75),),
    "OUTCOME_SALES": (
        ("landing_page_view", 0.7),
        ("add_to_cart", 0.09),
        ("initiate_checkout", 0.045),
        ("purchase", 0.022),
    ),
    "OUTCOME_LEADS": (("landing_page_view", 0.6), ("lead", 0.07), ("complete_registration", 0.02)),
    "OUTCOME_APP_PROMOTION": (("mobile_app_install", 0.06),),
}
CONVERSIONS = ("add_to_cart", "initiate_checkout", "purchase", "lead", "complete_registration")
CONVERSION_ACTIONS = frozenset({*CONVERSIONS, "mobile_app_install"})
MODELLED_WINDOWS = ("1d_click", "7d_click", "28d_click", "1d_view", "7d_view", "28d_view")
WINDOWS = (*MODELLED_WINDOWS, "1d_ev", "dda", "default")
AVERAGE_ORDER_USD = 55.0
VIDEO_RATES = (
    ("video_play", 0.6),
    ("a:video_view", 0.25),
    ("video_p25", 0.18),
    ("video_p50", 0.11),
    ("video_p75", 0.07),
    ("video_p95", 0.045),
    ("video_p100", 0.035),
    ("video_thruplay", 0.06),
)
RANKINGS = ("ABOVE_AVERAGE", "AVERAGE", "AVERAGE", "BELOW_AVERAGE_35", "BELOW_AVERAGE_20")


_WORDS = struct.Struct(">16I")
_UNIT = 1 / 4_294_967_296


def units(seed: int, key: str, count: int) -> list[float]:
    """``count`` numbers in [0, 1), fixed by ``seed`` and ``key`` (never global random)."""
    out: list[float] = []
    for block in range(-(-count // 16)):
        digest = hashlib.blake2b(f"{seed}|{key}|{block}".encode(), digest_size=64).digest()
        out += [value * _UNIT for value in _WORDS.unpack(digest)]
    return out[:count]


def allocate(total: int, weights: Sequence[float]) -> list[int]:
    """Split ``total`` in proportion to ``weights`` so the parts sum exactly (largest remainder)."""
    if not weights:
        return []
    mass = sum(weights)
    if mass <= 0:
        weights, mass = [1.0] * len(weights), float(len(weights))
    quotas = [total * weight / mass for weight in weights]
    parts = [int(quota) for quota in quotas]
    short = total - sum(parts)
    by_remainder = sorted(range(len(parts)), key=lambda i: (parts[i] - quotas[i], i))
    for index in by_remainder[:short]:
        parts[index] += 1
    return parts


def draw(expected: float, unit: float) -> int:
    """An integer whose average is ``expected`` (deterministic stochastic rounding)."""
    return int(max(expected, 0.0) + unit)


def local_minor(usd_cents: float, currency: str) -> float:
    """A US-cent price in ``currency``'s minor units at the sandbox's purchasing-power rate."""
    factor = 1 if currency in ZERO_DECIMAL else 100
    return usd_cents / 100 * USD_RATE.get(currency, 1.0) * factor * PPP.get(currency, 1.0)


def narrowness(targeting: Record | None) -> float:
    """How much a narrower audience raises the CPM (1.0 for a broad one)."""
    spec = targeting or {}
    factor = 1.0
    span = max(1, min(47, int(spec.get("age_max", 65)) - int(spec.get("age_min", 18))))
    factor *= 1 + 0.35 * (1 - span / 47)
    if len(spec.get("genders") or []) == 1:
        factor *= 1.12
    geo = spec.get("geo_locations") or {}
    if any(geo.get(key) for key in ("regions", "cities", "zips", "custom_locations")):
        factor *= 1.15
    elif len(geo.get("countries") or []) > 1:
        factor *= max(0.8, 1 - 0.04 * (len(geo["countries"]) - 1))
    if spec.get("custom_audiences"):
        factor *= 1.3
    if spec.get("flexible_spec") or spec.get("interests") or spec.get("behaviors"):
        factor *= 1.2
    return factor


@dataclass(frozen=True)
class Profile:
    """What shapes one ad's delivery: its parents and prices."""

    ad: Record
    adset: Record
    campaign: Record
    cpm: float  # minor units per 1,000 impressions
    ctr: float
    link_share: float
    video: bool
    order_value: float  # minor units per purchase
    frequency: float  # impressions per person on a single day


@dataclass(frozen=True)
class Segment:
    """One breakdown segment of an ad's delivery, with its relative weights."""

    key: tuple[str, ...]
    order: tuple[str, ...]
    share: float  # of impressions
    click: float  # relative click-through rate
    cost: float  # relative CPM


class Model:
    """The delivery of one ad account, as of one sandbox moment; caches live per query."""

    def __init__(self, state: SandboxState, account: Record, seed: int, now: float) -> None:
        self.state = state
        self.account = account
        self.seed = seed
        self.now = now
        self.tz = ZoneInfo(str(account.get("timezone_name") or "UTC"))
        self.currency = str(account.get("currency") or "USD")
        self.windows: tuple[str, ...] = ()
        self._profiles: dict[str, Profile | None] = {}
        self._spans: dict[str, list[Interval]] = {}
        self._days: dict[date, tuple[float, float]] = {}
        self._shares: dict[tuple[str, date], dict[str, int]] = {}
        self._segments: dict[tuple[str, tuple[str, ...]], list[Segment]] = {}
        self._children: dict[str, list[Record]] | None = None
        self._weights: dict[str, float] = {}

    # -- time ---------------------------------------------------------------------------------

    def today(self) -> date:
        """The account's current date."""
        return self.date_of(self.now)

    def date_of(self, ts: float) -> date:
        """The account-local date of an instant."""
        return datetime.fromtimestamp(ts, tz=self.tz).date()

    def day_bounds(self, day: date) -> tuple[float, float]:
        """Start and end of an account-local day, in epoch seconds (DST-aware)."""
        bounds = self._days.get(day)
        if bounds is None:
            start = datetime.combine(day, time(), tzinfo=self.tz).timestamp()
            end = datetime.combine(day + timedelta(days=1), time(), tzinfo=self.tz).timestamp()
            bounds = self._days[day] = (start, end)
        return bounds

    # -- who delivers when --------------------------------------------------------------------

    def profile(self, ad: Record) -> Profile | None:
        """The ad's delivery profile (None when its parents are missing)."""
        if ad["id"] not in self._profiles:
            self._profiles[ad["id"]] = self._build_profile(ad)
        return self._profiles[ad["id"]]

    def _build_profile(self, ad: Record) -> Profile | None:
        adset = self.state.find(str(ad.get("adset_id")))
        campaign = self.state.find(str(ad.get("campaign_id")))
        if adset is None or campaign is None:
            return None
        objective = str(campaign.get("objective", "OUTCOME_TRAFFIC"))
        u = units(self.seed, f"{ad['id']}|profile", 4)
        cpm = local_minor(CPM_USD_CENTS.get(objective, 800.0), self.currency)
        creative = self.state.find(str(ad.get("creative_id"))) or {}
        return Profile(
            ad=ad,
            adset=adset,
            campaign=campaign,
            cpm=cpm * narrowness(adset.get("targeting")) * (0.85 + 0.3 * u[0]),
            ctr=CTR.get(objective, 0.012) * (0.8 + 0.4 * u[1]),
            link_share=LINK_SHARE.get(objective, 0.45),
            video=bool(creative.get("video_id")),
            order_value=local_minor(AVERAGE_ORDER_USD * 100, self.currency) * (0.7 + 0.6 * u[2]),
            frequency=1.05 + 0.3 * u[3],
        )

    def spans(self, ad: Record) -> list[Interval]:
        """The instants the ad delivered in (sorted, disjoint; empty when it never did)."""
        if ad["id"] not in self._spans:
            self._spans[ad["id"]] = self._build_spans(ad)
        return self._spans[ad["id"]]

    def _build_spans(self, ad: Record) -> list[Interval]:
        profile = self.profile(ad)
        if profile is None:
            return []
        adset, campaign = profile.adset, profile.campaign
        starts = [ad.get("created_time"), adset.get("created_time"), adset.get("start_time")]
        starts += [campaign.get("created_time"), campaign.get("start_time")]
        ends = [adset.get("end_time"), campaign.get("stop_time")]
        starts.append(self.account.get("created_time"))  # a floor for records without times
        start = max([0.0, *(float(value) for value in starts if value is not None)])
        end = min([self.now, *(float(value) for value in ends if value is not None)])
        if end <= start:
            return []
        return delivery_intervals((campaign, adset, ad), (start, end))

    def day_spans(self, ad: Record) -> list[tuple[date, date]]:
        """First and last account-local day of each span the ad delivered in."""
        return [(self.date_of(low), self.date_of(high - 1e-3)) for low, high in self.spans(ad)]

    def day_span(self, ad: Record) -> tuple[date, date] | None:
        """First and last account-local day on which the ad delivers."""
        days = self.day_spans(ad)
        return (days[0][0], days[-1][1]) if days else None

    def fraction(self, ad: Record, day: date) -> float:
        """The share of ``day`` the ad spent delivering."""
        spans = self.spans(ad)
        if not spans:
            return 0.0
        start, end = self.day_bounds(day)
        return _overlap(spans, start, end) / (end - start)

    # -- budgets ------------------------------------------------------------------------------

    def _children_of(self, parent_id: str) -> list[Record]:
        if self._children is None:
            children: dict[str, list[Record]] = {}
            for record in self.state.objects.values():
                if record.get("kind") == "ad":
                    children.setdefault(str(record.get("adset_id")), []).append(record)
                elif record.get("kind") == "adset":
                    children.setdefault(str(record.get("campaign_id")), []).append(record)
            self._children = children
        return self._children.get(parent_id, [])

    def _owner_budget(self, owner: Record, day: date) -> int:
        pace = 0.82 + 0.18 * units(self.seed, f"{owner['id']}|{day}|pace", 1)[0]
        if owner.get("daily_budget"):
            return int(int(owner["daily_budget"]) * pace)
        if owner.get("lifetime_budget"):
            start = float(owner.get("start_time") or owner.get("created_time") or self.now)
            end = owner.get("end_time") or owner.get("stop_time")
            days = max(1, math.ceil((float(end) - start) / DAY)) if end else 30
            return int(int(owner["lifetime_budget"]) / days * pace)
        return int(minimums(self.currency).impressions * 5 * pace)

    def _delivering_ads(self, adset: Record, day: date) -> list[Record]:
        return [ad for ad in self._children_of(adset["id"]) if self.fraction(ad, day) > 0]

    def _weight(self, object_id: str) -> float:
        """An object's share of its parent's budget, relative to its siblings."""
        if object_id not in self._weights:
            self._weights[object_id] = 0.5 + units(self.seed, f"{object_id}|weight", 1)[0]
        return self._weights[object_id]

    def _delivering_adsets(self, campaign: Record, day: date) -> list[Record]:
        adsets = self._children_of(campaign["id"])
        return [adset for adset in adsets if self._delivering_ads(adset, day)]

    def _shares_of(
        self,
        owner: Record,
        day: date,
        children: Callable[[], list[Record]],
        amount: int | None = None,
    ) -> dict[str, int]:
        """How ``owner``'s money for ``day`` is split over its delivering children (memoised)."""
        key = (owner["id"], day)
        if key not in self._shares:
            kids = children()
            budget = self._owner_budget(owner, day) if amount is None else amount
            weights = [self._weight(kid["id"]) for kid in kids]
            parts = allocate(budget, weights)
            self._shares[key] = {kid["id"]: part for kid, part in zip(kids, parts, strict=True)}
        return self._shares[key]

    def full_day_spend(self, profile: Profile, day: date) -> int:
        """What the ad's budget gives it on ``day`` if it delivered all day (minor units)."""
        adset, campaign = profile.adset, profile.campaign
        amount = None
        if campaign.get("daily_budget") or campaign.get("lifetime_budget"):
            amount = self._shares_of(
                campaign, day, lambda: self._delivering_adsets(campaign, day)
            ).get(adset["id"], 0)
        shares = self._shares_of(adset, day, lambda: self._delivering_ads(adset, day), amount)
        return shares.get(profile.ad["id"], 0)

    # -- one ad, one day ----------------------------------------------------------------------

    def cell(self, ad: Record, day: date) -> Counts | None:
        """The integer counters of ``ad`` on ``day``, or None when it did not deliver."""
        profile = self.profile(ad)
        fraction = self.fraction(ad, day)
        if profile is None or fraction <= 0:
            return None
        u = units(self.seed, f"{ad['id']}|{day}", 32)
        spend = int(self.full_day_spend(profile, day) * fraction)
        impressions = draw(spend * 1000 / (profile.cpm * (0.85 + 0.3 * u[0])), u[1])
        clicks = min(impressions, draw(impressions * profile.ctr * (0.8 + 0.4 * u[2]), u[3]))
        link = draw(clicks * profile.link_share, u[4])
        outbound = draw(link * 0.93, u[7])
        counts: Counts = {
            "spend": spend,
            "impressions": impressions,
            "clicks": clicks,
            "unique_clicks": draw(clicks * 0.88, u[5]),
            "inline_link_clicks": link,
            "unique_inline_link_clicks": draw(link * 0.9, u[6]),
            "outbound_clicks": outbound,
            "unique_outbound_clicks": draw(outbound * 0.9, u[8]),
            "a:link_click": link,
        }
        if profile.video:
            for index, (key, rate) in enumerate(VIDEO_RATES):
                counts[key] = draw(impressions * rate, u[16 + index])
            counts["video_seconds"] = draw(counts["video_play"] * (3 + 4 * u[24]), u[25])
        self._engagement(counts, profile, u)
        self._conversions(counts, profile, ad, day)
        return counts

    def _engagement(self, counts: Counts, profile: Profile, u: list[float]) -> None:
        impressions = counts["impressions"]
        engaging = profile.campaign.get("objective") == "OUTCOME_ENGAGEMENT"
        counts["a:post_reaction"] = draw(impressions * (0.004 if engaging else 0.0015), u[9])
        counts["a:comment"] = draw(impressions * (0.0006 if engaging else 0.0002), u[10])
        engagement = counts["a:link_click"] + counts["a:post_reaction"] + counts["a:comment"]
        engagement += counts.get("a:video_view", 0)
        counts["a:post_engagement"] = counts["inline_post_engagement"] = engagement
        likes = draw(impressions * 0.0008, u[11]) if engaging else 0
        if likes:
            counts["a:like"] = likes
        counts["a:page_engagement"] = engagement + likes

    def _conversions(self, counts: Counts, profile: Profile, ad: Record, day: date) -> None:
        funnel = FUNNELS.get(str(profile.campaign.get("objective")), ())
        u = units(self.seed, f"{ad['id']}|{day}|actions", 8 + 8 * len(funnel))
        for index, (action, rate) in enumerate(funnel):
            count = draw(counts["a:link_click"] * rate, u[index])
            counts[f"a:{action}"] = count
            if action == "purchase":
                value = draw(count * profile.order_value * (0.8 + 0.4 * u[7]), u[6])
                counts["v:purchase"] = value
            if self.windows and action in CONVERSION_ACTIONS:
                self._attribution(counts, action, count, u[8 + 8 * index : 16 + 8 * index])

    def _attribution(self, counts: Counts, action: str, total: int, u: Sequence[float]) -> None:
        """Per-window counts of a conversion: 7d_click + 1d_view make up the default value."""
        view1 = min(total, draw(total * 0.12, u[0]))
        click7 = total - view1
        view7 = view1 + draw(view1 * 0.6, u[3])
        by_window = {
            "1d_click": click7 - min(click7, draw(click7 * 0.15, u[1])),
            "7d_click": click7,
            "28d_click": click7 + draw(click7 * 0.1, u[2]),
            "1d_view": view1,
            "7d_view": view7,
            "28d_view": view7 + draw(view1 * 0.5, u[4]),
        }
        value = counts.get(f"v:{action}")
        for window in self.windows:
            if window in by_window:
                counts[f"a:{action}@{window}"] = by_window[window]
                if value is not None:
                    share = round(value * by_window[window] / total) if total else 0
                    counts[f"v:{action}@{window}"] = share

    def reach(self, ad: Record, impressions: int, days: int) -> int:
        """People reached by ``impressions`` over ``days`` delivering days."""
        profile = self.profile(ad)
        if impressions <= 0 or profile is None:
            return 0
        frequency = profile.frequency * (1 + 0.3 * math.log(max(days, 1)))
        return max(1, int(impressions / frequency))

    def rankings(self, ad: Record, impressions: int) -> dict[str, str]:
        """Quality, engagement-rate and conversion-rate rankings (UNKNOWN below 500 impressions)."""
        names = ("quality_ranking", "engagement_rate_ranking", "conversion_rate_ranking")
        if impressions < 500:
            return dict.fromkeys(names, "UNKNOWN")
        u = units(self.seed, f"{ad['id']}|rankings", 3)
        return {
            name: RANKINGS[int(unit * len(RANKINGS))] for name, unit in zip(names, u, strict=True)
        }

    # -- breakdowns ---------------------------------------------------------------------------

    def segments(self, ad: Record, dims: tuple[str, ...]) -> list[Segment]:
        """The ad's breakdown segments for ``dims``, with weights jittered per ad."""
        key = (ad["id"], dims)
        if key not in self._segments:
            profile = self.profile(ad)
            targeting = (profile.adset.get("targeting") if profile else None) or {}
            self._segments[key] = self._build_segments(ad["id"], dims, targeting)
        return self._segments[key]

    def day_segments(self, ad: Record, dims: tuple[str, ...], day: date) -> list[Segment]:
        """The ad's segments on ``day``: retired positions and hours outside delivery get no share."""
        segments = without_retired(self.segments(ad, dims), dims, day)
        hourly = [index for index, dim in enumerate(dims) if dim in HOURLY_DIMS]
        spans = self.spans(ad)
        if not hourly or not spans or self.fraction(ad, day) >= 1:
            return segments
        start = self.day_bounds(day)[0]
        out = []
        for segment in segments:
            low = start + 3600 * int(segment.key[hourly[0]][:2])
            live = _overlap(spans, low, low + 3600) / 3600
            out.append(replace(segment, share=segment.share * live))
        return out

    def _build_segments(
        self, ad_id: str, dims: tuple[str, ...], targeting: Record
    ) -> list[Segment]:
        segments = [Segment((), (), 1.0, 1.0, 1.0)]
        for dim in dims:
            grown: list[Segment] = []
            for segment in segments:
                parent = segment.key[-1] if segment.key else ""
                for rank, (value, share, click, cost) in enumerate(
                    dimension_values(dim, targeting, parent, self.account)
                ):
                    jitter = 0.75 + 0.5 * units(self.seed, f"{ad_id}|{dim}|{value}", 1)[0]
                    grown.append(
                        Segment(
                            (*segment.key, value),
                            (*segment.order, f"{rank:03d}" if dim != "country" else value),
                            segment.share * share * jitter,
                            segment.click * click,
                            segment.cost * cost,
                        )
                    )
            segments = grown
        return segments


def retired_positions(day: date) -> frozenset[str]:
    """The reported positions that deliver nothing on ``day``."""
    return frozenset(
        name for name, change in RETIRED_POSITIONS.items() if change.everywhere_on(day)
    )


def is_retired(key: tuple[str, ...], dims: tuple[str, ...], retired: frozenset[str]) -> bool:
    """Whether a segment key names one of the ``retired`` positions."""
    return "platform_position" in dims and key[dims.index("platform_position")] in retired


def without_retired(segments: list[Segment], dims: tuple[str, ...], day: date) -> list[Segment]:
    """``segments`` with no share for positions retired by ``day`` (splits renormalise)."""
    retired = retired_positions(day) if "platform_position" in dims else frozenset()
    if not retired:
        return segments
    return [replace(s, share=0.0) if is_retired(s.key, dims, retired) else s for s in segments]


def _overlap(spans: Sequence[Interval], start: float, end: float) -> float:
    """Seconds of ``[start, end)`` inside ``spans``."""
    return sum(max(0.0, min(end, high) - max(start, low)) for low, high in spans)


IMPRESSION_WEIGHTED = frozenset(
    {"impressions", "video_play", "video_seconds", "a:video_view", "video_thruplay"}
    | {f"video_p{n}" for n in (25, 50, 75, 95, 100)}
)


def split(counts: Counts, segments: Sequence[Segment]) -> list[Counts]:
    """Split one cell over segments; every counter's parts sum exactly to the cell's."""
    by_share = [segment.share for segment in segments]
    by_cost = [segment.share * segment.cost for segment in segments]
    by_click = [segment.share * segment.click for segment in segments]
    parts: list[Counts] = [{} for _ in segments]
    for key, total in counts.items():
        if key == "spend":
            weights = by_cost
        elif key in IMPRESSION_WEIGHTED:
            weights = by_share
        else:
            weights = by_click
        for part, amount in zip(parts, allocate(total, weights), strict=True):
            part[key] = amount
    return parts


def add_into(total: Counts, counts: Counts) -> None:
    """Add ``counts`` into ``total`` in place."""
    for key, value in counts.items():
        total[key] = total.get(key, 0) + value


# -- breakdown dimensions: (value, audience share, relative CTR, relative CPM) -----------------

Choice = tuple[str, float, float, float]
AGES: tuple[tuple[str, int, int, float, float, float], ...] = (
    ("18-24", 18, 24, 0.17, 1.15, 0.85),
    ("25-34", 25, 34, 0.30, 1.0, 1.0),
    ("35-44", 35, 44, 0.22, 0.95, 1.05),
    ("45-54", 45, 54, 0.15, 0.9, 1.1),
    ("55-64", 55, 64, 0.10, 0.85, 1.1),
    ("65+", 65, 200, 0.06, 0.8, 1.05),
)
AUTOMATIC_PLATFORMS = ("facebook", "instagram", "audience_network", "messenger")
PLATFORMS: dict[str, Choice] = {
    "facebook": ("facebook", 0.55, 1.0, 1.0),
    "instagram": ("instagram", 0.35, 0.9, 1.15),
    "audience_network": ("audience_network", 0.07, 1.4, 0.4),
    "messenger": ("messenger", 0.03, 0.6, 0.8),
    "threads": ("threads", 0.02, 0.7, 0.9),
}
# Targeting position names → the names insights report, with shares, CTR and CPM factors.
POSITIONS: dict[str, tuple[tuple[str, str, float, float, float], ...]] = {
    "facebook": (
        ("feed", "feed", 0.55, 1.0, 1.0),
        ("facebook_reels", "facebook_reels", 0.12, 0.8, 0.9),
        ("story", "facebook_stories", 0.1, 0.7, 0.85),
        ("marketplace", "marketplace", 0.07, 1.1, 0.9),
        ("video_feeds", "video_feeds", 0.06, 0.8, 0.9),
        ("instream_video", "instream_video", 0.05, 0.5, 0.8),
        ("right_hand_column", "right_hand_column", 0.03, 0.3, 0.5),
        ("search", "search", 0.02, 1.5, 1.2),
    ),
    "instagram": (
        ("stream", "feed", 0.45, 1.0, 1.0),
        ("story", "instagram_stories", 0.3, 0.7, 0.9),
        ("reels", "instagram_reels", 0.18, 0.8, 0.95),
        ("explore", "instagram_explore", 0.05, 0.9, 1.0),
        ("profile_feed", "instagram_profile_feed", 0.02, 0.9, 1.0),
    ),
    "audience_network": (
        ("classic", "an_classic", 0.7, 1.0, 1.0),
        ("rewarded_video", "rewarded_video", 0.3, 1.2, 1.3),
    ),
    "messenger": (
        ("messenger_home", "messenger_inbox", 0.6, 1.0, 1.0),
        ("story", "messenger_stories", 0.4, 0.8, 0.9),
    ),
    "threads": (("threads_stream", "threads_feed", 1.0, 1.0, 1.0),),
}
# Positions Meta stopped serving (§13.2), by reported name. Delivery is not the reader's
# version: a position goes from the day every version sees the change, and from that day it
# gets no share (the rest of the day's delivery goes to the positions still served).
RETIRED_POSITIONS: dict[str, Change] = {"instagram_explore": V26, "messenger_stories": V26}
DEVICES: tuple[tuple[str, str, float, float, float], ...] = (
    ("android_smartphone", "mobile", 0.45, 1.0, 0.9),
    ("iphone", "mobile", 0.33, 1.05, 1.15),
    ("desktop", "desktop", 0.12, 0.8, 1.1),
    ("ipad", "mobile", 0.04, 0.9, 1.1),
    ("android_tablet", "mobile", 0.03, 0.9, 0.9),
    ("other", "mobile", 0.03, 0.7, 0.8),
)
DEVICE_PLATFORMS = (
    ("mobile_app", "mobile", 0.82, 1.0, 1.0),
    ("mobile_web", "mobile", 0.08, 0.9, 0.9),
    ("desktop", "desktop", 0.10, 0.8, 1.1),
)
REGIONS = {
    "US": ("California", "Texas", "Florida", "New York", "Illinois", "Pennsylvania", "Ohio"),
    "IN": ("Maharashtra", "Karnataka", "Tamil Nadu", "Delhi", "Uttar Pradesh", "Gujarat"),
    "GB": ("England", "Scotland", "Wales", "Northern Ireland"),
}
# ``frequency_value``: how many times each person saw the ad. The buckets and the shape (the
# share of people falls by REPEAT_SHARE per extra view) are the sandbox's choice; a bucket's
# impressions are its people times its frequency, and the row's reach is split in proportion
# to impressions / frequency (FREQUENCY_OF), so a bucket's frequency is proportional to its
# value (scaled so the buckets still add up to the row's own reach and impressions).
REPEAT_SHARE = 0.3
FREQUENCY_OF = {**{str(n): float(n) for n in range(1, 11)}, "11+": 13.0}
FREQUENCIES = tuple(
    (value, times * REPEAT_SHARE ** (times - 1), 1.0, 1.0) for value, times in FREQUENCY_OF.items()
)
HOURLY_DIMS = frozenset(
    {
        "hourly_stats_aggregated_by_advertiser_time_zone",
        "hourly_stats_aggregated_by_audience_time_zone",
    }
)
HOURS = tuple(f"{hour:02d}:00:00 - {hour:02d}:59:59" for hour in range(24))
# Relative activity by hour of day: quiet nights, a lunch bump, an evening peak.
DIURNAL = (3, 2, 1, 1, 1, 2, 3, 5, 6, 6, 6, 7, 8, 7, 6, 6, 7, 8, 9, 10, 10, 9, 7, 5)


def dimension_values(dim: str, targeting: Record, parent: str, account: Record) -> list[Choice]:
    """The segments of one breakdown dimension an ad with ``targeting`` can deliver to."""
    if dim == "age":
        low, high = int(targeting.get("age_min", 18)), int(targeting.get("age_max", 65))
        return [(n, s, c, m) for n, lo, hi, s, c, m in AGES if lo <= high and hi >= low]
    if dim == "gender":
        genders = set(targeting.get("genders") or [1, 2])
        choices = [("female", 0.48, 1.05, 1.0), ("male", 0.49, 0.95, 1.0)]
        picked = [c for c, g in zip(choices, (2, 1), strict=True) if g in genders]
        return [*picked, ("unknown", 0.03, 0.9, 1.0)]
    if dim in {"country", "region"}:
        return _geo_values(dim, targeting, parent, account)
    if dim == "publisher_platform":
        named = targeting.get("publisher_platforms") or list(AUTOMATIC_PLATFORMS)
        return [PLATFORMS[name] for name in PLATFORMS if name in named]
    if dim == "platform_position":
        return _position_values(targeting, parent)
    if dim in {"impression_device", "device_platform"}:
        table = DEVICES if dim == "impression_device" else DEVICE_PLATFORMS
        kinds = set(targeting.get("device_platforms") or ["mobile", "desktop"])
        return [(name, s, c, m) for name, kind, s, c, m in table if kind in kinds]
    if dim == "frequency_value":
        return list(FREQUENCIES)
    return [(hour, weight / 100, 1.0, 1.0) for hour, weight in zip(HOURS, DIURNAL, strict=True)]


def _geo_values(dim: str, targeting: Record, parent: str, account: Record) -> list[Choice]:
    geo = targeting.get("geo_locations") or {}
    countries = [str(code) for code in geo.get("countries") or []]
    for key in ("regions", "cities", "zips"):
        countries += [str(item["country"]) for item in geo.get(key) or [] if "country" in item]
    countries = sorted(set(countries)) or [str(account.get("business_country_code") or "US")]
    if dim == "country":
        return [(code, 1.0, 1.0, 1.0) for code in countries]
    names = REGIONS.get(parent) if parent else None
    if names is None:
        names = tuple(name for code in countries for name in REGIONS.get(code, ()))
    return [(name, 1.0 / (1 + rank * 0.3), 1.0, 1.0) for rank, name in enumerate(names)] or [
        ("Unknown", 1.0, 1.0, 1.0)
    ]


def _position_values(targeting: Record, platform: str) -> list[Choice]:
    platforms = [platform] if platform else list(POSITIONS)
    choices: list[Choice] = []
    for name in platforms:
        wanted = targeting.get(f"{name}_positions")
        for position, reported, share, click, cost in POSITIONS.get(name, ()):
            if not wanted or position in wanted:
                choices.append((reported, share, click, cost))
    return choices
