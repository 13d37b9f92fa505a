"""HDF5 slices are bounded by what they read (issue 16): chunks touched, one chunk's decompressed
size, bytes fetched (metadata included) - in the library, the CLI and the gateway.

``stack.h5`` (:mod:`doi2data.sandbox.subsets_bombs`): ``/stack`` is 1000 frames of 64x64 uint8, a
chunk per frame, so ``[:, 0, 0]`` answers 1,000 bytes after touching 1,000 chunks (4 MB);
``/big`` is one gzip chunk of 512 MiB decompressed (~0.5 MB stored), which cost 525 MiB of RSS to
read one value from before this.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import numpy as np
import pytest

pytest.importorskip("h5py")

from doi2data.api import resolve  # noqa: E402
from doi2data.errors import LimitExceeded  # noqa: E402
from doi2data.model import Manifest  # noqa: E402
from doi2data.sandbox import FakeInternet  # noqa: E402
from doi2data.sandbox.subsets_bombs import BOMB_DOI, bomb_records  # noqa: E402
from doi2data.sandbox.world import World  # noqa: E402
from doi2data.subset.hdf5extract import extract_hdf5, read_hdf5  # noqa: E402
from doi2data.subset.hdf5remote import ReadLimits, chunk_batches  # noqa: E402
from doi2data.subset.ranges import UNLIMITED, RangeReader  # noqa: E402

FRAMES = (np.arange(1000 * 64 * 64, dtype=np.uint32) * 2654435761 >> 24).astype(np.uint8).reshape(1000, 64, 64)


@pytest.fixture(scope="module")
def internet() -> Iterator[FakeInternet]:
    with FakeInternet(World(records=bomb_records())) as net:
        yield net


@pytest.fixture(scope="module")
def manifest(internet: FakeInternet) -> Manifest:
    with internet.activated():
        return resolve(BOMB_DOI)


@pytest.fixture
def reader(net: FakeInternet) -> Iterator[RangeReader]:
    with RangeReader(rates={"zenodo.org": UNLIMITED}) as rd:
        yield rd


def test_chunks_touched_are_counted_before_the_chunk_index_is_read(manifest: Manifest, reader: RangeReader) -> None:
    with pytest.raises(LimitExceeded, match="touches 1,000 chunks, over the limit of 100"):
        read_hdf5(manifest, "stack.h5", "/stack[:, 0, 0]", reader=reader, limits=ReadLimits(max_chunks=100))
    assert reader.bytes_received < 64 * 1024  # metadata only: no chunk was fetched
    values = read_hdf5(manifest, "stack.h5", "/stack[:, 0, 0]", reader=reader)  # the CLI's defaults allow it
    assert values.shape == (1000, 1, 1) and (values[:, 0, 0] == FRAMES[:, 0, 0]).all()


def test_bytes_fetched_are_capped_metadata_included(manifest: Manifest, reader: RangeReader) -> None:
    cap = ReadLimits(max_read=1 << 20)
    with pytest.raises(LimitExceeded, match="over the limit of 1,048,576"):
        read_hdf5(manifest, "stack.h5", "/stack[0:500, 0, 0]", reader=reader, limits=cap)  # 500 x 4 KiB of chunks
    assert reader.bytes_received < (1 << 20)
    values = read_hdf5(manifest, "stack.h5", "/stack[0:100, 0:2, 0]", reader=reader, limits=cap)
    assert (values[:, :, 0] == FRAMES[0:100, 0:2, 0]).all()
    # libhdf5 reads metadata through the file object; a refusal there still comes out as LimitExceeded
    with pytest.raises(LimitExceeded):
        read_hdf5(manifest, "stack.h5", "/stack[0]", reader=reader, limits=ReadLimits(max_read=20_000))


def test_a_huge_chunk_is_refused_before_it_is_fetched(manifest: Manifest, reader: RangeReader,
                                                      tmp_path: Path) -> None:
    with pytest.raises(LimitExceeded, match="one chunk is 536,870,912 bytes decompressed"):
        read_hdf5(manifest, "stack.h5", "/big[0, 0:4]", reader=reader)  # the CLI's defaults
    assert reader.bytes_received < 100_000  # the ~0.5 MB chunk was never requested
    with pytest.raises(LimitExceeded):
        extract_hdf5(manifest, "stack.h5:/big[0:1]", tmp_path, reader=reader)
    assert not list(tmp_path.iterdir())  # no output, not even a .part


def test_raw_copies_hold_one_batch_of_chunks_at_a_time() -> None:
    plan = [((i,), SimpleNamespace(size=40)) for i in range(10)] + [((10,), None)]
    batches = list(chunk_batches(plan, limit=100))  # type: ignore[arg-type]
    assert [len(b) for b in batches] == [2, 2, 2, 2, 3] and sum(map(len, batches)) == 11


def test_cli_get_hdf5_over_a_bound_is_a_clear_error(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run = cli("get", BOMB_DOI, "h", "--hdf5", "stack.h5:/big[0:1]", "--rate", "zenodo.org=0")
    assert run.code == 1 and "536,870,912 bytes decompressed" in run.err and "Traceback" not in run.err
    assert not list((tmp_path / "h").rglob("*.h5*")) if (tmp_path / "h").exists() else True
    run = cli("get", BOMB_DOI, "h", "--hdf5", "stack.h5:/stack[0:3]", "--rate", "zenodo.org=0")
    assert run.code == 0, run.err


@pytest.fixture(scope="module")
def gateway(internet: FakeInternet) -> Iterator[str]:
    pytest.importorskip("jinja2")
    from doi2data.service import GatewayConfig, create_app
    from doi2data.service.testing import GatewayServer

    config = GatewayConfig(cache_url="memory:", allow_hosts=tuple(internet.hosts), rate=0, access_log=None,
                           origin_rates=("zenodo.org=0",), max_slice_chunks=500, max_slice_read=2 << 20)
    with internet.activated():
        server = GatewayServer(create_app(config)).start()
    yield server.url
    server.stop()


def get(gateway: str, **params: str) -> httpx.Response:
    with httpx.Client(base_url=gateway, trust_env=False, timeout=30) as http:
        return http.get(f"/{BOMB_DOI}", params={"file": "stack.h5", **params})


def problem(r: httpx.Response) -> dict[str, Any]:
    assert r.headers["content-type"].startswith("application/problem+json"), r.text[:200]
    return json.loads(r.text)


def test_gateway_slices_over_a_read_bound_are_413_problems(gateway: str, net: FakeInternet) -> None:
    r = get(gateway, dataset="/stack", slice=":,0,0")
    assert r.status_code == 413 and "touches 1,000 chunks" in problem(r)["detail"]
    r = get(gateway, dataset="/big", slice="0,0:4")  # the default max_slice_chunk_bytes (128 MiB)
    assert r.status_code == 413 and "536,870,912" in problem(r)["detail"]
    r = get(gateway, dataset="/stack", slice="0:499,0,0")  # 499 chunks (allowed) of 4 KiB: over 2 MiB read
    assert r.status_code == 413 and "bytes fetched" in problem(r)["detail"]
    r = get(gateway, dataset="/big", slice="0,0:4", format="hdf5")
    assert r.status_code == 413
    r = get(gateway, dataset="/stack", slice="0:50,3,4", format="json")
    assert r.status_code == 200 and r.json()["data"] == FRAMES[0:50, 3:4, 4:5].tolist()
