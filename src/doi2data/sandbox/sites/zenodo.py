"""zenodo.org (and www.zenodo.org, which 301s to it): landing pages, REST API and file content.

Routes mirror the live service: ``/records/<id>`` landing HTML with FAIR Signposting ``Link``
and schema.org JSON-LD; ``/record/<id>`` -> 301; ``/api/records/<id>`` in the record's shape (a
concept id 301s to the latest version); ``/files``, ``/files/<key>``, ``/files/<key>/content``;
legacy ``/api/files/<bucket>/<key>``. Keys arrive raw (``/`` kept) or ``%2F``-encoded - uvicorn
decodes both to the same path. API responses carry ``X-RateLimit-*`` like the recordings.

As of 2026 (checked 2026-12-06; sources in :mod:`doi2data.adapters.invenio`): ``/versions`` is a
records search: pages of ``size`` hits (default 10; more than :data:`GUEST_PAGE_MAX` without a
token is a 400, as Zenodo answers since 2025-11-14), and :class:`ZenodoState` (see :func:`state`)
can cap search requests per window (``search_limit``, off unless a test sets it; Zenodo: 30/min)
with a 429 and ``X-RateLimit-*``/``Retry-After``. ``state.pending`` marks files whose upload or
remote fetch is unfinished: the record then lists its files through ``/files`` only (as records
whose entries are not inline do), where those entries carry ``status: pending`` and no checksum,
and their content is a 404 until they complete.
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from datetime import datetime, timedelta
from html import escape
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, Router

from ..middleware import site_flags
from ..world import FileSpec, Record, World
from .common import Entity, EntityResponse, html_response, json_response, redirect
from .zenodo_json import BASE, error_json, files_entry, files_json, key_url, record_json, versions_json

HOSTS = ("zenodo.org",)
GUEST_PAGE_MAX = 25


class ZenodoState:
    """Settings tests change: unfinished files, the search rate (kept on the world)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.pending: dict[str, dict[str, str]] = {}   # recid -> {key: status}
        self.search_limit: tuple[int, float] | None = None  # (requests, seconds) for /versions
        self.searches: list[float] = []
        self.throttled = 0
        self.too_large = 0

    def search(self) -> Response | None:
        """Count one search request; a 429 past ``search_limit`` in the sliding window."""
        now = time.time()
        self.searches.append(now)
        if self.search_limit is None:
            return None
        count, seconds = self.search_limit
        recent = [t for t in self.searches if t > now - seconds]
        if len(recent) <= count:
            return None
        self.throttled += 1
        wait = max(1, int(seconds))
        return json_response(error_json(429, f"{count} per {seconds:g} second"), 429, headers={
            "x-ratelimit-limit": str(count), "x-ratelimit-remaining": "0",
            "x-ratelimit-reset": str(int(now) + wait), "retry-after": str(wait)})


def state(world: World) -> ZenodoState:
    found = getattr(world, "_zenodo_state", None)
    if not isinstance(found, ZenodoState):
        found = ZenodoState()
        world._zenodo_state = found  # type: ignore[attr-defined]
    return found
NO_PID = "The persistent identifier does not exist."
FORBIDDEN = ("You don't have the permission to access the requested resource. "
             "It is either read-protected or not readable by the server.")
_DESCRIBEDBY = ("application/dcat+xml", "application/json", "application/ld+json",
                "application/vnd.datacite.datacite+json", "application/vnd.datacite.datacite+xml",
                "application/vnd.inveniordm.v1+json", "application/x-bibtex")


def _not_found(message: str = NO_PID) -> Response:
    return json_response(error_json(404, message), 404)


def _entity(world: World, rec: Record, spec: FileSpec, changed: bool) -> Entity:
    variant = 1 if changed else 0
    stamp = datetime.fromisoformat(rec.created) + (timedelta(days=1) if changed else timedelta())
    return Entity(size=spec.size, etag=f'"{world.digest(spec, "md5", variant)}"', last_modified=stamp,
                  content_type=spec.mimetype, filename=spec.key,
                  chunks=lambda start, end: world.content(spec, start, end, variant))


def _landing_links(rec: Record) -> str:
    api = f"{BASE}/api/records/{rec.recid}"
    links = [f'<https://orcid.org/{c.orcid}> ; rel="author"' for c in rec.creators if c.orcid]
    links.append(f'<https://doi.org/{rec.doi}> ; rel="cite-as"')
    links += [f'<{api}> ; rel="describedby" ; type="{t}"' for t in _DESCRIBEDBY]
    if rec.access == "open":
        links += [f'<{BASE}/records/{rec.recid}/files/{key_url(f.key)}> ; rel="item" ; type="{f.mimetype}"'
                  for f in rec.files]
    links += [f'<https://spdx.org/licenses/{rec.license.upper()}> ; rel="license"',
              '<https://schema.org/Dataset> ; rel="type"', '<https://schema.org/AboutPage> ; rel="type"',
              f'<{api}> ; rel="linkset" ; type="application/linkset+json"']
    return " , ".join(links)


def _json_ld(rec: Record) -> str:
    people = [{"@type": "Person", "name": c.name, "givenName": c.given, "familyName": c.family,
               "affiliation": [{"@type": "Organization", "name": c.affiliation}],
               **({"@id": f"https://orcid.org/{c.orcid}"} if c.orcid else {})} for c in rec.creators]
    doc: dict[str, Any] = {
        "@context": "http://schema.org", "@id": f"https://doi.org/{rec.doi}", "@type": "https://schema.org/Dataset",
        "author": people, "creator": people, "datePublished": rec.publication_date,
        "identifier": f"https://doi.org/{rec.doi}", "name": rec.title,
        "publisher": {"@type": "Organization", "name": "Zenodo"}, "url": f"{BASE}/records/{rec.recid}",
        "size": f"{sum(f.size for f in rec.files) / 1e6:.2f} MB",
    }
    if rec.version:
        doc["version"] = rec.version
    if rec.access == "open":
        doc["distribution"] = [{"@type": "DataDownload", "encodingFormat": f.mimetype,
                                "contentUrl": f"{BASE}/api/records/{rec.recid}/files/{key_url(f.key)}/content"}
                               for f in rec.files]
    return json.dumps(doc, ensure_ascii=False).replace("</", "<\\/")


def landing_page(rec: Record) -> Response:
    items = "".join(f'<li><a href="/records/{rec.recid}/files/{key_url(f.key)}?download=1">{escape(f.key)}</a>'
                    f" ({f.size} bytes)</li>" for f in rec.files)
    body = (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{escape(rec.title)}</title>"
            f"<meta name=\"citation_doi\" content=\"{rec.doi}\"><meta name=\"citation_title\" "
            f"content=\"{escape(rec.title)}\"><script type='application/ld+json'>{_json_ld(rec)}</script></head>"
            f"<body><h1>{escape(rec.title)}</h1><p>DOI: <a href=\"https://doi.org/{rec.doi}\">{rec.doi}</a></p>"
            f"<p>Access: {rec.access}</p><ul class=\"files\">{items}</ul></body></html>")
    return html_response(body, headers={"link": _landing_links(rec)})


def zip_archive(world: World, rec: Record) -> bytes:
    """``/files-archive``: every file, stored uncompressed under its key (hostile names included)."""
    buffer = io.BytesIO()
    stamp = datetime.fromisoformat(rec.created).timetuple()[:6]
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for spec in rec.files:
            archive.writestr(zipfile.ZipInfo(spec.key, stamp), world.read(spec))
    return buffer.getvalue()


def make_app(world: World) -> Any:
    """The zenodo.org site, wrapped so API responses carry rate-limit headers."""
    st = state(world)

    def lookup(recid: str, suffix: str = "", api: bool = True) -> Record | Response:
        rec = world.record(recid)
        if rec is not None:
            return rec
        if world.is_concept(recid):
            latest = world.latest(recid)
            assert latest is not None
            return redirect(f"{BASE}{'/api' if api else ''}/records/{latest.recid}{suffix}", 301 if api else 302)
        return _not_found() if api else html_response("<h1>Not found</h1>", 404)

    def serve(request: Request, rec: Record, key: str) -> Any:
        spec = rec.file(key)
        if spec is None:
            return _not_found(f"Record '{rec.recid}' has no file '{key}'.")
        if rec.access != "open":
            return json_response(error_json(403, FORBIDDEN), 403)
        if key in st.pending.get(rec.recid, {}):
            return _not_found(f"File '{key}' of record '{rec.recid}' is not available yet.")
        return EntityResponse(_entity(world, rec, spec, site_flags(request.scope).change))

    async def api_record(request: Request) -> Response:
        found = lookup(request.path_params["recid"])
        if isinstance(found, Response):
            return found
        doc = record_json(world, found)
        if found.recid in st.pending and isinstance(doc.get("files"), list):
            doc["files"] = {"enabled": True, "count": len(found.files)}  # entries only via /files
        return json_response(doc)

    async def api_files(request: Request) -> Response:
        found = lookup(request.path_params["recid"], "/files")
        if isinstance(found, Response):
            return found
        if found.access != "open":
            return json_response(error_json(403, FORBIDDEN), 403)
        return json_response(files_json(world, found, st.pending.get(found.recid)))

    async def api_file(request: Request) -> Response:
        key = request.path_params["key"]
        found = lookup(request.path_params["recid"], f"/files/{key_url(key)}")
        if isinstance(found, Response):
            return found
        spec = found.file(key)
        if spec is None:
            return _not_found(f"Record '{found.recid}' has no file '{key}'.")
        return json_response(files_entry(world, found, spec))

    async def content(request: Request) -> Any:
        key = request.path_params["key"]
        found = lookup(request.path_params["recid"], f"/files/{key_url(key)}/content")
        return found if isinstance(found, Response) else serve(request, found, key)

    async def landing_file(request: Request) -> Any:
        key = request.path_params["key"]
        found = lookup(request.path_params["recid"], f"/files/{key_url(key)}", api=False)
        return found if isinstance(found, Response) else serve(request, found, key)

    async def bucket_file(request: Request) -> Any:
        rec = next((r for r in world.records if r.bucket == request.path_params["bucket"]), None)
        if rec is None:
            return _not_found("Bucket does not exist.")
        if rec.file(request.path_params["key"]) is None:
            return _not_found("Object does not exists.")
        return serve(request, rec, request.path_params["key"])

    async def archive(request: Request) -> Response:
        found = lookup(request.path_params["recid"], "/files-archive")
        if isinstance(found, Response):
            return found
        if found.access != "open":
            return json_response(error_json(403, FORBIDDEN), 403)
        return Response(zip_archive(world, found), media_type="application/zip",
                        headers={"content-disposition": f'attachment; filename="{found.recid}.zip"'})

    async def api_missing(request: Request) -> Response:
        return _not_found("The requested URL was not found on the server. If you entered the URL manually "
                          "please check your spelling and try again.")

    async def versions(request: Request) -> Response:
        found = lookup(request.path_params["recid"], "/versions")
        if isinstance(found, Response):
            return found
        if (limited := st.search()) is not None:
            return limited
        try:
            page = max(1, int(request.query_params.get("page") or 1))
            size = max(1, int(request.query_params.get("size") or 10))
        except ValueError:
            return json_response(error_json(400, "Invalid pagination parameters."), 400)
        if size > GUEST_PAGE_MAX and "authorization" not in request.headers:
            st.too_large += 1
            return json_response(error_json(400, f"Page size cannot be greater than {GUEST_PAGE_MAX}."), 400)
        return json_response(versions_json(world, found, page, size))

    async def latest(request: Request) -> Response:
        rid = request.path_params["recid"]
        rec = world.record(rid)
        newest = world.latest(rec.concept_recid if rec else rid)
        return redirect(f"{BASE}/api/records/{newest.recid}", 302) if newest else _not_found()

    async def landing(request: Request) -> Response:
        found = lookup(request.path_params["recid"], api=False)
        return found if isinstance(found, Response) else landing_page(found)

    async def old_landing(request: Request) -> Response:
        return redirect(f"{BASE}/records/{request.path_params['rest']}", 301)

    async def doi_landing(request: Request) -> Response:
        pid = world.doi(request.path_params["doi"])
        rid = pid.record.recid if pid and pid.record else pid.concept_of if pid else None
        return redirect(f"{BASE}/records/{rid}", 302) if rid else html_response("<h1>Not found</h1>", 404)

    async def home(request: Request) -> Response:
        return html_response("<!DOCTYPE html><html><head><title>Zenodo</title></head><body>Zenodo</body></html>")

    get = ["GET"]
    router = Router(routes=[
        Route("/", home, methods=get),
        Route("/api/records/{recid}", api_record, methods=get),
        Route("/api/records/{recid}/files", api_files, methods=get),
        Route("/api/records/{recid}/files/{key:path}/content", content, methods=get),
        Route("/api/records/{recid}/files/{key:path}", api_file, methods=get),
        Route("/api/records/{recid}/versions", versions, methods=get),
        Route("/api/records/{recid}/versions/latest", latest, methods=get),
        Route("/api/records/{recid}/files-archive", archive, methods=get),
        Route("/api/files/{bucket}/{key:path}", bucket_file, methods=get),
        Route("/api/{rest:path}", api_missing, methods=get),
        Route("/records/{recid}", landing, methods=get),
        Route("/records/{recid}/files/{key:path}", landing_file, methods=get),
        Route("/record/{rest:path}", old_landing, methods=get),
        Route("/doi/{doi:path}", doi_landing, methods=get),
    ])
    return RateLimitHeaders(router)


class RateLimitHeaders:
    """Adds Zenodo's ``X-RateLimit-*`` (and its ever-present ``Retry-After``) to API responses."""

    LIMIT = 133

    def __init__(self, app: Any) -> None:
        self.app, self.window, self.count = app, 0, 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        now = int(time.time())
        if now // 60 != self.window:
            self.window, self.count = now // 60, 0
        self.count += 1
        reset = (self.window + 1) * 60
        extra = [(b"x-ratelimit-limit", str(self.LIMIT).encode()),
                 (b"x-ratelimit-remaining", str(max(0, self.LIMIT - self.count)).encode()),
                 (b"x-ratelimit-reset", str(reset).encode()), (b"retry-after", str(reset - now).encode())]

        async def send_with_limits(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_limits)


def make_www_app(world: World) -> Any:
    """www.zenodo.org: 301 to the same path on zenodo.org (empty body, as recorded)."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        query = scope.get("query_string", b"").decode("latin-1")
        target = BASE + scope.get("raw_path", scope["path"].encode()).decode("latin-1") + (f"?{query}" if query else "")
        await redirect(target, 301)(scope, receive, send)

    return app


WWW_HOSTS = ("www.zenodo.org",)

__all__ = ["GUEST_PAGE_MAX", "HOSTS", "WWW_HOSTS", "RateLimitHeaders", "ZenodoState", "landing_page", "make_app",
           "make_www_app", "state"]
