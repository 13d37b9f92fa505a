"""A read-only file object over a remote file that fetches only what is read.

For the *metadata* parsers that want a file object - zipfile's central directory, libhdf5's
object headers and chunk index (h5py's ``fileobj`` driver). Fetched bytes live in a sparse,
merged interval cache; a read of missing bytes fetches each gap in one request, widened to
``page`` alignment (never past bytes already held). Nothing is read ahead beyond that page, so
data should be read by explicit ranges (:class:`~.ranges.RangeReader`), not through here.
"""

from __future__ import annotations

import bisect
import contextlib
import gc
import io
import threading
from collections.abc import Callable, Iterator

from .ranges import RangeReader

_GC_LOCK = threading.Lock()
_GC_PAUSES = 0
_GC_WAS_ON = False


@contextlib.contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """No automatic cyclic GC in any thread while a libhdf5 callback waits for the network.

    Why: libhdf5 calls :meth:`RangeFile.readinto` while h5py's global lock is held. If another
    thread runs the cyclic GC meanwhile and frees an h5py object caught in a reference cycle (an
    exception's traceback holding a dataset, say), that object's dealloc waits for h5py's lock -
    for as long as this read waits for its server. That stalls a gateway's event loop, and when the
    server is in the same process (the sandbox's thread) both wait forever (seen in the test suite).
    Pausing the collector only during these waits (counted across threads) costs nothing else:
    garbage is collected after the read, by whichever thread runs next.
    """
    global _GC_PAUSES, _GC_WAS_ON
    with _GC_LOCK:
        if _GC_PAUSES == 0:
            _GC_WAS_ON = gc.isenabled()
            gc.disable()
        _GC_PAUSES += 1
    try:
        yield
    finally:
        with _GC_LOCK:
            _GC_PAUSES -= 1
            if _GC_PAUSES == 0 and _GC_WAS_ON:
                gc.enable()


class RangeFile(io.RawIOBase):
    """A seekable read-only file over ``url`` that fetches only what is read.

    Fetched bytes live in a sparse, merged interval cache; a read of missing bytes fetches each
    gap in one request, widened to ``page`` alignment (never past bytes already held). For
    metadata parsers only: data should be read by explicit ranges, not through here.

    ``charge(n)``, when given, is called before each fetch of ``n`` bytes and may refuse it by
    raising (the HDF5 read budget: hostile metadata cannot make the parser fetch without bound).
    """

    def __init__(self, reader: RangeReader, url: str, size: int, *, page: int = 4096,
                 charge: Callable[[int], None] | None = None) -> None:
        super().__init__()
        self.reader, self.url, self.size, self.page = reader, url, size, max(1, page)
        self.charge = charge
        self._starts: list[int] = []
        self._blocks: list[bytes] = []
        self._pos = 0
        self.fetches = 0
        self.fetched = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def hold(self, start: int, data: bytes) -> None:
        """Add bytes fetched elsewhere (a suffix-range tail) to the cache."""
        if data:
            self._store(start, data)
            self.fetches -= 1
            self.fetched -= len(data)

    def prefetch(self, start: int, end: int) -> None:
        """Make sure ``[start, end)`` is held (one request per gap)."""
        for lo, hi in self._gaps(max(0, start), min(end, self.size)):
            if self.charge is not None:
                self.charge(hi - lo)
            self._store(lo, self.reader.read(self.url, lo, hi))

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), max(0, self.size - self._pos))
        if n <= 0:
            return 0
        start, end = self._pos, self._pos + n
        for lo, hi in self._gaps(start, end):
            lo2 = max(self._held_end_before(lo), lo - lo % self.page)
            hi2 = min(self._held_start_after(hi), -(-hi // self.page) * self.page, self.size)
            if self.charge is not None:
                self.charge(hi2 - lo2)
            with _no_cyclic_gc():  # called by libhdf5 with h5py's lock held: see _no_cyclic_gc
                data = self.reader.read(self.url, lo2, hi2)
            self._store(lo2, data)
        data = self._slice(start, end)
        buffer[:len(data)] = data
        self._pos += len(data)
        return len(data)

    # -- the interval cache ------------------------------------------------------------------
    def _store(self, start: int, data: bytes) -> None:
        self.fetches += 1
        self.fetched += len(data)
        i = bisect.bisect_left(self._starts, start)
        self._starts.insert(i, start)
        self._blocks.insert(i, data)
        merged_s: list[int] = []
        merged_b: list[bytes] = []
        for s, b in zip(self._starts, self._blocks):
            if merged_s and s <= merged_s[-1] + len(merged_b[-1]):
                keep = merged_b[-1]
                tail = b[merged_s[-1] + len(keep) - s:]
                merged_b[-1] = keep + tail
            else:
                merged_s.append(s)
                merged_b.append(b)
        self._starts, self._blocks = merged_s, merged_b

    def _gaps(self, start: int, end: int) -> list[tuple[int, int]]:
        gaps, pos = [], start
        i = max(0, bisect.bisect_right(self._starts, start) - 1)
        while pos < end and i <= len(self._starts):
            if i < len(self._starts):
                s, e = self._starts[i], self._starts[i] + len(self._blocks[i])
                if e <= pos:
                    i += 1
                    continue
                if s > pos:
                    gaps.append((pos, min(s, end)))
                pos = max(pos, e)
                i += 1
            else:
                gaps.append((pos, end))
                break
        return gaps

    def _held_end_before(self, pos: int) -> int:
        i = bisect.bisect_right(self._starts, pos) - 1
        return self._starts[i] + len(self._blocks[i]) if i >= 0 else 0

    def _held_start_after(self, pos: int) -> int:
        i = bisect.bisect_left(self._starts, pos)
        return self._starts[i] if i < len(self._starts) else self.size

    def _slice(self, start: int, end: int) -> bytes:
        i = bisect.bisect_right(self._starts, start) - 1
        s, block = self._starts[i], self._blocks[i]
        return block[start - s:end - s]


__all__ = ["RangeFile"]
