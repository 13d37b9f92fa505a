"""Write downloads behind: start writeback early and drop written pages from the page cache.

Two reasons, both measured on the benchmark machine (a VM, 2 cores, 24 GiB):

* **No flush at the end.** A file is ``fsync``-ed before it gets its final name (a verified name
  must survive a power cut). With gigabytes of RAM the kernel would keep every byte in the page
  cache until that ``fsync``, so a 2 GiB download was followed by a 2 GiB flush, one after the
  other. Asking for writeback every few MiB overlaps the two.
* **No page-cache growth.** Data written once and not read back again soon is what a bulk
  download is; keeping it cached evicts what other programs use, and on a VM whose memory the
  host backs only when first touched, every *new* page-cache page is slow: writes ran at
  ~330 MiB/s while the cache grew, ~1.7 GiB/s when the pages of already-flushed data were
  dropped and reused (same file sizes, same disk).

On Linux this is the streaming-write pattern: ``sync_file_range(WRITE)`` on the newest window,
then ``sync_file_range(WAIT_BEFORE|WRITE|WAIT_AFTER)`` and ``posix_fadvise(DONTNEED)`` on the one
before it (which had a whole window's time to reach the disk, so the wait is short). Elsewhere
only the final ``fsync`` writes, and nothing is dropped.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from collections.abc import Callable
from pathlib import Path

WRITEBACK_EVERY = 8 << 20  # bytes written between two writeback requests
_WAIT_BEFORE, _WRITE, _WAIT_AFTER = 1, 2, 4


def _load() -> Callable[[int, int, int, int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        fn = libc.sync_file_range
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn  # type: ignore[no-any-return]  # ctypes function: (fd, offset, nbytes, flags) -> int


_sync_file_range = _load()


def start_writeback(fd: int, offset: int, length: int) -> None:
    """Queue ``offset..offset+length`` for writing to disk and return (advisory)."""
    if _sync_file_range is not None and length > 0:
        _sync_file_range(fd, offset, length, _WRITE)


def drop_written(fd: int, offset: int, length: int) -> None:
    """Wait until ``offset..offset+length`` is on disk, then let the kernel drop it from the cache.

    ``length`` 0 means to the end of the file. Only for bytes nobody still reads from the cache
    (a segmented file's pieces are dropped by the hash follower, after hashing).
    """
    if _sync_file_range is None:
        return
    _sync_file_range(fd, offset, length, _WAIT_BEFORE | _WRITE | _WAIT_AFTER)
    os.posix_fadvise(fd, offset, length, os.POSIX_FADV_DONTNEED)


def drop_cached(fd: int) -> None:
    """After an ``fsync``: let the kernel drop the whole file from the page cache (Linux)."""
    if _sync_file_range is not None:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)


def write_file(path: Path, body: bytes, *, sync: bool) -> None:
    """``body`` as the whole of ``path``; with ``sync``, on disk (``fsync``) and out of the page cache."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(body)
        while view:
            view = view[os.write(fd, view):]
        if sync:
            os.fsync(fd)
            drop_cached(fd)
    finally:
        os.close(fd)


class Writeback:
    """Follows one writer at ``offset..`` and writes behind it every ``every`` bytes.

    ``drop``: also drop each window from the page cache once the next one is queued (a single
    stream, whose bytes are hashed as they arrive and never read back).
    """

    def __init__(self, fd: int, offset: int, *, drop: bool, every: int = WRITEBACK_EVERY) -> None:
        self.fd = fd
        self.queued = offset  # everything before this has been handed to the kernel's writeback
        self.dropped = offset  # ... and everything before this has left the page cache
        self.every = every
        self.drop = drop

    def written(self, end: int) -> None:
        """Bytes up to ``end`` (exclusive) are written."""
        if _sync_file_range is None or end - self.queued < self.every:
            return
        start_writeback(self.fd, self.queued, end - self.queued)
        if self.drop and self.queued > self.dropped:
            drop_written(self.fd, self.dropped, self.queued - self.dropped)
            self.dropped = self.queued
        self.queued = end

    def finish(self) -> None:
        """After the final ``fsync``: drop what is left of this writer's bytes (if dropping)."""
        if self.drop and _sync_file_range is not None:
            os.posix_fadvise(self.fd, self.dropped, 0, os.POSIX_FADV_DONTNEED)  # the rest, once on disk


def available() -> bool:
    """Whether writing behind works on this platform (else only the final ``fsync`` writes)."""
    return _sync_file_range is not None


__all__ = ["WRITEBACK_EVERY", "Writeback", "available", "drop_cached", "drop_written", "start_writeback", "write_file"]
