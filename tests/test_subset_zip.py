"""Remote zip members (ranged reads, ZIP64, coalesced runs, CRC, safe names) and tar streaming."""

from __future__ import annotations

import io
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from doi2data.api import resolve
from doi2data.errors import TransferError, UsageError
from doi2data.model import Manifest
from doi2data.sandbox import FakeInternet, Quirk
from doi2data.sandbox.subsets_data import BIG_MEMBER, BIG_MEMBER_SIZE, ZIP_DOI, ZIP_RECID, frames_zip, tarballs
from doi2data.subset import common
from doi2data.subset.ranges import UNLIMITED, HostGates, RangeReader
from doi2data.subset.tarstream import (TarMember, extract_tar_members, list_tar_members, member_kind,
                                       tar_members)
from doi2data.transfer.limits import GENERIC_RATE, Window
from doi2data.subset.zipremote import extract_zip_members, iter_zip_member, list_zip_members

ZIP_PATH = f"/api/records/{ZIP_RECID}/files/*"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[FakeInternet]:
    with FakeInternet() as net:  # a private one: these tests make many requests
        yield net


@pytest.fixture
def net(sandbox: FakeInternet) -> Iterator[FakeInternet]:
    sandbox.clear_quirks()
    sandbox.clear_log()
    with sandbox.activated():
        yield sandbox
    sandbox.clear_quirks()


@pytest.fixture(scope="module")
def manifest(sandbox: FakeInternet) -> Manifest:
    with sandbox.activated():
        return resolve(ZIP_DOI)


@pytest.fixture
def reader(net: FakeInternet) -> Iterator[RangeReader]:
    with RangeReader(rates={"zenodo.org": UNLIMITED}) as rd:
        yield rd


def local_zip() -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(frames_zip().read(0, frames_zip().size)))


def content_requests(net: FakeInternet) -> list[tuple[str | None, int]]:
    return [(r.headers.get("range"), r.bytes_sent) for r in net.log if r.path.endswith("/content")]


def test_listing_costs_one_tail_read(net: FakeInternet, manifest: Manifest, reader: RangeReader) -> None:
    entry = common.find_entry(manifest, "frames.zip")
    net.clear_log()
    listing = list_zip_members(entry, reader=reader, cache=False)
    truth = {i.filename: i for i in local_zip().infolist()}
    assert len(listing.members) == 404 and not listing.zip64
    for m in listing.members:
        assert (m.size, m.compressed_size, m.crc, m.offset) == (truth[m.name].file_size, truth[m.name].compress_size,
                                                                truth[m.name].CRC, truth[m.name].header_offset)
    assert listing.requests == 1 and content_requests(net) == [(f"bytes={entry.size - 65536}-{entry.size - 1}", 65536)]
    assert listing.to_json()["members"][2]["crc32"] == f"{truth['images/frame_00001.cbf'].CRC:08x}"


def test_extract_coalesces_adjacent_members_and_checks_crcs(tmp_path: Path, net: FakeInternet, manifest: Manifest,
                                                           reader: RangeReader) -> None:
    entry = common.find_entry(manifest, "frames.zip")
    listing = list_zip_members(entry, reader=reader)
    net.clear_log()
    report = extract_zip_members(entry, tmp_path, ["images/frame_0001[0-9].cbf", "logs/*_0000[1-3].log", "README.txt"],
                                 listing=listing, reader=reader)
    truth = local_zip()
    assert sorted(w.part for w in report.written) == sorted(
        ["README.txt", *[f"images/frame_{i:05d}.cbf" for i in range(10, 20)],
         *[f"logs/frame_{i:05d}.log" for i in (1, 2, 3)]])
    for w in report.written:
        assert (tmp_path / w.local).read_bytes() == truth.read(w.part)
    assert report.requests == 3  # README; frames 10-19 (one run); logs 1-3 (one run)
    spans = sum(m.end - m.offset for m in listing.members if m.name in {w.part for w in report.written})
    assert report.bytes_received == spans == sum(n for _, n in content_requests(net))
    assert not list(tmp_path.rglob("*.part"))


def test_hostile_member_names_are_refused_and_missing_literals_fail(tmp_path: Path, manifest: Manifest,
                                                                     reader: RangeReader) -> None:
    entry = common.find_entry(manifest, "frames.zip")
    report = extract_zip_members(entry, tmp_path, ["../escape.txt", "metadata/*"], reader=reader, into="unzipped")
    assert [w.local for w in report.written] == ["unzipped/metadata/experiment.json"]
    assert any("'..'" in m for m in report.messages) and not (tmp_path.parent / "escape.txt").exists()
    with pytest.raises(UsageError, match="no member"):
        extract_zip_members(entry, tmp_path, ["images/nope.cbf"], reader=reader)


def test_corrupt_bytes_fail_the_crc_and_leave_no_file(tmp_path: Path, net: FakeInternet, manifest: Manifest,
                                                      reader: RangeReader) -> None:
    entry = common.find_entry(manifest, "frames.zip")
    listing = list_zip_members(entry, reader=reader)
    member = next(m for m in listing.members if m.name == "images/frame_00042.cbf")
    net.add_quirk(Quirk(host="zenodo.org", path=ZIP_PATH, kind="corrupt", offset=member.end - 100))
    report = extract_zip_members(entry, tmp_path, member.name, listing=listing, reader=reader)
    assert "CRC-32" in report.failed[member.name] and not report.written
    assert not (tmp_path / member.name).exists()
    with pytest.raises(Exception, match="CRC-32"):
        b"".join(iter_zip_member(entry, member.name, listing=listing, reader=reader))


def test_zip64_listing_and_members_beyond_4_gib(tmp_path: Path, net: FakeInternet, manifest: Manifest,
                                               reader: RangeReader) -> None:
    entry = common.find_entry(manifest, "stream64.zip")
    net.clear_log()
    listing = list_zip_members(entry, reader=reader, cache=False)
    big = next(m for m in listing.members if m.name == BIG_MEMBER)
    assert listing.zip64 and big.size == BIG_MEMBER_SIZE and listing.requests == 1
    report = extract_zip_members(entry, tmp_path, "after/", listing=listing, reader=reader)
    assert sorted(w.part for w in report.written) == ["after/frame_00001.cbf", "after/notes.txt"]
    assert (tmp_path / "after/notes.txt").read_text().startswith("This member starts beyond 4 GiB.")
    assert report.requests == 1 and report.bytes_received < 20_000
    first = next(iter_zip_member(entry, BIG_MEMBER, listing=listing, reader=reader))  # streams, never all 4 GiB
    assert len(first) > 0


def test_a_server_ignoring_ranges_is_refused_not_misread(net: FakeInternet, manifest: Manifest,
                                                          reader: RangeReader) -> None:
    net.add_quirk(Quirk(host="zenodo.org", path=ZIP_PATH, kind="no-range"))
    with pytest.raises(TransferError, match="Range"):
        list_zip_members(common.find_entry(manifest, "frames.zip"), reader=reader, cache=False)


def test_a_file_changing_between_reads_is_detected(net: FakeInternet, manifest: Manifest, reader: RangeReader) -> None:
    entry = common.find_entry(manifest, "frames.zip")
    listing = list_zip_members(entry, reader=reader, cache=False)
    net.add_quirk(Quirk(host="zenodo.org", path=ZIP_PATH, kind="change"))
    with pytest.raises(TransferError, match="changed"):
        b"".join(iter_zip_member(entry, "README.txt", listing=listing, reader=reader))


def test_tar_and_tar_gz_by_streaming(tmp_path: Path, net: FakeInternet, manifest: Manifest,
                                     reader: RangeReader) -> None:
    plain, packed = tarballs()
    truth = tarfile.open(fileobj=io.BytesIO(plain))
    names = [m.name for m in list_tar_members(common.find_entry(manifest, "frames.tar.gz"), reader=reader)]
    assert names == truth.getnames()
    entry = common.find_entry(manifest, "frames.tar")
    report = extract_tar_members(entry, tmp_path, ["frames/frame_00002.cbf", "frames/frame_00003.cbf"], reader=reader)
    assert [w.part for w in report.written] == ["frames/frame_00002.cbf", "frames/frame_00003.cbf"]
    assert (tmp_path / "frames/frame_00003.cbf").read_bytes() == truth.extractfile("frames/frame_00003.cbf").read()
    assert report.requests == 1 and report.bytes_received < len(plain) / 2  # stopped after the last literal
    report = extract_tar_members(common.find_entry(manifest, "frames.tar.gz"), tmp_path / "gz", "*.txt",
                                 reader=reader)
    assert [w.part for w in report.written] == ["frames/NOTES.txt"] and report.bytes_received == len(packed)


def test_tar_members_is_one_stream_that_stops_when_closed(net: FakeInternet, manifest: Manifest,
                                                          reader: RangeReader) -> None:
    """The public generator the gateway uses: headers as they pass, member bytes in between."""
    plain, _ = tarballs()
    truth = tarfile.open(fileobj=io.BytesIO(plain))
    entry = common.find_entry(manifest, "frames.tar")
    steps = tar_members(entry, reader)
    seen: list[TarMember] = []
    for info, archive in steps:
        seen.append(TarMember.of(info))
        if info.name == "frames/frame_00002.cbf":
            assert member_kind(info) == "file"
            assert archive.extractfile(info).read() == truth.extractfile(info.name).read()  # type: ignore[union-attr]
            break
    steps.close()
    assert [m.name for m in seen] == truth.getnames()[:len(seen)] and seen[-1].size == truth.getmember(
        "frames/frame_00002.cbf").size
    assert reader.requests == 1 and reader.bytes_received < len(plain) / 2
    listed = list_tar_members(entry, reader=reader)
    assert listed[:len(seen)] == seen
    assert [m.kind for m in listed] == [member_kind(m) for m in truth.getmembers()]


def test_readers_can_share_host_gates() -> None:
    """``RangeReader(gates=...)``: one politeness budget for several readers (the gateway's case)."""
    shared = HostGates({"slow.example": (Window(2, 60.0),)})
    with RangeReader(gates=shared) as one, RangeReader(gates=shared) as two, \
            RangeReader(rates={"slow.example": (Window(2, 60.0),)}) as alone:
        assert one.gates is two.gates is shared and one.rates is shared.rates
        assert one._gate("slow.example") is two._gate("slow.example") is shared.gate("slow.example")
        for _ in range(2):
            one._gate("slow.example").take()
        assert max(b.wait_time() for b in two._gate("slow.example").buckets) > 0  # two waits for one's use
        assert max(b.wait_time() for b in alone._gate("slow.example").buckets) == 0  # its own buckets
        assert [(b.capacity, b.rate) for b in shared.gate("other.example").buckets] == [
            (w.requests, w.requests / w.seconds) for w in GENERIC_RATE]  # hosts without a rate of their own
    assert HostGates().rates == RangeReader().rates  # the same defaults (Zenodo's guest limits)
    with pytest.raises(TypeError):
        RangeReader(gates=shared, rates={})


def test_transient_errors_are_retried(net: FakeInternet, manifest: Manifest, reader: RangeReader) -> None:
    net.add_quirk(Quirk(host="zenodo.org", path=ZIP_PATH, kind="status", status=503, times=1))
    net.add_quirk(Quirk(host="zenodo.org", path=ZIP_PATH, kind="status", status=429, headers={"Retry-After": "0"},
                        times=1))
    listing = list_zip_members(common.find_entry(manifest, "frames.zip"), reader=reader, cache=False)
    assert len(listing.members) == 404 and listing.requests == 3


def test_cli_actions_for_ls_inside_and_get_extract(tmp_path: Path, net: FakeInternet, manifest: Manifest) -> None:
    from doi2data.subset.actions import get_subsets, ls_inside, report_text

    rates = {"zenodo.org": UNLIMITED}
    text = ls_inside(manifest, "frames.zip", include="logs/*_0000[12].log", rates=rates)
    assert "logs/frame_00001.log" in text and "2 member(s)" in text
    report = get_subsets(manifest, tmp_path, extract=["frames.zip:images/frame_0000[1-3].cbf",
                                                      "frames.tar.gz:frames/NOTES.txt"], rates=rates)
    frames = [f"images/frame_0000{i}.cbf" for i in (1, 2, 3)]
    assert sorted(w.local for w in report.written) == ["frames/NOTES.txt", *frames]
    assert "4 file(s) written" in report_text(report)
    with pytest.raises(UsageError):
        get_subsets(manifest, tmp_path, extract=["stream64.zip"], rates=rates)
