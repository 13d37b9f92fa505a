"""Small files in batches: fetched and verified in memory on a lane, written behind by a committer.

Why batches: with thousands of small files the per-file asyncio work (task, slot, hand-off to
the thread pool and back) cost more CPU than the HTTP exchange itself; a batch of one host's
files runs on one connection slot in one worker call and pays it once.

Why a committer: on benchmark (c) (10 KiB files, 16 connections, 20 ms latency) a file took
25 ms of its connection's time, 1.3 ms of it writing, syncing and renaming after the last byte.
Here the lane reads the body into memory (at most ``SMALL_FILE`` bytes), verifies it and hands
it over; a committer thread writes the part file, ``fsync``-s it, renames it and records it
while the lane already waits for its next response. Nothing is written before the bytes verify;
a stream that breaks keeps what arrived in the part file (files over ``RESUME_FROM``), so the
retry resumes from there. At most ``COMMIT_QUEUE`` verified bodies wait for the committer: a
slow disk slows the lanes down instead of filling memory.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import TYPE_CHECKING, TypeVar

import httpx

from ..errors import TransferError
from ..http import translate_transport_error
from .common import RESUME_FROM, Aborted, Job, Overlong, Retry, capped, expected_digests, host_of, partial_info
from .disk import write_file
from .hashing import MultiHasher

if TYPE_CHECKING:
    from .fetch import FileFetcher

R = TypeVar("R")
COMMIT_QUEUE = 32  # verified bodies waiting to be written (each at most SMALL_FILE bytes)


class SmallFiles:
    """Batches of small files for one run, using a :class:`~.fetch.FileFetcher`'s plumbing."""

    def __init__(self, fetcher: FileFetcher, committer: Executor) -> None:
        self.f = fetcher
        self.committer = committer
        self._slots = threading.BoundedSemaphore(COMMIT_QUEUE)

    async def batch(self, jobs: list[Job], started: Callable[[Job], None], done: Callable[[Job], R]
                    ) -> list[Future[R] | Exception]:
        """First attempt at several small files of one host, one after another on one connection
        slot. Per job: the committer's future of what ``done(job)`` returns once the file is in
        place (see :meth:`settle`), or the ``Retry`` / ``TransferError`` its attempt raised, for
        the caller's usual retry loop."""
        async with self.f.limiter.slot(host_of(jobs[0].entry.urls[0]), tokens=len(jobs)):
            return await self.f.in_thread(self._batch_sync, jobs, started, done)

    @staticmethod
    async def settle(handed: list[Future[R] | Exception]) -> list[R | Exception]:
        """Wait for the committer's part of a batch (no connection slot held meanwhile)."""
        outcomes: list[R | Exception] = []
        for item in handed:
            if isinstance(item, Exception):
                outcomes.append(item)
                continue
            try:
                value: R = await asyncio.wrap_future(item)
            except TransferError as exc:
                outcomes.append(exc)
            else:
                outcomes.append(value)
        return outcomes

    def _batch_sync(self, jobs: list[Job], started: Callable[[Job], None], done: Callable[[Job], R],
                    abort: threading.Event) -> list[Future[R] | Exception]:
        handed: list[Future[R] | Exception] = []
        for job in jobs:
            if abort.is_set():
                raise Aborted()
            started(job)
            try:
                handed.append(self._one(job, job.entry.urls[0], abort, done))
            except (Retry, TransferError) as exc:
                handed.append(exc)
        return handed

    def _one(self, job: Job, url: str, abort: threading.Event, done: Callable[[Job], R]) -> Future[R]:
        """Fetch and verify one file in memory (worker thread), then hand it to the committer."""
        entry = job.entry
        response = self.f.open_sync(url, {})
        try:
            self.f.accept(response, 0, entry)
            expected = expected_digests(entry, response)
            body, broken = self._read_all(response, entry.size, job.local, abort)
        except Overlong as exc:
            self.f.overlong(job, exc)  # never held past its size; raises Retry or VerificationError
        finally:
            response.close()
        if broken is not None:
            if body and (entry.size or 0) > RESUME_FROM:  # keep what arrived: the retry resumes from it
                write_file(self.f.store.part_path(job.local), body, sync=False)
                self.f.store.set_partial(job.local, partial_info(url, response, entry))
            raise broken
        hasher = MultiHasher(expected)
        hasher.update(body)
        digests = hasher.digests()
        self.f.check(job, len(body), expected, digests)
        self._slots.acquire()
        try:
            return self.committer.submit(self._write_and_place, job, body, digests, done)
        except BaseException:
            self._slots.release()
            raise

    def _read_all(self, response: httpx.Response, size: int | None, local: str, abort: threading.Event
                  ) -> tuple[bytes, Retry | None]:
        """The body in memory, and the Retry for a stream that broke (with what arrived before).
        A body longer than ``size`` raises :class:`Overlong` at its first extra byte."""
        parts: list[bytes] = []
        got = 0
        broken: Retry | None = None
        try:
            for chunk in capped(response, response.iter_bytes(), size):
                if abort.is_set():
                    raise Aborted()
                parts.append(chunk)
                got += len(chunk)
        except httpx.TransportError as exc:
            broken = Retry(str(translate_transport_error(exc, str(response.url))))
            broken.__cause__ = exc
        finally:
            self.f.advance(local, got)
        return (parts[0] if len(parts) == 1 else b"".join(parts)), broken

    def _write_and_place(self, job: Job, body: bytes, digests: dict[str, str], done: Callable[[Job], R]) -> R:
        """Committer thread: the verified bytes into the part file, on disk, then under their name."""
        try:
            part = self.f.store.part_path(job.local)
            try:
                write_file(part, body, sync=True)
                self.f.place(job, part, digests)
            except OSError as exc:
                raise TransferError(f"could not write {job.local}: {exc}", url=job.entry.url) from exc
            return done(job)
        finally:
            self._slots.release()


__all__ = ["COMMIT_QUEUE", "SmallFiles"]
