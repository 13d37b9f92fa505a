"""Integrity in transit: a known size is enforced while streaming, and a flaky path loses nothing.

* A body that runs past the file's size (single stream, byte-range piece, small file held in
  memory) stops at its first extra byte, is never written past the size, and counts as a wrong
  copy; a ``Content-Length`` over the size is refused before any byte is read.
* A wrong copy unlike any before is taken for corruption in transit and retried within
  ``--attempts``; the same wrong copy twice means the repository's checksum (or listed size) is
  what is wrong: the file stops there, and the reason names both digests.

Engine rules run against an in-process MockTransport; the flaky-path figures (301 files under
10 % random corruption) run through the real proxy and TLS of a private sandbox.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

import doi2data
from doi2data.model import Dataset, FileEntry, Manifest
from doi2data.sandbox import FakeInternet, FileSpec, Quirk, Record, World
from doi2data.sandbox.sites import zenodo as zenodo_site
from doi2data.transfer.engine import DownloadReport, Engine, TransferOptions
from doi2data.transfer.limits import Window

DATA = bytes(range(256)) * 1200  # 307,200 bytes: over RESUME_FROM, under SMALL_FILE (batched)
BIG = bytes(range(256)) * 5000  # 1,280,000 bytes: over SMALL_FILE (a single stream)
MD5 = hashlib.md5(DATA).hexdigest()
ETAG = '"v1"'
CHUNK = 4096


class Body(httpx.SyncByteStream):
    """``data`` in 4 KiB chunks, then ``extra`` chunks of junk; counts the chunks pulled."""

    def __init__(self, data: bytes, extra: int = 0) -> None:
        self.data, self.extra, self.pulled = data, extra, 0

    def __iter__(self) -> Iterator[bytes]:
        for i in range(0, len(self.data), CHUNK):
            self.pulled += 1
            yield self.data[i:i + CHUNK]
        for _ in range(self.extra):
            self.pulled += 1
            yield b"\xee" * CHUNK


class Server:
    """Serves DATA at /f (ranges, ETag); ``mangle(n, request)`` may answer the n-th GET instead."""

    def __init__(self, mangle: Callable[[int, httpx.Request], httpx.Response | None] | None = None,
                 data: bytes = DATA) -> None:
        self.requests: list[httpx.Request] = []
        self.mangle = mangle
        self.data = data

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.mangle is not None:
            answer = self.mangle(len(self.requests), request)
            if answer is not None:
                return answer
        start, end, status = self.span(request, len(self.data))
        headers = {"ETag": ETAG, "Accept-Ranges": "bytes"}
        if status == 206:
            headers["Content-Range"] = f"bytes {start}-{end}/{len(self.data)}"
        return httpx.Response(status, content=self.data[start:end + 1], headers=headers)

    @staticmethod
    def span(request: httpx.Request, size: int = len(DATA)) -> tuple[int, int, int]:
        rng = request.headers.get("range")
        if not rng:
            return 0, size - 1, 200
        first, _, last = rng[6:].partition("-")
        return int(first), int(last) if last else size - 1, 206


def manifest(md5: str = MD5, data: bytes = DATA) -> Manifest:
    return Manifest(Dataset("10.1/x"), (FileEntry("dir/f.bin", len(data), {"md5": md5}, ("https://h.test/f",)),))


def run(server: Server, dest: Path, m: Manifest | None = None, **options: object) -> DownloadReport:
    opts = TransferOptions(**{"max_wait": 1, **options})  # type: ignore[arg-type]

    async def go() -> DownloadReport:
        with httpx.Client(transport=httpx.MockTransport(server)) as client:
            return await Engine(client, dest, options=opts).run(m or manifest())

    return asyncio.run(go())


@pytest.fixture
def writes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Every ``os.pwrite`` as (offset, length): nothing may land past the file's size."""
    seen: list[tuple[int, int]] = []
    real = os.pwrite

    def spy(fd: int, data: bytes, offset: int) -> int:
        seen.append((offset, len(data)))
        return real(fd, data, offset)

    monkeypatch.setattr(os, "pwrite", spy)
    return seen


# 9. a known size is enforced while streaming --------------------------------------------------

@pytest.mark.parametrize("data", [BIG, DATA], ids=["single-stream", "small-file-in-memory"])
def test_a_body_running_past_the_size_is_cut_at_its_first_extra_byte(
        tmp_path: Path, writes: list[tuple[int, int]], data: bytes) -> None:
    """No Content-Length, the file then a flood: the reader stops at the chunk holding the first
    extra byte (not after megabytes), nothing is written past the size, the attempt counts as a
    wrong copy and the next one gets the file."""
    flood = Body(data, extra=100_000)  # 400 MB of junk behind the file, if anyone read it
    server = Server(lambda n, request: httpx.Response(200, stream=flood, headers={"ETag": ETAG}) if n == 1 else None,
                    data)
    report = run(server, tmp_path, manifest(hashlib.md5(data).hexdigest(), data), segments=1)
    assert report.count("downloaded") == 1 and (tmp_path / "dir/f.bin").read_bytes() == data
    assert flood.pulled == -(-len(data) // CHUNK) + 1  # the file's chunks and the one with the first extra byte
    assert "more bytes" in report.results[0].retries[0]
    assert all(offset + length <= len(data) for offset, length in writes)
    assert len(server.requests) == 2


def test_a_content_length_over_the_size_is_refused_before_reading(tmp_path: Path) -> None:
    bodies: list[Body] = []

    def longer(n: int, request: httpx.Request) -> httpx.Response | None:
        if n > 1:
            return None
        bodies.append(Body(BIG, extra=10))
        return httpx.Response(200, stream=bodies[-1], headers={"Content-Length": str(len(BIG) + 10 * CHUNK)})

    report = run(Server(longer, BIG), tmp_path, manifest(hashlib.md5(BIG).hexdigest(), BIG), segments=1)
    assert report.count("downloaded") == 1 and bodies[0].pulled == 0
    assert "announced" in report.results[0].retries[0]


def test_a_listed_size_the_server_never_sends_stops_after_two_announcements(tmp_path: Path) -> None:
    """The same too-long ``Content-Length`` twice: the listing is wrong, not the wire."""
    server = Server(lambda n, request: httpx.Response(200, content=DATA + b"tail"))
    report = run(server, tmp_path, segments=1, max_attempts=5)
    reason = report.failed["dir/f.bin"]
    assert len(server.requests) == 2 and "listed size looks wrong" in reason and str(len(DATA) + 4) in reason
    assert not (tmp_path / "dir/f.bin").exists()


def test_a_piece_running_past_its_range_never_writes_into_the_next(tmp_path: Path, writes: list[tuple[int, int]]
                                                                  ) -> None:
    """Byte-range pieces: piece 3 answers its range, then keeps going (chunked). It stops at the
    first extra byte - the bytes of piece 4 are not overwritten - and the file restarts."""
    floods: list[Body] = []
    pieces: list[tuple[int, int]] = []

    def overrun(n: int, request: httpx.Request) -> httpx.Response | None:
        start, end, status = Server.span(request)
        if status == 206:
            pieces.append((start, end))
        if status != 206 or start != 3 * 30720 or floods:
            return None
        floods.append(Body(DATA[start:end + 1], extra=100_000))
        return httpx.Response(206, stream=floods[-1], headers={
            "ETag": ETAG, "Content-Range": f"bytes {start}-{end}/{len(DATA)}"})

    server = Server(overrun)
    report = run(server, tmp_path, segments=4, min_segment=30_000)
    assert report.count("downloaded") == 1 and (tmp_path / "dir/f.bin").read_bytes() == DATA
    assert floods and floods[0].pulled == -(-30720 // CHUNK) + 1
    assert any("more bytes" in r for r in report.results[0].retries)
    # every write stays inside the piece that asked for it (or is the retry's one whole stream)
    spans = sorted(set(pieces)) + [(0, len(DATA) - 1)]
    for offset, length in writes:
        assert any(s == offset and offset + length <= e + 1 for s, e in spans), (offset, length)


# 10. flaky paths lose nothing ---------------------------------------------------------------

def flipped(at: int) -> bytes:
    data = bytearray(DATA)
    data[at] ^= 0xFF
    return bytes(data)


def test_corruption_in_transit_is_retried_within_attempts(tmp_path: Path) -> None:
    """Three wrong copies in a row, each wrong differently: a fourth attempt, and the file arrives
    (before: the second wrong copy ended the file whatever ``--attempts`` said)."""
    server = Server(lambda n, request: httpx.Response(200, content=flipped(n * 1000)) if n <= 3 else None)
    report = run(server, tmp_path, segments=1, max_attempts=5)
    assert report.count("downloaded") == 1 and (tmp_path / "dir/f.bin").read_bytes() == DATA
    assert len(report.results[0].retries) == 3 and all("md5" in r for r in report.results[0].retries)


def test_corruption_in_transit_still_ends_at_the_attempts_limit(tmp_path: Path) -> None:
    server = Server(lambda n, request: httpx.Response(200, content=flipped(n * 1000)))
    report = run(server, tmp_path, segments=1, max_attempts=3)
    assert len(server.requests) == 3 and "after 3 attempts" in report.failed["dir/f.bin"]
    assert not (tmp_path / "dir/f.bin").exists()


@pytest.mark.parametrize("segments", [1, 4])
def test_a_wrong_listed_checksum_stops_after_two_copies_naming_both_digests(tmp_path: Path, segments: int) -> None:
    wrong = "0" * 32
    server = Server()
    report = run(server, tmp_path, manifest(wrong), segments=segments, min_segment=30_000, max_attempts=5)
    reason = report.failed["dir/f.bin"]
    assert "repository's checksum looks wrong" in reason and wrong in reason and MD5 in reason
    pieces = 1 if segments == 1 else 10  # the second copy comes in one stream (see below)
    assert len(server.requests) == pieces + 1  # two downloads, not five
    assert not (tmp_path / "dir/f.bin").exists()


# through the sandbox ------------------------------------------------------------------------

class WrongDigest:
    """A file whose listing carries a wrong md5 (a ``ByteSource`` may supply its digests)."""

    size = 50_000
    LISTED = "1" * 32

    def read(self, start: int, end: int) -> bytes:
        return bytes((i * 31) % 251 for i in range(start, end))

    def digest(self, algorithm: str) -> str | None:
        return self.LISTED if algorithm == "md5" else None


FLAKY = "6100001"
FILES = 301


@pytest.fixture(scope="module")
def flaky_net() -> Iterator[FakeInternet]:
    """A private sandbox: 301 files of 1 KiB to 600 KiB (batched and single streams), plus one
    whose listed md5 is wrong."""
    files = tuple(FileSpec(f"run/f{i:03d}.bin", 1024 + (i * 7919) % (600 << 10)) for i in range(FILES))
    world = World(records=[
        Record(FLAKY, "6100000", "Flaky path", files=files),
        Record("6100002", "6100003", "Wrong checksum", files=(FileSpec("wrong.bin", source=WrongDigest()),)),
    ])
    with pytest.MonkeyPatch.context() as mp, FakeInternet(world=world) as net, net.activated():
        mp.setattr(zenodo_site.RateLimitHeaders, "LIMIT", 10**9)  # Zenodo's 133/min quota is not the subject here
        yield net


UNLIMITED = TransferOptions(rates={"zenodo.org": (Window(10**9, 1.0),)}, max_wait=5, timeout=5)


def test_301_files_under_ten_percent_corruption_all_arrive_verified(flaky_net: FakeInternet, tmp_path: Path) -> None:
    flaky_net.clear_log()
    flaky_net.add_quirk(Quirk(host="zenodo.org", path="*/content", kind="corrupt", offset=-1, probability=0.1,
                              seed=16))
    try:
        report = doi2data.download(f"10.5281/zenodo.{FLAKY}", tmp_path, options=UNLIMITED, raise_on_failure=False)
    finally:
        flaky_net.clear_quirks()
    assert not report.failed and report.count("downloaded") == FILES
    retried = [r for r in report.results if r.retries]
    assert retried and all("md5" in why for r in retried for why in r.retries)  # corruption was met, and overcome
    for result in report.results:
        assert (tmp_path / result.local).read_bytes() == flaky_net.world.file_bytes(FLAKY, result.path)
    gets = [r for r in flaky_net.log if r.path.endswith("/content") and r.method == "GET"]
    assert FILES < len(gets) < FILES * 1.5


def test_wrong_listed_md5_through_the_sandbox(flaky_net: FakeInternet, tmp_path: Path) -> None:
    flaky_net.clear_log()
    report = doi2data.download("10.5281/zenodo.6100002", tmp_path, options=UNLIMITED, raise_on_failure=False)
    actual = hashlib.md5(WrongDigest().read(0, WrongDigest.size)).hexdigest()
    reason = report.failed["wrong.bin"]
    assert "repository's checksum looks wrong" in reason and WrongDigest.LISTED in reason and actual in reason
    assert len([r for r in flaky_net.log if r.path.endswith("/content") and r.method == "GET"]) == 2
    assert not (tmp_path / "wrong.bin").exists()


def test_a_chunked_body_running_past_the_size_is_cut_through_the_proxy(flaky_net: FakeInternet, tmp_path: Path
                                                                       ) -> None:
    """1 GiB of junk behind a file: the client stops reading at once (the server got to send a
    few socket buffers' worth, not the gigabyte), and the retry gets the file."""
    flaky_net.clear_log()
    key = "run/f001.bin"
    flaky_net.add_quirk(Quirk(host="zenodo.org", path="*f001.bin*", kind="extra", after_bytes=1 << 30, times=1))
    try:
        report = doi2data.download(f"10.5281/zenodo.{FLAKY}", tmp_path, include=key, options=UNLIMITED)
    finally:
        flaky_net.clear_quirks()
    assert report.count("downloaded") == 1
    assert (tmp_path / key).read_bytes() == flaky_net.world.file_bytes(FLAKY, key)
    assert any("more bytes" in r for r in report.results[0].retries)
    sent = sum(r.bytes_sent for r in flaky_net.log if "f001.bin" in r.path and r.method == "GET")
    assert sent < 64 << 20


def test_after_a_wrong_segmented_copy_the_file_comes_in_one_stream(tmp_path: Path) -> None:
    """A server whose range answers for one piece are always wrong (a bad cache node) while whole
    answers are right: the second copy comes as one stream and is right - the same wrong pieces
    twice are never taken for a wrong repository checksum."""
    def bad_piece(n: int, request: httpx.Request) -> httpx.Response | None:
        start, end, status = Server.span(request)
        if status != 206 or start != 2 * 30720:
            return None
        return httpx.Response(206, content=flipped(start + 5)[start:end + 1], headers={
            "ETag": ETAG, "Content-Range": f"bytes {start}-{end}/{len(DATA)}"})

    server = Server(bad_piece)
    report = run(server, tmp_path, segments=4, min_segment=30_000, max_attempts=5)
    assert report.count("downloaded") == 1 and (tmp_path / "dir/f.bin").read_bytes() == DATA
    assert len(report.results[0].retries) == 1 and "md5" in report.results[0].retries[0]
    assert "range" not in server.requests[-1].headers  # the second copy: one whole stream


def test_random_quirks_strike_at_their_rate_and_repeat_with_their_seed() -> None:
    from doi2data.sandbox.quirks import QuirkRegistry

    def draws(seed: int) -> list[bool]:
        registry = QuirkRegistry()
        registry.add(Quirk(kind="corrupt", offset=-1, probability=0.1, seed=seed))
        _, [entry] = registry.match("zenodo.org", "/x", "GET")
        return [registry.consume(entry) for _ in range(10_000)]

    first = draws(7)
    assert 850 < sum(first) < 1150 and draws(7) == first and draws(8) != first
    with pytest.raises(ValueError):
        Quirk(kind="corrupt", probability=1.5)
