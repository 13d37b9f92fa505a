"""The gateway's ASGI app: ``create_app(config)`` wires cache, safety, routes and logging.

The per-process state (:class:`~.gateway.Gateway`) lives in :mod:`.gateway`, which the route
modules import; this module only wires them.

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
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from .._version import __version__
from ..errors import Doi2DataError
from .accesslog import AccessLog, access_logger
from .cache import Store
from .config import GatewayConfig
from .dataset import _identifier, dataset_endpoint
from .gateway import Gateway, _HostRule  # noqa: F401  (_HostRule: its old import path, for tests)
from .manifests import Resolve
from .openapi import CDN_ASSETS, document, swagger_assets
from .pages import HERE, PAGE_HEADERS, environment, render_home
from .problems import http_problem
from .safety import Resolver
from .search import SearchService, search_endpoint
from .signposting import dataset_path


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
