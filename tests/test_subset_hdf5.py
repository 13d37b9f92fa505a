"""Remote HDF5 slices: chunk ranges only, raw chunk copies, decoded ROIs, links and VDS via the manifest."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

h5py = pytest.importorskip("h5py")
np = pytest.importorskip("numpy")

from doi2data.api import resolve  # noqa: E402
from doi2data.errors import UsageError  # noqa: E402
from doi2data.model import Manifest  # noqa: E402
from doi2data.sandbox import FakeInternet  # noqa: E402
from doi2data.sandbox.subsets_data import HDF5_DOI, HDF5_RECID  # noqa: E402
from doi2data.subset.hdf5extract import extract_hdf5, list_hdf5, read_hdf5  # noqa: E402
from doi2data.subset.ranges import UNLIMITED, RangeReader  # noqa: E402
from doi2data.subset.spec import parse_slices, split_spec  # noqa: E402


@pytest.fixture(scope="module")
def sandbox() -> Iterator[FakeInternet]:
    with FakeInternet() as net:
        yield net


@pytest.fixture
def net(sandbox: FakeInternet) -> Iterator[FakeInternet]:
    sandbox.clear_quirks()
    sandbox.clear_log()
    with sandbox.activated():
        yield sandbox


@pytest.fixture(scope="module")
def manifest(sandbox: FakeInternet) -> Manifest:
    with sandbox.activated():
        return resolve(HDF5_DOI)


@pytest.fixture(scope="module")
def local(sandbox: FakeInternet) -> dict[str, object]:
    """The same files opened locally: the oracle."""
    rec = sandbox.world.record(HDF5_RECID)
    assert rec is not None
    return {f.key: h5py.File(io.BytesIO(f.data), "r") for f in rec.files}


@pytest.fixture
def reader(net: FakeInternet) -> Iterator[RangeReader]:
    with RangeReader(rates={"zenodo.org": UNLIMITED}) as rd:
        yield rd


def sent(net: FakeInternet) -> int:
    return sum(r.bytes_sent for r in net.log if r.path.endswith("/content"))


def test_frame_range_is_copied_raw_reading_only_its_chunks(tmp_path: Path, net: FakeInternet, manifest: Manifest,
                                                          local: dict, reader: RangeReader) -> None:
    report = extract_hdf5(manifest, "scan.h5:/entry/data/data[10:20]", tmp_path, reader=reader)
    [written] = report.written
    assert written.local == "scan.data.10-20_0-256_0-256.h5"
    src = local["scan.h5"]["entry/data/data"]
    with h5py.File(tmp_path / written.local) as out:
        ds = out["entry/data/data"]
        assert (ds[...] == src[10:20]).all() and ds.chunks == src.chunks and ds.compression == "gzip" and ds.shuffle
        assert ds.id.get_chunk_info(0).size == src.id.get_chunk_info(10).size  # stored bytes, not re-encoded
        assert dict(ds.attrs) == dict(src.attrs) and out["entry/data"].attrs["NX_class"] == "NXdata"
        assert out.attrs["doi2data_selection"] == "[10:20, 0:256, 0:256]" and out.attrs["doi2data_doi"] == HDF5_DOI
    chunks = sum(src.id.get_chunk_info(i).size for i in range(10, 20))
    assert report.bytes_received == sent(net) < chunks + 40_000  # the chunks plus a little metadata
    assert report.requests <= 4


def test_regions_of_interest_are_decoded(tmp_path: Path, manifest: Manifest, local: dict, reader: RangeReader) -> None:
    spec = "scan.h5:/entry/data/data[3, 5:50, 100:]"
    [written] = extract_hdf5(manifest, spec, tmp_path, reader=reader).written
    with h5py.File(tmp_path / written.local) as out:
        assert (out["entry/data/data"][...] == local["scan.h5"]["entry/data/data"][3:4, 5:50, 100:]).all()
        assert out["entry/data/data"].chunks == (1, 45, 156)
    roi = read_hdf5(manifest, "scan.h5", "/entry/data/data[7:9, 0:4, ::64]", reader=reader)
    assert (roi == local["scan.h5"]["entry/data/data"][7:9, 0:4, ::64]).all()


@pytest.mark.parametrize("path,index", [("/entry/instrument/detector/pixel_mask", (slice(3, 9), slice(10, 20))),
                                        ("/entry/instrument/detector/module_origin", ()),
                                        ("/entry/sample/transformations/omega", (slice(5, 9),)),
                                        ("/entry/instrument/detector/distance", ())])
def test_contiguous_compact_and_scalar_layouts(manifest: Manifest, local: dict, reader: RangeReader, path: str,
                                               index: tuple[slice, ...]) -> None:
    text = ", ".join(f"{s.start}:{s.stop}" for s in index)
    values = read_hdf5(manifest, "scan.h5", f"{path}[{text}]" if text else path, reader=reader)
    truth = local["scan.h5"][path]
    assert np.array_equal(values, truth[index] if index else truth[()])


def test_external_link_is_resolved_in_the_manifest(tmp_path: Path, manifest: Manifest, local: dict,
                                                   reader: RangeReader) -> None:
    report = extract_hdf5(manifest, "series_master.h5:/entry/data/data_000002[0:5]", tmp_path, reader=reader)
    with h5py.File(tmp_path / report.written[0].local) as out:
        data = out["entry/data/data_000002"][...]
        assert (data == local["eiger/series_data_000002.h5"]["entry/data/data"][0:5]).all()
        assert data[:, 0, 0].tolist() == [10, 11, 12, 13, 14]  # frame numbers of the second data file
        assert out["entry"].attrs["NX_class"] == "NXentry"


def test_virtual_dataset_across_files(manifest: Manifest, local: dict, reader: RangeReader) -> None:
    values = read_hdf5(manifest, "eiger/series_master.h5", "/entry/data/data[7:13]", reader=reader)
    assert values[:, 0, 0].tolist() == [7, 8, 9, 10, 11, 12]
    one = local["eiger/series_data_000001.h5"]["entry/data/data"]
    two = local["eiger/series_data_000002.h5"]["entry/data/data"]
    assert (values == np.concatenate([one[7:10], two[0:3]])).all()


def test_a_vds_source_missing_from_the_manifest_is_an_error(manifest: Manifest, reader: RangeReader) -> None:
    partial = manifest.with_files(f for f in manifest.files if not f.path.endswith("data_000002.h5"))
    with pytest.raises(UsageError, match="series_data_000002"):
        read_hdf5(partial, "eiger/series_master.h5", "/entry/data/data[8:12]", reader=reader)
    assert read_hdf5(partial, "eiger/series_master.h5", "/entry/data/data[0:2]", reader=reader).shape[0] == 2


def test_listing_by_metadata_and_spec_errors(manifest: Manifest, reader: RangeReader) -> None:
    rows = {r["path"]: r for r in list_hdf5(manifest, "eiger/series_master.h5", reader=reader)}
    assert rows["/entry/data/data"]["virtual"] and rows["/entry/data/data_000001"]["kind"] == "link"
    assert split_spec("scan.h5:/entry/data/data[1:2]", manifest) == ("scan.h5", "/entry/data/data[1:2]")
    assert [list(a) for a in parse_slices("-2:, 3", (5, 4, 2))] == [[3, 4], [3], [0, 1]]
    for bad in ("1:2, 3, 4, 5", "9", "a:b", "::-1", "3:3"):
        with pytest.raises(UsageError):
            parse_slices(bad, (5, 4, 2))
    with pytest.raises(UsageError, match="group"):
        extract_hdf5(manifest, "scan.h5:/entry/data", ".", reader=reader)
