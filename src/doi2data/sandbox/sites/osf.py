"""OSF: api.osf.io (JSON:API v2), osf.io (landing pages, ``/download/<id>/``) and WaterButler (files.us.osf.io).

Mirrors ``shared/fixtures/recorded/osf`` (recorded-fixtures §6; captures of api.test.osf.io, 2026):
``/v2/nodes/<guid>/`` with ``relationships.files.links.related.href``; ``/v2/nodes/<guid>/files/``
lists the storage providers (not recorded; the documented ``kind: folder, name/provider: osfstorage``
item); ``…/files/osfstorage/[<folder id>/]`` lists ``type: files`` items sorted by name with
``attributes{guid, name, kind, path "/<id>[/]", size, provider, materialized_path, extra.hashes
{md5,sha256}, …}``, folders carrying ``relationships.files.links.related.href`` and files ``links
{info, move, upload, delete, download, render, html, self}``. Pages hold 10 items unless
``page[size]`` (at most 100) says otherwise, with ``links{first,last,prev,next,meta{total,per_page}}``
as recorded (``first``/``prev`` null on page 1). ``links.download`` (``osf.io/download/<guid or id>/``)
302s to WaterButler (``links.upload``), which serves the bytes with ranges. Missing ids are
``{"errors":[{"detail":"Not found."}]}`` 404. Registrations are not emulated (always 404).

Components (checked 2026-12-06; recorded ``nodes-4fjxr-children-page1.json``): ``/v2/nodes/<guid>/children/``
pages (10 per page) of child node documents, each with its own ``relationships.files`` and
``relationships.children``; :data:`PROJECT` has two components, one of them with a component of its
own (its files are only reachable through ``/children/``). Rate limits (developer.osf.io, "429 Too
Many Requests": unauthenticated 100/hour, authenticated 10,000/day; osf.io PR #6221):
:class:`OsfState` (see :func:`state`) counts ``api.osf.io`` requests per hour with and without a
bearer token and, past ``anonymous_budget`` / ``token_budget`` (off unless a test sets them),
answers Django REST framework's 429 ``{"errors": [{"detail": "Request was throttled. Expected
available in N seconds."}]}`` with ``Retry-After: N``.
"""

from __future__ import annotations

import time
from html import escape
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, Router

from ..data.common import hexid, http_stamp
from ..data.osf import OSF_NODE, OsfFile, OsfNode
from ..world import FileSpec, World
from .common import EntityResponse, html_response, json_response, redirect
from .storage import file_entity

API = "https://api.osf.io"
WATERBUTLER = "https://files.us.osf.io"
HOSTS = ("api.osf.io", "osf.io", "files.us.osf.io")
MEDIA = "application/vnd.api+json; charset=utf-8"
MAX_PAGE = 100
TOKEN = "sandbox-osf-personal-access-token"


def _spec(key: str, seed: str, text: str, mimetype: str = "text/plain") -> FileSpec:
    return FileSpec(key, mimetype=mimetype, data=f"{text}\n".encode(), seed=seed)


#: A project whose data sit in components (child nodes), one of them nested: what a listing that
#: ignores ``/children/`` silently leaves out.
PROJECT = OsfNode("sbxp1", "Sandbox multi-site study (OSF)", "2021-03-02T09:12:40.112233", files=(
    OsfFile(_spec("README.md", "osf:sbxp1:readme", "Data of each site live in its component.")),))
COMPONENTS: dict[str, tuple[OsfNode, ...]] = {
    "sbxp1": (
        OsfNode("sbxc1", "Site A data", "2021-03-03T10:00:00.000000", category="data", files=(
            OsfFile(_spec("site-a.csv", "osf:sbxc1:a", "station,value\nA1,3.5", "text/csv")),
            OsfFile(_spec("raw/a-2020.txt", "osf:sbxc1:raw", "raw site A")))),
        OsfNode("sbxc2", "Site B/C data", "2021-03-04T10:00:00.000000", category="data", files=(
            OsfFile(_spec("site-b.csv", "osf:sbxc2:b", "station,value\nB1,4.25", "text/csv")),))),
    "sbxc2": (
        OsfNode("sbxg1", "Calibration", "2021-03-05T10:00:00.000000", category="analysis", files=(
            OsfFile(_spec("calibration.json", "osf:sbxg1:cal", '{"gain": 1.02}', "application/json")),)),),
}


class OsfState:
    """Hourly request counts of api.osf.io, with and without a token (kept on the world)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.anonymous_budget: int | None = None   # requests per hour without a token (OSF: 100)
        self.token_budget: int | None = None       # with :data:`TOKEN` (OSF: 10,000 a day)
        self.throttled = 0
        self._hour = 0
        self._used = {False: 0, True: 0}

    def spend(self, authorization: str) -> Response | None:
        """Count one request; DRF's 429 once this hour's budget is spent."""
        now = time.time()
        if int(now // 3600) != self._hour:
            self._hour, self._used = int(now // 3600), {False: 0, True: 0}
        token = authorization == f"Bearer {TOKEN}"
        budget = self.token_budget if token else self.anonymous_budget
        self._used[token] += 1
        if budget is None or self._used[token] <= budget:
            return None
        self.throttled += 1
        wait = max(1, int(3600 - now % 3600))
        return json_response({"errors": [{"detail": f"Request was throttled. Expected available in {wait} seconds."}],
                              "meta": {"version": "2.0"}}, 429, media_type=MEDIA, headers={"retry-after": str(wait)})


def state(world: World) -> OsfState:
    found = getattr(world, "_osf_state", None)
    if not isinstance(found, OsfState):
        found = OsfState()
        world._osf_state = found  # type: ignore[attr-defined]
    return found


def _rel(href: str) -> dict[str, Any]:
    return {"links": {"related": {"href": href, "meta": {}}}}


def _missing() -> Response:
    return json_response({"errors": [{"detail": "Not found."}], "meta": {"version": "2.0"}}, 404, media_type=MEDIA)


def _doc(data: Any, links: dict[str, Any] | None = None) -> Response:
    return json_response({"data": data, **({"links": links} if links else {}), "meta": {"version": "2.0"}},
                         media_type=MEDIA)


def folder_id(node: OsfNode, path: str) -> str:
    """``raw/run1/`` -> a stable 24-hex folder id; ``""`` is the osfstorage root."""
    return hexid("osf-folder", node.guid, path)


def _parent(node: OsfNode, path: str) -> dict[str, Any]:
    parent = path.rstrip("/").rpartition("/")[0]
    pid = folder_id(node, f"{parent}/" if parent else "")
    return {**_rel(f"{API}/v2/files/{pid}/"), "data": {"id": pid, "type": "files"}}


def _common_rels(node: OsfNode) -> dict[str, Any]:
    me = f"{API}/v2/nodes/{node.guid}/"
    return {"node": {**_rel(me), "data": {"id": node.guid, "type": "nodes"}},
            "target": {"links": {"related": {"href": me, "meta": {"type": "nodes"}}},
                       "data": {"type": "nodes", "id": node.guid}}}


def file_item(world: World, node: OsfNode, f: OsfFile) -> dict[str, Any]:
    wb = f"{WATERBUTLER}/v1/resources/{node.guid}/providers/osfstorage/{f.id}"
    when = f"{node.created[:10]}T16:40:46.702872"
    download = f"https://osf.io/download/{f.guid or f.id}/"
    links = {"info": f"{API}/v2/files/{f.id}/", "move": wb, "upload": wb, "delete": wb, "download": download,
             "render": f"https://mfr.us.osf.io/render?url={download}%3Fdirect%26mode%3Drender",
             "html": f"https://osf.io/{node.guid}/files/osfstorage/{f.id}", "self": f"{API}/v2/files/{f.id}/"}
    if f.guid:
        links["iri"] = f"https://osf.io/{f.guid}"
    return {"id": f.id, "type": "files", "attributes": {
        "guid": f.guid, "checkout": None, "name": f.spec.key.rpartition("/")[2], "kind": "file", "path": f"/{f.id}",
        "size": f.spec.size, "provider": "osfstorage", "materialized_path": f"/{f.spec.key}", "last_touched": None,
        "date_modified": when, "date_created": f"{when}Z",
        "extra": {"hashes": {"md5": world.digest(f.spec), "sha256": world.digest(f.spec, "sha256")}, "downloads": 0},
        "tags": [], "current_user_can_comment": False, "current_version": 1, "show_as_unviewed": False},
        "relationships": {"parent_folder": _parent(node, f.spec.key),
                          "versions": _rel(f"{API}/v2/files/{f.id}/versions/"), **_common_rels(node)},
        "links": links}


def folder_item(node: OsfNode, path: str) -> dict[str, Any]:
    fid = folder_id(node, path)
    wb = f"{WATERBUTLER}/v1/resources/{node.guid}/providers/osfstorage/{fid}/"
    return {"id": fid, "type": "files", "attributes": {
        "guid": None, "checkout": None, "name": path.rstrip("/").rpartition("/")[2], "kind": "folder",
        "path": f"/{fid}/", "size": None, "provider": "osfstorage", "materialized_path": f"/{path}",
        "last_touched": None, "date_modified": None, "date_created": None,
        "extra": {"hashes": {"md5": None, "sha256": None}}, "tags": [], "current_user_can_comment": False,
        "current_version": 1, "show_as_unviewed": False},
        "relationships": {"parent_folder": _parent(node, path),
                          "files": _rel(f"{API}/v2/nodes/{node.guid}/files/osfstorage/{fid}/"), **_common_rels(node)},
        "links": {"info": f"{API}/v2/files/{fid}/", "move": wb, "upload": wb, "delete": wb,
                  "new_folder": f"{wb}?kind=folder", "self": f"{API}/v2/files/{fid}/"}}


def node_json(node: OsfNode) -> dict[str, Any]:
    me = f"{API}/v2/nodes/{node.guid}"
    rels = {name: _rel(f"{me}/{name}/") for name in ("children", "contributors", "files", "wikis", "forks",
                                                     "identifiers", "registrations", "logs", "storage")}
    rels["root"] = {**_rel(f"{me}/"), "data": {"id": node.guid, "type": "nodes"}}
    return {"id": node.guid, "type": "nodes", "attributes": {
        "title": node.title, "description": f"{node.title}.", "category": node.category, "custom_citation": None,
        "date_created": node.created, "date_modified": node.created, "registration": False, "preprint": False,
        "fork": False, "collection": False, "tags": [], "access_requests_enabled": True, "node_license": None,
        "current_user_can_comment": False, "current_user_permissions": ["read"],
        "current_user_is_contributor": False, "current_user_is_contributor_or_group_member": False,
        "wiki_enabled": True, "public": True, "subjects": []},
        "relationships": rels,
        "links": {"html": f"https://osf.io/{node.guid}/", "self": f"{me}/", "iri": f"https://osf.io/{node.guid}"}}


def make_sites(world: World) -> dict[str, Any]:
    st = state(world)
    nodes = {n.guid: n for n in (OSF_NODE, PROJECT, *(c for kids in COMPONENTS.values() for c in kids))}
    files = {key: (n, f) for n in nodes.values() for f in n.files for key in {f.id, f.guid} if key}
    folders = {folder_id(n, p): (n, p) for n in nodes.values() for p in ["", *n.folders()]}

    def children(node: OsfNode, path: str) -> list[dict[str, Any]]:
        subs = [p for p in node.folders() if p.startswith(path) and p[len(path):].count("/") == 1]
        mine = [f for f in node.files if f.spec.key.startswith(path) and "/" not in f.spec.key[len(path):]]
        items = [(p.rstrip("/").rpartition("/")[2], folder_item(node, p)) for p in subs]
        items += [(f.spec.key.rpartition("/")[2], file_item(world, node, f)) for f in mine]
        return [item for _, item in sorted(items, key=lambda pair: pair[0])]

    def paged(request: Request, url: str, items: list[dict[str, Any]]) -> Response:
        try:
            page = max(1, int(request.query_params.get("page") or 1))
            size = min(MAX_PAGE, max(1, int(request.query_params.get("page[size]") or 10)))
        except ValueError:
            return json_response({"errors": [{"detail": "Invalid page."}]}, 404, media_type=MEDIA)
        last = max(1, -(-len(items) // size))
        extra = f"&page%5Bsize%5D={size}" if "page[size]" in request.query_params else ""

        def link(n: int) -> str:
            return f"{url}?page={n}{extra}"

        links = {"first": link(1) if page > 1 else None, "last": link(last) if last > 1 else None,
                 "prev": link(page - 1) if page > 1 else None, "next": link(page + 1) if page < last else None,
                 "meta": {"total": len(items), "per_page": size}}
        return _doc(items[(page - 1) * size:page * size], links)

    async def node_doc(request: Request) -> Response:
        node = nodes.get(request.path_params["guid"].lower())
        return _doc(node_json(node)) if node else _missing()

    async def components(request: Request) -> Response:
        node = nodes.get(request.path_params["guid"].lower())
        if node is None:
            return _missing()
        return paged(request, f"{API}/v2/nodes/{node.guid}/children/",
                     [node_json(c) for c in COMPONENTS.get(node.guid, ())])

    async def providers(request: Request) -> Response:
        node = nodes.get(request.path_params["guid"].lower())
        if node is None:
            return _missing()
        me = f"{API}/v2/nodes/{node.guid}/files/"
        wb = f"{WATERBUTLER}/v1/resources/{node.guid}/providers/osfstorage/"
        item = {"id": f"{node.guid}:osfstorage", "type": "files",
                "attributes": {"kind": "folder", "name": "osfstorage", "path": "/", "node": node.guid,
                               "provider": "osfstorage"},
                "relationships": {"files": _rel(f"{me}osfstorage/"), **_common_rels(node)},
                "links": {"upload": wb, "new_folder": f"{wb}?kind=folder",
                          "storage_addons": f"{API}/v2/addons/?filter%5Bcategories%5D=storage"}}
        return paged(request, me, [item])

    async def listing(request: Request) -> Response:
        node = nodes.get(request.path_params["guid"].lower())
        fid = request.path_params.get("fid", "")
        found = folders.get(folder_id(node, "") if node and not fid else fid)
        if node is None or found is None or found[0] is not node:
            return _missing()
        url = f"{API}/v2/nodes/{node.guid}/files/osfstorage/" + (f"{fid}/" if fid else "")
        return paged(request, url, children(node, found[1]))

    async def file_doc(request: Request) -> Response:
        found = files.get(request.path_params["fid"])
        if found is not None:
            return _doc(file_item(world, *found))
        folder = folders.get(request.path_params["fid"])
        return _doc(folder_item(*folder)) if folder and folder[1] else _missing()

    async def api_missing(request: Request) -> Response:
        return _missing()

    async def download(request: Request) -> Response:
        found = files.get(request.path_params["fid"])
        if found is None:
            return html_response("<!DOCTYPE html><html><body><h1>Page not found</h1></body></html>", 404)
        node, f = found
        return redirect(f"{WATERBUTLER}/v1/resources/{node.guid}/providers/osfstorage/{f.id}"
                        "?action=download&direct&version=1", 302)

    async def landing(request: Request) -> Response:
        node = nodes.get(request.path_params["guid"].lower())
        if node is None:
            return html_response("<!DOCTYPE html><html><body><h1>Page not found</h1></body></html>", 404)
        return html_response(f"<!DOCTYPE html><html><head><title>OSF | {escape(node.title)}</title></head>"
                             f"<body><h1>{escape(node.title)}</h1></body></html>")

    async def waterbutler(request: Request) -> Any:
        found = files.get(request.path_params["fid"])
        if found is None or found[0].guid != request.path_params["guid"]:
            return json_response({"code": 404, "message": "Could not retrieve file or directory"}, 404)
        node, f = found
        return EntityResponse(file_entity(world, f.spec, http_stamp(node.created), request.scope,
                                          filename=f.spec.key.rpartition("/")[2]))

    get = ["GET"]
    api = Router(routes=[
        Route("/v2/nodes/{guid}/", node_doc, methods=get), Route("/v2/nodes/{guid}", node_doc, methods=get),
        Route("/v2/nodes/{guid}/children/", components, methods=get),
        Route("/v2/nodes/{guid}/files/", providers, methods=get),
        Route("/v2/nodes/{guid}/files/osfstorage/", listing, methods=get),
        Route("/v2/nodes/{guid}/files/osfstorage/{fid}/", listing, methods=get),
        Route("/v2/files/{fid}/", file_doc, methods=get),
        Route("/{rest:path}", api_missing, methods=get),
    ], redirect_slashes=False)
    www = Router(routes=[Route("/download/{fid}/", download, methods=get),
                         Route("/download/{fid}", download, methods=get),
                         Route("/{guid}/", landing, methods=get), Route("/{guid}", landing, methods=get)],
                 redirect_slashes=False)
    wb = Router(routes=[Route("/v1/resources/{guid}/providers/osfstorage/{fid}", waterbutler, methods=get)])
    async def api_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            auth = dict(scope.get("headers") or []).get(b"authorization", b"").decode("latin-1")
            if (refused := st.spend(auth)) is not None:
                await refused(scope, receive, send)
                return
        await api(scope, receive, send)

    return {"api.osf.io": api_app, "osf.io": www, "files.us.osf.io": wb}


__all__ = ["COMPONENTS", "HOSTS", "PROJECT", "TOKEN", "OsfState", "file_item", "folder_id", "folder_item", "make_sites",
           "node_json", "state"]
