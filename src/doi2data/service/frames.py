"""Frames chosen by metadata: ``?where=omega >= 90 and omega < 120 and chi == 0``.

Same table and grammar as ``doi2data frames --where`` (:mod:`doi2data.subset.frames`,
:mod:`doi2data.subset.where`): one row per CBF file and per frame of each NeXus/HDF5 image stack,
with generic datanames read from headers only; the expression is parsed by the safe grammar
(never ``eval``), unknown names are refused with the list of known ones. ``file=``/``include=``/
``exclude=`` narrow the files scanned, as ``frames --include`` does.

Answers:

* default - the frame table of the matching frames as JSON (``frames --json``'s document, plus
  ``where`` and ``table_cached``);
* ``&archive=zip|tar`` - the matching frames as one streamed archive: CBF frames are the origin's
  files, verified against the manifest's checksums while they stream; frames of an HDF5 stack
  become one new HDF5 file per stack holding just those frames (raw chunk copies, as
  ``frames --get``), built before the first byte is sent so the archive's length is exact.

Tables are kept per manifest version and selection (:class:`.subsetstate.SubsetState`); while
one request builds a table, others for the same table wait for it instead of rescanning.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Hashable
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..errors import UsageError
from ..filelist import FileList
from ..identifiers import Identifier
from ..model import FileEntry, Manifest
from ..paths import plan_paths
from ..subset.frames import Frame, FrameTable, frame_table
from ..subset.framescan import kind_of
from ..subset.hdf5extract import extract_hdf5
from ..subset.hdf5remote import H5Files
from .slices import read_limits
from ..subset.where import parse_where
from .archive import Member
from .manifests import Entry
from .problems import InvalidWhere, NotFound, TooLarge
from .stream import archive_kind, archive_response, blocking, slug

if TYPE_CHECKING:
    from .gateway import Gateway
    from .query import Query


async def where_response(request: Request, gw: Gateway, query: Query, ident: Identifier, entry: Entry, client: str,
                         headers: dict[str, str]) -> Response:
    expr = query.one["where"]
    try:
        parse_where(expr)  # syntax first: no origin request for a typo
    except UsageError as exc:
        raise InvalidWhere(str(exc)) from exc
    manifest = entry.manifest
    narrowed = query.narrowed
    chosen = query.chosen(manifest).files
    limit = gw.config.max_frame_files
    # off the loop, at most one past the limit (a million frames made a list of every entry, on the event loop)
    scanned = await blocking(lambda: list(islice(
        (e for e in chosen if kind_of(e.path) and e.access == "open" and e.url), limit + 1)))
    if not scanned:
        raise NotFound(f"no open CBF or HDF5/NeXus file of {ident.value} to read frames from"
                       + (" among the selected files" if narrowed else ""))
    if len(scanned) > limit:
        raise TooLarge(f"more than {limit} files to scan for frames; at most {limit} per request "
                       "(narrow with file=, include= or exclude=)")
    paths = frozenset(e.path for e in scanned) if narrowed else None  # the files frame_table will consider
    table, cached = await _table(gw, (entry.etag, paths), manifest, paths)
    try:
        frames = table.query(expr)
    except UsageError as exc:
        raise InvalidWhere(str(exc)) from exc
    if "archive" in query.one:
        return await _archive(request, gw, query, ident, entry, frames, client, headers)
    body = table.to_json(frames)
    body.update(where=expr, table_cached=cached)
    return JSONResponse(body, headers=headers)


async def _table(gw: Gateway, key: Hashable, manifest: Manifest, paths: frozenset[str] | None
                 ) -> tuple[FrameTable, bool]:
    """The frame table for ``key`` (manifest version + selection): kept, or built once."""
    async with gw.subsets.lock(key):
        table = gw.subsets.table(key)
        if table is not None:
            return table, True
        table = await blocking(_build, gw, manifest, paths, executor=gw.subsets.executor)
        gw.subsets.keep(key, table)
        return table, False


def _build(gw: Gateway, manifest: Manifest, paths: frozenset[str] | None) -> FrameTable:
    chooser = None if paths is None else cast(Any, lambda e: e.path in paths)
    return frame_table(manifest, reader=gw.subsets.reader(gw.sync_client), cache=False, filters=chooser)


async def _archive(request: Request, gw: Gateway, query: Query, ident: Identifier, entry: Entry,
                   frames: list[Frame], client: str, headers: dict[str, str]) -> Response:
    kind = archive_kind(query.one["archive"])
    if not frames:
        raise NotFound(f"no frame of {ident.value} matches {query.one['where']!r}")
    manifest = entry.manifest
    whole = sorted({f.file for f in frames if f.dataset is None})
    wanted = set(whole)  # entries only for these (a dict of every entry was ~1 KB a file)
    files = FileList.of(manifest.files)
    by_path = await blocking(lambda: {files.path(r): files[r] for r in range(len(files)) if files.path(r) in wanted})
    stacks: dict[tuple[str, str], list[int]] = {}
    for f in frames:
        if f.dataset is not None:
            stacks.setdefault((f.file, f.dataset), []).append(f.frame)
    if len(whole) + len(stacks) > gw.config.max_archive_members:
        raise TooLarge(f"{len(whole) + len(stacks)} files; an archive holds at most {gw.config.max_archive_members}")
    tmp = Path(tempfile.mkdtemp(prefix="doi2data-frames-"))

    def cleanup() -> None:
        shutil.rmtree(tmp, ignore_errors=True)

    try:
        made = await blocking(_stack_files, gw, manifest, stacks, tmp, executor=gw.subsets.executor) \
            if stacks else []
        sources: list[tuple[str, FileEntry, Path | None]] = [(p, by_path[p], None) for p in whole]
        sources += [(name, FileEntry(name, size=path.stat().st_size), path) for name, path in made]
        plans, _ = plan_paths(name for name, _, _ in sources)
        members = [Member(plan.local, file, local=local)
                   for plan, (_, file, local) in zip(plans, sources) if plan is not None]
        return await archive_response(request, gw, kind, members, filename=f"{slug(ident)}-frames.{kind}",
                                      etag_parts=[entry.etag, query.one["where"]], year=manifest.dataset.year,
                                      client=client, headers={**headers, "X-Doi2data-Frames": str(len(frames))},
                                      head=request.method == "HEAD", cleanup=cleanup)
    except BaseException:
        cleanup()
        raise


def _stack_files(gw: Gateway, manifest: Manifest, stacks: dict[tuple[str, str], list[int]], dest: Path
                 ) -> list[tuple[str, Path]]:
    """Worker thread: one HDF5 file per (file, image dataset) holding just the chosen frames."""
    made: list[tuple[str, Path]] = []
    reader = gw.subsets.reader(gw.sync_client)
    # the gateway's read caps (chunks touched, one chunk's size, bytes fetched), as for ?slice=
    with H5Files(manifest, reader, limits=read_limits(gw)) as files, files.guard():
        for (file, dataset), indices in sorted(stacks.items()):
            report = extract_hdf5(manifest, dest=dest, file=file, dataset=dataset, frames=indices, reader=reader,
                                  files=files)
            made += [(w.local, dest / w.local) for w in report.written]
    return made


__all__ = ["where_response"]
