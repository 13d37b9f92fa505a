"""The one HTTP stack: an httpx client configured like curl, and error translation.

Why httpx: one library for sync and async, HTTP/1.1 keep-alive pools, and it already honours
``HTTPS_PROXY``/``HTTP_PROXY``/``ALL_PROXY``/``NO_PROXY`` and ``SSL_CERT_FILE``/``SSL_CERT_DIR``
when ``trust_env`` is on (the default here), exactly the variables curl reads. Every request in
the project - resolver, adapters, transfer engine - goes through :func:`make_client`, so the
User-Agent, timeouts and proxy/CA behaviour are the same everywhere.

:class:`Http` wraps a client for API calls (JSON, bounded retries on 429/5xx honouring
``Retry-After``) and translates httpx exceptions into :mod:`doi2data.errors` at this boundary.
"""

from __future__ import annotations

import asyncio
import email.utils
import http.cookiejar
import json
import os
import random
import threading
import time
import zlib
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from ._version import __version__
from .errors import (AccessDenied, Doi2DataError, NetworkError, RecordNotFound, RepositoryError, ResponseTooLarge,
                     UsageError)
from .oauth import ClientCredentials, is_account_host
from .tokenfile import read_token_file

PROJECT_URL = "https://github.com/doi2data/doi2data"
USER_AGENT = f"doi2data/{__version__} (+{PROJECT_URL})"
DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=20.0)
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_REDIRECTS = 10
#: The most an API body may hold once decoded. Generous for listings (a 20,000-file Zenodo record
#: is about 15 MB of JSON); small enough that a hostile server cannot exhaust memory.
API_BODY_LIMIT = 256 * 1024 * 1024
#: A body parsed as it arrives (ijson: a record's or a dataset's file list) is never held whole, so the
#: default limit, which guards memory, does not apply to it; this one bounds its time instead.
STREAM_BODY_LIMIT = 4 * 1024 * 1024 * 1024
#: What API calls accept: only the codings :class:`BodyReader` can inflate under a budget.
API_ACCEPT_ENCODING = "gzip, deflate"
_INFLATE_STEP = 1024 * 1024  # the most one zlib call may produce: no burst past the budget
_ZLIB_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}
_REFUSED_CODINGS = frozenset({"br", "zstd", "compress", "x-compress"})


class TokenSource(Protocol):
    """A credential value that changes (an OAuth2 access token, :mod:`doi2data.oauth`)."""

    def current(self) -> str | None:
        """The header value now, or ``None``: no usable token, send the request anonymously."""

    def renew(self, stale: str) -> bool:
        """The server answered 401 to ``stale``; True when the request is worth one more try."""


@dataclass(frozen=True)
class Credential:
    """A secret header for exactly one origin: HTTPS, ``host`` and ``port``; ``source`` supplies the
    value when it changes during a run (``value`` is then unused)."""

    host: str
    header: str
    value: str
    port: int = 443
    source: TokenSource | None = None


class Credentials:
    """Tokens by origin (scheme, host, port). Redirects are followed hop by hop and each hop gets
    only its own origin's credential, so a token for ``zenodo.org`` never reaches a signed storage
    URL elsewhere, nor another port of the same host (``https://h:8443`` may be another service;
    httpx alone strips ``Authorization`` across origins, but not headers such as ``X-Dataverse-key``)."""

    def __init__(self, items: Iterable[Credential] = ()) -> None:
        self._by_origin = {(c.host.lower(), c.port): c for c in items}

    def __bool__(self) -> bool:
        return bool(self._by_origin)

    def _find(self, url: httpx.URL) -> Credential | None:
        """The credential of ``url``'s origin: HTTPS only, the same host and port (443 if omitted)."""
        if url.scheme != "https":
            return None
        return self._by_origin.get(((url.host or "").lower(), url.port or 443))

    def headers_for(self, url: httpx.URL) -> dict[str, str]:
        cred = self._find(url)
        if cred is None:
            return {}
        if cred.source is not None:
            value = cred.source.current()
            return {cred.header: value} if value is not None else {}
        return {cred.header: cred.value}

    def credential_for(self, url: httpx.URL) -> Credential | None:
        """The credential a request to ``url`` carries (HTTPS only), or None."""
        return self._find(url)

    def renew(self, url: httpx.URL, sent: Mapping[str, str]) -> bool:
        """After a 401 to ``url``: True when its credential changed (renewed, or given up so
        the request goes anonymously) and one more try is worth it."""
        cred = self.credential_for(url)
        stale = sent.get(cred.header) if cred is not None and cred.source is not None else None
        return stale is not None and cred is not None and cred.source is not None and cred.source.renew(stale)

    @classmethod
    def parse(cls, specs: Iterable[str] = (), *, env: Mapping[str, str] | None = None) -> Credentials:
        """``HOST=TOKEN`` (sent as ``Authorization: Bearer TOKEN``) or ``HOST=Header-Name:VALUE``;
        for a host with API accounts (:data:`doi2data.oauth.TOKEN_PATHS`: Dryad) ``HOST=CLIENT_ID:SECRET``,
        exchanged for short-lived bearer tokens as needed.

        Also read from the tokens file (:mod:`doi2data.tokenfile`) and ``DOI2DATA_TOKENS``
        (comma-separated, same forms); for one host the last spec wins (``--token`` last).
        """
        env = os.environ if env is None else env
        all_specs = [*read_token_file(env),
                     *filter(None, (x.strip() for x in env.get("DOI2DATA_TOKENS", "").split(","))), *specs]
        items = []
        for spec in all_specs:
            host, sep, secret = spec.partition("=")
            if not sep or not host.strip() or not secret:
                raise UsageError("bad token: expected HOST=TOKEN or HOST=Header-Name:VALUE")
            host, port = _token_origin(host)
            header, colon, value = secret.partition(":")
            if colon and header and value and is_account_host(host) and header.lower() != "authorization":
                source = ClientCredentials(host, header, value, client=make_sync_client)
                items.append(Credential(host, "Authorization", "", port=port, source=source))
            elif colon and header and " " not in header and value:
                items.append(Credential(host, header, value, port=port))
            else:
                items.append(Credential(host, "Authorization", f"Bearer {secret}", port=port))
        return cls(items)


def _token_origin(text: str) -> tuple[str, int]:
    """``HOST``, ``HOST:PORT``, ``[IPv6]:PORT`` or ``https://HOST[:PORT]`` of a token spec as
    (host, port), spelt as httpx spells request URLs (lower case, IDNA), port 443 when omitted."""
    text = text.strip()
    bare = text[len("https://"):] if text.lower().startswith("https://") else text
    try:
        url: httpx.URL | None = httpx.URL(f"https://{bare}")
    except httpx.InvalidURL:
        url = None
    if url is None or not url.host or "://" in bare or url.userinfo or url.path not in ("", "/") \
            or url.query or url.fragment or not 0 < (url.port or 443) < 65536:
        raise UsageError(f"bad token host {text[:100]!r}: expected HOST or HOST:PORT (tokens go over HTTPS only)")
    return url.host.lower(), url.port or 443


def _next_hop(response: httpx.Response, current: httpx.URL, method: str) -> tuple[httpx.URL, str] | None:
    """Where a redirect leads (and with which method), or None when it is not a redirect."""
    location = response.headers.get("location")
    if not (response.is_redirect and location):
        return None
    status = response.status_code
    if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
        method = "GET"  # as browsers and httpx do; the body is dropped with it
    return current.join(location), method


def _first_url(url: str | httpx.URL, params: Mapping[str, str] | None) -> httpx.URL:
    current = httpx.URL(url)
    return current.copy_merge_params(dict(params)) if params else current


def _hop_headers(headers: Mapping[str, str] | None, credentials: Credentials | None, url: httpx.URL) -> dict[str, str]:
    hop = dict(headers or {})
    if credentials:
        hop.update(credentials.headers_for(url))
    return hop


async def send(
    client: httpx.AsyncClient,
    method: str,
    url: str | httpx.URL,
    *,
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
    credentials: Credentials | None = None,
    stream: bool = False,
    follow_redirects: bool = True,
    on_send: Callable[[str, httpx.URL], None] | None = None,
    content: bytes | None = None,
    json_body: Any = None,
    pace: Callable[[str], Awaitable[None]] | None = None,
) -> httpx.Response:
    """Send one request, following redirects ourselves so credentials are re-scoped per hop.

    With ``stream=True`` the caller must close the returned response (``await r.aclose()``).
    ``on_send(method, url)`` is called before every round trip (each redirect hop counts), after
    ``await pace(host)`` (the run's per-host token buckets, so API calls are paced like files).
    A body (``content`` or ``json_body``: an ICAT+ login, a WebDAV PROPFIND) follows 307/308
    redirects and is dropped when a redirect turns the request into a GET.
    """
    current = _first_url(url, params)
    first_method = method
    renewed = False  # a 401 to a changing credential (an expired OAuth2 token) is retried once
    for _ in range(MAX_REDIRECTS + 2):
        body = {"content": content, "json": json_body} if method == first_method else {}
        request = client.build_request(method, current, headers=_hop_headers(headers, credentials, current), **body)
        if pace is not None:
            await pace(current.host)
        if on_send is not None:
            on_send(method, current)
        response = await client.send(request, stream=stream, follow_redirects=False)
        if response.status_code == 401 and not renewed and credentials \
                and await asyncio.to_thread(credentials.renew, current, request.headers):
            renewed = True
            await response.aclose()
            continue
        hop = _next_hop(response, current, method) if follow_redirects else None
        if hop is None:
            return response
        await response.aclose()
        current, method = hop
    raise RepositoryError(f"too many redirects from {url}", url=str(url))


def send_sync(
    client: httpx.Client,
    method: str,
    url: str | httpx.URL,
    *,
    headers: Mapping[str, str] | None = None,
    credentials: Credentials | None = None,
    stream: bool = False,
) -> httpx.Response:
    """The blocking twin of :func:`send`, for the transfer engine's worker threads (where
    Python's C-level TLS sockets stream about twice as fast as asyncio's)."""
    current = _first_url(url, None)
    renewed = False
    for _ in range(MAX_REDIRECTS + 2):
        request = client.build_request(method, current, headers=_hop_headers(headers, credentials, current))
        response = client.send(request, stream=stream, follow_redirects=False)
        if response.status_code == 401 and not renewed and credentials and credentials.renew(current, request.headers):
            renewed = True
            response.close()
            continue
        hop = _next_hop(response, current, method)
        if hop is None:
            return response
        response.close()
        current, method = hop
    raise RepositoryError(f"too many redirects from {url}", url=str(url))


class BodyReader:
    """Decodes one response body from its raw bytes under a byte budget.

    Why not httpx's own decoding (``aiter_bytes``, ``.json()``): its decoders inflate each raw
    chunk in one call with no output limit, and ``MultiDecoder`` chains every listed coding, so a
    64 KiB chunk of ``Content-Encoding: gzip, gzip`` can become gigabytes before any counter
    sees it (measured: 1 KB -> 1.2 GB RSS). Here zlib produces at most :data:`_INFLATE_STEP`
    bytes per call and the total stops one byte past ``limit``. More than one coding is
    refused (no repository sends that; a chain would need every layer bounded); ``br``,
    ``zstd`` and ``compress`` are refused too (API calls ask only for :data:`API_ACCEPT_ENCODING`).
    Unknown codings pass through undecoded, as httpx does. Raw bytes count against the same
    budget (junk after a gzip member cannot stream forever).

    With ``truncate`` a body past the limit is cut (``full`` turns true) instead of refused:
    landing pages keep their first megabytes. :meth:`decode` yields the pieces as they come
    (:func:`iter_decoded`); :meth:`feed` keeps them for :meth:`body` (:func:`read_body`).
    """

    def __init__(self, response: httpx.Response, limit: int, *, truncate: bool = False) -> None:
        self.url, self.limit, self.truncate = str(response.url), limit, truncate
        codings = [c.strip().lower() for c in response.headers.get_list("content-encoding", split_commas=True)]
        codings = [c for c in codings if c and c != "identity"]
        if len(codings) > 1:
            raise RepositoryError(f"refused the answer of {self.url}: more than one Content-Encoding "
                                  f"({', '.join(codings)[:100]})", url=self.url)
        self.coding = codings[0] if codings else ""
        if self.coding in _REFUSED_CODINGS:
            raise RepositoryError(f"refused the answer of {self.url}: Content-Encoding {self.coding} "
                                  f"(asked for {API_ACCEPT_ENCODING})", url=self.url)
        wbits = _ZLIB_WBITS.get(self.coding)
        self._inflater = zlib.decompressobj(wbits) if wbits is not None else None
        self._maybe_raw_deflate = self.coding == "deflate"  # some servers send deflate without zlib header
        self._parts: list[bytes] = []
        self.size = self.raw = 0
        self.full = False
        length = response.headers.get("content-length", "")
        if not truncate and length.isdigit() and int(length) > limit and _has_body(response):
            raise self._too_large()

    def _too_large(self) -> ResponseTooLarge:
        what = f"{self.coding}-decoded " if self.coding and self._inflater is not None else ""
        return ResponseTooLarge(f"the answer of {self.url} is larger than {self.limit:,} {what}bytes; refused",
                                url=self.url)

    def feed(self, data: bytes) -> bool:
        """Take the next raw chunk and keep what it decodes to; False once (``truncate``) nothing
        more is wanted."""
        self._parts.extend(self.decode(data))
        return not self.full

    def decode(self, data: bytes) -> Iterator[bytes]:
        """The decoded pieces of the next raw chunk (each at most :data:`_INFLATE_STEP` bytes when
        inflated), counted against the limit as they are made."""
        self.raw += len(data)
        if self.raw > self.limit:
            if not self.truncate:
                raise self._too_large()
            self.full = True
        if self._inflater is None:
            if data:
                yield self._count(data)
        else:
            yield from self._inflate(data)

    def _count(self, piece: bytes) -> bytes:
        room = self.limit - self.size
        if len(piece) > room:
            if not self.truncate:
                raise self._too_large()
            piece = piece[:room]
        self.size += len(piece)
        self.full = self.full or (self.truncate and self.size >= self.limit)
        return piece

    def _inflate(self, data: bytes) -> Iterator[bytes]:
        assert self._inflater is not None
        while not self.full:
            try:
                piece = self._inflater.decompress(data, min(self.limit - self.size + 1, _INFLATE_STEP))
            except zlib.error as exc:
                if self._maybe_raw_deflate:
                    self._maybe_raw_deflate = False
                    self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)
                    continue
                raise RepositoryError(f"the {self.coding} answer of {self.url} is corrupt ({exc})",
                                      url=self.url) from exc
            self._maybe_raw_deflate = False
            data = self._inflater.unconsumed_tail
            if not piece and not data:
                return  # this chunk is done (output pending inside zlib is drained by the empty call)
            if piece:
                yield self._count(piece)

    def body(self) -> bytes:
        return b"".join(self._parts)


def _has_body(response: httpx.Response) -> bool:
    """False when ``Content-Length`` describes the resource, not this message (HEAD, 204, 304)."""
    try:
        method = response.request.method
    except RuntimeError:  # a response built by hand, without its request
        method = "GET"
    return method != "HEAD" and response.status_code >= 200 and response.status_code not in (204, 304)


def _already_read(response: httpx.Response, reader: BodyReader) -> bool:
    """A body httpx already holds (only test transports hand over such responses): just counted."""
    try:
        content = response.content
    except httpx.ResponseNotRead:
        return False
    reader._parts.append(reader._count(content))
    return True


def _install(response: httpx.Response, reader: BodyReader) -> bytes:
    body = reader.body()
    if not reader.full:
        # What httpx's own read() sets: .content, .text and .json() now answer from these bytes.
        response._content = body
    return body


async def read_body(response: httpx.Response, limit: int = API_BODY_LIMIT, *, truncate: bool = False) -> bytes:
    """The decoded body of a streamed response, at most ``limit`` bytes (see :class:`BodyReader`).

    Past the limit: :class:`ResponseTooLarge`, or (``truncate``) the first ``limit`` bytes. The
    caller closes the response. A whole body is also installed as ``response.content``.
    """
    reader = BodyReader(response, limit, truncate=truncate)
    if not _already_read(response, reader):
        async for chunk in response.aiter_raw():
            if not reader.feed(chunk):
                break
    return _install(response, reader)


def read_body_sync(response: httpx.Response, limit: int = API_BODY_LIMIT, *, truncate: bool = False) -> bytes:
    """The blocking twin of :func:`read_body`."""
    reader = BodyReader(response, limit, truncate=truncate)
    if not _already_read(response, reader):
        for chunk in response.iter_raw():
            if not reader.feed(chunk):
                break
    return _install(response, reader)


def iter_decoded(response: httpx.Response, limit: int) -> Iterator[bytes]:
    """A streamed body's decoded bytes as they arrive, under the same rules as :func:`read_body`
    (one coding, bounded inflate steps, :class:`ResponseTooLarge` past ``limit``): for readers
    of large bodies that must not trust httpx's ``iter_bytes`` with a hostile ``Content-Encoding``."""
    reader = BodyReader(response, limit)
    for chunk in response.iter_raw():
        yield from reader.decode(chunk)


def coalesced(chunks: Iterable[bytes], size: int) -> Iterator[bytes]:
    """A response body's chunks (TLS records of at most 16 KiB) joined into pieces of about
    ``size`` bytes.

    Why: a consumer that writes, hashes or queues every piece lets go of the GIL and takes it
    back each time; with many worker threads each hand-off is a futex wait and wake, which cost
    more than the copying (the transfer engine's 1 MiB files, the gateway's zip streams). What
    arrived before a failure is still yielded (before the error), so a resume starts exactly
    where the bytes stopped.
    """
    pieces: list[bytes] = []
    held = 0
    try:
        for piece in chunks:
            pieces.append(piece)
            held += len(piece)
            if held >= size:
                yield pieces[0] if len(pieces) == 1 else b"".join(pieces)
                pieces, held = [], 0
    except (httpx.TransportError, httpx.StreamError):
        if pieces:
            yield b"".join(pieces)
        raise
    if pieces:
        yield b"".join(pieces)


class _CookieJar(http.cookiejar.CookieJar):
    """A cookie jar that skips responses setting no cookie.

    httpx hands every response to its jar, and the standard jar first builds two
    ``email.message`` copies of the response headers to look for ``Set-Cookie``: about 5 % of the
    CPU per small file in a many-file download. Cookies that are set still work as before
    (a redirect hop that sets one gets it back on the next request to that host).
    """

    def extract_cookies(self, response: Any, request: Any) -> None:
        headers = getattr(getattr(response, "response", None), "headers", None)  # httpx's wrapper
        if headers is not None and "set-cookie" not in headers and "set-cookie2" not in headers:
            return
        super().extract_cookies(response, request)


def _client_kwargs(timeout: httpx.Timeout | float | None, max_connections: int,
                   headers: Mapping[str, str] | None) -> dict[str, Any]:
    base_headers = {"User-Agent": USER_AGENT}
    base_headers.update(headers or {})
    return {
        "headers": base_headers,
        "timeout": timeout if timeout is not None else DEFAULT_TIMEOUT,
        "follow_redirects": True,
        "trust_env": True,
        "cookies": _CookieJar(),
        "limits": httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
    }


def make_client(
    *,
    timeout: httpx.Timeout | float | None = None,
    max_connections: int = 32,
    headers: Mapping[str, str] | None = None,
) -> httpx.AsyncClient:
    """Create the project's async client: identifying User-Agent, timeouts, proxies/CA from env.

    Redirects are followed; httpx drops ``Authorization`` when a redirect leaves the origin.
    """
    return httpx.AsyncClient(**_client_kwargs(timeout, max_connections, headers))


def make_sync_client(
    *,
    timeout: httpx.Timeout | float | None = None,
    max_connections: int = 32,
    headers: Mapping[str, str] | None = None,
) -> httpx.Client:
    """The same configuration as :func:`make_client`, blocking: used by transfer worker threads."""
    return httpx.Client(**_client_kwargs(timeout, max_connections, headers))


class ThreadClients:
    """Blocking clients made on demand, one per worker thread, sharing one TLS context.

    Why not one shared client: httpcore's pool takes a lock and checks every idle connection (a
    ``poll()`` each) on every request and every release, so 16 threads on one pool spent ~25 polls
    and a contended lock per small file. One small pool per thread keeps both to about one (measured
    on the sandbox, 16 threads x 3,000 files of 10 KiB: 0.49 -> 0.40 ms of CPU per file). The TLS
    context (CA bundle from ``SSL_CERT_FILE``/``SSL_CERT_DIR`` or certifi) is loaded once.
    """

    def __init__(self, *, timeout: httpx.Timeout | float | None = None, max_connections: int = 4,
                 headers: Mapping[str, str] | None = None, shared: httpx.Client | None = None) -> None:
        self._shared = shared  # given (a test's mock transport, say): every thread uses it, close() leaves it open
        self._kwargs = _client_kwargs(timeout, max_connections, headers)
        if shared is None:
            self._kwargs["verify"] = httpx.create_ssl_context(trust_env=True)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._clients: list[httpx.Client] = []
        self._closed = False

    def __call__(self) -> httpx.Client:
        """This thread's client."""
        if self._shared is not None:
            return self._shared
        client: httpx.Client | None = getattr(self._local, "client", None)
        if client is None:
            client = httpx.Client(**self._kwargs)
            with self._lock:
                if self._closed:
                    client.close()
                    raise RuntimeError("ThreadClients is closed")
                self._clients.append(client)
            self._local.client = client
        return client

    def close(self) -> None:
        with self._lock:
            self._closed = True
            clients, self._clients = self._clients, []
        for client in clients:
            client.close()


def retry_after_seconds(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait from ``Retry-After`` (delta or HTTP date) or ``X-RateLimit-Reset``.

    ``X-RateLimit-Reset`` is an epoch timestamp on Zenodo (and GitHub); small values are
    taken as a delta, as some servers send that instead.
    """
    now = time.time() if now is None else now
    value = headers.get("retry-after")
    if value:
        value = value.strip()
        if value.isdigit():
            return float(value)
        try:
            parsed = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            parsed = None
        if parsed is not None:
            return max(0.0, parsed.timestamp() - now)
    reset = headers.get("x-ratelimit-reset") or headers.get("ratelimit-reset")  # Dryad's Rack::Attack: no X-
    if reset:
        try:
            number = float(reset.strip())
        except ValueError:
            return None
        return max(0.0, number - now) if number > 1e9 else max(0.0, number)
    return None


def backoff_delay(attempt: int, *, base: float = 0.5, cap: float = 30.0) -> float:
    """Exponential backoff with full jitter (attempt 0 -> up to ``base`` seconds)."""
    return random.uniform(0, min(cap, base * (2**attempt)))


def translate_transport_error(exc: httpx.TransportError, url: str) -> NetworkError:
    """Map an httpx transport failure to a one-line :class:`NetworkError`."""
    if isinstance(exc, httpx.TimeoutException):
        what = "timed out"
    elif isinstance(exc, httpx.ProxyError):
        what = "proxy error"
    elif isinstance(exc, httpx.ConnectError):
        what = "could not connect"
    else:
        what = "connection failed"
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return NetworkError(f"{what}: {url} ({detail})", url=url)


class Http:
    """API-call helper around one :class:`httpx.AsyncClient` (not for bulk file bytes).

    ``requests`` counts every round trip made through it (retries and redirect hops included) and
    ``history`` keeps the first :attr:`HISTORY_LIMIT` of them as ``"METHOD url"``, for ``--explain``.
    """

    HISTORY_LIMIT = 200

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        credentials: Credentials | None = None,
        max_attempts: int = 4,
        max_wait: float = 60.0,
        pace: Callable[[str], Awaitable[None]] | None = None,
        body_limit: int = API_BODY_LIMIT,
    ) -> None:
        self.client = client
        self.pace = pace  # e.g. HostLimiter.token: every API round trip takes its host's rate token
        self.credentials = credentials or Credentials()
        self.max_attempts = max_attempts
        self.max_wait = max_wait
        self.body_limit = body_limit  # every body read here stops past it (see BodyReader)
        self.requests = 0
        self.history: list[str] = []
        self.trace: list[str] = []  # adapters' notes on their route (the "why"), for --explain

    @property
    def streamed_limit(self) -> int:
        """The limit for a body parsed as it arrives: :data:`STREAM_BODY_LIMIT` unless a limit was
        set on purpose (the gateway's ``--max-api-body``), which still holds."""
        return STREAM_BODY_LIMIT if self.body_limit == API_BODY_LIMIT else self.body_limit

    def _sent(self, method: str, url: httpx.URL) -> None:
        self.requests += 1
        if len(self.history) < self.HISTORY_LIMIT:
            self.history.append(f"{method} {url}")

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        follow_redirects: bool = True,
        stream: bool = False,
        content: bytes | None = None,
        json_body: Any = None,
        attempts: int | None = None,
        limit: int | None = None,
    ) -> httpx.Response:
        """Send a small request, retrying 429/5xx and connection errors with backoff.

        Returns the final response whatever its status; the caller decides what 404 means.
        The body is read through :func:`read_body`, at most ``limit`` (default ``body_limit``)
        decoded bytes, else :class:`ResponseTooLarge`; ``.json()``/``.text`` then answer from it.
        With ``stream=True`` the body is not read: the caller must ``await response.aclose()``
        (and should read it with :func:`read_body`).
        ``attempts`` overrides ``max_attempts`` (1: no retry, e.g. a login that must not repeat).
        """
        tries = self.max_attempts if attempts is None else max(1, attempts)
        merged = dict(headers or {})
        if not any(k.lower() == "accept-encoding" for k in merged):
            merged["Accept-Encoding"] = API_ACCEPT_ENCODING
        for attempt in range(tries):
            last = attempt == tries - 1
            try:
                response = await send(
                    self.client, method, url, params=params, headers=merged,
                    credentials=self.credentials, follow_redirects=follow_redirects, stream=True,
                    on_send=self._sent, content=content, json_body=json_body, pace=self.pace,
                )
            except httpx.TransportError as exc:
                if last:
                    raise translate_transport_error(exc, url) from exc
                await asyncio.sleep(backoff_delay(attempt))
                continue
            except httpx.InvalidURL as exc:
                raise RepositoryError(f"invalid URL from repository: {url} ({exc})", url=url) from exc
            if response.status_code in RETRY_STATUSES and not last:
                wait = retry_after_seconds(response.headers)
                delay = backoff_delay(attempt) if wait is None else wait
                if delay <= self.max_wait:
                    await response.aclose()
                    await asyncio.sleep(delay)
                    continue
            if stream:
                return response
            try:
                await read_body(response, self.body_limit if limit is None else limit)
            except httpx.TransportError as exc:  # the body broke off: as retryable as a failed connect
                if last:
                    raise translate_transport_error(exc, url) from exc
                await asyncio.sleep(backoff_delay(attempt))
                continue
            finally:
                await response.aclose()
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    async def get_json(
        self,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        not_found: type[Doi2DataError] = RecordNotFound,
        what: str = "record",
    ) -> Any:
        """GET a JSON document; 404/410 -> ``not_found``, 401/403 -> AccessDenied, else RepositoryError."""
        merged = {"Accept": "application/json"}
        merged.update(headers or {})
        response = await self.request("GET", url, params=params, headers=merged)
        raise_for_status(response, not_found=not_found, what=what)
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:  # nested past the parser's depth
            raise RepositoryError(f"{what} at {response.url} is not valid JSON", url=str(response.url)) from exc


def raise_for_status(
    response: httpx.Response, *, not_found: type[Doi2DataError] = RecordNotFound, what: str = "record"
) -> None:
    """Translate an HTTP error status into the project's error tree (2xx/3xx pass)."""
    status = response.status_code
    url = str(response.url)
    if status < 400:
        return
    if status in (404, 410):
        raise not_found(f"{what} not found: {url} (HTTP {status})", url=url)
    if status in (401, 403):
        raise AccessDenied(f"access denied to {what}: {url} (HTTP {status})", url=url)
    if status == 429:
        raise RepositoryError(f"rate limited by {response.url.host} (HTTP 429); try again later", url=url)
    raise RepositoryError(f"{what} request failed: {url} (HTTP {status})", url=url)


__all__ = [
    "API_ACCEPT_ENCODING",
    "API_BODY_LIMIT",
    "BodyReader",
    "Credential",
    "Credentials",
    "TokenSource",
    "DEFAULT_TIMEOUT",
    "USER_AGENT",
    "Http",
    "ThreadClients",
    "backoff_delay",
    "coalesced",
    "iter_decoded",
    "make_client",
    "make_sync_client",
    "raise_for_status",
    "read_body",
    "read_body_sync",
    "retry_after_seconds",
    "send",
    "send_sync",
    "translate_transport_error",
]
