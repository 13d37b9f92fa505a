"""doi.org (and dx.doi.org, www.doi.org): the Handle REST API, the RA lookup and the redirect.

Wire formats follow the recordings (``shared/fixtures/recorded/doi.org``): ``/api/handles/<h>``
gives ``{"responseCode":1,"handle":..,"values":[URL, HS_ADMIN]}`` or HTTP 404 with
``responseCode`` 100; ``/ra/<doi-or-prefix>`` is always a pretty-printed JSON array with HTTP 200;
``/<doi>`` is a 302 with ``Location`` and a small HTML body. Matching is case-insensitive and
the identifier may arrive percent-encoded. :func:`handle_routes` is shared with hdl.handle.net.
"""

from __future__ import annotations

from html import escape
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, Router

from ..world import Pid, World
from .common import html_response, json_response, redirect
from .crosscite import negotiated_location

HANDLE_JSON = "application/json;charset=UTF-8"
_NOT_FOUND_HTML = ("<!DOCTYPE html><html><head><title>Error: DOI Not Found</title></head><body>"
                   "<h1>DOI Not Found</h1><p>{handle}</p><p>This DOI cannot be found in the DOI System.</p>"
                   "</body></html>")


def handle_values(pid: Pid) -> list[dict[str, Any]]:
    """The Handle record: the URL value first (as live records), then HS_ADMIN."""
    prefix = pid.handle.split("/", 1)[0]
    return [
        {"index": 1, "type": "URL", "data": {"format": "string", "value": pid.url}, "ttl": 86400,
         "timestamp": pid.timestamp},
        {"index": 100, "type": "HS_ADMIN",
         "data": {"format": "admin", "value": {"handle": f"0.na/{prefix}", "index": 200,
                                               "permissions": "111111110010"}},
         "ttl": 86400, "timestamp": pid.timestamp},
    ]


def _handles_api(world: World) -> Any:
    async def endpoint(request: Request) -> Response:
        handle = request.path_params["handle"]
        pid = world.doi(handle)
        if pid is None:
            return json_response({"responseCode": 100, "handle": handle}, 404, media_type=HANDLE_JSON)
        values = handle_values(pid)
        types = [t for t in request.query_params.getlist("type") if t]
        indexes = [i for i in request.query_params.getlist("index") if i]
        if types or indexes:
            values = [v for v in values if v["type"] in types or str(v["index"]) in indexes]
        if not values:
            return json_response({"responseCode": 200, "handle": handle}, media_type=HANDLE_JSON)
        return json_response({"responseCode": 1, "handle": handle, "values": values}, media_type=HANDLE_JSON)
    return endpoint


def _resolver(world: World, negotiate: bool = False) -> Any:
    async def endpoint(request: Request) -> Response:
        handle = request.path_params["handle"]
        pid = world.doi(handle)
        if pid is None:
            return html_response(_NOT_FOUND_HTML.format(handle=escape(handle)), 404)
        # Content negotiation (doi.org only): metadata types go to the RA's service (crosscite.py).
        if negotiate and pid.is_doi and (cn := negotiated_location(request.headers.get("accept", ""), handle)):
            return redirect(cn, 302, headers={"vary": "Accept", "expires": "Thu, 01 Jan 1970 00:00:00 GMT"})
        url = pid.url
        body = (f"<html><head><title>Handle Redirect</title></head>\n<body><a href=\"{escape(url)}\">"
                f"{escape(url)}</a></body></html>")
        return redirect(url, 302, body=body, headers={"vary": "Accept", "expires": "Thu, 01 Jan 1970 00:00:00 GMT"})
    return endpoint


def _ra(world: World) -> Any:
    async def endpoint(request: Request) -> Response:
        answers = []
        prefixes = {p.handle.split("/", 1)[0].lower() for p in world.pids() if p.is_doi}
        for ident in (i.strip() for i in request.path_params["ids"].split(",") if i.strip()):
            pid = world.doi(ident)
            known = pid.is_doi if pid is not None else ("/" not in ident and ident.lower() in prefixes)
            answers.append({"DOI": ident, "RA": "DataCite"} if known
                           else {"DOI": ident, "status": "DOI does not exist"})
        return json_response(answers, media_type=HANDLE_JSON, indent=2)
    return endpoint


async def _home(request: Request) -> Response:
    return html_response("<!DOCTYPE html><html><head><title>Handle Proxy</title></head>"
                         "<body><h1>Resolve a DOI Name</h1></body></html>")


def handle_routes(world: World, *, with_ra: bool) -> list[Route]:
    routes = [Route("/", _home, methods=["GET"]),
              Route("/api/handles/{handle:path}", _handles_api(world), methods=["GET"])]
    if with_ra:
        routes.append(Route("/ra/{ids:path}", _ra(world), methods=["GET"]))
    routes.append(Route("/{handle:path}", _resolver(world, negotiate=with_ra), methods=["GET"]))
    return routes


def make_app(world: World) -> Router:
    """The doi.org site (also serves dx.doi.org and www.doi.org)."""
    return Router(routes=handle_routes(world, with_ra=True))


HOSTS = ("doi.org", "dx.doi.org", "www.doi.org")

__all__ = ["HOSTS", "handle_routes", "handle_values", "make_app"]
