"""The emulated subset data: byte sources on FileSpec, the lazy zip (ZIP64), CBF frames, HDF5 files."""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
import zlib

import pytest

from doi2data.sandbox.subsets_bytes import DEFLATED, LazyZip, PeriodicBytes, ZipEntry, crc32_combine
from doi2data.sandbox.subsets_cbf import PILATUS_300K, FrameParams, cbf_frame
from doi2data.sandbox.subsets_data import (BIG_MEMBER, BIG_MEMBER_CRC, BIG_MEMBER_SIZE, STREAM64_MD5, frames_zip,
                                           stream64_zip, subset_records)
from doi2data.sandbox.world import ByteSource, FileSpec, World


class SourceFile(io.RawIOBase):
    """A seekable file over a ByteSource (to let zipfile read a never-materialised archive)."""

    def __init__(self, source: ByteSource) -> None:
        super().__init__()
        self.source, self.pos = source, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        self.pos = offset if whence == 0 else self.pos + offset if whence == 1 else self.source.size + offset
        return self.pos

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        data = self.source.read(self.pos, min(self.source.size, self.pos + len(buffer)))
        buffer[:len(data)] = data
        self.pos += len(data)
        return len(data)


def test_crc32_of_periodic_bytes_without_reading_them() -> None:
    for size in (1, 1000, 65536, 65537, 3 * 65536 + 17):
        data = PeriodicBytes("p", size)
        assert data.crc32() == zlib.crc32(data.read(0, size))
    assert crc32_combine(zlib.crc32(b"abc"), zlib.crc32(b"defg"), 4) == zlib.crc32(b"abcdefg")
    assert PeriodicBytes("stream64", BIG_MEMBER_SIZE).crc32() == BIG_MEMBER_CRC  # the constant the zip declares


def test_filespec_source_is_additive() -> None:
    zipped = LazyZip([ZipEntry("a.txt", b"hello" * 100, DEFLATED), ZipEntry("b.bin", PeriodicBytes("b", 70000))],
                     digests={"md5": "0" * 32})
    spec = FileSpec("x.zip", source=zipped, seed="r:x.zip")
    world = World()
    assert spec.size == zipped.size
    assert world.read(spec) == zipped.read(0, zipped.size)
    assert world.read(spec, 100, 200) == zipped.read(100, 200)
    assert world.digest(spec) == "0" * 32  # a source may declare its digest...
    assert world.digest(spec, "sha1") == hashlib.sha1(zipped.read(0, zipped.size)).hexdigest()  # ...or not
    changed = world.read(spec, variant=1)  # the "changed on the server" quirk still works
    assert len(changed) == spec.size and changed != world.read(spec)
    assert FileSpec("plain", 10).source is None and isinstance(zipped, ByteSource)


def test_frames_zip_is_a_real_zip() -> None:
    archive = zipfile.ZipFile(io.BytesIO(frames_zip().read(0, frames_zip().size)))
    assert archive.testzip() is None
    names = archive.namelist()
    assert len(names) == 404 and "../escape.txt" in names and "images/" in names
    methods = {i.compress_type for i in archive.infolist()}
    assert methods == {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED}


def test_stream64_zip_has_a_zip64_member_and_offsets_beyond_4_gib() -> None:
    archive = zipfile.ZipFile(io.BufferedReader(SourceFile(stream64_zip())))
    infos = {i.filename: i for i in archive.infolist()}
    assert infos[BIG_MEMBER].file_size == BIG_MEMBER_SIZE > 2**32
    assert infos["after/notes.txt"].header_offset > 2**32
    assert archive.read("after/notes.txt").startswith(b"This member starts beyond 4 GiB.")
    with archive.open(BIG_MEMBER) as member:
        assert member.read(70000) == PeriodicBytes("stream64", 70000).read(0, 70000)


def test_cbf_frames_parse_with_fabio(tmp_path: os.PathLike[str]) -> None:
    fabio = pytest.importorskip("fabio")
    frame = cbf_frame(PILATUS_300K, FrameParams("t_0001", "2016-09-20T10:11:12", omega=91.5, chi=45.0, kappa=60.0,
                                                phi=30.0, exposure_time=0.2), "seed")
    path = os.path.join(tmp_path, "t_0001.cbf")
    with open(path, "wb") as fh:
        fh.write(frame.read(0, frame.size))
    image = fabio.open(path)
    assert image.data.shape == (619, 487)
    header = image.pilatus_headers
    assert (header["Omega"], header["Chi"], header["Kappa"], header["Phi"]) == (91.5, 45.0, 60.0, 30.0)
    assert header["Exposure_time"] == 0.2 and header["Detector_distance"] == 0.26498


def test_records_are_registered_in_the_default_world() -> None:
    from doi2data.sandbox.datasets import default_world

    world = default_world()
    recids = {r.recid for r in subset_records()}
    assert {"154704", "7000400"} <= recids
    assert all(world.record(r) is not None for r in recids)
    assert len(world.record("154704").files) == 121  # type: ignore[union-attr]


@pytest.mark.skipif(not os.environ.get("DOI2DATA_SLOW"), reason="hashes 4 GiB (~15 s); set DOI2DATA_SLOW=1")
def test_declared_md5_of_stream64_zip() -> None:
    source, h = stream64_zip(), hashlib.md5()
    for pos in range(0, source.size, 1 << 22):
        h.update(source.read(pos, min(source.size, pos + (1 << 22))))
    assert h.hexdigest() == STREAM64_MD5
