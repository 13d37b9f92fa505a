"""What keeps the gateway from becoming an open proxy or a way into the operator's network.

* **Only DOI-reached URLs.** Routes take identifiers, never URLs: the gateway fetches what the
  resolver and the adapters reach from a DOI or handle, and the file URLs of that manifest.
  Landing-page URL identifiers are refused (they would let anyone name a host).
* **No private destinations.** Every request the gateway's HTTP client sends - each redirect hop
  included, via an httpx request hook - has its *origin* host checked: IP literals directly,
  names through DNS (an injectable resolver, so tests can say what a name resolves to).
  Loopback, private (RFC 1918, ULA), link-local, CGNAT, multicast, reserved and unspecified
  addresses are refused unless the host or network is allow-listed; so are IPv6 forms that
  carry a private IPv4 address (IPv4-mapped, 6to4, Teredo, NAT64). A name that does not
  resolve here is refused (``strict_dns``, the default) unless allow-listed: behind a proxy it
  would be resolved by the proxy, inside a network the check cannot see. ``strict_dns=False``
  hands such names to the proxy. The proxy's own address is not checked.
* **The address checked is the address connected to.** Direct connections go through
  :class:`PinnedBackend` / :class:`AsyncPinnedBackend` (:func:`pin_connections`): the host is
  resolved once (the same DNS cache as the check), every address judged, and the socket opened
  to one of those addresses; TLS still verifies and sends SNI for the name. A name that answers
  a public address to the check and ``127.0.0.1`` to the connect (DNS rebinding) cannot slip by.
* **No cookies.** The gateway's shared clients keep no cookie jar (:func:`forget_cookies`): a
  cookie an origin sets during one caller's request is never sent on another caller's.
* **Per-client limits.** A token bucket per client address (429 + ``Retry-After``), a cap on
  concurrent streamed responses per client, and limits on query size, archive size and members.
* **No credentials.** The gateway's client carries no tokens (``DOI2DATA_TOKENS`` is ignored)
  and never forwards the caller's ``Authorization`` or ``Cookie``; only open files are served.
"""

from __future__ import annotations

import asyncio
import fnmatch
import http.cookiejar
import ipaddress
import socket
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import httpcore
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


_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052 well-known prefix: IPv4 in the last 32 bits
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215 local use: the operator's own mapping


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries (IPv4-mapped, 6to4, Teredo client, NAT64), if any.

    Why: ``2002:7f00:1::1`` (6to4 of 127.0.0.1) counts as global to :mod:`ipaddress`, yet a
    host with a 6to4 relay or a NAT64 gateway reaches the private IPv4 address behind it.
    """
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: IPAddress) -> bool:
    """True for globally routable unicast addresses; IPv6 forms that embed an IPv4 address
    (IPv4-mapped, 6to4, Teredo, NAT64 ``64:ff9b::/96``) are judged by that IPv4 address, and
    the local-use NAT64 prefix ``64:ff9b:1::/48`` is refused outright."""
    if isinstance(address, ipaddress.IPv6Address):
        if address in _NAT64_LOCAL:
            return False
        inner = embedded_ipv4(address)
        if inner is not None:
            if not is_public(inner):
                return False
            if address in _NAT64 or address.ipv4_mapped is not None:
                return True  # the public IPv4 address is the real destination
    if (address.is_private or address.is_loopback or address.is_link_local or address.is_multicast
            or address.is_reserved or address.is_unspecified or not address.is_global):
        return False
    return not any(address in net for net in _EXTRA_BLOCKED)


class DestinationPolicy:
    """Decides whether the gateway may send a request to a URL; ``hook`` plugs it into httpx."""

    def __init__(self, *, allow_hosts: Sequence[str] = (), allow_networks: Sequence[str] = (),
                 resolver: Resolver = dns_resolver, strict_dns: bool = True, clock: Callable[[], float] = time.monotonic) -> None:
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

    async def _addresses(self, host: str) -> list[str]:
        addresses = self._cached(host)
        if addresses is None:
            addresses = self._remember(host, await self.resolver(host))
        return addresses

    def _addresses_sync(self, host: str) -> list[str]:
        addresses = self._cached(host)
        if addresses is None:
            addresses = self._remember(host, asyncio.run(self._resolve(host)))
        return addresses

    async def check(self, url: str | httpx.URL) -> None:
        """Raise :class:`DestinationRefused` unless ``url`` may be fetched."""
        url = _parsed(url)
        host = self._precheck(url)
        if host is None:
            return
        self._judge(url, host, await self._addresses(host))

    def check_sync(self, url: str | httpx.URL) -> None:
        """:meth:`check` for worker threads (never on the event loop: a DNS miss resolves here).

        Why not hand the check to the event loop: a worker waiting for the loop while holding a
        library lock the loop may need (h5py's, freeing an object) would deadlock the gateway.
        The DNS cache is shared; a miss runs the (possibly async, injected) resolver on a
        private loop in this thread.
        """
        url = _parsed(url)
        host = self._precheck(url)
        if host is None:
            return
        self._judge(url, host, self._addresses_sync(host))

    async def _resolve(self, host: str) -> list[str]:
        return await self.resolver(host)

    def _connect_plan(self, host: str, port: int) -> tuple[httpx.URL, str | None]:
        """For a connection about to open: the URL judged, and the host to resolve (None: connect as named)."""
        name = host.strip("[]")
        url = httpx.URL(scheme="https", host=name, port=port, path="/")
        return url, self._precheck(url)

    def _connectable(self, url: httpx.URL, host: str, addresses: list[str]) -> list[str]:
        if not addresses:  # the socket goes to this name directly, so there is no proxy to resolve it
            raise DestinationRefused(f"refused to connect to {host}: it does not resolve here", url=str(url))
        self._judge(url, host, addresses)
        return addresses

    async def connect_addresses(self, host: str, port: int) -> list[str] | None:
        """The checked addresses a direct connection to ``host`` must use (None: use the name as is:
        an allow-listed host or a checked IP literal). Raises :class:`DestinationRefused`."""
        url, name = self._connect_plan(host, port)
        return None if name is None else self._connectable(url, name, await self._addresses(name))

    def connect_addresses_sync(self, host: str, port: int) -> list[str] | None:
        """:meth:`connect_addresses` for worker threads."""
        url, name = self._connect_plan(host, port)
        return None if name is None else self._connectable(url, name, self._addresses_sync(name))

    async def hook(self, request: httpx.Request) -> None:
        """httpx ``request`` event hook: runs for every request and every redirect hop."""
        await self.check(request.url)

    def sync_hook(self, request: httpx.Request) -> None:
        """The same hook for the blocking client of the gateway's worker threads."""
        self.check_sync(request.url)


def _attempts(addresses: list[str] | None, host: str) -> list[str]:
    return [host] if addresses is None else addresses


class PinnedBackend(httpcore.NetworkBackend):
    """httpcore network backend for direct connections: resolve and check once, connect to
    exactly the checked address (each in turn until one answers).

    Why in the backend and not only in the request hook: the hook checks a name, and the
    connection would resolve it again; a rebinding DNS server answers differently the second time.
    TLS is unaffected: httpcore starts it with the origin's name as ``server_hostname``.
    """

    def __init__(self, policy: DestinationPolicy, inner: httpcore.NetworkBackend | None = None) -> None:
        self.policy, self.inner = policy, inner or httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Any = None) -> httpcore.NetworkStream:
        last: Exception | None = None
        for address in _attempts(self.policy.connect_addresses_sync(host, port), host):
            try:
                return self.inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Any = None) -> httpcore.NetworkStream:
        raise DestinationRefused(f"refused to connect to the unix socket {path}")

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)


class AsyncPinnedBackend(httpcore.AsyncNetworkBackend):
    """:class:`PinnedBackend` for the gateway's async client (manifests, API calls)."""

    def __init__(self, policy: DestinationPolicy, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self.policy, self.inner = policy, inner or httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                          socket_options: Any = None) -> httpcore.AsyncNetworkStream:
        last: Exception | None = None
        for address in _attempts(await self.policy.connect_addresses(host, port), host):
            try:
                return await self.inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Any = None) -> httpcore.AsyncNetworkStream:
        raise DestinationRefused(f"refused to connect to the unix socket {path}")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


def pin_connections(client: httpx.Client | httpx.AsyncClient, policy: DestinationPolicy) -> None:
    """Route the client's direct (non-proxy) connections through a pinned backend.

    Proxied requests keep their own pools: their sockets go to the proxy, which resolves the
    origin (hence ``strict_dns``). httpx has no public switch for a pool's backend, so this
    reaches into its transport and fails loudly if httpx's layout ever changes.
    """
    pool = getattr(getattr(client, "_transport", None), "_pool", None)
    if not isinstance(pool, (httpcore.ConnectionPool, httpcore.AsyncConnectionPool)) or \
            not hasattr(pool, "_network_backend"):
        raise RuntimeError("cannot pin connections: unexpected httpx transport layout")
    inner = pool._network_backend
    if isinstance(pool, httpcore.AsyncConnectionPool):
        pool._network_backend = AsyncPinnedBackend(policy, inner)
    else:
        pool._network_backend = PinnedBackend(policy, inner)


class _NoCookies(http.cookiejar.CookieJar):
    """A jar that keeps nothing: the gateway's clients serve many callers."""

    def extract_cookies(self, response: Any, request: Any) -> None:
        return None

    def set_cookie(self, cookie: http.cookiejar.Cookie) -> None:
        return None


def forget_cookies(client: httpx.Client | httpx.AsyncClient) -> None:
    """Give a shared client a jar that keeps nothing (no cookie from one caller's request reaches another's).

    The trade-off: an origin that sets a cookie on a redirect and wants it back on the next
    hop (rare for open files) is not served through the gateway; the CLI keeps its cookies.
    """
    client.cookies = _NoCookies()  # a jar, not httpx.Cookies: the setter would copy that into a new jar


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


def _parsed(url: str | httpx.URL) -> httpx.URL:
    """A URL from a repository as httpx reads it; one it cannot send (a CR/LF in it) is refused, not a 500."""
    try:
        return httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise DestinationRefused(f"not a URL the gateway can fetch: {exc}") from None


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


__all__ = ["AsyncPinnedBackend", "ClientLimits", "DestinationPolicy", "PinnedBackend", "TokenBucket", "check_query",
           "client_address", "dns_resolver", "embedded_ipv4", "forget_cookies", "is_public", "pin_connections"]
