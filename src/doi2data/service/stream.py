"""Origin bytes through the gateway: single files (ranges passed on) and verified archives.

Why the gateway fetches with :func:`doi2data.http.send` and never follows a URL it was given:
every URL here comes from a manifest, and every hop runs the client's safety hook. Bodies are
read raw (``Accept-Encoding: identity``) so the bytes hashed are the bytes sent.

Verification: a full single-file body and every archive member are hashed while they pass
(every checksum the manifest has, plus CRC-32 for ZIP) and their length counted. A mismatch
raises :class:`StreamAborted` *before* the member's trailer, so the connection is cut short of
its announced ``Content-Length`` and no client can mistake the download for complete.
An origin connection that drops mid-member is resumed with ``Range`` + ``If-Range``; an origin
that then answers 200 (changed file, no ranges) aborts the stream rather than splice versions.
"""

from __future__ import annotations

import asyncio
import zlib
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from collections.abc import AsyncIterator, Mapping

import httpx

from ..errors import AccessDenied, Doi2DataError, TransferError
from ..http import backoff_delay, retry_after_seconds, send, translate_transport_error
from ..model import FileEntry
from ..transfer.hashing import MultiHasher, mismatches
from .archive import Member, TarWriter, ZipWriter
from .problems import GatewayError, StreamAborted

CHUNK = 1 << 18
ATTEMPTS = 3
FORWARDED_REQUEST = ("range", "if-range", "if-none-match", "if-modified-since")
_HASHERS = ThreadPoolExecutor(max_workers=1, thread_name_prefix="doi2data-hash")
COPIED_RESPONSE = ("content-length", "content-range", "accept-ranges", "etag", "last-modified", "cache-control")


class OriginBusy(GatewayError):
    """The origin asked us to slow down (429/503); the caller may retry later."""

    http_status = 503


def _status_error(response: httpx.Response, entry: FileEntry) -> Doi2DataError:
    status = response.status_code
    what = f"{entry.path!r} at {response.url.host}"
    if status in (401, 403):
        return AccessDenied(f"the origin refused {what} (HTTP {status})", url=str(response.url))
    if status in (429, 503):
        wait = retry_after_seconds(response.headers)
        return OriginBusy(f"the origin is busy serving {what} (HTTP {status})",
                          headers={"Retry-After": str(int(wait or 30))})
    return TransferError(f"the origin answered HTTP {status} for {what}", url=str(response.url))


async def open_origin(client: httpx.AsyncClient, entry: FileEntry, headers: Mapping[str, str] | None = None,
                      *, ok: tuple[int, ...] = (200, 206)) -> httpx.Response:
    """Open a streaming GET for the file (mirrors tried in order, transient failures retried)."""
    if not entry.urls:
        raise TransferError(f"{entry.path!r} has no download URL")
    sent = {"Accept-Encoding": "identity", **dict(headers or {})}
    last: Doi2DataError | None = None
    for attempt in range(ATTEMPTS):
        url = entry.urls[attempt % len(entry.urls)]
        try:
            response = await send(client, "GET", url, headers=sent, stream=True)
        except httpx.TransportError as exc:
            last = translate_transport_error(exc, url)
        else:
            if response.status_code in ok:
                return response
            await response.aclose()
            last = _status_error(response, entry)
            if response.status_code not in (429, 500, 502, 503, 504):
                raise last
        if attempt < ATTEMPTS - 1:
            await asyncio.sleep(min(2.0, backoff_delay(attempt, base=0.2)))
    assert last is not None
    raise last


class Verifier:
    """Counts and hashes one member's bytes; ``check()`` raises :class:`StreamAborted` on mismatch."""

    def __init__(self, entry: FileEntry, crc: bool = False) -> None:
        self.entry, self.size = entry, 0
        self.hasher = MultiHasher(entry.checksums)
        self.crc: int | None = 0 if crc else None

    def update(self, chunk: bytes) -> None:
        self.size += len(chunk)
        self.hasher.update(chunk)
        if self.crc is not None:
            self.crc = zlib.crc32(chunk, self.crc)
        if self.entry.size is not None and self.size > self.entry.size:
            raise StreamAborted(f"{self.entry.path!r}: the origin sent more than {self.entry.size} bytes")

    def check(self) -> None:
        if self.entry.size is not None and self.size != self.entry.size:
            raise StreamAborted(f"{self.entry.path!r}: got {self.size} bytes, expected {self.entry.size}")
        if bad := mismatches(self.entry.checksums, self.hasher.digests()):
            raise StreamAborted(f"{self.entry.path!r}: checksum mismatch ({'; '.join(bad)})")


class HashPipe:
    """Hashes a member's chunks on a private thread while the event loop forwards them.

    Why: MD5/SHA and CRC-32 release the GIL on large buffers, so hashing overlaps TLS reads and
    socket writes instead of taking turns with them on the event loop. Order is kept (one
    worker); at most ``depth`` chunks wait, so memory stays bounded if hashing falls behind.
    """

    def __init__(self, verifier: Verifier, depth: int = 16) -> None:
        self.verifier, self.depth = verifier, depth
        self._pending: deque[asyncio.Future[None]] = deque()

    async def feed(self, chunk: bytes) -> None:
        loop = asyncio.get_running_loop()
        self._pending.append(loop.run_in_executor(_HASHERS, self.verifier.update, chunk))
        while len(self._pending) > self.depth or (self._pending and self._pending[0].done()):
            await self._pending.popleft()  # re-raises StreamAborted from update()

    async def finish(self) -> Verifier:
        while self._pending:
            await self._pending.popleft()
        self.verifier.check()
        return self.verifier


async def member_bytes(client: httpx.AsyncClient, entry: FileEntry, first: httpx.Response | None = None
                       ) -> AsyncIterator[bytes]:
    """All of a file's bytes from the origin, resuming once per attempt after a dropped connection."""
    got, validator = 0, None
    response = first
    for attempt in range(ATTEMPTS + 1):
        try:
            if response is None:
                headers = {"Range": f"bytes={got}-"} if got else {}
                if got and validator:
                    headers["If-Range"] = validator
                response = await open_origin(client, entry, headers)
                if got and response.status_code != 206:
                    raise StreamAborted(f"{entry.path!r}: the origin cannot resume (changed file or no ranges)")
            etag = response.headers.get("etag", "")
            validator = validator or (etag if etag and not etag.startswith("W/") else response.headers.get("last-modified"))
            async for chunk in response.aiter_raw():  # the transport's own read size: no re-chunking
                got += len(chunk)
                yield chunk
            return
        except (httpx.TransportError, httpx.StreamError) as exc:
            if entry.size is not None and got == entry.size:
                return  # every byte arrived; only the connection's end was rough
            if attempt >= ATTEMPTS or (entry.size is not None and got > entry.size):
                why = translate_transport_error(exc, entry.url or "") if isinstance(exc, httpx.TransportError) else exc
                raise StreamAborted(f"{entry.path!r}: {why}") from exc
            await asyncio.sleep(backoff_delay(attempt, base=0.2))
        except Doi2DataError as exc:
            if isinstance(exc, StreamAborted):
                raise
            raise StreamAborted(f"{entry.path!r}: {exc}") from exc
        finally:
            if response is not None:
                await response.aclose()
                response = None


async def verified_file(client: httpx.AsyncClient, entry: FileEntry, first: httpx.Response) -> AsyncIterator[bytes]:
    """A full (200) single-file body, verified; the last chunk is held back until it checks out."""
    pipe = HashPipe(Verifier(entry))
    held: bytes | None = None
    async for chunk in member_bytes(client, entry, first):
        await pipe.feed(chunk)
        if held is not None:
            yield held
        held = chunk
    await pipe.finish()
    if held is not None:
        yield held


async def partial_file(response: httpx.Response) -> AsyncIterator[bytes]:
    """A 206 (or other) body passed through as is: a part cannot be checked against whole-file digests."""
    try:
        async for chunk in response.aiter_raw(CHUNK):
            yield chunk
    finally:
        await response.aclose()


async def archive_body(client: httpx.AsyncClient, archive: ZipWriter | TarWriter,
                       first: httpx.Response | None) -> AsyncIterator[bytes]:
    """The archive's bytes: members in order, the next one's origin request opened in advance."""
    members = archive.members
    is_zip = isinstance(archive, ZipWriter)
    prefetch: asyncio.Task[httpx.Response] | None = None
    try:
        for index, member in enumerate(members):
            response = first if index == 0 else (await _take(prefetch) if prefetch else None)
            prefetch = None
            if index + 1 < len(members):
                prefetch = asyncio.ensure_future(open_origin(client, members[index + 1].entry))
            yield archive.start(member)
            pipe = HashPipe(Verifier(member.entry, crc=is_zip))
            async for chunk in member_bytes(client, member.entry, response):
                await pipe.feed(chunk)
                yield chunk
            verifier = await pipe.finish()
            member.crc, member.written = verifier.crc or 0, verifier.size
            yield archive.finish(member)
        yield archive.end()
    finally:
        if prefetch is not None:
            await _discard(prefetch)
        if first is not None:
            await first.aclose()


async def _discard(task: asyncio.Task[httpx.Response]) -> None:
    task.cancel()
    try:
        response = await task
    except BaseException:  # cancelled or failed: nothing to close
        return
    await response.aclose()


async def _take(task: asyncio.Task[httpx.Response]) -> httpx.Response | None:
    """The prefetched response, or None to let :func:`member_bytes` open (and report) it itself."""
    try:
        return await task
    except Doi2DataError:
        return None


__all__ = ["OriginBusy", "Verifier", "archive_body", "member_bytes", "open_origin", "partial_file", "verified_file"]
