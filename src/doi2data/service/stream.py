"""Origin bytes through the gateway: the event-loop side of single files and archives.

Why so little here: the reading, resuming and verifying happen on a producer thread per response
(:mod:`.origin` through :mod:`.pump`); the loop only opens the first origin response before the
status line goes out (so a 404 or 403 at the origin is still a proper problem response) and then
writes the queued 1 MiB chunks to the client. :class:`StreamedBody` guarantees the producer is
stopped and its origin connections closed however the response ends - completed, cut after a
failed verification, or abandoned by a client that hung up.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import re
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from ..entry import FileEntry
from ..errors import Doi2DataError, UsageError
from ..identifiers import Identifier
from . import origin
from .archive import ArchiveKind, Member, TarWriter, ZipWriter, writer
from .origin import OriginBusy, Verifier
from .problems import NotFound, TooLarge
from .pump import ThreadPump

if TYPE_CHECKING:
    from .gateway import Gateway

FORWARDED_REQUEST = ("range", "if-range", "if-none-match", "if-modified-since")
COPIED_RESPONSE = ("content-length", "content-range", "accept-ranges", "etag", "last-modified", "cache-control")


async def blocking(fn: Callable[..., Any], *args: Any, executor: Executor | None = None, **kwargs: Any) -> Any:
    """Run ``fn`` on a worker thread (of ``executor``, else the loop's default); if the caller is
    cancelled meanwhile, a response it returns later is closed instead of leaking its connection."""
    call = functools.partial(_detached, fn, *args, **kwargs)
    future = asyncio.get_running_loop().run_in_executor(executor, call)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        future.add_done_callback(_close_result)
        raise


def _detached(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call ``fn``; an expected failure leaves its frames behind on this thread.

    Why: a traceback keeps the worker's locals alive (h5py objects among them), and freeing
    those on the event loop would wait there for h5py's global lock, which another worker may
    hold for the length of a network read.
    """
    try:
        return fn(*args, **kwargs)
    except Doi2DataError as exc:
        seen: BaseException | None = exc
        visited: set[int] = set()
        while seen is not None and id(seen) not in visited:
            visited.add(id(seen))
            seen.__traceback__ = None
            seen = seen.__cause__ or seen.__context__
        raise exc from exc.__cause__


def _close_result(future: asyncio.Future[Any]) -> None:
    if not future.cancelled() and future.exception() is None:
        close = getattr(future.result(), "close", None)
        if close is not None:
            close()


async def open_origin(client: httpx.Client, entry: FileEntry, headers: Mapping[str, str] | None = None,
                      *, ok: tuple[int, ...] = (200, 206)) -> httpx.Response:
    """Open the file's origin response on a worker thread (retries and mirrors as :mod:`.origin`).

    A URL httpx cannot even send (a CR/LF from the repository's JSON) is a 404: no usable URL.
    """
    try:
        response: httpx.Response = await blocking(origin.open_origin, client, entry, headers, ok=ok)
    except httpx.InvalidURL as exc:
        raise NotFound(f"{entry.path!r} has no usable download URL ({exc})") from None
    return response


def pumped(make: Callable[[], Iterator[bytes]]) -> ThreadPump[bytes]:
    """The chunks of ``make()`` produced on their own thread (bounded queue, see :mod:`.pump`)."""
    return ThreadPump(make)


def verified_file(client: httpx.Client, entry: FileEntry, first: httpx.Response) -> ThreadPump[bytes]:
    return pumped(lambda: origin.verified_file(client, entry, first))


def partial_file(response: httpx.Response) -> ThreadPump[bytes]:
    return pumped(lambda: origin.partial_file(response))


def archive_body(client: httpx.Client, archive: ZipWriter | TarWriter, first: httpx.Response | None
                 ) -> ThreadPump[bytes]:
    return pumped(lambda: origin.archive_bytes(client, archive, first))


def archive_kind(value: str) -> ArchiveKind:
    kind = value.lower()
    if kind not in ("zip", "tar"):
        raise UsageError("archive must be zip or tar")
    return kind  # type: ignore[return-value]


async def archive_response(request: Request, gw: Gateway, kind: ArchiveKind, members: list[Member], *,
                           filename: str, etag_parts: list[str], year: int | None, client: str,
                           headers: dict[str, str], head: bool, cleanup: Callable[[], None] | None = None
                           ) -> Response:
    """One zip or tar of ``members`` (safe names already), streamed with an exact Content-Length.

    ``cleanup`` runs once the body is done with (local members made for this response).
    """
    if not members:  # every selected name was refused (absolute, "..", the tool's own folder...)
        raise NotFound("none of the selected files has a name that is safe to write, so there is nothing "
                       "to archive")
    if kind == "tar" and any(m.size is None for m in members):
        raise UsageError("a tar archive needs every file's size; some are unknown - use archive=zip")
    archive = writer(kind, members, year)
    size = archive.predicted_size()
    known = sum(m.size or 0 for m in members)
    if (size or known) > gw.config.max_archive_size:
        raise TooLarge(f"the archive would be {size or known} bytes; the limit is {gw.config.max_archive_size}")
    digest = hashlib.sha256("\0".join([kind, *etag_parts, *(m.name for m in members)]).encode()).hexdigest()[:24]
    headers = {**headers, "Content-Disposition": disposition(filename), "ETag": f'"{digest}"',
               "X-Doi2data-Members": str(len(members)), "Accept-Ranges": "none"}
    if size is not None:
        headers["Content-Length"] = str(size)
    media = "application/zip" if kind == "zip" else "application/x-tar"
    request.state.kind = f"archive-{kind}"
    if request.headers.get("if-none-match") == f'"{digest}"' or head:
        if cleanup is not None:
            cleanup()
        if not head:
            return Response(status_code=304, headers=headers)
        return Response(status_code=200, headers=headers, media_type=media)
    gw.limits.acquire(client)
    try:
        first = None if members[0].local is not None else await open_origin(gw.sync_client, members[0].entry)
    except BaseException:
        gw.limits.release(client)
        raise
    body = gw.held(archive_body(gw.sync_client, archive, first), client)
    return StreamedBody(body if cleanup is None else finally_run(body, cleanup), headers=headers, media_type=media)


async def finally_run(body: AsyncIterator[bytes], cleanup: Callable[[], None]) -> AsyncIterator[bytes]:
    """Forward ``body``; close it and run ``cleanup`` (on a thread) however the response ends."""
    try:
        async for chunk in body:
            yield chunk
    finally:
        close = getattr(body, "aclose", None)
        if close is not None:
            await close()
        await asyncio.to_thread(cleanup)


def slug(ident: Identifier) -> str:
    """A file-name-safe form of the identifier (archive names)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", ident.value).strip("._") or "dataset"


MAX_FILENAME = 200  # characters of a name in Content-Disposition (its extension is kept)
_UNSAFE_IN_HEADER = re.compile(r"[^\x20-\x7e]")


def disposition(name: str) -> str:
    """``Content-Disposition: attachment`` with an ASCII fallback and the UTF-8 name (RFC 6266).

    The name comes from a repository or an archive, so it may hold anything: control characters
    are dropped (a CR/LF would end the header), lone surrogates become U+FFFD, and a long name is
    shortened from the middle; the result is printable ASCII whatever ``name`` was.
    """
    name = "".join(c for c in name if c.isprintable())  # drops controls, separators and lone surrogates
    if len(name) > MAX_FILENAME:
        _, dot, ext = name.rpartition(".")
        ext = dot + ext if dot and len(ext) <= 16 else ""
        name = name[: MAX_FILENAME - len(ext)] + ext
    ascii_name = re.sub(r'[^A-Za-z0-9._ -]', "_", name).strip() or "download"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='') or 'download'}"


def header_text(value: str) -> str:
    """Any text as a header value: printable ASCII kept, everything else percent-encoded (UTF-8).

    Why: a CR/LF in a name from a repository would end the header (the server drops the
    connection), and a character outside Latin-1 cannot be encoded at all (a 500).
    """
    if not _UNSAFE_IN_HEADER.search(value):
        return value
    return _UNSAFE_IN_HEADER.sub(lambda m: quote(m.group().encode("utf-8", "surrogatepass"), safe=""), value)


class StreamedBody(StreamingResponse):
    """A streaming response that always closes its body iterator (and so stops its producer),
    also when the client disconnects mid-body - Starlette leaves that to garbage collection.

    Header values pass :func:`header_text` (names of files and members travel in ``X-Doi2data-*``).
    """

    def init_headers(self, headers: Mapping[str, str] | None = None) -> None:
        super().init_headers({k: header_text(v) for k, v in headers.items()} if headers else headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            close = getattr(self.body_iterator, "aclose", None)
            if close is not None:
                await close()


__all__ = ["COPIED_RESPONSE", "FORWARDED_REQUEST", "OriginBusy", "StreamedBody", "Verifier", "archive_body",
           "archive_kind", "archive_response", "blocking", "disposition", "finally_run", "header_text", "open_origin",
           "partial_file", "pumped", "slug", "verified_file"]
