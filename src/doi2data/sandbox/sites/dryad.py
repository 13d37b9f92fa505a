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

Access rules as of 2026 (checked 2026-12-06: datadryad.org/api/v2/docs, "Anonymous users of the API
are limited to 30 requests per minute, and are not allowed to download data files"; API accounts
"up to 240 requests per minute" and "Download data files"; dryad-app ``documentation/apis/
api_accounts.md``, ``retrying_expired.md``): :class:`DryadState` (on the world, see :func:`state`)
holds the API accounts (:data:`CLIENT_ID` / :data:`CLIENT_SECRET`). ``POST /oauth/token``
(form-encoded or HTTP Basic client authentication, ``grant_type=client_credentials``) answers
Doorkeeper's ``{"access_token", "token_type": "Bearer", "expires_in", "created_at"}``, or 401
``invalid_client``. Tokens expire after ``state.ttl`` seconds (36,000 as on Dryad; tests shorten
it) or when revoked; any ``/api`` request with an unknown or expired bearer token is 401
``invalid_token`` (so is a listing: clients must renew, or drop the token). File downloads
(``/api/v2/downloads/<id>``, ``/api/v2/files/<id>/download``) without a token are 401: only the
listing is anonymous. ``state.anonymous_limit`` (per minute, off unless a test sets it) answers
429 with Rack::Attack's ``RateLimit-*`` headers (``rack_attack.rb``) past that many anonymous API
requests; the shapes of the 401 bodies are assumed (Doorkeeper's defaults), not recorded.
"""

from __future__ import annotations

import base64
import secrets
import time
from html import escape
from typing import Any
from urllib.parse import parse_qsl, quote, unquote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, Router

from ..data.common import http_stamp
from ..data.dryad import DRYAD_DATASET, DRYAD_STORAGE, DryadDataset, DryadFile, DryadVersion
from ..world import World
from .common import html_response, json_response, redirect
from .storage import SignedStorage, StoredObject

HOSTS = ("datadryad.org", DRYAD_STORAGE)
PER_PAGE = 3
CLIENT_ID = "sandbox-dryad-application-id"
CLIENT_SECRET = "sandbox-dryad-secret-5f0c"
TOKEN_TTL = 36_000
ANONYMOUS_DOWNLOAD = ("Downloading data files requires an API account: "
                      "https://datadryad.org/api/v2/docs (API accounts)")


class DryadState:
    """API accounts, issued tokens and counters of the Dryad emulator (kept on the world)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.accounts: dict[str, str] = {CLIENT_ID: CLIENT_SECRET}
        self.ttl: float = TOKEN_TTL
        self.tokens: dict[str, float] = {}     # token -> expiry (time.time())
        self.exchanges = 0                     # successful token grants
        self.refused_exchanges = 0
        self.refused_downloads = 0             # anonymous download attempts
        self.bad_tokens = 0                    # requests with an unknown/expired token
        self.authorized: list[str] = []        # paths served to a valid token
        self.anonymous_limit: int | None = None
        self._window, self._count = 0, 0

    def grant(self) -> dict[str, Any]:
        token = secrets.token_urlsafe(32)
        self.tokens[token] = time.time() + self.ttl
        self.exchanges += 1
        return {"access_token": token, "token_type": "Bearer", "expires_in": int(self.ttl) if self.ttl >= 1 else self.ttl,
                "created_at": int(time.time())}

    def revoke_all(self) -> None:
        self.tokens.clear()

    def check(self, authorization: str | None) -> bool | None:
        """True: a valid token; None: no token; False: a token that is unknown or expired."""
        if not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        expiry = self.tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if expiry is None or expiry <= time.time():
            self.bad_tokens += 1
            return False
        return True

    def throttled(self) -> Response | None:
        """Rack::Attack's answer past ``anonymous_limit`` anonymous API requests a minute."""
        if self.anonymous_limit is None:
            return None
        now = int(time.time())
        if now // 60 != self._window:
            self._window, self._count = now // 60, 0
        self._count += 1
        if self._count <= self.anonymous_limit:
            return None
        reset = (now // 60 + 1) * 60
        return Response("Request rejected due to rate limits.\n", 429, media_type="text/plain", headers={
            "RateLimit-Limit": str(self.anonymous_limit), "RateLimit-Remaining": "0", "RateLimit-Reset": str(reset)})


def state(world: World) -> DryadState:
    """The Dryad emulator's accounts and tokens (kept on the world, so tests can change and reset them)."""
    found = getattr(world, "_dryad_state", None)
    if not isinstance(found, DryadState):
        found = DryadState()
        world._dryad_state = found  # type: ignore[attr-defined]
    return found


def _unauthorized(error: str, description: str) -> Response:
    return json_response({"error": error, "error_description": description}, 401, headers={
        "www-authenticate": f'Bearer realm="Doorkeeper", error="{error}", error_description="{description}"'})
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
    st = state(world)
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
        if request.scope.get("dryad_auth") is not True:
            st.refused_downloads += 1
            return _unauthorized("unauthorized", ANONYMOUS_DOWNLOAD)
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

    async def oauth_token(request: Request) -> Response:
        body = await request.body()
        if len(body) > 8192:
            return json_response({"error": "invalid_request"}, 400)
        form = dict(parse_qsl(body.decode("latin-1")))
        cid, secret = form.get("client_id"), form.get("client_secret")
        basic = request.headers.get("authorization", "")
        if basic.lower().startswith("basic "):
            try:
                cid, _, secret = base64.b64decode(basic[6:].strip()).decode().partition(":")
                cid, secret = unquote(cid), unquote(secret)
            except (ValueError, UnicodeDecodeError):
                cid = secret = None
        if form.get("grant_type") != "client_credentials":
            return json_response({"error": "unsupported_grant_type", "error_description": "The authorization "
                                  "grant type is not supported by the authorization server."}, 400)
        if cid is None or st.accounts.get(cid) != secret:
            st.refused_exchanges += 1
            return json_response({"error": "invalid_client", "error_description": "Client authentication failed "
                                  "due to unknown client, no client authentication included, or unsupported "
                                  "authentication method."}, 401)
        return json_response(st.grant(), headers={"cache-control": "no-store", "pragma": "no-cache"})

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
        Route("/oauth/token", oauth_token, methods=["POST"]),
        Route("/{rest:path}", other, methods=get),
    ])

    async def api(scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Bearer tokens on every ``/api`` request: valid, absent (anonymous) or refused (401)."""
        if scope["type"] == "http" and scope["path"].startswith("/api/"):
            auth = dict(scope.get("headers") or []).get(b"authorization", b"").decode("latin-1")
            verdict = st.check(auth)
            if verdict is False:
                await _unauthorized("invalid_token", "The access token is invalid")(scope, receive, send)
                return
            if verdict is None and (limited := st.throttled()) is not None:
                await limited(scope, receive, send)
                return
            if verdict:
                st.authorized.append(scope["path"])
            scope = {**scope, "dryad_auth": verdict}
        await app(scope, receive, send)

    return {"datadryad.org": api, DRYAD_STORAGE: storage.app()}


__all__ = ["CLIENT_ID", "CLIENT_SECRET", "HOSTS", "PER_PAGE", "DryadState", "dataset_json", "file_json", "files_page",
           "make_sites", "state", "version_json"]
