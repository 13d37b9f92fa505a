"""The gateway's ASGI app: ``create_app(config)`` wires cache, safety, routes and logging.

Why Starlette (not FastAPI): it is already the project's ASGI toolkit (the sandbox), its
overhead is the smallest on the cached fast path, and the one negotiated dataset route is
documented by hand (:mod:`.openapi`) anyway.

Routes::

    GET /                   home page with the DOI box (``?doi=`` redirects to the dataset)
    GET /healthz            liveness + cache reachability (JSON)
    GET /openapi.json       OpenAPI 3.1
    GET /docs               interactive API docs (Swagger UI)
    GET /search             search the configured catalogues (JSON or HTML, :mod:`.search`)
    GET /static/...         the page's CSS and script
    GET /{identifier}       a dataset: manifest / file / archive / subset (:mod:`.dataset`)
"""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import AsyncIterator
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from .. import __version__
from ..errors import Doi2DataError
from ..http import Http, make_client, make_sync_client
from ..identifiers import Identifier
from ..model import Manifest
from ..resolver import build_manifest
from .accesslog import AccessLog, access_logger
from .cache import Store, open_store
from .config import GatewayConfig
from .dataset import _identifier, dataset_endpoint
from .manifests import ManifestService, Resolve
from .openapi import CDN_ASSETS, document, swagger_assets
from .pages import HERE, PAGE_HEADERS, environment, render_home
from .problems import http_problem
from .safety import (ClientLimits, DestinationPolicy, Resolver, client_address, dns_resolver, forget_cookies,
                     pin_connections)
from .search import SearchService, search_endpoint
from .signposting import dataset_path
from .subsetstate import SubsetState


class Gateway:
    """Per-process state: the upstream client (with the safety hook), cache and limits."""

    def __init__(self, config: GatewayConfig, *, store: Store | None = None, dns: Resolver | None = None,
                 resolve: Resolve | None = None) -> None:
        self.config = config
        self.policy = DestinationPolicy(allow_hosts=config.allow_hosts, allow_networks=config.allow_networks,
                                        resolver=dns or dns_resolver, strict_dns=config.strict_dns)
        self.client: httpx.AsyncClient = make_client(max_connections=64)
        self.client.event_hooks = {"request": [self.policy.hook], "response": []}
        # File bytes are read on worker threads through a blocking client (see .origin): same
        # proxy/CA configuration, the same safety check on every request and redirect hop.
        self.sync_client: httpx.Client = make_sync_client(max_connections=128)
        self.sync_client.event_hooks = {"request": [self.policy.sync_hook], "response": []}
        for shared in (self.client, self.sync_client):
            pin_connections(shared, self.policy)  # connect to the address that was checked (DNS rebinding)
            forget_cookies(shared)  # one caller's cookies never reach another caller's requests
        self._hosts = _HostRule(config.allowed_hosts)
        self.subsets = SubsetState(config)
        self.limits = ClientLimits(rate=config.rate, burst=config.burst, max_streams=config.max_streams)
        self.store = store if store is not None else open_store(config.cache_url)
        self.manifests = ManifestService(self.store, resolve or self._resolve, ttl=config.ttl, stale=config.stale,
                                         negative_ttl=config.negative_ttl, memory_entries=config.memory_entries)

    async def _resolve(self, ident: Identifier) -> Manifest:
        # No credentials, ever: the gateway serves what anyone may fetch (DOI2DATA_TOKENS is ignored).
        return await build_manifest(ident, Http(self.client, max_wait=10.0, body_limit=self.config.max_api_body))

    def client_of(self, scope: Any) -> str:
        return client_address(scope, self.config.trust_forwarded)

    def base(self, request: Request) -> str:
        """The public base URL: configured, else scheme + host + root path, where the host is the
        request's ``Host`` only if allow-listed, else the address the request arrived on."""
        if self.config.public_url:
            return self.config.public_url.rstrip("/")
        scope = request.scope
        scheme = scope.get("scheme", "http")
        scheme = scheme if scheme in ("http", "https") else "http"
        sent = next((v for k, v in scope["headers"] if k == b"host"), b"")
        host = self._hosts.authority(sent, scope.get("server"), scheme)
        return f"{scheme}://{host}{scope.get('root_path', '')}".rstrip("/")

    async def held(self, body: AsyncIterator[bytes], client: str) -> AsyncIterator[bytes]:
        """Pass a streamed body on, releasing the client's stream slot however it ends."""
        try:
            async for chunk in body:
                yield chunk
        finally:
            self.limits.release(client)
            close = getattr(body, "aclose", None)
            if close is not None:
                await close()

    async def aclose(self) -> None:
        await self.manifests.close()
        await self.client.aclose()
        self.sync_client.close()
        self.subsets.close()
        await self.store.close()


def _authority(host: str, port: int | None, scheme: str) -> str:
    host = f"[{host}]" if ":" in host else host
    return host if port is None or port == (443 if scheme == "https" else 80) else f"{host}:{port}"


class _HostRule:
    """Which ``Host`` headers may appear in the gateway's own links and redirects.

    Why: the links of a page or a manifest are memoised per base URL and seen by every later
    caller (and by shared caches); taking them from any ``Host`` lets one request plant links
    to another site and makes the memo grow by one rendering per invented host (150 Hosts held
    250 MB). Accepted: a listed ``name:port``, a listed ``name`` without a port or with the
    listening port, the address the request arrived on, and ``localhost`` on a loopback
    listener. Anything else is replaced by the address the request arrived on.
    """

    def __init__(self, allowed: tuple[str, ...]) -> None:
        self.allowed = frozenset(h.strip().lower().rstrip(".") for h in allowed if h.strip())
        self._memo: dict[tuple[bytes, Any, str], str] = {}

    def authority(self, sent: bytes, server: Any, scheme: str) -> str:
        key = (sent, server, scheme)
        found = self._memo.get(key)
        if found is None:
            found = self._decide(sent.decode("latin-1").strip().lower(), server, scheme)
            if len(self._memo) >= 1024:  # bounded: keys come from callers
                self._memo.clear()
            self._memo[key] = found
        return found

    def _decide(self, sent: str, server: Any, scheme: str) -> str:
        ok = bool(server) and len(server) == 2 and isinstance(server[1], int)  # a unix socket has no port
        host, port = (str(server[0]), int(server[1])) if ok else ("localhost", None)
        own = _authority(host, port, scheme)
        if not sent or sent == own:
            return own
        name, _, sent_port = sent.rpartition(":") if not sent.endswith("]") else (sent, "", "")
        if not name or "]" in sent_port:
            name, sent_port = sent, ""
        same_port = sent_port == "" or (sent_port.isdigit() and int(sent_port) == port)
        if sent in self.allowed or (name in self.allowed and same_port):
            return sent
        if name == "localhost" and same_port and sent_port and _loopback(host):
            return sent
        return own


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


async def home(request: Request) -> Response:
    gw: Gateway = request.app.state.gateway
    value = request.query_params.get("doi", "").strip()
    if value:
        try:
            gw.limits.admit(gw.client_of(request.scope))
            target = gw.base(request) + dataset_path(_identifier(value))
        except Doi2DataError as exc:
            return HTMLResponse(render_home(gw.base(request), error=str(exc), value=value), status_code=exc.http_status,
                                headers=PAGE_HEADERS)
        return RedirectResponse(target, status_code=303)
    sources = list(request.app.state.search.sources)
    return HTMLResponse(render_home(gw.base(request), sources=sources), headers=PAGE_HEADERS)


async def healthz(request: Request) -> Response:
    gw: Gateway = request.app.state.gateway
    body: dict[str, Any] = {"status": "ok", "version": __version__, "cache": gw.store.description,
                            "manifests_in_memory": len(gw.manifests._memory), "stats": gw.manifests.stats}
    try:
        await gw.store.ping()
    except Exception as exc:  # report, do not crash: the probe wants a status code
        body.update(status="degraded", cache_error=f"{type(exc).__name__}: {exc}")
        return JSONResponse(body, status_code=503)
    return JSONResponse(body)


async def openapi(request: Request) -> Response:
    spec = document()
    spec["servers"] = [{"url": request.app.state.gateway.base(request)}]
    return JSONResponse(spec)


async def docs(request: Request) -> Response:
    """Swagger UI: its start-up script is a static file (the CSP forbids inline script)."""
    root = request.scope.get("root_path", "").rstrip("/")
    local = swagger_assets() is not None
    assets = f"{root}/docs/assets" if local else CDN_ASSETS
    html = environment().get_template("docs.html").render(assets=assets, spec=f"{root}/openapi.json", root=root)
    return HTMLResponse(html, headers={"Content-Security-Policy": docs_csp(None if local else CDN_ASSETS)})


def docs_csp(cdn: str | None) -> str:
    """The docs page's policy: no inline script; Swagger UI's own inline styles allowed; the CDN if used."""
    origin = "" if cdn is None else " " + "/".join(cdn.split("/", 3)[:3])
    return (f"default-src 'none'; script-src 'self'{origin}; style-src 'self' 'unsafe-inline'{origin}; "
            f"img-src 'self' data:{origin}; font-src 'self' data:{origin}; connect-src 'self'; base-uri 'none'; "
            "form-action 'self'; frame-ancestors 'none'")


async def favicon(request: Request) -> Response:
    return RedirectResponse(f"{request.app.state.gateway.base(request)}/static/favicon.svg", status_code=301)


def create_app(config: GatewayConfig | None = None, *, store: Store | None = None, dns: Resolver | None = None,
               resolve: Resolve | None = None) -> Any:
    """The ASGI app (wrapped in the access log). ``dns``/``resolve``/``store`` are for tests."""
    config = config or GatewayConfig()
    search = SearchService(config.search_sources)  # a bad source list fails here, before anything is opened
    gateway = Gateway(config, store=store, dns=dns, resolve=resolve)

    logger = access_logger(config.access_log)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await gateway.aclose()
            if logger is not None:
                logger.close()

    routes: list[Any] = [
        Route("/", home, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
        Route("/docs", docs, methods=["GET"]),
        Route("/search", search_endpoint, methods=["GET"]),
        Route("/favicon.ico", favicon, methods=["GET"]),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    if (assets := swagger_assets()) is not None:
        routes.append(Mount("/docs/assets", StaticFiles(directory=assets), name="docs-assets"))
    routes.append(Route("/{identifier:path}", dataset_endpoint, methods=["GET"]))
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={HTTPException: http_problem})
    app.state.gateway = gateway
    app.state.search = search
    wrapped = AccessLog(app, logger, gateway.client_of)
    wrapped.gateway = gateway  # type: ignore[attr-defined]
    wrapped.starlette = app  # type: ignore[attr-defined]
    return wrapped


def app_from_env() -> Any:
    """Factory for ``uvicorn --factory`` and multi-worker serving (config from the environment)."""
    return create_app(GatewayConfig.from_env())


__all__ = ["Gateway", "app_from_env", "create_app"]
