"""Fetch one file's bytes: the plumbing, a single resumable stream, verification and commit.

Which way an attempt goes (one stream here, byte-range pieces in :mod:`.segments`) is decided
in :mod:`.attempt`, so that segments can use this plumbing without a circular import.

Single stream: bytes are hashed while written; a resume re-hashes the local prefix (no network)
and asks for the rest with ``Range`` + ``If-Range``; a 200 where a 206 was asked restarts the
file cleanly. Small files travel in batches (:mod:`.smallfiles`).

Bodies stream in worker threads through a blocking httpx client: Python's C-level TLS sockets
move about twice the bytes per second of asyncio's TLS layer (measured on the sandbox: ~180 vs
~85 MB/s per stream), while scheduling, limits and retries stay in asyncio. Each worker opens
its own file descriptor and stops at the next chunk once its attempt is aborted, so no write
outlives the attempt that started it.
"""

from __future__ import annotations

import asyncio
import functools
import os
import threading
from collections.abc import Callable
from concurrent.futures import Executor
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import httpx

from ..errors import TransferError, VerificationError
from ..http import RETRY_STATUSES, Credentials, coalesced, retry_after_seconds, send_sync, translate_transport_error
from ..entry import FileEntry
from .common import (RESUME_FROM, Aborted, FetchSettings, Job, Overlong, Retry, capped, expected_digests, host_of,
                     partial_info, range_start)
from .disk import Writeback
from .hashing import HashPipe, MultiHasher, hash_file, mismatches, piped
from .limits import HostLimiter
from .signing import UrlSigner
from .state import StateStore

BLOCK = 1 << 20  # bytes gathered per write, hash update and progress call
ABORT_GRACE = 5.0  # seconds to let a worker notice an abort before the attempt gives up on it
T = TypeVar("T")


class FileFetcher:
    """Moves one file's bytes into its part file and commits it when verified."""

    def __init__(
        self,
        client: Callable[[], httpx.Client],
        store: StateStore,
        limiter: HostLimiter,
        credentials: Credentials,
        settings: FetchSettings,
        advance: Callable[[str, int], None],
        executor: Executor,
        signer: UrlSigner | None = None,
    ) -> None:
        self.client = client  # the calling worker thread's client
        self.store = store
        self.limiter = limiter
        self.credentials = credentials
        self.settings = settings
        self.advance = advance  # thread-safe: called from worker threads
        self.executor = executor
        self.signer = signer  # sends a covered manifest URL's per-file URL instead (signing.py)
        self._made_dirs: set[Path] = set()  # destination folders known to exist

    # plumbing ------------------------------------------------------------------------------
    async def thread(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, functools.partial(fn, *args, **kwargs))

    async def open(self, url: str, headers: dict[str, str]) -> httpx.Response:
        return await self.thread(self.open_sync, url, headers)

    def open_sync(self, url: str, headers: dict[str, str]) -> httpx.Response:
        """Send the request (worker thread). The caller holds the host's slot, whose rate token
        this request spends."""
        # identity: ranges and checksums refer to the stored bytes, never to a compressed form
        headers = {"Accept-Encoding": "identity", **headers}
        if self.signer is not None and self.signer.covers(url):
            url = self.signer.sign(url)  # the URL the repository handed out for this file, this run
        try:
            response = send_sync(self.client(), "GET", url, headers=headers, credentials=self.credentials, stream=True)
        except httpx.TransportError as exc:
            raise Retry(str(translate_transport_error(exc, url))) from exc
        self._note_quota(response)
        return response

    def _note_quota(self, response: httpx.Response) -> None:
        if response.headers.get("x-ratelimit-remaining", "").strip() == "0":
            wait = retry_after_seconds({"x-ratelimit-reset": response.headers.get("x-ratelimit-reset", "")})
            if wait:
                self.limiter.pause(response.url.host, wait)

    @staticmethod
    def fail_status(response: httpx.Response) -> None:
        status = response.status_code
        waf = "".join(c for c in response.headers.get("x-amzn-waf-action", "")[:40] if c.isprintable()).strip()
        if waf or status == 202:  # a bot challenge (AWS WAF: an empty 202), never the file: try the next URL
            said = f", x-amzn-waf-action: {waf}" if waf else ""
            raise TransferError(f"{response.url.host} answered a bot challenge (HTTP {status}{said}), not the file",
                                url=str(response.url))
        if status in RETRY_STATUSES:
            raise Retry(f"HTTP {status} from {response.url.host}", retry_after_seconds(response.headers))
        if status in (401, 403):
            raise TransferError(f"access denied (HTTP {status})", url=str(response.url))
        if status in (404, 410):
            raise TransferError(f"not found on server (HTTP {status})", url=str(response.url))
        raise TransferError(f"unexpected HTTP {status}", url=str(response.url))

    async def stream_into(self, response: httpx.Response, part: Path, offset: int, local: str,
                           hasher: MultiHasher | HashPipe | None, on_written: Callable[[int], None] | None = None,
                           *, truncate: bool = False, limit: int | None = None) -> int:
        """Write the body at ``offset`` of ``part`` in a worker thread; return bytes written."""
        return await self.in_thread(self._drain, response, part, offset, local, hasher, on_written,
                                     truncate=truncate, limit=limit)

    async def in_thread(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn(*args, abort, **kwargs)`` in a worker; if this task is cancelled, set ``abort``
        (the worker stops before its next write) and give it a moment to notice."""
        abort = threading.Event()
        future = asyncio.get_running_loop().run_in_executor(
            self.executor, functools.partial(fn, *args, abort, **kwargs))
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            abort.set()
            await asyncio.wait([future], timeout=ABORT_GRACE)
            if future.done() and not future.cancelled():
                future.exception()  # retrieved: it is the abort we asked for
            raise

    def _drain(self, response: httpx.Response, part: Path, offset: int, local: str,
               hasher: MultiHasher | HashPipe | None,
               on_written: Callable[[int], None] | None, abort: threading.Event, *, truncate: bool = False,
               limit: int | None = None) -> int:
        """Worker thread: copy the body into the file, with its own descriptor (``truncate``: cut
        the file at ``offset`` first, dropping any stale tail). A body longer than ``limit`` raises
        :class:`Overlong` at its first extra byte; nothing past ``offset + limit`` is written."""
        try:  # chunks as they arrive (httpx's re-chunking cost ~1 ms of CPU per MB)
            chunks = capped(response, response.iter_bytes(), limit)
        except Overlong:
            response.close()
            raise
        received = 0
        fresh = truncate and offset == 0
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if fresh else 0), 0o644)
        try:
            if truncate and not fresh:
                os.ftruncate(fd, offset)
            writeback = Writeback(fd, offset, drop=hasher is not None)  # hashed here: never read back
            for block in coalesced(chunks, BLOCK):
                if abort.is_set():
                    raise Aborted()
                os.pwrite(fd, block, offset + received)
                if hasher is not None:
                    hasher.update(block)
                received += len(block)
                writeback.written(offset + received)
                self.advance(local, len(block))
                if on_written is not None:
                    on_written(received)
            os.fsync(fd)
            writeback.finish()
        except httpx.TransportError as exc:
            raise Retry(str(translate_transport_error(exc, str(response.url)))) from exc
        finally:
            os.close(fd)
            response.close()
        return received

    # single stream -------------------------------------------------------------------------
    async def single(self, job: Job, url: str) -> int:
        """The whole request, write, hash and commit in one worker-thread call (one hand-off
        between asyncio and the pool, not one per step)."""
        async with self.limiter.slot(host_of(url)):
            return await self.in_thread(self._single_sync, job, url)

    def _single_sync(self, job: Job, url: str, abort: threading.Event) -> int:
        entry, part = job.entry, self.store.part_path(job.local)
        offset, headers = self._resume_point(job, url, part)
        response = self.open_sync(url, headers)
        try:
            offset = self.accept(response, offset, entry)
            if entry.size is None or entry.size > RESUME_FROM:
                self.store.set_partial(job.local, partial_info(url, response, entry))
            expected = expected_digests(entry, response)
            hasher = piped(hash_file(part, expected, limit=offset) if offset else MultiHasher(expected),
                           None if entry.size is None else entry.size - offset)
            try:
                received = 0 if response.status_code == 416 else \
                    self._drain(response, part, offset, job.local, hasher, None, abort, truncate=True,
                                limit=None if entry.size is None else entry.size - offset)
                digests = hasher.digests()
            finally:
                if isinstance(hasher, HashPipe):
                    hasher.close()
        finally:
            response.close()
        self.commit(job, part, offset + received, expected, digests)
        return received

    def _resume_point(self, job: Job, url: str, part: Path) -> tuple[int, dict[str, str]]:
        info = self.store.partial(job.local)
        validator = info and (info.etag or info.last_modified)
        if not (info and validator and info.url == url):
            return 0, {}  # nothing to resume from (no look at the disk: most files never have a part)
        try:
            have = part.stat().st_size
        except FileNotFoundError:
            return 0, {}
        if have and (job.entry.size is None or have <= job.entry.size):
            return have, {"Range": f"bytes={have}-", "If-Range": str(validator)}
        return 0, {}

    def accept(self, response: httpx.Response, offset: int, entry: FileEntry) -> int:
        """Decide where the body goes: resume offset on a matching 206, 0 on a full 200."""
        status = response.status_code
        if status == 206 and offset and range_start(response) == offset:
            return offset
        if status == 200:
            return 0
        if status == 416 and offset and offset == entry.size:
            return offset
        if status == 206:
            raise Retry(f"server answered an unexpected range ({response.headers.get('content-range')})")
        self.fail_status(response)
        return 0  # pragma: no cover

    # verification --------------------------------------------------------------------------
    def commit(self, job: Job, part: Path, size: int, expected: dict[str, str], digests: dict[str, str]) -> None:
        self.check(job, size, expected, digests)
        self.place(job, part, digests)

    def check(self, job: Job, size: int, expected: dict[str, str], digests: dict[str, str]) -> None:
        """Size and digests against the manifest: Retry (short, or a wrong copy) or VerificationError."""
        entry = job.entry
        if entry.size is not None and size < entry.size:
            raise Retry(f"body ended early at byte {size} of {entry.size}")  # keep the part: resume
        problems = [f"size expected {entry.size} got {size}"] if entry.size is not None and size != entry.size else []
        problems.extend(mismatches(expected, digests))
        if problems:
            self.store.drop_partial(job.local)  # wrong bytes are never resumed from
            fingerprint = f"{size}:" + ",".join(f"{k}={v}" for k, v in sorted(digests.items()))
            self.wrong_copy(job, fingerprint, f"verification failed: {'; '.join(problems)}",
                            f"the repository's checksum looks wrong: {'; '.join(problems)}, the same on two downloads")

    def overlong(self, job: Job, exc: Overlong) -> NoReturn:
        """A body that ran past its size: a wrong copy (its partial record and part file go)."""
        self.store.drop_partial(job.local)
        declared = None if exc.declared is None else f"length {exc.declared}"
        self.wrong_copy(job, declared, exc.reason,
                        f"the repository's listed size looks wrong: {job.entry.size} bytes listed, the server "
                        f"announced {exc.declared} where {exc.limit} were due, the same on two downloads")

    @staticmethod
    def wrong_copy(job: Job, fingerprint: str | None, message: str, repository_wrong: str) -> NoReturn:
        """Tell a wrong repository checksum from corruption in transit.

        The same wrong copy twice (same size and digests, or the same announced length) means the
        listing is what is wrong: VerificationError now, no more attempts spent on it. A wrong copy
        unlike any before (or of unknown content, such as a body cut short of its extra bytes) is
        taken for corruption in transit: a Retry, so the caller tries again within ``--attempts``.
        """
        job.bad_copies += 1
        if fingerprint is not None and fingerprint in job.wrong:
            raise VerificationError(repository_wrong, url=job.entry.url)
        if fingerprint is not None:
            job.wrong.append(fingerprint)
        raise Retry(message)

    def place(self, job: Job, part: Path, digests: dict[str, str]) -> None:
        """A verified part file under its final name, recorded as verified."""
        parent = job.final.parent
        if parent not in self._made_dirs:
            parent.mkdir(parents=True, exist_ok=True)
            self._made_dirs.add(parent)
        os.replace(part, job.final)
        self.store.mark_verified(job.local, job.final, digests)


__all__ = ["FileFetcher"]
