"""Members of a remote zip: list them from the central directory, fetch only the chosen ones.

Why this shape (research §6, remotezip's "member span" trick): the central directory sits at the
end, so one tail read (64 KiB, suffix range) usually holds the end records, the ZIP64 locator and
record, and the whole directory; a bigger directory costs exactly one more read. Parsing is the
standard library's :mod:`zipfile` over a :class:`~.ranges.RangeFile` (ZIP64, cp437/UTF-8 names,
prepended data all handled there). A member's bytes - local header, data, data descriptor - lie
between its header offset and the next member's (or the directory), so chosen members are fetched
as *runs*: adjacent members (gaps up to ``gap`` bytes) share one streaming ranged GET. Data are
decompressed (stored, deflate, bzip2, lzma) while written, CRC-32 and size are checked, names go
through the safe-path rules, and each file appears under its final name only once verified.

Cost: ~1 request for the listing (+1 when the directory exceeds the tail) and 1 per run; bytes
are the members' compressed spans plus the tail.

Hostile zips (issue 16): inflation goes through :mod:`.inflate` - output in bounded steps, never
past a member's declared size (an :class:`~doi2data.errors.InflateError` at the first extra byte),
and a declared size its compressed size cannot honestly hold is refused before reading
(:class:`~doi2data.errors.LimitExceeded`; ratio cap in :class:`~.inflate.InflateLimits`). The
chosen members together may not declare more than the whole archive could inflate to, and a
member whose compressed data would run past the next member's header (overlapping members: the
"better zip bomb" shape) fails alone.
"""

from __future__ import annotations

import errno
import struct
import zipfile
import zlib
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..entry import FileEntry
from ..errors import LimitExceeded, NetworkError, TransferError, UnsafePath, UsageError, VerificationError
from ..select import FileFilter
from .common import Planner, SubsetReport, Written, atomic_output, entry_url
from .inflate import DEFAULT_LIMITS, InflateLimits, Inflater
from .rangefile import RangeFile
from .ranges import RangeReader

TAIL = 64 * 1024
#: Most bytes read for a listing (the central directory is parsed in memory, ~10x its size as
#: Python objects): 64 MiB holds ~700,000 members.
MAX_DIRECTORY = 64 << 20
_METHODS = {0: "stored", 8: "deflate", 12: "bzip2", 14: "lzma"}
_CACHE: OrderedDict[tuple[str, int, str], ZipListing] = OrderedDict()
_CACHE_SIZE = 16
_CACHE_MEMBERS = 50_000  # bigger listings are not kept (16 of them could hold gigabytes)


@dataclass(frozen=True)
class ZipMember:
    """One central-directory entry. ``offset`` is its local header; ``end`` where its span stops."""

    name: str
    size: int
    compressed_size: int
    crc: int
    method: int
    offset: int
    end: int
    modified: str
    is_dir: bool
    encrypted: bool

    @property
    def method_name(self) -> str:
        return _METHODS.get(self.method, f"method {self.method}")

    def check(self, limits: InflateLimits, source: str = "") -> None:
        """Refuse, before any byte is read, a member that cannot be inflated safely.

        Raises :class:`~doi2data.errors.UsageError` (encrypted, unknown method),
        :class:`~doi2data.errors.VerificationError` (its data would overlap the next member) or
        :class:`~doi2data.errors.LimitExceeded` (declared size over the ratio cap or total).
        """
        what = f"{source}:{self.name}" if source else self.name
        if self.encrypted or self.method not in _METHODS:
            raise UsageError(f"{what}: cannot extract ({'encrypted' if self.encrypted else self.method_name})")
        if self.offset + 30 + self.compressed_size > self.end:
            raise VerificationError(f"{what}: its {self.compressed_size:,} compressed bytes run past the next "
                                    "member's header (overlapping members: a zip bomb shape)")
        limits.check_declared(what, self.size, self.compressed_size)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "size": self.size, "compressed_size": self.compressed_size,
                "crc32": f"{self.crc:08x}", "method": self.method_name, "offset": self.offset,
                "modified": self.modified, "is_dir": self.is_dir, "encrypted": self.encrypted}


@dataclass(frozen=True)
class ZipListing:
    """A remote zip's directory, and what reading it cost."""

    source: str
    url: str
    size: int
    members: tuple[ZipMember, ...]
    directory_offset: int
    zip64: bool
    requests: int
    bytes_received: int

    def select(self, include: Sequence[str] | str | None = None, exclude: Sequence[str] | str | None = None,
               **filters: Any) -> list[ZipMember]:
        """File members chosen with the manifest filter rules (:mod:`doi2data.select`).

        A literal include (no glob characters) that names no member is an error, not an empty set.
        """
        chooser = FileFilter.of(include, exclude, **filters)
        chosen = [m for m in self.members if not m.is_dir and chooser.keeps(m.name, m.size)]
        names = {m.name for m in self.members}
        for pattern in chooser.include:
            if not any(c in pattern for c in "*?[") and pattern.strip("/") not in names \
                    and not any(chooser.keeps(m.name, m.size) and m.name.startswith(pattern.strip("/") + "/")
                                for m in self.members):
                raise UsageError(f"no member {pattern!r} in {self.source}")
        return chosen

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "size": self.size, "zip64": self.zip64, "member_count": len(self.members),
                "members": [m.to_json() for m in self.members], "requests": self.requests,
                "bytes_received": self.bytes_received}


def list_zip_members(entry: FileEntry, *, reader: RangeReader | None = None, cache: bool = True,
                     max_directory: int = MAX_DIRECTORY) -> ZipListing:
    """Read the central directory of the zip ``entry`` with ranged reads (ZIP64 included).

    A directory needing more than ``max_directory`` bytes is refused
    (:class:`~doi2data.errors.LimitExceeded`) before those bytes are fetched.
    """
    url = entry_url(entry)
    key = (url, entry.size or -1, next(iter(sorted(entry.checksums.items())), ("", ""))[1])
    if cache and key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    own = reader is None
    rd = reader or RangeReader()
    try:
        before = (rd.requests, rd.bytes_received)
        tail, size = rd.tail(url, TAIL, entry.size)
        fetched = [len(tail)]

        def charge(nbytes: int) -> None:
            fetched[0] += nbytes
            if fetched[0] > max_directory:
                raise LimitExceeded(f"{entry.path}: its central directory needs more than {max_directory:,} bytes "
                                    "(too many members to list)", url=url)

        rf = RangeFile(rd, url, size, page=TAIL, charge=charge)
        rf.hold(size - len(tail), tail)
        try:
            archive = zipfile.ZipFile(rf)
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise TransferError(f"{entry.path} is not a readable zip: {exc}", url=url) from exc
        with archive:
            infos = sorted(archive.infolist(), key=lambda i: i.header_offset)
            directory = archive.start_dir
        zip64 = any(i.file_size >= 0xFFFFFFFF or i.compress_size >= 0xFFFFFFFF or i.header_offset >= 0xFFFFFFFF
                    for i in infos) or directory >= 0xFFFFFFFF or len(infos) >= 0xFFFF
        members = tuple(_member(info, infos[k + 1].header_offset if k + 1 < len(infos) else directory)
                        for k, info in enumerate(infos))
        listing = ZipListing(entry.path, url, size, members, directory, zip64, rd.requests - before[0],
                             rd.bytes_received - before[1])
    finally:
        if own:
            rd.close()
    if cache and len(listing.members) <= _CACHE_MEMBERS:
        _CACHE[key] = listing
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return listing


def _member(info: zipfile.ZipInfo, end: int) -> ZipMember:
    y, mo, d, h, mi, s = info.date_time
    return ZipMember(info.filename, info.file_size, info.compress_size, info.CRC, info.compress_type,
                     info.header_offset, end, f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}", info.is_dir(),
                     bool(info.flag_bits & 0x1))


def extract_zip_members(entry: FileEntry, dest: str | Path, include: Sequence[str] | str | None = None,
                        exclude: Sequence[str] | str | None = None, *, reader: RangeReader | None = None,
                        listing: ZipListing | None = None, into: str = "", gap: int = 32 * 1024,
                        attempts: int = 3, limits: InflateLimits = DEFAULT_LIMITS, **filters: Any) -> SubsetReport:
    """Fetch the chosen members of the remote zip ``entry`` into ``dest`` (``into`` a subfolder).

    ``include``/``exclude``/``regex``/``min_size``/``max_size`` follow :mod:`doi2data.select`;
    no include means every file member. Members written are in ``report.written``; refused names
    and failed members in ``report.messages`` / ``report.failed``. ``limits`` bound inflation
    (see :mod:`.inflate`); chosen members declaring more than the whole archive may inflate to
    raise :class:`~doi2data.errors.LimitExceeded` before any member is read.
    """
    own = reader is None
    rd = reader or RangeReader()
    report = SubsetReport(Path(dest))
    try:
        before = (rd.requests, rd.bytes_received)
        found = listing or list_zip_members(entry, reader=rd)
        chosen = found.select(include, exclude, **filters)
        planner = Planner(into)
        plan: list[tuple[ZipMember, str]] = []
        for member in chosen:
            if member.encrypted or member.method not in _METHODS:
                report.failed[member.name] = "encrypted" if member.encrypted else f"unsupported {member.method_name}"
                continue
            try:
                member.check(limits, entry.path)
            except (VerificationError, LimitExceeded) as exc:
                report.failed[member.name] = str(exc)
                continue
            try:
                local, note = planner.local(member.name)
            except UnsafePath as exc:
                report.messages.append(str(exc))
                continue
            if note:
                report.messages.append(note)
            plan.append((member, local))
        declared = sum(m.size for m, _ in plan)  # many members, each under the allowance: still bounded
        if declared > limits.budget(found.size):
            raise LimitExceeded(f"{entry.path}: the chosen members declare {declared:,} bytes from a "
                                f"{found.size:,}-byte archive (ratio over {limits.max_ratio:g}:1, or over the "
                                "limit: a decompression bomb?)")
        for run in _runs(plan, gap):
            _fetch_run(rd, found, run, report, attempts, limits)
        report.requests = rd.requests - before[0]
        report.bytes_received = rd.bytes_received - before[1]
    finally:
        if own:
            rd.close()
    return report


def _runs(plan: list[tuple[ZipMember, str]], gap: int) -> list[list[tuple[ZipMember, str]]]:
    """Group members whose spans touch (or are at most ``gap`` bytes apart): one GET per group."""
    runs: list[list[tuple[ZipMember, str]]] = []
    for item in sorted(plan, key=lambda p: p[0].offset):
        if runs and item[0].offset <= runs[-1][-1][0].end + gap:
            runs[-1].append(item)
        else:
            runs.append([item])
    return runs


def _fetch_run(rd: RangeReader, listing: ZipListing, run: list[tuple[ZipMember, str]], report: SubsetReport,
               attempts: int, limits: InflateLimits) -> None:
    """One ranged GET over adjacent members; after a broken connection, resume at the next member."""
    pending = list(run)
    for attempt in range(attempts):
        try:
            with rd.open(listing.url, pending[0][0].offset, pending[-1][0].end) as body:
                stream = _Stream(body, pending[0][0].offset)
                while pending:
                    member, local = pending[0]
                    stream.skip_to(member.offset)
                    try:
                        with atomic_output(report.dest, local) as fh:
                            for piece in _member_data(stream, member, limits, listing.source):
                                fh.write(piece)
                    except (VerificationError, LimitExceeded) as exc:
                        report.failed[member.name] = str(exc)
                    except OSError as exc:  # a name clashing with a file or folder on disk: this member only
                        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                            raise
                        report.failed[member.name] = f"cannot write {local!r}: {exc.strerror or exc}"
                    else:
                        report.written.append(Written(listing.source, member.name, local, member.size))
                    pending.pop(0)
            return
        except NetworkError as exc:
            if attempt == attempts - 1:
                for member, _ in pending:
                    report.failed[member.name] = str(exc)


def iter_zip_member(entry: FileEntry, name: str, *, reader: RangeReader | None = None,
                    listing: ZipListing | None = None, limits: InflateLimits = DEFAULT_LIMITS) -> Iterator[bytes]:
    """Stream one member's decompressed bytes (one ranged GET); CRC/size checked at the end.

    For the gateway (``?extract=``): raise :class:`~doi2data.errors.VerificationError` when the
    last chunk does not match, so a streaming response can be aborted instead of completed
    (:class:`~doi2data.errors.InflateError` as soon as it inflates past its declared size).
    """
    own = reader is None
    rd = reader or RangeReader()
    try:
        found = listing or list_zip_members(entry, reader=rd)
        member = next((m for m in found.members if m.name == name and not m.is_dir), None)
        if member is None:
            raise UsageError(f"no member {name!r} in {entry.path}")
        member.check(limits, entry.path)
        with rd.open(found.url, member.offset, member.end) as body:
            yield from _member_data(_Stream(body, member.offset), member, limits, entry.path)
    finally:
        if own:
            rd.close()


class _Stream:
    """Sequential reader over a ranged body that knows its absolute file position."""

    def __init__(self, body: Iterator[bytes], pos: int) -> None:
        self.body, self.pos, self.buf = body, pos, b""

    def _more(self) -> bool:
        chunk = next(self.body, b"")
        self.buf += chunk
        return bool(chunk)

    def take(self, n: int) -> Iterator[bytes]:
        """Yield exactly ``n`` bytes in pieces (a short body is a NetworkError: retried)."""
        while n > 0:
            if not self.buf and not self._more():
                raise NetworkError(f"connection ended {n} bytes early")
            piece, self.buf = self.buf[:n], self.buf[n:]
            n -= len(piece)
            self.pos += len(piece)
            yield piece

    def read_exact(self, n: int) -> bytes:
        return b"".join(self.take(n))

    def skip_to(self, offset: int) -> None:
        if offset < self.pos:
            raise TransferError(f"zip members overlap at offset {offset}")
        for _ in self.take(offset - self.pos):
            pass


def _member_data(stream: _Stream, member: ZipMember, limits: InflateLimits = DEFAULT_LIMITS,
                 source: str = "") -> Iterator[bytes]:
    """Decompressed bytes of ``member`` from its local header on; checks CRC and size.

    Never more than the declared size: one byte more is an :class:`~doi2data.errors.InflateError`.
    """
    member.check(limits, source)
    header = stream.read_exact(30)
    signature, *_, name_len, extra_len = struct.unpack("<4s5HIIIHH", header)
    if signature != b"PK\x03\x04":
        raise VerificationError(f"{member.name}: no local header at offset {member.offset}")
    stream.read_exact(name_len + extra_len)
    inflater = Inflater(_METHODS[member.method], limits, what=f"{source}:{member.name}" if source else member.name,
                        expected=member.size)
    crc = 0
    for piece in stream.take(member.compressed_size):
        for out in inflater.feed(piece):
            crc = zlib.crc32(out, crc)
            yield out
    for out in inflater.finish():
        crc = zlib.crc32(out, crc)
        yield out
    size = inflater.produced
    if size != member.size or crc != member.crc:
        raise VerificationError(f"{member.name}: got {size} bytes with CRC-32 {crc:08x}, "
                                f"directory says {member.size} with {member.crc:08x}")


__all__ = ["ZipListing", "ZipMember", "extract_zip_members", "iter_zip_member", "list_zip_members"]
