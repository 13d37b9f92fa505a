"""What the transfer modules share: a job, its settings, the attempt outcomes and response facts."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from ..columns import BuiltOnAccess
from ..entry import FileEntry
from .digests import header_digests
from .state import PartialInfo

RESUME_FROM = 1 << 18  # a smaller file restarts rather than resumes (no partial record kept)


class Aborted(Exception):
    """Raised inside a worker thread whose attempt was abandoned."""


class Retry(Exception):
    """A transient failure worth another attempt (after ``delay`` seconds if the server said)."""

    def __init__(self, reason: str, delay: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.delay = delay


class Changed(Retry):
    """The file changed on the server (or ranges stopped working): the whole file restarts."""


class Overlong(Changed):
    """A body ran past the bytes it should carry: a wrong copy, never written past its size.

    ``declared``: the length the server announced (``Content-Length``) when that was already too
    long - the same announcement twice says the listed size is wrong, not the transfer.
    """

    def __init__(self, limit: int, declared: int | None = None) -> None:
        said = f"announced {declared} bytes" if declared is not None else "sent more bytes"
        super().__init__(f"verification failed: the server {said} where {limit} were due (cut there)")
        self.limit = limit
        self.declared = declared


@dataclass(frozen=True)
class FetchSettings:
    segments: int = 4
    min_segment: int = 8 << 20
    max_attempts: int = 5   # per segment, like per file
    max_wait: float = 300.0


class Job:
    """One file to fetch: its entry, its safe relative name ``local`` and the real path ``final``.

    Given the manifest (``files``) and the ``row``, the entry is built from the row each time it
    is read, and ``final`` is kept as a string: a fresh download of a million files held a
    ``FileEntry``, a ``Path`` and a list per file before its first byte (1,159 bytes each, issue 19),
    now 210 (tracemalloc, 200,000 files to fetch).
    """

    __slots__ = ("_entry", "_files", "_final", "_wrong", "bad_copies", "local", "row")

    def __init__(self, entry: FileEntry | None, local: str, final: Path | str, bad_copies: int = 0,
                 wrong: list[str] | None = None, row: int = -1, files: Sequence[FileEntry] | None = None) -> None:
        if entry is None and (files is None or row < 0):
            raise TypeError("a Job needs its entry, or the manifest's files and the row")
        self._entry, self._files, self.local, self._final = entry, files, local, os.fspath(final)
        self.bad_copies, self._wrong, self.row = bad_copies, wrong, row  # row: its result is stored by it

    @property
    def entry(self) -> FileEntry:
        return self._entry if self._entry is not None else self._files[self.row]  # type: ignore[index]

    @property
    def final(self) -> Path:
        return Path(self._final)

    @property
    def wrong(self) -> list[str]:
        """Fingerprints of the wrong copies received (made on the first one)."""
        if self._wrong is None:
            self._wrong = []
        return self._wrong

    def __repr__(self) -> str:
        return f"Job({self.local!r}, row={self.row})"


class JobEntries(BuiltOnAccess[FileEntry]):
    """The entries of ``jobs``, each built when read (a list of them all would be an entry per file again)."""

    __slots__ = ("_jobs",)

    def __init__(self, jobs: Sequence[Job]) -> None:
        self._jobs = jobs

    def __len__(self) -> int:
        return len(self._jobs)

    def _build(self, at: int) -> FileEntry:
        return self._jobs[at].entry


def capped(response: httpx.Response, chunks: Iterable[bytes], limit: int | None) -> Iterable[bytes]:
    """``chunks`` of ``response``'s body, stopped at the first byte past ``limit`` (``Overlong``).

    A ``Content-Length`` over the limit is refused before any byte is read. With a
    ``Content-Length`` at or under it the HTTP layer (h11) never yields more, so the chunks pass
    as they are (no cost per chunk on the hot path); only a body of unannounced length
    (chunked) is counted chunk by chunk. A content-encoded body is taken raw, never inflated.
    """
    encoded = response.headers.get("content-encoding", "identity").strip().lower() not in ("", "identity")
    if encoded:
        # We asked for identity: a server that encodes anyway gets its bytes kept as sent, like
        # curl and wget do (Apache's ``AddEncoding`` labels a stored ``.tar.gz`` this way, and its
        # listed checksum is of those bytes). httpx would inflate each raw chunk whole, so a nested
        # ``gzip, gzip`` chunk could become gigabytes before any count (a decompression bomb).
        chunks = response.iter_raw()
    if limit is None:
        return chunks
    declared = response.headers.get("content-length", "")
    if declared.isdigit():
        if int(declared) > limit:
            raise Overlong(limit, int(declared))
        return chunks
    return _counted(chunks, limit)


def _counted(chunks: Iterable[bytes], limit: int) -> Iterator[bytes]:
    got = 0
    for chunk in chunks:
        got += len(chunk)
        if got > limit:
            raise Overlong(limit)
        yield chunk


def host_of(url: str) -> str:
    """The host a URL's connection slot and rate tokens belong to (asked per request).

    Parsed by httpx (so IDNA and case match the client's idea of the host), but cached by origin:
    a record's 20,000 file URLs share one, and a full parse of each cost ~40 us.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        return httpx.URL(url).host
    return _origin_host(scheme + sep + rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0])


@functools.lru_cache(maxsize=256)
def _origin_host(origin: str) -> str:
    return httpx.URL(origin).host


def truncate(path: Path, size: int) -> None:
    """Create ``path`` if needed and set its length (sparse when growing)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        os.ftruncate(fd, size)
    finally:
        os.close(fd)


def expected_digests(entry: FileEntry, response: httpx.Response) -> dict[str, str]:
    """The manifest's checksums plus any the server announces (``Digest``/``Repr-Digest``)."""
    expected = dict(entry.checksums)
    for algo, value in header_digests(response.headers).items():
        expected.setdefault(algo, value)
    return expected


def partial_info(url: str, response: httpx.Response, entry: FileEntry) -> PartialInfo:
    return PartialInfo(url, response.headers.get("etag"), response.headers.get("last-modified"), entry.size)


def range_start(response: httpx.Response) -> int | None:
    """``Content-Range: bytes 100-199/1000`` -> 100."""
    value = response.headers.get("content-range", "")
    if not value.startswith("bytes "):
        return None
    first = value[6:].split("-", 1)[0].strip()
    return int(first) if first.isdigit() else None


__all__ = ["RESUME_FROM", "Aborted", "Changed", "FetchSettings", "Job", "Overlong", "Retry", "capped", "expected_digests",
           "host_of", "partial_info", "range_start", "truncate"]
