"""The ``doi://`` fsspec filesystem: entry point, listing, ranged reads, pandas and h5py on top."""

from __future__ import annotations

import io
from collections.abc import Iterator
from importlib.metadata import entry_points

import pytest

from doi2data.errors import AccessDenied, VerificationError
from doi2data.sandbox import FakeInternet, FileSpec, Quirk, Record, World

np = pytest.importorskip("numpy")
fsspec = pytest.importorskip("fsspec")
from doi2data.fs import BLOCK_SIZE, BlockCache, DoiFileSystem  # noqa: E402

DOI = "10.5281/zenodo.1215979"
RECID = "1215979"


@pytest.fixture(autouse=True)
def fresh_instances() -> Iterator[None]:
    """fsspec caches filesystem instances (and so their manifests and clients) across tests."""
    DoiFileSystem.clear_instance_cache()
    yield
    for fs in list(DoiFileSystem._cache.values()):
        fs.close()
    DoiFileSystem.clear_instance_cache()


def content_gets(net: FakeInternet, name: str) -> list[str | None]:
    return [r.headers.get("range") for r in net.log if r.host == "zenodo.org" and name in r.path and r.method == "GET"]


def test_registered_by_entry_point() -> None:
    assert "doi" in {ep.name for ep in entry_points(group="fsspec.specs")}
    assert fsspec.get_filesystem_class("doi") is DoiFileSystem
    assert isinstance(fsspec.filesystem("doi"), DoiFileSystem)


def test_open_ls_glob_info(net: FakeInternet) -> None:
    with fsspec.open(f"doi://{DOI}/README.json") as f:
        assert f.read() == net.world.file_bytes(RECID, "README.json")
    fs = fsspec.filesystem("doi")
    assert fs.ls(DOI, detail=False) == [f"{DOI}/{n}" for n in
                                        ("README.json", "données", "images", "metadata", "notes", "tmp")]
    assert fs.glob(f"doi://{DOI}/**/*.cbf") == [f"{DOI}/images/frame_000{i}.cbf" for i in (1, 2, 3)]
    info = fs.info(f"{DOI}/images/frame_0002.cbf")
    assert info["type"] == "file" and info["size"] == 1_310_737
    assert info["md5"] == net.world.checksum(RECID, "images/frame_0002.cbf")
    assert fs.isdir(f"{DOI}/images") and not fs.exists(f"{DOI}/nope.txt")
    assert fs.find(f"{DOI}/notes") == [f"{DOI}/notes/run log.txt"]
    with pytest.raises(FileNotFoundError):
        fs.info(f"{DOI}/images/frame_9999.cbf")
    with pytest.raises(FileNotFoundError):
        fs.ls("10.5281/zenodo.999999999")


def test_cat_ranges_fetch_exactly_the_bytes_asked_for(net: FakeInternet) -> None:
    fs = fsspec.filesystem("doi")
    path = f"{DOI}/images/frame_0003.cbf"
    whole = net.world.file_bytes(RECID, "images/frame_0003.cbf")
    starts, ends = [0, 1_000_000, 2_097_000], [16, 1_000_100, 2_097_147]
    net.clear_log()
    assert fs.cat_ranges([path] * 3, starts, ends) == [whole[s:e] for s, e in zip(starts, ends)]
    assert content_gets(net, "frame_0003") == ["bytes=0-15", "bytes=1000000-1000099", "bytes=2097000-2097146"]
    assert fs.cat_file(path, start=-10) == whole[-10:]


def test_whole_file_reads_are_verified(net: FakeInternet) -> None:
    fs = fsspec.filesystem("doi")
    assert fs.cat(f"{DOI}/metadata/experiment.json") == net.world.file_bytes(RECID, "metadata/experiment.json")
    net.add_quirk(Quirk(host="zenodo.org", path="*experiment.json*", kind="corrupt", offset=3))
    with pytest.raises(VerificationError):
        fs.cat(f"{DOI}/metadata/experiment.json")


def test_open_files_use_a_bounded_block_cache(net: FakeInternet) -> None:
    fs = fsspec.filesystem("doi")
    net.clear_log()
    with fs.open(f"{DOI}/images/frame_0003.cbf") as f:
        assert isinstance(f.cache, BlockCache)
        f.seek(1_500_000)
        assert f.read(100) == net.world.file_bytes(RECID, "images/frame_0003.cbf")[1_500_000:1_500_100]
        f.seek(1_500_050)
        f.read(10)  # a hit: no request
    ranges = content_gets(net, "frame_0003")
    assert len(ranges) == 1
    first, last = (int(x) for x in ranges[0].removeprefix("bytes=").split("-"))
    assert last - first + 1 == BLOCK_SIZE and first % BLOCK_SIZE == 0  # one aligned block, not 5 MiB


def test_pandas_reads_the_csv(net: FakeInternet) -> None:
    pandas = pytest.importorskip("pandas")
    frame = pandas.read_csv(f"doi://{DOI}/données/été.csv", sep=";")
    assert list(frame.columns) == ["température", "intensité", "état"] and len(frame) == 400
    assert set(frame["état"]) <= {"été", "hiver"}


def test_restricted_files_are_listed_but_not_readable(net: FakeInternet) -> None:
    fs = fsspec.filesystem("doi")
    assert fs.info("10.5281/zenodo.7000002/secret.h5")["access"] == "restricted"
    with pytest.raises(AccessDenied):
        fs.open("10.5281/zenodo.7000002/secret.h5")
    with pytest.raises(PermissionError):
        fs.open(f"{DOI}/README.json", "wb")


def test_hostile_names_are_shown_as_their_safe_paths(net: FakeInternet) -> None:
    fs = fsspec.filesystem("doi")
    names = fs.find("10.5281/zenodo.7000001")
    assert "10.5281/zenodo.7000001/abs/path.txt" in names and "10.5281/zenodo.7000001/win.txt" in names
    assert not any(".." in n for n in names)


def _hdf5_bytes() -> bytes:
    h5py = pytest.importorskip("h5py")
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        frames = f.create_dataset("entry/data", shape=(64, 128, 128), dtype="uint16", chunks=(1, 128, 128))
        frames[...] = np.arange(64 * 128 * 128, dtype=np.uint64).reshape(64, 128, 128) % 65521
        f["entry/data"].attrs["units"] = "counts"
        f["entry/energy_eV"] = 12398.4
    return buffer.getvalue()


def test_h5py_reads_a_slice_over_http_ranges(tmp_path) -> None:  # type: ignore[no-untyped-def]
    h5py = pytest.importorskip("h5py")
    data = _hdf5_bytes()  # ~2 MiB: 64 chunked frames of 32 KiB
    world = World(records=[Record("4200001", "4200000", "HDF5 test record",
                                  files=(FileSpec("scan/frames.h5", mimetype="application/x-hdf5", data=data),))])
    with FakeInternet(world=world) as net, net.activated():
        with fsspec.open("doi://10.5281/zenodo.4200001/scan/frames.h5") as remote, h5py.File(remote, "r") as f:
            frame = f["entry/data"][40]
            assert f["entry/data"].attrs["units"] == "counts" and float(f["entry/energy_eV"][()]) == 12398.4
        expected = (np.arange(64 * 128 * 128, dtype=np.uint64).reshape(64, 128, 128) % 65521)[40]
        assert (frame == expected).all()
        sent = [r for r in net.log if r.host == "zenodo.org" and r.path.endswith("/content")]
        assert all(r.headers.get("range", "").startswith("bytes=") for r in sent)
        fetched = sum(int(b) - int(a) + 1 for a, b in (r.headers["range"][6:].split("-") for r in sent))
        assert fetched < len(data) // 3, f"{fetched} bytes of {len(data)} to read one frame"
