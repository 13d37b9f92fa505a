"""Move the bytes of a manifest into a destination, verified, resumable, idempotent and polite.

The engine knows nothing about repositories: it takes a :class:`~doi2data.model.Manifest` and
an httpx client. It

1. plans a safe local path per file (:mod:`doi2data.paths`), skipping refused names and
   files that are not open (restricted, embargoed, offline) with a reason;
2. skips files already verified (state in ``<dest>/.doi2data``), re-hashing locally only when
   a file changed since: a re-run over a complete download moves zero bytes;
3. checks free disk space (and ``max_total_size``) against the bytes still to come;
4. runs up to ``jobs`` files at once, at most ``per_host`` connections per host, every request
   paced by the host's token buckets (:mod:`.limits`); each file goes through
   :class:`~.fetch.FileFetcher` (single stream or byte-range segments, :mod:`.attempt`), is verified, then renamed;
5. retries transient failures with exponential backoff and jitter, honouring ``Retry-After``,
   tries mirror URLs when one URL is gone, and lets other files go on when one fails; the
   report names each failed file and why.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import stat
import threading
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar

import httpx

from ..display import render
from ..errors import InsufficientSpace, TransferError, UnsafePath
from ..filelist import facts_of
from ..http import Credentials, ThreadClients, backoff_delay
from ..model import FileEntry, Manifest
from ..paths import PathPlanner, Places
from .attempt import attempt_file
from .common import FetchSettings, Job, JobEntries, Retry, host_of
from .fetch import FileFetcher
from .limits import HostLimiter, Window
from .results import FileResult, FileResults, Status, counted
from .signing import UrlSigner
from .smallfiles import SmallFiles
from .state import StateStore
from .verify import recheck_many, why_unchecked

SMALL_FILE = 1 << 20  # files up to this size travel in batches (see smallfiles.py)
MAX_BATCH = 32
PLAN_BATCH = 1024  # files planned, looked up in the state (one query) and recorded (one statement) at a time


@dataclass
class DownloadReport:
    """What a run did: ``results`` is a sequence of :class:`FileResult` in the order files were
    settled (refused or skipped names, then names that cannot be written here, then files already
    present, then the fetched ones), each in manifest order; the engine keeps it as columns
    (:class:`~.results.FileResults`), so the counts below never build a result per file."""

    dest: Path
    results: Sequence[FileResult] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    @property
    def failed(self) -> dict[str, str]:
        if isinstance(self.results, FileResults):
            return self.results.failed()
        return {r.path: r.reason or "failed" for r in self.results if r.status == "failed"}

    @property
    def bytes_transferred(self) -> int:
        if isinstance(self.results, FileResults):
            return self.results.bytes_transferred()
        return sum(r.bytes_transferred for r in self.results)

    def count(self, status: Status) -> int:
        return counted(self.results, status, "status")

    @property
    def verified(self) -> int:
        """Files downloaded or present whose checksum was checked."""
        if isinstance(self.results, FileResults):
            return self.results.verified()
        return sum(1 for r in self.results if r.status in ("downloaded", "present") and r.checked)

    @property
    def unchecked(self) -> dict[str, str]:
        """Files downloaded or present that no checksum could check: path -> why."""
        if isinstance(self.results, FileResults):
            return self.results.unchecked()
        return {r.path: r.reason or "not verified" for r in self.results if r.unchecked}

    def where(self, *statuses: Status) -> Iterator[FileResult]:
        """The results with one of these statuses, in order (the others are never built)."""
        if isinstance(self.results, FileResults):
            return self.results.where(*statuses)
        return (r for r in self.results if r.status in statuses)

    def __repr__(self) -> str:
        return (f"<DownloadReport {self.dest}: {self.count('downloaded')} downloaded, {self.count('present')} present, "
                f"{self.verified} verified, {len(self.failed)} failed>")

    def _repr_html_(self) -> str:
        return render("download_html", self)


class ProgressSink(Protocol):
    """What the engine tells a progress display (a rich bar, JSON lines, or nothing)."""

    def start(self, files: int, total_bytes: int) -> None: ...
    def file_started(self, path: str, size: int | None) -> None: ...
    def advance(self, path: str, nbytes: int) -> None: ...
    def file_done(self, result: FileResult) -> None: ...


class NullProgress:
    def start(self, files: int, total_bytes: int) -> None: ...
    def file_started(self, path: str, size: int | None) -> None: ...
    def advance(self, path: str, nbytes: int) -> None: ...
    def file_done(self, result: FileResult) -> None: ...


@dataclass(frozen=True)
class TransferOptions:
    """Knobs of one run; the CLI flags map one to one."""

    jobs: int = 4                       # files in parallel
    per_host: int = 8                   # connections per host
    segments: int = 4                   # byte-range segments per large file
    min_segment: int = 8 << 20          # never cut segments smaller than this
    max_attempts: int = 5               # per file
    max_wait: float = 300.0             # give up when a server asks us to wait longer
    max_total_size: int | None = None   # refuse to start beyond this many bytes
    timeout: float = 60.0               # seconds without a byte before a stream counts as stalled
    rates: Mapping[str, tuple[Window, ...]] | None = None  # per-host token buckets (None: defaults)


class Engine:
    """One download run: a client, a destination and its state store."""

    def __init__(
        self,
        client: httpx.Client | None,
        dest: Path,
        *,
        options: TransferOptions | None = None,
        credentials: Credentials | None = None,
        progress: ProgressSink | None = None,
        limiter: HostLimiter | None = None,
        signer: UrlSigner | None = None,
    ) -> None:
        self.client = client  # blocking client shared by the worker threads; None: one per thread
        self.dest = dest
        self.options = options or TransferOptions()
        self.credentials = credentials or Credentials()
        self.progress: ProgressSink = progress or NullProgress()
        self.limiter = limiter or HostLimiter(self.options.per_host, self.options.rates)
        self.signer = signer  # per-file URLs a repository hands out at download time (signing.py)

    async def run(self, manifest: Manifest) -> DownloadReport:
        self.dest.mkdir(parents=True, exist_ok=True)
        report = DownloadReport(self.dest, messages=[*manifest.warnings, *manifest.checksum_warnings])
        store = self._store = StateStore(self.dest)
        try:
            results, pending = self._plan(manifest, report, store)
            report.results = results
            self._check_space(pending, store)
            if self.signer is not None and pending:  # e.g. a guestbook's answers, checked before any byte
                await self.signer.prepare(JobEntries(pending))
            self.progress.start(len(pending), sum(j.entry.size or 0 for j in pending))
            fetched = FileResults(manifest.files, like=results)  # as files finish, in no set order
            await self._run_jobs(pending, store, fetched)
            results.extend_from(fetched.sorted_by_row())  # in manifest order, after the planned ones
        finally:
            store.close()
            if store.error:
                report.messages.append(store.error)
        return report

    async def _run_jobs(self, pending: list[Job], store: StateStore, fetched: FileResults) -> None:
        """Fetch ``pending``, each result stored in ``fetched`` as its file finishes (compact
        columns: a million files to fetch kept a ``FileResult`` each, and a task each, until the end)."""
        opts = self.options
        streams = max(1, opts.jobs) * max(1, opts.segments)
        self._received: dict[str, int] = {}
        lock = threading.Lock()  # progress is told from the event loop and from worker threads

        def advance(local: str, nbytes: int) -> None:
            with lock:
                self._received[local] = self._received.get(local, 0) + nbytes
                self.progress.advance(local, nbytes)

        def started(job: Job) -> None:
            with lock:
                self.progress.file_started(job.local, job.entry.size)

        def finished(result: FileResult) -> FileResult:
            with lock:
                self.progress.file_done(result)
            return result

        clients = ThreadClients(timeout=httpx.Timeout(opts.timeout, connect=min(opts.timeout, 20.0)), shared=self.client)
        executor = ThreadPoolExecutor(max_workers=streams + 4, thread_name_prefix="doi2data-io")
        committer = ThreadPoolExecutor(max_workers=2, thread_name_prefix="doi2data-commit")
        try:
            fetcher = FileFetcher(clients, store, self.limiter, self.credentials,
                                  FetchSettings(opts.segments, opts.min_segment, opts.max_attempts, opts.max_wait),
                                  advance, executor, signer=self.signer)
            small = SmallFiles(fetcher, committer)
            gate = asyncio.Semaphore(max(1, opts.jobs))

            async def one(job: Job) -> None:
                async with gate:
                    started(job)
                    fetched.add_result(job.row, finished(await self._fetch(fetcher, job)))

            async def again(job: Job, first: Exception) -> FileResult:
                async with gate:  # a failed first attempt goes on through the usual retries
                    return finished(await self._fetch(fetcher, job, first))

            async def batch(group: list[Job]) -> None:
                async with gate:  # files start (in a worker) one after another
                    handed = await small.batch(group, started, lambda job: finished(self._result(job, "downloaded")))
                outcomes = await small.settle(handed)  # the last writes and renames, off the lane
                for job, result in zip(group, outcomes):
                    fetched.add_result(job.row, result if isinstance(result, FileResult) else await again(job, result))

            groups, singles = small_batches(pending, max(1, opts.jobs), store.partial_paths(),
                                            2 * opts.min_segment if opts.segments > 1 else None)
            # a few lanes take the next batch or file in turn (the gate bounds the files in flight):
            # not a task per file, queued all at once
            lanes = 2 * max(1, opts.jobs)
            await asyncio.gather(in_lanes(groups, batch, lanes), in_lanes(singles, one, lanes))
        finally:
            executor.shutdown(wait=False, cancel_futures=True)
            committer.shutdown(wait=True)  # verified files already handed over still get their names
            clients.close()

    # planning ------------------------------------------------------------------------------
    def _plan(self, manifest: Manifest, report: DownloadReport, store: StateStore) -> tuple[FileResults, list[Job]]:
        """Every file's local path, and whether it is already here; Jobs only for the files to fetch.

        One pass over the manifest, :data:`PLAN_BATCH` files at a time (one state query and one
        recording statement per batch), so a dataset of a million files already on disk costs
        columns of results, not a million objects. The results come out in the order of the
        stages a file can stop at (refused or skipped, cannot be written here, already present),
        each in manifest order, as when each stage ran over the whole manifest in turn.
        """
        files = manifest.files
        refused = FileResults(files)
        unwritable, present = FileResults(files, like=refused), FileResults(files, like=refused)
        planner, places, limit = PathPlanner(), Places(self.dest), path_max(self.dest)
        path_of = getattr(files, "path", None) or (lambda row: files[row].path)
        facts = facts_of(files)  # an entry is built only for a file to fetch or to explain
        pending: list[Job] = []
        for start in range(0, len(files), PLAN_BATCH):
            here: list[tuple[int, str, str, os.stat_result | OSError, int | None, dict[str, str]]] = []  # on disk, or cannot tell
            for row in range(start, min(start + PLAN_BATCH, len(files))):
                name = path_of(row)
                try:
                    local, renamed = planner.plan(name)
                except UnsafePath as exc:
                    report.messages.append(str(exc))
                    refused.add(row, None, "failed", reason="unsafe file name refused")
                    continue
                if renamed:
                    report.messages.append(f"renamed {name!r} -> {local!r}: {renamed}")
                size, sums, access, has_urls, _ = facts(row)
                if access != "open" and not self._may_try(entry := files[row]):
                    refused.add(row, local, "skipped", reason=access + (f" ({entry.note})" if entry.note else ""))
                    continue
                if not has_urls:
                    refused.add(row, local, "skipped", reason="no download URL")
                    continue
                try:
                    final, st = places.real_stat(local)
                except UnsafePath as exc:  # this name cannot be written here: it fails alone, the run goes on
                    unwritable.add(row, local, "failed", reason=str(exc))
                    continue
                except OSError as exc:
                    final, st = places.real(local), exc
                too_long = len(os.fsencode(final))
                if too_long >= limit:
                    unwritable.add(row, local, "failed",
                                   reason=f"path too long for the file system ({too_long} bytes, at most {limit - 1})")
                elif isinstance(st, OSError) or (st is not None and stat.S_ISREG(st.st_mode)):
                    here.append((row, local, final, st, size, sums))
                else:
                    pending.append(Job(None, local, final, row=row, files=files))
            checks = iter(recheck_many(store, [(local, final, st, size, sums) for _, local, final, st, size, sums in here
                                               if not isinstance(st, OSError)]))
            for row, local, final, st, _, _ in here:  # in manifest order, the failures among them too
                checked = st if isinstance(st, OSError) else next(checks)
                if isinstance(checked, OSError):
                    present.add(row, local, "failed", reason=f"cannot use {local}: {checked.strerror or checked}")
                elif checked is None:
                    pending.append(Job(None, local, final, row=row, files=files))
                else:
                    present.add(row, local, "present", reason=None if checked else why_unchecked(files[row]),
                                checked=checked)
        pending.sort(key=lambda job: job.row)  # a file on disk that must be fetched again came later in its batch
        stages = [stage for stage in (refused, unwritable, present) if len(stage)] or [refused]
        for stage in stages[1:]:
            stages[0].extend_from(stage)
        return stages[0], pending  # (commonly one stage: no copy of its columns)

    def _may_try(self, entry: FileEntry) -> bool:
        """A restricted file is attempted when the user gave a token for its host (a 403 then
        fails it with a reason); embargoed, offline and external files never are."""
        return entry.access == "restricted" and any(self.credentials.headers_for(httpx.URL(u)) for u in entry.urls)

    def _check_space(self, jobs: list[Job], store: StateStore) -> None:
        parts = {entry.name: entry.stat().st_size for entry in os.scandir(store.parts) if entry.is_file()}
        needed = 0
        total = 0
        for job in jobs:
            part = store.part_path(job.local)
            have = parts.get(part.name, 0) if not store.segments(job.local) else 0
            total += job.entry.size or 0
            needed += max(0, (job.entry.size or 0) - have)
        limit = self.options.max_total_size
        if limit is not None and total > limit:
            raise InsufficientSpace(f"the selection is {total} bytes, more than --max-total-size {limit}")
        free = shutil.disk_usage(self.dest).free
        if needed > free:
            raise InsufficientSpace(f"not enough free space in {self.dest}: need {needed} bytes, {free} available")

    # fetching ------------------------------------------------------------------------------
    def _result(self, job: Job, status: Status, reason: str | None = None, retries: list[str] | None = None
                ) -> FileResult:
        moved = self._received.get(job.local, 0)  # every byte received, discarded copies too
        checked = self._store.checked(job.local) if status == "downloaded" else ()
        if status == "downloaded" and not checked:
            reason = why_unchecked(job.entry)
        return FileResult(job.entry.path, job.local, status, moved, reason, tuple(retries or ()), checked)

    async def _fetch(self, fetcher: FileFetcher, job: Job, first: Exception | None = None) -> FileResult:
        """Attempts until the file is verified or given up; ``first``: how an attempt made
        elsewhere (a small-file batch) already failed."""
        retries: list[str] = []
        urls = list(job.entry.urls)
        attempt = 0

        def result(status: Status, reason: str | None = None) -> FileResult:
            return self._result(job, status, reason, retries)

        while attempt < self.options.max_attempts and urls:
            attempt += 1
            try:
                if first is not None:
                    failed, first = first, None
                    raise failed
                await attempt_file(fetcher, job, urls[0])
                return result("downloaded")
            except Retry as exc:
                retries.append(exc.reason)
                if exc.delay is not None and exc.delay > self.options.max_wait:
                    return result("failed", f"{exc.reason} (server asks to wait {exc.delay:.0f} s)")
                # our own backoff never ends a file: it waits at most --max-wait
                delay = min(backoff_delay(attempt - 1), self.options.max_wait) if exc.delay is None else exc.delay
                if attempt < self.options.max_attempts:
                    await asyncio.sleep(delay)
            except TransferError as exc:
                if job.bad_copies or len(urls) == 1:
                    return result("failed", str(exc))
                retries.append(f"{exc} at {urls[0]}; trying the next URL")
                urls.pop(0)  # this URL is gone or refused: try the next mirror
            except OSError as exc:  # the name cannot be written here (a file where a folder goes, ...)
                return result("failed", f"could not write {job.local}: {exc.strerror or exc}")
        last = retries[-1] if retries else "failed"
        return result("failed", f"{last} (after {attempt} attempts)")


T = TypeVar("T")


async def in_lanes(items: Sequence[T], work: Callable[[T], Awaitable[None]], lanes: int) -> None:
    """``work`` on every item, ``lanes`` at a time, each lane taking the next item in order."""
    pending = iter(items)

    async def lane() -> None:
        for item in pending:
            await work(item)

    await asyncio.gather(*(lane() for _ in range(min(lanes, len(items)))))


def path_max(folder: Path) -> int:
    """The longest path (in bytes, with its NUL) the file system under ``folder`` takes."""
    try:
        return int(os.pathconf(folder, "PC_PATH_MAX"))
    except (OSError, ValueError, AttributeError):
        return 4096  # Linux's PATH_MAX


def small_batches(jobs: list[Job], lanes: int, partial: set[str], segmented_from: int | None
                  ) -> tuple[list[list[Job]], list[Job]]:
    """Group files of at most ``SMALL_FILE`` bytes (size known, not resuming, not segmented) by
    host into batches; the rest stay single.

    Batch sizes shrink as the list runs out (a quarter of what is left per lane, at most
    ``MAX_BATCH``), so the last batches are single files and no lane is left finishing a long
    batch while the others sit idle.
    """
    by_host: dict[str, list[Job]] = {}
    singles: list[Job] = []
    for job in jobs:
        size = job.entry.size
        if size is None or size > SMALL_FILE or job.local in partial or \
                (segmented_from is not None and size >= segmented_from):
            singles.append(job)
        else:
            by_host.setdefault(host_of(job.entry.urls[0]), []).append(job)
    groups: list[list[Job]] = []
    for host_jobs in by_host.values():
        start = 0
        while start < len(host_jobs):
            size = max(1, min(MAX_BATCH, (len(host_jobs) - start) // (4 * lanes)))
            groups.append(host_jobs[start:start + size])
            start += size
    return groups, singles


__all__ = ["DownloadReport", "Engine", "FileResult", "NullProgress", "ProgressSink", "Status", "TransferOptions"]
