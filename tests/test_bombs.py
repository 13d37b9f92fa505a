"""Decompression bombs (issue 16): zip members and tar streams cost what their bounds allow, no more.

The bombs are built by :mod:`doi2data.sandbox.subsets_bombs` (a few KB each on the wire). Before
this, a 921-byte zip took 3.2 GiB of RSS and a 146-byte tar.bz2 67 s of CPU; here every case ends
in a clear error within a second or two and a few MiB of Python allocations.
"""

from __future__ import annotations

import json
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from doi2data.api import resolve
from doi2data.errors import InflateError, LimitExceeded, VerificationError
from doi2data.model import Manifest
from doi2data.sandbox import FakeInternet
from doi2data.sandbox.subsets_bombs import BOMB_DOI, HUGE_SIZE, LIAR_SIZE, bomb_records
from doi2data.sandbox.world import World
from doi2data.subset import common
from doi2data.subset.inflate import InflateLimits, Inflater
from doi2data.subset.ranges import UNLIMITED, RangeReader
from doi2data.subset.tarstream import extract_tar_members, list_tar_members
from doi2data.subset.zipremote import extract_zip_members, iter_zip_member, list_zip_members

PEAK = 16 << 20  # Python allocations allowed for one bomb (the old code took 40 MiB to 3 GiB)


@pytest.fixture(scope="module")
def internet() -> Iterator[FakeInternet]:
    """Overrides conftest's world: only the hostile record (``net`` and ``cli`` use this one)."""
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


def bounded(fn: Callable[[], Any], seconds: float = 5.0) -> tuple[Any, int]:
    """Run ``fn``; return (its result or the exception it raised, peak Python bytes); assert time."""
    tracemalloc.start()
    start = time.monotonic()
    try:
        try:
            result: Any = fn()
        except Exception as exc:  # noqa: BLE001 - returned for the test to inspect
            result = exc
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    elapsed = time.monotonic() - start
    assert elapsed < seconds, f"took {elapsed:.1f} s"
    return result, peak


# -- the inflater alone ---------------------------------------------------------------------------
def test_inflater_stops_at_the_first_byte_past_the_declared_size() -> None:
    import bz2

    data = bz2.compress(bytes(50 << 20))  # 50 MiB of zeros in a few dozen bytes
    inflater = Inflater("bzip2", what="x", expected=10)
    got = bytearray()
    with pytest.raises(InflateError, match="declared size of 10 bytes"):
        for piece in inflater.feed(data):
            got += piece
    assert bytes(got) == bytes(10) and inflater.produced == 10


def test_inflater_ratio_total_and_cpu_budgets() -> None:
    import zlib

    data = zlib.compress(bytes(8 << 20), 9)[2:-4]  # raw deflate, ratio ~1000:1
    with pytest.raises(LimitExceeded, match="ratio over 10:1"):
        list(Inflater("deflate", InflateLimits(max_ratio=10, allowance=1 << 20), what="x").feed(data))
    with pytest.raises(LimitExceeded, match="limit of 1,000,000 bytes"):
        list(Inflater("deflate", InflateLimits(max_output=1_000_000), what="x").feed(data))
    with pytest.raises(LimitExceeded, match="CPU"):
        list(Inflater("deflate", InflateLimits(max_cpu=0.0), what="x").feed(data))
    assert sum(map(len, Inflater("deflate", what="x").feed(data))) == 8 << 20  # within bounds: all of it


# -- zip ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["liar-deflate.bin", "liar-bzip2.bin", "liar-lzma.bin", "liar-stored.bin"])
def test_zip_member_inflating_past_its_declared_size_stops_at_once(manifest: Manifest, reader: RangeReader,
                                                                   name: str) -> None:
    entry = common.find_entry(manifest, "bombs.zip")
    listing = list_zip_members(entry, reader=reader, cache=False)
    got = bytearray()

    def drain() -> None:
        for piece in iter_zip_member(entry, name, reader=reader, listing=listing):
            got.extend(piece)

    result, peak = bounded(drain)
    assert isinstance(result, InflateError), result
    assert f"declared size of {LIAR_SIZE:,} bytes" in str(result)
    assert len(got) <= LIAR_SIZE and peak < PEAK


def test_zip_member_declaring_a_bomb_is_refused_before_its_bytes(manifest: Manifest, reader: RangeReader,
                                                                 net: FakeInternet) -> None:
    entry = common.find_entry(manifest, "bombs.zip")
    listing = list_zip_members(entry, reader=reader, cache=False)
    net.clear_log()
    result, peak = bounded(lambda: list(iter_zip_member(entry, "huge-bzip2.bin", reader=reader, listing=listing)))
    assert isinstance(result, LimitExceeded) and f"{HUGE_SIZE:,} bytes" in str(result)
    assert not [r for r in net.log if r.path.endswith("/content")]  # refused from the directory alone
    with pytest.raises(VerificationError, match="overlapping members"):
        list(iter_zip_member(entry, "overlap-a.bin", reader=reader, listing=listing))


def test_extract_fails_each_bomb_alone_and_writes_the_rest(tmp_path: Path, manifest: Manifest,
                                                           reader: RangeReader) -> None:
    entry = common.find_entry(manifest, "bombs.zip")
    report, peak = bounded(lambda: extract_zip_members(entry, tmp_path, reader=reader))
    assert not isinstance(report, Exception), report
    assert sorted(w.part for w in report.written) == ["ok.txt", "overlap-b.txt"]
    assert set(report.failed) == {"liar-deflate.bin", "liar-bzip2.bin", "liar-lzma.bin", "liar-stored.bin",
                                  "huge-bzip2.bin", "overlap-a.bin"}
    assert "decompression bomb" in report.failed["huge-bzip2.bin"]
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["ok.txt", "overlap-b.txt"]  # no .part left behind
    assert peak < PEAK


def test_many_members_each_under_the_allowance_are_bounded_together(tmp_path: Path, manifest: Manifest,
                                                                    reader: RangeReader) -> None:
    entry = common.find_entry(manifest, "bombs.zip")
    # each liar (1,000 bytes) is within the allowance alone; four are more than the archive may inflate to
    tight = InflateLimits(max_ratio=0.01, allowance=1000)
    with pytest.raises(LimitExceeded, match="chosen members declare"):
        extract_zip_members(entry, tmp_path, "liar-*", reader=reader, limits=tight)


def test_cli_get_extract_reports_the_bombs_and_exits_1(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    start = time.monotonic()
    run = cli("get", BOMB_DOI, "z", "--extract", "bombs.zip:*", "--rate", "zenodo.org=0")
    assert time.monotonic() - start < 60
    assert run.code == 1, run.err
    assert "FAILED liar-bzip2.bin" in run.err and "inflates past its declared size" in run.err
    assert "Traceback" not in run.err
    assert (tmp_path / "z" / "ok.txt").read_bytes() == b"a plain member after the bombs\n"


def test_cli_ls_inside_a_tar_bomb_and_the_ratio_override(  # type: ignore[no-untyped-def]
        cli, monkeypatch: pytest.MonkeyPatch) -> None:
    from doi2data.subset.actions import RATIO_ENV, inflate_limits

    run = cli("ls", BOMB_DOI, "--inside", "bomb.tar.bz2")
    assert run.code == 1 and "decompression bomb" in run.err and "Traceback" not in run.err
    run = cli("ls", BOMB_DOI, "--inside", "bomb.tar.bz2", env={RATIO_ENV: "lots"})
    assert run.code == 2 and RATIO_ENV in run.err
    monkeypatch.setenv(RATIO_ENV, "5000")
    assert inflate_limits().max_ratio == 5000


# -- tar ----------------------------------------------------------------------------------------
def test_tar_bz2_bomb_listing_stops_within_its_budget(manifest: Manifest, reader: RangeReader) -> None:
    entry = common.find_entry(manifest, "bomb.tar.bz2")
    result, peak = bounded(lambda: list_tar_members(entry, reader=reader))  # the CLI's defaults
    assert isinstance(result, LimitExceeded) and "decompression bomb" in str(result), result
    assert peak < PEAK


def test_tar_gz_uncompressed_limit_and_cpu_budget(manifest: Manifest, reader: RangeReader) -> None:
    entry = common.find_entry(manifest, "bomb.tar.gz")
    result, _ = bounded(lambda: list_tar_members(entry, reader=reader, limits=InflateLimits(max_output=100 << 20)))
    assert isinstance(result, LimitExceeded) and "limit of 104,857,600 bytes" in str(result), result
    result, _ = bounded(lambda: list_tar_members(entry, reader=reader, limits=InflateLimits(max_cpu=0.05)))
    assert isinstance(result, LimitExceeded) and "CPU" in str(result), result


def test_tar_extract_over_budget_keeps_nothing_half_written(tmp_path: Path, manifest: Manifest,
                                                             reader: RangeReader) -> None:
    entry = common.find_entry(manifest, "bomb.tar.bz2")
    report, _ = bounded(lambda: extract_tar_members(entry, tmp_path, reader=reader))
    assert not isinstance(report, Exception), report
    assert "decompression bomb" in report.failed["bomb.tar.bz2"] and not report.written
    assert not list(tmp_path.rglob("*"))


def test_tar_name_collisions_fail_or_rename_one_member_only(tmp_path: Path, manifest: Manifest,
                                                            reader: RangeReader) -> None:
    entry = common.find_entry(manifest, "clash.tar")
    report = extract_tar_members(entry, tmp_path / "a", reader=reader)
    assert [(w.part, w.local) for w in report.written] == [("f", "f"), ("f/g.txt", "f~2/g.txt"), ("ok.txt", "ok.txt")]
    assert (tmp_path / "a" / "f~2" / "g.txt").read_bytes() == b"g inside f\n" and not report.failed
    # On disk already: a folder where the member 'f' goes. That member fails; the others are written.
    (tmp_path / "b" / "f").mkdir(parents=True)
    report = extract_tar_members(entry, tmp_path / "b", reader=reader)
    assert list(report.failed) == ["f"] and "cannot write" in report.failed["f"]
    assert sorted(w.part for w in report.written) == ["f/g.txt", "ok.txt"]
    assert (tmp_path / "b" / "ok.txt").read_bytes() == b"fine\n"


def test_a_gnu_sparse_member_is_listed_not_expanded(tmp_path: Path, manifest: Manifest, reader: RangeReader) -> None:
    entry = common.find_entry(manifest, "sparse.tar")
    report, _ = bounded(lambda: extract_tar_members(entry, tmp_path, reader=reader))
    assert not isinstance(report, Exception), report
    assert [w.part for w in report.written] == ["after.txt"] and not report.failed
    assert any("sparse 'holes.bin'" in m for m in report.messages)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["after.txt"]  # not 1 GiB of zeros
    kinds = {m.name: m.kind for m in list_tar_members(entry, reader=reader)}
    assert kinds == {"holes.bin": "sparse", "after.txt": "file"}


# -- the gateway ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def gateway(internet: FakeInternet) -> Iterator[str]:
    pytest.importorskip("jinja2")
    from doi2data.service import GatewayConfig, create_app
    from doi2data.service.testing import GatewayServer

    config = GatewayConfig(cache_url="memory:", allow_hosts=tuple(internet.hosts), rate=0, access_log=None,
                           origin_rates=("zenodo.org=0",), max_archive_size=256 << 20, max_list_members=1000)
    with internet.activated():
        server = GatewayServer(create_app(config)).start()
    yield server.url
    server.stop()


def problem(r: httpx.Response) -> dict[str, Any]:
    assert r.headers["content-type"].startswith("application/problem+json"), r.text[:200]
    return json.loads(r.text)


def test_gateway_answers_bombs_with_4xx_problems(gateway: str, net: FakeInternet) -> None:
    with httpx.Client(base_url=gateway, trust_env=False, timeout=30) as http:
        path = f"/{BOMB_DOI}"
        start = time.monotonic()
        r = http.get(path, params={"file": "bombs.zip", "extract": "liar-bzip2.bin"})
        assert r.status_code == 422 and "inflates past its declared size" in problem(r)["detail"]
        r = http.get(path, params={"file": "bombs.zip", "extract": "huge-bzip2.bin"})
        assert r.status_code == 413 and "decompression bomb" in problem(r)["detail"]
        r = http.get(path, params={"file": "bomb.tar.bz2", "list": "members"})
        assert r.status_code == 413, r.text[:300]
        r = http.get(path, params={"file": "bomb.tar.gz", "list": "members"})  # 4 MB on the wire, 4 GiB inflated
        assert r.status_code == 413 and "268,435,456" in problem(r)["detail"]
        r = http.get(path, params={"file": "bomb.tar.gz", "extract": "after.txt"})
        assert r.status_code == 413
        assert time.monotonic() - start < 30
        r = http.get(path, params={"file": "sparse.tar", "extract": "holes.bin"})  # would stream 1 GiB of zeros
        assert r.status_code == 400 and "is a sparse" in problem(r)["detail"]
        r = http.get(path, params={"file": "bombs.zip", "extract": "ok.txt"})
        assert r.status_code == 200 and r.content == b"a plain member after the bombs\n"
        assert http.get("/healthz").status_code == 200


def test_gateway_listings_are_capped_in_members(gateway: str, net: FakeInternet) -> None:
    with httpx.Client(base_url=gateway, trust_env=False, timeout=30) as http:
        for name in ("many.zip", "many.tar.gz"):
            r = http.get(f"/{BOMB_DOI}", params={"file": name, "list": "members"})
            assert r.status_code == 413 and "more than 1,000 members" in problem(r)["detail"], name
        r = http.get(f"/{BOMB_DOI}", params={"file": "clash.tar", "list": "members"})
        assert r.status_code == 200 and [m["name"] for m in r.json()["members"]] == ["f", "f/g.txt", "ok.txt"]


def test_a_zip_directory_past_its_byte_limit_is_refused_before_it_is_fetched(manifest: Manifest,
                                                                             reader: RangeReader) -> None:
    entry = common.find_entry(manifest, "many.zip")
    with pytest.raises(LimitExceeded, match="central directory needs more than 100,000 bytes"):
        list_zip_members(entry, reader=reader, cache=False, max_directory=100_000)
    assert reader.bytes_received <= 64 * 1024  # the tail only
    assert len(list_zip_members(entry, reader=reader, cache=False).members) == 3000


def test_concatenated_streams_and_every_tar_compression_are_read() -> None:
    import bz2
    import gzip
    import lzma

    from doi2data.subset.inflate import inflate_stream, sniff

    def pieces(blob: bytes) -> Iterator[bytes]:
        return (blob[i:i + 1000] for i in range(0, len(blob), 1000))

    plain = b"".join(bytes([i % 251]) * 3000 for i in range(200))
    half = len(plain) // 2
    for blob in (gzip.compress(plain[:half]) + gzip.compress(plain[half:]),  # pigz
                 bz2.compress(plain[:half]) + bz2.compress(plain[half:]),  # pbzip2
                 lzma.compress(plain[:half]) + lzma.compress(plain[half:]),  # xz -T
                 lzma.compress(plain, format=lzma.FORMAT_ALONE), plain):
        assert b"".join(inflate_stream(pieces(blob), what="t")) == plain, sniff(blob)


def test_an_extended_tar_header_too_big_to_hold_is_refused() -> None:
    import io
    import tarfile

    from doi2data.subset.tarstream import MAX_HEADER, _BoundedInfo

    info = tarfile.TarInfo("././@PaxHeader")
    info.type, info.size = tarfile.XHDTYPE, 512 << 20  # tarfile would read all 512 MiB into memory
    blob = info.tobuf(format=tarfile.USTAR_FORMAT) + bytes(4096)
    with pytest.raises(LimitExceeded, match=f"at most {MAX_HEADER:,}"):
        with tarfile.open(fileobj=io.BytesIO(blob), mode="r|", tarinfo=_BoundedInfo) as archive:
            archive.next()
