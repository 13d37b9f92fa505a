"""data.example.org: a repository doi2data has no adapter for (the "unsupported" case).

It only serves a plain HTML landing page - no API, no Signposting, no file links - which is
exactly what a resolver meets on an arbitrary institutional site.
"""

from __future__ import annotations

from html import escape

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, Router

from ..world import World
from .common import html_response

HOSTS = ("data.example.org",)


def make_app(world: World) -> Router:
    async def landing(request: Request) -> Response:
        url = f"https://data.example.org/ds/{request.path_params['n']}"
        ext = next((e for e in world.external if e.url == url), None)
        if ext is None:
            return html_response("<!DOCTYPE html><html><body><h1>Not found</h1></body></html>", 404)
        return html_response(
            f"<!DOCTYPE html><html><head><title>{escape(ext.title)}</title></head><body>"
            f"<h1>{escape(ext.title)}</h1><p>DOI: {escape(ext.doi)}</p>"
            "<p>Please contact the data manager to obtain the files.</p></body></html>")

    async def home(request: Request) -> Response:
        return html_response("<!DOCTYPE html><html><body><h1>Example Data Repository</h1></body></html>")

    return Router(routes=[Route("/", home, methods=["GET"]), Route("/ds/{n}", landing, methods=["GET"])])


__all__ = ["HOSTS", "make_app"]
