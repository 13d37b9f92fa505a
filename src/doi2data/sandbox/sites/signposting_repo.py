"""Two repositories with no API at all, reachable only through what their landing pages say.

* ``signposting.example.org``: FAIR Signposting only. Dataset 1 puts ``item`` links in the landing
  page's ``Link`` header (Level 1); dataset 2 advertises only linksets (Level 2), in both the JSON
  (``application/linkset+json``) and the text (``application/linkset``) form. Listings carry no sizes
  or checksums, so file responses send ``Repr-Digest: sha-256=:…:`` (RFC 9530) to verify against.
* ``jsonld.example.org``: schema.org JSON-LD only (``<script type='application/ld+json'>``, single
  quotes as Zenodo writes it): ``distribution`` of ``DataDownload`` with ``name``, ``contentSize``,
  ``encodingFormat``, ``sha256`` and a ``contentUrl`` that says nothing about the file name.

``/api/info/version`` and ``/api/records/<id>`` answer 404 here, as on any site that is neither
Dataverse nor InvenioRDM, so the resolver's API probe fails and the generic layers must do the work.
The DOIs (prefix 10.99999) are :data:`EXTERNAL` entries of the default world.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from html import escape
from typing import Literal
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, Router

from ..world import Creator, ExternalDataset, FileSpec, World
from .common import Entity, EntityResponse, html_response

SIGNPOSTING_HOST = "signposting.example.org"
JSONLD_HOST = "jsonld.example.org"
HOSTS = (SIGNPOSTING_HOST, JSONLD_HOST)
_PUBLISHED = datetime(2024, 6, 3, 8, 0, tzinfo=timezone.utc)
_PEOPLE = (Creator("Moreau", "Camille", "Example Institute"), Creator("Tanaka", "Hiro", "Example Institute"))


@dataclass(frozen=True)
class SiteDataset:
    doi: str
    url: str
    title: str
    style: Literal["level1", "level2", "jsonld"]
    files: tuple[FileSpec, ...]

    def file_url(self, index: int) -> str:
        spec = self.files[index]
        if self.style == "jsonld":
            return f"https://{JSONLD_HOST}/download?file={index + 1}"
        return f"{self.url}/files/{quote(spec.key)}"


def _text(key: str, words: str, mimetype: str = "text/plain") -> FileSpec:
    # an explicit seed: the world caches digests by seed, so every file needs its own
    return FileSpec(key, mimetype=mimetype, data=f"{words}\n".encode(), seed=f"generic:{key}:{words}")


SIGNPOSTING_L1 = SiteDataset(
    "10.99999/signposting.1", f"https://{SIGNPOSTING_HOST}/datasets/1", "Sandbox dataset found only by Signposting",
    "level1", (_text("README.txt", "Two runs; see data/."),
               _text("data/run 01.csv", "t;value\n0;1.5\n1;2.5", "text/csv"),
               FileSpec("data/frame.bin", 300_007, seed="signposting:1:frame")))
SIGNPOSTING_L2 = SiteDataset(
    "10.99999/signposting.2", f"https://{SIGNPOSTING_HOST}/datasets/2", "Sandbox dataset behind a Signposting linkset",
    "level2", (_text("notes.md", "# Notes\nListed only in the linkset.", "text/markdown"),
               FileSpec("cube.bin", 200_003, seed="signposting:2:cube")))
JSONLD = SiteDataset(
    "10.99999/jsonld.1", f"https://{JSONLD_HOST}/dataset/ab12cd", "Sandbox dataset described only in JSON-LD",
    "jsonld", (_text("table.csv", "a,b\n1,2\n3,4", "text/csv"),
               FileSpec("images/scan.tif", 250_001, "image/tiff", seed="jsonld:1:scan")))
DATASETS = (SIGNPOSTING_L1, SIGNPOSTING_L2, JSONLD)
EXTERNAL = [ExternalDataset(d.doi, d.url, d.title, _PEOPLE, "Example Institute", 2024, "example.nodata",
                            "Example Institute Repository") for d in DATASETS]


def _sha256_b64(world: World, spec: FileSpec) -> str:
    return base64.b64encode(bytes.fromhex(world.digest(spec, "sha256"))).decode()


def _link_header(ds: SiteDataset) -> str:
    links = [f'<https://doi.org/{ds.doi}> ; rel="cite-as"', '<https://schema.org/Dataset> ; rel="type"',
             '<https://creativecommons.org/licenses/by/4.0/> ; rel="license"']
    if ds.style == "level1":
        links += [f'<{ds.file_url(i)}> ; rel="item" ; type="{f.mimetype}"' for i, f in enumerate(ds.files)]
    else:
        links += [f'<{ds.url}/linkset.json> ; rel="linkset" ; type="application/linkset+json"',
                  f'<{ds.url}/linkset> ; rel="linkset" ; type="application/linkset"']
    return " , ".join(links)


def _linkset_json(ds: SiteDataset) -> dict[str, object]:
    landing = {"anchor": ds.url, "cite-as": [{"href": f"https://doi.org/{ds.doi}"}],
               "type": [{"href": "https://schema.org/Dataset"}],
               "item": [{"href": ds.file_url(i), "type": f.mimetype} for i, f in enumerate(ds.files)]}
    backlinks = [{"anchor": ds.file_url(i), "collection": [{"href": ds.url, "type": "text/html"}]}
                 for i in range(len(ds.files))]
    return {"linkset": [landing, *backlinks]}


def _linkset_text(ds: SiteDataset) -> str:
    lines = [f'<https://doi.org/{ds.doi}> ; rel="cite-as" ; anchor="{ds.url}"']
    lines += [f'<{ds.file_url(i)}> ; rel="item" ; type="{f.mimetype}" ; anchor="{ds.url}"'
              for i, f in enumerate(ds.files)]
    return ",\n".join(lines) + "\n"


def _json_ld(world: World, ds: SiteDataset) -> str:
    doc = {"@context": "https://schema.org", "@type": "Dataset", "@id": f"https://doi.org/{ds.doi}",
           "name": ds.title, "creator": [{"@type": "Person", "name": c.name} for c in _PEOPLE],
           "license": "https://creativecommons.org/licenses/by/4.0/", "datePublished": "2024-06-03",
           "distribution": [{"@type": "DataDownload", "name": f.key, "contentUrl": ds.file_url(i),
                             "contentSize": f.size, "encodingFormat": f.mimetype,
                             "sha256": world.digest(f, "sha256")} for i, f in enumerate(ds.files)]}
    return json.dumps(doc, ensure_ascii=False).replace("</", "<\\/")


def _landing(world: World, ds: SiteDataset) -> Response:
    head = f"<meta charset=\"utf-8\"><title>{escape(ds.title)}</title>"
    if ds.style == "jsonld":
        head += f"<script type='application/ld+json'>{_json_ld(world, ds)}</script>"
    body = (f"<!DOCTYPE html><html><head>{head}</head><body><h1>{escape(ds.title)}</h1>"
            f"<p>DOI {escape(ds.doi)}. Files are listed for machines only.</p></body></html>")
    return html_response(body, headers={} if ds.style == "jsonld" else {"link": _link_header(ds)})


def _serve(world: World, spec: FileSpec) -> EntityResponse:
    entity = Entity(size=spec.size, etag=f'"{world.digest(spec, "md5")}"', last_modified=_PUBLISHED,
                    content_type=spec.mimetype, filename=spec.key.rsplit("/", 1)[-1],
                    chunks=lambda start, end: world.content(spec, start, end))
    return EntityResponse(entity, {"repr-digest": f"sha-256=:{_sha256_b64(world, spec)}:"})


def make_app(world: World) -> Router:
    by_url = {d.url: d for d in DATASETS}

    def dataset(request: Request) -> SiteDataset | None:
        return by_url.get(f"https://{request.url.hostname}{request.url.path}".rstrip("/")
                          .removesuffix("/linkset.json").removesuffix("/linkset"))

    async def landing(request: Request) -> Response:
        ds = dataset(request)
        return _landing(world, ds) if ds else html_response("<h1>Not found</h1>", 404)

    async def linkset(request: Request) -> Response:
        ds = dataset(request)
        if ds is None or ds.style != "level2":
            return html_response("<h1>Not found</h1>", 404)
        if request.url.path.endswith(".json"):
            return Response(json.dumps(_linkset_json(ds)), media_type="application/linkset+json")
        return Response(_linkset_text(ds), media_type="application/linkset")

    async def item(request: Request) -> Response | EntityResponse:
        ds = by_url.get(f"https://{SIGNPOSTING_HOST}/datasets/{request.path_params['n']}")
        spec = next((f for f in ds.files if f.key == request.path_params["key"]), None) if ds else None
        return _serve(world, spec) if spec else html_response("<h1>Not found</h1>", 404)

    async def download(request: Request) -> Response | EntityResponse:
        number = request.query_params.get("file", "")
        index = int(number) - 1 if number.isdecimal() else -1
        return _serve(world, JSONLD.files[index]) if 0 <= index < len(JSONLD.files) \
            else html_response("<h1>Not found</h1>", 404)

    return Router(routes=[
        Route("/datasets/{n}", landing, methods=["GET"]),
        Route("/datasets/{n}/linkset.json", linkset, methods=["GET"]),
        Route("/datasets/{n}/linkset", linkset, methods=["GET"]),
        Route("/datasets/{n}/files/{key:path}", item, methods=["GET"]),
        Route("/dataset/{slug}", landing, methods=["GET"]),
        Route("/download", download, methods=["GET"]),
    ])


__all__ = ["DATASETS", "EXTERNAL", "HOSTS", "JSONLD", "JSONLD_HOST", "SIGNPOSTING_HOST", "SIGNPOSTING_L1",
           "SIGNPOSTING_L2", "SiteDataset", "make_app"]
