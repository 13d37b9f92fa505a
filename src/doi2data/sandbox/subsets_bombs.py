"""Hostile archives and HDF5 files for the issue-16 tests: small on the wire, huge when trusted.

Not in the default world (a test builds ``World(records=bomb_records())``): every file here exists
to make a reader spend memory or CPU it should refuse to spend.

* ``bombs.zip`` - ``liar-deflate.bin``, ``liar-bzip2.bin``, ``liar-lzma.bin``, ``liar-stored.bin``
  declare 1,000 bytes but inflate to megabytes (the bzip2 one to 1.6 GB: concatenated streams);
  ``huge-bzip2.bin`` honestly declares 3 GiB from about 4 KB; ``overlap-a.bin`` claims compressed
  data running over ``overlap-b.txt``'s header; ``ok.txt`` is a plain member.
* ``bomb.tar.bz2`` (~5 KB) - a tar whose one member holds 4 GiB of zeros, then ``after.txt``.
* ``bomb.tar.gz`` - the same shape in gzip (~4 MB for 4 GiB: gzip's ratio tops out at ~1032:1).
* ``clash.tar`` - ``f`` (a file), then ``f/g.txt``, then ``ok.txt``: names that collide on disk.
* ``sparse.tar`` (3 KB) - a GNU sparse member that ``tarfile`` expands to 1 GiB (holes as zeros)
  from 512 stored bytes, then ``after.txt``.
* ``many.zip`` and ``many.tar.gz`` - 3,000 empty members each (a central directory past the
  64 KiB tail; listings that outgrow a small member cap).
* ``stack.h5`` (with h5py) - ``/stack`` 1000x64x64 uint8, one chunk per frame, uncompressed (a
  1x1x1000 answer touches 1000 chunks and 4 MB); ``/big`` one gzip chunk of 512 MiB nominal size
  (about 0.5 MB stored).
"""

from __future__ import annotations

import bz2
import gzip
import importlib.util
import io
import lzma
import struct
import tarfile
import zlib
from functools import lru_cache

from .world import Creator, FileSpec, Record

BOMB_RECID = "7000666"
BOMB_DOI = f"10.5281/zenodo.{BOMB_RECID}"
LIAR_SIZE = 1000
HUGE_SIZE = 3 << 30
TAR_MEMBER_SIZE = 4 << 30
_MB = 1 << 20


@lru_cache(maxsize=1)
def _bz2_zeros() -> bytes:
    """One bzip2 stream of 40 MiB of zeros (49 bytes); concatenated copies multiply it."""
    return bz2.compress(bytes(40 * _MB), 9)


def _zeros_deflate(n_mib: int, *, wbits: int = -15) -> bytes:
    """``n_mib`` MiB of zeros as a deflate (raw, or zlib with ``wbits=15``) stream, built from one
    compressed MiB repeated (full flushes reset the window, so every MiB compresses alike)."""
    comp = zlib.compressobj(9, zlib.DEFLATED, wbits)
    first = comp.compress(bytes(_MB)) + comp.flush(zlib.Z_FULL_FLUSH)
    again = comp.compress(bytes(_MB)) + comp.flush(zlib.Z_FULL_FLUSH)
    body = first + again * (n_mib - 1) + b"\x03\x00"  # then an empty final block
    if wbits < 0:
        return body
    adler = 1
    for _ in range(n_mib):
        adler = zlib.adler32(bytes(_MB), adler)
    return body + struct.pack(">I", adler)


def _zip(members: list[tuple[str, int, bytes, int, int, int | None]]) -> bytes:
    """A zip from ``(name, method, stored bytes, declared size, crc, declared compressed size)``."""
    out, central = io.BytesIO(), []
    for name, method, data, size, crc, csize in members:
        offset, raw = out.tell(), name.encode()
        csize = len(data) if csize is None else csize
        out.write(struct.pack("<4s5HIIIHH", b"PK\x03\x04", 20, 0, method, 0, 0x21, crc, csize, size, len(raw), 0))
        out.write(raw + data)
        central.append(struct.pack("<4s6HIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, method, 0, 0x21, crc, csize, size,
                                   len(raw), 0, 0, 0, 0, 0o644 << 16, offset) + raw)
    start = out.tell()
    for record in central:
        out.write(record)
    out.write(struct.pack("<4s4HIIH", b"PK\x05\x06", 0, 0, len(central), len(central), out.tell() - start, start, 0))
    return out.getvalue()


@lru_cache(maxsize=1)
def bombs_zip() -> bytes:
    lzma_filter = {"id": lzma.FILTER_LZMA1, "preset": 6}
    props = lzma._encode_filter_properties(lzma_filter)  # type: ignore[attr-defined]  # noqa: SLF001
    lzma_data = struct.pack("<BBH", 9, 20, len(props)) + props + lzma.compress(
        bytes(8 * _MB), format=lzma.FORMAT_RAW, filters=[lzma_filter])
    ok = b"a plain member after the bombs\n"
    b_data = b"the member whose header overlap-a runs over\n"
    return _zip([
        ("liar-deflate.bin", 8, _zeros_deflate(64), LIAR_SIZE, 0, None),
        ("liar-bzip2.bin", 12, _bz2_zeros() * 40, LIAR_SIZE, 0, None),
        ("liar-lzma.bin", 14, lzma_data, LIAR_SIZE, 0, None),
        ("liar-stored.bin", 0, bytes(64 * 1024), LIAR_SIZE, 0, None),
        ("huge-bzip2.bin", 12, _bz2_zeros() * 80, HUGE_SIZE, 0, None),
        ("overlap-a.bin", 0, b"A" * 64, 64 + 30 + 13 + len(b_data), zlib.crc32(b"A" * 64), 64 + 30 + 13 + len(b_data)),
        ("overlap-b.txt", 0, b_data, len(b_data), zlib.crc32(b_data), None),
        ("ok.txt", 0, ok, len(ok), zlib.crc32(ok), None),
    ])


def _tar_head(name: str, size: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, 1700000000, 0o644
    return info.tobuf(format=tarfile.GNU_FORMAT)


def _tar_tail() -> bytes:
    note = b"after the bomb\n"
    return _tar_head("after.txt", len(note)) + note + bytes(512 - len(note)) + bytes(1024)


@lru_cache(maxsize=1)
def bomb_tar_bz2() -> bytes:
    """A tar.bz2 of ~5 KB: one member of 4 GiB of zeros, then a note.

    The first bzip2 stream (~100 bytes) holds the header and 40 MiB: alone, the shape that cost
    ``tarfile`` 67 s of CPU (it copies the rest of a decompressed block for every 10 KiB read).
    The other 4 GiB are concatenated 40 MiB streams, as pbzip2 writes them.
    """
    n = TAR_MEMBER_SIZE // (40 * _MB)
    rest = TAR_MEMBER_SIZE - n * 40 * _MB
    first = bz2.compress(_tar_head("zeros.bin", TAR_MEMBER_SIZE) + bytes(40 * _MB), 9)
    return first + _bz2_zeros() * (n - 1) + bz2.compress(bytes(rest)) + bz2.compress(_tar_tail())


@lru_cache(maxsize=1)
def bomb_tar_gz() -> bytes:
    """The same tar as gzip members: ~4 MiB for 4 GiB (gzip's own ratio limit is ~1032:1)."""
    member = gzip.compress(b"", mtime=0)[:10] + _zeros_deflate(64)  # 64 MiB of zeros per gzip member
    trailer = struct.pack("<II", zlib.crc32(bytes(64 * _MB)), (64 * _MB) & 0xFFFFFFFF)
    return (gzip.compress(_tar_head("zeros.bin", TAR_MEMBER_SIZE), mtime=0) + (member + trailer) * 64
            + gzip.compress(_tar_tail(), mtime=0))


@lru_cache(maxsize=1)
def clash_tar() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in (("f", b"f is a file\n"), ("f/g.txt", b"g inside f\n"), ("ok.txt", b"fine\n")):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 1700000000, 0o644
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@lru_cache(maxsize=1)
def sparse_tar() -> bytes:
    """A GNU sparse header (type ``S``) whose one data block sits at the end of a 1 GiB file."""
    head = bytearray(_tar_head("holes.bin", 512))
    head[156:157] = tarfile.GNUTYPE_SPARSE
    head[386:398] = tarfile.itn((1 << 30) - 512, 12, tarfile.GNU_FORMAT)  # offset of the data
    head[398:410] = tarfile.itn(512, 12, tarfile.GNU_FORMAT)  # its length
    head[483:495] = tarfile.itn(1 << 30, 12, tarfile.GNU_FORMAT)  # the expanded size
    head[148:156] = b" " * 8
    head[148:156] = b"%06o\0 " % sum(head)
    return bytes(head) + b"D" * 512 + _tar_tail()


MANY = 3000


@lru_cache(maxsize=1)
def many_zip() -> bytes:
    return _zip([(f"m/{i:05d}.txt", 0, b"", 0, 0, None) for i in range(MANY)])


@lru_cache(maxsize=1)
def many_tar_gz() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for i in range(MANY):
            info = tarfile.TarInfo(f"m/{i:05d}.txt")
            info.mtime = 1700000000
            tar.addfile(info)
    return gzip.compress(buffer.getvalue(), mtime=0)


@lru_cache(maxsize=1)
def stack_h5() -> bytes:
    """``/stack`` (1000 frames of 64x64, a chunk each) and ``/big`` (one 512 MiB gzip chunk)."""
    import h5py
    import numpy as np

    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        frames = (np.arange(1000 * 64 * 64, dtype=np.uint32) * 2654435761 >> 24).astype(np.uint8)
        f.create_dataset("stack", data=frames.reshape(1000, 64, 64), chunks=(1, 64, 64))
        big = f.create_dataset("big", shape=(8192, 8192), dtype="u8", chunks=(8192, 8192), compression="gzip")
        big.id.write_direct_chunk((0, 0), _zeros_deflate(512, wbits=15))
    return buffer.getvalue()


def bomb_records() -> list[Record]:
    """One record holding every file above (``stack.h5`` only with h5py)."""
    files = [FileSpec("bombs.zip", mimetype="application/zip", data=bombs_zip()),
             FileSpec("bomb.tar.bz2", mimetype="application/x-bzip2", data=bomb_tar_bz2()),
             FileSpec("bomb.tar.gz", mimetype="application/gzip", data=bomb_tar_gz()),
             FileSpec("clash.tar", mimetype="application/x-tar", data=clash_tar()),
             FileSpec("sparse.tar", mimetype="application/x-tar", data=sparse_tar()),
             FileSpec("many.zip", mimetype="application/zip", data=many_zip()),
             FileSpec("many.tar.gz", mimetype="application/gzip", data=many_tar_gz())]
    if importlib.util.find_spec("h5py") is not None:
        files.append(FileSpec("stack.h5", mimetype="application/x-hdf5", data=stack_h5()))
    return [Record(BOMB_RECID, "7000665", "Sandbox hostile archives and HDF5 (decompression bombs)",
                   files=tuple(files), creators=(Creator("Mallory", "M."),), publication_date="2024-06-01")]


__all__ = ["BOMB_DOI", "BOMB_RECID", "HUGE_SIZE", "LIAR_SIZE", "MANY", "TAR_MEMBER_SIZE", "bomb_records",
           "bomb_tar_bz2", "bomb_tar_gz", "bombs_zip", "clash_tar", "many_tar_gz", "many_zip", "sparse_tar",
           "stack_h5"]
