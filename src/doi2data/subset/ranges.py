"""Ranged reads over the project's HTTP stack, counted: the one way subset code touches bytes.

Why not fsspec or a read-ahead cache: measured (research §6-7), default read-ahead moves
hundreds of times the bytes a subset needs. Subset code asks for exact ranges instead:

* :class:`RangeReader` - ``read(url, start, end)``, ``open(url, start, end)`` (a streaming body),
  ``tail(url, n)``; through :func:`doi2data.http.make_sync_client` / :func:`~doi2data.http.send_sync`
  (proxies, CA, User-Agent, per-host credentials); ``Accept-Encoding: identity``; retries on
  connection errors, 429 and 5xx honouring ``Retry-After``; per-host token buckets (Zenodo's guest
  limits by default, as the engine; :class:`HostGates` shares them between readers); counts
  ``requests`` and ``bytes_received``; and refuses a file whose ``ETag`` changes between two
  reads (offsets from the first read would be wrong).
* :class:`~.rangefile.RangeFile` (its own module) - a file object for the metadata parsers.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

import httpx

from ..errors import AccessDenied, NetworkError, TransferError
from ..http import (RETRY_STATUSES, Credentials, backoff_delay, make_sync_client, retry_after_seconds, send_sync,
                    translate_transport_error)
from ..transfer.limits import DEFAULT_RATES, GENERIC_RATE, TokenBucket, Window

T = TypeVar("T")
R = TypeVar("R")
UNLIMITED = (Window(10**9, 1.0),)
_CHUNK = 64 * 1024


class _HostGate:
    """Thread-safe token buckets for one host, plus a pause when the server says quota is out."""

    def __init__(self, windows: Sequence[Window]) -> None:
        self.buckets = [TokenBucket(w) for w in windows]
        self.unlimited = all(w.requests >= 10**8 for w in windows)
        self.lock = threading.Lock()
        self.paused_until = 0.0

    def take(self) -> None:
        with self.lock:
            while True:
                delay = max([b.wait_time() for b in self.buckets] + [self.paused_until - time.monotonic()])
                if delay <= 0:
                    break
                time.sleep(delay)
            for bucket in self.buckets:
                bucket.take()


class HostGates:
    """Per-host token buckets, made on first use from ``rates``; thread-safe and shareable.

    Why a separate object: a reader's counters and ETag memory belong to one operation, but
    politeness towards an origin must hold for everything a process sends there. Readers given
    the same ``HostGates`` (``RangeReader(gates=...)``) draw on the same buckets - the gateway
    makes one per process; a reader made without one gets its own.
    """

    def __init__(self, rates: Mapping[str, tuple[Window, ...]] | None = None) -> None:
        self.rates = dict(DEFAULT_RATES if rates is None else rates)
        self._gates: dict[str, _HostGate] = {}
        self._lock = threading.Lock()

    def gate(self, host: str) -> _HostGate:
        """The buckets for ``host`` (``GENERIC_RATE`` for a host without its own rate)."""
        with self._lock:
            if host not in self._gates:
                self._gates[host] = _HostGate(self.rates.get(host, GENERIC_RATE))
            return self._gates[host]


class RangeReader:
    """Exact byte ranges from HTTP(S) URLs with retries, politeness and counters.

    ``rates`` maps host -> token-bucket windows (``None``: Zenodo's published guest limits,
    generous elsewhere; use :data:`UNLIMITED` per host for the sandbox and benchmarks).
    ``gates``: a :class:`HostGates` shared with other readers (its rates apply; do not pass
    ``rates`` too). Thread-safe: :meth:`map` runs a function over items with ``workers`` threads.
    """

    def __init__(self, *, client: httpx.Client | None = None, credentials: Credentials | None = None,
                 rates: Mapping[str, tuple[Window, ...]] | None = None, attempts: int = 4, max_wait: float = 60.0,
                 workers: int = 8, timeout: float | None = None, gates: HostGates | None = None) -> None:
        if gates is not None and rates is not None:
            raise TypeError("RangeReader: pass rates or gates, not both (gates carry their own rates)")
        self._own = client is None
        self.client = client or make_sync_client(max_connections=max(workers, 4), timeout=timeout)
        self.credentials = credentials or Credentials()
        self.gates = gates if gates is not None else HostGates(rates)
        self.attempts, self.max_wait, self.workers = max(1, attempts), max_wait, max(1, workers)
        self._etags: dict[str, str] = {}
        self._lock = threading.Lock()
        self.requests = 0
        self.bytes_received = 0

    # -- lifecycle ---------------------------------------------------------------------------
    def close(self) -> None:
        if self._own:
            self.client.close()

    def __enter__(self) -> RangeReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _count(self, requests: int = 0, nbytes: int = 0) -> None:
        with self._lock:
            self.requests += requests
            self.bytes_received += nbytes

    @property
    def rates(self) -> dict[str, tuple[Window, ...]]:
        return self.gates.rates

    def _gate(self, host: str) -> _HostGate:
        return self.gates.gate(host)

    # -- requests ----------------------------------------------------------------------------
    def _send(self, url: str, headers: dict[str, str]) -> httpx.Response:
        """One streamed GET with retries for transient failures; returns an open 2xx/416 response."""
        gate = self._gate(httpx.URL(url).host)
        for attempt in range(self.attempts):
            last = attempt == self.attempts - 1
            gate.take()
            self._count(requests=1)
            try:
                response = send_sync(self.client, "GET", url, headers={"Accept-Encoding": "identity", **headers},
                                     credentials=self.credentials, stream=True)
            except httpx.TransportError as exc:
                if last:
                    raise translate_transport_error(exc, url) from exc
                time.sleep(backoff_delay(attempt))
                continue
            if response.headers.get("x-ratelimit-remaining", "").strip() == "0" and not gate.unlimited:
                wait = retry_after_seconds({"x-ratelimit-reset": response.headers.get("x-ratelimit-reset", "")})
                gate.paused_until = time.monotonic() + min(wait or 0.0, self.max_wait)
            if response.status_code in RETRY_STATUSES and not last:
                wait = retry_after_seconds(response.headers)
                response.close()
                delay = backoff_delay(attempt) if wait is None else wait
                if delay > self.max_wait:
                    raise TransferError(f"{httpx.URL(url).host} asks to wait {delay:.0f} s", url=url)
                time.sleep(delay)
                continue
            self._check(response, url)
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _check(self, response: httpx.Response, url: str) -> None:
        status = response.status_code
        if status >= 400 and status != 416:
            response.close()
            if status in (401, 403):
                raise AccessDenied(f"access denied (HTTP {status}): {url}", url=url)
            raise TransferError(f"HTTP {status} for {url}", url=url)
        etag = response.headers.get("etag")
        if etag and not etag.startswith("W/"):
            with self._lock:
                known = self._etags.setdefault(url, etag)
            if known != etag:
                response.close()
                raise TransferError(f"{url} changed on the server while being read (ETag {known} -> {etag})",
                                    url=url)

    @contextmanager
    def open(self, url: str, start: int = 0, end: int | None = None) -> Iterator[Iterator[bytes]]:
        """Stream ``[start, end)`` (``end=None``: to the end of the file) as an iterator of bytes.

        A server that ignores ``Range`` is accepted only when ``start == 0`` (the body is cut at
        ``end``); otherwise :class:`~doi2data.errors.TransferError` - never silently wrong bytes.
        """
        if end is not None and end <= start:
            yield iter(())
            return
        spec = f"bytes={start}-" + ("" if end is None else str(end - 1))
        response = self._send(url, {"Range": spec} if (start or end is not None) else {})
        try:
            if response.status_code == 416:
                raise TransferError(f"range {spec} not satisfiable for {url}", url=url)
            if response.status_code == 206:
                _check_content_range(response, start, end, url)
            elif start:
                raise TransferError(f"{httpx.URL(url).host} ignored the Range header; cannot read from offset "
                                    f"{start} without downloading the whole file", url=url)
            yield self._body(response, None if end is None else end - start, url)
        finally:
            response.close()

    def _body(self, response: httpx.Response, limit: int | None, url: str) -> Iterator[bytes]:
        left = limit
        try:
            encoded = response.headers.get("content-encoding", "identity").strip().lower() not in ("", "identity")
            # asked for identity: an encoding sent anyway is kept raw, never inflated (no bomb, and the
            # offsets stay those of the stored file)
            for chunk in (response.iter_raw(_CHUNK) if encoded else response.iter_bytes(_CHUNK)):
                if left is not None:
                    chunk = chunk[:left]
                    left -= len(chunk)
                self._count(nbytes=len(chunk))
                if chunk:
                    yield chunk
                if left == 0:
                    return
        except httpx.TransportError as exc:
            raise translate_transport_error(exc, url) from exc

    def read(self, url: str, start: int, end: int) -> bytes:
        """Exactly the bytes ``[start, end)`` (fewer only at the end of the file)."""
        for attempt in range(self.attempts):
            try:
                with self.open(url, start, end) as body:
                    return b"".join(body)
            except NetworkError:
                if attempt == self.attempts - 1:
                    raise
                time.sleep(backoff_delay(attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    def tail(self, url: str, length: int, size: int | None = None) -> tuple[bytes, int]:
        """The last ``length`` bytes and the file's total size (a suffix range when unknown)."""
        if size is not None:
            start = max(0, size - length)
            return self.read(url, start, size), size
        response = self._send(url, {"Range": f"bytes=-{length}"})
        try:
            total = _content_range_total(response)
            if response.status_code != 206 or total is None:
                raise TransferError(f"{httpx.URL(url).host} does not answer suffix ranges for {url}", url=url)
            return b"".join(self._body(response, None, url)), total
        finally:
            response.close()

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """``[fn(x) for x in items]`` on ``workers`` threads (order kept; the first error raises)."""
        todo = list(items)
        if self.workers == 1 or len(todo) < 2:
            return [fn(x) for x in todo]
        with ThreadPoolExecutor(self.workers, thread_name_prefix="doi2data-range") as pool:
            return list(pool.map(fn, todo))


def _content_range_total(response: httpx.Response) -> int | None:
    value = response.headers.get("content-range", "")
    total = value.rpartition("/")[2].strip()
    return int(total) if total.isdigit() else None


def _check_content_range(response: httpx.Response, start: int, end: int | None, url: str) -> None:
    value = response.headers.get("content-range", "")
    try:
        first = int(value.split()[1].split("-")[0])
    except (IndexError, ValueError):
        first = -1
    if first != start:
        raise TransferError(f"server answered range {value!r}, not bytes={start}-", url=url)


def coalesce(spans: Iterable[tuple[int, int]], gap: int = 0) -> list[tuple[int, int]]:
    """Merge ``[start, end)`` spans that overlap or are at most ``gap`` bytes apart (sorted)."""
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1] + gap:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(a, b) for a, b in merged]


__all__ = ["UNLIMITED", "HostGates", "RangeReader", "coalesce"]
