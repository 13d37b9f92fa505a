"""Fetch one file: a single resumable stream, or aria2-style byte-range segments in place.

Single stream: bytes are hashed while written; a resume re-hashes the local prefix (no network)
and asks for the rest with ``Range`` + ``If-Range``. Segments (large files, servers that answer
206): the part file is sized up front (sparse), each segment writes at its own offset with
``pwrite`` and records its progress in the state store *after* writing, so a ``kill -9``
loses at most the bytes after the last record; the whole file is hashed once at the end.
Any 200 where a 206 was asked (ranges ignored, or ``If-Range`` says the file changed) restarts
the file cleanly - two versions are never spliced together.

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
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx

from ..errors import TransferError, VerificationError
from ..http import RETRY_STATUSES, Credentials, backoff_delay, retry_after_seconds, send_sync, translate_transport_error
from ..model import FileEntry
from .digests import header_digests
from .follower import HashFollower
from .hashing import MultiHasher, hash_file, mismatches
from .limits import HostLimiter
from .state import PartialInfo, Segment, StateStore

CHUNK = 1 << 18
RECORD_EVERY = 1 << 20  # segment progress is recorded at least every MiB
ABORT_GRACE = 5.0
PIECES_PER_LANE = 8  # pieces per segment connection (see split)  # seconds to let a worker notice an abort before the attempt gives up on it
T = TypeVar("T")
R = TypeVar("R")


class _Aborted(Exception):
    """Raised inside a worker thread whose attempt was abandoned."""


class Retry(Exception):
    """A transient failure worth another attempt (after ``delay`` seconds if the server said)."""

    def __init__(self, reason: str, delay: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.delay = delay


class Changed(Retry):
    """The file changed on the server (or ranges stopped working): the whole file restarts."""


@dataclass(frozen=True)
class FetchSettings:
    segments: int = 4
    min_segment: int = 8 << 20
    max_attempts: int = 5   # per segment, like per file
    max_wait: float = 300.0


@dataclass
class Job:
    entry: FileEntry
    local: str
    final: Path
    bad_copies: int = 0


def split(size: int, segments: int, min_segment: int, per_lane: int = PIECES_PER_LANE) -> list[Segment]:
    """Cut ``size`` bytes into at most ``segments * per_lane`` pieces of at least ``min_segment``
    bytes: several per connection, so connections that finish early take the next piece and the
    file's complete prefix (which the hash follower reads) grows steadily."""
    count = max(1, min(segments * per_lane, size // max(1, min_segment)))
    step = -(-size // count)
    return [Segment(i, start, min(start + step, size) - 1) for i, start in enumerate(range(0, size, step))]


class FileFetcher:
    """Moves one file's bytes into its part file and commits it when verified."""

    def __init__(
        self,
        client: httpx.Client,
        store: StateStore,
        limiter: HostLimiter,
        credentials: Credentials,
        settings: FetchSettings,
        advance: Callable[[str, int], None],
        executor: Executor,
    ) -> None:
        self.client = client
        self.store = store
        self.limiter = limiter
        self.credentials = credentials
        self.settings = settings
        self.advance = advance  # thread-safe: called from worker threads
        self.executor = executor
        self._made_dirs: set[Path] = set()  # destination folders known to exist

    # entry point ---------------------------------------------------------------------------
    async def attempt(self, job: Job, url: str) -> int:
        """One attempt from ``url``; returns bytes received. Raises Retry or TransferError."""
        size = job.entry.size
        info = self.store.partial(job.local)
        segments = self.store.segments(job.local) if info and info.url == url else []
        if segments:
            return await self._segmented(job, url, info, segments)  # type: ignore[arg-type]
        if size is not None and self.settings.segments > 1 and size >= 2 * self.settings.min_segment:
            return await self._segmented(job, url, None, [])
        return await self._single(job, url)

    # plumbing ------------------------------------------------------------------------------
    async def _thread(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, functools.partial(fn, *args, **kwargs))

    async def _open(self, url: str, headers: dict[str, str]) -> httpx.Response:
        return await self._thread(self._open_sync, url, headers)

    def _open_sync(self, url: str, headers: dict[str, str]) -> httpx.Response:
        """Send the request (worker thread). The caller holds the host's slot, whose rate token
        this request spends."""
        # identity: ranges and checksums refer to the stored bytes, never to a compressed form
        headers = {"Accept-Encoding": "identity", **headers}
        try:
            response = send_sync(self.client, "GET", url, headers=headers, credentials=self.credentials, stream=True)
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
    def _fail_status(response: httpx.Response) -> None:
        status = response.status_code
        if status in RETRY_STATUSES:
            raise Retry(f"HTTP {status} from {response.url.host}", retry_after_seconds(response.headers))
        if status in (401, 403):
            raise TransferError(f"access denied (HTTP {status})", url=str(response.url))
        if status in (404, 410):
            raise TransferError(f"not found on server (HTTP {status})", url=str(response.url))
        raise TransferError(f"unexpected HTTP {status}", url=str(response.url))

    async def _stream_into(self, response: httpx.Response, part: Path, offset: int, local: str,
                           hasher: MultiHasher | None, on_written: Callable[[int], None] | None = None,
                           *, truncate: bool = False) -> int:
        """Write the body at ``offset`` of ``part`` in a worker thread; return bytes written."""
        return await self._in_thread(self._drain, response, part, offset, local, hasher, on_written,
                                     truncate=truncate)

    async def _in_thread(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
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

    def _drain(self, response: httpx.Response, part: Path, offset: int, local: str, hasher: MultiHasher | None,
               on_written: Callable[[int], None] | None, abort: threading.Event, *, truncate: bool = False) -> int:
        """Worker thread: copy the body into the file, with its own descriptor (``truncate``: cut
        the file at ``offset`` first, dropping any stale tail)."""
        chunks = response.iter_bytes(CHUNK)  # identity-encoded: these are the stored bytes
        received = 0
        fd = os.open(part, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            if truncate:
                os.ftruncate(fd, offset)
            for chunk in chunks:
                if abort.is_set():
                    raise _Aborted()
                os.pwrite(fd, chunk, offset + received)
                if hasher is not None:
                    hasher.update(chunk)
                received += len(chunk)
                self.advance(local, len(chunk))
                if on_written is not None:
                    on_written(received)
            os.fsync(fd)
        except httpx.TransportError as exc:
            raise Retry(str(translate_transport_error(exc, str(response.url)))) from exc
        finally:
            os.close(fd)
            response.close()
        return received

    async def batch(self, jobs: list[Job], started: Callable[[Job], None], done: Callable[[Job], R]
                    ) -> list[R | Exception]:
        """First attempt at several small files of one host, one after another on one connection
        slot, in a single worker call. Per job: what ``done(job)`` returned (called in the worker
        once the file is verified and in place), or the ``Retry`` / ``TransferError`` its attempt
        raised, for the caller's usual retry loop.

        Why: with thousands of small files the per-file asyncio work (task, slot, hand-off to the
        pool and back) cost more CPU than the HTTP exchange itself; a batch pays it once.
        """
        async with self.limiter.slot(host_of(jobs[0].entry.urls[0]), tokens=len(jobs)):
            return await self._in_thread(self._batch_sync, jobs, started, done)

    def _batch_sync(self, jobs: list[Job], started: Callable[[Job], None], done: Callable[[Job], R],
                    abort: threading.Event) -> list[R | Exception]:
        outcomes: list[R | Exception] = []
        for job in jobs:
            if abort.is_set():
                raise _Aborted()
            started(job)
            try:
                self._single_sync(job, job.entry.urls[0], abort)
            except (Retry, TransferError) as exc:
                outcomes.append(exc)
            else:
                outcomes.append(done(job))
        return outcomes

    # single stream -------------------------------------------------------------------------
    async def _single(self, job: Job, url: str) -> int:
        """The whole request, write, hash and commit in one worker-thread call (one hand-off
        between asyncio and the pool, not one per step)."""
        async with self.limiter.slot(host_of(url)):
            return await self._in_thread(self._single_sync, job, url)

    def _single_sync(self, job: Job, url: str, abort: threading.Event) -> int:
        entry, part = job.entry, self.store.part_path(job.local)
        offset, headers = self._resume_point(job, url, part)
        response = self._open_sync(url, headers)
        try:
            offset = self._accept(response, offset, entry)
            if entry.size is None or entry.size > CHUNK:  # a smaller file restarts rather than resumes
                self.store.set_partial(job.local, _partial_info(url, response, entry))
            expected = _expected(entry, response)
            hasher = hash_file(part, expected, limit=offset) if offset else MultiHasher(expected)
            received = 0 if response.status_code == 416 else \
                self._drain(response, part, offset, job.local, hasher, None, abort, truncate=True)
        finally:
            response.close()
        self._commit(job, part, offset + received, expected, hasher.digests())
        return received

    def _resume_point(self, job: Job, url: str, part: Path) -> tuple[int, dict[str, str]]:
        info = self.store.partial(job.local)
        have = part.stat().st_size if part.exists() else 0
        validator = info and (info.etag or info.last_modified)
        if have and info and validator and info.url == url and (job.entry.size is None or have <= job.entry.size):
            return have, {"Range": f"bytes={have}-", "If-Range": str(validator)}
        return 0, {}

    def _accept(self, response: httpx.Response, offset: int, entry: FileEntry) -> int:
        """Decide where the body goes: resume offset on a matching 206, 0 on a full 200."""
        status = response.status_code
        if status == 206 and offset and _range_start(response) == offset:
            return offset
        if status == 200:
            return 0
        if status == 416 and offset and offset == entry.size:
            return offset
        if status == 206:
            raise Retry(f"server answered an unexpected range ({response.headers.get('content-range')})")
        self._fail_status(response)
        return 0  # pragma: no cover

    # segments ------------------------------------------------------------------------------
    async def _segmented(self, job: Job, url: str, info: PartialInfo | None, segments: list[Segment]) -> int:
        """Pieces fetched lowest first on ``segments`` connections (aria2's in-order piece
        selection), hashed in order while they arrive (:class:`HashFollower`)."""
        entry, part = job.entry, self.store.part_path(job.local)
        validator = info and (info.etag or info.last_modified)
        moved = [0]
        expected = dict(entry.checksums)  # the probe adds digests the server announces
        lanes = asyncio.Semaphore(max(1, self.settings.segments))
        fresh = not segments or not validator
        pieces = split(entry.size or 0, self.settings.segments, self.settings.min_segment) if fresh else segments
        follower = HashFollower(part, expected, pieces, self._thread)
        hashing = asyncio.create_task(follower.run())

        async def piece(seg: Segment, validator: str) -> None:
            async with lanes:
                await self._segment_until_done(job, url, seg, validator, moved)
            follower.complete(seg.idx)

        try:
            if fresh:
                whole = await self._probe(job, url, pieces, moved, expected, lanes, piece, follower)
                if whole is not None:  # ranges not honoured: the probe streamed the whole file
                    return whole
                info = self.store.partial(job.local)
                validator = info and (info.etag or info.last_modified)
                segments = self.store.segments(job.local)
            todo = [s for s in segments if s.done < s.length]
            tasks = [asyncio.create_task(piece(s, str(validator))) for s in todo]
            try:
                await asyncio.gather(*tasks)
            finally:  # one failed: stop the others (their workers stop before the next write)
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
            digests = await hashing
        finally:
            hashing.cancel()
            await asyncio.gather(hashing, return_exceptions=True)
        self._commit(job, part, part.stat().st_size, expected, digests)
        return moved[0]

    async def _probe(self, job: Job, url: str, plan: list[Segment], moved: list[int], expected: dict[str, str],
                     lanes: asyncio.Semaphore, piece: Callable[[Segment, str], Awaitable[None]],
                     follower: HashFollower) -> int | None:
        """Ask for piece 0; on 206 record the plan, start the other pieces and stream piece 0
        alongside them; on 200 take the whole file (returns its size).

        The siblings are awaited only after piece 0's connection slot is released, so a
        ``--per-host 1`` run cannot wait on itself. A broken piece 0 is left for the caller to
        resume like any other piece; the siblings keep their bytes.
        """
        entry, first = job.entry, plan[0]
        part = self.store.part_path(job.local)
        others: list[asyncio.Task[None]] = []
        try:
            async with lanes, self.limiter.slot(host_of(url)):
                response = await self._open(url, {"Range": f"bytes={first.start}-{first.end}"})
                try:
                    for algo, value in header_digests(response.headers).items():
                        expected.setdefault(algo, value)
                    if response.status_code == 200:
                        self.store.set_segments(job.local, [])
                        self.store.set_partial(job.local, _partial_info(url, response, entry))
                        hasher = MultiHasher(expected)
                        received = await self._stream_into(response, part, 0, job.local, hasher, truncate=True)
                        moved[0] += received
                        self._commit(job, part, received, expected, hasher.digests())
                        return received
                    if response.status_code != 206:
                        self._fail_status(response)
                    if _range_start(response) != first.start:
                        raise Retry("server answered an unexpected range to the first segment")
                    info = _partial_info(url, response, entry)
                    if not (info.etag or info.last_modified):
                        raise TransferError("server gives no ETag/Last-Modified: cannot segment safely", url=url)
                    self.store.set_partial(job.local, info)
                    await self._thread(_truncate, part, entry.size or 0)  # sparse: pieces land in place
                    self.store.set_segments(job.local, plan)
                    validator = str(info.etag or info.last_modified)
                    others = [asyncio.create_task(piece(s, validator)) for s in plan[1:]]
                    try:
                        await self._drain_segment(job, response, first, moved)
                        follower.complete(first.idx)
                    except Changed:
                        raise
                    except Retry:
                        pass  # recorded progress stays; the caller resumes piece 0 on its own
                finally:
                    await self._thread(response.close)
            await asyncio.gather(*others)
        finally:  # on any failure, stop the siblings (their workers stop before the next write)
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)
        return None

    async def _segment_until_done(self, job: Job, url: str, seg: Segment, validator: str, moved: list[int]) -> None:
        """Retry one segment on its own (as aria2 does): a broken connection costs that segment's
        unrecorded tail, not the bytes in flight on every other connection."""
        for attempt in range(self.settings.max_attempts):
            try:
                await self._segment(job, url, seg, validator, moved)
                return
            except Changed:
                raise
            except Retry as exc:
                delay = backoff_delay(attempt) if exc.delay is None else exc.delay
                if attempt + 1 == self.settings.max_attempts or delay > self.settings.max_wait:
                    raise
                await asyncio.sleep(delay)
                seg = next(s for s in self.store.segments(job.local) if s.idx == seg.idx)

    async def _segment(self, job: Job, url: str, seg: Segment, validator: str, moved: list[int]) -> None:
        start = seg.start + seg.done
        async with self.limiter.slot(host_of(url)):
            response = await self._open(url, {"Range": f"bytes={start}-{seg.end}", "If-Range": validator})
            try:
                if response.status_code == 200:
                    self.store.set_segments(job.local, [])  # the next attempt starts over
                    self.store.set_partial(job.local, PartialInfo(url, None, None, job.entry.size))
                    raise Changed("file changed on the server (or ranges refused): restarting it")
                if response.status_code != 206:
                    self._fail_status(response)
                if _range_start(response) != start:
                    raise Retry("server answered a different range than asked")
                await self._drain_segment(job, response, seg, moved)
            finally:
                await self._thread(response.close)

    async def _drain_segment(self, job: Job, response: httpx.Response, seg: Segment, moved: list[int]) -> None:
        remaining = seg.length - seg.done
        progress = {"written": 0, "recorded": 0}

        def record(written: int) -> None:  # worker thread, after each write
            progress["written"] = written
            if written - progress["recorded"] >= RECORD_EVERY:
                self.store.segment_done(job.local, seg.idx, seg.done + min(written, remaining))
                progress["recorded"] = written

        part = self.store.part_path(job.local)
        try:
            await self._stream_into(response, part, seg.start + seg.done, job.local, None, record)
        finally:  # record exactly what reached the disk, also when the stream broke
            written = progress["written"]
            moved[0] += written
            self.store.segment_done(job.local, seg.idx, seg.done + min(written, remaining))
        if written < remaining:
            raise Retry(f"segment {seg.idx} ended early ({written} of {remaining} bytes)")
        if written > remaining:
            self.store.set_segments(job.local, [])
            self.store.set_partial(job.local, PartialInfo(str(response.url), None, None, job.entry.size))
            raise Changed(f"segment {seg.idx} got more bytes than asked: restarting the file")

    # verification --------------------------------------------------------------------------
    def _commit(self, job: Job, part: Path, size: int, expected: dict[str, str], digests: dict[str, str]) -> None:
        entry = job.entry
        if entry.size is not None and size < entry.size:
            raise Retry(f"body ended early at byte {size} of {entry.size}")  # keep the part: resume
        problems = [f"size expected {entry.size} got {size}"] if entry.size is not None and size != entry.size else []
        problems.extend(mismatches(expected, digests))
        if problems:
            self.store.drop_partial(job.local)  # wrong bytes are never resumed from
            job.bad_copies += 1
            message = f"verification failed: {'; '.join(problems)}"
            if job.bad_copies < 2:
                raise Retry(message)  # one fresh attempt: corruption in transit is often transient
            raise VerificationError(message, url=entry.url)
        parent = job.final.parent
        if parent not in self._made_dirs:
            parent.mkdir(parents=True, exist_ok=True)
            self._made_dirs.add(parent)
        os.replace(part, job.final)
        self.store.mark_verified(job.local, job.final, digests)


@functools.lru_cache(maxsize=256)
def host_of(url: str) -> str:
    """The host a URL's connection slot and rate tokens belong to (cached: asked per request)."""
    return httpx.URL(url).host


def _truncate(path: Path, size: int) -> None:
    """Create ``path`` if needed and set its length (sparse when growing)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        os.ftruncate(fd, size)
    finally:
        os.close(fd)


def _expected(entry: FileEntry, response: httpx.Response) -> dict[str, str]:
    """The manifest's checksums plus any the server announces (``Digest``/``Repr-Digest``)."""
    expected = dict(entry.checksums)
    for algo, value in header_digests(response.headers).items():
        expected.setdefault(algo, value)
    return expected


def _partial_info(url: str, response: httpx.Response, entry: FileEntry) -> PartialInfo:
    return PartialInfo(url, response.headers.get("etag"), response.headers.get("last-modified"), entry.size)


def _range_start(response: httpx.Response) -> int | None:
    """``Content-Range: bytes 100-199/1000`` -> 100."""
    value = response.headers.get("content-range", "")
    if not value.startswith("bytes "):
        return None
    first = value[6:].split("-", 1)[0].strip()
    return int(first) if first.isdigit() else None


__all__ = ["FetchSettings", "FileFetcher", "Job", "Retry", "host_of", "split"]
