"""Frames by metadata: CBF headers by ranged reads, NeXus angle arrays, the SQLite cache, --where fetches."""

from __future__ import annotations

import gzip
import io
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("fabio")
h5py = pytest.importorskip("h5py")

from doi2data.api import resolve  # noqa: E402
from doi2data.model import FileEntry, Manifest  # noqa: E402
from doi2data.sandbox import FakeInternet  # noqa: E402
from doi2data.sandbox.subsets_data import CBF_DOI, CBF_RECID, HDF5_DOI, HDF5_RECID, cbf_series  # noqa: E402
from doi2data.subset.framescan import cbf_head, cbf_values  # noqa: E402
from doi2data.subset.frames import fetch_frames, frame_table  # noqa: E402
from doi2data.subset.ranges import UNLIMITED, RangeReader  # noqa: E402
from doi2data.transfer.engine import TransferOptions  # noqa: E402

SEED_QUERY = "omega >= 90 and omega < 120 and chi == 0"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[FakeInternet]:
    with FakeInternet() as net:  # private: 120 header reads must not spend the shared one's rate window
        yield net


@pytest.fixture
def net(sandbox: FakeInternet) -> Iterator[FakeInternet]:
    sandbox.clear_log()
    with sandbox.activated():
        yield sandbox


@pytest.fixture(scope="module")
def manifests(sandbox: FakeInternet) -> dict[str, Manifest]:
    with sandbox.activated():
        return {doi: resolve(doi) for doi in (CBF_DOI, HDF5_DOI)}


@pytest.fixture
def reader(net: FakeInternet) -> Iterator[RangeReader]:
    with RangeReader(rates={"zenodo.org": UNLIMITED}) as rd:
        yield rd


def test_cbf_table_reads_only_headers_and_is_cached(tmp_path: Path, net: FakeInternet, manifests: dict,
                                                   reader: RangeReader) -> None:
    manifest = manifests[CBF_DOI]
    cache = tmp_path / "frames.sqlite"
    table = frame_table(manifest, reader=reader, cache=cache)
    assert len(table.frames) == 120 and table.scanned == 120 and table.requests == 120
    content = [r for r in net.log if r.path.endswith("/content")]
    assert len(content) == 120 and all(r.headers["range"] == "bytes=0-4095" and r.bytes_sent == 4096 for r in content)
    assert table.bytes_received < 0.02 * manifest.total_size
    first = table.frames[0].row()
    assert first["file"] == "images/lyso_1_0001.cbf" and first["omega"] == 60.0 and first["detector_distance"] == 264.98
    assert first["wavelength"] == 0.97625 and first["exposure_time"] == 0.1 and first["oscillation_axis"] == "X"
    chosen = table.query(SEED_QUERY)
    assert [f.file for f in chosen] == [f"images/lyso_1_{i:04d}.cbf" for i in range(31, 61)]
    again = frame_table(manifest, reader=reader, cache=cache)
    assert again.cached == 120 and again.requests == 0 and [f.row() for f in again.frames] == [f.row() for f in
                                                                                              table.frames]
    with sqlite3.connect(cache) as db:  # the cache is a queryable manifest too
        assert db.execute("SELECT count(*) FROM frames WHERE chi = 45 AND omega < 100").fetchone() == (10,)


def test_fetch_frames_downloads_whole_cbf_files_verified(tmp_path: Path, net: FakeInternet, manifests: dict,
                                                         reader: RangeReader) -> None:
    manifest = manifests[CBF_DOI]
    table = frame_table(manifest, reader=reader, cache=False)
    report = fetch_frames(manifest, "omega >= 90 and omega < 93 and chi == 0", tmp_path, reader=reader, table=table,
                          options=TransferOptions(rates={"zenodo.org": UNLIMITED}))
    names = [f"images/lyso_1_{i:04d}.cbf" for i in (31, 32, 33)]
    assert sorted(w.local for w in report.written) == names and not report.failed
    for name in names:
        assert (tmp_path / name).read_bytes() == net.world.file_bytes(CBF_RECID, name)


def test_hdf5_table_from_angle_arrays_and_no_double_counting(manifests: dict, reader: RangeReader) -> None:
    table = frame_table(manifests[HDF5_DOI], reader=reader, cache=False)
    files = sorted({f.file for f in table.frames})
    assert files == ["eiger/series_master.h5", "scan.h5"]  # data files count through the master's VDS
    scan = [f for f in table.frames if f.file == "scan.h5"]
    assert len(scan) == 40 and [f.values["omega"] for f in scan[:3]] == [80.0, 80.5, 81.0]
    assert scan[0].dataset == "/entry/data/data" and scan[0].values["detector_distance"] == 200.0
    master = [f for f in table.frames if f.file == "eiger/series_master.h5"]
    assert len(master) == 20 and master[-1].values["omega"] == 4.75


def test_fetch_frames_writes_hdf5_with_just_those_frames(tmp_path: Path, sandbox: FakeInternet, manifests: dict,
                                                        reader: RangeReader) -> None:
    manifest = manifests[HDF5_DOI]
    report = fetch_frames(manifest, "(file == 'scan.h5' and omega >= 85 and omega < 87) or (file like 'eiger/*' "
                                    "and frame in (2, 15))", tmp_path, reader=reader, cache=False)
    locals_ = sorted(w.local for w in report.written)
    assert locals_ == ["eiger/series_master.data.frames.h5", "scan.data.frames.h5"]
    rec = sandbox.world.record(HDF5_RECID)
    truth = h5py.File(io.BytesIO(next(f.data for f in rec.files if f.key == "scan.h5")))  # type: ignore[union-attr]
    with h5py.File(tmp_path / "scan.data.frames.h5") as out:
        assert (out["entry/data/data"][...] == truth["entry/data/data"][10:14]).all()
    with h5py.File(tmp_path / "eiger/series_master.data.frames.h5") as out:
        assert out["entry/data/data"][:, 0, 0].tolist() == [2, 15]
        assert out.attrs["doi2data_selection"] == "[{2,15}, 0:128, 0:128]"


def test_gzipped_cbf_headers_are_read_from_the_start_of_the_stream() -> None:
    source = cbf_series(1)[0].source
    packed = gzip.compress(source.read(0, source.size))  # type: ignore[union-attr]

    class Stub:
        def read(self, url: str, start: int, end: int) -> bytes:
            return packed[start:end]

    head = cbf_head(Stub(), FileEntry("x_0001.cbf.gz", len(packed)), "https://example.org/x")  # type: ignore[arg-type]
    assert head.endswith(b"\x0c\x1a\x04\xd5") and cbf_values(head)["omega"] == 60.0


def test_frames_command(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run = cli("frames", CBF_DOI, "--json", "--where", "omega < 94 and chi == 0 and omega >= 90", "--include",
              "images/lyso_1_003*", "--rate", "zenodo.org=0", "--cache", str(tmp_path / "c.sqlite"))
    assert run.code == 0, run.err
    doc = json.loads(run.out)
    assert [f["file"] for f in doc["frames"]] == [f"images/lyso_1_{i:04d}.cbf" for i in (31, 32, 33, 34)]
    assert doc["files_scanned"] == 10 and "omega" in doc["datanames"]
    bad = cli("frames", CBF_DOI, "--where", "omega >>= 3", "--no-cache")  # refused before any request
    assert bad.code == 2 and "--where" in bad.err
