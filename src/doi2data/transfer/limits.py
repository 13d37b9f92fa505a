"""Politeness: per-host connection limits and request-rate token buckets.

A repository's published limits apply to every request we send it (API calls, each file, each
segment, each retry), so every request takes a token from its host's buckets first. Defaults
follow Zenodo's published guest limits (60 requests/minute and 2,000 requests/hour); other hosts
get a generous default. When a server says ``X-RateLimit-Remaining: 0`` the host pauses until
its ``X-RateLimit-Reset``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

from ..errors import UsageError


@dataclass(frozen=True)
class Window:
    """``requests`` per ``seconds``: a bucket of that capacity refilled at that rate."""

    requests: int
    seconds: float


#: Published limits per host. Zenodo: guests 60 req/min and 2000 req/h (developers.zenodo.org).
DEFAULT_RATES: Mapping[str, tuple[Window, ...]] = {
    "zenodo.org": (Window(60, 60.0), Window(2000, 3600.0)),
    "sandbox.zenodo.org": (Window(60, 60.0), Window(2000, 3600.0)),
    "api.figshare.com": (Window(1, 1.0),),  # "no more than one request per second" (docs.figshare.com)
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

    def __init__(self, per_host: int = 4, rates: Mapping[str, tuple[Window, ...]] | None = None) -> None:
        self.per_host = max(1, per_host)
        self.rates = dict(DEFAULT_RATES if rates is None else rates)
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


__all__ = ["DEFAULT_RATES", "GENERIC_RATE", "HostLimiter", "TokenBucket", "Window", "parse_rate"]
