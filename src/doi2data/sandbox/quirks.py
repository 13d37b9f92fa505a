"""Quirks: the misbehaviour a test switches on, and the thread-safe registry that holds them.

Why a declarative registry: tests run in the main thread while the sites run in the sandbox's
event-loop thread, so a test says *what* should go wrong (``Quirk(kind="reset", ...)``) and the
traffic middleware (:mod:`doi2data.sandbox.middleware`) decides *when*, per request.

``times`` counts only the requests a quirk actually affects: request-level kinds (``status``,
``latency``, ``no-range``, ``change``) count every matching request; body-level kinds (``reset``,
``truncate``, ``corrupt``, ``slow``, ``stall``, ``extra``) count only 2xx GET responses whose
body they really alter (e.g. ``corrupt`` only when the response covers ``offset``).

``probability`` < 1 makes any kind strike at random (each matching request draws, from a
generator seeded by ``seed`` so a run can be repeated): flaky paths, e.g. 10 % of responses with
one random byte flipped (``kind="corrupt", offset=-1, probability=0.1``).
"""

from __future__ import annotations

import fnmatch
import itertools
import random
import threading
from dataclasses import dataclass, field

REQUEST_KINDS = frozenset({"status", "latency", "no-range", "change"})
BODY_KINDS = frozenset({"reset", "truncate", "corrupt", "slow", "stall", "extra"})
KINDS = REQUEST_KINDS | BODY_KINDS


@dataclass(frozen=True)
class Quirk:
    """One kind of misbehaviour for requests matching ``host`` / ``path`` (fnmatch globs).

    ``path`` is matched against the percent-decoded path (no query). Parameters by kind:

    * ``status``: answer ``status`` with ``headers`` (e.g. 429 + ``Retry-After``) instead.
    * ``latency``: wait ``seconds`` before the response.
    * ``no-range``: ignore ``Range``; 200 with the full body and no ``Accept-Ranges``.
    * ``change``: the file's content changed on the server (new bytes, ETag, Last-Modified).
    * ``reset``: send the headers and ``after_bytes`` body bytes, then abort the TCP connection (RST).
    * ``truncate``: advertise the full ``Content-Length``, send ``after_bytes``, then close cleanly.
    * ``corrupt``: flip one byte at ``offset`` of the *resource* (206 bodies are located by
      ``Content-Range``, so the same file byte is corrupt however it is fetched); ``offset`` < 0:
      a random byte of the response body (a different one each time).
    * ``extra``: send ``after_bytes`` more bytes after the body, with no ``Content-Length`` (a
      chunked body running past the file's size, as a broken server or a hostile one would).
    * ``slow``: send the body at ``rate`` bytes per second.
    * ``stall``: send ``after_bytes``, then hang ``seconds`` before continuing.
    """

    host: str = "*"
    path: str = "*"
    kind: str = ""
    times: int | None = None
    method: str = "*"
    status: int = 503
    headers: dict[str, str] = field(default_factory=dict)
    after_bytes: int = 0
    offset: int = 0
    rate: float = 64 * 1024
    seconds: float = 1.0
    probability: float = 1.0
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown quirk kind {self.kind!r}; expected one of {sorted(KINDS)}")
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError("probability must be between 0 and 1")
        if self.times is not None and self.times < 0:
            raise ValueError("times must be >= 0 or None")
        if self.kind == "slow" and self.rate <= 0:
            raise ValueError("rate must be > 0")

    def matches(self, host: str, path: str, method: str) -> bool:
        return (fnmatch.fnmatchcase(host.lower(), self.host.lower())
                and fnmatch.fnmatchcase(path, self.path)
                and fnmatch.fnmatchcase(method.upper(), self.method.upper()))


@dataclass
class QuirkEntry:
    """A registered quirk with its remaining count (``None`` = unlimited)."""

    handle: int
    quirk: Quirk
    remaining: int | None
    rng: random.Random = field(default_factory=random.Random)

    def strikes(self) -> bool:
        """Whether this request is hit (always, unless the quirk has a ``probability``)."""
        return self.quirk.probability >= 1.0 or self.rng.random() < self.quirk.probability


class QuirkRegistry:
    """Thread-safe list of active quirks, in the order they were added."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[QuirkEntry] = []
        self._ids = itertools.count(1)

    def add(self, quirk: Quirk) -> int:
        with self._lock:
            entry = QuirkEntry(next(self._ids), quirk, quirk.times, random.Random(quirk.seed))
            self._entries.append(entry)
            return entry.handle

    def remove(self, handle: int) -> bool:
        with self._lock:
            before = len(self._entries)
            self._entries = [e for e in self._entries if e.handle != handle]
            return len(self._entries) != before

    def clear(self) -> None:
        with self._lock:
            self._entries = []

    def active(self) -> list[Quirk]:
        with self._lock:
            return [e.quirk for e in self._entries if e.remaining != 0]

    def match(self, host: str, path: str, method: str) -> tuple[list[Quirk], list[QuirkEntry]]:
        """Quirks for one request: request-level ones (already counted) and body-level candidates.

        Only the first ``status``, ``no-range`` and ``change`` quirk applies; ``latency`` ones add up.
        """
        request: list[Quirk] = []
        body: list[QuirkEntry] = []
        seen: set[str] = set()
        with self._lock:
            for entry in self._entries:
                q = entry.quirk
                if entry.remaining == 0 or not q.matches(host, path, method):
                    continue
                if q.kind in BODY_KINDS:
                    body.append(entry)
                elif (q.kind == "latency" or q.kind not in seen) and entry.strikes():
                    seen.add(q.kind)
                    request.append(q)
                    self._count(entry)
        return request, body

    def consume(self, entry: QuirkEntry) -> bool:
        """Count one use of a body-level quirk; False if it ran out meanwhile (or does not strike)."""
        with self._lock:
            if entry.remaining == 0 or not entry.strikes():
                return False
            self._count(entry)
            return True

    def offset(self, entry: QuirkEntry, length: int) -> int:
        """A random byte of a body of ``length`` bytes, drawn from the quirk's seeded generator."""
        with self._lock:
            return entry.rng.randrange(length)

    def _count(self, entry: QuirkEntry) -> None:
        if entry.remaining is not None:
            entry.remaining -= 1


__all__ = ["BODY_KINDS", "KINDS", "REQUEST_KINDS", "Quirk", "QuirkEntry", "QuirkRegistry"]
