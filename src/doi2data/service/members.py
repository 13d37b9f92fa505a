"""Members of a remote zip or tar: ``?file=X&list=members`` and ``?file=X&extract=inner/path``.

Zip: the central directory by ranged reads, then one ranged GET for the member, inflated and
CRC-checked (:mod:`doi2data.subset.zipremote`). Tar (``.tar``, ``.tar.gz``, ``.tgz``, ``.tar.bz2``,
``.tar.xz``...): one GET streamed through :mod:`tarfile` until the member's header - tar has no
index, so a listing reads the whole archive and an extraction everything up to the member's end
(:mod:`doi2data.subset.tarstream`).

Either way the member's size is known before the status line goes out (the zip directory, the
tar header), so the response carries an exact ``Content-Length``; the last chunk is held back
until the member has been checked (CRC-32 and size for zip, size for tar), so a bad member is
cut short instead of looking complete. Names are literal member paths (a leading ``/`` is
ignored); directories, links and devices are refused.

Bombs (issue 16): inflation is bounded by :class:`~doi2data.subset.inflate.InflateLimits` made from
the config (``max_inflate_ratio``, ``max_inflate_seconds``, and ``max_archive_size`` for a tar's
uncompressed stream and a zip member's declared size). A zip member is refused with 413 before any
byte when its declared size is over the bounds; its first ~2 MiB are inflated and checked before
the status line, so a small member that inflates past its declared size is a 422, not a cut stream.
"""

from __future__ import annotations

import mimetypes
import tarfile
from collections.abc import Iterator, Mapping
from contextlib import closing
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..entry import FileEntry
from ..errors import Doi2DataError
from ..subset.actions import ARCHIVES
from ..subset.inflate import InflateLimits
from ..subset.ranges import RangeReader
from ..subset.tarstream import TarMember, member_kind, tar_members
from ..subset.zipremote import iter_zip_member, list_zip_members
from .problems import MemberNotFound, NotAnArchive, StreamAborted, SubsetError, TooLarge
from .pump import CHUNK, ThreadPump
from .stream import StreamedBody, blocking, disposition

if TYPE_CHECKING:
    from .gateway import Gateway


def archive_type(entry: FileEntry) -> str:
    low = entry.path.lower()
    if low.endswith(".zip"):
        return "zip"
    if low.endswith(ARCHIVES):
        return "tar"
    raise NotAnArchive(f"{entry.path!r} is not an archive the gateway can look into (zip, tar, tar.gz, tgz, "
                       "tar.bz2, tar.xz)")


async def member_response(request: Request, gw: Gateway, entry: FileEntry, op: str, params: Mapping[str, str],
                          client: str, headers: dict[str, str]) -> Response:
    kind = archive_type(entry)
    if kind == "tar" and entry.size is not None and entry.size > gw.config.max_archive_size:
        raise TooLarge(f"{entry.path!r} is {entry.size} bytes; reading into a tar means streaming it from the "
                       f"start, and the limit is {gw.config.max_archive_size}")
    reader = gw.subsets.reader(gw.sync_client)
    limits = inflate_limits(gw)
    if op == "list-members":
        body = await blocking(_zip_listing if kind == "zip" else _tar_listing, reader, entry, limits,
                              gw.config.max_list_members, executor=gw.subsets.executor)
        return JSONResponse(body, headers=headers)
    name = params["extract"].strip().lstrip("/")
    produce = _zip_member(reader, entry, name, limits) if kind == "zip" else _tar_member(reader, entry, name, limits)
    gw.limits.acquire(client)
    pump: ThreadPump[Any] = ThreadPump(lambda: produce, name="member")
    try:
        size = await pump.__anext__()  # the member's size, or the reason there is none (before any header)
    except BaseException:
        await pump.aclose()
        gw.limits.release(client)
        raise
    leaf = name.rstrip("/").rsplit("/", 1)[-1] or "member"
    headers = {**headers, "Content-Disposition": disposition(leaf), "Content-Length": str(size),
               "X-Doi2data-Source": entry.path, "X-Doi2data-Member": name}
    media = mimetypes.guess_type(leaf)[0] or "application/octet-stream"
    return StreamedBody(gw.held(pump, client), media_type=media, headers=headers)


def inflate_limits(gw: Gateway) -> InflateLimits:
    """The gateway's decompression bounds (one place, so zip and tar agree)."""
    cfg = gw.config
    return InflateLimits(max_ratio=cfg.max_inflate_ratio, max_output=cfg.max_archive_size,
                         max_cpu=cfg.max_inflate_seconds)


def _too_many(entry: FileEntry, most: int) -> TooLarge:
    return TooLarge(f"{entry.path!r} has more than {most:,} members, the most a listing may hold here "
                    "(`doi2data ls --inside` lists any number)")


def _zip_listing(reader: RangeReader, entry: FileEntry, limits: InflateLimits, most: int) -> dict[str, Any]:
    listing = list_zip_members(entry, reader=reader)
    if len(listing.members) > most:
        raise _too_many(entry, most)
    return {"file": entry.path, "size": listing.size, "format": "zip",
            "members": [m.to_json() for m in listing.members],
            "requests": listing.requests, "bytes_received": listing.bytes_received}


def _tar_listing(reader: RangeReader, entry: FileEntry, limits: InflateLimits, most: int) -> dict[str, Any]:
    rows = []
    with closing(tar_members(entry, reader, limits)) as members:
        for info, _ in members:
            if len(rows) == most:  # stop streaming here: a header per 512 bytes adds up
                raise _too_many(entry, most)
            rows.append(TarMember.of(info).to_json())
    return {"file": entry.path, "size": entry.size, "format": "tar", "members": rows, "requests": reader.requests,
            "bytes_received": reader.bytes_received}


def _zip_member(reader: RangeReader, entry: FileEntry, name: str, limits: InflateLimits) -> Iterator[Any]:
    """Yields the member's size, then its bytes (last chunk only once size and CRC-32 check out).

    Bounds are checked and the first piece inflated before the size is yielded (that is, before
    the status line): a bomb is a 413/422 problem, and a small member is verified whole.
    """
    listing = list_zip_members(entry, reader=reader)
    member = next((m for m in listing.members if m.name.strip("/") == name.strip("/")), None)
    if member is None:
        raise MemberNotFound(f"no member {name!r} in {entry.path}")
    if member.is_dir:
        raise SubsetError(f"{name!r} is a directory in {entry.path}; list=members shows its contents")
    member.check(limits, entry.path)
    pieces = _held_back(iter_zip_member(entry, member.name, reader=reader, listing=listing, limits=limits))
    first = next(pieces, None)
    yield member.size
    try:
        if first is not None:
            yield first
        yield from pieces
    except StreamAborted:
        raise
    except Doi2DataError as exc:  # bad CRC, short body: the client must not take it for complete
        raise StreamAborted(f"{entry.path}:{name}: {exc}") from exc


def _tar_member(reader: RangeReader, entry: FileEntry, name: str, limits: InflateLimits) -> Iterator[Any]:
    """Yields the member's size, then its bytes; stops reading the archive at the member's end.

    Limits passed before the member's header are a 413 problem; after it, the stream is cut.
    """
    members = tar_members(entry, reader, limits)
    try:
        for info, archive in members:
            if info.name.strip("/") != name.strip("/"):
                continue
            if not info.isfile() or info.issparse():
                raise SubsetError(f"{name!r} in {entry.path} is a {member_kind(info)}, not a regular file")
            yield info.size
            source = archive.extractfile(info)
            assert source is not None
            try:
                yield from _held_back(_tar_bytes(source, info, entry))
            except Doi2DataError as exc:
                if isinstance(exc, StreamAborted):
                    raise
                raise StreamAborted(f"{entry.path}:{name}: {exc}") from exc
            return
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise StreamAborted(f"{entry.path}:{name}: {exc}") from exc
    finally:
        members.close()
    raise MemberNotFound(f"no member {name!r} in {entry.path}")


def _tar_bytes(source: Any, info: tarfile.TarInfo, entry: FileEntry) -> Iterator[bytes]:
    sent = 0
    while piece := source.read(CHUNK):
        sent += len(piece)
        yield piece
    if sent != info.size:
        raise StreamAborted(f"{entry.path}:{info.name}: the archive ended after {sent} of {info.size} bytes")


def _held_back(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Re-chunk to about :data:`CHUNK` and keep the last piece until ``chunks`` ends cleanly."""
    pending: list[bytes] = []
    held = 0
    for chunk in chunks:
        pending.append(chunk)
        held += len(chunk)
        if held >= 2 * CHUNK:
            out = b"".join(pending)
            pending, held = [out[CHUNK:]], len(out) - CHUNK
            yield out[:CHUNK]
    if pending:
        yield b"".join(pending)


__all__ = ["archive_type", "member_response"]
