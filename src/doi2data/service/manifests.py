"""Manifests by identifier with TTL and stale-while-revalidate, in front of a :class:`.cache.Store`.

Why two layers: a cached request must cost microseconds (the load target is thousands of
requests per second), so each process keeps decoded manifests in a small in-memory LRU whose
entries carry the store row's ``fetched_at``; the store (SQLite or PostgreSQL) is what survives
restarts and what several processes share. Freshness, for both layers alike:

* age < ``ttl``: fresh, served as is (``hit``);
* ``ttl`` <= age < ``ttl + stale``: served at once (``stale``) while *one* refresh runs in the
  background (single-flight in the process, a lease row across processes);
* older, or absent: the request waits for a resolution (``miss``), concurrent requests for the
  same identifier share it.

"Does not exist" answers are remembered for ``negative_ttl`` seconds in memory only.
"""

from __future__ import annotations

import asyncio
import codecs
import hashlib
import io
import json
import logging
import re
import time
import uuid
import zlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from ..errors import Doi2DataError, IdentifierNotFound, RecordNotFound, UnsupportedRepository
from ..identifiers import Identifier
from ..model import MANIFEST_SCHEMA, Manifest
from ..filelist import FileList, FileListBuilder
from .cache import Store, file_from_json, manifest_from_json

log = logging.getLogger("doi2data.gateway")
CacheState = Literal["hit", "stale", "miss"]
Resolve = Callable[[Identifier], Awaitable[Manifest]]
_NEGATIVE = (IdentifierNotFound, RecordNotFound, UnsupportedRepository)
LEASE_SECONDS = 60.0
#: Manifests larger than this are encoded and decoded on a worker thread (20,000 files: ~0.2 s of
#: CPU that would otherwise stall every other request on the event loop).
OFF_LOOP_FILES, OFF_LOOP_BYTES = 500, 256 * 1024


#: Manifests with more files than this keep their JSON zlib-compressed (in memory and in the store):
#: a file list's JSON shrinks ~10x, and it is built, stored and served in pieces, never whole.
PACK_FILES = 5000
_PIECE = 1 << 20
_IN_SLICE = 1 << 16  # compressed bytes handed to zlib at a time (see unpacked)


@dataclass
class Entry:
    """One cached manifest and what has been derived from it (renderings are memoised).

    ``body`` is the stored row: the manifest's JSON, or (large manifests) that JSON compressed
    with zlib (:func:`is_packed`); :meth:`json_pieces` yields the JSON either way.
    """

    manifest: Manifest
    body: bytes
    fetched_at: float
    etag: str
    rendered: dict[str, bytes] = field(default_factory=dict)
    json_length: int = -1  # bytes of the JSON (-1: ``body`` is the JSON itself)

    @classmethod
    def of(cls, manifest: Manifest, fetched_at: float, body: bytes | None = None) -> Entry:
        length = -1
        if body is None:
            manifest, body, length = packed(manifest) if len(manifest.files) > PACK_FILES else (*encoded(manifest), -1)
        elif is_packed(body):
            length = sum(len(piece) for piece in unpacked(body))
        return cls(manifest, body, fetched_at, hashlib.sha256(body).hexdigest()[:20], json_length=length)

    @property
    def length(self) -> int:
        """Bytes of the JSON."""
        return len(self.body) if self.json_length < 0 else self.json_length

    def json_pieces(self) -> Iterator[bytes]:
        """The JSON in pieces of at most ~1 MiB (decompressed as they are read)."""
        if self.json_length < 0:
            yield self.body
        else:
            yield from unpacked(self.body)


def is_packed(body: bytes) -> bool:
    """A zlib stream (first byte ``x``), not JSON (a manifest's JSON starts with ``{``)."""
    return body[:1] == b"x"


def unpacked(body: bytes) -> Iterator[bytes]:
    """Decompress a packed body piece by piece (each at most ~1 MiB).

    Why the input goes in slices too: ``unconsumed_tail`` is a copy of the input not yet used, so
    handing zlib the whole body made a copy of (the rest of) it per piece - 17 MB held and ~1 GB
    copied while a 1,000,000-file manifest went out.
    """
    inflater = zlib.decompressobj()
    view = memoryview(body)
    for at in range(0, len(view), _IN_SLICE):
        data: bytes | memoryview = view[at : at + _IN_SLICE]
        while data:
            piece = inflater.decompress(data, _PIECE)
            data = inflater.unconsumed_tail
            if piece:
                yield piece
    if rest := inflater.flush():
        yield rest


def packed(manifest: Manifest) -> tuple[Manifest, bytes, int]:
    """``(manifest, zlib(JSON), len(JSON))``, compressed as it is encoded: the JSON never exists whole.
    Lone surrogates (see :func:`encoded`) take the ordinary path and are packed after it."""
    deflater = zlib.compressobj(6)
    out = io.BytesIO()  # its getvalue() hands over the buffer: a list joined at the end held the body twice
    length = 0
    try:
        for text in manifest_json_pieces(manifest):
            raw = text.encode()
            length += len(raw)
            out.write(deflater.compress(raw))
    except UnicodeEncodeError:
        manifest, raw = encoded(manifest)
        return manifest, zlib.compress(raw, 6), len(raw)
    out.write(deflater.flush())
    return manifest, out.getvalue(), length


def encoded(manifest: Manifest) -> tuple[Manifest, bytes]:
    """The manifest and its JSON bytes; lone surrogates become U+FFFD in both.

    Why: a repository's JSON may hold ``"\\ud800"``, which Python decodes to a lone surrogate that
    no UTF-8 writer accepts (every representation, header and page of that dataset was a 500).
    """
    text = _json(manifest)
    try:
        return manifest, text.encode()
    except UnicodeEncodeError:
        text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        return manifest_from_json(decode(text)), text.encode()


def encode(manifest: Manifest) -> bytes:
    """The manifest's JSON bytes (see :func:`encoded`)."""
    return encoded(manifest)[1]


def _json(manifest: Manifest) -> str:
    """The manifest's JSON, character for character what one ``json.dumps`` writes, 500 files at a time.

    Why in pieces: the C encoder holds the GIL for a whole call (60,000 files: 0.4 s in which the
    event loop cannot run, even with the encoding on a worker thread).
    """
    return "".join(manifest_json_pieces(manifest))


def manifest_json_pieces(manifest: Manifest) -> Iterator[str]:
    """:func:`_json` in pieces of 500 files."""
    files, token = manifest.files, uuid.uuid4().hex
    doc = replace(manifest, files=()).to_json()  # the files' dicts are made 500 at a time below, never all
    doc.update(total_size=manifest.total_size, file_count=len(files), files=[token])
    head = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    before, after = head.split(f'"{token}"', 1)
    yield before
    for i in range(0, len(files), 500):
        piece = json.dumps([f.to_json() for f in files[i : i + 500]], ensure_ascii=False, separators=(",", ":"))
        yield ("," if i else "") + piece[1:-1]
    yield after


_SPACE = re.compile(r"[ \t\n\r]*")


def decode(body: bytes | str) -> Any:
    """``json.loads`` of a manifest, one value at a time (one file at a time inside ``files``).

    Why: like the encoder, the C decoder holds the GIL for a whole call (60,000 files: 0.2 s).
    Anything that is not an object is left to ``json.loads``; malformed text is a ``ValueError``.
    """
    text = body.decode() if isinstance(body, bytes) else body
    scan, skip = json.JSONDecoder().raw_decode, _SPACE.match
    i = skip(text).end()
    if text[i : i + 1] != "{":
        return json.loads(text)
    out: dict[str, Any] = {}
    try:
        i = skip(text, i + 1).end()
        closed = text[i] == "}"
        i += closed
        while not closed:
            key, i = scan(text, i)
            i = skip(text, i).end()
            if not isinstance(key, str) or text[i] != ":":
                raise ValueError(f"expected a key and ':' at {i}")
            i = skip(text, i + 1).end()
            if key == "files" and text[i] == "[":
                items: list[Any] = []
                i = skip(text, i + 1).end()
                while text[i] != "]":
                    item, i = scan(text, i)
                    items.append(item)
                    i = skip(text, i).end()
                    if text[i] == ",":
                        i = skip(text, i + 1).end()
                        if text[i] == "]":
                            raise ValueError(f"a ',' before ']' at {i}")
                    elif text[i] != "]":
                        raise ValueError(f"expected ',' or ']' at {i}")
                out[key], i = items, i + 1
            else:
                out[key], i = scan(text, i)
            i = skip(text, i).end()
            closed = text[i] == "}"
            if not closed and text[i] != ",":
                raise ValueError(f"expected ',' or '}}' at {i}")
            i = i + 1 if closed else skip(text, i + 1).end()
    except IndexError:
        raise ValueError("unexpected end of the manifest's JSON") from None
    if text[i:].strip(" \t\n\r"):
        raise ValueError(f"extra data at {i}")
    return out


def _decoded(body: bytes, fetched_at: float) -> Entry:
    """A stored row as an entry; a row written under another contract (an older doi2data: no
    ``"schema": "doi2data-manifest/1"``) is unreadable, so it is resolved afresh rather than served."""
    doc, files = _unpacked_doc(body) if is_packed(body) else (decode(body), None)
    contract = doc.get("schema") if isinstance(doc, dict) else None
    if contract != MANIFEST_SCHEMA:
        raise ValueError(f"row written under contract {str(contract)[:40]!r}, not {MANIFEST_SCHEMA!r}")
    manifest = manifest_from_json(doc)
    return Entry.of(manifest if files is None else replace(manifest, files=files), fetched_at, body)


def _unpacked_doc(body: bytes) -> tuple[Any, FileList]:
    """A packed row read back as it is decompressed: the files go into the compact list one by one
    (the JSON text and a dict per file never exist whole); the rest is a small document.

    Why not ijson: its events cost ~35 us a file in Python (a 1,000,000-file row took 43 s to read
    back); the C decoder's ``raw_decode`` takes one file's object at a time (~8 s).
    """
    return doc_from_pieces(unpacked(body))


def doc_from_pieces(pieces: Iterator[bytes]) -> tuple[dict[str, Any], FileList]:
    """A manifest's JSON arriving in pieces (cut anywhere) as ``(document without files, files)``."""
    scan = _PieceScanner(pieces)
    files = FileListBuilder()
    doc: dict[str, Any] = {}
    try:
        scan.expect("{")
        closed = scan.peek() == "}"
        scan.i += closed
        while not closed:
            key = scan.value()
            if not isinstance(key, str):
                raise ValueError("expected a key")
            scan.expect(":")
            if key == "files" and scan.peek() == "[":
                scan.i += 1
                if scan.peek() == "]":
                    scan.i += 1
                else:
                    files.append(file_from_json(scan.value()))
                    while scan.expect(",]") == ",":
                        files.append(file_from_json(scan.value()))
                doc[key] = []
            else:
                doc[key] = scan.value()
            closed = scan.expect(",}") == "}"
        if scan.peek() != "":
            raise ValueError("extra data after the document")
    except (zlib.error, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"unreadable packed row: {exc}") from exc
    return doc, files.build()


class _PieceScanner:
    """JSON values one at a time from text arriving in pieces (``raw_decode`` on a window).

    A value is taken only when text follows it (a number cut at a piece's end would read short)
    or the text has ended; otherwise the next piece is appended and the value read again.
    """

    def __init__(self, pieces: Iterator[bytes]) -> None:
        self._pieces = pieces
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self._decode = json.JSONDecoder().raw_decode
        self.buf, self.i, self.ended = "", 0, False

    def _more(self, at_least: int = 1) -> bool:
        """Append at least ``at_least`` more characters (fewer at the end); False when none came."""
        if self.ended:
            return False
        if self.i > len(self.buf) // 2:  # drop what was read
            self.buf, self.i = self.buf[self.i :], 0
        texts = []
        while at_least > 0:
            piece = next(self._pieces, None)
            texts.append(self._utf8.decode(piece or b"", final=piece is None))
            at_least -= len(texts[-1])
            if piece is None:
                self.ended = True
                break
        self.buf += "".join(texts)
        return True

    def peek(self) -> str:
        """The next character that is not white space ('' at the end)."""
        while True:
            self.i = _SPACE.match(self.buf, self.i).end()  # type: ignore[union-attr]
            if self.i < len(self.buf) or not self._more():
                return self.buf[self.i : self.i + 1]

    def expect(self, chars: str) -> str:
        found = self.peek()
        if not found or found not in chars:
            raise ValueError(f"expected one of {chars!r} in the manifest's JSON, found {found!r}")
        self.i += 1
        return found

    def value(self) -> Any:
        self.peek()
        while True:
            try:
                value, end = self._decode(self.buf, self.i)
            except json.JSONDecodeError:
                if self._more(max(1, len(self.buf) - self.i)):  # the value so far again: retries stay linear
                    continue
                raise ValueError("unexpected end or malformed value in the manifest's JSON") from None
            if end < len(self.buf) or not self._more():
                self.i = end
                return value


def cache_key(ident: Identifier) -> str:
    return f"{ident.scheme}:{ident.key}"


class ManifestService:
    """``await get(identifier) -> (Entry, state)``; see the module docstring for the rules."""

    def __init__(self, store: Store, resolve: Resolve, *, ttl: float, stale: float, negative_ttl: float = 60.0,
                 memory_entries: int = 1024, memory_files: int = 2_000_000,
                 clock: Callable[[], float] = time.time) -> None:
        self.store, self._resolve, self.ttl, self.stale = store, resolve, ttl, stale
        self.negative_ttl, self._max, self._clock = negative_ttl, max(1, memory_entries), clock
        self._max_files = memory_files
        self._memory: OrderedDict[str, Entry] = OrderedDict()
        self._files_held = 0  # files of the manifests in ``_memory``
        self._negative: dict[str, tuple[Doi2DataError, float]] = {}
        self._inflight: dict[str, asyncio.Future[Entry]] = {}
        self._background: set[asyncio.Task[None]] = set()
        self.stats = {"hit": 0, "stale": 0, "miss": 0, "resolutions": 0, "errors": 0}

    def age(self, entry: Entry) -> float:
        return max(0.0, self._clock() - entry.fetched_at)

    def remaining(self, entry: Entry) -> int:
        return max(0, int(self.ttl - self.age(entry)))

    async def get(self, ident: Identifier) -> tuple[Entry, CacheState]:
        key = cache_key(ident)
        entry = self._memory.get(key)
        if entry is not None:
            self._memory.move_to_end(key)
        else:
            negative = self._negative.get(key)
            if negative and negative[1] > self._clock():
                raise negative[0]
            entry = await self._from_store(key)
        if entry is not None:
            age = self.age(entry)
            if age < self.ttl:
                self.stats["hit"] += 1
                return entry, "hit"
            if age < self.ttl + self.stale:
                self.stats["stale"] += 1
                self._refresh_later(ident, key)
                return entry, "stale"
        self.stats["miss"] += 1
        return await self._refresh(ident, key), "miss"

    async def _from_store(self, key: str) -> Entry | None:
        try:
            row = await self.store.get(key)
        except Exception as exc:  # a broken cache must not take the gateway down: resolve instead
            log.warning("cache read failed for %s: %s", key, exc)
            return None
        if row is None:
            return None
        body, fetched_at = row
        try:
            if len(body) > OFF_LOOP_BYTES:
                entry = await asyncio.to_thread(_decoded, body, fetched_at)
            else:
                entry = _decoded(body, fetched_at)
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring unreadable cache row %s: %s", key, exc)
            return None
        self._remember(key, entry)
        return entry

    def _remember(self, key: str, entry: Entry) -> None:
        """Keep ``entry`` decoded; the least recently used go while there are more than ``memory_entries``
        or their files pass ``memory_files`` (a count alone let a few million-file manifests take gigabytes)."""
        old = self._memory.pop(key, None)
        if old is not None:
            self._files_held -= len(old.manifest.files)
        self._memory[key] = entry
        self._files_held += len(entry.manifest.files)
        while len(self._memory) > 1 and (len(self._memory) > self._max or self._files_held > self._max_files):
            _, gone = self._memory.popitem(last=False)
            self._files_held -= len(gone.manifest.files)

    async def _refresh(self, ident: Identifier, key: str) -> Entry:
        """Resolve once per key at a time; every waiter gets the same entry or error."""
        pending = self._inflight.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Entry] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            self.stats["resolutions"] += 1
            manifest = await self._resolve(ident)
            if len(manifest.files) > OFF_LOOP_FILES:
                entry = await asyncio.to_thread(Entry.of, manifest, self._clock())
            else:
                entry = Entry.of(manifest, self._clock())
            self._remember(key, entry)
            self._negative.pop(key, None)
            try:
                await self.store.put(key, entry.body, entry.fetched_at)
            except Exception as exc:
                log.warning("cache write failed for %s: %s", key, exc)
            future.set_result(entry)
            return entry
        except BaseException as exc:
            self.stats["errors"] += 1
            if isinstance(exc, _NEGATIVE) and self.negative_ttl > 0:
                self._negative[key] = (exc, self._clock() + self.negative_ttl)
            future.set_exception(exc)
            future.exception()  # mark retrieved: a lone waiter re-raises below
            raise
        finally:
            self._inflight.pop(key, None)

    def _refresh_later(self, ident: Identifier, key: str) -> None:
        if key in self._inflight:
            return

        async def run() -> None:
            try:
                fresher = await self._from_store(key)  # another process may have refreshed it
                if fresher is not None and self.age(fresher) < self.ttl:
                    return
                if await self.store.claim(key, LEASE_SECONDS):
                    await self._refresh(ident, key)
            except Exception as exc:  # the stale copy keeps being served; the next request retries
                log.warning("background refresh of %s failed: %s", key, exc)

        task = asyncio.get_running_loop().create_task(run())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def close(self) -> None:
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)


__all__ = ["CacheState", "Entry", "ManifestService", "cache_key", "decode", "doc_from_pieces", "encode", "encoded",
           "manifest_json_pieces"]
