"""A repository whose files are reachable only through DataCite ``contentUrl`` (the last detection layer).

* ``archive.lab.example``: the DOI's landing page, plain HTML for people - no Signposting (no ``Link``
  header, no ``<link rel=item>``), no JSON-LD - and no API (``/api/info/version`` and
  ``/api/records/<id>`` answer 404, as on any site that is neither Dataverse nor InvenioRDM).
* ``files.lab.example``: the files, at the URLs registered in the DOI's DataCite record
  (``attributes.contentUrl``, a JSON list of strings as DataCite serves it; recorded-fixtures §2 has
  only ``null`` and ``[]`` in the wild). One URL names its file only in ``Content-Disposition``
  (``/get?id=3``). Every response (``HEAD`` too) carries ``Content-Length``, an ETag and
  ``Repr-Digest: sha-256=:…:`` (RFC 9530), and ranges are served, so a client can size the files
  with ``HEAD`` and verify them while downloading.

DataCite's ``sizes``/``formats`` are free text here as in the recordings (``"3 files"``), never
aligned to the URLs. :data:`DATACITE_ATTRIBUTES` is what the DataCite emulator adds to the record;
the DOI is an :data:`EXTERNAL` entry of the default world.
"""

from __future__ import annotations

import base64
from datetime import datetime, timezone
from html import escape
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, Router

from ..world import Creator, ExternalDataset, FileSpec, World
from .common import Entity, EntityResponse, html_response

LANDING_HOST = "archive.lab.example"
FILES_HOST = "files.lab.example"
HOSTS = (LANDING_HOST, FILES_HOST)
CONTENTURL_DOI = "10.99999/contenturl.1"
LANDING_URL = f"https://{LANDING_HOST}/collections/7f3k2"
TITLE = "Sandbox spectra registered with DataCite contentUrl only"
_PUBLISHED = datetime(2024, 9, 2, 10, 0, tzinfo=timezone.utc)
_PEOPLE = (Creator("Haddad", "Leila", "Example Lab"),)

#: (URL path on FILES_HOST, the file, the name it is served under)
FILES: tuple[tuple[str, FileSpec, str], ...] = (
    ("/store/2024/README.txt", FileSpec("README.txt", mimetype="text/plain", seed="contenturl:readme",
                                        data=b"Two spectra runs and a calibration table.\n"), "README.txt"),
    ("/store/2024/spectra.h5", FileSpec("spectra.h5", 400_003, "application/x-hdf5", seed="contenturl:spectra"),
     "spectra.h5"),
    ("/get", FileSpec("calibration.csv", mimetype="text/csv", seed="contenturl:calibration",
                      data=b"channel,energy_keV\n1,0.51\n2,1.02\n3,1.53\n"), "calibration.csv"),
)
_QUERY = {"/get": "?id=3"}
CONTENT_URLS = [f"https://{FILES_HOST}{path}{_QUERY.get(path, '')}" for path, _, _ in FILES]
#: DataCite attributes of CONTENTURL_DOI that differ from the emulator's defaults.
DATACITE_ATTRIBUTES: dict[str, dict[str, Any]] = {CONTENTURL_DOI.lower(): {
    "contentUrl": CONTENT_URLS, "sizes": ["3 files"], "formats": ["HDF5", "CSV", "plain text"]}}
EXTERNAL = [ExternalDataset(CONTENTURL_DOI, LANDING_URL, TITLE, _PEOPLE, "Example Lab", 2024, "lab.archive",
                            "Example Lab Archive")]


def _serve(world: World, spec: FileSpec, name: str) -> EntityResponse:
    sha = base64.b64encode(bytes.fromhex(world.digest(spec, "sha256"))).decode()
    entity = Entity(size=spec.size, etag=f'"{world.digest(spec, "md5")}"', last_modified=_PUBLISHED,
                    content_type=spec.mimetype, filename=name,
                    chunks=lambda start, end: world.content(spec, start, end))
    return EntityResponse(entity, {"repr-digest": f"sha-256=:{sha}:"})


def make_sites(world: World) -> dict[str, Router]:
    """The landing host and the file host."""
    by_path = {path: (spec, name) for path, spec, name in FILES}

    async def landing(request: Request) -> Response:
        if f"https://{LANDING_HOST}{request.url.path}" != LANDING_URL:
            return html_response("<h1>Not found</h1>", 404)
        return html_response(f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{escape(TITLE)}</title>"
                             f"</head><body><h1>{escape(TITLE)}</h1><p>DOI {CONTENTURL_DOI}. Ask the lab for access "
                             "to the files; their addresses are registered with the DOI.</p></body></html>")

    async def file(request: Request) -> Response | EntityResponse:
        path = request.url.path
        if path == "/get" and request.query_params.get("id") != "3":
            return html_response("<h1>Not found</h1>", 404)
        found = by_path.get(path)
        return _serve(world, *found) if found else html_response("<h1>Not found</h1>", 404)

    async def other(request: Request) -> Response:
        return html_response("<h1>Not found</h1>", 404)

    both = ["GET", "HEAD"]
    return {
        LANDING_HOST: Router(routes=[Route("/collections/{slug}", landing, methods=["GET"]),
                                     Route("/{rest:path}", other, methods=both)]),
        FILES_HOST: Router(routes=[Route("/store/{rest:path}", file, methods=both), Route("/get", file, methods=both),
                                   Route("/{rest:path}", other, methods=both)]),
    }


__all__ = ["CONTENTURL_DOI", "CONTENT_URLS", "DATACITE_ATTRIBUTES", "EXTERNAL", "FILES", "FILES_HOST", "HOSTS",
           "LANDING_HOST", "LANDING_URL", "make_sites"]
