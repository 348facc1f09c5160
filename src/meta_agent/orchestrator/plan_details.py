"""What a dry run shows of a launch: every object as it would be sent, said for a person.

:func:`launch.plan_view` gives each object's label, name and budgets and the policy's caps;
:func:`describe_launch` adds, from the very parameters the launch would send, each object's
schedule, targeting (names already resolved to Meta's ids), placements, the creative's text
and media, Meta's audience and delivery estimate for each ad set
(``GET act_X/delivery_estimate``, reads only), and the policy's verdict. Nothing is written.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from typing import Any

from meta_agent.agents.keys import untagged
from meta_agent.errors import MetaAgentError
from meta_agent.gate.policy import money
from meta_agent.graph.batch import ref
from meta_agent.graph.services._base import act
from meta_agent.orchestrator.env import Env
from meta_agent.orchestrator.workflows.launch import LaunchItem, plan_view

# Targeting keys that are places, and how the plan names them.
_PLACES = ("countries", "regions", "cities", "zips", "geo_markets", "custom_locations")
_GENDERS = {1: "men", 2: "women"}
# Placement keys of a targeting spec; none of them means Advantage+ placements.
_PLACEMENTS = {
    "publisher_platforms": "platforms",
    "facebook_positions": "Facebook",
    "instagram_positions": "Instagram",
    "audience_network_positions": "Audience Network",
    "messenger_positions": "Messenger",
    "threads_positions": "Threads",
    "device_platforms": "devices",
}


async def describe_launch(
    items: Sequence[LaunchItem], env: Env, account_id: str, currency: str, *, activate: bool
) -> dict[str, Any]:
    """The dry run's plan: :func:`plan_view` with each object's details and estimates."""
    view = plan_view(items, env, account_id, currency, activate=activate)
    sent = {item.label: item.build({name: ref(name) for name in item.needs}) for item in items}
    names = {label: untagged(str(params.get("name") or label)) for label, params in sent.items()}
    adsets = [item.label for item in items if item.kind == "adset"]
    estimates = await asyncio.gather(
        *(delivery_estimate(env, account_id, sent[label], currency) for label in adsets)
    )
    by_label = dict(zip(adsets, estimates, strict=True))
    for entry in view["objects"]:
        label = entry["label"]
        entry["name"] = names[label]
        entry.update(details(entry["kind"], sent[label], names))
        if label in by_label:
            entry["estimate"] = by_label[label]
    view["policy"]["verdict"] = verdict(view["policy"], activate=activate)
    return view


def details(kind: str, params: Mapping[str, Any], names: Mapping[str, str]) -> dict[str, Any]:
    """What a person checks before a launch, for one object of ``kind``."""
    if kind == "campaign":
        return _present(
            objective=params.get("objective"),
            status=params.get("status"),
            bid_strategy=params.get("bid_strategy"),
            special_ad_categories=params.get("special_ad_categories") or None,
            schedule=schedule(params.get("start_time"), params.get("stop_time")),
        )
    if kind == "adset":
        spec = _decoded(params.get("targeting"))
        return _present(
            status=params.get("status"),
            optimization_goal=params.get("optimization_goal"),
            billing_event=params.get("billing_event"),
            schedule=schedule(params.get("start_time"), params.get("end_time")),
            targeting=targeting_summary(spec),
            placements=placements(spec),
        )
    if kind == "adcreative":
        return creative_summary(params)
    return _present(
        status=params.get("status"),
        adset=_named(params.get("adset_id"), names),
        creative=_named((params.get("creative") or {}).get("creative_id"), names),
    )


def schedule(start: Any, end: Any) -> str:
    """``starts 2030-01-01T09:00:00Z, ends 2030-01-31T21:00:00Z``; unset ends said so."""
    begins = f"starts {start}" if start else "starts when activated"
    ends = f"ends {end}" if end else "no end date"
    return f"{begins}, {ends}"


def targeting_summary(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Who: places, ages, genders, interests and audiences with Meta's ids."""
    geo = spec.get("geo_locations") or {}
    interests = [
        f"{option.get('name', '?')} ({option.get('id')})"
        for group in spec.get("flexible_spec") or []
        for options in group.values()
        for option in options
    ]
    genders = [_GENDERS.get(int(g), str(g)) for g in spec.get("genders") or []]
    audiences = [str(a.get("id", a)) for a in spec.get("custom_audiences") or []]
    return _present(
        locations=[_place(key, value) for key in _PLACES for value in geo.get(key) or []],
        ages=f"{spec.get('age_min', 18)}-{spec.get('age_max', 65)}",
        genders=", ".join(genders) or "all",
        interests=interests or None,
        custom_audiences=audiences or None,
        advantage_audience=bool((spec.get("targeting_automation") or {}).get("advantage_audience")),
    )


def placements(spec: Mapping[str, Any]) -> str:
    """``facebook, instagram`` (and positions), or Advantage+ placements when none is set."""
    chosen = [
        f"{_PLACEMENTS[key]}: {', '.join(str(v) for v in spec[key])}"
        for key in _PLACEMENTS
        if spec.get(key)
    ]
    return "; ".join(chosen) or "Advantage+ placements (Meta chooses)"


def creative_summary(params: Mapping[str, Any]) -> dict[str, Any]:
    """The creative's Page, text, link, call to action and media (hashes, video, cards)."""
    story = _decoded(params.get("object_story_spec"))
    data = story.get("link_data") or story.get("video_data") or {}
    cta = data.get("call_to_action") or {}
    cards = [
        _present(
            headline=card.get("name"),
            link=card.get("link"),
            image_hash=card.get("image_hash"),
            video_id=card.get("video_id"),
        )
        for card in data.get("child_attachments") or []
    ]
    return _present(
        page_id=story.get("page_id"),
        instagram_user_id=story.get("instagram_user_id"),
        message=data.get("message"),
        headline=data.get("name") or data.get("title"),
        description=data.get("description"),
        link=data.get("link") or (cta.get("value") or {}).get("link"),
        call_to_action=cta.get("type"),
        image_hash=data.get("image_hash"),
        image_url=data.get("image_url"),
        video_id=data.get("video_id"),
        cards=cards or None,
    )


async def delivery_estimate(
    env: Env, account_id: str, adset: Mapping[str, Any], currency: str
) -> dict[str, Any]:
    """Meta's audience size and daily delivery for one ad set (an error becomes a note)."""
    params = {
        "targeting_spec": _decoded(adset.get("targeting")),
        "optimization_goal": adset.get("optimization_goal"),
    }
    try:
        body = await env.graph.get(f"{act(account_id)}/delivery_estimate", params)
    except MetaAgentError as error:
        return {"unavailable": f"Meta gave no estimate: {error.message}"}
    rows = (body or {}).get("data") or []
    if not rows:
        return {"unavailable": "Meta gave no estimate for this targeting"}
    return estimate_view(rows[0], adset, currency)


def estimate_view(
    row: Mapping[str, Any], adset: Mapping[str, Any], currency: str
) -> dict[str, Any]:
    """Audience bounds, and where Meta still returns them (before v26.0 reached every version
    on 2026-10-27) daily active users and the curve's point nearest the daily budget."""
    view = _present(
        audience=_range(row.get("estimate_mau_lower_bound"), row.get("estimate_mau_upper_bound")),
        daily_active_users=_count(row.get("estimate_dau")),
    )
    budget = adset.get("daily_budget")
    curve = row.get("daily_outcomes_curve") or []
    if isinstance(budget, int) and curve:
        point = min(curve, key=lambda p: abs(int(p.get("spend", 0)) - budget))
        view["per_day"] = _present(
            spend=money(int(point.get("spend", 0)), currency),
            reach=_count(point.get("reach")),
            impressions=_count(point.get("impressions")),
            results=_count(point.get("actions")),
        )
    return view


def verdict(policy: Mapping[str, Any], *, activate: bool) -> str:
    """The policy's word on the launch: it passed the checks the dry run ran (it would have
    been refused otherwise), and whether an activation would wait for an approval."""
    held = policy.get("activation") == "waits for an approval"
    if held:
        return "allowed; the activation waits for an approver (status PENDING_APPROVAL)"
    if activate:
        return "allowed: within every cap; everything goes ACTIVE once it exists"
    return "allowed: within every cap; everything is created PAUSED"


def _count(value: Any) -> str | None:
    """A count for people: ``10,017,331``; a fractional estimate rounded (``25``)."""
    if value is None:
        return None
    return f"{round(float(value)):,}"


def _range(lower: Any, upper: Any) -> str | None:
    if lower is None or upper is None:
        return None
    return f"{int(lower):,} to {int(upper):,} people"


def _place(key: str, value: Any) -> str:
    if isinstance(value, Mapping):
        label = value.get("name") or value.get("key")
        return f"{key.removesuffix('s')} {label} ({value.get('key')})"
    return str(value)


def _named(value: Any, names: Mapping[str, str]) -> str | None:
    """A reference to another object of the launch as its name, an existing id as itself."""
    if not isinstance(value, str):
        return None
    for label, name in names.items():
        if value == ref(label):
            return name
    return value


def _decoded(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            loaded = json.loads(value)
        except json.JSONDecodeError:
            return {}
        return loaded if isinstance(loaded, dict) else {}
    return dict(value) if isinstance(value, Mapping) else {}


def _present(**fields: Any) -> dict[str, Any]:
    """``fields`` without the unset ones (a plan lists what will be sent)."""
    return {name: value for name, value in fields.items() if value is not None and value != []}
