"""Move the bytes of a manifest into a destination, verified, resumable and idempotent.

The engine knows nothing about repositories: it takes a :class:`~doi2data.model.Manifest` and
an httpx client. For each file it

1. plans a safe local path (:mod:`doi2data.paths`), skipping refused names and non-open files;
2. skips files already verified (state in ``<dest>/.doi2data``), re-hashing locally only when
   the file changed since: a re-run over a complete download moves zero bytes;
3. streams to ``.doi2data/parts/<hash>.part``, hashing while writing, resuming a partial file
   with ``Range`` + ``If-Range`` (a server that ignores ranges or a changed file restarts it);
4. checks size and every known checksum, then renames into place - so a final name only ever
   holds verified bytes; a mismatch leaves nothing under the final name.

Transient failures (connection errors, 429, 5xx) are retried with backoff, honouring
``Retry-After``; one failing file does not stop the others; the report names each failure.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

import httpx

from ..errors import InsufficientSpace, TransferError, VerificationError
from ..http import RETRY_STATUSES, backoff_delay, retry_after_seconds, translate_transport_error
from ..model import FileEntry, Manifest
from ..paths import inside, plan_paths
from .hashing import MultiHasher, hash_file, mismatches
from .state import PartialInfo, StateStore

Status = Literal["downloaded", "present", "skipped", "failed"]
CHUNK = 1 << 18


@dataclass(frozen=True)
class FileResult:
    """Outcome for one manifest entry. ``present`` = already verified, no bytes moved."""

    path: str
    local: str | None
    status: Status
    bytes_transferred: int = 0
    reason: str | None = None


@dataclass
class DownloadReport:
    dest: Path
    results: list[FileResult] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    @property
    def failed(self) -> dict[str, str]:
        return {r.path: r.reason or "failed" for r in self.results if r.status == "failed"}

    @property
    def bytes_transferred(self) -> int:
        return sum(r.bytes_transferred for r in self.results)

    def count(self, status: Status) -> int:
        return sum(1 for r in self.results if r.status == status)


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


class _Retry(Exception):
    """Internal: a transient failure worth another attempt (after ``delay`` seconds if given)."""

    def __init__(self, reason: str, delay: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.delay = delay


@dataclass
class _Job:
    entry: FileEntry
    local: str
    final: Path
    bad_copies: int = 0


class Engine:
    """One download run: a client, a destination and its state store."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        dest: Path,
        *,
        jobs: int = 4,
        max_attempts: int = 5,
        max_wait: float = 120.0,
        progress: ProgressSink | None = None,
    ) -> None:
        self.client = client
        self.dest = dest
        self.jobs = max(1, jobs)
        self.max_attempts = max(1, max_attempts)
        self.max_wait = max_wait
        self.progress: ProgressSink = progress or NullProgress()

    async def run(self, manifest: Manifest) -> DownloadReport:
        self.dest.mkdir(parents=True, exist_ok=True)
        report = DownloadReport(self.dest, messages=list(manifest.warnings))
        store = StateStore(self.dest)
        try:
            jobs = self._plan(manifest, report)
            pending = [j for j in jobs if not self._already_verified(j, store, report)]
            self._check_space(pending, store)
            self.progress.start(len(pending), sum(j.entry.size or 0 for j in pending))
            gate = asyncio.Semaphore(self.jobs)

            async def one(job: _Job) -> FileResult:
                async with gate:
                    self.progress.file_started(job.local, job.entry.size)
                    result = await self._fetch(job, store)
                    self.progress.file_done(result)
                    return result

            report.results.extend(await asyncio.gather(*(one(j) for j in pending)))
        finally:
            store.close()
        return report

    # planning ------------------------------------------------------------------------------
    def _plan(self, manifest: Manifest, report: DownloadReport) -> list[_Job]:
        plans, messages = plan_paths(f.path for f in manifest.files)
        report.messages.extend(messages)
        jobs: list[_Job] = []
        for entry, plan in zip(manifest.files, plans):
            if plan is None:
                report.results.append(FileResult(entry.path, None, "failed", reason="unsafe file name refused"))
            elif entry.access != "open":
                why = f"{entry.access}" + (f" ({entry.note})" if entry.note else "")
                report.results.append(FileResult(entry.path, plan.local, "skipped", reason=why))
            elif not entry.urls:
                report.results.append(FileResult(entry.path, plan.local, "skipped", reason="no download URL"))
            else:
                jobs.append(_Job(entry, plan.local, inside(self.dest, plan.local)))
        return jobs

    def _already_verified(self, job: _Job, store: StateStore, report: DownloadReport) -> bool:
        entry, final = job.entry, job.final
        if not final.is_file():
            return False
        if not store.is_verified(job.local, final, dict(entry.checksums), entry.size):
            # Present but not recorded (or touched since): re-check locally, never re-download blindly.
            if entry.size is not None and final.stat().st_size != entry.size:
                return False
            if not entry.checksums:
                return False
            digests = hash_file(final, entry.checksums).digests()
            if mismatches(entry.checksums, digests) or not digests:
                return False
            store.mark_verified(job.local, final, digests)
        report.results.append(FileResult(entry.path, job.local, "present"))
        return True

    def _check_space(self, jobs: list[_Job], store: StateStore) -> None:
        needed = 0
        for job in jobs:
            part = store.part_path(job.local)
            have = part.stat().st_size if part.exists() else 0
            needed += max(0, (job.entry.size or 0) - have)
        free = shutil.disk_usage(self.dest).free
        if needed > free:
            raise InsufficientSpace(
                f"not enough free space in {self.dest}: need {needed} bytes, {free} available"
            )

    # fetching ------------------------------------------------------------------------------
    async def _fetch(self, job: _Job, store: StateStore) -> FileResult:
        moved = 0
        reason = "failed"
        for attempt in range(self.max_attempts):
            try:
                moved += await self._attempt(job, store)
                return FileResult(job.entry.path, job.local, "downloaded", moved)
            except _Retry as exc:
                reason = exc.reason
                if attempt + 1 < self.max_attempts:
                    delay = backoff_delay(attempt) if exc.delay is None else exc.delay
                    if delay > self.max_wait:
                        break
                    await asyncio.sleep(delay)
            except TransferError as exc:
                return FileResult(job.entry.path, job.local, "failed", moved, str(exc))
        return FileResult(job.entry.path, job.local, "failed", moved, f"{reason} (after {attempt + 1} attempts)")

    async def _attempt(self, job: _Job, store: StateStore) -> int:
        """One GET (resuming if possible); return bytes received. Raises _Retry or TransferError."""
        entry, part = job.entry, store.part_path(job.local)
        url = entry.urls[0]
        offset, headers = self._resume_point(job, store, part)
        received = 0
        try:
            async with self.client.stream("GET", url, headers=headers) as resp:
                offset = self._check_response(resp, offset, entry)
                store.set_partial(job.local, PartialInfo(
                    url, resp.headers.get("etag"), resp.headers.get("last-modified"), entry.size))
                hasher = hash_file(part, entry.checksums, limit=offset) if offset else MultiHasher(entry.checksums)
                with open(part, "r+b" if offset else "wb") as fh:
                    fh.seek(offset)
                    fh.truncate()
                    async for chunk in resp.aiter_bytes(CHUNK):
                        fh.write(chunk)
                        hasher.update(chunk)
                        received += len(chunk)
                        self.progress.advance(job.local, len(chunk))
                    fh.flush()
                    os.fsync(fh.fileno())
        except httpx.TransportError as exc:
            raise _Retry(str(translate_transport_error(exc, url))) from exc
        self._verify_and_commit(job, store, part, offset + received, hasher)
        return received

    def _resume_point(self, job: _Job, store: StateStore, part: Path) -> tuple[int, dict[str, str]]:
        info = store.partial(job.local)
        have = part.stat().st_size if part.exists() else 0
        validator = info and (info.etag or info.last_modified)
        if have and info and validator and info.url == job.entry.urls[0]:
            if job.entry.size is not None and have > job.entry.size:
                return 0, {}
            return have, {"Range": f"bytes={have}-", "If-Range": str(validator)}
        return 0, {}

    def _check_response(self, resp: httpx.Response, offset: int, entry: FileEntry) -> int:
        status = resp.status_code
        if status == 206 and offset:
            start = _content_range_start(resp.headers.get("content-range"))
            if start == offset:
                return offset
            raise _Retry(f"server answered range from byte {start}, asked {offset}")
        if status == 200:
            return 0  # full body: ranges ignored or file changed (If-Range) -> restart cleanly
        if status == 416 and offset and offset == entry.size:
            return offset
        if status in RETRY_STATUSES:
            raise _Retry(f"HTTP {status} from {resp.url.host}", retry_after_seconds(resp.headers))
        if status in (401, 403):
            raise TransferError(f"access denied (HTTP {status})", url=str(resp.url))
        if status in (404, 410):
            raise TransferError(f"not found on server (HTTP {status})", url=str(resp.url))
        raise TransferError(f"unexpected HTTP {status}", url=str(resp.url))

    def _verify_and_commit(self, job: _Job, store: StateStore, part: Path, size: int, hasher: MultiHasher) -> None:
        entry = job.entry
        problems = []
        if entry.size is not None and size != entry.size:
            problems.append(f"size expected {entry.size} got {size}")
        digests = hasher.digests()
        problems.extend(mismatches(entry.checksums, digests))
        if entry.size is not None and size < entry.size:
            raise _Retry(f"body ended early at byte {size} of {entry.size}")  # keep the part: resume
        if problems:
            store.drop_partial(job.local)  # wrong bytes are never resumed from
            job.bad_copies += 1
            message = f"verification failed: {'; '.join(problems)}"
            if job.bad_copies < 2:
                raise _Retry(message)  # one fresh attempt: corruption in transit is often transient
            raise VerificationError(message, url=entry.url)
        job.final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(part, job.final)
        store.mark_verified(job.local, job.final, digests)


def _content_range_start(value: str | None) -> int | None:
    """``bytes 100-199/1000`` -> 100."""
    if not value or not value.startswith("bytes "):
        return None
    first = value[6:].split("-", 1)[0].strip()
    return int(first) if first.isdigit() else None


__all__ = ["DownloadReport", "Engine", "FileResult", "NullProgress", "ProgressSink"]
