"""Subset requests (``list``, ``extract``, ``dataset``/``slice``, ``where``): validation and routing.

Why one place: the five parameters combine in only a few ways, and a request that mixes them
should fail with one clear 400 before any origin byte is read. The work itself happens in
:mod:`.members` (zip and tar members), :mod:`.slices` (HDF5 hyperslabs) and :mod:`.frames`
(frames chosen by metadata), all on worker threads over :mod:`doi2data.subset` - the library
the CLI's ``ls --inside`` and ``get --extract/--hdf5/--where`` use, so both read alike.

Every origin request they make goes through the gateway's blocking client: its request hook
runs the destination check on every hop, and it carries no credentials.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from ..errors import AccessDenied, UsageError
from ..identifiers import Identifier
from ..model import FileEntry, Manifest
from .manifests import Entry
from .problems import NotFound
from .query import SUBSET_KEYS

if TYPE_CHECKING:
    from .gateway import Gateway
    from .query import Query


def operation(params: Mapping[str, str]) -> str:
    """``list-members``, ``extract``, ``dataset`` or ``where``; a 400 for combinations that clash."""
    given = [k for k in SUBSET_KEYS if k in params]
    if "where" in params:
        if len(given) > 1:
            raise UsageError(f"where= cannot be combined with {', '.join(k + '=' for k in given if k != 'where')}")
        return "where"
    if "archive" in params:
        raise UsageError("archive= combines with where= (frames) or a file selection, not with "
                         f"{', '.join(k + '=' for k in given)}")
    if "list" in params:
        if params["list"] != "members":
            raise UsageError("list takes one value: members")
        if len(given) > 1:
            raise UsageError("list=members takes no other subset parameter")
        return "list-members"
    if "extract" in params:
        if "dataset" in params or "slice" in params:
            raise UsageError("extract= (archive members) cannot be combined with dataset=/slice= (HDF5)")
        if not params["extract"].strip("/ "):
            raise UsageError("extract= needs the member's path inside the archive")
        return "extract"
    if "dataset" not in params:
        raise UsageError("slice needs dataset=/path/in/file")
    return "dataset"


def one_file(query: Query, manifest: Manifest) -> FileEntry:
    """The one open file ``file=`` names (subsets of one file need exactly one)."""
    if not query.file:
        raise UsageError("subset requests need file= naming one file")
    chosen = query.chosen(manifest).files
    if len(chosen) != 1:
        if not chosen:
            raise NotFound(f"no file matches {', '.join(query.file)}")
        raise UsageError(f"file= must match exactly one file for a subset ({len(chosen)} match)")
    entry = chosen[0]
    if entry.access != "open":
        raise AccessDenied(f"{entry.path!r} is {entry.access}: the gateway serves open files only")
    if not entry.urls:
        raise NotFound(f"{entry.path!r} has no download URL")
    return entry


async def subset_response(request: Request, gw: Gateway, query: Query, ident: Identifier, entry: Entry, client: str,
                          headers: dict[str, str]) -> Response:
    """Validate the subset request, then answer it from the matching module."""
    op = operation(query.one)
    request.state.kind = f"subset-{op}"
    if op == "where":
        from .frames import where_response

        return await where_response(request, gw, query, ident, entry, client, headers)
    file = one_file(query, entry.manifest)
    await gw.policy.check(file.urls[0])  # a refused origin is a 403 before any work starts
    if op in ("list-members", "extract"):
        from .members import member_response

        return await member_response(request, gw, file, op, query.one, client, headers)
    from .slices import slice_response

    return await slice_response(request, gw, entry.manifest, file, query.one, headers)


__all__ = ["SUBSET_KEYS", "one_file", "operation", "subset_response"]
