"""What every family service shares: the requestor, write options, params from models.

Each helper here makes exactly one requestor call. Services add the verb and the path and
pick the model; retries, pacing, logging and error mapping all live below, in the requestor.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from meta_agent.graph.models import GraphModel, GraphNode
from meta_agent.graph.pagination import Paginator, paginate
from meta_agent.graph.requestor import CallOptions, Requestor

N = TypeVar("N", bound=GraphNode)


class WriteSpec(BaseModel):
    """Parameters of a create or an update: strictly typed, frozen; rarer params as extras."""

    model_config = ConfigDict(strict=True, extra="allow", frozen=True)

    def to_params(self) -> dict[str, Any]:
        """The set fields as wire values (times ISO-8601, decimals as strings)."""
        return self.model_dump(mode="json", exclude_none=True)


class Created(GraphModel):
    """A create's reply: the new object's ``id``, or no id after a dry run.

    Under ``validate_only`` Meta replies ``{"success": true}`` and stores nothing. Fields
    read back on create (read-after-write) are kept as extras.
    """

    id: str | None = None
    success: bool | None = None

    @property
    def validated_only(self) -> bool:
        """True when this was a dry run: nothing was created."""
        return self.id is None


def write_options(
    validate_only: bool, idempotency_key: str | None, *, priority: bool = False
) -> CallOptions:
    """The per-call options of a write."""
    return CallOptions(
        validate_only=validate_only, idempotency_key=idempotency_key, priority=priority
    )


def field_list(fields: Sequence[str] | None, model: type[GraphNode]) -> str:
    """``fields`` (or the model's defaults) comma-separated, as Graph reads them."""
    return ",".join(fields or model.DEFAULT_FIELDS)


def act(account_id: str) -> str:
    """``act_<digits>`` whether given the digits or the full id."""
    return account_id if account_id.startswith("act_") else f"act_{account_id}"


class Service:
    """Base of the family services: one requestor, and the one-call helpers below."""

    def __init__(self, requestor: Requestor) -> None:
        self._requestor = requestor

    async def _read(self, path: str, model: type[N], fields: Sequence[str] | None) -> N:
        params = {"fields": field_list(fields, model)}
        response = await self._requestor.call("GET", path, params)
        return model.model_validate(response.body)

    async def _create(self, path: str, params: Mapping[str, Any], options: CallOptions) -> Created:
        response = await self._requestor.call("POST", path, params, options=options)
        return Created.model_validate(response.body)

    async def _post(self, path: str, params: Mapping[str, Any], options: CallOptions) -> None:
        await self._requestor.call("POST", path, params, options=options)

    async def _delete(
        self, path: str, options: CallOptions, params: Mapping[str, Any] | None = None
    ) -> None:
        await self._requestor.call("DELETE", path, params, options=options)

    def _list(
        self,
        path: str,
        model: type[N],
        *,
        fields: Sequence[str] | None,
        page_size: int | None,
        summary: bool = False,
        params: Mapping[str, Any] | None = None,
    ) -> Paginator[N]:
        return paginate(
            self._requestor,
            path,
            params,
            model=model,
            fields=fields or model.DEFAULT_FIELDS,
            page_size=page_size,
            summary=summary,
        )


S = TypeVar("S", bound=WriteSpec)
U = TypeVar("U", bound=WriteSpec)


class ObjectService(Service, Generic[N, S, U]):
    """The life cycle of an ad object on an account edge: create, get, list, update, delete.

    A family names its edge (``campaigns``) and model, and adds what is particular to it.
    """

    _edge: str
    _model: type[N]

    async def create(
        self,
        account_id: str,
        spec: S,
        *,
        validate_only: bool = False,
        idempotency_key: str | None = None,
    ) -> Created:
        """Create the object; with ``validate_only`` Meta checks it and stores nothing.

        Raises:
            InvalidParameterError: Meta refused a parameter (``blame_fields`` says which).
            OutcomeUnknownError: the request may have been applied; reconcile by the key.
        """
        options = write_options(validate_only, idempotency_key)
        return await self._create(f"{act(account_id)}/{self._edge}", spec.to_params(), options)

    async def get(self, object_id: str, fields: Sequence[str] | None = None) -> N:
        """Read one object (the model's ``DEFAULT_FIELDS`` unless ``fields`` is given).

        Raises:
            NotFoundError: no such object.
        """
        return await self._read(object_id, self._model, fields)

    def list(
        self,
        account_id: str,
        *,
        fields: Sequence[str] | None = None,
        effective_status: Sequence[str] | None = None,
        page_size: int | None = None,
        summary: bool = False,
    ) -> Paginator[N]:
        """The account's objects, lazily, a page at a time (deleted ones never appear)."""
        return self._list(
            f"{act(account_id)}/{self._edge}",
            self._model,
            fields=fields,
            page_size=page_size,
            summary=summary,
            params={"effective_status": [*effective_status] if effective_status else None},
        )

    async def update(
        self,
        object_id: str,
        changes: U,
        *,
        validate_only: bool = False,
        idempotency_key: str | None = None,
    ) -> None:
        """Apply ``changes``; unset fields are left as they are.

        Raises:
            InvalidParameterError: Meta refused a change.
            OutcomeUnknownError: the request may have been applied.
        """
        options = write_options(validate_only, idempotency_key)
        await self._post(object_id, changes.to_params(), options)

    async def delete(self, object_id: str, *, idempotency_key: str | None = None) -> None:
        """Delete the object (it stays readable by id, with status DELETED).

        Raises:
            ApiError: Meta refused, or the call failed after retries.
        """
        await self._delete(object_id, write_options(False, idempotency_key))


class PausableService(ObjectService[N, S, U]):
    """Campaigns, ad sets and ads: objects that deliver, and so can be paused."""

    async def pause(self, object_id: str, *, idempotency_key: str | None = None) -> None:
        """Pause delivery now: the call takes the priority lane, ahead of queued bulk work.

        Raises:
            ApiError: Meta refused, or the call failed after retries.
        """
        options = write_options(False, idempotency_key, priority=True)
        await self._post(object_id, {"status": "PAUSED"}, options)

    async def activate(self, object_id: str, *, idempotency_key: str | None = None) -> None:
        """Set status ACTIVE (delivery also needs live parents and an approved ad).

        Raises:
            ApiError: Meta refused, or the call failed after retries.
        """
        await self._post(object_id, {"status": "ACTIVE"}, write_options(False, idempotency_key))
