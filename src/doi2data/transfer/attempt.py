"""One attempt at one file: a single stream (:mod:`.fetch`) or byte-range pieces (:mod:`.segments`).

The choice lives here, above both, so that :mod:`.segments` (and :mod:`.smallfiles`) can use a
:class:`~.fetch.FileFetcher`'s plumbing while :mod:`.fetch` knows nothing of them: imports point
one way.
"""

from __future__ import annotations

from .common import Job, Overlong
from .fetch import FileFetcher
from .segments import SegmentedFetch


async def attempt_file(fetcher: FileFetcher, job: Job, url: str) -> int:
    """One attempt from ``url``; returns bytes received. Raises Retry or TransferError."""
    size = job.entry.size
    info = fetcher.store.partial(job.local)
    one = fetcher.signer is not None and fetcher.signer.covers(url)  # a per-file URL: one request, no pieces
    if one and fetcher.store.segments(job.local):
        fetcher.store.drop_partial(job.local)  # pieces cannot go on through a one-request URL
    segments = fetcher.store.segments(job.local) if info and info.url == url else []
    try:
        if segments:
            return await SegmentedFetch(fetcher).run(job, url, info, segments)
        # after a wrong copy, one stream: a server (or cache) that mangles range answers cannot
        # then pass for a wrong checksum, and a flaky path risks one response per copy, not 32
        if size is not None and not one and not job.bad_copies and fetcher.settings.segments > 1 \
                and size >= 2 * fetcher.settings.min_segment:
            return await SegmentedFetch(fetcher).run(job, url, None, [])
        return await fetcher.single(job, url)
    except Overlong as exc:  # raised once every piece has stopped: nothing writes to the part any more
        fetcher.overlong(job, exc)


__all__ = ["attempt_file"]
