"""Origin bytes, read blocking on a producer thread (:mod:`.pump`): open, resume, verify.

Why blocking: the transfer engine measured Python's C-level TLS sockets at about twice the rate
of asyncio's TLS layer, and a thread that reads, hashes (MD5/SHA and CRC-32 release the GIL on
large buffers) and queues 1 MiB chunks leaves the event loop nothing to do but write them.

Every URL comes from a manifest and every hop (redirects included) passes the gateway's safety
hook on the blocking client (:meth:`.safety.DestinationPolicy.sync_hook`). Bodies are read raw
(``Accept-Encoding: identity``) so the bytes hashed are the bytes sent.

Verification: each archive member and each full single-file body is counted and hashed (every
checksum the manifest has, plus CRC-32 for ZIP). A mismatch raises :class:`StreamAborted`
*before* the member's trailer (the zip data descriptor) or the file's last chunk is handed on,
so the connection is cut short of its announced ``Content-Length``. A connection that drops
mid-member is resumed with ``Range`` + ``If-Range``; an origin that then answers 200 (changed
file, no ranges) aborts the stream rather than splice two versions.
"""

from __future__ import annotations

import time
import zlib
from collections import deque
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import httpx

from ..entry import FileEntry
from ..errors import AccessDenied, Doi2DataError, TransferError
from ..http import backoff_delay, coalesced, retry_after_seconds, send_sync, translate_transport_error
from ..transfer.hashing import MultiHasher, mismatches
from .archive import TarWriter, ZipWriter
from .problems import GatewayError, StreamAborted
from .pump import CHUNK

ATTEMPTS = 3
HASH_DEPTH = 4  # chunks waiting to be hashed, per response


class OriginBusy(GatewayError):
    """The origin asked us to slow down (429/503); the caller may retry later."""

    http_status = 503


def status_error(response: httpx.Response, entry: FileEntry) -> Doi2DataError:
    status = response.status_code
    what = f"{entry.path!r} at {response.url.host}"
    if status in (401, 403):
        return AccessDenied(f"the origin refused {what} (HTTP {status})", url=str(response.url))
    if status in (429, 503):
        wait = retry_after_seconds(response.headers)
        return OriginBusy(f"the origin is busy serving {what} (HTTP {status})",
                          headers={"Retry-After": str(int(wait or 30))})
    return TransferError(f"the origin answered HTTP {status} for {what}", url=str(response.url))


def open_origin(client: httpx.Client, entry: FileEntry, headers: Mapping[str, str] | None = None,
                *, ok: tuple[int, ...] = (200, 206)) -> httpx.Response:
    """Open a streaming GET for the file (mirrors tried in order, transient failures retried)."""
    if not entry.urls:
        raise TransferError(f"{entry.path!r} has no download URL")
    sent = {"Accept-Encoding": "identity", **dict(headers or {})}
    last: Doi2DataError | None = None
    for attempt in range(ATTEMPTS):
        url = entry.urls[attempt % len(entry.urls)]
        try:
            response = send_sync(client, "GET", url, headers=sent, stream=True)
        except httpx.TransportError as exc:
            last = translate_transport_error(exc, url)
        else:
            if response.status_code in ok:
                return response
            response.close()
            last = status_error(response, entry)
            if response.status_code not in (429, 500, 502, 503, 504):
                raise last
        if attempt < ATTEMPTS - 1:
            time.sleep(min(2.0, backoff_delay(attempt, base=0.2)))
    assert last is not None
    raise last


class Verifier:
    """Counts and hashes one member's bytes; ``check()`` raises :class:`StreamAborted` on mismatch.

    The manifest's checksums are computed on a helper thread (``hash_on``) when given: MD5 alone
    costs about as much CPU as reading the TLS stream (measured: ~3 ms per MB with CRC-32 on
    this machine's cores), so the two overlap instead of taking turns on the producer thread;
    CRC-32 (zip only) stays on the producer, which balances the two. At most
    :data:`HASH_DEPTH` chunks wait for the helper; ``check()`` waits for the rest.
    """

    def __init__(self, entry: FileEntry, crc: bool = False, hash_on: ThreadPoolExecutor | None = None) -> None:
        self.entry, self.size = entry, 0
        self.hasher = MultiHasher(entry.checksums)
        self.crc: int | None = 0 if crc else None
        self._pool = hash_on
        self._pending: deque[Future[None]] = deque()

    def update(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.entry.size is not None and self.size > self.entry.size:
            raise StreamAborted(f"{self.entry.path!r}: the origin sent more than {self.entry.size} bytes")
        if self.crc is not None:
            self.crc = zlib.crc32(chunk, self.crc)
        if not self.entry.checksums:
            return
        if self._pool is None:
            self.hasher.update(chunk)
            return
        self._pending.append(self._pool.submit(self.hasher.update, chunk))
        while len(self._pending) > HASH_DEPTH or (self._pending and self._pending[0].done()):
            self._pending.popleft().result()

    def check(self) -> None:
        while self._pending:
            self._pending.popleft().result()
        if self.entry.size is not None and self.size != self.entry.size:
            raise StreamAborted(f"{self.entry.path!r}: got {self.size} bytes, expected {self.entry.size}")
        if bad := mismatches(self.entry.checksums, self.hasher.digests()):
            raise StreamAborted(f"{self.entry.path!r}: checksum mismatch ({'; '.join(bad)})")


def hash_thread() -> ThreadPoolExecutor:
    """One hashing thread for one response (order kept: a single worker)."""
    return ThreadPoolExecutor(1, thread_name_prefix="doi2data-hash")


def _validator(response: httpx.Response) -> str | None:
    etag: str = response.headers.get("etag", "")
    modified: str | None = response.headers.get("last-modified")
    return etag if etag and not etag.startswith("W/") else modified


def member_bytes(client: httpx.Client, entry: FileEntry, first: httpx.Response | None = None) -> Iterator[bytes]:
    """All of a file's bytes from the origin in chunks of up to :data:`CHUNK`, resuming a dropped
    connection with ``Range`` + ``If-Range`` (at most :data:`ATTEMPTS` times)."""
    got, validator = 0, None
    response = first
    for attempt in range(ATTEMPTS + 1):
        try:
            if response is None:
                headers = {"Range": f"bytes={got}-"} if got else {}
                if got and validator:
                    headers["If-Range"] = validator
                response = open_origin(client, entry, headers)
                if got and response.status_code != 206:
                    raise StreamAborted(f"{entry.path!r}: the origin cannot resume (changed file or no ranges)")
            validator = validator or _validator(response)
            for chunk in coalesced(response.iter_raw(), CHUNK):
                got += len(chunk)
                yield chunk
            return
        except (httpx.TransportError, httpx.StreamError) as exc:
            if entry.size is not None and got == entry.size:
                return  # every byte arrived; only the connection's end was rough
            if attempt >= ATTEMPTS or (entry.size is not None and got > entry.size):
                why = translate_transport_error(exc, entry.url or "") if isinstance(exc, httpx.TransportError) else exc
                raise StreamAborted(f"{entry.path!r}: {why}") from exc
            time.sleep(backoff_delay(attempt, base=0.2))
        except StreamAborted:
            raise
        except Doi2DataError as exc:
            raise StreamAborted(f"{entry.path!r}: {exc}") from exc
        finally:
            if response is not None:
                response.close()
                response = None


def local_bytes(path: Path) -> Iterator[bytes]:
    """A file the gateway made itself (an HDF5 file of chosen frames), in :data:`CHUNK` pieces."""
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            yield chunk


def verified_file(client: httpx.Client, entry: FileEntry, first: httpx.Response) -> Iterator[bytes]:
    """A full (200) single-file body, verified: the last chunk is held back until it checks out."""
    hashing = hash_thread()
    try:
        verifier = Verifier(entry, hash_on=hashing)
        held: bytes | None = None
        for chunk in member_bytes(client, entry, first):
            verifier.update(chunk)
            if held is not None:
                yield held
            held = chunk
        verifier.check()
        if held is not None:
            yield held
    finally:
        hashing.shutdown(wait=False, cancel_futures=True)


def partial_file(response: httpx.Response) -> Iterator[bytes]:
    """A 206 (or other) body passed through as is: a part cannot be checked against whole-file digests."""
    try:
        yield from coalesced(response.iter_raw(), CHUNK)
    except httpx.TransportError as exc:
        raise StreamAborted(f"{translate_transport_error(exc, str(response.url))}") from exc
    finally:
        response.close()


def archive_bytes(client: httpx.Client, archive: ZipWriter | TarWriter, first: httpx.Response | None
                  ) -> Iterator[bytes]:
    """The whole archive: headers, verified member bytes and trailers, in order.

    The next member's origin request is opened on a helper thread while the current one streams,
    so a dataset of many small files does not pay one round trip per member in series.
    """
    members = archive.members
    is_zip = isinstance(archive, ZipWriter)
    opener = ThreadPoolExecutor(1, thread_name_prefix="doi2data-open")
    hashing = hash_thread()
    ahead: Future[httpx.Response] | None = None
    response: httpx.Response | None = None
    try:
        for index, member in enumerate(members):
            response = first if index == 0 else _take(ahead)
            first, ahead = None, None
            following = members[index + 1] if index + 1 < len(members) else None
            if following is not None and following.local is None:
                ahead = opener.submit(open_origin, client, following.entry)
            yield archive.start(member)
            verifier = Verifier(member.entry, crc=is_zip, hash_on=hashing)
            source = local_bytes(member.local) if member.local is not None else member_bytes(client, member.entry,
                                                                                                response)
            for chunk in source:
                verifier.update(chunk)
                yield chunk
            verifier.check()
            member.crc, member.written = verifier.crc or 0, verifier.size
            yield archive.finish(member)
        yield archive.end()
    finally:
        for unread in (first, response):  # opened but not (fully) consumed: closing twice is harmless
            if unread is not None:
                unread.close()
        if ahead is not None:
            ahead.add_done_callback(_close_future)
        opener.shutdown(wait=False, cancel_futures=True)
        hashing.shutdown(wait=False, cancel_futures=True)


def _take(ahead: Future[httpx.Response] | None) -> httpx.Response | None:
    """The prefetched response, or None to let :func:`member_bytes` open (and report) it itself."""
    if ahead is None:
        return None
    try:
        return ahead.result()
    except Doi2DataError:
        return None


def _close_future(future: Future[httpx.Response]) -> None:
    if not future.cancelled() and future.exception() is None:
        future.result().close()


__all__ = [
    "ATTEMPTS",
    "OriginBusy",
    "Verifier",
    "archive_bytes",
    "local_bytes",
    "member_bytes",
    "open_origin",
    "partial_file",
    "status_error",
    "verified_file",
]
