"""Creating a structure of ad objects in as few round trips as Meta allows.

A launch is a list of :class:`LaunchItem` (images, campaign, ad sets, creatives, ads), each
with its idempotency key and the labels of the items it needs. A launch that fits in one batch
(at most 50 items) goes out as one, references standing in for ids not known yet. A larger one
goes in two waves (:func:`plan_waves`), each a set of batches of at most 50 sent at once through
the client's pacing: first everything some other item needs (the campaign with its ad sets, the
new images with the creatives that show them), then the rest (every ad). However many objects,
that is two sequential round trips; only the number of batches in each wave grows.

New images travel in the batch as attached files (an ``adimages`` item each). An image is named
by the MD5 of its bytes, which is known before it is sent, so a creative names its image by
hash and merely waits for it (``depends_on``); a lost image answer is simply sent again (the
same bytes find the same image), and images are kept on rollback (they cost nothing and may be
shared), so they are not journaled as objects to undo.

Every object that comes back is journaled at once. An item whose answer was lost
(``OutcomeUnknownError``) is looked for on Meta by its key before anything is sent again;
only what is truly missing is re-sent, once. Any other failure stops the launch with the
first error, after everything that did get created has been journaled for the rollback.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog

from meta_agent.errors import DependencyFailedError, MetaAgentError, OutcomeUnknownError
from meta_agent.gate.policy import money
from meta_agent.graph.batch import MAX_BATCH_SIZE, BatchBuilder, BatchResults, ref
from meta_agent.graph.services._base import act
from meta_agent.graph.transport import FileField
from meta_agent.orchestrator.engine import Found, Planned, StepRun
from meta_agent.orchestrator.env import Env
from meta_agent.orchestrator.settle import sent_fields
from meta_agent.store.journal import NewResource

log = structlog.get_logger("meta_agent.launch")

# How many times an item whose answer was lost (and which was not found on Meta) is sent.
MAX_SENDS = 2
# Batches of one wave in flight at once: every batch of a 1,000-object launch; the pacer still
# admits each by its weight (its items), so the account's budget is never overrun.
WAVE_CONCURRENCY = 64
IMAGE = "adimage"


@dataclass(frozen=True)
class LaunchItem:
    """One object to create: ``build`` gets the ids (or references) of what it needs."""

    label: str
    kind: str
    edge: str
    key: str
    build: Callable[[Mapping[str, str]], dict[str, Any]]
    needs: tuple[str, ...] = ()
    files: Mapping[str, FileField] = field(default_factory=dict)

    @property
    def planned(self) -> Planned:
        """How the journal announces it."""
        return Planned(self.kind, self.key)

    @property
    def journaled(self) -> bool:
        """Whether the journal keeps it for the rollback (an image is kept, so it is not)."""
        return self.kind != IMAGE

    def answer(self, body: Mapping[str, Any]) -> str:
        """Its id in Meta's answer (an image's is its hash)."""
        if self.kind == IMAGE:
            return str(next(iter(body["images"].values()))["hash"])
        return str(body["id"])


def image_item(label: str, digest: str, file: FileField) -> LaunchItem:
    """A new image of a launch, attached to the batch as a file (keyed by its hash)."""
    return LaunchItem(label, IMAGE, "adimages", digest, lambda ids: {}, files={"file": file})


def planned(items: Sequence[LaunchItem]) -> list[Planned]:
    """How the journal announces a launch: the objects it keeps for the rollback."""
    return [item.planned for item in items if item.journaled]


@dataclass
class Launch:
    """The state of one launch: ids known so far, by label."""

    items: Sequence[LaunchItem]
    ids: dict[str, str] = field(default_factory=dict)
    sent: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: int = 0

    def details(self, item: LaunchItem) -> dict[str, Any]:
        """What the journal keeps of a created item: its label, and the (tagged) name, status
        and money it was sent with, so settling gives the name back without reading it and
        ``workflows undo`` can tell what changed since."""
        sent = self.sent.get(item.label)
        return {"label": item.label, "sent": sent} if sent else {"label": item.label}

    def pending(self) -> list[LaunchItem]:
        """Items with no id yet."""
        return [item for item in self.items if item.label not in self.ids]


async def launch(run: StepRun, env: Env, account_id: str, items: Sequence[LaunchItem]) -> Launch:
    """Create ``items`` (adopting any the journal's resume found); returns their ids.

    Raises:
        MetaAgentError: the first item's error that is not a lost answer.
    """
    state = Launch(items)
    by_key = {item.key: item for item in items}
    for key, object_id in run.found.items():
        if key in by_key:
            state.ids[by_key[key].label] = object_id
    for _ in range(MAX_SENDS):
        pending = state.pending()
        if not pending:
            break
        for wave in plan_waves(pending):
            sendable = [item for item in wave if _sendable(item, state, wave)]
            if not sendable:
                continue
            results = await _send(env, account_id, state, sendable)
            unknown = await _collect(run, state, sendable, results)
            # A lost image is sent again as it is: the same bytes find the same image.
            if lost := [item for item in unknown if item.journaled]:
                await _adopt(run, env, account_id, state, lost)
    missing = state.pending()
    if missing:
        raise OutcomeUnknownError(
            f"{len(missing)} object(s) may or may not exist after {MAX_SENDS} sends: "
            + ", ".join(item.label for item in missing),
            labels=[item.label for item in missing],
        )
    return state


def plan_waves(items: Sequence[LaunchItem]) -> list[list[LaunchItem]]:
    """The launch's waves: one when it fits in a batch, else two (see the module docs).

    The first wave holds every item another item needs, the second the rest. A group of the
    first wave linked by dependencies that could not travel in one batch (an image shown by
    more than 49 creatives) would take extra rounds; its creatives go with their ads instead.
    """
    if len(items) <= MAX_BATCH_SIZE:
        return [list(items)]
    needed = {need for item in items for need in item.needs}
    first = [item for item in items if item.label in needed]
    crowded = {
        item.label
        for group in _linked(first)
        if len(group) > MAX_BATCH_SIZE
        for item in group
        if item.kind == "adcreative"
    }
    first = [item for item in first if item.label not in crowded]
    second = [item for item in items if item.label not in needed or item.label in crowded]
    return [wave for wave in (first, second) if wave]


def _linked(items: Sequence[LaunchItem]) -> list[list[LaunchItem]]:
    """``items`` in groups connected by their needs (each group in the order given)."""
    group_of = {item.label: index for index, item in enumerate(items)}

    def root(label: str) -> str:
        while items[group_of[label]].label != label:
            label = items[group_of[label]].label
        return label

    for item in items:
        for need in item.needs:
            if need in group_of:
                group_of[root(item.label)] = group_of[root(need)]
    groups: dict[str, list[LaunchItem]] = {}
    for item in items:
        groups.setdefault(root(item.label), []).append(item)
    return list(groups.values())


def _sendable(item: LaunchItem, state: Launch, wave: Sequence[LaunchItem]) -> bool:
    """Whether everything ``item`` needs exists or goes with it (not an unadopted loss)."""
    going = {other.label for other in wave}
    return all(need in state.ids or need in going for need in item.needs)


async def _send(
    env: Env, account_id: str, state: Launch, pending: Sequence[LaunchItem]
) -> BatchResults:
    batch = BatchBuilder(env.graph.requestor, concurrency=WAVE_CONCURRENCY)
    sending = {item.label for item in pending}
    kinds = {item.label: item.kind for item in state.items}
    for item in pending:
        refs = {
            need: state.ids[need] if need in state.ids else ref(need)
            for need in item.needs
            if need in state.ids or need in sending
        }
        # An image is named by its hash, known already: it is waited for, never referenced.
        waits = [need for need in item.needs if need in sending and kinds[need] == IMAGE]
        params = item.build(refs)
        state.sent[item.label] = sent_fields(params)
        batch.post(
            f"{act(account_id)}/{item.edge}",
            params,
            name=item.label,
            depends_on=waits,
            files=item.files or None,
        )
    results = await batch.execute()
    state.requests += results.calls
    return results


async def _collect(
    run: StepRun, state: Launch, pending: Sequence[LaunchItem], results: BatchResults
) -> list[LaunchItem]:
    """Journal what was created; return the items whose outcome is unknown; raise the rest."""
    unknown: list[LaunchItem] = []
    failures: list[MetaAgentError] = []
    created: list[NewResource] = []
    for item in pending:
        result = results[item.label]
        if result.ok:
            state.ids[item.label] = item.answer(result.body)
            if item.journaled:
                created.append(
                    NewResource(item.kind, state.ids[item.label], details=state.details(item))
                )
        elif isinstance(result.error, OutcomeUnknownError):
            unknown.append(item)
        elif result.error is not None and not isinstance(result.error, DependencyFailedError):
            result.error.details.setdefault("item", item.label)
            failures.append(result.error)
    # Written with the step's outcome (or sooner, by key, should the process die first).
    await run.created_many(created, planned=True)
    if failures:
        raise failures[0]
    if (
        any(isinstance(results[i.label].error, DependencyFailedError) for i in pending)
        and not unknown
    ):
        raise next(r.error for i in pending if (r := results[i.label]).error is not None)
    return unknown


async def _adopt(
    run: StepRun, env: Env, account_id: str, state: Launch, unknown: Sequence[LaunchItem]
) -> None:
    """Look for lost-answer items on Meta by key; journal and keep the ones found.

    An object is adopted only if it proves to be ours: the whole key (105 bits), found on this
    account, and hanging from the parent this launch made (an ad set's campaign, an ad's ad
    set), so no other workflow's object is ever claimed.
    """
    wanted = {item.key: item for item in unknown}
    for found in await env.compensator.find(account_id, run.ctx.prefix):
        item = wanted.get(found.key)
        if item is None:
            continue
        if not _same_parent(item, found, state):
            log.warning("launch.adoption_refused", label=item.label, object_id=found.object_id)
            continue
        del wanted[found.key]  # one object per planned item, the first that proves ours
        state.ids[item.label] = found.object_id
        await run.created(item.kind, found.object_id, details=state.details(item))


_PARENT_KIND = {"adset": "campaign", "ad": "adset"}


def _same_parent(item: LaunchItem, found: Found, state: Launch) -> bool:
    """Whether ``found`` hangs from the object this launch made for ``item``'s parent."""
    parent_kind = _PARENT_KIND.get(item.kind)
    if parent_kind is None or found.parent_id is None:
        return True
    kinds = {other.label: other.kind for other in state.items}
    parents = [state.ids[n] for n in item.needs if kinds.get(n) == parent_kind and n in state.ids]
    return not parents or found.parent_id in parents


def plan_view(
    items: Sequence[LaunchItem], env: Env, account_id: str, currency: str, *, activate: bool
) -> dict[str, Any]:
    """What a dry run shows: each object with its name and budget in major units, and what the
    account's policy will do with the launch (the gate's verdict, before anything is sent)."""
    policy = env.policies.for_account(account_id, currency)
    objects = []
    for item in items:
        params = item.build({name: ref(name) for name in item.needs})
        entry: dict[str, Any] = {"label": item.label, "kind": item.kind, "name": params.get("name")}
        for field_name in ("daily_budget", "lifetime_budget", "spend_cap", "bid_amount"):
            if params.get(field_name):
                entry[field_name] = money(int(params[field_name]), currency)
        entry["needs"] = list(item.needs)
        objects.append(entry)
    waits = activate and policy.activation_requires_approval
    return {
        "account_id": account_id,
        "currency": currency,
        "objects": objects,
        "policy": {
            "max_daily_budget": _cap(policy.max_daily_budget, currency),
            "max_account_daily_total": _cap(policy.max_account_daily_total, currency),
            "activation": "waits for an approval" if waits else ("yes" if activate else "no"),
        },
    }


def _cap(amount: int | None, currency: str) -> str | None:
    return money(amount, currency) if amount is not None else None
