"""Issue 19: listings in bounded memory (compact FileList, streamed Invenio parse, streamed output)."""

from __future__ import annotations

import asyncio
import gc
import json
import tracemalloc
from collections.abc import Callable, Iterator
from urllib.parse import quote

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from doi2data.adapters.base import RecordRef, Resolved
from doi2data.adapters.invenio import ADAPTER, parse_record
from doi2data.filelist import FileList
from doi2data.http import Http
from doi2data.model import Dataset, FileEntry, Manifest

MD5 = "d41d8cd98f00b204e9800998ecf8427e"
SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
Z = "https://zenodo.org"

ODD_ENTRIES = [
    FileEntry("a b/ü.txt", 3, {"md5": MD5}, ("https://h/x/a%20b/%C3%BC.txt",), "text/plain"),
    FileEntry("plain.bin", None, {"md5": MD5, "sha256": SHA256},
              ("https://zenodo.org/api/records/1/files/plain.bin/content", "https://mirror/plain.bin?x=1")),
    FileEntry("nourl.dat", 0),
    FileEntry("elsewhere.dat", 5, {}, ("https://other.example/blob/123",), access="restricted", note="token"),
    FileEntry("bad.dat", 7, {"md5": "1234"}, ("https://h/bad.dat",)),          # malformed: kept aside
    FileEntry("b3.dat", 7, {"blake3": "ab" * 32}, ("https://h/b3.dat",)),      # unknown algorithm
    FileEntry("slash/../q?.txt", 1, {"sha1": "a" * 40}, ("https://h/slash%2F..%2Fq%3F.txt",)),
    FileEntry("huge", 1 << 70, {"md5": MD5}),  # past int64 (a hostile listing): kept whole
    FileEntry("\ud800x", 1, {}, ("https://h/%ED%A0%80x", "https://h/\ud800x/raw")),  # a lone surrogate
]


def test_filelist_round_trips_every_entry_shape() -> None:
    files = FileList(ODD_ENTRIES)
    assert len(files) == len(ODD_ENTRIES)
    assert list(files) == ODD_ENTRIES and files == tuple(ODD_ENTRIES) and tuple(ODD_ENTRIES) == tuple(files)
    for got, want in zip(files, ODD_ENTRIES):
        assert (got.path, got.size, dict(got.checksums), got.urls, got.media_type, got.access, got.note,
                dict(got.bad_checksums)) == (want.path, want.size, dict(want.checksums), want.urls,
                                             want.media_type, want.access, want.note, dict(want.bad_checksums))
        assert got.to_json() == want.to_json() and hash(got) == hash(want)
    assert files[-1] == ODD_ENTRIES[-1] and files[1:3] == tuple(ODD_ENTRIES[1:3])
    with pytest.raises(IndexError):
        files[len(ODD_ENTRIES)]
    assert [f.path for f in files.sorted_by_path()] == sorted(f.path for f in ODD_ENTRIES)
    assert files.total_size() == 3 + 5 + 7 + 7 + 1 + (1 << 70) + 1 and not files.sizes_known()


def test_manifest_keeps_its_api_over_the_compact_list() -> None:
    m = Manifest(Dataset("10.1/x"), ODD_ENTRIES)
    assert isinstance(m.files, FileList) and m.files == tuple(ODD_ENTRIES)
    assert m.total_size == 24 + (1 << 70) and not m.sizes_known
    assert any("bad.dat" in w for w in m.checksum_warnings)
    smaller = m.with_files(f for f in m.files if f.size)
    assert [f.path for f in smaller.files] == ["a b/ü.txt", "elsewhere.dat", "bad.dat", "b3.dat", "slash/../q?.txt",
                                               "huge", "\ud800x"]
    assert m == Manifest(Dataset("10.1/x"), tuple(ODD_ENTRIES))
    assert [f["path"] for f in m.to_json()["files"]] == [e.path for e in ODD_ENTRIES]


def _zenodo_like(n: int) -> Iterator[FileEntry]:
    for i in range(n):
        key = f"d{i // 1000:04d}/f{i:07d}.bin"
        yield FileEntry(key, i, {"md5": f"{i:032x}"}, (f"{Z}/api/records/8100001/files/{key}/content",),
                        "application/octet-stream")


def _bytes_held(make: Callable[[], object]) -> tuple[object, int]:
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = make()
        gc.collect()
        return kept, tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


def test_filelist_is_compact() -> None:
    """A tuple of FileEntry held ~1 KB per file; the columns hold well under 250 bytes."""
    n = 20_000
    files, held = _bytes_held(lambda: FileList(_zenodo_like(n)))
    assert held / n < 250, f"{held / n:.0f} bytes per file"
    assert files[12_345] == next(e for i, e in enumerate(_zenodo_like(12_346)) if i == 12_345)


def _record(n: int, *, access: str = "open") -> dict:
    entries = [{"id": f"id{i}", "key": f"k{(i * 7919) % n:05d}.bin", "size": i, "checksum": f"md5:{i:032x}",
                "mimetype": "application/octet-stream", "status": "completed" if i % 5 else "pending",
                "links": {"content": f"{Z}/api/records/42/files/k{(i * 7919) % n:05d}.bin/content"}}
               for i in range(n)]
    entries.append(dict(entries[0]))  # a duplicate key: reported, the first kept
    return {"id": 42, "doi": "10.5281/zenodo.42", "files": {"enabled": True, "entries": entries},
            "metadata": {"title": "t", "access_right": access, "publication_date": "2024-01-01"}}


def _list(handler: Callable[[httpx.Request], httpx.Response]) -> Manifest:
    async def go() -> Manifest:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler), follow_redirects=True) as client:
            return await ADAPTER.list_files(RecordRef("invenio", Z, "42", "Zenodo"),
                                            Resolved("10.5281/zenodo.42", "10.5281/zenodo.42", f"{Z}/records/42", None),
                                            Http(client, max_attempts=1))
    return asyncio.run(go())


@pytest.mark.parametrize("access", ["open", "restricted"])
def test_streamed_invenio_listing_equals_the_whole_parse(access: str) -> None:
    doc = _record(300, access=access)
    body = json.dumps(doc).encode()
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        # a streamed (not pre-read) body, in small pieces, as a real server sends it
        return httpx.Response(200, headers={"Content-Type": "application/json"},
                              stream=httpx.ByteStream(body) if len(calls) > 1 else _Chunks(body, 1000))

    got = _list(handler)
    want = parse_record(doc, Z, record_id="42")
    assert list(got.files) == list(want.files) and len(got.files) == 300
    assert sorted(got.warnings) == sorted(want.warnings)
    assert any("duplicate file key" in w for w in got.warnings)
    assert calls == (["/api/records/42"] if access == "open" else ["/api/records/42", "/api/records/42"])


class _Chunks(httpx.AsyncByteStream):
    def __init__(self, body: bytes, size: int) -> None:
        self.body, self.size = body, size

    async def __aiter__(self):  # type: ignore[override]
        for at in range(0, len(self.body), self.size):
            yield self.body[at:at + self.size]


def test_streamed_listing_refuses_broken_json() -> None:
    from doi2data.errors import RepositoryError

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=_Chunks(b'{"metadata": {}, "files": {"entries": [{"key": "a"', 7))

    with pytest.raises(RepositoryError, match="not valid JSON"):
        _list(handler)


def test_streamed_ls_output_is_byte_identical_to_the_whole_render() -> None:
    import io

    from doi2data.formats import render
    from doi2data.output import iter_listing, write_listing

    m = Manifest(Dataset("10.1/x", title="Tïtle"), ODD_ENTRIES, warnings=("w",))
    for name in ("json", "ndjson"):
        out = io.StringIO()
        assert write_listing(name, m, out, chunk=10)
        assert out.getvalue() == render(name, m).text
    assert iter_listing("json", Manifest(Dataset("10.1/x"))) is None  # empty: rendered the ordinary way
    assert iter_listing("csv", m) is None


def test_streamed_ls_output_starts_before_the_listing_is_read_whole() -> None:
    """The first pieces come from the first entries: nothing is built for the whole list first."""
    from doi2data.output import iter_listing

    m = Manifest(Dataset("10.1/x"), _zenodo_like(1000))
    for name in ("json", "ndjson"):
        pieces = iter_listing(name, m)
        assert pieces is not None and not isinstance(pieces, (str, list, tuple))
        first = "".join(next(pieces) for _ in range(2))
        assert "d0000/f0000000.bin" in first and "d0000/f0000002.bin" not in first


def test_planning_does_not_wait_for_the_state_writer_per_file(tmp_path, monkeypatch) -> None:
    """Looking up file B's record must not wait for file A's queued write (that cost the writer's
    20 ms linger per file: 10,000 present files took 218 s to plan)."""
    from doi2data.transfer.state import StateStore

    store = StateStore(tmp_path)
    try:
        files = []
        for i in range(3):
            (tmp_path / f"f{i}").write_bytes(b"")
            files.append(tmp_path / f"f{i}")
        waits: list[int] = []
        real_flush = store.flush
        monkeypatch.setattr(store, "flush", lambda: (waits.append(1), real_flush())[1])
        store.mark_verified("f0", files[0], {"md5": MD5})
        assert store.verified_digests("f1", files[1], 0) is None and waits == []  # not in flight: no wait
        assert store.verified_digests("f0", files[0], 0) == {"md5": MD5}  # its own write: waited for, seen
    finally:
        store.close()


def test_gateway_json_is_one_dumps_without_a_dict_per_file() -> None:
    """The cached body equals one ``json.dumps`` of ``to_json()``; it is built 500 files at a time
    (``to_json`` of the whole manifest, a dict per file, is not called)."""
    from doi2data.service.manifests import _json

    m = Manifest(Dataset("10.1/x", title="T"), [*ODD_ENTRIES, *_zenodo_like(1200)], warnings=("w",))
    want = json.dumps(m.to_json(), ensure_ascii=False, separators=(",", ":"))
    calls: list[int] = []
    original = Manifest.to_json

    def counting(self: Manifest) -> dict:
        calls.append(len(self.files))
        return original(self)

    try:
        Manifest.to_json = counting  # type: ignore[method-assign]
        assert _json(m) == want
    finally:
        Manifest.to_json = original  # type: ignore[method-assign]
    assert calls == [0]


def test_large_gateway_entries_are_packed_and_round_trip() -> None:
    from doi2data.service import manifests as mf

    m = Manifest(Dataset("10.1/x", title="T"), _zenodo_like(mf.PACK_FILES + 1))
    entry = mf.Entry.of(m, 1.0)
    whole = mf.encode(m)
    assert mf.is_packed(entry.body) and len(entry.body) * 5 < len(whole)  # kept compressed
    assert entry.length == len(whole) and b"".join(entry.json_pieces()) == whole
    assert all(len(p) <= 1 << 20 for p in entry.json_pieces())
    again = mf._decoded(entry.body, 1.0)  # the store's row read back (another process, a restart)
    assert again.manifest == m and again.etag == entry.etag and again.length == len(whole)
    small = mf.Entry.of(Manifest(Dataset("10.1/x"), ODD_ENTRIES), 1.0)
    assert not mf.is_packed(small.body) and b"".join(small.json_pieces()) == small.body


def test_gateway_streams_a_packed_manifest(internet, tmp_path, monkeypatch) -> None:
    from test_service_gateway import DOI, start

    from doi2data.service import manifests as mf

    def fetch(server) -> httpx.Response:
        try:
            with httpx.Client(base_url=server.url, trust_env=False, timeout=30) as client:
                r = client.get(f"/{DOI}", headers={"Accept": "application/json"})
                head = client.head(f"/{DOI}", headers={"Accept": "application/json"})
            assert head.headers["content-length"] == r.headers["content-length"]
            return r
        finally:
            server.stop()

    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
    plain = fetch(start(internet, tmp_path / "a"))
    monkeypatch.setattr(mf, "PACK_FILES", 2)  # the demo record's 8 files count as "large"
    streamed = fetch(start(internet, tmp_path / "b"))
    assert streamed.status_code == plain.status_code == 200
    assert streamed.content == plain.content and json.loads(streamed.content)["file_count"] == 8
    assert streamed.headers["content-length"] == str(len(plain.content))


def test_packed_rows_are_read_back_without_a_dict_per_file() -> None:
    """Reading a packed row streams it into the compact list (the whole-JSON path peaked at ~7x
    the JSON's size for 20,000 files; this one at ~2x)."""
    from doi2data.service import manifests as mf

    m = Manifest(Dataset("10.1/x"), _zenodo_like(20_000))
    entry = mf.Entry.of(m, 1.0)
    gc.collect()
    tracemalloc.start()
    try:
        again = mf._decoded(entry.body, 1.0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert again.manifest.files == m.files
    assert peak < 3 * entry.length, f"peak {peak:,} for {entry.length:,} bytes of JSON"


def test_plain_ls_prints_a_large_listing_in_bounded_tables(monkeypatch) -> None:
    import io

    from rich.console import Console

    from doi2data import output

    monkeypatch.setattr(output, "TABLE_ROWS", 100)
    m = Manifest(Dataset("10.1/x", title="Big"), _zenodo_like(450))
    tables = list(output._tables(m))
    assert [t.row_count for t in tables] == [100, 100, 100, 100, 50]
    assert [t.show_header for t in tables] == [True, False, False, False, False]
    out = io.StringIO()
    output.print_manifest(m, Console(file=out, width=200))
    text = out.getvalue()
    assert text.count("d0000/f0000449.bin") == 1 and text.count("checksum") == 1 and "450 file(s)" in text


def test_streamed_listing_takes_the_records_own_id_without_a_second_request() -> None:
    """A landing URL's id may not be the record's (``/uploads/q1w2e``): the id read before the
    files is used for the content URLs, so the record is fetched once, as before."""
    doc = _record(20)
    body = json.dumps(doc).encode()
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return httpx.Response(200, stream=_Chunks(body, 300))

    async def go() -> Manifest:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            return await ADAPTER.list_files(RecordRef("invenio", Z, "q1w2e", "Zenodo"),
                                            Resolved("x", None, f"{Z}/uploads/q1w2e", None),
                                            Http(client, max_attempts=1))

    got = asyncio.run(go())
    assert len(calls) == 1 and got.files == parse_record(doc, Z, record_id="q1w2e").files
    assert all("/api/records/42/files/" in f.urls[-1] for f in got.files)


def test_link_header_builds_only_the_items_it_shows(monkeypatch) -> None:
    from doi2data.identifiers import parse_identifier
    from doi2data.service.signposting import dataset_links

    m = Manifest(Dataset("10.1/x"), _zenodo_like(5000))
    built: list[int] = []
    real = FileList._entry
    monkeypatch.setattr(FileList, "_entry", lambda self, row: (built.append(row), real(self, row))[1])
    links = dataset_links("https://gw/10.1/x", parse_identifier("10.1/x"), m, max_items=10)
    assert sum(1 for link in links if link.rel == "item") == 10 and len(built) == 10


def test_distinct_field_values_come_from_the_rows_not_the_shared_tables() -> None:
    files = FileList(ODD_ENTRIES)
    assert files.distinct("access") == {"open", "restricted"}
    assert files.distinct("media_type") == {"text/plain", None}
    kept = files.take([0, 1])  # shares the tables, which also know "restricted"
    assert kept.distinct("access") == {"open"}
    assert FileList().distinct("access") == set()


_NAMES = st.text(st.sampled_from("ab/.~%é Z-"), min_size=1, max_size=8)
_URL_SHAPES = st.sampled_from([
    lambda p: f"https://zenodo.org/api/records/1/files/{quote(p, safe='', errors='surrogatepass')}/content",
    lambda p: f"https://h/x/{quote(p, errors='surrogatepass')}",
    lambda p: f"https://h/{p}?raw=1",
    lambda p: "https://other.example/blob/123",
])


@given(st.lists(st.tuples(_NAMES, st.lists(_URL_SHAPES, max_size=2)), max_size=12))
@settings(max_examples=300, deadline=None)
def test_rows_that_share_or_change_url_templates_round_trip(rows: list[tuple[str, list[Callable[[str], str]]]]) -> None:
    """The builder reuses the previous row's URL templates when they fit: whatever the order of
    shapes and names, every URL comes back as it was given."""
    entries = [FileEntry(path, 1, {}, tuple(shape(path) for shape in shapes)) for path, shapes in rows]
    assert [e.urls for e in FileList(entries)] == [e.urls for e in entries]


@given(st.text(st.sampled_from("md5sha1:0123456789abcdefABCDEF -"), max_size=50))
@settings(max_examples=500, deadline=None)
def test_canonical_prefixed_checksums_parse_as_before(value: str) -> None:
    """The fast path for an already canonical ``md5:<hex>`` gives what the general parse gives."""
    from doi2data.entry import (
        normalize_algorithm,
        normalize_digest,
        parse_prefixed_checksum,
    )
    algorithm, sep, digest = value.partition(":")
    general = {} if not value.strip() else {"": value} if not sep else \
        {normalize_algorithm(algorithm): normalize_digest(normalize_algorithm(algorithm), digest) or digest}
    assert parse_prefixed_checksum(value) == general


def test_row_facts_from_the_columns_are_the_entrys_own() -> None:
    """Planning and verify read size, checksums, access and whether there is a URL from the columns;
    they must be what the entry itself says, for every shape of row and after a reorder."""
    from doi2data.filelist import entry_facts, facts_of
    files = FileList([FileEntry("first-no-url", 1), *ODD_ENTRIES])
    for listing in (files, files.sorted_by_path(), files.take([3, 0, 2])):
        facts = facts_of(listing)
        assert [facts(row) for row in range(len(listing))] == [entry_facts(e) for e in listing]
    assert facts_of(ODD_ENTRIES)(2) == (0, {}, "open", False, {})
