"""Transfer engine logic against an in-process httpx MockTransport (no sockets).

End-to-end behaviour through the real proxy and TLS lives in test_e2e.py and test_faults.py;
here each rule of the engine is pinned on its own: verify-then-rename, resume with If-Range,
restart on 200, retry on 5xx, and the zero-byte re-run.
"""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import httpx
import pytest

from doi2data.model import Dataset, FileEntry, Manifest
from doi2data.transfer.engine import Engine, TransferOptions
from doi2data.transfer.state import PartialInfo, StateStore

DATA = bytes(range(256)) * 400  # 102,400 bytes
MD5 = hashlib.md5(DATA).hexdigest()
ETAG = '"v1"'


class Server:
    """Serves DATA at /f with ranges; records requests; optional misbehaviour."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.ignore_ranges = False
        self.fail_first: list[int] = []
        self.body = DATA
        self.extra_headers: dict[str, str] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.fail_first:
            return httpx.Response(self.fail_first.pop(0), headers={"Retry-After": "0"})
        headers = {"ETag": ETAG, "Accept-Ranges": "bytes"}
        rng = request.headers.get("range")
        if_range = request.headers.get("if-range")
        headers.update(self.extra_headers)
        if rng and not self.ignore_ranges and (if_range in (None, ETAG)):
            first, _, last = rng.split("=")[1].partition("-")
            start, end = int(first), int(last) if last else len(self.body) - 1
            return httpx.Response(206, content=self.body[start:end + 1], headers={
                **headers, "Content-Range": f"bytes {start}-{end}/{len(self.body)}"})
        return httpx.Response(200, content=self.body, headers=headers)


def manifest(md5: str = MD5, size: int = len(DATA)) -> Manifest:
    return Manifest(Dataset("10.1/x"), (FileEntry("dir/f.bin", size, {"md5": md5}, ("https://h.test/f",)),))


def run(server: Server, dest: Path, m: Manifest | None = None, **options):  # type: ignore[no-untyped-def]
    opts = TransferOptions(**{"max_wait": 1, **options})

    async def go():  # type: ignore[no-untyped-def]
        with httpx.Client(transport=httpx.MockTransport(server)) as client:
            return await Engine(client, dest, options=opts).run(m or manifest())

    return asyncio.run(go())


def test_download_verify_rename(tmp_path: Path) -> None:
    server = Server()
    report = run(server, tmp_path)
    assert report.count("downloaded") == 1 and (tmp_path / "dir/f.bin").read_bytes() == DATA
    assert list((tmp_path / ".doi2data/parts").iterdir()) == []


def test_rerun_sends_no_request(tmp_path: Path) -> None:
    server = Server()
    run(server, tmp_path)
    server.requests.clear()
    report = run(server, tmp_path)
    assert server.requests == [] and report.count("present") == 1 and report.bytes_transferred == 0


def test_existing_correct_file_is_adopted_without_download(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir/f.bin").write_bytes(DATA)
    server = Server()
    report = run(server, tmp_path)
    assert server.requests == [] and report.count("present") == 1


def _seed_partial(dest: Path, nbytes: int, etag: str = ETAG) -> None:
    store = StateStore(dest)
    store.part_path("dir/f.bin").write_bytes(DATA[:nbytes])
    store.set_partial("dir/f.bin", PartialInfo("https://h.test/f", etag, None, len(DATA)))
    store.close()


def test_resume_sends_range_and_if_range(tmp_path: Path) -> None:
    _seed_partial(tmp_path, 40_000)
    server = Server()
    report = run(server, tmp_path)
    assert server.requests[0].headers["range"] == "bytes=40000-"
    assert server.requests[0].headers["if-range"] == ETAG
    assert report.bytes_transferred == len(DATA) - 40_000
    assert (tmp_path / "dir/f.bin").read_bytes() == DATA


def test_server_ignoring_ranges_restarts_cleanly(tmp_path: Path) -> None:
    _seed_partial(tmp_path, 40_000)
    server = Server()
    server.ignore_ranges = True
    report = run(server, tmp_path)
    assert report.bytes_transferred == len(DATA) and (tmp_path / "dir/f.bin").read_bytes() == DATA


def test_changed_file_restarts_via_if_range(tmp_path: Path) -> None:
    _seed_partial(tmp_path, 40_000, etag='"old"')
    server = Server()
    run(server, tmp_path)
    assert (tmp_path / "dir/f.bin").read_bytes() == DATA


def test_retries_5xx(tmp_path: Path) -> None:
    server = Server()
    server.fail_first = [503, 429]
    report = run(server, tmp_path)
    assert report.count("downloaded") == 1 and len(server.requests) == 3


def test_mismatch_leaves_no_final_file(tmp_path: Path) -> None:
    server = Server()
    report = run(server, tmp_path, manifest(md5="0" * 32))
    assert report.failed and "md5" in report.failed["dir/f.bin"]
    assert not (tmp_path / "dir/f.bin").exists()
    assert len(server.requests) == 2  # one fresh retry, then reported


def test_size_mismatch_fails(tmp_path: Path) -> None:
    report = run(Server(), tmp_path, manifest(size=len(DATA) - 1))
    assert report.failed and not (tmp_path / "dir/f.bin").exists()


def test_404_fails_without_retry(tmp_path: Path) -> None:
    server = Server()
    server.fail_first = [404]
    report = run(server, tmp_path)
    assert "404" in report.failed["dir/f.bin"] and len(server.requests) == 1


@pytest.mark.parametrize("access", ["restricted", "embargoed", "offline"])
def test_non_open_files_are_skipped(tmp_path: Path, access: str) -> None:
    m = Manifest(Dataset("10.1/x"), (FileEntry("a", 1, {}, ("https://h.test/f",), access=access),))  # type: ignore[arg-type]
    report = run(Server(), tmp_path, m)
    assert report.count("skipped") == 1 and not report.failed


def test_segments_fetch_in_place(tmp_path: Path) -> None:
    server = Server()
    report = run(server, tmp_path, segments=4, min_segment=10_000)
    assert (tmp_path / "dir/f.bin").read_bytes() == DATA and report.bytes_transferred == len(DATA)
    ranges = sorted((r.headers["range"] for r in server.requests), key=lambda r: int(r[6:].split("-")[0]))
    # min(4 connections x 8 pieces, 102,400 // 10,000) = 10 pieces, each asked for once
    assert len(ranges) == 10 and ranges[0] == "bytes=0-10239" and ranges[-1] == "bytes=92160-102399"
    assert all("if-range" in r.headers for r in server.requests[1:])


def test_segments_resume_only_missing_bytes(tmp_path: Path) -> None:
    from doi2data.transfer.segments import split

    store = StateStore(tmp_path)
    part = store.part_path("dir/f.bin")
    plan = split(len(DATA), 4, 10_000)
    part.write_bytes(b"\0" * len(DATA))
    with open(part, "r+b") as fh:  # segment 0 complete, segment 2 half done
        fh.write(DATA[: plan[0].length])
        fh.seek(plan[2].start)
        fh.write(DATA[plan[2].start : plan[2].start + 1000])
    store.set_partial("dir/f.bin", PartialInfo("https://h.test/f", ETAG, None, len(DATA)))
    store.set_segments("dir/f.bin", [plan[0].__class__(s.idx, s.start, s.end, s.length if s.idx == 0 else (1000 if s.idx == 2 else 0)) for s in plan])
    store.close()
    server = Server()
    report = run(server, tmp_path, segments=4, min_segment=10_000)
    assert (tmp_path / "dir/f.bin").read_bytes() == DATA
    assert report.bytes_transferred == len(DATA) - plan[0].length - 1000
    assert f"bytes={plan[2].start + 1000}-{plan[2].end}" in [r.headers["range"] for r in server.requests]


def test_segments_fall_back_when_ranges_ignored(tmp_path: Path) -> None:
    server = Server()
    server.ignore_ranges = True
    report = run(server, tmp_path, segments=4, min_segment=10_000)
    assert (tmp_path / "dir/f.bin").read_bytes() == DATA and len(server.requests) == 1
    assert report.count("downloaded") == 1


def test_segment_resume_restarts_when_file_changed(tmp_path: Path) -> None:
    from doi2data.transfer.segments import split

    store = StateStore(tmp_path)
    plan = split(len(DATA), 4, 10_000)
    store.part_path("dir/f.bin").write_bytes(b"x" * len(DATA))
    store.set_partial("dir/f.bin", PartialInfo("https://h.test/f", '"old"', None, len(DATA)))
    store.set_segments("dir/f.bin", [plan[0].__class__(s.idx, s.start, s.end, 5) for s in plan])
    store.close()
    report = run(Server(), tmp_path, segments=4, min_segment=10_000)
    assert (tmp_path / "dir/f.bin").read_bytes() == DATA and report.count("downloaded") == 1


@pytest.mark.parametrize("header", ["Digest", "Repr-Digest"])
def test_header_digest_checked(tmp_path: Path, header: str) -> None:
    import base64

    wrong = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    server = Server()
    server.extra_headers = {header: f"sha-256=:{wrong}:" if header == "Repr-Digest" else f"SHA-256={wrong}"}
    report = run(server, tmp_path)
    assert "sha256" in report.failed["dir/f.bin"] and not (tmp_path / "dir/f.bin").exists()
    right = base64.b64encode(hashlib.sha256(DATA).digest()).decode()
    server.extra_headers = {header: f"sha-256=:{right}:" if header == "Repr-Digest" else f"SHA-256={right}"}
    assert run(server, tmp_path / "ok").count("downloaded") == 1


def test_mirror_used_when_first_url_is_gone(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "gone.test":
            return httpx.Response(404)
        return httpx.Response(200, content=DATA)

    m = Manifest(Dataset("10.1/x"), (FileEntry("f", len(DATA), {"md5": MD5}, ("https://gone.test/f", "https://ok.test/f")),))
    report = run(handler, tmp_path, m)  # type: ignore[arg-type]
    assert report.count("downloaded") == 1


def test_token_not_sent_across_redirect(tmp_path: Path) -> None:
    from doi2data.http import Credentials

    seen: list[tuple[str, dict[str, str]]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.host, dict(request.headers)))
        if request.url.host == "repo.test":
            return httpx.Response(302, headers={"Location": "https://storage.test/signed?sig=1"})
        return httpx.Response(200, content=DATA)

    m = Manifest(Dataset("10.1/x"), (FileEntry("f", len(DATA), {"md5": MD5}, ("https://repo.test/f",)),))
    creds = Credentials.parse(["repo.test=secret", "other.test=X-Dataverse-key:k"], env={})

    async def go():  # type: ignore[no-untyped-def]
        with httpx.Client(transport=httpx.MockTransport(handler)) as client:
            return await Engine(client, tmp_path, credentials=creds).run(m)

    assert asyncio.run(go()).count("downloaded") == 1
    assert seen[0][1]["authorization"] == "Bearer secret"
    assert "authorization" not in seen[1][1] and seen[1][0] == "storage.test"
    assert not any("x-dataverse-key" in h for _, h in seen)


def test_max_total_size(tmp_path: Path) -> None:
    from doi2data.errors import InsufficientSpace

    with pytest.raises(InsufficientSpace):
        run(Server(), tmp_path, max_total_size=10)


def test_token_bucket_paces_requests() -> None:
    import time

    from doi2data.transfer.limits import HostLimiter, Window

    async def go() -> float:
        limiter = HostLimiter(4, {"h": (Window(2, 1.0),)})
        start = time.monotonic()
        for _ in range(4):
            await limiter.token("h")
        return time.monotonic() - start

    elapsed = asyncio.run(go())
    assert 0.8 <= elapsed < 3.0  # 2 burst tokens, then 2 more at 2/s


def test_zenodo_default_limits() -> None:
    from doi2data.transfer.limits import DEFAULT_RATES

    assert {(w.requests, w.seconds) for w in DEFAULT_RATES["zenodo.org"]} == {(60, 60.0), (2000, 3600.0)}


def test_segments_with_one_connection_per_host_do_not_wait_on_themselves(tmp_path: Path) -> None:
    import concurrent.futures

    server = Server()
    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # a hang fails the test instead of the suite
        report = pool.submit(run, server, tmp_path, segments=4, min_segment=10_000, per_host=1).result(timeout=60)
    assert (tmp_path / "dir/f.bin").read_bytes() == DATA and report.count("downloaded") == 1
    assert len(server.requests) == 10  # each piece asked for once


class Recorder:
    """A progress sink that keeps every event (the engine calls it from worker threads too)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def start(self, files: int, total_bytes: int) -> None: ...
    def advance(self, path: str, nbytes: int) -> None: ...

    def file_started(self, path: str, size: int | None) -> None:
        self.events.append(("start", path))

    def file_done(self, result) -> None:  # type: ignore[no-untyped-def]
        self.events.append(("done", result.local))


def test_small_files_in_batches_retry_on_their_own_and_report_each_file_once(tmp_path: Path) -> None:
    """Small files travel in batches (one worker call per batch); a file whose first attempt
    fails inside a batch (503, then a corrupted body) goes on through the usual retries."""
    bodies = {f"/f{i}": bytes([i]) * (1000 + i) for i in range(40)}
    calls: dict[str, int] = {}

    def serve(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        calls[path] = calls.get(path, 0) + 1
        if path == "/f7" and calls[path] == 1:
            return httpx.Response(503, headers={"Retry-After": "0"})
        if path == "/f9" and calls[path] == 1:
            return httpx.Response(200, content=b"X" + bodies[path][1:], headers={"ETag": ETAG})
        return httpx.Response(200, content=bodies[path], headers={"ETag": ETAG})

    files = tuple(FileEntry(f"d/f{i}", len(b), {"md5": hashlib.md5(b).hexdigest()}, (f"https://h.test/f{i}",))
                  for i, b in enumerate(bodies.values()))
    recorder = Recorder()

    async def go():  # type: ignore[no-untyped-def]
        with httpx.Client(transport=httpx.MockTransport(serve)) as client:
            engine = Engine(client, tmp_path, options=TransferOptions(jobs=2, max_wait=1), progress=recorder)
            return await engine.run(Manifest(Dataset("10.1/x"), files))

    report = asyncio.run(go())
    assert report.count("downloaded") == 40 and [r.path for r in report.results] == [f.path for f in files]
    assert all((tmp_path / f"d/f{i}").read_bytes() == bodies[f"/f{i}"] for i in range(40))
    retried = {r.path: r.retries for r in report.results if r.retries}
    assert set(retried) == {"d/f7", "d/f9"} and "verification failed" in retried["d/f9"][0]
    for f in files:  # exactly one start, then one done, per file
        assert [e for e, p in recorder.events if p == f.path] == ["start", "done"]


def test_small_batches_group_by_host_and_leave_large_resuming_and_unsized_files_alone() -> None:
    from doi2data.transfer.engine import SMALL_FILE, small_batches
    from doi2data.transfer.common import Job

    def job(name: str, size: int | None, host: str = "a.test") -> Job:
        return Job(FileEntry(name, size, {}, (f"https://{host}/{name}",)), name, Path("/nonexistent") / name)

    jobs = [job(f"s{i}", 10) for i in range(64)] + [job("b0", 10, "b.test"), job("big", SMALL_FILE + 1),
                                                     job("nosize", None), job("resuming", 10)]
    groups, singles = small_batches(jobs, lanes=4, partial={"resuming"}, segmented_from=None)
    assert sorted(j.local for j in singles) == ["big", "nosize", "resuming"]
    sizes = [len(g) for g in groups]
    assert sum(sizes) == 65 and sizes[0] == 4 and sizes == sorted(sizes, reverse=True)  # 64 / (4 lanes * 4)
    assert sizes[-16:] == [1] * 16  # shrinking to single files at the end: no lane left with a long tail
    assert all(len({j.entry.urls[0].split("/")[2] for j in g}) == 1 for g in groups)
    groups, singles = small_batches([job("seg", 100)], lanes=4, partial=set(), segmented_from=50)
    assert groups == [] and [j.local for j in singles] == ["seg"]


@pytest.mark.parametrize("files", [1, 6])
def test_each_request_spends_exactly_one_rate_token(tmp_path: Path, files: int) -> None:
    """A run of N requests leaves capacity - N tokens in the host's bucket (single files and batches)."""
    from doi2data.transfer.limits import HostLimiter, Window

    limiter = HostLimiter(4, {"h.test": (Window(100, 3600.0),)})
    entries = tuple(FileEntry(f"f{i}", len(DATA), {"md5": MD5}, (f"https://h.test/f{i}",)) for i in range(files))

    async def go() -> None:
        with httpx.Client(transport=httpx.MockTransport(Server())) as client:
            await Engine(client, tmp_path, options=TransferOptions(jobs=1), limiter=limiter).run(
                Manifest(Dataset("10.1/x"), entries))

    asyncio.run(go())
    bucket = limiter._host("h.test").buckets[0]
    assert 100 - files - 0.5 < bucket.tokens <= 100 - files + 0.5


def test_api_calls_take_a_rate_token_per_round_trip() -> None:
    """``Http(pace=limiter.token)``: API requests, redirect hops included, are paced per host."""
    from doi2data.http import Http

    def serve(request: httpx.Request) -> httpx.Response:
        if request.url.host == "api.test":
            return httpx.Response(302, headers={"Location": "https://store.test/x"})
        return httpx.Response(200, json={"ok": True})

    paced: list[str] = []

    async def pace(host: str) -> None:
        paced.append(host)

    async def go() -> int:
        async with httpx.AsyncClient(transport=httpx.MockTransport(serve)) as client:
            response = await Http(client, pace=pace).request("GET", "https://api.test/record")
            return response.status_code

    assert asyncio.run(go()) == 200 and paced == ["api.test", "store.test"]


def test_hash_follower_hashes_the_complete_prefix_in_order(tmp_path: Path) -> None:
    """Pieces complete out of order; the follower only ever reads the complete prefix, and its
    digest is the file's."""
    from doi2data.transfer.follower import HashFollower
    from doi2data.transfer.state import Segment

    part = tmp_path / "f.part"
    part.write_bytes(DATA)
    pieces = [Segment(0, 0, 40_959), Segment(1, 40_960, 81_919, done=40_960), Segment(2, 81_920, len(DATA) - 1)]
    reads: list[tuple[int, int]] = []

    async def in_thread(fn, path, hasher, start, end):  # type: ignore[no-untyped-def]
        reads.append((start, end))
        await asyncio.to_thread(fn, path, hasher, start, end)

    async def go() -> dict[str, str]:
        follower = HashFollower(part, {"md5": MD5}, pieces, in_thread)
        task = asyncio.create_task(follower.run())
        await asyncio.sleep(0.05)
        assert reads == []  # piece 1 is done (resumed) but piece 0 is not: nothing to hash yet
        follower.complete(2)
        await asyncio.sleep(0.05)
        assert reads == []
        follower.complete(0)
        return await asyncio.wait_for(task, 5)

    assert asyncio.run(go()) == {"md5": MD5}
    assert reads == [(0, len(DATA))]  # 0, then the resumed 1 and the early 2, in one read


# small files: fetched and verified in memory by the lane, written and renamed by the committer --------
def many(n: int, size: int = 2000) -> tuple[Manifest, dict[str, bytes]]:
    bodies = {f"/s{i}": bytes([i % 251]) * size for i in range(n)}
    files = tuple(FileEntry(f"small/s{i}.bin", size, {"md5": hashlib.md5(b).hexdigest()}, (f"https://h.test{p}",))
                  for i, (p, b) in enumerate(bodies.items()))
    return Manifest(Dataset("10.1/many"), files), bodies


def test_small_files_are_synced_before_they_get_their_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from doi2data.transfer import disk, fetch

    m, bodies = many(40)
    events: list[tuple[str, object]] = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(disk.os, "fsync", lambda fd: (events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}"))),
                                                      real_fsync(fd))[1])
    monkeypatch.setattr(fetch.os, "replace", lambda a, b: (events.append(("replace", str(a))), real_replace(a, b))[1])

    async def go():  # type: ignore[no-untyped-def]
        def serve(request: httpx.Request) -> httpx.Response:
            return httpx.Response(200, content=bodies[request.url.path])
        with httpx.Client(transport=httpx.MockTransport(serve)) as client:
            return await Engine(client, tmp_path, options=TransferOptions(jobs=4)).run(m)

    report = asyncio.run(go())
    assert report.count("downloaded") == 40
    for i, body in enumerate(bodies.values()):
        assert (tmp_path / f"small/s{i}.bin").read_bytes() == body
    synced = set()
    for kind, path in events:  # every rename comes after the fsync of that very part file
        if kind == "fsync":
            synced.add(path)
        else:
            assert path in synced, f"{path} renamed before it was synced"
    assert sum(1 for kind, _ in events if kind == "replace") == 40


def test_a_small_file_that_cannot_be_written_fails_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from doi2data.transfer import smallfiles

    m, bodies = many(6)
    real = smallfiles.write_file

    def refuse(part: Path, body: bytes, *, sync: bool) -> None:
        if body == bodies["/s3"]:
            raise OSError(28, "No space left on device")
        real(part, body, sync=sync)

    monkeypatch.setattr(smallfiles, "write_file", refuse)

    async def go():  # type: ignore[no-untyped-def]
        with httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200, content=bodies[r.url.path]))) as c:
            return await Engine(c, tmp_path, options=TransferOptions(jobs=2, max_attempts=2, max_wait=1)).run(m)

    report = asyncio.run(go())
    assert report.count("downloaded") == 5
    assert list(report.failed) == ["small/s3.bin"] and "No space left" in report.failed["small/s3.bin"]
    assert not (tmp_path / "small/s3.bin").exists()


def test_a_wrong_small_file_never_reaches_its_name(tmp_path: Path) -> None:
    m, bodies = many(5)
    served: list[str] = []

    def serve(request: httpx.Request) -> httpx.Response:
        served.append(request.url.path)
        body = bodies[request.url.path]
        return httpx.Response(200, content=b"x" + body[1:] if request.url.path == "/s2" else body)

    async def go():  # type: ignore[no-untyped-def]
        with httpx.Client(transport=httpx.MockTransport(serve)) as client:
            return await Engine(client, tmp_path, options=TransferOptions(jobs=2, max_wait=1)).run(m)

    report = asyncio.run(go())
    assert list(report.failed) == ["small/s2.bin"] and "md5" in report.failed["small/s2.bin"]
    assert served.count("/s2") == 2  # one fresh attempt, then given up
    assert not (tmp_path / "small/s2.bin").exists()
    assert [p.name for p in (tmp_path / ".doi2data/parts").iterdir()] == []


def test_committed_small_files_are_bounded_in_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With a stuck disk, the lanes stop after COMMIT_QUEUE files instead of holding every body."""
    import threading

    from doi2data.transfer import smallfiles

    monkeypatch.setattr(smallfiles, "COMMIT_QUEUE", 3)
    m, bodies = many(30)
    gate, served = threading.Event(), []
    real = smallfiles.write_file

    def slow(part: Path, body: bytes, *, sync: bool) -> None:
        gate.wait(10)
        real(part, body, sync=sync)

    monkeypatch.setattr(smallfiles, "write_file", slow)

    def serve(request: httpx.Request) -> httpx.Response:
        served.append(request.url.path)
        return httpx.Response(200, content=bodies[request.url.path])

    seen_while_stuck: list[int] = []

    def unstick() -> None:
        seen_while_stuck.append(len(served))
        gate.set()

    async def go():  # type: ignore[no-untyped-def]
        with httpx.Client(transport=httpx.MockTransport(serve)) as client:
            return await Engine(client, tmp_path, options=TransferOptions(jobs=4)).run(m)

    threading.Timer(1.0, unstick).start()
    report = asyncio.run(go())
    assert report.count("downloaded") == 30
    # while the disk was stuck: 3 bodies handed over, then one more verified body per lane (4), no more
    assert seen_while_stuck == [3 + 4]
