"""The sandbox datasets for remote subsets (issue 6): zips, tars, a CBF series, NeXus/HDF5.

Each record exists for one situation of the "gimme a subset" use cases (seed 001):

* ``10.5281/zenodo.154704`` - the 1,190-frame PILATUS deposit, scaled to 120 miniCBF frames
  (PILATUS 300K, ~305 kB each) in two sweeps: frames 1-60 at chi 0 with omega 60..119 deg, frames
  61-120 at chi 45, kappa 60, phi 30 with omega 90..149 deg. ``omega >= 90 and omega < 120 and
  chi == 0`` selects frames 31-60.
* ``10.5281/zenodo.7000400`` - archives: ``frames.zip`` (404 members: 300 stored CBF frames, 100
  deflated logs, a README, a directory entry and a hostile ``../escape.txt``), ``stream64.zip``
  (ZIP64: a stored member of 4 GiB + 4,321 bytes, then members at offsets beyond 4 GiB, ZIP64
  end records; never materialised, see :class:`~.subsets_bytes.LazyZip`), ``frames.tar`` and
  ``frames.tar.gz`` (20 frames and a note).
* ``10.5281/zenodo.7000500`` - NeXus/HDF5 (only when h5py is installed): ``scan.h5`` (40 frames
  256x256 uint16, chunked per frame, gzip + shuffle, omega 80..99.5 deg and chi/phi/kappa arrays,
  a contiguous and a compact dataset) and an EIGER-style ``eiger/series_master.h5`` (20 frames
  128x128) whose ``data_00000N`` are external links and ``data`` a virtual dataset over
  ``eiger/series_data_00000N.h5``.

Builders are cached per process: the first world pays for them (about a second, mostly importing
h5py and compressing the HDF5 chunks), later worlds nothing.
"""

from __future__ import annotations

import gzip
import importlib.util
import io
import json
import tarfile
from functools import lru_cache

from .subsets_bytes import DEFLATED, LazyZip, PeriodicBytes, ZipEntry, generated
from .subsets_cbf import PILATUS_300K, Detector, FrameParams, cbf_frame
from .world import Creator, FileSpec, Record

CBF_RECID, ZIP_RECID, HDF5_RECID = "154704", "7000400", "7000500"
CBF_DOI, ZIP_DOI, HDF5_DOI = (f"10.5281/zenodo.{r}" for r in (CBF_RECID, ZIP_RECID, HDF5_RECID))
PILATUS_100K_BINNED = Detector("PILATUS 100K", "1-0007", 120, 97)  # small frames for archives
BIG_MEMBER = "raw/detector_stream.bin"
BIG_MEMBER_SIZE = 4 * 2**30 + 4321
BIG_MEMBER_CRC = 1060220579  # PeriodicBytes("stream64", BIG_MEMBER_SIZE).crc32(), checked by a test
STREAM64_MD5 = "05d322a20da37760965aade8cc3338c1"  # md5 of stream64.zip (checked by a slow test)

_PEOPLE = (Creator("Helliwell", "John", "University of Manchester"),
           Creator("McMahon", "Brian", "International Union of Crystallography"))


def sweep_params(i: int, count: int, det: Detector, prefix: str = "lyso_1") -> FrameParams:
    """Frame ``i`` (1-based) of a two-sweep series of 60 degrees each: omega from 60 at chi 0,
    then omega from 90 at chi 45 (kappa 60, phi 30). 120 frames: 1 degree per frame."""
    half = max(1, count // 2)
    first = i <= half
    k = (i - 1) if first else (i - 1 - half)
    step = round(60.0 / half, 6)
    return FrameParams(
        f"{prefix}_{i:04d}", f"2016-09-20T{10 + i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}.{i % 1000:03d}",
        omega=round((60.0 if first else 90.0) + k * step, 6), omega_increment=step, chi=0.0 if first else 45.0,
        kappa=0.0 if first else 60.0, phi=0.0 if first else 30.0, exposure_time=0.1 if first else 0.2,
        exposure_period=0.1 if first else 0.2, beam_x=det.width / 2 - 0.5, beam_y=det.height / 2 + 0.5)


def cbf_series(count: int, det: Detector = PILATUS_300K, folder: str = "images", prefix: str = "lyso_1",
               seed: str = "154704") -> tuple[FileSpec, ...]:
    """``count`` miniCBF frames as lazily generated files (``<folder>/<prefix>_0001.cbf``...)."""
    return tuple(FileSpec(f"{folder}/{prefix}_{i:04d}.cbf", mimetype="application/octet-stream",
                          source=cbf_frame(det, sweep_params(i, count, det, prefix), f"{seed}:{i}"))
                 for i in range(1, count + 1))


@lru_cache(maxsize=1)
def _pixel_pool() -> bytes:
    det = PILATUS_100K_BINNED
    return generated("zipped-frames", 0, 301 * det.width * det.height).translate(bytes.maketrans(b"\x80", b"\x7f"))


def _frame_bytes(i: int, count: int = 300) -> bytes:
    """A small frame for archives (all pixels cut from one generated pool: fast to build)."""
    det = PILATUS_100K_BINNED
    npix = det.width * det.height
    src = cbf_frame(det, sweep_params(i, count, det, "zipped"), "zipped-frames")
    parts = src.parts
    return parts[0] + _pixel_pool()[i * npix:(i + 1) * npix] + parts[2]  # type: ignore[operator]


def _log(i: int) -> bytes:
    return "".join(f"2016-09-20 10:{i % 60:02d}:{s:02d} frame {i:05d} shutter open, counts {(i * 7919 + s) % 100003}\n"
                   for s in range(40)).encode()


@lru_cache(maxsize=1)
def frames_zip() -> LazyZip:
    entries = [ZipEntry("README.txt", b"Frames of a PILATUS sweep, zipped by the depositor.\n" * 20, DEFLATED),
               ZipEntry("images/", b"")]
    entries += [ZipEntry(f"images/frame_{i:05d}.cbf", _frame_bytes(i)) for i in range(1, 301)]
    entries += [ZipEntry(f"logs/frame_{i:05d}.log", _log(i), DEFLATED) for i in range(1, 101)]
    entries += [ZipEntry("metadata/experiment.json", json.dumps({"frames": 300, "detector": "PILATUS 100K"}).encode(),
                         DEFLATED), ZipEntry("../escape.txt", b"a hostile member name\n")]
    return LazyZip(entries)


@lru_cache(maxsize=1)
def stream64_zip() -> LazyZip:
    entries = [ZipEntry("README.txt", b"A raw detector stream too big for plain zip (ZIP64).\n" * 10, DEFLATED),
               ZipEntry(BIG_MEMBER, PeriodicBytes("stream64", BIG_MEMBER_SIZE), crc=BIG_MEMBER_CRC),
               ZipEntry("after/frame_00001.cbf", _frame_bytes(1)),
               ZipEntry("after/notes.txt", b"This member starts beyond 4 GiB.\n" * 30, DEFLATED)]
    return LazyZip(entries, digests={"md5": STREAM64_MD5})


def _tar_members() -> list[tuple[str, bytes]]:
    members = [(f"frames/frame_{i:05d}.cbf", _frame_bytes(i, 20)) for i in range(1, 21)]
    return members + [("frames/NOTES.txt", b"Twenty frames in a tarball.\n" * 5)]


@lru_cache(maxsize=1)
def tarballs() -> tuple[bytes, bytes]:
    """``(frames.tar, frames.tar.gz)``, byte-for-byte reproducible (fixed mtimes and owners)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in _tar_members():
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode, info.uname, info.gname = len(data), 1474366272, 0o644, "data", "data"
            tar.addfile(info, io.BytesIO(data))
    plain = buffer.getvalue()
    return plain, gzip.compress(plain, compresslevel=6, mtime=0)


@lru_cache(maxsize=1)
def hdf5_files() -> tuple[FileSpec, ...]:
    """``scan.h5`` and the EIGER series (empty when h5py is not installed)."""
    if importlib.util.find_spec("h5py") is None:
        return ()
    from .subsets_hdf5 import Scan, eiger_series, nexus_scan

    mime = "application/x-hdf5"
    files = [FileSpec("scan.h5", mimetype=mime, data=nexus_scan(Scan(frames=40)))]
    series = eiger_series(Scan(frames=20, height=128, width=128, omega_start=0.0, omega_step=0.25, seed=42))
    files += [FileSpec(f"eiger/{name}", mimetype=mime, data=data) for name, data in sorted(series.items())]
    return tuple(files)


def subset_records() -> list[Record]:
    """The records above (the HDF5 one only with h5py); cheap after the first call."""
    plain, packed = tarballs()
    records = [
        Record(CBF_RECID, "154703", "Lysozyme rotation series, PILATUS miniCBF frames (sandbox, 120 of 1,190)",
               files=(FileSpec("README.txt", mimetype="text/plain",
                               data=b"120 miniCBF frames in two sweeps (chi 0 and chi 45).\n"),
                      *cbf_series(120)),
               creators=_PEOPLE, publication_date="2016-09-20", keywords=("diffraction", "CBF", "PILATUS")),
        Record(ZIP_RECID, "7000399", "Sandbox archives: zip (ZIP64 too) and tar members", creators=_PEOPLE[1:],
               publication_date="2024-05-01",
               files=(FileSpec("frames.zip", mimetype="application/zip", source=frames_zip()),
                      FileSpec("stream64.zip", mimetype="application/zip", source=stream64_zip()),
                      FileSpec("frames.tar", mimetype="application/x-tar", data=plain),
                      FileSpec("frames.tar.gz", mimetype="application/gzip", data=packed))),
    ]
    if hdf5_files():
        records.append(Record(HDF5_RECID, "7000499", "Sandbox NeXus/HDF5 scans (chunked, external links, VDS)",
                              creators=_PEOPLE[:1], publication_date="2024-05-02", files=hdf5_files()))
    return records


__all__ = ["BIG_MEMBER", "BIG_MEMBER_CRC", "BIG_MEMBER_SIZE", "CBF_DOI", "CBF_RECID", "HDF5_DOI", "HDF5_RECID",
           "ZIP_DOI", "ZIP_RECID",
           "cbf_series", "frames_zip", "hdf5_files", "stream64_zip", "subset_records", "sweep_params", "tarballs"]
