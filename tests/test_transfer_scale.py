"""Planning a download and verifying a tree keep no object per file (issue 19, a million files).

A dataset already on disk used to leave a ``Job``, a ``pathlib.Path`` and a ``FileResult`` per
file alive (~2 KB each: 2 GB at 1,000,000 files), and ``verify`` a ``VerifyResult`` per file.
Here 10,000 present files are planned and verified; the results must be the compact columns
(no per-file result object alive, a bounded traced peak), still read as the same sequence of
frozen results, in the same order as before.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import os
import tracemalloc
from pathlib import Path

from doi2data.model import Dataset, FileEntry, Manifest
from doi2data.output import JsonLinesProgress
from doi2data.transfer.common import Job
from doi2data.transfer.engine import DownloadReport, Engine, FileResult
from doi2data.transfer.verify import VerifyResult, summary_line, verify_tree

N = 10_000
EMPTY_MD5 = hashlib.md5(b"").hexdigest()
#: traced peak allowed: a fixed part (event loop, threads, SQLite statements: ~5 MB measured) plus
#: 200 bytes per file (~65 measured: the planner's set of names, the result columns); the objects
#: kept per file before took ~1,700 bytes
PEAK_BOUND = 8_000_000 + 200 * N


def key(i: int) -> str:
    return f"d{i // 1000:03d}/f{i:06d}.bin"


def present_tree(dest: Path, n: int) -> Manifest:
    for i in range(n):
        path = dest / key(i)
        if i % 1000 == 0:
            path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    files = [FileEntry(key(i), 0, {"md5": EMPTY_MD5}, (f"https://h.test/files/{key(i)}",)) for i in range(n)]
    return Manifest(Dataset("10.1/scale"), files)


def alive(kind: type) -> int:
    gc.collect()
    return sum(1 for obj in gc.get_objects() if type(obj) is kind)


def traced_peak(work):  # type: ignore[no-untyped-def]
    gc.collect()
    tracemalloc.start()
    try:
        out = work()
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_planning_present_files_keeps_no_object_per_file(tmp_path: Path) -> None:
    manifest = present_tree(tmp_path, N)
    jobs: list[int] = []
    real_init = Job.__init__

    def counting(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        jobs.append(1)
        real_init(self, *args, **kwargs)

    Job.__init__ = counting  # type: ignore[method-assign]
    try:
        report, peak = traced_peak(lambda: asyncio.run(Engine(None, tmp_path).run(manifest)))
    finally:
        Job.__init__ = real_init  # type: ignore[method-assign]
    assert not jobs  # nothing to fetch: no Job was ever made
    assert alive(FileResult) == 0  # the report holds columns, not a result per file
    assert peak < PEAK_BOUND, f"{peak / N:.0f} bytes per file at the peak"
    assert len(report.results) == N and report.count("present") == N and report.verified == N
    assert report.results[0] == FileResult(key(0), key(0), "present", checked=("md5",))
    assert report.results[-1].path == key(N - 1) and not report.failed and not report.unchecked
    # a second run trusts the state written by the first (one query per batch): still nothing to fetch
    again = asyncio.run(Engine(None, tmp_path).run(manifest))
    assert again.count("present") == N and again.verified == N


def test_verify_keeps_no_object_per_file(tmp_path: Path) -> None:
    manifest = present_tree(tmp_path, N)
    results, peak = traced_peak(lambda: verify_tree(manifest, tmp_path))
    assert alive(VerifyResult) == 0
    assert peak < PEAK_BOUND, f"{peak / N:.0f} bytes per file at the peak"
    assert summary_line(results) == f"{N} ok, 0 bad, 0 unchecked (no usable checksum), 0 skipped, of {N} file(s)"
    assert results[5] == VerifyResult(key(5), key(5), "ok", "md5") and list(results.where("missing")) == []


def test_results_keep_the_order_of_the_stages(tmp_path: Path) -> None:
    """Refused and skipped names first, then names that cannot be written here, then files present,
    each in manifest order - as before, whatever the order of the manifest."""
    outside = tmp_path.parent / (tmp_path.name + "-outside")
    outside.mkdir()
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "link").symlink_to(outside)
    (dest / "a.txt").write_bytes(b"")
    (dest / "x.txt").write_bytes(b"")
    (dest / "X~2.txt").write_bytes(b"")
    url = ("https://h.test/x",)
    files = [FileEntry("a.txt", 0, {"md5": EMPTY_MD5}, url), FileEntry("../evil", 0, {}, url),
             FileEntry("b.txt", 0, {}, ()), FileEntry("link/x", 0, {}, url),
             FileEntry("x.txt", 0, {"md5": EMPTY_MD5}, url),
             FileEntry("X.txt", 0, {"md5": EMPTY_MD5}, url)]
    report = asyncio.run(Engine(None, dest).run(Manifest(Dataset("10.1/o"), files)))
    rows = [(r.path, r.local, r.status) for r in report.results]
    assert rows[:3] == [("../evil", None, "failed"), ("b.txt", "b.txt", "skipped"), ("link/x", "link/x", "failed")]
    assert rows[3:] == [("a.txt", "a.txt", "present"), ("x.txt", "x.txt", "present"), ("X.txt", "X~2.txt", "present")]
    assert report.results[3] == FileResult("a.txt", "a.txt", "present", checked=("md5",)) and not report.unchecked
    assert report.failed["../evil"] == "unsafe file name refused" and "outside" in report.failed["link/x"]
    assert isinstance(report, DownloadReport) and report.results[3:5] == [report.results[3], report.results[4]]
    assert [m for m in report.messages if "'X.txt' -> 'X~2.txt'" in m] and report.verified == 3


def test_json_summary_is_unchanged_by_the_columns(tmp_path: Path) -> None:
    manifest = present_tree(tmp_path, 3)
    report = asyncio.run(Engine(None, tmp_path).run(manifest))
    listed = DownloadReport(report.dest, list(report.results), report.messages)  # the same rows as plain objects
    out: list[str] = []

    class Sink:
        def write(self, text: str) -> None:
            out.append(text.split('"time": ', 1)[0] + text.split(", ", 2)[-1])

        def flush(self) -> None: ...

    JsonLinesProgress(Sink()).summary(report)  # type: ignore[arg-type]
    JsonLinesProgress(Sink()).summary(listed)  # type: ignore[arg-type]
    assert out[0] == out[1] and repr(report) == repr(listed)
    assert report.results == listed.results and os.path.isdir(tmp_path / ".doi2data")


def test_small_files_are_hashed_to_their_end_even_when_they_grew(tmp_path: Path) -> None:
    from doi2data.transfer.verify import digests_of

    for size in (0, 1, 70_000, (1 << 20) - 1, 3 << 20):
        data = os.urandom(size)
        (tmp_path / "f").write_bytes(data)
        for stat_said in {size, max(0, size - 10), 0}:  # stat'ed before the file grew to ``size``
            assert digests_of(str(tmp_path / "f"), {"md5": "", "sha1": ""}, stat_said) == {
                "md5": hashlib.md5(data).hexdigest(), "sha1": hashlib.sha1(data).hexdigest()}


def test_recorded_digests_are_the_json_they_always_were() -> None:
    import json

    from doi2data.transfer.state import digests_json

    for digests in ({}, {"md5": EMPTY_MD5}, {"sha256": "ab", "md5": "cd", "adler32": "0a1b2c3d"},
                    {"md5": 'a"b'}, {"x\\y": "é"}, {"b": "1", "a": "2"}):
        assert digests_json(digests) == json.dumps(digests, sort_keys=True)


def test_result_columns_join_stages_and_keep_every_field() -> None:
    from doi2data.filelist import FileList
    from doi2data.transfer.results import FileResults

    files = FileList([FileEntry(f"f{i}", 1, {}, ("https://h.test/",)) for i in range(7)])
    first, later, other = FileResults(files), FileResults(files), FileResults(files)
    later = FileResults(files, like=first)  # shares the tables: joined a column at a time
    first.add(0, "f0", "present", checked=("md5",))
    first.add(1, "f1", "downloaded", 5)
    later.add(2, "f2", "present")
    later.add(3, "renamed", "downloaded", 7, retries=("HTTP 503",))
    later.add(4, None, "failed", reason="why")
    other.add(5, "f5", "downloaded", 9, checked=("sha256",))  # tables of its own: joined row by row
    first.extend_from(later)
    first.extend_from(other)
    assert list(first) == [
        FileResult("f0", "f0", "present", checked=("md5",)), FileResult("f1", "f1", "downloaded", 5),
        FileResult("f2", "f2", "present"), FileResult("f3", "renamed", "downloaded", 7, retries=("HTTP 503",)),
        FileResult("f4", None, "failed", reason="why"), FileResult("f5", "f5", "downloaded", 9, checked=("sha256",))]
    assert first.bytes_transferred() == 21 and first.failed() == {"f4": "why"} and first.verified() == 2
    assert first.unchecked() == {"f1": "not verified", "f2": "not verified", "f3": "not verified"}
    assert [r.path for r in first.where("failed", "present")] == ["f0", "f2", "f4"] and first[-1] == first[5]


def test_the_planners_name_table_is_a_set() -> None:
    import random

    from doi2data.paths import FoldedNames, plan_paths

    rng = random.Random(7)
    names, ref = FoldedNames(), set()
    for _ in range(30_000):  # through several doublings of the table
        name = str(rng.randrange(20_000))
        assert (name in names) == (name in ref)
        names.add(name)
        ref.add(name)
    assert len(names) == len(ref) and all(str(i) in names for i in ref) and 3 not in names  # type: ignore[operator]
    plans, _ = plan_paths([f"d/F{i % 3000}.txt" for i in range(5000)] + ["D/f1.TXT"])
    locals_ = [p.local for p in plans if p]
    assert len({x.casefold() for x in locals_}) == len(locals_) and locals_[-1] == "D/f1~3.TXT"


def test_a_file_that_cannot_be_looked_at_fails_alone_in_its_place(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    for name in ("a.txt", "b.txt", "c.txt"):
        (tmp_path / name).write_bytes(b"")
    real_lstat = os.lstat

    def lstat(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        if str(path).endswith("b.txt"):
            raise PermissionError(13, "Permission denied")
        return real_lstat(path, *args, **kwargs)

    monkeypatch.setattr(os, "lstat", lstat)
    files = [FileEntry(name, 0, {"md5": EMPTY_MD5}, ("https://h.test/x",)) for name in ("a.txt", "b.txt", "c.txt")]
    report = asyncio.run(Engine(None, tmp_path).run(Manifest(Dataset("10.1/p"), files)))
    assert [(r.path, r.status) for r in report.results] == [("a.txt", "present"), ("b.txt", "failed"),
                                                            ("c.txt", "present")]
    assert report.failed == {"b.txt": "cannot use b.txt: Permission denied"}


def test_bulk_recording_waits_for_a_writer_that_falls_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """verify over a million recorded files replaces rows slower than it hashes empty files: the
    queue must not hold them all (it held ~190 bytes a file: 465 MB at 1,000,000)."""
    from doi2data.transfer import state as state_mod

    monkeypatch.setattr(state_mod, "MAX_BACKLOG", 10)
    monkeypatch.setattr(state_mod, "LINGER", 0.05)  # a slow writer
    store = state_mod.StateStore(tmp_path)
    try:
        seen = []
        for batch in range(12):
            store.mark_verified_many([(f"f{batch}-{i}", 0, 1, {"md5": "0" * 32}) for i in range(8)])
            seen.append(store._pending_rows)
        assert max(seen) <= 10 + 8, seen  # the bound plus the batch just queued
        store.flush()
        assert store._db.execute("SELECT count(*) FROM verified").fetchone()[0] == 12 * 8  # all recorded
    finally:
        store.close()


def test_files_to_fetch_are_planned_without_an_entry_or_path_each(tmp_path: Path) -> None:
    """A fresh download's jobs read their entry from the manifest row when needed: planning a
    million files to fetch held a FileEntry, a Path and a list per file (~1.2 KB) before its first byte."""
    from doi2data.filelist import FileList
    from doi2data.transfer.state import StateStore

    manifest = present_tree(tmp_path / "source", N)  # the files are elsewhere: everything is to fetch
    manifest = Manifest(manifest.dataset, FileList(manifest.files))
    dest = tmp_path / "dest"
    dest.mkdir()
    store = StateStore(dest)
    paths_before = alive(type(dest))
    try:
        (results, pending), peak = traced_peak(
            lambda: Engine(None, dest)._plan(manifest, DownloadReport(dest, messages=[]), store))
    finally:
        store.close()
    assert len(pending) == N and len(results) == 0
    assert alive(FileEntry) < 100 and alive(type(dest)) - paths_before < 100  # no entry or Path held per job
    assert peak < PEAK_BOUND, f"{peak / N:.0f} bytes per file at the peak"
    job = pending[1234]
    assert job.entry == manifest.files[1234] and job.final == dest / key(1234) and job.local == key(1234)
    assert job.wrong == [] and job.bad_copies == 0


def test_results_stored_as_files_finish_come_out_in_manifest_order() -> None:
    """A download stores each result when its file finishes; the report lists them by manifest row,
    every field kept (bytes, local name, reason, retries, algorithms checked)."""
    from doi2data.transfer.results import FileResults

    paths = [f"p{i}" for i in range(6)]
    entries = [FileEntry(p, 1) for p in paths]
    wanted = [FileResult(paths[row], local, status, moved, reason, retries, checked) for row, local, status, moved,
              reason, retries, checked in [(0, "p0", "downloaded", 5, None, (), ("md5",)),
                                           (1, "renamed~2", "failed", 0, "HTTP 404", ("timeout",), ()),
                                           (2, "p2", "downloaded", 0, "not verified: no checksum given", (), ()),
                                           (3, None, "failed", 7, "unsafe", (), ()),
                                           (4, "p4", "downloaded", 9, None, ("reset", "reset"), ("sha256",)),
                                           (5, "p5", "downloaded", 0, None, (), ("md5",))]]
    finished = FileResults(entries)
    for row in (4, 1, 5, 0, 3, 2):  # the order files finished in
        finished.add_result(row, wanted[row])
    assert list(finished.sorted_by_row()) == wanted
    assert finished.sorted_by_row().bytes_transferred() == 21


def test_lanes_take_every_item_in_order_a_few_at_a_time() -> None:
    from doi2data.transfer.engine import in_lanes

    started: list[int] = []
    busy, most = [0], [0]

    async def work(item: int) -> None:
        started.append(item)
        busy[0] += 1
        most[0] = max(most[0], busy[0])
        await asyncio.sleep(0.001 * (item % 3))
        busy[0] -= 1

    asyncio.run(in_lanes(list(range(50)), work, 4))
    assert started == list(range(50)) and most[0] == 4
    asyncio.run(in_lanes([], work, 4))  # nothing to do: no lane
