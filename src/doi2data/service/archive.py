"""Byte layouts of streamed archives: stored (uncompressed) ZIP with ZIP64, and POSIX (pax) tar.

Why our own writer rather than zipstream-ng or stream-zip: the gateway streams origin bytes
asynchronously and must verify every member *between* its data and its trailer, aborting before
a bad member could look complete; both libraries are synchronous iterators (threads and queues
to bridge), and stream-zip's stored mode needs the CRC-32 up front, which repositories never
give. Stored members make the archive's size a pure function of the names and sizes, so the
gateway announces an exact ``Content-Length`` before fetching a byte:

* each ZIP member is ``local header | data | data descriptor`` (flag bit 3: the CRC-32 is
  computed while streaming and written after the data); names are UTF-8 (bit 11);
* ZIP64 records appear only where needed (a member >= 4 GiB or of unknown size, offsets past
  4 GiB, more than 65,534 members), so small archives stay plain ZIP (Safari's unzip chokes on
  a ZIP64 first member);
* tar members are a pax header (long and non-ASCII names, sizes of any length) padded to 512,
  data padded to 512, and two zero blocks at the end; tar needs every size up front.

Timestamps are fixed (1 January of the dataset's year) so the same selection gives the same
bytes, which makes ETags honest. Writers are pure: ``start``/``finish``/``end`` return bytes.
"""

from __future__ import annotations

import struct
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ..entry import FileEntry

ArchiveKind = Literal["zip", "tar"]
LIMIT32 = 0xFFFFFFFF  # sizes and offsets from here on need ZIP64 records
MARKER = 0xFFFFFFFF  # "see the ZIP64 extra field"
MAX_ENTRIES32 = 0xFFFF
_FLAGS = 0x08  # sizes and CRC in a data descriptor
_UTF8 = 0x800
_UNIX_FILE = (0o100644 << 16)


@dataclass
class Member:
    """One archive member: its safe name, the manifest entry, and what streaming found.

    ``local``: bytes the gateway made itself (an HDF5 file of chosen frames) instead of the
    origin's; ``entry`` then describes that file (its size, no checksums).
    """

    name: str
    entry: FileEntry
    offset: int = 0
    crc: int = 0
    written: int = 0
    local: Path | None = None

    @property
    def size(self) -> int | None:
        return self.entry.size


def _dos_date(year: int | None) -> tuple[int, int]:
    y = min(max(year or 1980, 1980), 2107)
    return 0, ((y - 1980) << 9) | (1 << 5) | 1


@dataclass
class ZipWriter:
    """Stored ZIP, streamed: ``start(m)`` header, data, ``finish(m)`` descriptor, ``end()`` directory."""

    members: list[Member]
    year: int | None = None
    force_zip64: bool = False
    position: int = 0
    _finished: list[Member] = field(default_factory=list)

    def _member64(self, m: Member) -> bool:
        return self.force_zip64 or m.size is None or m.size >= LIMIT32

    @staticmethod
    def _name(m: Member) -> tuple[bytes, int]:
        try:
            return m.name.encode("ascii"), _FLAGS
        except UnicodeEncodeError:
            return m.name.encode("utf-8"), _FLAGS | _UTF8

    def start(self, m: Member) -> bytes:
        name, flags = self._name(m)
        m.offset = self.position
        zip64 = self._member64(m)
        extra = struct.pack("<HHQQ", 1, 16, 0, 0) if zip64 else b""
        marker = MARKER if zip64 else 0
        time_, date = _dos_date(self.year)
        head = struct.pack("<IHHHHHIIIHH", 0x04034B50, 45 if zip64 else 20, flags, 0, time_, date,
                           0, marker, marker, len(name), len(extra)) + name + extra
        self.position += len(head)
        return head

    def finish(self, m: Member) -> bytes:
        """The data descriptor, once ``m.crc`` and ``m.written`` hold what was streamed."""
        if self._member64(m):
            tail = struct.pack("<IIQQ", 0x08074B50, m.crc, m.written, m.written)
        else:
            tail = struct.pack("<IIII", 0x08074B50, m.crc, m.written, m.written)
        self.position += m.written + len(tail)
        self._finished.append(m)
        return tail

    def _central(self, m: Member) -> bytes:
        name, flags = self._name(m)
        big_size = self.force_zip64 or m.written >= LIMIT32
        big_offset = self.force_zip64 or m.offset >= LIMIT32
        fields = ([m.written, m.written] if big_size else []) + ([m.offset] if big_offset else [])
        extra = struct.pack(f"<HH{len(fields)}Q", 1, 8 * len(fields), *fields) if fields else b""
        needs = 45 if (fields or self._member64(m)) else 20
        time_, date = _dos_date(self.year)
        size32 = MARKER if big_size else m.written
        return struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, (3 << 8) | 45, needs, flags, 0, time_, date,
                           m.crc, size32, size32, len(name), len(extra), 0, 0, 0, _UNIX_FILE,
                           MARKER if big_offset else m.offset) + name + extra

    def end(self) -> bytes:
        start = self.position
        directory = b"".join(self._central(m) for m in self._finished)
        count, size = len(self._finished), len(directory)
        out = [directory]
        if self.force_zip64 or count >= MAX_ENTRIES32 or size >= LIMIT32 or start >= LIMIT32:
            z64_at = start + size
            out.append(struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, (3 << 8) | 45, 45, 0, 0, count, count, size, start))
            out.append(struct.pack("<IIQI", 0x07064B50, 0, z64_at, 1))
            out.append(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, min(count, MAX_ENTRIES32),
                                   min(count, MAX_ENTRIES32), MARKER if size >= LIMIT32 else size,
                                   MARKER if start >= LIMIT32 else start, 0))
        else:
            out.append(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, size, start, 0))
        blob = b"".join(out)
        self.position += len(blob)
        return blob

    def predicted_size(self) -> int | None:
        """The whole archive's length before any byte is fetched (``None`` if a size is unknown)."""
        if any(m.size is None for m in self.members):
            return None
        total = 0
        directory = 0
        for m in self.members:
            assert m.size is not None
            name, _ = self._name(m)
            zip64 = self._member64(m)
            offset = total
            total += 30 + len(name) + (20 if zip64 else 0) + m.size + (24 if zip64 else 16)
            big_size = self.force_zip64 or m.size >= LIMIT32
            big_offset = self.force_zip64 or offset >= LIMIT32
            n_fields = (2 if big_size else 0) + (1 if big_offset else 0)
            directory += 46 + len(name) + (4 + 8 * n_fields if n_fields else 0)
        count = len(self.members)
        z64 = self.force_zip64 or count >= MAX_ENTRIES32 or directory >= LIMIT32 or total >= LIMIT32
        return total + directory + (56 + 20 if z64 else 0) + 22


@dataclass
class TarWriter:
    """pax tar, streamed: ``start(m)`` header, data, ``finish(m)`` padding, ``end()`` two zero blocks."""

    members: list[Member]
    year: int | None = None
    position: int = 0

    def _header(self, m: Member) -> bytes:
        if m.size is None:
            raise ValueError(f"tar needs the size of {m.name!r}")
        info = tarfile.TarInfo(m.name)
        info.size, info.mode, info.type = m.size, 0o644, tarfile.REGTYPE
        info.mtime = _epoch(self.year)
        info.uname = info.gname = ""
        return info.tobuf(format=tarfile.PAX_FORMAT, encoding="utf-8", errors="surrogateescape")

    def start(self, m: Member) -> bytes:
        head = self._header(m)
        m.offset = self.position
        self.position += len(head)
        return head

    def finish(self, m: Member) -> bytes:
        pad = b"\0" * (-m.written % 512)
        self.position += m.written + len(pad)
        return pad

    def end(self) -> bytes:
        self.position += 1024
        return b"\0" * 1024

    def predicted_size(self) -> int | None:
        if any(m.size is None for m in self.members):
            return None
        return sum(len(self._header(m)) + m.size + (-m.size % 512) for m in self.members if m.size is not None) + 1024


def _epoch(year: int | None) -> int:
    import calendar

    return calendar.timegm((min(max(year or 1980, 1980), 2107), 1, 1, 0, 0, 0))


def writer(kind: ArchiveKind, members: list[Member], year: int | None) -> ZipWriter | TarWriter:
    return ZipWriter(members, year) if kind == "zip" else TarWriter(members, year)


__all__ = ["ArchiveKind", "Member", "TarWriter", "ZipWriter", "writer"]
