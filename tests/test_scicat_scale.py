"""SciCat listings in bounded memory (issue 19): datasets' origdatablocks streamed, one dataset at a time.

A fake SciCat backend on an httpx MockTransport generates its answers lazily (so its own bytes do
not count in the measurements), in the v3 and v4 shapes of scicat-backend-next.
"""

from __future__ import annotations

import asyncio
import json
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import quote, unquote

import httpx
import ijson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from doi2data.adapters._pan import scicat_files
from doi2data.adapters._pan.scicat_api import folder_names, parse_origdatablocks
from doi2data.adapters._pan.scicat_files import BlockParser
from doi2data.adapters.base import Resolved
from doi2data.adapters.scicat import Instance, scicat_manifest
from doi2data.errors import RecordNotFound
from doi2data.http import Http
from doi2data.model import Manifest

HOST = "scicat.test.example"
DOI = "10.5072/scicat-test-1"
LINK = f"https://files.{HOST}/pub/"


def _file(i: int, huge: bool = False) -> dict[str, Any]:
    return {"path": f"f{i:06d}.bin", "size": 10**20 + i if huge and i % 7 == 5 else i, "time": "2024-01-25T18:34:00.000Z", "chk": f"{i:064x}",
            "uid": "e1234", "gid": "p1", "perm": "-rw-r--r--"}


class _Lazy(httpx.AsyncByteStream):
    """A body made as it is read; optionally broken off (ReadError) after ``cut`` bytes."""

    def __init__(self, pieces: Iterator[bytes], cut: int | None = None) -> None:
        self.pieces, self.cut = pieces, cut

    async def __aiter__(self) -> AsyncIterator[bytes]:
        sent = 0
        for piece in self.pieces:
            if self.cut is not None and sent + len(piece) > self.cut:
                yield piece[:self.cut - sent]
                raise httpx.ReadError("connection reset")
            sent += len(piece)
            yield piece


class FakeScicat:
    """Publication ``DOI`` of ``len(sizes)`` datasets with ``sizes[d]`` files each, blocks of ``per_block``."""

    def __init__(self, sizes: list[int], *, version: str = "v3", per_block: int = 500,
                 embed: bool | str = True) -> None:
        self.sizes, self.version, self.per_block, self.embed = sizes, version, per_block, embed
        self.pids = [f"20.500.12345/ds-{d:03d}" for d in range(len(sizes))]
        self.folders = [f"/data/beamline/{'same' if d % 3 == 0 else 'set'}{d // 3:03d}/raw" for d in range(len(sizes))]
        self.requests: list[str] = []
        self.cut: dict[int, int] = {}  # dataset -> break its next files answer after this many bytes
        self.missing: set[int] = set()  # datasets whose files answer is a 404
        self.huge: set[int] = set()  # datasets with sizes past 64 bits (yajl refuses them, json takes them)

    def blocks(self, d: int) -> Iterator[bytes]:
        yield b"["
        n = self.sizes[d]
        for b, start in enumerate(range(0, n, self.per_block)):
            files = ",".join(json.dumps(_file(i, d in self.huge)) for i in range(start, min(n, start + self.per_block)))
            yield (b"," if b else b"") + (f'{{"_id": "blk-{d}-{b}", "datasetId": "{self.pids[d]}", "size": 0, '
                                          f'"chkAlg": "sha256", "dataFileList": [{files}]}}').encode()
        yield b"]"

    def doc(self, d: int) -> dict[str, Any]:
        return {"pid": self.pids[d], "datasetName": f"set {d}", "type": "raw", "sourceFolder": self.folders[d],
                "size": 0, "numberOfFiles": self.sizes[d], "isPublished": True, "creationTime": "2024-01-25T18:34:00Z"}

    def publication(self) -> dict[str, Any]:
        if self.version == "v3":
            return {"doi": DOI, "_id": DOI, "creator": ["Ada Example"], "publisher": "Example Facility",
                    "publicationYear": 2024, "title": "Many files", "pidArray": self.pids, "downloadLink": LINK,
                    "status": "registered"}
        return {"pid": DOI, "doi": DOI, "title": "Many files", "datasetPids": self.pids, "status": "public",
                "metadata": {"publisher": {"name": "Example Facility"}, "publicationYear": 2024,
                             "creators": [{"name": "Ada Example"}], "downloadLink": LINK}}

    def _files(self, d: int, head: bytes = b"", tail: bytes = b"") -> httpx.Response:
        if d in self.missing:
            return httpx.Response(404, json={"statusCode": 404, "message": "not found"})

        def pieces() -> Iterator[bytes]:
            yield head
            yield from self.blocks(d)
            yield tail
        return httpx.Response(200, headers={"Content-Type": "application/json"},
                              stream=_Lazy(pieces(), self.cut.pop(d, None)))

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(f"{request.url.raw_path.decode()}")
        segs = [unquote(s) for s in request.url.raw_path.decode().split("?")[0].split("/") if s]
        version, kind, rest = segs[1], segs[2].lower(), segs[3:]
        if version != self.version:
            return httpx.Response(404, json={"statusCode": 404})
        if kind == "publisheddata":
            return httpx.Response(200, json=self.publication()) if "/".join(rest) == DOI else httpx.Response(404)
        if kind == "datasets" and version == "v4" and rest[0] == "public":
            rest = rest[1:]
        blocks = rest[-1] == "origdatablocks"
        d = self.pids.index("/".join(rest[:-1] if blocks else rest))
        if blocks:
            return self._files(d)
        if (version == "v4" and "origdatablocks" in request.url.params.get("include", "") and self.embed) \
                or self.embed == "always":
            head = json.dumps(self.doc(d))[:-1].encode() + b', "origdatablocks": '
            return self._files(d, head, b"}")
        return httpx.Response(200, json=self.doc(d))

    def expected(self) -> list[tuple[str, int | None, dict[str, str], tuple[str, ...]]]:
        """What the listing was before streaming: whole answers parsed (``json.loads``), then named."""
        names = folder_names(self.folders)
        out = []
        for d, name in enumerate(names):
            files, _ = parse_origdatablocks(json.loads(b"".join(self.blocks(d))), self.folders[d])
            folder = LINK + "/".join(quote(s) for s in self.folders[d].split("/") if s) + "/"
            out += [(f"{name}/{f.path}", f.size, dict(f.checksums), (folder + quote(f.path),)) for f in files]
        return out


def listing(fake: FakeScicat, **kw: Any) -> Manifest:
    async def run() -> Manifest:
        async with httpx.AsyncClient(transport=httpx.MockTransport(fake.handler)) as client:
            http = Http(client, **kw)
            resolved = Resolved(DOI, DOI, f"https://{HOST}/detail/{DOI}", None)
            return await scicat_manifest(http, Instance(HOST, f"https://{HOST}/api"), DOI, resolved, "Test SciCat")
    return asyncio.run(run())


def rows(manifest: Manifest) -> list[tuple[str, int | None, dict[str, str], tuple[str, ...]]]:
    return [(f.path, f.size, dict(f.checksums), f.urls) for f in manifest.files]


@pytest.mark.parametrize("sizes, bound", [
    ([10_000], 5_000_000),     # the answer parsed whole (a dict per file) took ~9.3 MB above the result
    ([100] * 100, 1_300_000),  # every dataset's own file list kept until all were fetched: ~1.9 MB
])
def test_listing_holds_a_page_not_the_answers(sizes: list[int], bound: int) -> None:
    """10,000 files: the listing's peak is its result plus a page and what is read ahead (measured
    ~1.4 and ~0.7 MB above the ~2-3 MB result), not whole answers or a second copy of the files."""
    fake = FakeScicat(sizes)
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        manifest = listing(fake)
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(manifest.files) == 10_000
    assert peak - held < bound, (held - start, peak - held)


def test_same_listing_as_whole_answers_v3_and_v4() -> None:
    fake = FakeScicat([3, 0, 1200, 7, 501])
    manifest = listing(fake)
    assert rows(manifest) == fake.expected()
    assert manifest.warnings == (f"dataset {fake.pids[1]} lists no files (no origdatablocks)",)
    assert [d.name for d in manifest.datasets] == folder_names(fake.folders)
    v4 = FakeScicat([3, 0, 1200, 7, 501], version="v4")
    assert rows(listing(v4)) == fake.expected()
    assert any("include=origdatablocks" in r for r in v4.requests)
    plain = FakeScicat([3, 0, 1200, 7, 501], version="v4", embed=False)  # no include: /origdatablocks
    assert rows(listing(plain)) == fake.expected()
    assert sum(r.endswith("/origdatablocks") for r in plain.requests) == 5


def test_files_in_the_dataset_document_itself_are_used() -> None:
    fake = FakeScicat([3, 40, 0], embed="always")  # a v3 server that embeds origdatablocks unasked
    assert rows(listing(fake)) == fake.expected()
    assert not any(r.endswith("/origdatablocks") for r in fake.requests)


def test_answer_too_large_to_read_ahead_is_streamed_in_its_turn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scicat_files, "AHEAD_BYTES", 50_000)  # ~230 files of the fake's JSON
    fake = FakeScicat([10, 2000, 20, 300, 5])
    assert rows(listing(fake)) == fake.expected()
    blocks = [r for r in fake.requests if r.endswith("/origdatablocks")]
    # the 300-file answer was read ahead, given up past the budget and fetched again; numberOfFiles
    # kept the 2,000-file one from being read ahead at all
    assert len(blocks) == 5 + 1


def test_broken_stream_is_fetched_again_without_repeating_files(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scicat_files, "backoff_delay", lambda attempt: 0)
    monkeypatch.setattr(scicat_files, "WINDOW", 1)  # no read-ahead: the answer is streamed as it is parsed
    fake = FakeScicat([300, 4000, 50])
    fake.cut[1] = 300_000  # mid-way through dataset 1's answer, after ~1,300 files were handed on
    assert rows(listing(fake)) == fake.expected()
    assert sum(r.endswith(f"{quote(fake.pids[1], safe='')}/origdatablocks") for r in fake.requests) == 2


@pytest.mark.parametrize("window", [1, 8])
def test_numbers_past_64_bits_are_read_as_json_reads_them(monkeypatch: pytest.MonkeyPatch, window: int) -> None:
    monkeypatch.setattr(scicat_files, "WINDOW", window)  # 1: a live stream; 8: an answer read ahead
    fake = FakeScicat([20, 900, 20])
    fake.huge.add(1)
    manifest = listing(fake)
    assert rows(manifest) == fake.expected()
    assert manifest.files[20 + 5].size == 10**20 + 5


def test_missing_answer_is_the_error_of_its_dataset() -> None:
    fake = FakeScicat([5, 5, 5, 5])
    fake.missing.add(2)
    with pytest.raises(RecordNotFound, match="origdatablocks of 20.500.12345/ds-002"):
        listing(fake)


_SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-5, 2**63 - 1), st.floats(allow_nan=False, allow_infinity=False),
                    st.sampled_from(["", " ", "/", "a.h5", "/src/f/b.h5", "sub//c.h5", "./d", "AB" * 32, "SHA-256",
                                     "md5", "blake2b", "item", "dataFileList", "00"]))
_VALUE = st.recursive(_SCALAR, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.sampled_from(["path", "size", "chk", "item", "chkAlg", "dataFileList", "x"]), inner, max_size=3), max_leaves=8)
_ENTRY = st.dictionaries(st.sampled_from(["path", "size", "chk", "time", "item"]), _VALUE, max_size=4) | _VALUE
_BLOCK = st.fixed_dictionaries({}, optional={"chkAlg": _VALUE, "dataFileList": st.lists(_ENTRY, max_size=6) | _VALUE,
                                             "_id": _SCALAR, "item": _VALUE}) | _VALUE


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(blocks=st.lists(_BLOCK, max_size=4) | _VALUE, order=st.permutations(range(4)), step=st.integers(1, 40))
def test_streamed_blocks_read_as_whole_documents(blocks: Any, order: list[int], step: int) -> None:
    """Any document (keys in any order; chkAlg after the file list too), fed in any pieces."""
    if isinstance(blocks, list):  # key order varies: chkAlg before or after dataFileList
        rank = {"chkAlg": 0, "dataFileList": 1, "_id": 2, "item": 3}
        blocks = [dict(sorted(b.items(), key=lambda kv: order[rank.get(kv[0], 3)])) if isinstance(b, dict) else b
                  for b in blocks]
    expected = [(f.path, f.size, dict(f.checksums)) for f in parse_origdatablocks(blocks, "/src/f")[0]]
    for base, doc in (("", blocks), ("origdatablocks", {"pid": "p", "origdatablocks": blocks, "item": blocks})):
        body = json.dumps(doc).encode()
        events = ijson.sendable_list()
        coro = ijson.parse_coro(events, use_float=True)
        parser = BlockParser(base, "/src/f")
        got = []
        for at in range(0, len(body), step):
            coro.send(body[at:at + step])
            got += parser.feed(events)
            del events[:]
        coro.close()
        got += parser.feed(events)
        firsts = {}
        for row in got:  # the listing keeps the first of a path listed twice
            firsts.setdefault(row[0], row)
        assert list(firsts.values()) == expected
