"""Render a (possibly filtered) manifest as the negotiated representation, with cache headers.

Why memoised: the cached fast path (an unfiltered manifest in memory) must not re-serialise or
re-render anything, so each entry keeps its rendered bytes per representation and anchor;
filtered views are rendered per request (rarely repeated), on a worker thread when large.
Past :data:`STREAM_FILES` files nothing is rendered whole: the JSON goes out of its packed copy,
every other representation but the page is made piece by piece as it is sent (:mod:`.renderings`).
"""

from __future__ import annotations

import asyncio
import hashlib
import json

from collections.abc import AsyncIterator, Callable, Iterator

from starlette.concurrency import iterate_in_threadpool
from starlette.responses import Response, StreamingResponse

from ..formats import render
from ..identifiers import Identifier
from ..model import Manifest
from .manifests import PACK_FILES, CacheState, Entry, encode
from .negotiate import Choice
from .pages import render_dataset
from .renderings import STREAMED, pieces, utf8
from .signposting import linkset_json, linkset_text

_TEXT = ("text/", "application/linkset", "application/metalink4+xml")


class Pieces:
    """A body sent in pieces (a large manifest's JSON, decompressed as it goes out): its length
    is known up front (``Content-Length``), the bytes are never joined."""

    def __init__(self, length: int, pieces: Callable[[], Iterator[bytes]]) -> None:
        self.length, self._pieces = length, pieces

    def __len__(self) -> int:
        return self.length

    def __iter__(self) -> Iterator[bytes]:
        return self._pieces()


class Streamed:
    """A body made as it is sent (:mod:`.renderings`): its length is not known (chunked), and
    nothing of it is kept once sent."""

    def __init__(self, pieces: Callable[[], Iterator[bytes]]) -> None:
        self._pieces = pieces

    def __iter__(self) -> Iterator[bytes]:
        return self._pieces()


Body = bytes | Pieces | Streamed
#: Past this many files a representation (other than the page, which shows at most
#: :data:`.pages.MAX_ROWS` rows) is made as it is sent and never memoised: whole, a Metalink of
#: 100,000 files took the gateway to 476 MB, and it stayed on the cache entry.
STREAM_FILES = PACK_FILES


def streams(choice: Choice, manifest: Manifest) -> bool:
    """Whether this representation is made as it is sent (see :data:`STREAM_FILES`)."""
    return len(manifest.files) > STREAM_FILES and choice.name in STREAMED


def body_for(choice: Choice, manifest: Manifest, entry: Entry, ident: Identifier, anchor: str, base: str,
             filtered: bool, include: str = "", page: int = 1, again: str = "") -> Body:
    """The representation's bytes; unfiltered renderings are memoised on the entry."""
    if choice.name == "json" and not filtered and entry.json_length >= 0:
        return Pieces(entry.length, entry.json_pieces)  # packed: streamed, never joined
    if streams(choice, manifest):
        return Streamed(lambda: pieces(choice.name, manifest, ident, anchor))
    memo = None if filtered or page > 1 else f"{choice.name}\0{anchor}"
    if memo is not None and memo in entry.rendered:
        return entry.rendered[memo]
    if choice.name == "json":
        body = entry.body if not filtered else encode(manifest)
    elif choice.name == "html":
        body = render_dataset(manifest, ident, anchor, base, total_files=len(entry.manifest.files),
                              include=include, page=page, again=again).encode()
    elif choice.name == "linkset":
        body = linkset_json(anchor, ident, manifest)
    elif choice.name == "linkset-text":
        body = linkset_text(anchor, ident, manifest)
    else:
        body = utf8(render(choice.name, manifest).text)
    if memo is not None:
        entry.rendered[memo] = body
    return body


#: A rendering of more files than this is made on a worker thread: a metalink of 20,000 files
#: takes seconds of CPU, and on the event loop every other request (``/healthz`` too) would wait.
OFF_LOOP_FILES = 500


async def rendered(choice: Choice, manifest: Manifest, entry: Entry, ident: Identifier, anchor: str, base: str,
                   filtered: bool, include: str = "", page: int = 1, again: str = "") -> Body:
    """:func:`body_for`, off the event loop unless memoised or small (``page``, ``again``: the HTML
    page's rows and the query its page links repeat)."""
    memo = entry.rendered.get(f"{choice.name}\0{anchor}") if not filtered and page == 1 else None
    if memo is not None:
        return memo
    if len(manifest.files) <= OFF_LOOP_FILES or (choice.name == "json" and not filtered) or streams(choice, manifest):
        return body_for(choice, manifest, entry, ident, anchor, base, filtered, include, page, again)
    return await asyncio.to_thread(body_for, choice, manifest, entry, ident, anchor, base, filtered, include, page,
                                   again)


def media_type(choice: Choice) -> str:
    media = choice.media_type
    if media.startswith(_TEXT) and "charset" not in media:
        media += "; charset=utf-8"
    return media


def etag_for(entry: Entry, choice: Choice, selection_key: str) -> str:
    tag = hashlib.sha256(f"{entry.etag}|{choice.name}|{selection_key}".encode()).hexdigest()[:24]
    return f'W/"{tag}"'


def cache_headers(entry: Entry, state: CacheState, *, max_age: int, stale: float, age: float) -> dict[str, str]:
    return {"Cache-Control": f"public, max-age={max_age}, stale-while-revalidate={int(stale)}",
            "Age": str(int(age)), "X-Cache": state}


def manifest_response(body: Body, choice: Choice, headers: dict[str, str], *, status: int = 200,
                      etag: str, if_none_match: str | None, head: bool,
                      release: Callable[[], None] | None = None) -> Response:
    """The response. ``release`` (a stream slot taken for a streamed body) is called once the body
    has gone out or the stream ended otherwise, or at once when no body is sent."""
    headers = {**headers, "ETag": etag, "Vary": "Accept"}
    tags = [t.strip() for t in (if_none_match or "").split(",")]
    unchanged = "*" in tags or etag in tags or etag.removeprefix("W/") in tags
    if release is not None and (unchanged or head or not isinstance(body, (Pieces, Streamed))):
        release()
    if unchanged:
        return Response(status_code=304, headers=headers)
    if head:
        if isinstance(body, Streamed):  # its length is known only once it is made: none is said (not 0)
            response = Response(status_code=status, headers=headers, media_type=media_type(choice))
            del response.headers["content-length"]
            return response
        headers["Content-Length"] = str(len(body))
        return Response(status_code=status, headers=headers, media_type=media_type(choice))
    if isinstance(body, (Pieces, Streamed)):
        if isinstance(body, Pieces):
            headers["Content-Length"] = str(len(body))
        # each piece is made on a worker thread, so the event loop never waits for one
        return StreamingResponse(_sent(iter(body), release), status_code=status, headers=headers,
                                 media_type=media_type(choice))
    return Response(body, status_code=status, headers=headers, media_type=media_type(choice))


async def _sent(pieces: Iterator[bytes], release: Callable[[], None] | None) -> AsyncIterator[bytes]:
    try:
        async for piece in iterate_in_threadpool(pieces):
            yield piece
    finally:
        if release is not None:
            release()


__all__ = ["OFF_LOOP_FILES", "STREAM_FILES", "Body", "Pieces", "Streamed", "body_for", "cache_headers", "etag_for",
           "manifest_response", "media_type", "rendered", "streams"]
