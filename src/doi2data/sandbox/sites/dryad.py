"""datadryad.org: the v2 API (HAL+JSON), downloads via presigned S3 redirects, and landing pages.

Shapes follow Dryad's official examples in ``shared/fixtures/recorded/dryad`` (recorded-fixtures §7;
no live capture of these three endpoints exists): ``/api/v2/datasets/<doi:… percent-encoded>`` with
``_links{self, stash:versions, stash:version, stash:download, curies}`` and ``storageSize``,
``identifier``, ``versionNumber``, ``curationStatus``, ``visibility``, ``sharingLink`` …;
``/versions`` and ``/api/v2/versions/<id>`` ; ``/api/v2/versions/<id>/files`` paged by ``?page=``
with ``count``/``total`` and ``_links.first/last/next/prev``, files with ``path, size, mimeType,
status, digest, digestType`` (md5, sha-256 or absent) and ``stash:download`` = ``/api/v2/downloads/<id>``.
Both ``/api/v2/downloads/<id>`` and the older ``/api/v2/files/<id>/download`` 302 to S3, whose final
200 carries ``ETag`` = md5 and ``x-amz-meta-sha256`` (``files-61858-download-final-S3-response``).
Pages hold :data:`PER_PAGE` files unless ``per_page`` says otherwise (small, so paging is exercised).
"""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, Router

from ..general import (DRYAD_DATASET, DRYAD_STORAGE, DryadDataset, DryadFile, DryadVersion, SignedStorage,
                       StoredObject, http_stamp)
from ..world import World
from .common import html_response, json_response, redirect

HOSTS = ("datadryad.org", DRYAD_STORAGE)
PER_PAGE = 3
_CURIES = [{"name": "stash", "href": "https://github.com/datadryad/dryad-app/blob/main/documentation/apis/"
                                     "link_relations.md#{rel}", "templated": "true"}]


def _enc(doi: str) -> str:
    return quote(f"doi:{doi}", safe="")


def _missing() -> Response:
    return json_response({"error": "not-found"}, 404, media_type="application/hal+json")


def _hal(doc: dict[str, Any]) -> Response:
    return json_response(doc, media_type="application/hal+json")


def _authors(ds: DryadDataset) -> list[dict[str, Any]]:
    return [{"firstName": c.given, "lastName": c.family, "email": None, "affiliation": c.affiliation,
             "orcid": c.orcid} for c in ds.creators]


def dataset_json(ds: DryadDataset) -> dict[str, Any]:
    latest = ds.versions[-1]
    self_url = f"/api/v2/datasets/{_enc(ds.doi)}"
    return {
        "_links": {"self": {"href": self_url}, "stash:versions": {"href": f"{self_url}/versions"},
                   "stash:version": {"href": f"/api/v2/versions/{latest.id}"},
                   "stash:download": {"href": f"{self_url}/download"}, "curies": _CURIES},
        "identifier": f"doi:{ds.doi}", "id": ds.id,
        "storageSize": sum(f.spec.size for f in latest.files if f.status != "deleted"), "title": ds.title,
        "authors": _authors(ds), "abstract": f"<p>{escape(ds.title)}.</p>", "keywords": ["sandbox"],
        "versionNumber": latest.number, "versionStatus": "submitted", "curationStatus": "Published",
        "versionChanges": "files_changed", "publicationDate": ds.versions[0].date,
        "lastModificationDate": latest.date, "visibility": "public", "sharingLink": ds.landing_url,
        "license": "https://spdx.org/licenses/CC0-1.0.html",
    }


def version_json(ds: DryadDataset, ver: DryadVersion) -> dict[str, Any]:
    me = f"/api/v2/versions/{ver.id}"
    return {"_links": {"self": {"href": me}, "stash:dataset": {"href": f"/api/v2/datasets/{_enc(ds.doi)}"},
                       "stash:files": {"href": f"{me}/files"}, "stash:download": {"href": f"{me}/download"},
                       "curies": _CURIES},
            "title": ds.title, "authors": _authors(ds), "abstract": f"<p>{escape(ds.title)}.</p>",
            "lastModificationDate": ver.date, "versionNumber": ver.number, "versionStatus": "submitted",
            "curationStatus": "Published", "publicationDate": ver.date, "visibility": "public",
            "license": "https://spdx.org/licenses/CC0-1.0.html"}


def file_json(world: World, ds: DryadDataset, ver: DryadVersion, f: DryadFile) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "_links": {"self": {"href": f"/api/v2/files/{f.id}"},
                   "stash:dataset": {"href": f"/api/v2/datasets/{_enc(ds.doi)}"},
                   "stash:version": {"href": f"/api/v2/versions/{ver.id}"},
                   "stash:files": {"href": f"/api/v2/versions/{ver.id}/files"},
                   "stash:download": {"href": f"/api/v2/downloads/{f.id}"}, "curies": _CURIES},
        "path": f.spec.key, "size": f.spec.size, "mimeType": f.spec.mimetype, "status": f.status,
    }
    if f.digest_type:
        doc["digest"] = world.digest(f.spec, "md5" if f.digest_type == "md5" else "sha256")
        doc["digestType"] = f.digest_type
    return doc


def files_page(world: World, ds: DryadDataset, ver: DryadVersion, page: int, per_page: int) -> dict[str, Any]:
    me = f"/api/v2/versions/{ver.id}/files"
    last = max(1, -(-len(ver.files) // per_page))
    size = "" if per_page == PER_PAGE else f"&per_page={per_page}"
    links: dict[str, Any] = {"self": {"href": f"{me}?page={page}{size}" if page > 1 else me},
                             "first": {"href": me if not size else f"{me}?page=1{size}"},
                             "last": {"href": f"{me}?page={last}{size}"}}
    if page > 1:
        links["prev"] = {"href": f"{me}?page={page - 1}{size}"}
    if page < last:
        links["next"] = {"href": f"{me}?page={page + 1}{size}"}
    chunk = ver.files[(page - 1) * per_page:page * per_page]
    return {"_links": links, "count": len(chunk), "total": len(ver.files),
            "_embedded": {"stash:files": [file_json(world, ds, ver, f) for f in chunk]}}


def make_sites(world: World) -> dict[str, Any]:
    ds = DRYAD_DATASET
    storage = SignedStorage(world, DRYAD_STORAGE)
    versions = {str(v.id): v for v in ds.versions}
    files = {str(f.id): (v, f) for v in ds.versions for f in v.files}
    for ver, f in files.values():
        storage.put(f"v3/{ds.id}/{f.id}/{f.spec.key}", StoredObject(
            f.spec, http_stamp(ver.date), f.spec.key, {"x-amz-meta-sha256": world.digest(f.spec, "sha256")}))

    async def datasets(request: Request) -> Response:
        rest = request.path_params["rest"]  # uvicorn has decoded %3A and %2F
        target, sub = (rest[:-len("/versions")], "versions") if rest.endswith("/versions") else (rest, "")
        if target.lower() != f"doi:{ds.doi}".lower():
            return _missing()
        if sub:
            return _hal({"_links": {"self": {"href": f"/api/v2/datasets/{_enc(ds.doi)}/versions"}},
                         "count": len(ds.versions), "total": len(ds.versions),
                         "_embedded": {"stash:versions": [version_json(ds, v) for v in ds.versions]}})
        return _hal(dataset_json(ds))

    async def version(request: Request) -> Response:
        ver = versions.get(request.path_params["vid"])
        return _hal(version_json(ds, ver)) if ver else _missing()

    async def version_files(request: Request) -> Response:
        ver = versions.get(request.path_params["vid"])
        try:
            page = int(request.query_params.get("page") or 1)
            per_page = min(100, max(1, int(request.query_params.get("per_page") or PER_PAGE)))
        except ValueError:
            return json_response({"error": "bad page"}, 400)
        if ver is None or page < 1:
            return _missing()
        return _hal(files_page(world, ds, ver, page, per_page))

    async def file_doc(request: Request) -> Response:
        found = files.get(request.path_params["fid"])
        return _hal(file_json(world, ds, *found)) if found else _missing()

    async def download(request: Request) -> Response:
        found = files.get(request.path_params["fid"])
        if found is None or found[1].status == "deleted":
            return _missing()
        f = found[1]
        return redirect(storage.presign(f"v3/{ds.id}/{f.id}/{f.spec.key}"), 302)

    async def landing(request: Request) -> Response:
        if request.path_params["doi"].lower() != ds.doi.lower():
            return html_response("<!DOCTYPE html><html><body><h1>Not found</h1></body></html>", 404)
        items = "".join(f"<li>{escape(f.spec.key)}</li>" for f in ds.versions[-1].files if f.status != "deleted")
        return html_response(f"<!DOCTYPE html><html><head><title>{escape(ds.title)} | Dryad</title></head><body>"
                             f"<h1>{escape(ds.title)}</h1><ul>{items}</ul></body></html>")

    async def stash(request: Request) -> Response:
        return redirect(f"https://datadryad.org/dataset/{request.path_params['rest']}", 301)

    async def other(request: Request) -> Response:
        return _missing()

    get = ["GET"]
    app = Router(routes=[
        Route("/api/v2/datasets/{rest:path}", datasets, methods=get),
        Route("/api/v2/versions/{vid}", version, methods=get),
        Route("/api/v2/versions/{vid}/files", version_files, methods=get),
        Route("/api/v2/files/{fid}", file_doc, methods=get),
        Route("/api/v2/files/{fid}/download", download, methods=get),
        Route("/api/v2/downloads/{fid}", download, methods=get),
        Route("/dataset/doi:{doi:path}", landing, methods=get),
        Route("/stash/dataset/{rest:path}", stash, methods=get),
        Route("/{rest:path}", other, methods=get),
    ])
    return {"datadryad.org": app, DRYAD_STORAGE: storage.app()}


__all__ = ["HOSTS", "PER_PAGE", "dataset_json", "file_json", "files_page", "make_sites", "version_json"]
