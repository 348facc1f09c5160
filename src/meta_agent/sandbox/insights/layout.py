"""Which rows a report has, how a page finds its rows, and how one row is computed.

Rows are laid out as entities (the objects of the query's ``level``, in id order) x the
buckets each entity delivered in x its breakdown segments, so row ``i`` can be located
by arithmetic alone. A row is computed by summing the model's daily cells of the
entity's ads over the bucket and splitting them over the breakdown segments (see
:mod:`meta_agent.sandbox.synth`). Sorting and metric filters need every row and are
the only reads that compute them all.
"""

from __future__ import annotations

import bisect
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, overload

from meta_agent.sandbox.core import Ctx
from meta_agent.sandbox.insights.cells import split_cell
from meta_agent.sandbox.insights.dates import Bucket
from meta_agent.sandbox.insights.enums import HOURLY, LEVEL_OF_KIND, LEVELS
from meta_agent.sandbox.insights.filters import number_matches, object_matches
from meta_agent.sandbox.insights.query import Query, parse_query
from meta_agent.sandbox.insights.values import IDENTITY, View, decimal_text, getter
from meta_agent.sandbox.nodes import Record, page
from meta_agent.sandbox.params import Params
from meta_agent.sandbox.rules.money import ZERO_DECIMAL
from meta_agent.sandbox.synth import (
    FREQUENCY_OF,
    MODELLED_WINDOWS,
    Counts,
    Model,
    add_into,
    allocate,
    is_retired,
    retired_positions,
)


@dataclass
class Entity:
    """One object of the query's level, with the ads whose delivery it sums."""

    chain: dict[str, Record]
    ads: list[Record] = field(default_factory=list)
    runs: list[tuple[int, int]] = field(default_factory=list)
    keys: list[tuple[str, ...]] = field(default_factory=list)
    identity: dict[str, Any] = field(default_factory=dict)  # identity fields, filled by View

    @property
    def rows(self) -> int:
        """Rows this entity contributes: delivering buckets x segments."""
        return sum(high - low for low, high in self.runs) * len(self.keys)

    def bucket(self, position: int) -> int:
        """The index of this entity's ``position``-th delivering bucket."""
        for low, high in self.runs:
            if position < high - low:
                return low + position
            position -= high - low
        raise IndexError(position)


Group = list[tuple[Counts, int | None]]
_GROUPS_KEPT = 256


def build_report(ctx: Ctx, node: Record, params: Params, now: float) -> Report:
    """Parse ``params`` for ``node`` and lay out the rows (without computing them).

    Raises:
        GraphError: any invalid parameter (see :func:`parse_query`).
    """
    account_id = node["id"] if node["kind"] == "adaccount" else f"act_{node['account_id']}"
    account = ctx.state.get(account_id)
    model = Model(ctx.state, account, ctx.sb.config.seed, now)
    query = parse_query(params, LEVEL_OF_KIND[node["kind"]], model.today())
    model.windows = tuple(w for w in query.windows if w in MODELLED_WINDOWS)
    return Report(model, query, _ads_of(ctx, node))


def _ads_of(ctx: Ctx, node: Record) -> list[Record]:
    kind = node["kind"]
    if kind == "ad":
        return [node]
    if kind == "adaccount":
        return list(ctx.state.of_kind("ad", account_id=node["account_id"]))
    return list(ctx.state.of_kind("ad", **{f"{kind}_id": node["id"]}))


class Report:
    """The rows of one query, laid out for random access by index."""

    def __init__(self, model: Model, query: Query, ads: list[Record]) -> None:
        # Annotated: values.View reads these through an import cycle mypy cannot infer across.
        self.model: Model = model
        self.query: Query = query
        self.dims = query.dims
        zero_decimal = model.currency in ZERO_DECIMAL
        # Decimals shown and minor units per major unit, for every View of this report.
        self.money: tuple[int, int] = (0, 1) if zero_decimal else (2, 100)
        self._getters = [(name, getter(name)) for name in query.fields]
        # Action lists by type alone, with no windows or type filter: View's fast path.
        self.plain_actions = (
            query.action_breakdowns == ("action_type",)
            and not query.windows
            and query.action_types is None
        )
        self._dates = [(since.isoformat(), until.isoformat()) for since, until in query.buckets]
        self._starts = [bucket[0] for bucket in query.buckets]
        self._stops = [bucket[1] for bucket in query.buckets]
        self.entities = self._entities(ads)
        self.offsets = [0]
        for entity in self.entities:
            self.offsets.append(self.offsets[-1] + entity.rows)
        # Bounded: a kept report is read page after page, and only neighbouring rows share
        # a group, so memory stays flat in the row count.
        self._groups: OrderedDict[tuple[int, int], Group] = OrderedDict()
        self._ordered: list[dict[str, Any]] | None = None

    def __len__(self) -> int:
        return self.offsets[-1]

    # -- layout --------------------------------------------------------------------------------

    def _chain(self, ad: Record) -> dict[str, Record] | None:
        profile = self.model.profile(ad)
        if profile is None:
            return None
        return {
            "account": self.model.account,
            "campaign": profile.campaign,
            "adset": profile.adset,
            "ad": ad,
        }

    def _counted_chain(self, ad: Record) -> dict[str, Record] | None:
        """The ad's chain when it ever delivers and passes the object filters, else None."""
        chain = self._chain(ad)
        if chain is None or self.model.day_span(ad) is None:
            return None
        if not all(object_matches(f, chain, self.model) for f in self.query.object_filters):
            return None
        return chain

    def _grouped(self, ads: list[Record]) -> list[Entity]:
        """The counted ads grouped by their object at the query's level, in id order."""
        level = self.query.level
        grouped: dict[str, Entity] = {}
        for ad in ads:
            chain = self._counted_chain(ad)
            if chain is None:
                continue
            key = str(chain[level]["id"])
            entity = grouped.setdefault(key, Entity(_chain_for(chain, level)))
            entity.ads.append(ad)
        return [grouped[key] for key in sorted(grouped, key=_id_order)]

    def _entities(self, ads: list[Record]) -> list[Entity]:
        entities = self._grouped(ads)
        for entity in entities:
            entity.runs = self._runs(entity.ads)
            entity.keys = self._keys(entity.ads) if entity.runs else []
        return [entity for entity in entities if entity.rows]

    def _runs(self, ads: list[Record]) -> list[tuple[int, int]]:
        # Every span of every ad: a paused stretch leaves buckets with no row, as on Meta.
        spans = sorted(span for ad in ads for span in self.model.day_spans(ad))
        buckets = self.query.buckets
        if not self.query.contiguous:
            hits = [i for i, b in enumerate(buckets) if any(_overlaps(b, s) for s in spans)]
            return [(i, i + 1) for i in hits]
        runs: list[tuple[int, int]] = []
        for first, last in spans:
            low = bisect.bisect_left(self._stops, first)
            high = bisect.bisect_right(self._starts, last)
            if low >= high:
                continue
            if runs and low <= runs[-1][1]:
                runs[-1] = (runs[-1][0], max(runs[-1][1], high))
            else:
                runs.append((low, high))
        return runs

    def _keys(self, ads: list[Record]) -> list[tuple[str, ...]]:
        dims = self.query.dims
        if not dims:
            return [()]
        # A position retired before the report's first day has no row (it delivered nothing).
        retired = retired_positions(min(self._starts))
        orders: dict[tuple[str, ...], tuple[str, ...]] = {}
        for ad in ads:
            for segment in self.model.segments(ad, dims):
                if not is_retired(segment.key, dims, retired):
                    orders.setdefault(segment.key, segment.order)
        return sorted(orders, key=lambda key: orders[key])

    # -- computing -----------------------------------------------------------------------------

    def locate(self, index: int) -> tuple[int, int, int]:
        """Row ``index`` as (entity, bucket, segment) positions."""
        entity_index = bisect.bisect_right(self.offsets, index) - 1
        entity = self.entities[entity_index]
        position, segment = divmod(index - self.offsets[entity_index], len(entity.keys))
        return entity_index, entity.bucket(position), segment

    def group(self, entity_index: int, bucket_index: int) -> Group:
        """Counters and reach of every segment of one entity in one bucket (memoised)."""
        key = (entity_index, bucket_index)
        found = self._groups.get(key)
        if found is None:
            entity = self.entities[entity_index]
            bucket = self.query.buckets[bucket_index]
            found = self._groups[key] = self._compute(entity.ads, entity.keys, bucket, self.dims)
            if len(self._groups) > _GROUPS_KEPT:
                self._groups.popitem(last=False)
        return found

    def _compute(
        self, ads: list[Record], keys: list[tuple[str, ...]], bucket: Bucket, dims: tuple[str, ...]
    ) -> Group:
        positions = {key: i for i, key in enumerate(keys)}
        totals: list[Counts] = [{} for _ in keys]
        reach = 0
        for ad in ads:
            impressions, days = self._accumulate(ad, bucket, dims, totals, positions)
            reach += self.model.reach(ad, impressions, days)
        if HOURLY & set(dims):
            return [(counts, None) for counts in totals]
        shares = allocate(reach, _reach_weights(keys, totals, dims))
        return list(zip(totals, shares, strict=True))

    def _accumulate(
        self,
        ad: Record,
        bucket: Bucket,
        dims: tuple[str, ...],
        totals: list[Counts],
        positions: dict[tuple[str, ...], int],
    ) -> tuple[int, int]:
        """Add the ad's cells in ``bucket`` into ``totals``; return its impressions and days."""
        span = self.model.day_span(ad)
        if span is None:
            return 0, 0
        day, last = max(bucket[0], span[0]), min(bucket[1], span[1])
        impressions = days = 0
        while day <= last:
            cell = self.model.cell(ad, day)
            if cell is not None:
                days += 1
                impressions += cell["impressions"]
                self._spread(ad, day, dims, cell, totals, positions)
            day += timedelta(days=1)
        return impressions, days

    def _spread(
        self,
        ad: Record,
        day: date,
        dims: tuple[str, ...],
        cell: Counts,
        totals: list[Counts],
        positions: dict[tuple[str, ...], int],
    ) -> None:
        if not dims:
            add_into(totals[0], cell)
            return
        segments = self.model.day_segments(ad, dims, day)
        for segment, part in zip(segments, split_cell(cell, segments), strict=True):
            position = positions.get(segment.key)
            if position is None:
                continue  # a retired position's row, left out of the report: its part is zero
            if totals[position]:
                add_into(totals[position], part)
            else:
                totals[position] = part  # a fresh dict: what adding it into {} would give

    def row(self, index: int) -> dict[str, Any]:
        """Row ``index``, rendered with the requested fields."""
        entity_index, bucket_index, segment = self.locate(index)
        counts, reach = self.group(entity_index, bucket_index)[segment]
        entity = self.entities[entity_index]
        return self.render(entity, bucket_index, entity.keys[segment], counts, reach)

    def render(
        self,
        entity: Entity,
        bucket_index: int,
        key: tuple[str, ...],
        counts: Counts,
        reach: int | None,
    ) -> dict[str, Any]:
        """One row: the requested fields Meta would send, breakdown columns and dates."""
        view = View(self, entity, counts, reach)
        row: dict[str, Any] = {}
        for name, get in self._getters:
            value = get(view)
            if value is not None:
                row[name] = value
        row.update(zip(self.dims, key, strict=True))
        row["date_start"], row["date_stop"] = self._dates[bucket_index]
        return row

    # -- pages ---------------------------------------------------------------------------------

    def page(self, ctx: Ctx) -> Any:
        """One page of rows with ``paging`` (and ``summary`` when asked)."""
        rows: Sequence[dict[str, Any]]
        if self.query.sort or self.query.metric_filters:
            if self._ordered is None:  # kept: a report run's pages share one ordering
                self._ordered = self._materialized()
            rows = self._ordered
        else:
            rows = LazyRows(len(self), self.row)
        body = page(ctx, rows, lambda row: row)
        body.pop("summary", None)
        if self.query.summary is not None:
            body["summary"] = self.summary(rows if self.query.metric_filters else None)
        return body

    def _materialized(self) -> list[dict[str, Any]]:
        located = [self.locate(index) for index in range(len(self))]
        views: list[tuple[dict[str, Any], View]] = []
        for entity_index, bucket_index, segment in located:
            counts, reach = self.group(entity_index, bucket_index)[segment]
            entity = self.entities[entity_index]
            row = self.render(entity, bucket_index, entity.keys[segment], counts, reach)
            view = View(self, entity, counts, reach)
            if self._passes(view):
                views.append((row, view))
        # Stable sorts, least significant key first, give the multi-key order; ties keep
        # the layout's order, so every page of one query sees the same ordering.
        for name, descending in reversed(self.query.sort):
            views.sort(key=lambda pair: _sort_key(_column(pair[0], name)), reverse=descending)
        return [row for row, _ in views]

    def _passes(self, view: View) -> bool:
        """Whether a row passes every metric filter."""
        filters = self.query.metric_filters
        return all(number_matches(f, _number(view.value(f.field))) for f in filters)

    def summary(self, rows: Sequence[dict[str, Any]] | None) -> dict[str, Any]:
        """Totals over the whole result (not just the page) for the summary fields."""
        wanted = [name for name in self.query.summary or () if name not in IDENTITY]
        ads = [ad for entity in self.entities for ad in entity.ads]
        whole = (self.query.since, self.query.until)
        counts, reach = self._compute(ads, [()], whole, ())[0]
        summary_entity = Entity({"account": self.model.account}, ads)
        view = View(self, summary_entity, counts, reach)
        out = {name: value for name in wanted if (value := view.value(name)) is not None}
        if rows is not None:
            out = {name: value for name, value in out.items() if name not in _COUNTED}
            out.update(_summed(rows, wanted))
        out["date_start"], out["date_stop"] = whole[0].isoformat(), whole[1].isoformat()
        return out


_COUNTED = frozenset(
    {"impressions", "clicks", "spend", "reach", "unique_clicks", "inline_link_clicks"}
)


def _summed(rows: Sequence[dict[str, Any]], wanted: Sequence[str]) -> dict[str, str]:
    """Filtered results: totals of the rows that passed the metric filters."""
    out: dict[str, str] = {}
    for name in wanted:
        if name in _COUNTED:
            total = sum(float(row.get(name, 0)) for row in rows)
            out[name] = decimal_text(total, 2) if name == "spend" else str(int(total))
    return out


class LazyRows(Sequence[dict[str, Any]]):
    """Rows computed only when a page asks for them."""

    def __init__(self, length: int, fetch: Callable[[int], dict[str, Any]]) -> None:
        self._length = length
        self._fetch = fetch

    def __len__(self) -> int:
        return self._length

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [self._fetch(i) for i in range(*index.indices(self._length))]
        if not -self._length <= index < self._length:
            raise IndexError(index)
        return self._fetch(index % self._length)


def _reach_weights(
    keys: list[tuple[str, ...]], totals: list[Counts], dims: tuple[str, ...]
) -> list[float]:
    """How a row's reach splits over its segments: by impressions, per person for frequency."""
    impressions = [float(counts.get("impressions", 0)) for counts in totals]
    if "frequency_value" not in dims:
        return impressions
    position = dims.index("frequency_value")
    return [n / FREQUENCY_OF[key[position]] for n, key in zip(impressions, keys, strict=True)]


def _chain_for(chain: dict[str, Record], level: str) -> dict[str, Record]:
    keep = LEVELS[LEVELS.index(level) :]
    return {name: record for name, record in chain.items() if name in keep}


def _id_order(object_id: str) -> tuple[int, str]:
    digits = object_id.removeprefix("act_")
    return (int(digits), object_id) if digits.isdigit() else (0, object_id)


def _overlaps(bucket: Bucket, span: tuple[date, date]) -> bool:
    return bucket[0] <= span[1] and span[0] <= bucket[1]


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _column(row: dict[str, Any], name: str) -> Any:
    """A row's value for a sort key: a field or breakdown, or ``actions:<type>``'s value."""
    if not name.startswith("actions:"):
        return row.get(name)
    wanted = name.removeprefix("actions:")
    entries = row.get("actions") or []
    return next((e.get("value") for e in entries if e.get("action_type") == wanted), None)


def _sort_key(value: Any) -> tuple[int, float, str]:
    if isinstance(value, str):
        try:
            return 0, float(value), ""
        except ValueError:
            return 1, 0.0, value
    return 0, 0.0, ""
