"""Mendeley Data (``data.mendeley.com``) and the S3 bucket its downloads redirect to.

Wire formats, from client scripts that call the public API (no recording exists; research notes
recorded-fixtures §11): ``/public-api/datasets/<id>[?version=]`` (the dataset with ``version``,
``name``, ``data_licence``, ``contributors`` and the top folder's ``files``),
``/public-api/datasets/<id>/versions``, ``/public-api/datasets/<id>/folders/<n>`` (a flat list of
``{id, name, parent_id}``; top folders have no ``parent_id``) and ``/public-api/datasets/<id>/files
?folder_id=<id|root>&version=<n>`` (``[{filename, id, size, status, content_details: {id,
sha256_hash, content_type, size, created_date, download_url, view_url, download_expiry_time}}]``);
``files`` without ``folder_id`` is refused with ``{"error": 400}``. ``download_url`` is
``/public-files/datasets/<id>/files/<file id>/file_downloaded``, a 302 to a presigned S3 URL (as a
published wget log shows).

The awkward part: data.mendeley.com sits behind Cloudflare (its addresses are Cloudflare's) and
answers 403 with a challenge page to API and landing-page requests whose User-Agent does not start
like a browser's (``Mozilla/5.0``). Real reports say library defaults (``Python-urllib``, no
User-Agent) are refused; the emulator is stricter. The ``/public-files`` redirect is not filtered
here (a published HEAD with a script's User-Agent got its 302), so the engine downloads normally.
"""

from __future__ import annotations

from html import escape
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, Router

from ..data.common import http_stamp, uid
from ..data.mendeley import MENDELEY_DATASET, MENDELEY_STORAGE, MdDataset, MdVersion
from ..world import World
from .common import html_response, json_response, redirect
from .storage import SignedStorage, StoredObject

HOST = "data.mendeley.com"
HOSTS = (HOST, MENDELEY_STORAGE)
BROWSER_PREFIX = "Mozilla/5.0"


def looks_like_a_browser(request: Request) -> bool:
    return request.headers.get("user-agent", "").startswith(BROWSER_PREFIX)


def challenge() -> Response:
    """Cloudflare's block page, as a library User-Agent gets it."""
    body = ("<!DOCTYPE html><html><head><title>Attention Required! | Cloudflare</title></head><body>"
            "<h1>Sorry, you have been blocked</h1><p>You are unable to access data.mendeley.com</p></body></html>")
    return html_response(body, 403, headers={"server": "cloudflare", "cf-ray": "8c0ffee000000000-FRA"})


def folder_id(ds: MdDataset, version: int, path: str) -> str:
    return uid("mendeley-folder", ds.id, version, path)


def file_id(ds: MdDataset, version: int, key: str) -> str:
    return uid("mendeley-file", ds.id, version, key)


def content_id(ds: MdDataset, version: int, key: str) -> str:
    return uid("mendeley-content", ds.id, version, key)


def folders_json(ds: MdDataset, ver: MdVersion) -> list[dict[str, Any]]:
    out = []
    for path in ver.folders:
        parent, _, name = path.rpartition("/")
        item: dict[str, Any] = {"id": folder_id(ds, ver.number, path), "name": name}
        if parent:
            item["parent_id"] = folder_id(ds, ver.number, parent)
        out.append(item)
    return out


def file_json(world: World, ds: MdDataset, ver: MdVersion, key: str) -> dict[str, Any]:
    spec = next(f for f in ver.files if f.key == key)
    fid, cid = file_id(ds, ver.number, key), content_id(ds, ver.number, key)
    base = f"https://{HOST}/public-files/datasets/{ds.id}/files/{fid}"
    return {"filename": key.rpartition("/")[2], "id": fid, "size": spec.size, "status": "COMPLETED",
            "last_modified_date": ver.published,
            "content_details": {"id": cid, "sha256_hash": world.digest(spec, "sha256"),
                                "content_type": spec.mimetype, "size": spec.size, "created_date": ver.published,
                                "download_url": f"{base}/file_downloaded", "view_url": f"{base}/file_viewed",
                                "download_expiry_time": "2099-01-01T00:00:00.000Z"}}


def files_in(world: World, ds: MdDataset, ver: MdVersion, folder: str) -> list[dict[str, Any]]:
    return [file_json(world, ds, ver, f.key) for f in ver.files if f.key.rpartition("/")[0] == folder]


def dataset_json(world: World, ds: MdDataset, ver: MdVersion) -> dict[str, Any]:
    return {"id": ds.id, "doi": {"id": ds.doi(ver.number), "status": "REGISTERED"}, "name": ds.title,
            "description": f"<p>{escape(ds.title)}</p>", "version": ver.number, "publish_date": ver.published,
            "contributors": [{"first_name": c.given, "last_name": c.family} for c in ds.creators],
            "data_licence": {"url": "https://creativecommons.org/licenses/by/4.0/", "full_name":
                             "Creative Commons Attribution 4.0 International", "short_name": ds.licence},
            "categories": [], "institutions": [], "related_links": [], "files": files_in(world, ds, ver, "")}


def _missing() -> Response:
    return json_response({"message": "Not Found"}, 404)


def make_api(world: World) -> Router:
    datasets = {MENDELEY_DATASET.id: MENDELEY_DATASET}

    def find(request: Request, version: str | None) -> tuple[MdDataset, MdVersion] | None:
        ds = datasets.get(request.path_params["id"])
        if ds is None or (version is not None and not version.isdecimal()):
            return None
        ver = ds.version(int(version) if version else None)
        return (ds, ver) if ver else None

    async def dataset(request: Request) -> Response:
        found = find(request, request.query_params.get("version"))
        return json_response(dataset_json(world, *found)) if found else _missing()

    async def versions(request: Request) -> Response:
        ds = datasets.get(request.path_params["id"])
        if ds is None:
            return _missing()
        return json_response([{"version": v.number, "publish_date": v.published} for v in ds.versions])

    async def folders(request: Request) -> Response:
        found = find(request, request.path_params["version"])
        return json_response(folders_json(*found)) if found else _missing()

    async def files(request: Request) -> Response:
        wanted = request.query_params.get("folder_id")
        if not wanted:
            return json_response({"error": 400}, 400)
        found = find(request, request.query_params.get("version"))
        if found is None:
            return _missing()
        ds, ver = found
        paths = {folder_id(ds, ver.number, p): p for p in ver.folders} | {"root": ""}
        if wanted not in paths:
            return _missing()
        return json_response(files_in(world, ds, ver, paths[wanted]))

    return Router(routes=[
        Route("/public-api/datasets/{id}", dataset, methods=["GET"]),
        Route("/public-api/datasets/{id}/versions", versions, methods=["GET"]),
        Route("/public-api/datasets/{id}/folders/{version}", folders, methods=["GET"]),
        Route("/public-api/datasets/{id}/files", files, methods=["GET"]),
    ])


def make_sites(world: World) -> dict[str, Any]:
    ds = MENDELEY_DATASET
    storage = SignedStorage(world, MENDELEY_STORAGE)
    by_file: dict[str, str] = {}
    for ver in ds.versions:
        for spec in ver.files:
            cid = content_id(ds, ver.number, spec.key)
            by_file[file_id(ds, ver.number, spec.key)] = cid
            storage.put(cid, StoredObject(spec, http_stamp(ver.published), spec.key.rpartition("/")[2]))
    api = make_api(world)

    async def downloaded(request: Request) -> Response:
        cid = by_file.get(request.path_params["fid"])
        if request.path_params["id"] != ds.id or cid is None:
            return _missing()
        return redirect(storage.presign(cid), 302)

    async def landing(request: Request) -> Response:
        segs = [s for s in request.url.path.split("/") if s]
        known = len(segs) >= 2 and segs[1] == ds.id
        return html_response(f"<!DOCTYPE html><html><head><title>{escape(ds.title)}</title></head><body>"
                             f"<h1>{escape(ds.title)}</h1></body></html>" if known else "Not found", 200 if known
                             else 404)

    async def site(scope: dict[str, Any], receive: Any, send: Any) -> None:
        request = Request(scope, receive)
        path = request.url.path
        if path.startswith("/public-files/"):
            await files_router(scope, receive, send)
        elif not looks_like_a_browser(request):
            await challenge()(scope, receive, send)
        elif path.startswith("/public-api/"):
            await api(scope, receive, send)
        else:
            await pages(scope, receive, send)

    files_router = Router(routes=[Route("/public-files/datasets/{id}/files/{fid}/file_downloaded", downloaded,
                                        methods=["GET"])])
    pages = Router(routes=[Route("/{rest:path}", landing, methods=["GET"])])
    return {HOST: site, MENDELEY_STORAGE: storage.app()}


__all__ = ["BROWSER_PREFIX", "HOSTS", "challenge", "content_id", "dataset_json", "file_id", "file_json",
           "files_in", "folder_id", "folders_json", "looks_like_a_browser", "make_api", "make_sites"]
