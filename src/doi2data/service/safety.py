"""What keeps the gateway from becoming an open proxy or a way into the operator's network.

* **Only DOI-reached URLs.** Routes take identifiers, never URLs: the gateway fetches what the
  resolver and the adapters reach from a DOI or handle, and the file URLs of that manifest.
  Landing-page URL identifiers are refused (they would let anyone name a host).
* **No private destinations.** Every request the gateway's HTTP client sends - each redirect hop
  included, via an httpx request hook - has its *origin* host checked: IP literals directly,
  names through DNS (an injectable resolver, so tests can say what a name resolves to).
  Loopback, private (RFC 1918, ULA), link-local, CGNAT, multicast, reserved and unspecified
  addresses are refused unless the host or network is allow-listed. When a name does not
  resolve here but a proxy is configured (``HTTPS_PROXY``; the sandbox works this way), the
  proxy resolves it: allowed, unless ``strict_dns``. The proxy's own address is not checked.
* **Per-client limits.** A token bucket per client address (429 + ``Retry-After``), a cap on
  concurrent streamed responses per client, and limits on query size, archive size and members.
* **No credentials.** The gateway's client carries no tokens (``DOI2DATA_TOKENS`` is ignored)
  and never forwards the caller's ``Authorization`` or ``Cookie``; only open files are served.
"""

from __future__ import annotations

import asyncio
import fnmatch
import ipaddress
import socket
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import httpx

from .problems import DestinationRefused, QueryTooLong, TooManyRequests

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str], Awaitable[list[str]]]
_EXTRA_BLOCKED = [ipaddress.ip_network(n) for n in ("100.64.0.0/10", "192.0.0.0/24", "198.18.0.0/15")]
_PRIVATE_SUFFIXES = (".localhost", ".local", ".internal", ".home.arpa", ".lan")
DNS_TTL = 60.0


async def dns_resolver(host: str) -> list[str]:
    """All addresses ``host`` resolves to here (``[]`` when it does not resolve)."""
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(loop.getaddrinfo(host, None, type=socket.SOCK_STREAM), 10)
    except (socket.gaierror, UnicodeError, asyncio.TimeoutError, OSError):
        return []
    return sorted({str(info[4][0]) for info in infos})


def is_public(address: IPAddress) -> bool:
    """True for globally routable unicast addresses (IPv4-mapped IPv6 judged as IPv4)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if (address.is_private or address.is_loopback or address.is_link_local or address.is_multicast
            or address.is_reserved or address.is_unspecified or not address.is_global):
        return False
    return not any(address in net for net in _EXTRA_BLOCKED)


class DestinationPolicy:
    """Decides whether the gateway may send a request to a URL; ``hook`` plugs it into httpx."""

    def __init__(self, *, allow_hosts: Sequence[str] = (), allow_networks: Sequence[str] = (),
                 resolver: Resolver = dns_resolver, strict_dns: bool = False, clock: Callable[[], float] = time.monotonic) -> None:
        self.allow_hosts = tuple(h.lower().rstrip(".") for h in allow_hosts)
        self.allow_networks = tuple(ipaddress.ip_network(n, strict=False) for n in allow_networks)
        self.resolver, self.strict_dns, self._clock = resolver, strict_dns, clock
        self._dns: dict[str, tuple[list[str], float]] = {}

    def _host_allowed(self, host: str) -> bool:
        return any(fnmatch.fnmatchcase(host, pattern) for pattern in self.allow_hosts)

    def _address_ok(self, address: IPAddress) -> bool:
        return is_public(address) or any(address in net for net in self.allow_networks)

    def _cached(self, host: str) -> list[str] | None:
        cached = self._dns.get(host)
        return cached[0] if cached and cached[1] > self._clock() else None

    def _remember(self, host: str, addresses: list[str]) -> list[str]:
        if len(self._dns) > 4096:
            self._dns.clear()
        self._dns[host] = (addresses, self._clock() + DNS_TTL)
        return addresses

    def _precheck(self, url: httpx.URL) -> str | None:
        """Every rule but DNS: raise when refused, ``None`` when allowed outright, else the host to resolve."""
        host = (url.host or "").lower().rstrip(".")
        if url.scheme not in ("http", "https") or not host:
            raise DestinationRefused(f"refused to fetch {url}: only http(s) URLs with a host", url=str(url))
        if self._host_allowed(host):
            return None
        try:
            literal: IPAddress | None = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            literal = None
        if literal is not None:
            if not self._address_ok(literal):
                raise DestinationRefused(f"refused to fetch {url}: {host} is not a public address", url=str(url))
            return None
        if host == "localhost" or host.endswith(_PRIVATE_SUFFIXES):
            raise DestinationRefused(f"refused to fetch {url}: {host} is a local name", url=str(url))
        return host

    def _judge(self, url: httpx.URL, host: str, addresses: list[str]) -> None:
        if not addresses:
            if self.strict_dns:
                raise DestinationRefused(f"refused to fetch {url}: {host} does not resolve here (strict DNS)",
                                         url=str(url))
            return  # unresolvable: through a proxy it resolves there; without one the connect fails
        bad = [a for a in addresses if not self._address_ok(ipaddress.ip_address(a))]
        if bad:
            raise DestinationRefused(f"refused to fetch {url}: {host} resolves to non-public address {bad[0]}",
                                     url=str(url))

    async def check(self, url: str | httpx.URL) -> None:
        """Raise :class:`DestinationRefused` unless ``url`` may be fetched."""
        url = httpx.URL(url)
        host = self._precheck(url)
        if host is None:
            return
        addresses = self._cached(host)
        if addresses is None:
            addresses = self._remember(host, await self.resolver(host))
        self._judge(url, host, addresses)

    def check_sync(self, url: str | httpx.URL) -> None:
        """:meth:`check` for worker threads (never on the event loop: a DNS miss resolves here).

        Why not hand the check to the event loop: a worker waiting for the loop while holding a
        library lock the loop may need (h5py's, freeing an object) would deadlock the gateway.
        The DNS cache is shared; a miss runs the (possibly async, injected) resolver on a
        private loop in this thread.
        """
        url = httpx.URL(url)
        host = self._precheck(url)
        if host is None:
            return
        addresses = self._cached(host)
        if addresses is None:
            addresses = self._remember(host, asyncio.run(self._resolve(host)))
        self._judge(url, host, addresses)

    async def _resolve(self, host: str) -> list[str]:
        return await self.resolver(host)

    async def hook(self, request: httpx.Request) -> None:
        """httpx ``request`` event hook: runs for every request and every redirect hop."""
        await self.check(request.url)

    def sync_hook(self, request: httpx.Request) -> None:
        """The same hook for the blocking client of the gateway's worker threads."""
        self.check_sync(request.url)


class TokenBucket:
    """Per-key token buckets (``rate`` tokens/s up to ``burst``); old keys are forgotten LRU-wise."""

    def __init__(self, rate: float, burst: int, *, max_keys: int = 65536,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self.max_keys, self._clock = rate, max(1, burst), max_keys, clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str) -> float:
        """Spend one token; return 0 when allowed, else the seconds until one is available."""
        if self.rate <= 0:
            return 0.0
        now = self._clock()
        tokens, last = self._buckets.pop(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        wait = 0.0
        if tokens >= 1:
            tokens -= 1
        else:
            wait = (1 - tokens) / self.rate
        self._buckets[key] = (tokens, now)
        if len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return wait


class ClientLimits:
    """The per-client rules of one gateway process: request rate and concurrent streams."""

    def __init__(self, *, rate: float, burst: int, max_streams: int) -> None:
        self.bucket = TokenBucket(rate, burst)
        self.max_streams = max_streams
        self._streams: dict[str, int] = {}

    def admit(self, client: str) -> None:
        wait = self.bucket.take(client)
        if wait > 0:
            seconds = max(1, int(wait + 0.999))
            raise TooManyRequests(f"rate limit: at most {self.bucket.rate:g} requests per second per client",
                                  headers={"Retry-After": str(seconds)})

    def acquire(self, client: str) -> None:
        """Take one of the client's stream slots (429 when all are busy); ``release`` gives it back."""
        if self._streams.get(client, 0) >= self.max_streams:
            raise TooManyRequests(f"at most {self.max_streams} concurrent downloads per client",
                                  headers={"Retry-After": "5"})
        self._streams[client] = self._streams.get(client, 0) + 1

    def release(self, client: str) -> None:
        left = self._streams.get(client, 1) - 1
        if left > 0:
            self._streams[client] = left
        else:
            self._streams.pop(client, None)

    def streams(self, client: str) -> int:
        return self._streams.get(client, 0)


def check_query(raw_query: bytes, params: list[tuple[str, str]], *, max_bytes: int, max_params: int) -> None:
    if len(raw_query) > max_bytes:
        raise QueryTooLong(f"query string is {len(raw_query)} bytes; the limit is {max_bytes}")
    if len(params) > max_params:
        raise QueryTooLong(f"{len(params)} query parameters; the limit is {max_params}")


def client_address(scope: dict[str, Any], trust_forwarded: bool) -> str:
    """The caller's address: the socket peer, or the first ``X-Forwarded-For`` hop if trusted."""
    if trust_forwarded:
        for name, value in scope.get("headers", ()):
            if name == b"x-forwarded-for":
                first = value.decode("latin-1").split(",")[0].strip()
                if first:
                    return first
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


__all__ = ["ClientLimits", "DestinationPolicy", "TokenBucket", "check_query", "client_address", "dns_resolver",
           "is_public"]
