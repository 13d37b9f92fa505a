"""hdl.handle.net: the global Handle proxy (same REST API and redirect as doi.org, no RA lookup).

Real hdl.handle.net resolves DOIs too (a DOI is a handle), so every identifier in the world is
served here; the non-DOI handle of the demo dataset is the one only a Handle proxy is asked for.
"""

from __future__ import annotations

from starlette.routing import Router

from ..world import World
from .doi_org import handle_routes

HOSTS = ("hdl.handle.net",)


def make_app(world: World) -> Router:
    return Router(routes=handle_routes(world, with_ra=False))


__all__ = ["HOSTS", "make_app"]
