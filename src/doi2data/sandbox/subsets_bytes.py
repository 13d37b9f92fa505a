"""Byte sources for the subset datasets: lazily laid-out zips, miniCBF frames, concatenations.

Why generators and not files: the remote-subset features (issue 6) need *real* formats - a zip
whose central directory lists a member over 4 GiB (ZIP64), Pilatus-style CBF frames whose
headers a real reader (fabio) parses - yet the repository must not carry them and the sandbox
must not materialise gigabytes. Each class here is a :class:`~doi2data.sandbox.world.ByteSource`:
it knows its ``size`` up front and produces any ``read(start, end)`` range on demand.

* :class:`LazyZip` computes local headers, ZIP64 extras, the central directory and the (ZIP64)
  end records from member *descriptions*; member data are explicit bytes (small, possibly
  deflated) or :class:`PeriodicBytes` (a 64 KiB pseudo-random block repeated, whose CRC-32 is
  computed with ``crc32_combine`` in microseconds, so a 4 GiB member costs nothing).
* :class:`Concat` lays parts (bytes or other sources) end to end; miniCBF frames
  (:mod:`.subsets_cbf`) are built from it.
"""

from __future__ import annotations

import bisect
import hashlib
import struct
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from .world import BLOCK, FileSpec, World

_GEN = World()  # only its byte generator is used


def generated(seed: str, start: int, end: int) -> bytes:
    """The world's deterministic bytes ``[start, end)`` for ``seed`` (as any FileSpec would get)."""
    return _GEN.read(FileSpec("generated", size=end, seed=seed), start, end)


# -- CRC-32 of repeated data without reading it (zlib's crc32_combine, in Python) -----------------
def _gf2_times(mat: list[int], vec: int) -> int:
    total, i = 0, 0
    while vec:
        if vec & 1:
            total ^= mat[i]
        vec >>= 1
        i += 1
    return total


def _gf2_square(mat: list[int]) -> list[int]:
    return [_gf2_times(mat, mat[n]) for n in range(32)]


def crc32_combine(crc1: int, crc2: int, len2: int) -> int:
    """CRC-32 of ``A + B`` from ``crc(A)``, ``crc(B)`` and ``len(B)`` (zlib's algorithm)."""
    if len2 <= 0:
        return crc1
    odd = [0xEDB88320] + [1 << n for n in range(31)]
    even = _gf2_square(odd)
    odd = _gf2_square(even)
    while True:
        even = _gf2_square(odd)
        if len2 & 1:
            crc1 = _gf2_times(even, crc1)
        len2 >>= 1
        if not len2:
            break
        odd = _gf2_square(even)
        if len2 & 1:
            crc1 = _gf2_times(odd, crc1)
        len2 >>= 1
        if not len2:
            break
    return crc1 ^ crc2


@dataclass(frozen=True)
class PeriodicBytes:
    """``size`` bytes: one 64 KiB SHAKE-256 block of ``seed`` repeated (cheap CRC, any range)."""

    seed: str
    size: int

    @property
    def base(self) -> bytes:
        return _base_block(self.seed)

    def read(self, start: int, end: int) -> bytes:
        end = min(end, self.size)
        if end <= start:
            return b""
        off = start % BLOCK
        reps = (off + end - start) // BLOCK + 1
        return (self.base * reps)[off:off + end - start]

    def crc32(self) -> int:
        whole, rest = divmod(self.size, BLOCK)
        unit, unit_len, crc, done = zlib.crc32(self.base), BLOCK, 0, 0
        while whole:
            if whole & 1:
                crc = crc32_combine(crc, unit, unit_len) if done else unit
                done += unit_len
            unit, unit_len = crc32_combine(unit, unit, unit_len), unit_len * 2
            whole >>= 1
        return crc32_combine(crc, zlib.crc32(self.base[:rest]), rest) if rest else crc


_BASES: dict[str, bytes] = {}


def _base_block(seed: str) -> bytes:
    if seed not in _BASES:
        _BASES[seed] = hashlib.shake_256(seed.encode()).digest(BLOCK)
    return _BASES[seed]


# -- concatenation -------------------------------------------------------------------------------
class Sized(Protocol):
    """Anything with a ``size`` and ``read(start, end)`` (a ByteSource)."""

    @property
    def size(self) -> int: ...

    def read(self, start: int, end: int) -> bytes: ...


Part = bytes | Sized


class Concat:
    """A ByteSource made of parts (explicit bytes or other sources) laid end to end."""

    def __init__(self, parts: Sequence[Part], digests: Mapping[str, str] | None = None) -> None:
        self.parts = list(parts)
        self.starts: list[int] = []
        pos = 0
        for part in self.parts:
            self.starts.append(pos)
            pos += len(part) if isinstance(part, bytes) else part.size
        self.size = pos
        self.digests = dict(digests or {})

    def read(self, start: int, end: int) -> bytes:
        end = min(end, self.size)
        out: list[bytes] = []
        i = max(0, bisect.bisect_right(self.starts, start) - 1)
        while start < end and i < len(self.parts):
            part, base = self.parts[i], self.starts[i]
            plen = len(part) if isinstance(part, bytes) else part.size
            lo, hi = start - base, min(end - base, plen)
            if hi > lo:
                out.append(part[lo:hi] if isinstance(part, bytes) else part.read(lo, hi))
                start = base + hi
            i += 1
        return b"".join(out)

    def digest(self, algorithm: str) -> str | None:
        return self.digests.get(algorithm)


# -- zip -----------------------------------------------------------------------------------------
STORED, DEFLATED = 0, 8
_U32, _U16 = 0xFFFFFFFF, 0xFFFF
_DOS_STAMP = (((2016 - 1980) << 9) | (9 << 5) | 20, (10 << 11) | (11 << 5) | 6)  # 2016-09-20 10:11:12 (DOS)


@dataclass(frozen=True)
class ZipEntry:
    """One member to lay out: explicit ``data`` (deflated when ``method`` is 8) or a source,
    stored, whose CRC is ``crc``, else ``data.crc32()`` if it has one, else read once."""

    name: str
    data: bytes | Sized
    method: int = STORED
    crc: int | None = None


def _crc_of(source: Sized, piece: int = 1 << 20) -> int:
    crc32 = getattr(source, "crc32", None)
    if callable(crc32):
        return int(crc32())
    crc = 0
    for pos in range(0, source.size, piece):
        crc = zlib.crc32(source.read(pos, min(source.size, pos + piece)), crc)
    return crc


@dataclass
class LazyZip:
    """A real zip file (ZIP64 where needed) computed from member descriptions, never stored.

    ``force_zip64`` writes the ZIP64 end records even when nothing overflows (as some writers do).
    ``digests`` are known whole-file digests (``{"md5": hex}``) for archives too big to hash.
    """

    entries: Sequence[ZipEntry]
    force_zip64: bool = False
    digests: Mapping[str, str] = field(default_factory=dict)
    comment: bytes = b""

    def __post_init__(self) -> None:
        parts: list[Part] = []
        central: list[bytes] = []
        pos = 0
        for entry in self.entries:
            local, record, payload = self._member(entry, pos)
            parts += [local, payload]
            central.append(record)
            pos += len(local) + (len(payload) if isinstance(payload, bytes) else payload.size)
        cd = b"".join(central)
        parts.append(cd + self._end(len(central), len(cd), pos))
        self.source = Concat(parts, self.digests)
        self.size = self.source.size

    def read(self, start: int, end: int) -> bytes:
        return self.source.read(start, end)

    def digest(self, algorithm: str) -> str | None:
        return self.digests.get(algorithm)

    @staticmethod
    def _member(entry: ZipEntry, offset: int) -> tuple[bytes, bytes, Part]:
        if not isinstance(entry.data, bytes):
            payload: Part = entry.data
            usize = csize = entry.data.size
            crc = entry.crc if entry.crc is not None else _crc_of(entry.data)
            method = STORED
        else:
            raw = entry.data
            crc, usize, method = zlib.crc32(raw), len(raw), entry.method
            if method == DEFLATED:
                packer = zlib.compressobj(6, zlib.DEFLATED, -15)
                payload = packer.compress(raw) + packer.flush()
            else:
                payload = raw
            csize = len(payload)
        name = entry.name.encode()
        flags = 0x800 if not entry.name.isascii() else 0
        big = usize >= _U32 or csize >= _U32
        local_extra = struct.pack("<HHQQ", 1, 16, usize, csize) if big else b""
        version = 45 if big or offset >= _U32 else 20
        date, time = _DOS_STAMP
        local = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", version, flags, method, time, date, crc,
                            _U32 if big else csize, _U32 if big else usize, len(name), len(local_extra))
        z64 = [v for v in (usize, csize, offset) if v >= _U32]
        cd_extra = struct.pack(f"<HH{len(z64)}Q", 1, 8 * len(z64), *z64) if z64 else b""
        record = struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", (3 << 8) | version, version, flags, method,
                             time, date, crc, min(csize, _U32), min(usize, _U32), len(name), len(cd_extra), 0, 0,
                             0, 0o100644 << 16, min(offset, _U32))
        return local + name + local_extra, record + name + cd_extra, payload

    def _end(self, count: int, cd_size: int, cd_offset: int) -> bytes:
        need64 = self.force_zip64 or count >= _U16 or cd_size >= _U32 or cd_offset >= _U32
        tail = b""
        if need64:
            eocd64_offset = cd_offset + cd_size
            tail += struct.pack("<4sQHHIIQQQQ", b"PK\x06\x06", 44, (3 << 8) | 45, 45, 0, 0, count, count,
                                cd_size, cd_offset)
            tail += struct.pack("<4sIQI", b"PK\x06\x07", 0, eocd64_offset, 1)
        tail += struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, min(count, _U16), min(count, _U16),
                            min(cd_size, _U32), min(cd_offset, _U32), len(self.comment))
        return tail + self.comment


__all__ = ["DEFLATED", "STORED", "Concat", "LazyZip", "PeriodicBytes", "Sized", "ZipEntry", "crc32_combine",
           "generated"]
