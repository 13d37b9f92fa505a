"""Large files in byte-range pieces over several connections, written in place.

The part file is sized up front (sparse) and each piece writes at its own offset with ``pwrite``,
recording its progress in the state store *after* writing, so a ``kill -9`` loses at most the
bytes after the last record. Pieces are taken lowest first as connections free up (aria2's
in-order selection) and hashed in order while they arrive (:class:`~.follower.HashFollower`).
Any 200 where a 206 was asked (ranges ignored, or ``If-Range`` says the file changed) restarts
the file cleanly - two versions are never spliced together.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

import httpx

from ..errors import TransferError
from ..http import backoff_delay
from .common import Changed, Job, Retry, host_of, partial_info, range_start, truncate
from .digests import header_digests
from .follower import HashFollower
from .hashing import HashPipe, MultiHasher, piped
from .state import PartialInfo, Segment

if TYPE_CHECKING:
    from .fetch import FileFetcher

RECORD_EVERY = 1 << 20  # piece progress is recorded at least every MiB
PIECES_PER_LANE = 8  # pieces per connection (see split)


def split(size: int, segments: int, min_segment: int, per_lane: int = PIECES_PER_LANE) -> list[Segment]:
    """Cut ``size`` bytes into at most ``segments * per_lane`` pieces of at least ``min_segment``
    bytes: several per connection, so connections that finish early take the next piece and the
    file's complete prefix (which the hash follower reads) grows steadily."""
    count = max(1, min(segments * per_lane, size // max(1, min_segment)))
    step = -(-size // count)
    return [Segment(i, start, min(start + step, size) - 1) for i, start in enumerate(range(0, size, step))]


class SegmentedFetch:
    """One attempt at one file in pieces, using its :class:`~.fetch.FileFetcher`'s plumbing."""

    def __init__(self, fetcher: FileFetcher) -> None:
        self.f = fetcher

    async def run(self, job: Job, url: str, info: PartialInfo | None, segments: list[Segment]) -> int:
        """Pieces fetched lowest first on ``segments`` connections (aria2's in-order piece
        selection), hashed in order while they arrive (:class:`HashFollower`)."""
        entry, part = job.entry, self.f.store.part_path(job.local)
        validator = info and (info.etag or info.last_modified)
        moved = [0]
        expected = dict(entry.checksums)  # the probe adds digests the server announces
        lanes = asyncio.Semaphore(max(1, self.f.settings.segments))
        fresh = not segments or not validator
        pieces = split(entry.size or 0, self.f.settings.segments, self.f.settings.min_segment) if fresh else segments
        follower = HashFollower(part, expected, pieces, self.f.thread)
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
                info = self.f.store.partial(job.local)
                validator = info and (info.etag or info.last_modified)
                segments = self.f.store.segments(job.local)
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
        self.f.commit(job, part, part.stat().st_size, expected, digests)
        return moved[0]

    async def _probe(self, job: Job, url: str, plan: list[Segment], moved: list[int], expected: dict[str, str],
                     lanes: asyncio.Semaphore, piece: Callable[[Segment, str], Coroutine[Any, Any, None]],
                     follower: HashFollower) -> int | None:
        """Ask for piece 0; on 206 record the plan, start the other pieces and stream piece 0
        alongside them; on 200 take the whole file (returns its size).

        The siblings are awaited only after piece 0's connection slot is released, so a
        ``--per-host 1`` run cannot wait on itself. A broken piece 0 is left for the caller to
        resume like any other piece; the siblings keep their bytes.
        """
        entry, first = job.entry, plan[0]
        part = self.f.store.part_path(job.local)
        others: list[asyncio.Task[None]] = []
        try:
            async with lanes, self.f.limiter.slot(host_of(url)):
                response = await self.f.open(url, {"Range": f"bytes={first.start}-{first.end}"})
                try:
                    for algo, value in header_digests(response.headers).items():
                        expected.setdefault(algo, value)
                    if response.status_code == 200:
                        self.f.store.set_segments(job.local, [])
                        self.f.store.set_partial(job.local, partial_info(url, response, entry))
                        hasher = piped(MultiHasher(expected), entry.size)
                        try:
                            received = await self.f.stream_into(response, part, 0, job.local, hasher, truncate=True,
                                                                limit=entry.size)
                            digests = await self.f.thread(hasher.digests)
                        finally:
                            if isinstance(hasher, HashPipe):
                                hasher.close()
                        moved[0] += received
                        self.f.commit(job, part, received, expected, digests)
                        return received
                    if response.status_code != 206:
                        self.f.fail_status(response)
                    if range_start(response) != first.start:
                        raise Retry("server answered an unexpected range to the first segment")
                    info = partial_info(url, response, entry)
                    if not (info.etag or info.last_modified):
                        raise TransferError("server gives no ETag/Last-Modified: cannot segment safely", url=url)
                    self.f.store.set_partial(job.local, info)
                    await self.f.thread(truncate, part, entry.size or 0)  # sparse: pieces land in place
                    self.f.store.set_segments(job.local, plan)
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
                    await self.f.thread(response.close)
            await asyncio.gather(*others)
        finally:  # on any failure, stop the siblings (their workers stop before the next write)
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)
        return None

    async def _segment_until_done(self, job: Job, url: str, seg: Segment, validator: str, moved: list[int]) -> None:
        """Retry one segment on its own (as aria2 does): a broken connection costs that segment's
        unrecorded tail, not the bytes in flight on every other connection."""
        for attempt in range(self.f.settings.max_attempts):
            try:
                await self._segment(job, url, seg, validator, moved)
                return
            except Changed:
                raise
            except Retry as exc:
                delay = backoff_delay(attempt) if exc.delay is None else exc.delay
                if attempt + 1 == self.f.settings.max_attempts or delay > self.f.settings.max_wait:
                    raise
                await asyncio.sleep(delay)
                seg = next(s for s in self.f.store.segments(job.local) if s.idx == seg.idx)

    async def _segment(self, job: Job, url: str, seg: Segment, validator: str, moved: list[int]) -> None:
        start = seg.start + seg.done
        async with self.f.limiter.slot(host_of(url)):
            response = await self.f.open(url, {"Range": f"bytes={start}-{seg.end}", "If-Range": validator})
            try:
                if response.status_code == 200:
                    self.f.store.set_segments(job.local, [])  # the next attempt starts over
                    self.f.store.set_partial(job.local, PartialInfo(url, None, None, job.entry.size))
                    raise Changed("file changed on the server (or ranges refused): restarting it")
                if response.status_code != 206:
                    self.f.fail_status(response)
                if range_start(response) != start:
                    raise Retry("server answered a different range than asked")
                await self._drain_segment(job, response, seg, moved)
            finally:
                await self.f.thread(response.close)

    async def _drain_segment(self, job: Job, response: httpx.Response, seg: Segment, moved: list[int]) -> None:
        remaining = seg.length - seg.done
        progress = {"written": 0, "recorded": 0}

        def record(written: int) -> None:  # worker thread, after each write
            progress["written"] = written
            if written - progress["recorded"] >= RECORD_EVERY:
                self.f.store.segment_done(job.local, seg.idx, seg.done + min(written, remaining))
                progress["recorded"] = written

        part = self.f.store.part_path(job.local)
        try:  # a piece longer than asked stops at its first extra byte (Overlong: the file restarts)
            await self.f.stream_into(response, part, seg.start + seg.done, job.local, None, record, limit=remaining)
        finally:  # record exactly what reached the disk, also when the stream broke
            written = progress["written"]
            moved[0] += written
            self.f.store.segment_done(job.local, seg.idx, seg.done + min(written, remaining))
        if written < remaining:
            raise Retry(f"segment {seg.idx} ended early ({written} of {remaining} bytes)")


__all__ = ["PIECES_PER_LANE", "SegmentedFetch", "split"]
