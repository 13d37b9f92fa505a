"""PANGAEA (``doi.pangaea.de``): JSON-LD metadata, generated tables and zips, a login-protected dataset.

``/10.1594/PANGAEA.<n>?format=metadata_jsonld`` follows a recorded answer
(geo-engine/geoengine ``test_data/pangaea/pangaea_geo_none_meta.json``): schema.org ``Dataset``
with ``identifier``/``url``, ``creator[]``, ``datePublished``, ``license``, ``conditionsOfAccess``,
``isAccessibleForFree``, ``size`` in *data points* and a ``distribution`` list of ``DataDownload``
(``text/html`` ``?format=html`` and ``text/tab-separated-values`` ``?format=textfile``). A parent
collection lists ``hasPart`` and distributes ``application/zip`` ``?format=zip`` (datahugger and
other clients handle that type; the exact parent shape is unverified). ``isPartOf`` is a DOI URL.

The awkward parts, as clients meet them: ``?format=textfile``/``zip`` are generated per request and
streamed chunked, with no ``Content-Length``, no ``ETag``/``Last-Modified`` and no range support;
the file name is only in ``Content-Disposition: attachment; filename=Gubbio_age.tab`` (also on
``HEAD``). The login-protected dataset says ``conditionsOfAccess: "login required"`` /
``isAccessibleForFree: false`` (unverified values) and answers 401 unless ``Authorization: Bearer``
carries :data:`~doi2data.sandbox.data.pangaea.PANGAEA_TOKEN`. Unknown numbers get a 404 page.

Binary datasets (pangaeapy ``PanDataSet.download`` / ``PanDataHarvester``, read 2026-12-06): the
table's ``Binary`` column names files kept at ``download.pangaea.de/dataset/<n>/files/<name>``
(beside ``Binary (Size) [Bytes]`` and ``Binary (MD5 Hash)``); the JSON-LD lists those parameters
in ``variableMeasured``. ``download.pangaea.de`` serves them as stored files (length, ETag,
ranges) only with ``Authorization: Bearer <token>`` (the user's token from pangaea.de/user/):
401 otherwise, as pangaeapy's "Please provide a valid auth_token" handling expects.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from html import escape
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, Router

from ..data.pangaea import PANGAEA_TOKEN, PgDataset, generated_bytes, pangaea_dataset
from ..world import World
from .common import Entity, EntityResponse, html_response, json_response

HOST = "doi.pangaea.de"
DOWNLOAD_HOST = "download.pangaea.de"
HOSTS = (HOST, DOWNLOAD_HOST)
CHUNK = 16 * 1024
JSONLD_TYPE = "application/ld+json;charset=UTF-8"
_STAMP = datetime(2024, 6, 3, 12, 0, tzinfo=timezone.utc)
_ORG = {"@type": "Organization", "name": "PANGAEA", "disambiguatingDescription":
        "Data Publisher for Earth & Environmental Science", "url": "https://www.pangaea.de/"}


def _person(family: str, given: str) -> dict[str, str]:
    return {"@type": "Person", "name": f"{given} {family}", "familyName": family, "givenName": given}


def jsonld(ds: PgDataset) -> dict[str, Any]:
    """The ``metadata_jsonld`` document of ``ds``."""
    url = f"https://{HOST}/{ds.doi}"
    kind = ("application/zip", "zip") if ds.children else ("text/tab-separated-values", "textfile")
    doc: dict[str, Any] = {
        "@context": "http://schema.org/", "@id": f"https://doi.org/{ds.doi}", "@type": "Dataset",
        "identifier": f"https://doi.org/{ds.doi}", "url": url,
        "creator": [_person(c.family, c.given) for c in ds.creators], "name": ds.title, "publisher": _ORG,
        "includedInDataCatalog": {**_ORG, "@type": "DataCatalog"}, "datePublished": ds.published,
        "description": f"This dataset is about: {ds.title}.", "inLanguage": "en",
        "license": "https://creativecommons.org/licenses/by/4.0/",
        "conditionsOfAccess": "login required" if ds.restricted else "unrestricted",
        "isAccessibleForFree": not ds.restricted,
        "distribution": [{"@type": "DataDownload", "encodingFormat": "text/html", "contentUrl": f"{url}?format=html"},
                         {"@type": "DataDownload", "encodingFormat": kind[0], "contentUrl": f"{url}?format={kind[1]}"}],
    }
    if ds.binaries:
        doc["variableMeasured"] = [{"@type": "PropertyValue", "name": name} for name in (
            "Event label", "DATE/TIME", "Binary Object", "Binary Object (File Size)", "Binary Object (MD5 Hash)")]
    if ds.children:
        doc["hasPart"] = [f"https://doi.org/10.1594/PANGAEA.{n}" for n in ds.children]
    else:
        doc["size"] = {"@type": "QuantitativeValue", "value": ds.rows * 2, "unitText": "data points"}
    return doc


class Generated:
    """A file built on request: streamed chunked, no length, no validators, ranges ignored."""

    def __init__(self, body: bytes, media_type: str, filename: str) -> None:
        self.body, self.media_type, self.filename = body, media_type, filename

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        headers = [(b"content-type", self.media_type.encode()),
                   (b"content-disposition", f"attachment; filename={self.filename}".encode("latin-1")),
                   (b"cache-control", b"no-cache")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        if scope["method"] != "HEAD":
            for pos in range(0, len(self.body), CHUNK):
                await send({"type": "http.response.body", "body": self.body[pos:pos + CHUNK], "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


def _page(title: str, status: int = 200, extra: str = "") -> Response:
    return html_response(f"<!DOCTYPE html><html><head><title>{escape(title)}</title>{extra}</head><body><h1>"
                         f"{escape(title)}</h1></body></html>", status)


def _authorised(request: Request) -> bool:
    return request.headers.get("authorization", "") == f"Bearer {PANGAEA_TOKEN}"


def make_sites(world: World) -> dict[str, Any]:
    async def dataset(request: Request) -> Any:
        match = re.fullmatch(r"PANGAEA\.(\d{1,12})", request.path_params["name"], re.IGNORECASE)
        ds = pangaea_dataset(int(match.group(1))) if match else None
        if ds is None:
            return _page("PANGAEA - Data Publisher: dataset not found", 404)
        fmt = request.query_params.get("format", "html")
        if fmt == "metadata_jsonld":
            return json_response(jsonld(ds), media_type=JSONLD_TYPE)
        if fmt in ("textfile", "zip") and fmt == ("zip" if ds.children else "textfile"):
            if ds.restricted and not _authorised(request):
                return Response(b"Login required", 401, media_type="text/plain",
                                headers={"www-authenticate": 'Bearer realm="PANGAEA"'})
            media = "application/zip" if ds.children else "text/tab-separated-values;charset=UTF-8"
            return Generated(generated_bytes(ds), media, ds.filename)
        if fmt == "html":
            script = f'<script type="application/ld+json">{json.dumps(jsonld(ds))}</script>'
            return _page(ds.title, extra=script)
        return _page(f"Unsupported format: {fmt}", 400)

    async def home(request: Request) -> Response:
        return _page("PANGAEA - Data Publisher for Earth & Environmental Science")

    async def binary(request: Request) -> Any:
        ds = pangaea_dataset(int(request.path_params["number"]))
        wanted = request.path_params["name"]
        found = next((f for f in ds.binaries if f.key == wanted), None) if ds else None
        if found is None:
            return _page("File not found", 404)
        if not _authorised(request):
            return Response(b"Unauthorized: log in or send your PANGAEA bearer token", 401, media_type="text/plain",
                            headers={"www-authenticate": 'Bearer realm="PANGAEA"'})
        return EntityResponse(Entity(found.size, f'"{world.digest(found, "md5")}"', _STAMP, found.mimetype,
                                     lambda a, b: world.content(found, a, b), found.key))

    router = Router(routes=[Route("/10.1594/{name}", dataset, methods=["GET", "HEAD"]),
                            Route("/{rest:path}", home, methods=["GET"])])
    downloads = Router(routes=[Route("/dataset/{number:int}/files/{name:path}", binary, methods=["GET", "HEAD"])])
    return {HOST: router, DOWNLOAD_HOST: downloads}


__all__ = ["HOSTS", "Generated", "jsonld", "make_sites"]
