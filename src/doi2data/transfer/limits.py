"""Politeness: per-host connection limits and request-rate token buckets.

A repository's published limits apply to every request we send it (API calls, each file, each
segment, each retry), so every request takes a token from its host's buckets first. Defaults
follow each service's published *guest* limits (:data:`DEFAULT_RATES`); a host for which the user
configured a token or API account gets the published *authenticated* limits instead
(:data:`TOKEN_RATES`, via ``HostLimiter(authenticated=...)``); other hosts get a generous default.
When a server says ``X-RateLimit-Remaining: 0`` the host pauses until its ``X-RateLimit-Reset``.

Published limits (checked 2026-12-06):

* Zenodo: guests 60/min and 2,000/h, authenticated 100/min and 5,000/h; the records *search*
  endpoints (``/api/records``, and ``/api/records/<id>/versions``, which is a search) 30/min for
  everyone, pages of at most 25 for guests (developers.zenodo.org#rate-limiting;
  blog.zenodo.org/2025/11/25/2025-11-14-search-api-updates). The search limit is per client, so
  :class:`EndpointGate` is one per process.
* Dryad: anonymous 30 API requests/min and no file downloads; API accounts 240/min
  (datadryad.org/api/v2/docs, the OpenAPI description; dryad-app ``config/initializers/rack_attack.rb``
  throttles ``/api`` by IP with and without ``Authorization`` and answers 429 with ``RateLimit-Reset``).
* OSF: unauthenticated 100 requests/hour, authenticated 10,000/day (developer.osf.io "Errors and
  Error Codes", 429; CenterForOpenScience/osf.io PR #6221; datalad-osf #28). Only the API host
  (``api.osf.io``) is throttled; downloads go through osf.io and WaterButler.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

from ..errors import UsageError


@dataclass(frozen=True)
class Window:
    """``requests`` per ``seconds``: a bucket of that capacity refilled at that rate."""

    requests: int
    seconds: float


_ZENODO_GUEST = (Window(60, 60.0), Window(2000, 3600.0))
_ZENODO_TOKEN = (Window(100, 60.0), Window(5000, 3600.0))
_DRYAD_ANON = (Window(30, 60.0),)
_OSF_ANON = (Window(100, 3600.0),)

#: Published guest limits per host (see the module docstring for the sources).
DEFAULT_RATES: Mapping[str, tuple[Window, ...]] = {
    "zenodo.org": _ZENODO_GUEST,
    "sandbox.zenodo.org": _ZENODO_GUEST,
    "datadryad.org": _DRYAD_ANON,
    "sandbox.datadryad.org": _DRYAD_ANON,
    "api.osf.io": _OSF_ANON,
    "api.figshare.com": (Window(1, 1.0),),  # "no more than one request per second" (docs.figshare.com)
}
#: Published limits with a token / API account for the host; used in place of the guest limit
#: (unless the user set ``--rate`` for that host).
TOKEN_RATES: Mapping[str, tuple[Window, ...]] = {
    "zenodo.org": _ZENODO_TOKEN,
    "sandbox.zenodo.org": _ZENODO_TOKEN,
    "datadryad.org": (Window(240, 60.0),),
    "sandbox.datadryad.org": (Window(240, 60.0),),
    "api.osf.io": (Window(10_000, 86_400.0),),
}
#: Published limits of search endpoints, per host, on top of the host's own (Zenodo's records
#: search, which ``/versions`` is: 30 requests/minute whoever asks).
SEARCH_RATES: Mapping[str, Window] = {
    "zenodo.org": Window(30, 60.0),
    "sandbox.zenodo.org": Window(30, 60.0),
}
GENERIC_RATE = (Window(50, 1.0),)


class TokenBucket:
    def __init__(self, window: Window) -> None:
        self.capacity = float(window.requests)
        self.rate = window.requests / window.seconds
        self.tokens = self.capacity
        self.stamp = time.monotonic()

    def _refill(self) -> None:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def wait_time(self) -> float:
        self._refill()
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self) -> None:
        self._refill()
        self.tokens -= 1


class _Host:
    def __init__(self, connections: int, windows: Iterable[Window]) -> None:
        self.gate = asyncio.Semaphore(connections)
        self.buckets = [TokenBucket(w) for w in windows]
        self.lock = asyncio.Lock()
        self.paused_until = 0.0


class HostLimiter:
    """Per-host connection cap plus token buckets; shared by every request of one run."""

    def __init__(self, per_host: int = 4, rates: Mapping[str, tuple[Window, ...]] | None = None, *,
                 authenticated: Iterable[str] = ()) -> None:
        """``authenticated``: hosts the user gave a token for; those still at their guest default
        get :data:`TOKEN_RATES` (a ``--rate`` the user set is kept as it is)."""
        self.per_host = max(1, per_host)
        self.rates = dict(DEFAULT_RATES if rates is None else rates)
        for host in {h.lower() for h in authenticated}:
            if host in TOKEN_RATES and host in self.rates and self.rates[host] == DEFAULT_RATES.get(host):
                self.rates[host] = TOKEN_RATES[host]
        self._hosts: dict[str, _Host] = {}

    def _host(self, host: str) -> _Host:
        if host not in self._hosts:
            self._hosts[host] = _Host(self.per_host, self.rates.get(host, GENERIC_RATE))
        return self._hosts[host]

    async def _take_token(self, state: _Host, count: int = 1) -> None:
        async with state.lock:  # FIFO-ish: one waiter at a time drains the bucket
            for _ in range(count):
                while True:
                    delay = max([b.wait_time() for b in state.buckets] + [state.paused_until - time.monotonic()])
                    if delay <= 0:
                        break
                    await asyncio.sleep(delay)
                for bucket in state.buckets:
                    bucket.take()

    @asynccontextmanager
    async def slot(self, host: str, tokens: int = 1) -> AsyncIterator[None]:
        """Hold one of the host's connections for the duration of a request (or of ``tokens``
        requests sent one after another on it)."""
        state = self._host(host)
        async with state.gate:
            await self._take_token(state, tokens)
            yield

    async def token(self, host: str) -> None:
        """Take a rate token without holding a connection slot (redirect hops, API calls)."""
        await self._take_token(self._host(host))

    def pause(self, host: str, seconds: float) -> None:
        """Stop sending to ``host`` for ``seconds`` (server said its quota is exhausted)."""
        state = self._host(host)
        state.paused_until = max(state.paused_until, time.monotonic() + min(seconds, 3600.0))


class EndpointGate:
    """Process-wide pacing of search endpoints (:data:`SEARCH_RATES`), on top of the run's
    :class:`HostLimiter`: the service counts them per client, whatever run sends them.

    A sliding log, not a token bucket: a bucket of N tokens refilled at N per T lets 2N requests
    through in the first T, which a server counting "30 per minute" refuses. Here request k starts
    no sooner than T (plus a small margin for network jitter) after request k-N, so no window of T
    ever holds more than N. Loop-free (a thread lock, reservations in time), so it serves any event
    loop or thread.
    """

    def __init__(self, rates: Mapping[str, Window] | None = None) -> None:
        self.rates = dict(SEARCH_RATES if rates is None else rates)
        self._logs: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _reserve(self, host: str) -> float:
        """Book the next start time for ``host`` and say how long to wait for it."""
        window = self.rates.get(host.lower())
        if window is None:
            return 0.0
        with self._lock:
            now = time.monotonic()
            log = self._logs.get(host.lower())
            if log is None or log.maxlen != window.requests:
                log = self._logs[host.lower()] = deque(log or (), maxlen=max(1, window.requests))
            margin = max(0.05, 0.02 * window.seconds)
            start = now if len(log) < (log.maxlen or 1) else max(now, log[0] + window.seconds + margin)
            log.append(start)
            return start - now

    async def token(self, host: str) -> None:
        """Wait until a search request to ``host`` keeps within its published rate."""
        delay = self._reserve(host)
        if delay > 0:
            await asyncio.sleep(delay)


#: The one gate of this process (see :class:`EndpointGate`).
SEARCH_GATE = EndpointGate()


def parse_rate(spec: str) -> tuple[str, tuple[Window, ...]]:
    """``zenodo.org=60/60`` (requests/seconds) or ``host=0`` (no limit) for ``--rate``."""
    host, sep, value = spec.partition("=")
    if not sep or not host:
        raise UsageError(f"bad --rate {spec!r}: expected HOST=REQUESTS/SECONDS or HOST=0")
    if value.strip() == "0":
        return host, (Window(10**9, 1.0),)
    try:
        requests, _, seconds = value.partition("/")
        window = Window(int(requests), float(seconds or 1))
    except ValueError as exc:
        raise UsageError(f"bad --rate {spec!r}: expected HOST=REQUESTS/SECONDS") from exc
    if window.requests <= 0 or window.seconds <= 0:
        raise UsageError(f"bad --rate {spec!r}: values must be positive")
    return host, (window,)


__all__ = ["DEFAULT_RATES", "GENERIC_RATE", "SEARCH_GATE", "SEARCH_RATES", "TOKEN_RATES", "EndpointGate", "HostLimiter",
           "TokenBucket", "Window", "parse_rate"]
