"""The emulated sites, one module per service, and the router that picks one by ``Host``.

Why one backend for all hosts: the proxy terminates TLS per host and forwards every decrypted
stream to the same uvicorn server; the ``Host`` header then selects the site, exactly as a
virtual-hosting front end would. New services register here (or via
:meth:`doi2data.sandbox.FakeInternet.add_site`) and become reachable through the proxy.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from starlette.responses import PlainTextResponse

from ..world import World
from . import datacite, doi_org, example, handle_net, zenodo
from . import crosscite, fts3, globus  # content negotiation; transfer-service hand-offs
from . import signposting_repo  # repositories reachable only through Signposting / JSON-LD
from . import contenturl_repo  # a repository reachable only through DataCite contentUrl
from . import oai, pansearch  # search: an OAI-PMH provider and the PaN search API (federated + one facility)

ASGIApp = Any


def default_sites(world: World) -> dict[str, ASGIApp]:
    """Host name -> ASGI app for every emulated service in the default fake internet."""
    sites: dict[str, ASGIApp] = {}
    for module in (doi_org, handle_net, datacite, zenodo, example, crosscite, fts3, globus, signposting_repo):
        app = module.make_app(world)
        sites.update({host: app for host in module.HOSTS})
    www = zenodo.make_www_app(world)
    sites.update({host: www for host in zenodo.WWW_HOSTS})
    sites.update(contenturl_repo.make_sites(world))
    sites.update({**pansearch.make_sites(world), **{host: oai.make_app(world) for host in oai.HOSTS}})
    from .. import general  # lazily: general.py imports this package's common helpers

    sites.update(general.make_sites(world))
    from .. import facilities  # PSI, ESRF, DESY, SciCat, web folders (lazily, like general)

    sites.update(facilities.make_sites(world))
    from .. import mendeley_pangaea  # Mendeley Data and PANGAEA (lazily, like general)

    sites.update(mendeley_pangaea.make_sites(world))
    return sites


class HostRouter:
    """Dispatch on the ``Host`` header (port stripped, case-insensitive)."""

    def __init__(self, sites: MutableMapping[str, ASGIApp]) -> None:
        self.sites = sites

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        host = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k.lower() == b"host"), "")
        host = host.lower().rpartition(":")[0] if ":" in host and not host.endswith("]") else host.lower()
        app = self.sites.get(host)
        if app is None:
            await PlainTextResponse(f"no emulated site for host {host!r}", 421)(scope, receive, send)
            return
        await app(scope, receive, send)


__all__ = ["ASGIApp", "HostRouter", "default_sites"]
