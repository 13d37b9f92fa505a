"""Gateway network safety (issue 16: items 5, 12, 13, 14, 15), on loopback only.

* links and redirects never take an arbitrary ``Host``; memoised renderings stay bounded;
* names that do not resolve here are refused by default (a proxy would resolve them);
* DNS rebinding: the connection goes to the address that was checked, or nowhere;
* no cookies across callers; IPv6 forms embedding a private IPv4 address are refused;
* the page links only http(s) URLs of the repository, and every response carries a CSP.

A "fake system" network backend stands in for the operating system's resolver in the rebinding
tests: it resolves names with the rebinding answer (``127.0.0.1``) and refuses to open any
socket off loopback, so nothing here leaves the machine.
"""

from __future__ import annotations

import asyncio
import http.server
import ipaddress
import re
import threading
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpcore
import httpx
import pytest

pytest.importorskip("jinja2")

from doi2data.errors import IdentifierNotFound  # noqa: E402
from doi2data.identifiers import Identifier  # noqa: E402
from doi2data.model import Dataset, FileEntry, Manifest  # noqa: E402
from doi2data.sandbox import FakeInternet  # noqa: E402
from doi2data.service import GatewayConfig, create_app  # noqa: E402
from doi2data.service.problems import DestinationRefused  # noqa: E402
from doi2data.service.safety import (AsyncPinnedBackend, DestinationPolicy, PinnedBackend, forget_cookies,  # noqa: E402
                                     is_public, pin_connections)
from doi2data.service.testing import GatewayServer  # noqa: E402

DOI = "10.1234/safety"
PUBLIC = "93.184.216.34"


# -- a loopback "internal" service that records every request reaching it ------------------------------
class Internal:
    def __init__(self) -> None:
        self.hits: list[str] = []
        hits = self.hits

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                hits.append(self.path)
                body = b"<html><script>alert(1)</script></html>" if self.path.endswith(".html") else b"secret"
                self.send_response(200)
                self.send_header("Content-Type", "text/html" if self.path.endswith(".html") else "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def internal() -> Iterator[Internal]:
    server = Internal()
    yield server
    server.close()


@pytest.fixture(autouse=True)
def _no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)


class Rebinding:
    """A DNS server under attack: a public address the first time, loopback ever after."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, host: str) -> list[str]:
        self.calls += 1
        return [PUBLIC] if self.calls == 1 else ["127.0.0.1"]


def _system_address(host: str) -> str:
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        return "127.0.0.1"  # the operating system's resolver, asked later, gets the rebinding answer


class FakeSystem(httpcore.NetworkBackend):
    """Connects as the OS would (names resolved with the rebinding answer), loopback only."""

    def __init__(self) -> None:
        self.real, self.connects = httpcore.SyncBackend(), []  # type: ignore[var-annotated]

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Any = None) -> httpcore.NetworkStream:
        address = _system_address(host)
        self.connects.append(address)
        if not ipaddress.ip_address(address).is_loopback:
            raise httpcore.ConnectError(f"test: not leaving the machine for {address}")
        return self.real.connect_tcp(address, port, timeout, local_address, socket_options)


class AsyncFakeSystem(httpcore.AsyncNetworkBackend):
    def __init__(self) -> None:
        self.real, self.connects = httpcore.AnyIOBackend(), []  # type: ignore[var-annotated]

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                          socket_options: Any = None) -> httpcore.AsyncNetworkStream:
        address = _system_address(host)
        self.connects.append(address)
        if not ipaddress.ip_address(address).is_loopback:
            raise httpcore.ConnectError(f"test: not leaving the machine for {address}")
        return await self.real.connect_tcp(address, port, timeout, local_address, socket_options)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def _install(client: httpx.Client | httpx.AsyncClient, system: Any) -> None:
    """The fake OS network under the client's pool (the pinned backend, if any, wraps it)."""
    client._transport._pool._network_backend = system  # type: ignore[attr-defined]


# -- item 13: DNS rebinding ------------------------------------------------------------------------------
@pytest.mark.parametrize("expire", [False, True], ids=["cached-answer", "answer-expires-before-connect"])
def test_rebinding_sync_connects_to_the_checked_address(internal: Internal, expire: bool) -> None:
    now = [0.0]

    def clock() -> float:  # with expire: every look-up finds the DNS cache stale (a TTL of 0)
        if expire:
            now[0] += 3600
        return now[0]

    policy = DestinationPolicy(resolver=Rebinding(), clock=clock)
    system = FakeSystem()
    with httpx.Client(trust_env=False, event_hooks={"request": [policy.sync_hook]}) as client:
        _install(client, system)
        pin_connections(client, policy)
        with pytest.raises((httpx.ConnectError, DestinationRefused)):
            client.get(f"http://rebind.example:{internal.port}/latest/meta-data")
    assert internal.hits == []  # the "internal" service was never reached
    assert system.connects == ([] if expire else [PUBLIC])  # refused, or only ever the checked address


@pytest.mark.parametrize("expire", [False, True], ids=["cached-answer", "answer-expires-before-connect"])
def test_rebinding_async_connects_to_the_checked_address(internal: Internal, expire: bool) -> None:
    now = [0.0]

    def clock() -> float:
        if expire:
            now[0] += 3600
        return now[0]

    policy = DestinationPolicy(resolver=Rebinding(), clock=clock)
    system = AsyncFakeSystem()

    async def go() -> None:
        async with httpx.AsyncClient(trust_env=False, event_hooks={"request": [policy.hook]}) as client:
            _install(client, system)
            pin_connections(client, policy)
            with pytest.raises((httpx.ConnectError, DestinationRefused)):
                await client.get(f"http://rebind.example:{internal.port}/latest/meta-data")

    asyncio.run(go())
    assert internal.hits == []
    assert system.connects == ([] if expire else [PUBLIC])


def test_pinned_connection_still_reaches_an_allowed_loopback_origin(internal: Internal) -> None:
    """Pinning connects to the checked IP and keeps the request's Host: a normal request works."""
    async def dns(host: str) -> list[str]:
        return ["127.0.0.1"]

    policy = DestinationPolicy(resolver=dns, allow_networks=["127.0.0.0/8"])
    with httpx.Client(trust_env=False, event_hooks={"request": [policy.sync_hook]}) as client:
        pin_connections(client, policy)
        r = client.get(f"http://origin.example:{internal.port}/file.txt")
    assert r.status_code == 200 and r.content == b"secret" and internal.hits == ["/file.txt"]


def _manifest(url: str, **dataset: Any) -> Manifest:
    return Manifest(Dataset(DOI, title="Safety", creators=("A, B",), year=2024, **dataset),
                    (FileEntry("data/file.txt", 6, {}, (url,)), FileEntry("page.html", 38, {}, (url[:-4] + ".html",))))


def _gateway(manifest: Manifest, dns: Any, **config: Any) -> GatewayServer:
    async def resolve(ident: Identifier) -> Manifest:
        return manifest

    settings: dict[str, Any] = {"cache_url": "memory:", "rate": 0, "access_log": None}
    settings.update(config)
    return GatewayServer(create_app(GatewayConfig(**settings), dns=dns, resolve=resolve)).start()


def test_gateway_clients_are_pinned_and_rebinding_is_stopped(internal: Internal) -> None:
    """Through the real gateway: a file whose host rebinds to loopback is never fetched from it."""
    server = _gateway(_manifest(f"http://rebind.example:{internal.port}/x.txt"), Rebinding())
    try:
        gw = server.app.gateway  # type: ignore[attr-defined]
        pinned = gw.sync_client._transport._pool._network_backend
        assert isinstance(pinned, PinnedBackend)
        assert isinstance(gw.client._transport._pool._network_backend, AsyncPinnedBackend)
        system = FakeSystem()
        pinned.inner = system
        with httpx.Client(base_url=server.url, trust_env=False, timeout=30) as http:
            r = http.get(f"/{DOI}", params={"file": "data/file.txt", "mode": "stream"})
        assert r.status_code in (403, 502, 503, 504), r.text
        assert internal.hits == [] and "127.0.0.1" not in system.connects
    finally:
        server.stop()


# -- item 14: embedded IPv4 forms, cookies ---------------------------------------------------------------
@pytest.mark.parametrize("address", [
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2002:a00:1::1",  # 6to4 of 10.0.0.1
    "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
    "2001:0:4136:e378:8000:63bf:f5ff:fffe",  # Teredo, client 10.0.0.1
    "64:ff9b::7f00:1", "64:ff9b::a00:1", "64:ff9b::a9fe:a9fe",  # NAT64 well-known prefix
    "64:ff9b:1::a00:1", "64:ff9b:1:5db8:d822::",  # NAT64 local-use prefix
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::7f00:1", "::a00:1", "::ffff:0:a00:1",  # mapped / compatible
])
def test_embedded_private_ipv4_is_refused(address: str) -> None:
    assert not is_public(ipaddress.ip_address(address))

    async def dns(host: str) -> list[str]:
        return [address]

    policy = DestinationPolicy(resolver=dns)
    with pytest.raises(DestinationRefused):
        policy.check_sync(f"http://[{address}]/")
    with pytest.raises(DestinationRefused):
        policy.check_sync("https://sneaky.example/")


def test_embedded_public_ipv4_is_allowed() -> None:
    for address in ("2002:5db8:d822::1", "64:ff9b::5db8:d822", "::ffff:93.184.216.34"):
        assert is_public(ipaddress.ip_address(address)), address


def test_shared_clients_keep_no_cookies() -> None:
    """A cookie an origin sets for one caller's request is not sent with the next caller's."""
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("cookie"))
        return httpx.Response(200, headers={"Set-Cookie": "session=caller-a; Path=/"})

    config = GatewayConfig(cache_url="memory:", access_log=None, allow_hosts=("origin.example",))
    gw = create_app(config).gateway  # type: ignore[attr-defined]
    try:
        gw.sync_client._transport = httpx.MockTransport(handler)
        gw.sync_client.get("https://origin.example/a")
        gw.sync_client.get("https://origin.example/b")

        async def go() -> None:
            gw.client._transport = httpx.MockTransport(handler)
            await gw.client.get("https://origin.example/a")
            await gw.client.get("https://origin.example/b")
            await gw.aclose()

        asyncio.run(go())
    finally:
        gw.sync_client.close()
    assert seen == [None, None, None, None]
    with httpx.Client(transport=httpx.MockTransport(handler)) as plain:  # the control: httpx keeps them
        plain.get("https://origin.example/a")
        plain.get("https://origin.example/b")
        assert seen[-1] == "session=caller-a"
        forget_cookies(plain)
        plain.get("https://origin.example/c")
        assert seen[-1] is None


# -- item 12: names only a proxy can resolve -------------------------------------------------------------
def test_unresolvable_origins_are_refused_unless_allow_listed(internet: FakeInternet, net: FakeInternet,
                                                              tmp_path: Path) -> None:
    """The sandbox's hosts resolve only at its proxy (like an intranet name): refused by default,
    served with ``strict_dns=False`` (``serve --proxy-dns``) or when allow-listed."""
    from test_service_gateway import DOI as SANDBOX_DOI
    from test_service_gateway import start

    async def nothing(host: str) -> list[str]:
        return []

    for overrides, expected in (({"allow_hosts": ()}, 403), ({"allow_hosts": (), "strict_dns": False}, 200),
                                ({}, 200)):
        net.clear_log()
        server = start(internet, tmp_path, dns=nothing, **overrides)
        try:
            with httpx.Client(base_url=server.url, trust_env=False, timeout=30) as client:
                r = client.get(f"/{SANDBOX_DOI}")
            assert r.status_code == expected, (overrides, r.text[:300])
            if expected == 403:
                assert r.json()["error"] == "DestinationRefused" and "does not resolve here" in r.json()["detail"]
                assert net.log == []  # nothing went through the proxy
        finally:
            server.stop()


# -- item 5: the Host header -----------------------------------------------------------------------------
def _links(response: httpx.Response) -> list[str]:
    return re.findall(r"<([^>]*)>", response.headers.get("link", ""))


def test_arbitrary_host_headers_do_not_reach_links_and_memo_is_bounded() -> None:
    server = _gateway(_manifest("https://files.example/x.txt"), None, allowed_hosts=("gw.example",))
    own = server.url
    try:
        gw = server.app.gateway  # type: ignore[attr-defined]
        with httpx.Client(base_url=own, trust_env=False, timeout=30) as http:
            for n in range(150):
                evil = f"evil{n}.example"
                for accept in ("application/json", "text/html", "application/linkset+json"):
                    r = http.get(f"/{DOI}", headers={"Host": evil, "Accept": accept})
                    assert r.status_code == 200
                    assert evil not in r.text and all(evil not in link for link in _links(r)), (accept, r.text[:300])
                assert f"{own}/{DOI}?format=json" in _links(r)
            moved = http.get(f"/doi:{DOI}", headers={"Host": "evil.example"})
            assert moved.status_code == 308 and moved.headers["location"] == f"{own}/{DOI}"
            home = http.get("/", params={"doi": DOI}, headers={"Host": "evil.example"})
            assert home.status_code == 303 and home.headers["location"] == f"{own}/{DOI}"
            docs = http.get("/openapi.json", headers={"Host": "evil.example"}).json()
            assert docs["servers"] == [{"url": own}]
            # Listed names (and localhost on a loopback listener) are kept.
            listed = http.get(f"/{DOI}", headers={"Host": "gw.example"})
            assert "http://gw.example/10.1234/safety?format=json" in _links(listed)
            local = http.get(f"/{DOI}", headers={"Host": f"localhost:{server.port}"})
            assert f"http://localhost:{server.port}/{DOI}?format=json" in _links(local)
            other_port = http.get(f"/{DOI}", headers={"Host": "gw.example:1234"})
            assert f"{own}/{DOI}?format=json" in _links(other_port)
        entry = next(iter(gw.manifests._memory.values()))
        assert len(entry.rendered) <= 12, sorted(entry.rendered)  # 3 hosts x (links + 3 representations)
        assert len(gw._hosts._memo) <= 1024
    finally:
        server.stop()


def test_public_url_wins() -> None:
    server = _gateway(_manifest("https://files.example/x.txt"), None, public_url="https://data.example.org/gw/")
    try:
        with httpx.Client(base_url=server.url, trust_env=False, timeout=30) as http:
            r = http.get(f"/{DOI}", headers={"Host": "evil.example"})
        assert "https://data.example.org/gw/10.1234/safety?format=json" in _links(r)
    finally:
        server.stop()


# -- item 15: URL schemes on the page, Content-Security-Policy -------------------------------------------
class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        self.urls.extend(v for k, v in attrs if k in ("href", "src", "action") and v is not None)
        if tag == "script" and not values.get("src"):
            self.inline_scripts += 1
        if any(k.startswith("on") for k in values):
            self.inline_scripts += 1


def _script_src(csp: str) -> str:
    return next(part for part in csp.split(";") if part.strip().startswith(("script-src", "default-src")))


HOSTILE = ["javascript:alert(document.domain)", "JavaScript:alert(1)", " javascript:alert(1)",
           "data:text/html,<script>alert(1)</script>", "vbscript:msgbox(1)", "java\tscript:alert(1)"]


def test_page_links_only_http_urls_and_forbids_inline_script() -> None:
    """Each hostile URL as landing page, licence and file URL of its own dataset (one gateway)."""
    manifests = {f"10.1234/hostile{n}": _manifest(url, landing_url=url, license=url) for n, url in enumerate(HOSTILE)}

    async def resolve(ident: Identifier) -> Manifest:
        if ident.value not in manifests:
            raise IdentifierNotFound(f"{ident.value} does not exist")
        return manifests[ident.value]

    config = GatewayConfig(cache_url="memory:", rate=0, access_log=None)
    server = GatewayServer(create_app(config, resolve=resolve)).start()
    try:
        with httpx.Client(base_url=server.url, trust_env=False, timeout=30) as http:
            for doi, manifest in manifests.items():
                page = http.get(f"/{doi}", headers={"Accept": "text/html"})
                assert page.status_code == 200
                refs = _Refs()
                refs.feed(page.text)
                assert refs.urls and refs.inline_scripts == 0
                for url in refs.urls:
                    assert url.startswith(("http://", "https://", "/")), (manifest.dataset.landing_url, url)
                csp = page.headers["content-security-policy"]
                assert "script-src 'self'" in csp and "unsafe-inline" not in _script_src(csp)
                assert page.headers["x-content-type-options"] == "nosniff"
                assert "script" not in " ".join(_links(page)).lower()  # the Link header: no hostile licence link
            for path, headers in (("/", {}), ("/docs", {}), ("/10.1234/nothing-here", {"Accept": "text/html"})):
                other = http.get(path, headers=headers)
                assert other.headers["content-type"].startswith("text/html"), path
                refs = _Refs()
                refs.feed(other.text)
                assert refs.inline_scripts == 0, path
                assert "unsafe-inline" not in _script_src(other.headers["content-security-policy"]), path
    finally:
        server.stop()


def test_streamed_repository_files_are_sandboxed(internal: Internal) -> None:
    """An HTML file from the repository, streamed through the gateway, runs no script on its origin."""
    url = f"http://127.0.0.1:{internal.port}/x.txt"
    server = _gateway(_manifest(url), None, allow_hosts=("127.0.0.1",))
    try:
        with httpx.Client(base_url=server.url, trust_env=False, timeout=30) as http:
            r = http.get(f"/{DOI}", params={"file": "page.html", "mode": "stream"})
            assert r.status_code == 200 and b"<script>" in r.content
            csp = r.headers["content-security-policy"]
            assert "sandbox" in csp and "default-src 'none'" in csp
            for path in (f"/{DOI}", "/healthz", "/static/gateway.js"):
                assert "content-security-policy" in http.get(path).headers, path
    finally:
        server.stop()


def test_serve_flags_reach_the_config(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    from doi2data.cli import main
    from doi2data.service import app as app_mod
    from doi2data.service.config import ENV_VAR

    calls: list[Any] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append(app))
    monkeypatch.setattr(app_mod, "create_app", lambda config: config)
    monkeypatch.setenv(ENV_VAR, "")
    main(["serve", "--cache", "memory:"])
    assert calls[-1].strict_dns is True and calls[-1].allowed_hosts == ()
    main(["serve", "--cache", "memory:", "--proxy-dns", "--allowed-host", "gw.example", "--allowed-host",
          "gw.example:8443"])
    assert calls[-1].strict_dns is False and calls[-1].allowed_hosts == ("gw.example", "gw.example:8443")


def test_page_script_runs_under_the_csp_in_chromium(tmp_path: Path) -> None:
    """Debian chromium: the page's own script works under the policy and nothing is reported refused."""
    import os
    import shutil

    sync_api = pytest.importorskip("playwright.sync_api")
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        pytest.skip("Debian chromium is not installed")
    from test_gateway_browser import ARGS

    server = _gateway(_manifest("javascript:alert(1)", landing_url="javascript:alert(2)"), None)
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    try:
        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, args=[*ARGS, "--no-proxy-server"], headless=True,
                                         env=env)
            try:
                page = browser.new_page()
                messages: list[str] = []
                page.on("console", lambda m: messages.append(m.text))
                page.add_init_script("document.addEventListener('securitypolicyviolation',"
                                     " e => console.log('CSP-VIOLATION ' + e.violatedDirective))")
                page.goto(f"{server.url}/{DOI}?format=html", wait_until="load")
                page.fill("#filter", "*.html")
                assert page.inner_text("#shown") == "1 shown"  # gateway.js ran
                assert "--include '*.html'" in page.inner_text("#cmd-doi2data")
                page.goto(f"{server.url}/", wait_until="load")
                assert not [m for m in messages if "CSP-VIOLATION" in m or "Content Security Policy" in m], messages
            finally:
                browser.close()
    finally:
        server.stop()


@pytest.mark.parametrize(("sent", "server", "expected"), [
    (b"evil.example", ("127.0.0.1", 8000), "127.0.0.1:8000"),
    (b"gw.example", ("10.0.0.5", 8000), "gw.example"),  # listed, no port (a reverse proxy on 80/443)
    (b"gw.example:8000", ("10.0.0.5", 8000), "gw.example:8000"),  # listed, the listening port
    (b"gw.example:9", ("10.0.0.5", 8000), "10.0.0.5:8000"),  # listed name, another port
    (b"other.example:8443", ("10.0.0.5", 8000), "other.example:8443"),  # listed name:port
    (b"localhost:8000", ("127.0.0.1", 8000), "localhost:8000"),
    (b"localhost:8000", ("10.0.0.5", 8000), "10.0.0.5:8000"),  # localhost only on a loopback listener
    (b"[::1]:8000", ("::1", 8000), "[::1]:8000"),
    (b"evil.example", ("/run/gw.sock", None), "localhost"),  # a unix socket: no address to use
    (b"", ("127.0.0.1", 80), "127.0.0.1"),
])
def test_host_rule(sent: bytes, server: Any, expected: str) -> None:
    from doi2data.service.app import _HostRule

    assert _HostRule(("gw.example", "other.example:8443")).authority(sent, server, "http") == expected
