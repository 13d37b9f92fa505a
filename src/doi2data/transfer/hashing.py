"""Compute every checksum a manifest knows in one pass over the bytes.

hashlib covers md5, the sha1/sha2 family, sha3_* and blake2b/blake2s; zlib covers adler32
(dCache) and crc32; the ``crc32c`` package covers CRC-32C. Only the algorithms the model knows
(:data:`~doi2data.model.HASH_ALGORITHMS`) are ever built: ``hashlib.new`` also accepts names such
as ``shake128`` whose ``hexdigest()`` needs a length. An algorithm nobody implements (``blake3``)
is reported as not checked rather than silently passed.
"""

from __future__ import annotations

import hashlib
import queue
import threading
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Protocol

from ..entry import HASH_ALGORITHMS, normalize_algorithm


class _Hasher(Protocol):
    def update(self, data: bytes, /) -> None: ...
    def hexdigest(self) -> str: ...


class _Zlib:
    """adler32/crc32 with a hashlib-like face."""

    def __init__(self, kind: str) -> None:
        self._fn = zlib.adler32 if kind == "adler32" else zlib.crc32
        self._value = 1 if kind == "adler32" else 0

    def update(self, data: bytes, /) -> None:
        self._value = self._fn(data, self._value)

    def hexdigest(self) -> str:
        return f"{self._value & 0xFFFFFFFF:08x}"


class _Crc32c:
    def __init__(self) -> None:
        import crc32c  # type: ignore[import-not-found]  # optional dependency

        self._mod = crc32c
        self._value = 0

    def update(self, data: bytes, /) -> None:
        self._value = self._mod.crc32c(data, self._value)

    def hexdigest(self) -> str:
        return f"{self._value & 0xFFFFFFFF:08x}"


#: hashlib's own constructors for the algorithms it has: ``hashlib.md5()`` is several times faster
#: than ``hashlib.new("md5")`` (checking a million small files builds a million hashers)
_HASHLIB = {name: getattr(hashlib, name) for name in HASH_ALGORITHMS if hasattr(hashlib, name)}


def _new(algorithm: str) -> _Hasher | None:
    make = _HASHLIB.get(algorithm)
    if make is not None:
        try:
            return make()  # type: ignore[no-any-return]
        except ValueError:  # e.g. md5 on a FIPS build
            return None
    if algorithm not in HASH_ALGORITHMS:
        return None
    if algorithm in ("adler32", "crc32"):
        return _Zlib(algorithm)
    if algorithm == "crc32c":
        try:
            return _Crc32c()
        except ImportError:
            return None
    try:
        return hashlib.new(algorithm)  # type: ignore[return-value]
    except ValueError:
        return None


def supported(algorithm: str) -> bool:
    return _new(normalize_algorithm(algorithm)) is not None


def usable(checksums: Mapping[str, str]) -> dict[str, str]:
    """The checksums that can actually be checked here (known and implemented algorithms)."""
    return {algo: value for algo, value in checksums.items() if supported(algo)}


class MultiHasher:
    """Feed bytes once, get every requested digest."""

    def __init__(self, algorithms: Iterable[str]) -> None:
        self._hashers: dict[str, _Hasher] = {}
        self.unsupported: list[str] = []
        for name in algorithms:
            algo = name if name in _HASHLIB else normalize_algorithm(name)
            hasher = _new(algo)
            if hasher is None:
                self.unsupported.append(algo)
            else:
                self._hashers[algo] = hasher

    def update(self, data: bytes) -> None:
        for hasher in self._hashers.values():
            hasher.update(data)

    def digests(self) -> dict[str, str]:
        return {name: h.hexdigest() for name, h in self._hashers.items()}


PIPE_FROM = 8 << 20  # streams with at least this much to come are hashed on a thread of their own


class HashPipe:
    """A :class:`MultiHasher` on its own thread: :meth:`update` hands a block over and returns.

    Why: md5 runs at about 0.85 GB/s on one core of the benchmark machine, as slow as reading
    and writing the stream itself. hashlib lets go of the GIL while it hashes, so on its own thread
    the hashing of one block overlaps the reading and writing of the next. The queue holds at most
    ``depth`` blocks, so a slow hash slows the reader instead of filling memory.
    """

    def __init__(self, hasher: MultiHasher, depth: int = 8) -> None:
        self._hasher = hasher
        self._blocks: queue.Queue[bytes | None] = queue.Queue(depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="doi2data-hash", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (block := self._blocks.get()) is not None:
            if self._error is None:
                try:
                    self._hasher.update(block)
                except BaseException as exc:  # noqa: BLE001 - re-raised by digests()
                    self._error = exc

    def update(self, data: bytes) -> None:
        self._blocks.put(data)

    def close(self) -> None:
        """Stop the thread after the blocks already handed over (idempotent)."""
        if self._thread.is_alive():
            self._blocks.put(None)
            self._thread.join()

    def digests(self) -> dict[str, str]:
        self.close()
        if self._error is not None:
            raise self._error
        return self._hasher.digests()


def piped(hasher: MultiHasher, remaining: int | None) -> MultiHasher | HashPipe:
    """Hash on a thread of its own when enough bytes are to come (or an unknown number)."""
    return HashPipe(hasher) if remaining is None or remaining >= PIPE_FROM else hasher


def mismatches(expected: Mapping[str, str], actual: Mapping[str, str]) -> list[str]:
    """Human-readable list of algorithms whose digest differs (only those computed)."""
    return [
        f"{algo} expected {want} got {actual[algo]}"
        for algo, want in expected.items()
        if algo in actual and actual[algo] != want.lower()
    ]


def hash_file(path: Path | str, algorithms: Iterable[str], *, limit: int | None = None, chunk: int = 1 << 20
              ) -> MultiHasher:
    """Hash a local file (or its first ``limit`` bytes); a ``str`` path saves a ``Path`` per file
    (pathlib interns every name it parses: a million names stay in memory for good)."""
    hasher = MultiHasher(algorithms)
    remaining = limit
    with open(path, "rb") as fh:
        while remaining is None or remaining > 0:
            block = fh.read(chunk if remaining is None else min(chunk, remaining))
            if not block:
                break
            hasher.update(block)
            if remaining is not None:
                remaining -= len(block)
    return hasher


__all__ = ["PIPE_FROM", "HashPipe", "MultiHasher", "hash_file", "mismatches", "piped", "supported", "usable"]
