"""A large web folder is listed in memory that does not grow with a copy of every entry (issue 19).

The crawl hands each listing page on as it is parsed and every file becomes a compact row at once:
no list of every :class:`IndexEntry`, no list of every ``FileEntry``, no level of pages held whole.
Measured with tracemalloc on a generated nginx tree of 100 folders x 200 files (the old whole-list
crawl peaked at ~1.3 KB per file here; now ~0.33 KB), plus the order and warnings that must not change.
"""

from __future__ import annotations

import gc
import hashlib
import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import doi2data
from doi2data.adapters._pan import autoindex
from doi2data.adapters.webindex import listing_limits
from doi2data.sandbox import FakeInternet
from doi2data.sandbox.sites.webindex import render_listing

HOST = "bigtree.webfolder.example"
ROOT = "/pub/tree/"
FOLDERS, PER_FOLDER = 100, 200
N = FOLDERS * PER_FOLDER


EMPTY_MD5 = hashlib.md5(b"").hexdigest()


async def _tree(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """nginx autoindex pages, generated per request: ``d000/`` ... with ``f00000.bin`` ... (sizes exact);
    under ``/sums/`` the same tree with a top-level ``MD5SUMS`` naming every file (and one that is gone)."""
    path = scope.get("path", "")
    sums = path.startswith("/sums/")
    path = path.removeprefix("/sums")
    if path == ROOT + "MD5SUMS" and sums:
        lines = (f"{EMPTY_MD5}  d{i // PER_FOLDER:03d}/f{i:05d}.bin\n" for i in range(N))
        body = "".join(lines) + f"{EMPTY_MD5}  gone.bin\n"
    elif path == ROOT:
        top = [("README.txt", 12), *([("MD5SUMS", 50 * N)] if sums else [])]
        body = render_listing("nginx", path, [f"d{d:03d}" for d in range(FOLDERS)], top, host=HOST)
    elif path.startswith(ROOT + "d") and path.endswith("/") and path[len(ROOT) + 1:-1].isdecimal():
        d = int(path[len(ROOT) + 1:-1])
        files = [(f"f{i:05d}.bin", i) for i in range(d * PER_FOLDER, (d + 1) * PER_FOLDER)]
        body = render_listing("nginx", path, [], files, host=HOST)
    else:
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/html"), (b"server", b"nginx/1.24.0")]})
    await send({"type": "http.response.body", "body": body.encode()})


@pytest.fixture
def tree(net: FakeInternet) -> Iterator[str]:
    net.add_site(HOST, _tree)
    yield f"https://{HOST}{ROOT}"


def _listed_with_peak(url: str) -> tuple[Any, int]:
    """The tree's manifest and tracemalloc's peak while listing it (after a warm-up listing of one
    folder: connections, TLS, imports)."""
    doi2data.resolve(url.replace(ROOT, ROOT + "d000/"))
    gc.collect()
    tracemalloc.start()
    try:
        manifest = doi2data.resolve(url)
        return manifest, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_large_tree_is_listed_in_memory_per_file_well_under_the_old_cost(tree: str) -> None:
    manifest, peak = _listed_with_peak(tree)
    files = manifest.files
    assert len(files) == N + 1
    assert files[0].path == "README.txt" and files[1].path == "d000/f00000.bin"
    assert files[N].path == f"d{FOLDERS - 1:03d}/f{N - 1:05d}.bin" and files[N].size == N - 1
    assert files[5].urls == (f"{tree}d000/f00004.bin",) and files[5].size == 4
    assert [f.path for f in files] == sorted(f.path for f in files)
    # the old crawl kept every IndexEntry, then every FileEntry, then a sorted tuple: ~1,270 B per file here;
    # now ~330 (the compact rows, their sorted copy, and the pages in flight, server side included)
    assert peak / N < 600, f"{peak / N:.0f} bytes per file at the peak"


def test_pages_are_handed_on_in_crawl_order_and_limits_still_hold(tree: str,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    real = autoindex.walk

    async def spy(http: Any, root: str, on_page: Any, **kw: Any) -> Any:
        async def page(entries: list[autoindex.IndexEntry]) -> None:
            seen.append(entries[0].path)
            assert len(entries) <= PER_FOLDER + FOLDERS  # one page at a time, never the tree
            await on_page(entries)
        return await real(http, root, page, **kw)

    monkeypatch.setattr("doi2data.adapters._pan.folders.walk", spy)
    manifest = doi2data.resolve(tree)
    assert seen == ["d000", *(f"d{d:03d}/f{d * PER_FOLDER:05d}.bin" for d in range(FOLDERS))]  # breadth first
    assert len(manifest.files) == N + 1
    with listing_limits(max_entries=2500):
        few = doi2data.resolve(tree)
    assert len(few.files) == 2500 - FOLDERS
    assert any("stopped at 2500 entries (--max-entries)" in w for w in few.warnings)
    with listing_limits(max_pages=3):
        pages = doi2data.resolve(tree)
    assert len(pages.files) == 1 + 2 * PER_FOLDER
    assert any(f"--max-pages 3 reached; {FOLDERS - 2} folder(s) not listed, e.g. d002/" in w for w in pages.warnings)


def test_head_requests_share_the_crawl_s_eight_slots_and_their_budget(net: FakeInternet,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Rounded sizes (lighttpd) are asked for with HEAD while later pages are still being listed:
    never more than 8 requests at once, and the HEAD budget counts over the whole tree in crawl order."""
    host, busy, most, heads = "rounded.webfolder.example", [0], [0], []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        import asyncio

        busy[0] += 1
        most[0] = max(most[0], busy[0])
        try:
            path, method = scope.get("path", ""), scope.get("method", "GET")
            folder = path[len(ROOT) + 1:].split("/", 1)[0]
            # later folders list slowly: their pages are still in flight while earlier files get HEAD
            await asyncio.sleep(0.03 * (int(folder) + 1) if path.endswith("/") and folder.isdecimal() else 0.002)
            if path == ROOT:
                body = render_listing("lighttpd", path, [f"d{d}" for d in range(6)], [], host=host).encode()
            elif path.startswith(ROOT + "d") and path.endswith("/"):
                body = render_listing("lighttpd", path, [], [(f"f{i:02d}.bin", 5000 + i) for i in range(40)],
                                      host=host).encode()
            elif method == "HEAD" and path.startswith(ROOT + "d"):
                heads.append(path)
                size = str(5000 + int(path[-6:-4])).encode()
                await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", size)]})
                await send({"type": "http.response.body", "body": b""})
                return
            else:
                body = b""
            await send({"type": "http.response.start", "status": 200 if body else 404,
                        "headers": [(b"content-type", b"text/html")]})
            await send({"type": "http.response.body", "body": body})
        finally:
            busy[0] -= 1

    net.add_site(host, app)
    monkeypatch.setattr("doi2data.adapters._pan.folders.HEAD_LIMIT", 100)
    manifest = doi2data.resolve(f"https://{host}{ROOT}")
    assert len(manifest.files) == 240 and len(heads) == 100
    sized = [f for f in manifest.files if f.size is not None]
    assert [f.path for f in sized] == [f"d{d}/f{i:02d}.bin" for d in range(3) for i in range(40)][:100]
    assert all(f.size == 5000 + int(f.path[-6:-4]) for f in sized)
    assert "140 file size(s) unknown: the listing rounds them and only 100 were asked for with HEAD" in manifest.warnings
    assert 1 < most[0] <= 8, most[0]  # the per-host limit and the crawl gate both hold


def test_a_top_level_md5sums_for_every_file_is_not_kept_twice(tree: str) -> None:
    """A digest is kept only until its file is final: the map of a million-line ``MD5SUMS`` shrinks
    as the tree is listed (old: every line as a dict entry, then a dict per file)."""
    sums_tree = tree.replace(ROOT, "/sums" + ROOT)
    manifest, peak = _listed_with_peak(sums_tree)
    files = manifest.files
    assert len(files) == N + 2
    assert all(dict(f.checksums) == {"md5": EMPTY_MD5} for f in files if f.path.startswith("d"))
    assert any("1 file(s) named in the checksum file(s) are not in the folder, e.g. 'gone.bin'" in w
               for w in manifest.warnings)
    assert any("1 file(s) missing from the checksum file(s), e.g. 'README.txt'" in w for w in manifest.warnings)
    assert peak / N < 800, f"{peak / N:.0f} bytes per file at the peak"  # now ~450, old ~1,520


def test_sidecar_texts_are_fetched_eight_at_a_time_and_dropped(net: FakeInternet) -> None:
    """A page of many per-file sidecars is read in batches of 8, each batch dropped before the next
    is fetched (before: every text of the page was held at once, up to 2,000 x 64 MiB)."""
    import asyncio

    host, events = "sidecars.webfolder.example", []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if path == ROOT:
            files = [(f"f{i:02d}.bin", 0) for i in range(20)] + [(f"f{i:02d}.bin.md5", 33) for i in range(20)]
            body = render_listing("nginx", path, [], files, host=host)
        elif path.endswith(".md5"):
            events.append(("start", path))
            await asyncio.sleep(0.3 if path.endswith("f00.bin.md5") else 0.001)  # the first one is slow
            body = f"{EMPTY_MD5}\n"
            events.append(("end", path))
        else:
            body = ""
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html")]})
        await send({"type": "http.response.body", "body": body.encode()})

    net.add_site(host, app)
    manifest = doi2data.resolve(f"https://{host}{ROOT}")
    assert all(dict(f.checksums) == {"md5": EMPTY_MD5} for f in manifest.files if f.path.endswith(".bin"))
    starts = [p for kind, p in events if kind == "start"]
    assert len(starts) == 20
    slow_done = events.index(("end", ROOT + "f00.bin.md5"))
    assert all(events.index(("start", p)) > slow_done for p in starts[8:])  # the 9th waits for the batch


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([b"a", b"\n", b"\r", b"\r\n", b"\xe2\x82", b"\xac", b"\xc3\xa9", b"\xff", b"\x85",
                                 b"\xe2\x80\xa8", b"  x.bin"]), max_size=60), st.integers(1, 8))
def test_a_sidecar_body_is_split_into_the_lines_of_its_whole_decode(parts: list[bytes], chunk: int) -> None:
    from doi2data.adapters._pan.folders import _lines

    body = b"".join(parts)
    assert list(_lines(body, chunk)) == body.decode("utf-8", errors="replace").splitlines()
    assert list(_lines(body.decode("utf-8", errors="replace"), chunk)) == body.decode("utf-8", "replace").splitlines()
