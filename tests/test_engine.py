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
from doi2data.transfer.engine import Engine
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

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.fail_first:
            return httpx.Response(self.fail_first.pop(0), headers={"Retry-After": "0"})
        headers = {"ETag": ETAG, "Accept-Ranges": "bytes"}
        rng = request.headers.get("range")
        if_range = request.headers.get("if-range")
        if rng and not self.ignore_ranges and (if_range in (None, ETAG)):
            start = int(rng.split("=")[1].split("-")[0])
            return httpx.Response(206, content=self.body[start:], headers={
                **headers, "Content-Range": f"bytes {start}-{len(self.body) - 1}/{len(self.body)}"})
        return httpx.Response(200, content=self.body, headers=headers)


def manifest(md5: str = MD5, size: int = len(DATA)) -> Manifest:
    return Manifest(Dataset("10.1/x"), (FileEntry("dir/f.bin", size, {"md5": md5}, ("https://h.test/f",)),))


def run(server: Server, dest: Path, m: Manifest | None = None):  # type: ignore[no-untyped-def]
    async def go():  # type: ignore[no-untyped-def]
        async with httpx.AsyncClient(transport=httpx.MockTransport(server)) as client:
            return await Engine(client, dest, max_wait=1).run(m or manifest())

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
