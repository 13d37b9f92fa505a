"""Issue 19 items 3-4 for the gateway: a large manifest served and cached in bounded memory.

Each test measures with tracemalloc (bytes Python allocated, not time) or checks the cache's
behaviour on a large row; the bounds are generous per file, the old code exceeded them by far.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import sqlite3
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

pytest.importorskip("jinja2")

from doi2data.formats import render  # noqa: E402
from doi2data.identifiers import parse_identifier  # noqa: E402
from doi2data.model import Dataset, FileEntry, Manifest  # noqa: E402
from doi2data.select import select  # noqa: E402
from doi2data.service import renderings  # noqa: E402
from doi2data.service.app import create_app  # noqa: E402
from doi2data.service.cache import BLOB_CHUNK, TABLE, MemoryStore, SQLiteStore, manifest_from_json  # noqa: E402
from doi2data.service.config import GatewayConfig  # noqa: E402
from doi2data.service.manifests import ManifestService, _decoded, doc_from_pieces, encode, packed, unpacked  # noqa: E402
from doi2data.service.pages import MAX_ROWS  # noqa: E402
from doi2data.service.query import Query  # noqa: E402
from doi2data.service.signposting import dataset_links, linkset  # noqa: E402
from doi2data.service.testing import GatewayServer  # noqa: E402


def _peak(run: Callable[[], Any]) -> int:
    """Peak bytes Python allocated while ``run`` ran (above what was held before)."""
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        run()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def test_unpacking_holds_one_piece_not_a_copy_of_the_body() -> None:
    """zlib's ``unconsumed_tail`` is a copy of the input not used yet: fed the whole body, every
    piece copied the rest of it (a 1,000,000-file manifest: 17 MB held, ~1 GB copied)."""
    raw = os.urandom(6 << 20)  # incompressible: the packed body is as large as the JSON
    body = zlib.compress(raw, 1)
    pieces: list[int] = []
    peak = _peak(lambda: pieces.extend(len(p) for p in unpacked(body)))
    assert sum(pieces) == len(raw) and max(pieces) <= 1 << 20
    assert peak < 3 << 20, f"{peak / 1e6:.1f} MB held while unpacking a {len(body) / 1e6:.1f} MB body"


def _rows(path: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as db:
        return db.execute(f"SELECT key, length(body), fetched_at, lease_until FROM {TABLE} ORDER BY key").fetchall()


@pytest.mark.parametrize("layout", ["current", "older"])
def test_sqlite_large_rows_round_trip_through_the_blob_handle(tmp_path: Path, layout: str) -> None:
    """Rows above BLOB_CHUNK are written and read in pieces; small rows as values; a table made by an
    older doi2data (body in the second column) keeps working."""
    path = tmp_path / "c.sqlite"
    if layout == "older":
        with sqlite3.connect(path) as db:
            db.execute(f"CREATE TABLE {TABLE} (key TEXT PRIMARY KEY, body BLOB NOT NULL, "
                       "fetched_at REAL NOT NULL, lease_until REAL NOT NULL DEFAULT 0)")
    big, bigger, small = os.urandom(BLOB_CHUNK * 3 + 7), os.urandom(BLOB_CHUNK * 4 + 1), b'{"schema": 1}'

    async def go() -> None:
        store = SQLiteStore(path)
        try:
            assert await store.get("k") is None
            await store.put("k", big, 1.0)
            await store.put("s", small, 2.0)
            assert await store.get("k") == (big, 1.0) and await store.get("s") == (small, 2.0)
            assert await store.claim("k", 60) and not await store.claim("k", 60)
            await store.put("k", bigger, 3.0)  # replaced in place: new bytes, the lease released
            assert await store.get("k") == (bigger, 3.0)
            await store.put("k", small, 4.0)  # and back to a small row
            assert await store.get("k") == (small, 4.0)
            await store.put("k", big, 5.0)
        finally:
            await store.close()

    asyncio.run(go())
    assert _rows(path) == [("k", len(big), 5.0, 0.0), ("s", len(small), 2.0, 0.0)]


# -- representations of a large manifest ---------------------------------------------------------
MD5 = "d41d8cd98f00b204e9800998ecf8427e"
ODD = [
    FileEntry("a b/ü.txt", 3, {"md5": MD5}, ("https://h.example/x/a%20b/%C3%BC.txt",), "text/plain"),
    FileEntry("A B/ü.txt", 3, {"sha256": "ab" * 32}, ("https://h.example/x/A%20B/%C3%BC.txt",)),
    FileEntry("x\\y.dat", 3, {"sha512": "cd" * 64, "md5": MD5}, ("https://h.example/x\\y.dat", "https://m.example/x")),
    FileEntry("x/y.dat", 4, {}, ("https://h.example/x/y.dat",)),  # clashes with the one above once placed
    FileEntry("../evil", 1, {"md5": MD5}, ("https://h.example/evil",)),  # refused by placement
    FileEntry("r.h5", 9, {"md5": MD5}, ("https://h.example/r",), access="restricted"),
    FileEntry("nourl", 1, {"md5": MD5}),
    FileEntry('q"<&>.txt', None, {"sha1": "a" * 40}, ('https://h.example/q"<&>',)),
    FileEntry("b3.dat", 7, {"blake3": "ab" * 32}, ("https://h.example/b3.dat",)),
    *(FileEntry(f"d/f{i:03d}.bin", i, {"md5": f"{i:032x}"}, (f"https://h.example/d/f{i:03d}.bin",)) for i in range(20)),
]
DATASET = Dataset("10.1234/x", title="T <&>", creators=("A",), publisher="P&Q", year=2020, license="cc-by-4.0",
                  version="1")
ANCHOR = "http://gw.example/10.1234/x"


def _whole(name: str, manifest: Manifest) -> bytes:
    """What the gateway sent before representations were streamed (whole renderings)."""
    ident = parse_identifier("10.1234/x")
    if name == "json":
        return encode(manifest)
    if name == "linkset":
        return json.dumps(linkset(ANCHOR, ident, manifest), ensure_ascii=False, indent=1).encode()
    if name == "linkset-text":
        links = dataset_links(ANCHOR, ident, manifest, max_items=len(manifest.files))
        return (",\n".join(f'{link.header()}; anchor="{ANCHOR}"' for link in links if link.rel != "linkset")
                + "\n").encode()
    return render(name, manifest).text.encode()


@pytest.mark.parametrize("batch", [3, 500])
@pytest.mark.parametrize("files", [ODD, []], ids=["odd", "empty"])
def test_streamed_representations_are_the_whole_ones(monkeypatch: pytest.MonkeyPatch, batch: int,
                                                     files: list[FileEntry]) -> None:
    """Byte for byte, at every batch size: placement (renames, refusals), XML escaping, headers."""
    monkeypatch.setattr(renderings, "BATCH", batch)
    manifest = Manifest(DATASET, files, ("a note",))
    for name in renderings.STREAMED:
        got = b"".join(renderings.pieces(name, manifest, parse_identifier("10.1234/x"), ANCHOR))
        assert got == _whole(name, manifest), name


def _zenodo_like(n: int) -> Manifest:
    files = (FileEntry(f"d{i // 1000:04d}/f{i:07d}.bin", i, {"md5": f"{i:032x}"},
                       (f"https://zenodo.org/api/records/8100001/files/d{i // 1000:04d}/f{i:07d}.bin/content",),
                       "application/octet-stream") for i in range(n))
    return Manifest(Dataset("10.5281/zenodo.8100001", title="Large", year=2025, license="cc-by-4.0"), files)


N = 8_000


@pytest.fixture(scope="module")
def large() -> Iterator[tuple[GatewayServer, httpx.Client]]:
    manifest = _zenodo_like(N)

    async def resolve(ident: Any) -> Manifest:
        return manifest

    config = GatewayConfig(cache_url="memory:", rate=0, access_log=None, max_streams=2, max_archive_members=1000)
    with GatewayServer(create_app(config, resolve=resolve)) as server, \
            httpx.Client(base_url=server.url, trust_env=False, timeout=120) as client:
        assert client.get("/10.5281/zenodo.8100001").status_code == 200  # resolved, packed and cached
        yield server, client


def _request_peak(client: httpx.Client, query: str, accept: str = "*/*") -> tuple[int, int, bytes]:
    """Peak bytes Python allocated (server and client: one process) while one answer streamed."""
    head = bytearray()
    total = 0

    def run() -> None:
        nonlocal total
        with client.stream("GET", "/10.5281/zenodo.8100001" + query, headers={"Accept": accept}) as response:
            assert response.status_code == 200, response.read()
            for chunk in response.iter_bytes():
                total += len(chunk)
                if len(head) < 4096:
                    head.extend(chunk[:4096])

    return _peak(run), total, bytes(head)


@pytest.mark.parametrize(("query", "accept"), [
    ("?format=metalink", "*/*"), ("?format=linkset", "*/*"), ("?format=aria2", "*/*"), ("?include=*.bin", "*/*"),
    ("", "application/json"),
])
def test_a_large_manifest_is_served_in_bounded_memory(large: tuple[GatewayServer, httpx.Client], query: str,
                                                      accept: str) -> None:
    """Made as they are sent, representations of 8,000 files peak at ~1-3 MB (a few hundred files'
    worth, the JSON's 1 MiB pieces, the safe-name planner's per-file state); rendered whole they
    peaked at 28 MB (Metalink), 23 MB (linkset), 15 MB (aria2), 6 MB (a filtered JSON), and the
    Metalink of 100,000 files took the gateway to 476 MB."""
    _, client = large
    peak, total, head = _request_peak(client, query, accept)
    assert total > N * 20, head[:200]
    assert peak < (2 << 20) + 300 * N, f"{peak / 1e6:.1f} MB at the peak for {query or accept}"


def test_the_page_of_a_large_manifest_builds_only_the_rows_it_shows(large: tuple[GatewayServer, httpx.Client]) -> None:
    """The page shows at most MAX_ROWS rows (and the first notes): its cost does not grow with the file count."""
    _, client = large
    peak, total, head = _request_peak(client, "", "text/html")
    assert total < 4 << 20 and f"Showing files 1–{MAX_ROWS} of {N} (page 1 of {-(-N // MAX_ROWS)}".encode() in client.get(
        "/10.5281/zenodo.8100001", headers={"Accept": "text/html"}).content
    assert peak < 10 << 20, f"{peak / 1e6:.1f} MB at the peak for the page"


def test_a_streamed_representation_holds_a_stream_slot_only_while_it_is_sent(
        large: tuple[GatewayServer, httpx.Client]) -> None:
    """HEAD and 304 answers send nothing and hold nothing (the fixture allows 2 streams per client);
    a streamed answer has no Content-Length (chunked), the packed JSON has one."""
    server, client = large
    path = "/10.5281/zenodo.8100001?format=metalink"
    etag = client.get(path).headers["etag"]
    for _ in range(3):
        head = client.head(path)
        assert head.status_code == 200 and "content-length" not in head.headers
        assert client.get(path, headers={"If-None-Match": etag}).status_code == 304
    with client.stream("GET", path) as one, client.stream("GET", path) as two:
        assert one.status_code == two.status_code == 200 and "content-length" not in one.headers
        assert client.get(path).status_code == 429  # both slots taken while the two are open
    limits = server.app.gateway.limits  # type: ignore[attr-defined]
    deadline = time.monotonic() + 10
    while limits.streams("127.0.0.1") and time.monotonic() < deadline:  # the server notices the closed connections
        time.sleep(0.05)
    assert limits.streams("127.0.0.1") == 0
    assert client.get(path).status_code == 200  # the slots were given back
    assert int(client.head("/10.5281/zenodo.8100001").headers["content-length"]) > N * 100
    assert limits.streams("127.0.0.1") == 0


@pytest.mark.parametrize(("file", "include", "exclude"), [
    ([], ["*.dat"], []), (["d/*"], [], ["f01*"]), (["/a b/*", "x/*"], ["*"], ["*.txt"]), ([], [], ["**"]),
    (["nothing"], [], []), ([], [], []),
])
def test_the_gateway_filter_is_select_over_rows_of_the_same_list(file: list[str], include: list[str],
                                                                 exclude: list[str]) -> None:
    """Query.chosen keeps the rows ``select`` keeps, in order, as a list sharing the manifest's strings."""
    manifest = Manifest(DATASET, ODD, ("a note",))
    query = Query(file=file, include=include, exclude=exclude)
    got = query.chosen(manifest)
    want = select(select(manifest, file or None), include or None, exclude or None)
    assert got == want and list(got.files) == list(want.files) and got.warnings == manifest.warnings
    if query.narrowed:
        assert all(a.path is b.path for a, b in zip(got.files, (f for f in manifest.files if f in want.files)))
    else:
        assert got is manifest


def test_a_filter_that_keeps_every_file_costs_a_few_bytes_a_file() -> None:
    """Rows of the same list: a copy into a new list (the old ``select``) held ~100 bytes a file more."""
    manifest = _zenodo_like(20_000)
    query = Query(include=["*.bin"])
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        chosen = query.chosen(manifest)
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(chosen.files) == 20_000 and chosen.files[123] == manifest.files[123]
    assert held / 20_000 < 60, f"{held / 20_000:.0f} bytes a file"


def test_the_memory_cache_is_bounded_by_the_files_it_holds() -> None:
    """Manifests leave memory (not the store) once their files pass ``memory_files``; the newest stays."""
    sizes = {"10.1/a": 6, "10.1/b": 6, "10.1/c": 25, "10.1/d": 2}
    calls: list[str] = []

    async def resolve(ident: Any) -> Manifest:
        calls.append(ident.value)
        return Manifest(Dataset(ident.value), [FileEntry(f"f{i}", i) for i in range(sizes[ident.value])])

    async def go() -> None:
        store = MemoryStore()
        svc = ManifestService(store, resolve, ttl=100, stale=100, memory_files=10)
        for doi in ("10.1/a", "10.1/b"):
            await svc.get(parse_identifier(doi))
        assert list(svc._memory) == ["doi:10.1/b"]  # 12 files > 10: a went
        await svc.get(parse_identifier("10.1/c"))
        assert list(svc._memory) == ["doi:10.1/c"]  # past the budget alone: kept, the newest
        await svc.get(parse_identifier("10.1/d"))
        await svc.get(parse_identifier("10.1/b"))  # read back from the store, not resolved again
        assert list(svc._memory) == ["doi:10.1/d", "doi:10.1/b"] and svc._files_held == 8
        assert calls == ["10.1/a", "10.1/b", "10.1/c", "10.1/d"]
        await svc.close()

    asyncio.run(go())


@pytest.mark.parametrize("size", [1, 3, 7, 1 << 20])
def test_a_packed_row_is_read_back_as_it_is_decompressed(size: int) -> None:
    """The C decoder one value at a time over pieces cut anywhere (inside a number, a string, a
    multi-byte character): the same manifest as a whole parse; damage is a ValueError."""
    manifest = Manifest(DATASET, [*ODD, FileEntry("ünï/日本.dat", 12345678901, {"md5": MD5}, ("https://h.example/u",))],
                        ("note 1", "note 2"))
    raw = encode(manifest)
    doc, files = doc_from_pieces(iter([raw[at:at + size] for at in range(0, len(raw), size)]))
    want = json.loads(raw)
    assert {k: v for k, v in doc.items() if k != "files"} == {k: v for k, v in want.items() if k != "files"}
    assert list(files) == list(manifest_from_json(want).files) == list(manifest.files)
    for bad in (raw[:-1], raw + b"x", raw.replace(b'"files":[', b'"files":[,'), b"", b"[]",
                raw.replace(b"},{", b"}{", 1), raw[:-40]):
        with pytest.raises(ValueError):
            doc_from_pieces(iter([bad[at:at + size] for at in range(0, len(bad), size)]))
    packed_body = packed(_zenodo_like(6000))[1]
    assert _decoded(packed_body, 1.0).manifest == _zenodo_like(6000)


def test_an_archive_of_too_many_files_is_refused_after_building_one_past_the_limit(
        large: tuple[GatewayServer, httpx.Client]) -> None:
    """The old check came after a list of every open file's entry (~1 KB a file, built on the event loop)."""
    _, client = large
    answer: list[httpx.Response] = []
    peak = _peak(lambda: answer.append(client.get("/10.5281/zenodo.8100001?archive=zip")))
    assert answer[0].status_code == 413 and "more than 1000 files" in answer[0].text
    assert peak < 1_500_000, f"{peak / 1e6:.1f} MB at the peak"


def test_the_link_header_of_a_large_manifest_is_made_off_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """Its first open files are looked for among all files (none open: every one is read), so for a
    large manifest that scan runs on a worker thread, not on the loop every request waits on."""
    from doi2data.service import dataset as dataset_route

    restricted = Manifest(Dataset("10.1234/r"), [FileEntry(f"f{i:05d}", i, {}, (f"https://h.example/{i}",),
                                                           access="restricted") for i in range(6000)])
    threads: list[str] = []
    made = dataset_route.dataset_links

    def recorded(*args: Any, **kwargs: Any) -> Any:
        threads.append(threading.current_thread().name)
        return made(*args, **kwargs)

    monkeypatch.setattr(dataset_route, "dataset_links", recorded)

    async def resolve(ident: Any) -> Manifest:
        return restricted

    config = GatewayConfig(cache_url="memory:", rate=0, access_log=None)
    with GatewayServer(create_app(config, resolve=resolve)) as server:
        answer = httpx.get(server.url + "/10.1234/r", headers={"Accept": "text/html"}, trust_env=False, timeout=60)
    assert answer.status_code == 200 and 'rel="cite-as"' in answer.headers["link"] and 'rel="item"' not in answer.headers["link"]
    assert threads and "doi2data-gateway" not in threads, threads
