"""The fault suite: every failure the fake internet can stage, through the real stack.

Each case ends with every file verified under its final name, or reported failed with no file
under its final name - never a wrong file. The big record (64 MiB + 123 B) exercises segments.
"""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

import doi2data
from doi2data.sandbox import FakeInternet, Quirk
from doi2data.transfer.engine import TransferOptions

DOI = "10.5281/zenodo.1215979"
RECID = "1215979"
BIG_DOI = "10.5281/zenodo.7000100"
BIG_KEY = "bulk/large.bin"
FRAME = "images/frame_0003.cbf"  # 2 MiB


def check_tree(net: FakeInternet, dest: Path, recid: str, report: doi2data.DownloadReport) -> None:
    """Every file is either correct under its final name or failed and absent."""
    for result in report.results:
        final = dest / (result.local or "")
        if result.status in ("downloaded", "present"):
            assert final.read_bytes() == net.world.file_bytes(recid, result.path), result.path
        elif result.status == "failed":
            assert not final.exists(), result.path


def served_bytes(net: FakeInternet, fragment: str) -> int:
    return sum(r.bytes_sent for r in net.log if fragment in r.path and r.method == "GET")


def big_md5(net: FakeInternet) -> str:
    return net.world.checksum("7000100", BIG_KEY, "md5")


OPTS = TransferOptions(max_wait=5, segments=4, min_segment=4 << 20, timeout=2.0)


@pytest.mark.parametrize("kind", ["reset", "truncate"])
def test_broken_body_resumes_single_stream(net: FakeInternet, tmp_path: Path, kind: str) -> None:
    size = len(net.world.file_bytes(RECID, FRAME))
    net.add_quirk(Quirk(host="zenodo.org", path=f"*{FRAME.split('/')[-1]}*", kind=kind, after_bytes=size // 3, times=2))
    report = doi2data.download(DOI, tmp_path, include=FRAME, options=OPTS)
    check_tree(net, tmp_path, RECID, report)
    assert report.count("downloaded") == 1 and report.results[0].retries
    # resumed, not restarted: each retry asks for the rest, from further on
    offsets = [int(r.headers["range"][6:].split("-")[0]) for r in net.log
               if "frame_0003" in r.path and r.method == "GET" and "range" in r.headers]
    assert len(offsets) == 2 and 0 < offsets[0] < offsets[1] < size
    assert served_bytes(net, "frame_0003") < size + 2 * (size // 3)  # a restart would cost this much


@pytest.mark.parametrize("kind", ["reset", "truncate"])
def test_broken_segment_resumes(net: FakeInternet, tmp_path: Path, kind: str) -> None:
    net.add_quirk(Quirk(host="zenodo.org", path="*large.bin*", kind=kind, after_bytes=3 << 20, times=2))
    report = doi2data.download(BIG_DOI, tmp_path, options=OPTS)
    assert report.count("downloaded") == 1
    assert hashlib.md5((tmp_path / BIG_KEY).read_bytes()).hexdigest() == big_md5(net)
    size = (tmp_path / BIG_KEY).stat().st_size
    assert served_bytes(net, "large.bin") <= size + 2 * (1 << 20)  # at most the unrecorded tail re-sent


def test_flipped_byte_in_a_segment_is_caught(net: FakeInternet, tmp_path: Path) -> None:
    net.add_quirk(Quirk(host="zenodo.org", path="*large.bin*", kind="corrupt", offset=20_000_000, times=1))
    report = doi2data.download(BIG_DOI, tmp_path, options=OPTS)
    assert report.count("downloaded") == 1 and any("md5" in r for r in report.results[0].retries)
    assert hashlib.md5((tmp_path / BIG_KEY).read_bytes()).hexdigest() == big_md5(net)


def test_flipped_byte_every_time_fails_cleanly(net: FakeInternet, tmp_path: Path) -> None:
    net.add_quirk(Quirk(host="zenodo.org", path="*frame_0003*", kind="corrupt", offset=5))
    report = doi2data.download(DOI, tmp_path, include=["*.cbf"], options=OPTS, raise_on_failure=False)
    assert list(report.failed) == [FRAME] and "md5" in report.failed[FRAME]
    check_tree(net, tmp_path, RECID, report)
    assert report.count("downloaded") == 2  # the other frames went on


def test_429_with_retry_after_is_honoured(net: FakeInternet, tmp_path: Path) -> None:
    net.add_quirk(Quirk(host="zenodo.org", path="*/content", kind="status", status=429,
                        headers={"Retry-After": "1"}, times=1))
    start = time.monotonic()
    report = doi2data.download(DOI, tmp_path, include="README.json", options=OPTS)
    assert report.count("downloaded") == 1 and time.monotonic() - start >= 0.9
    assert "429" in report.results[0].retries[0]


def test_503_burst(net: FakeInternet, tmp_path: Path) -> None:
    net.add_quirk(Quirk(host="zenodo.org", path="*/content", kind="status", status=503, times=6))
    report = doi2data.download(DOI, tmp_path, include="*.json", options=TransferOptions(max_attempts=8, jobs=2))
    check_tree(net, tmp_path, RECID, report)
    assert not report.failed


def test_503_forever_reports_failure(net: FakeInternet, tmp_path: Path) -> None:
    net.add_quirk(Quirk(host="zenodo.org", path="*README.json*", kind="status", status=503))
    report = doi2data.download(DOI, tmp_path, include="*.json", options=TransferOptions(max_attempts=2),
                               raise_on_failure=False)
    assert "503" in report.failed["README.json"] and not (tmp_path / "README.json").exists()
    assert (tmp_path / "metadata/experiment.json").exists()


def test_stalled_body_times_out_and_resumes(net: FakeInternet, tmp_path: Path) -> None:
    net.add_quirk(Quirk(host="zenodo.org", path="*frame_0003*", kind="stall", after_bytes=500_000, seconds=6, times=1))
    report = doi2data.download(DOI, tmp_path, include=FRAME, options=OPTS)
    check_tree(net, tmp_path, RECID, report)
    assert report.count("downloaded") == 1 and any("timed out" in r for r in report.results[0].retries)


def test_ranges_ignored_restarts_cleanly(net: FakeInternet, tmp_path: Path) -> None:
    size = len(net.world.file_bytes(RECID, FRAME))
    net.add_quirk(Quirk(host="zenodo.org", path="*frame_0003*", kind="reset", after_bytes=size // 2, times=1))
    net.add_quirk(Quirk(host="zenodo.org", path="*frame_0003*", kind="no-range"))
    report = doi2data.download(DOI, tmp_path, include=FRAME, options=OPTS)
    check_tree(net, tmp_path, RECID, report)
    assert report.count("downloaded") == 1


def test_segments_when_server_ignores_ranges(net: FakeInternet, tmp_path: Path) -> None:
    net.add_quirk(Quirk(host="zenodo.org", path="*large.bin*", kind="no-range"))
    report = doi2data.download(BIG_DOI, tmp_path, options=OPTS)
    assert report.count("downloaded") == 1
    assert hashlib.md5((tmp_path / BIG_KEY).read_bytes()).hexdigest() == big_md5(net)
    assert len([r for r in net.log if "large.bin" in r.path and r.method == "GET"]) == 1


def test_file_changed_between_attempts(net: FakeInternet, tmp_path: Path) -> None:
    """A partial download, then the file changes on the server: the resume's If-Range gets a
    200, the file restarts, and since the new bytes do not match the manifest's md5 it fails
    cleanly - the two versions are never spliced together."""
    net.add_quirk(Quirk(host="zenodo.org", path="*frame_0003*", kind="reset", after_bytes=700_000, times=1))
    first = doi2data.download(DOI, tmp_path, include=FRAME, options=TransferOptions(max_attempts=1),
                              raise_on_failure=False)
    assert FRAME in first.failed and not (tmp_path / FRAME).exists()
    net.clear_log()
    net.add_quirk(Quirk(host="zenodo.org", path="*frame_0003*", kind="change"))
    report = doi2data.download(DOI, tmp_path, include=FRAME, options=OPTS, raise_on_failure=False)
    assert FRAME in report.failed and "md5" in report.failed[FRAME]
    assert not (tmp_path / FRAME).exists()
    resumed = [r for r in net.log if "frame_0003" in r.path and "if-range" in r.headers]
    assert resumed and all(r.status == 200 for r in resumed)  # If-Range refused the splice


def _segments_done(dest: Path) -> int:
    db = dest / ".doi2data" / "state.sqlite"
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=1) as conn:
            row = conn.execute("SELECT COALESCE(SUM(done), 0) FROM segments").fetchone()
        return int(row[0])
    except sqlite3.Error:
        return 0


@pytest.mark.parametrize("segments", [4, 1])
def test_kill_9_then_rerun_resends_almost_nothing(net: FakeInternet, tmp_path: Path, segments: int) -> None:
    dest = tmp_path / "k"
    size = len(net.world.file_bytes("7000100", BIG_KEY)) if segments == 1 else 64 * 2**20 + 123
    net.add_quirk(Quirk(host="zenodo.org", path="*large.bin*", kind="slow", rate=6_000_000))
    env = {k: v for k, v in os.environ.items()}
    env.update(net.env)
    cmd = [sys.executable, "-m", "doi2data", "get", BIG_DOI, str(dest), "-q", "-s", str(segments),
           "--min-segment", "4MiB"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    part_dir = dest / ".doi2data" / "parts"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        have = _segments_done(dest) if segments > 1 else sum(
            p.stat().st_size for p in part_dir.glob("*.part")) if part_dir.exists() else 0
        if have >= size * 0.4:
            break
        assert proc.poll() is None, "the download ended before it could be killed"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (dest / BIG_KEY).exists()
    before = served_bytes(net, "large.bin")
    net.clear_quirks()
    net.clear_log()
    report = doi2data.download(BIG_DOI, dest, options=TransferOptions(segments=segments, min_segment=4 << 20))
    assert report.count("downloaded") == 1
    assert hashlib.md5((dest / BIG_KEY).read_bytes()).hexdigest() == big_md5(net)
    after = served_bytes(net, "large.bin")
    resent = before + after - size
    assert resent <= size * 0.01 + (16 << 20) / 4, f"re-sent {resent} bytes"
    assert after < size * 0.7  # the re-run did not start over
