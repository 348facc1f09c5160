"""Ad images: ``act_{id}/adimages`` (reference §3.5).

An upload answers ``{"images": {<key>: {"hash": ..., "url": ...}}}`` with one entry per file;
the key is ``bytes`` or the file name, so we never rely on it. An image's id is
``<account digits>:<hash>``, and creatives refer to it by hash.
"""

from __future__ import annotations

import asyncio
import base64
import builtins
import mimetypes
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from meta_agent.graph.models import AdImage
from meta_agent.graph.pagination import Paginator
from meta_agent.graph.requestor import CallOptions
from meta_agent.graph.services._base import Service, act, write_options
from meta_agent.graph.transport import FileField

ImageSource = Path | tuple[str, bytes]
"""A file on disk, or a file name with its bytes."""


class ImageService(Service):
    """Upload, list and delete the images of an ad account."""

    async def upload_bytes(
        self, account_id: str, data: bytes, *, name: str | None = None
    ) -> AdImage:
        """Upload one image as base64 in the ``bytes`` form field.

        Raises:
            InvalidParameterError: Meta could not use the image.
            OutcomeUnknownError: the upload may have been stored.
        """
        params = {"bytes": base64.b64encode(data).decode("ascii"), "name": name}
        images = await self._upload(account_id, params, None, write_options(False, None))
        return images[0]

    async def upload_files(self, account_id: str, sources: Sequence[ImageSource]) -> list[AdImage]:
        """Upload several images in one multipart request, in the order given.

        Raises:
            InvalidParameterError: Meta could not use an image.
            OutcomeUnknownError: the upload may have been stored.
        """
        # Field names only need to be distinct; Meta reads the file name from each part.
        files = {f"image_{i}": await _file_field(s) for i, s in enumerate(sources)}
        return await self._upload(account_id, {}, files, write_options(False, None))

    async def upload_file(self, account_id: str, source: ImageSource) -> AdImage:
        """Upload one image as a multipart file part.

        Raises:
            InvalidParameterError: Meta could not use the image.
            OutcomeUnknownError: the upload may have been stored.
        """
        return (await self.upload_files(account_id, [source]))[0]

    def list(
        self,
        account_id: str,
        *,
        fields: Sequence[str] | None = None,
        page_size: int | None = None,
    ) -> Paginator[AdImage]:
        """The account's image library, lazily."""
        path = f"{act(account_id)}/adimages"
        return self._list(path, AdImage, fields=fields, page_size=page_size)

    def list_by_hashes(
        self, account_id: str, hashes: Sequence[str], *, fields: Sequence[str] | None = None
    ) -> Paginator[AdImage]:
        """The images with these hashes (for checking an upload is already there)."""
        path = f"{act(account_id)}/adimages"
        params = {"hashes": [*hashes]}
        return self._list(path, AdImage, fields=fields, page_size=None, params=params)

    async def delete(self, account_id: str, image_hash: str) -> None:
        """Delete an image that no creative uses.

        Raises:
            ApiError: Meta refused (the image is in use), or the call failed after retries.
        """
        path = f"{act(account_id)}/adimages"
        await self._delete(path, write_options(False, None), {"hash": image_hash})

    async def _upload(
        self,
        account_id: str,
        params: dict[str, Any],
        files: dict[str, FileField] | None,
        options: CallOptions,
    ) -> builtins.list[AdImage]:
        path = f"{act(account_id)}/adimages"
        response = await self._requestor.call("POST", path, params, files=files, options=options)
        digits = act(account_id).removeprefix("act_")
        entries = (response.body or {}).get("images") or {}
        return [_uploaded(digits, entry) for entry in entries.values()]


def _uploaded(digits: str, entry: dict[str, Any]) -> AdImage:
    """An upload entry as an ``AdImage``, with the id Meta does not repeat in the reply."""
    return AdImage.model_validate(
        {"id": f"{digits}:{entry['hash']}", "account_id": digits, **entry}
    )


async def _file_field(source: ImageSource) -> FileField:
    if isinstance(source, Path):
        # Reading a large file must not stall the event loop.
        name, data = source.name, await asyncio.to_thread(source.read_bytes)
    else:
        name, data = source
    return file_field(name, data)


def file_field(name: str, data: bytes) -> FileField:
    """A file part of a multipart request, its type guessed from its name."""
    return name, data, mimetypes.guess_type(name)[0] or "application/octet-stream"
