"""``doi2data doctor``: can this machine reach the services doi2data needs, and how?

Why: at facilities the normal network is an institutional proxy and often a TLS-inspecting
firewall. A first ``doi2data get`` that fails there says "connection failed"; the user needs to know
*which* of proxy, CA bundle, clock or a blocked host is the cause, and what to do about it.

The checks use the same HTTP stack as every other command (httpx with ``trust_env``: the
``HTTPS_PROXY``/``HTTP_PROXY``/``NO_PROXY`` and ``SSL_CERT_FILE``/``SSL_CERT_DIR`` variables curl
reads), one ``GET`` per host, concurrently, each bounded in time (``--timeout``) and in body size
(the body is never read). Per host it reports:

* reachable or not, and why not (DNS, refused, timeout, the proxy refusing ``CONNECT``);
* TLS: ``verified`` against the public roots (certifi, what httpx uses by default),
  ``intercepted`` (the configured bundle accepts the certificate but the public roots would not:
  a TLS-inspecting middlebox, whose issuer is named), or ``failed`` (the issuer is named from a
  second, unverified handshake, so the user knows which CA to add);
* latency to the response headers, any rate-limit headers, and the server's clock (``Date``)
  against ours: signed storage URLs and tokens fail when the clock is off.

Pure parts (classification, advice, skew) take plain data and are tested without a network;
:func:`run_checks` is the only I/O.
"""

from __future__ import annotations

import asyncio
import email.utils
import os
import platform
import re
import socket
import ssl
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

from ._version import __version__
from .http import USER_AGENT

#: (name, probe URL): doi.org, DataCite, then each repository or facility API host doi2data talks to.
#: A cheap, public endpoint per host; any HTTP answer (even 404) proves the route works.
DEFAULT_TARGETS: tuple[tuple[str, str], ...] = (
    ("doi.org", "https://doi.org/api/handles/10.1000/1"),
    ("Handle.Net", "https://hdl.handle.net/api/handles/20.1000/100"),
    ("DataCite", "https://api.datacite.org/heartbeat"),
    ("Zenodo", "https://zenodo.org/api/records?size=1"),
    ("Dataverse (Harvard)", "https://dataverse.harvard.edu/api/info/version"),
    ("Figshare API", "https://api.figshare.com/v2/licenses"),
    ("Figshare downloads", "https://ndownloader.figshare.com/"),
    ("Dryad", "https://datadryad.org/api/v2"),
    ("OSF", "https://api.osf.io/v2/"),
    ("B2SHARE", "https://b2share.eudat.eu/api/records/?size=1"),
    ("Mendeley Data", "https://data.mendeley.com/"),
    ("PANGAEA", "https://doi.pangaea.de/"),
    ("PSI", "https://doi.psi.ch/"),
    ("ESRF ICAT+", "https://icatplus.esrf.fr/"),
    ("DESY", "https://public-data.desy.de/"),
)

PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy",
                   "NO_PROXY", "no_proxy")
CA_VARIABLES = ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
RATE_HEADER = re.compile(r"(x-)?rate-?limit[-a-z]*|retry-after|x-ratelimit[-a-z]*", re.IGNORECASE)
SKEW_WARN = 60.0  # seconds: S3 pre-signed URLs allow 15 min, TLS a few; warn well before
_CREDENTIALS_IN_URL = re.compile(r"//[^/@\s]{1,512}@")


@dataclass
class HostCheck:
    """What one probe found; ``problem``/``advice`` are one line each, or None."""

    name: str
    url: str
    reachable: bool = False
    status: int | None = None
    latency_ms: float | None = None
    tls: str = "n/a"          # verified | intercepted | failed | n/a (plain http, or never reached)
    issuer: str | None = None
    proxy: str | None = None  # the proxy this request went through, credentials masked
    rate_limit: dict[str, str] = field(default_factory=dict)
    server_date: str | None = None
    skew_s: float | None = None
    problem: str | None = None
    advice: str | None = None


@dataclass
class Environment:
    """What the process inherits that decides its route and its trust."""

    doi2data: str
    python: str
    httpx: str
    proxies: dict[str, str]
    ca_bundle: str
    ca_source: str
    ca_problem: str | None


def mask(url: str) -> str:
    """A proxy URL with any ``user:password@`` hidden (it is printed, maybe pasted into a ticket)."""
    return _CREDENTIALS_IN_URL.sub("//***@", url)


def environment(env: Mapping[str, str] | None = None) -> Environment:
    """The proxy variables and CA bundle this process uses, as httpx will (pure but for file stats)."""
    env = os.environ if env is None else env
    proxies = {k: mask(env[k]) for k in PROXY_VARIABLES if env.get(k)}
    ca_problem = None
    if env.get("SSL_CERT_FILE"):
        bundle, source = env["SSL_CERT_FILE"], "SSL_CERT_FILE"
        if not os.path.isfile(bundle):
            ca_problem = f"SSL_CERT_FILE={bundle} does not exist: every HTTPS request will fail"
    elif env.get("SSL_CERT_DIR"):
        bundle, source = env["SSL_CERT_DIR"], "SSL_CERT_DIR"
        if not os.path.isdir(bundle):
            ca_problem = f"SSL_CERT_DIR={bundle} is not a directory"
    else:
        import certifi

        bundle, source = certifi.where(), "certifi (public roots; httpx's default)"
        for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
            if env.get(name):
                ca_problem = (f"{name} is set but doi2data (httpx) reads SSL_CERT_FILE: "
                              f"export SSL_CERT_FILE={env[name]}")
    return Environment(__version__, platform.python_version(), httpx.__version__, proxies, bundle, source,
                       ca_problem)


def rate_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Rate-limit and Retry-After headers as sent (names lower-cased, values cut to 100 chars)."""
    seen: dict[str, str] = {}
    for name, value in headers:
        if len(name) <= 64 and RATE_HEADER.fullmatch(name) and len(seen) < 16:
            seen[name.lower()] = value[:100]
    return seen


def clock_skew(date_header: str | None, now: float) -> float | None:
    """Our clock minus the server's, in seconds (positive: we are ahead); None if no usable ``Date``."""
    if not date_header or len(date_header) > 64:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(date_header)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None or parsed.tzinfo is None:
        return None
    return now - parsed.timestamp()


def classify_error(exc: BaseException) -> tuple[str, str]:
    """(problem, advice) for a failed probe: one line each, naming the likely cause."""
    text = " ".join(str(exc).split())[:300] or type(exc).__name__
    chain = _causes(exc)
    cause = next((c for c in chain if isinstance(c, ssl.SSLError)), None)
    if any(isinstance(c, ConnectionRefusedError) for c in chain):
        text += " (connection refused)"
    if any(isinstance(c, socket.gaierror) for c in chain):
        text += " (Name or service not known)"
    if isinstance(exc, httpx.ProxyError):
        return (f"the proxy refused the connection ({text})",
                "ask your IT to allow this host through the proxy, or add it to NO_PROXY if it is reachable directly")
    if isinstance(cause, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in text:
        return (f"TLS certificate not trusted ({text})",
                "your network may inspect TLS: set SSL_CERT_FILE to a bundle that holds your institution's CA")
    if isinstance(cause, ssl.SSLError):
        return f"TLS handshake failed ({text})", "a middlebox may block TLS to this host; try from another network"
    if isinstance(exc, httpx.TimeoutException):
        return (f"no answer within the timeout ({text})",
                "a firewall may drop the traffic: set HTTPS_PROXY to your institution's proxy")
    lowered = text.lower()
    if "name or service not known" in lowered or "nodename nor servname" in lowered or "getaddrinfo" in lowered \
            or "temporary failure in name resolution" in lowered:
        return (f"the host name does not resolve ({text})",
                "no DNS for the internet here: set HTTPS_PROXY to your institution's proxy")
    if "refused" in lowered:
        return (f"connection refused ({text})", "check HTTPS_PROXY/NO_PROXY: something on the route refuses connections")
    return f"connection failed ({text})", "check HTTPS_PROXY, NO_PROXY and the host's status page"


def _causes(exc: BaseException, limit: int = 32) -> list[BaseException]:
    """``exc``, its causes and the members of exception groups on the way (bounded: chains can loop)."""
    seen: list[BaseException] = []
    todo = [exc]
    while todo and len(seen) < limit:
        current = todo.pop()
        if any(current is s for s in seen):
            continue
        seen.append(current)
        todo.extend(e for e in (current.__cause__, current.__context__) if e is not None)
        todo.extend(getattr(current, "exceptions", ()))
    return seen


def _issuer_name(issuer: Sequence[Sequence[tuple[str, str]]] | None) -> str | None:
    """``getpeercert()``'s issuer tuple -> ``CN (O)``."""
    if not issuer:
        return None
    fields = {k: v for rdn in issuer for k, v in rdn}
    name = fields.get("commonName") or fields.get("organizationName")
    org = fields.get("organizationName")
    return f"{name} ({org})" if org and org != name else name


def _issuer_from_der(der: bytes) -> str | None:
    """The issuer of a DER certificate (read with ``cryptography``, which trustme already needs)."""
    try:
        from cryptography import x509
        from cryptography.x509.oid import NameOID

        cert = x509.load_der_x509_certificate(der)
        cn = cert.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)
        org = cert.issuer.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
        name = str(cn[0].value) if cn else (str(org[0].value) if org else None)
        if org and name != str(org[0].value):
            return f"{name} ({org[0].value})"
        return name
    except Exception:  # noqa: BLE001 - naming the issuer is a courtesy, never a failure
        return None


def _ssl_object(response: httpx.Response) -> ssl.SSLObject | ssl.SSLSocket | None:
    stream = response.extensions.get("network_stream")
    return stream.get_extra_info("ssl_object") if stream is not None else None


def _proxy_for(url: str) -> str | None:
    """The proxy httpx will use for ``url`` (None: direct), decided by httpx's own environment rules."""
    from httpx._utils import URLPattern, get_environment_proxies  # what trust_env uses

    mounts = get_environment_proxies()
    target = httpx.URL(url)
    for pattern in sorted(URLPattern(key) for key in mounts):  # most specific first, as httpx mounts them
        if pattern.matches(target):
            proxy = mounts[pattern.pattern]
            return mask(proxy) if proxy else None
    return None


async def _probe(client: httpx.AsyncClient, name: str, url: str, public: ssl.SSLContext | None,
                 insecure: httpx.AsyncClient) -> HostCheck:
    check = HostCheck(name=name, url=url, proxy=_proxy_for(url))
    start = time.monotonic()
    try:
        async with client.stream("GET", url, headers={"Accept": "application/json, text/html;q=0.5"}) as response:
            check.latency_ms = round((time.monotonic() - start) * 1000, 1)
            check.reachable, check.status = True, response.status_code
            check.rate_limit = rate_headers(response.headers.multi_items())
            check.server_date = response.headers.get("date")
            check.skew_s = clock_skew(check.server_date, time.time())
            ssl_object = _ssl_object(response)
            if ssl_object is not None:
                check.issuer = _issuer_name(ssl_object.getpeercert().get("issuer"))  # type: ignore[arg-type]
                check.tls = "verified"
    except httpx.HTTPError as exc:
        check.problem, check.advice = classify_error(exc)
        if check.problem.startswith("TLS certificate not trusted"):
            check.tls = "failed"
            check.issuer = await _unverified_issuer(insecure, url)
            if check.issuer:
                check.problem += f"; certificate issued by {check.issuer}"
        return check
    if check.tls == "verified" and public is not None:
        # The configured bundle accepted it; would the public roots? If not, something re-signs TLS.
        if not await _verifies_with(public, url, client):
            check.tls = "intercepted"
    if check.status in (407,):
        check.problem = "the proxy wants authentication (407)"
        check.advice = "put the proxy credentials in HTTPS_PROXY (http://user:password@proxy:port)"
    elif check.status == 403 and ("x-amzn-waf-action" in response.headers or "cf-mitigated" in response.headers):
        check.problem = "the host answered with a bot challenge (403 from its firewall)"
        check.advice = "doi2data falls back to the API route where the repository has one; if not, try later"
    elif check.skew_s is not None and abs(check.skew_s) > SKEW_WARN:
        check.problem = f"this machine's clock is {check.skew_s:+.0f} s off the server's"
        check.advice = "synchronise the clock (NTP): signed download URLs and tokens fail when it is off"
    return check


async def _verifies_with(context: ssl.SSLContext, url: str, configured: httpx.AsyncClient) -> bool:
    """Does ``url``'s certificate verify against ``context`` (same proxy route, another trust store)?"""
    async with httpx.AsyncClient(verify=context, trust_env=True, timeout=configured.timeout,
                                 headers={"User-Agent": USER_AGENT}) as client:
        try:
            async with client.stream("GET", url):
                return True
        except httpx.HTTPError as exc:
            return classify_error(exc)[0].startswith("TLS") is False


async def _unverified_issuer(client: httpx.AsyncClient, url: str) -> str | None:
    """Who signed the certificate we refused: one more handshake without verification, body unread."""
    try:
        async with client.stream("GET", url) as response:
            ssl_object = _ssl_object(response)
            der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
            return _issuer_from_der(der) if der else None
    except httpx.HTTPError:
        return None


def _public_context(env: Mapping[str, str]) -> ssl.SSLContext | None:
    """The public roots, when the user's trust store is something else (else None: nothing to compare)."""
    if not (env.get("SSL_CERT_FILE") or env.get("SSL_CERT_DIR")):
        return None
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


async def run_checks(targets: Sequence[tuple[str, str]] = DEFAULT_TARGETS, *,
                     timeout: float = 10.0) -> tuple[Environment, list[HostCheck]]:
    """Probe every target concurrently; never raises for a network failure (that is the finding).

    The route and trust store are this process's environment, read by httpx as for every command.
    """
    env = dict(os.environ)
    info = environment(env)
    limit = httpx.Timeout(timeout)
    common: dict[str, Any] = {"timeout": limit, "trust_env": True, "follow_redirects": False,
                              "headers": {"User-Agent": USER_AGENT}}
    insecure_context = ssl.create_default_context()
    insecure_context.check_hostname = False
    insecure_context.verify_mode = ssl.CERT_NONE
    try:
        client = httpx.AsyncClient(**common)
    except (OSError, ssl.SSLError) as exc:  # a missing SSL_CERT_FILE breaks the client itself
        failed = [HostCheck(name=n, url=u, problem=f"cannot load the CA bundle ({exc})",
                            advice="fix or unset SSL_CERT_FILE / SSL_CERT_DIR") for n, u in targets]
        return info, failed
    public = _public_context(env)
    async with client, httpx.AsyncClient(verify=insecure_context, **{**common, "timeout": limit}) as insecure:
        checks = await asyncio.gather(*(asyncio.wait_for(_probe(client, name, url, public, insecure),
                                                         timeout * 3)
                                        for name, url in targets), return_exceptions=True)
    results: list[HostCheck] = []
    for (name, url), outcome in zip(targets, checks):
        if isinstance(outcome, HostCheck):
            results.append(outcome)
        else:
            problem, advice = classify_error(outcome) if isinstance(outcome, BaseException) else ("?", "")
            results.append(HostCheck(name=name, url=url, problem=problem, advice=advice))
    return info, results


def has_problems(info: Environment, checks: Sequence[HostCheck]) -> bool:
    """True when something will stop downloads (a clock or bot warning alone does not)."""
    return info.ca_problem is not None or any(not c.reachable or c.tls == "failed" for c in checks)


def to_json(info: Environment, checks: Sequence[HostCheck]) -> dict[str, Any]:
    return {"environment": asdict(info), "checks": [asdict(c) for c in checks],
            "problems": sum(1 for c in checks if c.problem) + (1 if info.ca_problem else 0)}


__all__ = ["DEFAULT_TARGETS", "Environment", "HostCheck", "classify_error", "clock_skew", "environment",
           "has_problems", "mask", "rate_headers", "run_checks", "to_json"]
