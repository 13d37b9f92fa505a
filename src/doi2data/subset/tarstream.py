"""Members of a remote tar / tar.gz / tar.bz2 / tar.xz, by streaming (tar has no directory).

Why streaming and what it costs: a tar is a sequence of header + data records with no index, and
a compressed tar cannot be entered in the middle, so the only way to find a member is to read
the archive from the start. This module makes **one GET** and reads it through
:mod:`tarfile`'s stream mode (``r|*``, compression detected), writing the chosen regular files as
they pass (safe names, atomic rename, size checked). Bytes moved: everything up to the end of
the last chosen member when every include is a literal name (the connection is closed there);
the whole archive for a listing or for glob/regex selections. Links, devices and FIFOs are never
written (reported). For random access, prefer zip (:mod:`.zipremote`).

Hostile archives (issue 16): decompression is ours, not ``tarfile``'s (:func:`.inflate.inflate_stream`:
bounded steps, a ratio / total / CPU budget, so a 146-byte ``.tar.bz2`` no longer costs a minute of
CPU), ``tarfile`` only parses plain bytes (``r|``); extended headers (pax, GNU long names) larger
than :data:`MAX_HEADER` are refused before ``tarfile`` reads them into memory; GNU sparse members
(which ``tarfile`` expands to their declared size, holes as zeros) are reported, not written; and a
member whose name collides with an earlier one (``f`` then ``f/g.txt``) fails alone or is
renamed (:class:`~.common.Planner`) while the rest of the archive is extracted.
"""

from __future__ import annotations

import errno
import tarfile
from collections.abc import Generator, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ..entry import FileEntry
from ..errors import LimitExceeded, TransferError, UnsafePath, VerificationError
from ..select import FileFilter
from .common import Planner, SubsetReport, Written, atomic_output, entry_url
from .inflate import DEFAULT_LIMITS, InflateLimits, inflate_stream
from .ranges import RangeReader

_COPY = 1 << 20
#: Largest extended header (pax records, GNU long name/link) read into memory.
MAX_HEADER = 1 << 20
_EXTENDED = (tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK, tarfile.XHDTYPE, tarfile.XGLTYPE,
             tarfile.SOLARIS_XHDTYPE)
_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


@dataclass(frozen=True)
class TarMember:
    """One tar header: name, size, type (``file``, ``dir``, ``symlink``, ``hardlink``, ``other``)."""

    name: str
    size: int
    kind: str
    mode: int
    modified: int
    link: str = ""

    @classmethod
    def of(cls, info: tarfile.TarInfo) -> TarMember:
        return cls(info.name, info.size, member_kind(info), info.mode, int(info.mtime), info.linkname)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "size": self.size, "kind": self.kind, "mode": oct(self.mode),
                "modified": self.modified, **({"link": self.link} if self.link else {})}


class _BodyFile:
    """A read-only, non-seekable file object over a streaming body (what ``tarfile`` r| needs).

    Reads cost what they return: the current chunk is consumed by offset, never re-copied.
    """

    def __init__(self, body: Iterator[bytes]) -> None:
        self.body, self.buf, self.pos = body, b"", 0

    def read(self, n: int = -1) -> bytes:
        if 0 <= n <= len(self.buf) - self.pos:
            out = self.buf[self.pos:self.pos + n]
            self.pos += n
            return out
        parts, have = [self.buf[self.pos:]], len(self.buf) - self.pos
        self.buf, self.pos = b"", 0
        while n < 0 or have < n:
            chunk = next(self.body, b"")
            if not chunk:
                break
            parts.append(chunk)
            have += len(chunk)
        data = b"".join(parts)
        if 0 <= n < len(data):
            self.buf, self.pos = data, n
            return data[:n]
        return data


class _BoundedInfo(tarfile.TarInfo):
    """A tar header that refuses extended headers too large to hold in memory (``tarfile`` reads
    a pax or GNU long-name record whole, whatever size its header declares)."""

    def _proc_member(self, tarfile_: tarfile.TarFile) -> tarfile.TarInfo:
        if self.type in _EXTENDED and self.size > MAX_HEADER:
            raise LimitExceeded(f"an extended tar header of {self.size:,} bytes (at most {MAX_HEADER:,} are read)")
        return super()._proc_member(tarfile_)  # type: ignore[misc]


def member_kind(info: tarfile.TarInfo) -> str:
    """``file``, ``dir``, ``symlink``, ``hardlink``, ``sparse`` or ``other`` (devices, FIFOs)."""
    return ("sparse" if info.issparse() else "file" if info.isfile() else "dir" if info.isdir()
            else "symlink" if info.issym() else "hardlink" if info.islnk() else "other")


TarStep = tuple[tarfile.TarInfo, tarfile.TarFile]


def tar_members(entry: FileEntry, reader: RangeReader, limits: InflateLimits = DEFAULT_LIMITS) -> Generator[
        TarStep, None, None]:
    """Each header of the remote tar ``entry`` as it streams past, with the open archive.

    Why a generator over one GET: callers that want one member (the gateway's ``extract=``) stop
    at its end; ``archive.extractfile(info)`` reads that member's bytes before the next step.
    Closing the generator early closes the origin connection. Unreadable tars raise
    :class:`~doi2data.errors.TransferError`; passing ``limits`` (inflated bytes, ratio, CPU)
    raises :class:`~doi2data.errors.LimitExceeded`, also from a member's ``read()``.
    """
    url = entry_url(entry)
    with reader.open(url) as body:
        plain = _BodyFile(inflate_stream(body, limits, what=entry.path))
        try:
            with tarfile.open(fileobj=plain, mode="r|", tarinfo=_BoundedInfo) as archive:  # type: ignore[call-overload]
                for info in archive:
                    yield info, archive
        except (tarfile.TarError, IndexError, UnicodeError) as exc:  # IndexError: a truncated GNU sparse header
            raise TransferError(f"{entry.path} is not a readable tar archive: {exc}", url=url) from exc


def list_tar_members(entry: FileEntry, *, reader: RangeReader | None = None,
                     limits: InflateLimits = DEFAULT_LIMITS) -> list[TarMember]:
    """Every header of the tar ``entry`` (reads the whole archive once: see the module docstring)."""
    own = reader is None
    rd = reader or RangeReader()
    try:
        return [TarMember.of(info) for info, _ in tar_members(entry, rd, limits)]
    finally:
        if own:
            rd.close()


def extract_tar_members(entry: FileEntry, dest: str | Path, include: Sequence[str] | str | None = None,
                        exclude: Sequence[str] | str | None = None, *, reader: RangeReader | None = None,
                        into: str = "", limits: InflateLimits = DEFAULT_LIMITS, **filters: Any) -> SubsetReport:
    """Stream the tar ``entry`` once and write the chosen regular files under ``dest``.

    Filters follow :mod:`doi2data.select`. When every include is a literal name, reading stops
    after the last one is written. A member that cannot be written (a name clashing with a file
    or folder already there) fails alone; a stream past ``limits`` ends the run, keeping the
    members written before it (the archive is named in ``report.failed``).
    """
    chooser = FileFilter.of(include, exclude, **filters)
    literal = {p.strip("/") for p in chooser.include} if chooser.include and not chooser.regex and all(
        not any(c in p for c in "*?[") for p in chooser.include) else None
    own = reader is None
    rd = reader or RangeReader()
    report = SubsetReport(Path(dest))
    planner = Planner(into)
    before = (rd.requests, rd.bytes_received)
    try:
        _extract(entry, tar_members(entry, rd, limits), chooser, planner, report, literal)
    except (LimitExceeded, VerificationError) as exc:
        report.failed[entry.path] = str(exc)
    finally:
        report.requests = rd.requests - before[0]
        report.bytes_received = rd.bytes_received - before[1]
        if own:
            rd.close()
    return report


def _extract(entry: FileEntry, members: Generator[TarStep, None, None], chooser: FileFilter, planner: Planner,
             report: SubsetReport, literal: set[str] | None) -> None:
    with closing(members):
        for info, archive in members:
            if not chooser.keeps(info.name, info.size if info.isfile() else None):
                continue
            if not info.isfile() or info.issparse():
                if not info.isdir():
                    report.messages.append(f"skipped {member_kind(info)} {info.name!r} "
                                           "(only regular files are written)")
                continue
            try:
                local, note = planner.local(info.name)
            except UnsafePath as exc:
                report.messages.append(str(exc))
                continue
            if note:
                report.messages.append(note)
            source = archive.extractfile(info)
            assert source is not None
            try:
                with atomic_output(report.dest, local) as fh:
                    _copy(source, fh, info)
            except VerificationError as exc:
                report.failed[info.name] = str(exc)
                continue
            except OSError as exc:  # f then f/g.txt on disk, a folder where a file goes: this member only
                if exc.errno in _DISK_FULL:
                    raise
                report.failed[info.name] = f"cannot write {local!r}: {exc.strerror or exc}"
                continue
            report.written.append(Written(entry.path, info.name, local, info.size))
            if literal is not None:
                literal.discard(info.name.strip("/"))
                if not literal:
                    break
        if literal:
            report.messages.append("not in the archive: " + ", ".join(sorted(literal)))


def _copy(source: IO[bytes], target: IO[bytes], info: tarfile.TarInfo) -> None:
    written = 0
    while piece := source.read(_COPY):
        target.write(piece)
        written += len(piece)
    if written != info.size:
        raise VerificationError(f"{info.name}: archive ended after {written} of {info.size} bytes")


__all__ = ["TarMember", "extract_tar_members", "list_tar_members", "member_kind", "tar_members"]
