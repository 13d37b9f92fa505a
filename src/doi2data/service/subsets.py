"""Subset requests (``extract``, ``list=members``, ``dataset``/``slice``, ``where``) and where they go.

Why a bridge: the remote-zip, HDF5 and table readers live in :mod:`doi2data.subset` (written
separately); the gateway defines the routes and their validation now and calls into that
package: its ``gateway_response`` when it offers one; else remote zip listings
(``list=members``) and members (``extract``) through :mod:`doi2data.subset.zipremote`; every
other subset answers ``501 Not Implemented`` (problem+json, "not implemented yet"), so clients
see a stable contract either way. The subset readers use their own blocking HTTP client, so
only the file's first URL passes the safety check here, not redirect hops.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import mimetypes
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

from starlette.concurrency import iterate_in_threadpool
from starlette.responses import JSONResponse, Response, StreamingResponse

from ..errors import UsageError
from ..model import FileEntry
from .problems import NotImplementedYet

if TYPE_CHECKING:
    from .app import Gateway

SUBSET_KEYS = ("extract", "list", "dataset", "slice", "where")


def _operation(params: Mapping[str, str]) -> str:
    if "list" in params:
        if params["list"] != "members":
            raise UsageError("list takes one value: members")
        return "list-members"
    if "extract" in params:
        return "extract"
    if "slice" in params and "dataset" not in params:
        raise UsageError("slice needs dataset=/path/in/file")
    if "dataset" in params:
        return "dataset"
    return "where"


def subset_module() -> Any | None:
    """:mod:`doi2data.subset` when it is installed and offers a gateway entry point."""
    if importlib.util.find_spec("doi2data.subset") is None:
        return None
    module = importlib.import_module("doi2data.subset")
    return module if callable(getattr(module, "gateway_response", None)) else None


async def subset_response(gw: Gateway, entry: FileEntry, params: Mapping[str, str],
                          headers: dict[str, str]) -> Response:
    """Validate the subset request, then hand it to :mod:`doi2data.subset` (or answer 501)."""
    operation = _operation(params)
    if entry.access != "open" or not entry.urls:
        raise UsageError(f"{entry.path!r} is not an open file with a URL")
    module = subset_module()
    await gw.policy.check(entry.urls[0])
    if module is not None:
        response: Response = await module.gateway_response(gw.client, entry, operation, dict(params), headers)
        return response
    if operation in ("list-members", "extract") and entry.path.lower().endswith(".zip") and _has_zip_reader():
        return await _zip(entry, operation, params, headers)
    raise NotImplementedYet(f"{operation} is not implemented yet in this gateway for {entry.path!r} "
                            "(doi2data.subset offers no gateway entry point for it); the route and parameters "
                            "are stable")


def _has_zip_reader() -> bool:
    return importlib.util.find_spec("doi2data.subset") is not None


async def _zip(entry: FileEntry, operation: str, params: Mapping[str, str], headers: dict[str, str]) -> Response:
    """Remote zip members through :mod:`doi2data.subset.zipremote` (blocking: run in threads)."""
    from ..subset.zipremote import iter_zip_member, list_zip_members

    if operation == "list-members":
        listing = await asyncio.to_thread(list_zip_members, entry)
        body = {"file": entry.path, "size": listing.size, "members": [m.to_json() for m in listing.members]}
        return JSONResponse(body, headers=headers)
    name = params["extract"]
    chunks = iter_zip_member(entry, name)
    first = await asyncio.to_thread(next, chunks, b"")  # errors (no such member) before the headers go out

    async def body_iter() -> AsyncIterator[bytes]:
        yield first
        async for chunk in iterate_in_threadpool(chunks):
            yield chunk

    filename = name.rsplit("/", 1)[-1] or "member"
    media = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    return StreamingResponse(body_iter(), media_type=media,
                             headers={**headers, "Content-Disposition": f'attachment; filename="{filename}"'})


__all__ = ["SUBSET_KEYS", "subset_module", "subset_response"]
