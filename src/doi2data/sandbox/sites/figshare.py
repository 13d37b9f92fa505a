"""Figshare (api.figshare.com, figshare.com, ndownloader, a portal) and 4TU.ResearchData (data.4tu.nl).

Mirrors ``shared/fixtures/recorded/figshare`` (recorded-fixtures §4): the public article document of
``article-14763051-public.json`` (``files[{id,name,size,is_link_only,download_url,supplied_md5,
computed_md5,mimetype}]``, ``folder_structure``, ``version``, ``doi`` with ``.v<n>``, ``figshare_url``
…), ``/v2/articles/<id>/versions[/<n>]`` (a missing ``<n>`` is ``EntityNotFound``),
``/v2/articles/<id>/files``, the short records of ``/v2/articles?doi=``
(``articles-search-by-doi-14763051.json``), ``/v2/collections/<id>[/articles|/versions[/<n>]]`` and
``{"message","code":"EntityNotFound"}`` for a missing item. ``ndownloader.figshare.com/files/<id>`` 302s
to a presigned S3 URL (not recorded; the host is the one Figshare uses). Link-only files have
``size: 0``, empty md5s and an off-site ``download_url`` (unverified shape, per the notes), which
serves an HTML page. 4TU (djehuty) uses the same ``/v2`` API with UUIDs, ``id: null`` files and
``download_url: https://data.4tu.nl/file/<dataset>/<file>`` served directly (recorded-fixtures §11).

As Figshare behaves in 2026 (checked 2026-12-06; sources in :mod:`doi2data.adapters.figshare`):

* the article record carries at most :data:`INLINE_CAP` files ("List of up to 10 article files");
  ``/v2/articles/<id>/files`` and ``/v2/articles/<id>/versions/<n>/files`` page the rest (``page``,
  ``page_size`` default 10, at most 1000). :data:`MANY` has more than ten files in each of its two
  versions; :data:`UNPAGED`'s files endpoint ignores paging (FIG-36552) and answers every page with
  all its files.
* the download host's AWS WAF bot challenge: ``figshare.com/ndownloader/files/<id>`` always, and
  ``ndownloader.figshare.com/files/<id>`` for the files of :data:`CHALLENGED` articles, answer an
  empty ``202`` with ``x-amzn-waf-action: challenge``; ``api.figshare.com/v2/file/download/<id>``
  302s to the presigned S3 URL for every file.
"""

from __future__ import annotations

from html import escape
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, Router

from ..data.common import http_stamp
from ..data.figshare import (FIGSHARE_ARTICLES, FIGSHARE_STORAGE, FOURTU, LINK_ONLY_HOST, OCEAN_COLLECTION, FsArticle,
                             FsFile, FsVersion, fourtu_file_uuid)
from ..world import FileSpec, World
from .common import EntityResponse, html_response, json_response, redirect
from .storage import SignedStorage, StoredObject, file_entity

API = "https://api.figshare.com"
FIGSHARE_HOSTS = ("api.figshare.com", "figshare.com", "ndownloader.figshare.com", "sandbox-uni.figshare.com")
INLINE_CAP = 10  # ArticleComplete.files: "List of up to 10 article files."
WAF_HEADERS = {"x-amzn-waf-action": "challenge", "cache-control": "no-store, max-age=0"}


def _many_files(version: int, count: int, first_id: int) -> tuple[FsFile, ...]:
    return tuple(FsFile(first_id + i, FileSpec(f"runs/run_{i:02d}.csv", 1_000 + 37 * i + version, "text/csv",
                                               seed=f"fs:many:{version}:{i}")) for i in range(count))


#: More than ten files in each version (12 in v1, 15 in v2): the record lists ten, ``/files`` the rest.
MANY = FsArticle(30000005, "Sandbox wave tank runs", FIGSHARE_ARTICLES[0].creators, versions=(
    FsVersion(1, "2023-04-02T08:00:00Z", _many_files(1, 12, 40000500)),
    FsVersion(2, "2024-02-11T08:00:00Z", (*_many_files(2, 14, 40000600),
                                          FsFile(40000690, FileSpec("runs/full_run.bin", 700_001,
                                                                    seed="fs:many:2:full"))))))
#: Its files endpoint ignores ``page``/``page_size``: every page holds all 13 files.
UNPAGED = FsArticle(30000006, "Sandbox buoy logs", FIGSHARE_ARTICLES[0].creators, versions=(
    FsVersion(1, "2024-05-05T08:00:00Z", tuple(
        FsFile(40000700 + i, FileSpec(f"buoy_{i:02d}.log", 500 + i, "text/plain", seed=f"fs:unpaged:{i}"))
        for i in range(13))),))
EXTRA_ARTICLES = (MANY, UNPAGED)
#: Articles whose files the download host answers with the bot challenge.
CHALLENGED = frozenset({MANY.id})


def _missing(what: str = "article") -> Response:
    return json_response({"message": f"Entity not found: {what}", "code": "EntityNotFound"}, 404)


def _page(title: str, status: int = 200) -> Response:
    return html_response(f"<!DOCTYPE html><html><head><title>{escape(title)}</title></head><body><h1>"
                         f"{escape(title)}</h1></body></html>", status)


def file_json(world: World, art: FsArticle, f: FsFile) -> dict[str, Any]:
    if art.uuid:
        fid = fourtu_file_uuid(art, f)
        return {"id": None, "uuid": fid, "name": f.name, "size": f.spec.size, "is_link_only": False,
                "is_incomplete": False, "download_url": f"https://data.4tu.nl/file/{art.uuid}/{fid}",
                "supplied_md5": world.digest(f.spec), "computed_md5": world.digest(f.spec)}
    md5 = "" if f.link else world.digest(f.spec)
    return {"id": f.id, "name": f.name, "size": 0 if f.link else f.spec.size, "is_link_only": bool(f.link),
            "download_url": f.link or f"https://ndownloader.figshare.com/files/{f.id}", "supplied_md5": md5,
            "computed_md5": md5, "mimetype": f.spec.mimetype}


def short_json(art: FsArticle, ver: FsVersion) -> dict[str, Any]:
    """An item as listed by search, ``?doi=`` and collection members."""
    api = f"{art.api}/v2/articles/{art.key}"
    html = art.url(ver.version).rpartition("/")[0] if not art.uuid else art.url(ver.version)
    return {"id": None if art.uuid else art.id, **({"uuid": art.uuid} if art.uuid else {}), "title": art.title,
            "doi": art.doi(ver.version), "handle": "", "url": api, "published_date": ver.published, "thumb": "",
            "defined_type": 3, "defined_type_name": "dataset", "group_id": None,
            "url_private_api": f"{art.api}/v2/account/articles/{art.key}", "url_public_api": api,
            "url_private_html": f"https://figshare.com/account/articles/{art.key}", "url_public_html": html,
            "timeline": {"posted": ver.published[:19], "firstOnline": art.versions[0].published[:19]},
            "resource_title": None, "resource_doi": None}


def article_json(world: World, art: FsArticle, ver: FsVersion) -> dict[str, Any]:
    short = short_json(art, ver)
    authors = [{"id": 97000 + i, "full_name": f"{c.given} {c.family}", "first_name": c.given, "last_name": c.family,
                "is_active": True, "url_name": f"{c.given}_{c.family}", "orcid_id": c.orcid or ""}
               for i, c in enumerate(art.creators)]
    files = [file_json(world, art, f) for f in ver.files][:INLINE_CAP]
    doc: dict[str, Any] = {
        "files": files, "folder_structure": {str(f.id): f.folder for f in ver.files if f.folder},
        "authors": authors, "custom_fields": [], "figshare_url": short["url_public_html"], "download_disabled": False,
        "description": f"<p>{escape(art.title)}.</p>", "funding": None, "funding_list": [], "version": ver.version,
        "status": "public", "size": sum(f.spec.size for f in ver.files if not f.link),
        "created_date": ver.published, "modified_date": ver.published, "is_public": True, "is_confidential": False,
        "is_metadata_record": False, "confidential_reason": "", "metadata_reason": "",
        "license": {"value": 1, "name": art.license, "url": "https://creativecommons.org/licenses/by/4.0/"},
        "tags": ["sandbox"], "keywords": ["sandbox"], "categories": [], "references": [],
        "has_linked_file": any(f.link for f in ver.files),
        "citation": f"{art.creators[0].family}, {art.creators[0].given} ({ver.published[:4]}). {art.title}. "
                    f"figshare. Dataset. https://doi.org/{art.doi(ver.version)}",
        "related_materials": [], "is_embargoed": False, "embargo_date": None, "embargo_type": "file",
        "embargo_title": "", "embargo_reason": "", "embargo_options": [],
    }
    doc.update({k: v for k, v in short.items() if k not in ("created_date", "modified_date")})
    return doc


def _version(art: FsArticle, wanted: str | None) -> FsVersion | None:
    if wanted is None:
        return art.versions[-1]
    return next((v for v in art.versions if str(v.version) == wanted), None)


def _pages(request: Request, items: list[Any], *, ignored: bool = False) -> list[Any]:
    """``page``/``page_size`` (default 10, at most 1000); no total is given, as on Figshare."""
    try:
        page = max(1, int(request.query_params.get("page") or 1))
        size = min(1000, max(1, int(request.query_params.get("page_size") or 10)))
    except ValueError:
        return []
    return list(items) if ignored else items[(page - 1) * size:page * size]


def make_api(world: World, host: str) -> Router:
    """The ``/v2`` API on ``api.figshare.com`` (Figshare items) or ``data.4tu.nl`` (4TU items)."""
    base = "https://data.4tu.nl" if host == "data.4tu.nl" else API
    items = {a.key: a for a in (*FIGSHARE_ARTICLES, *EXTRA_ARTICLES) if a.api == base}
    collections = {str(OCEAN_COLLECTION.id): OCEAN_COLLECTION} if base == API else {}

    async def article(request: Request) -> Response:
        art = items.get(request.path_params["aid"])
        ver = _version(art, request.path_params.get("v")) if art else None
        return json_response(article_json(world, art, ver)) if art and ver else _missing()

    async def files(request: Request) -> Response:
        art = items.get(request.path_params["aid"])
        ver = _version(art, request.path_params.get("v")) if art else None
        if art is None or ver is None:
            return _missing()
        return json_response(_pages(request, [file_json(world, art, f) for f in ver.files], ignored=art is UNPAGED))

    async def versions(request: Request) -> Response:
        art = items.get(request.path_params["aid"])
        if art is None:
            return _missing()
        return json_response([{"version": v.version, "url": f"{base}/v2/articles/{art.key}/versions/{v.version}"}
                              for v in art.versions])

    async def search(request: Request) -> Response:
        doi = request.query_params.get("doi", "").strip().lower()
        hits = [short_json(a, v) for a in items.values() for v in a.versions[-1:]
                if not doi or doi in {a.doi().lower(), *(a.doi(x.version).lower() for x in a.versions)}]
        return json_response(_pages(request, hits))

    async def collection(request: Request) -> Response:
        col = collections.get(request.path_params["cid"])
        if col is None or request.path_params.get("v") not in (None, "1"):
            return _missing("collection")
        first = FIGSHARE_ARTICLES[0]
        return json_response({
            "version": 1, "resource_id": "", "resource_doi": "", "resource_title": "", "resource_version": 0,
            "description": f"<p>{escape(col.title)}</p>", "categories": [], "references": [], "tags": [],
            "keywords": [], "authors": [{"id": 97000, "full_name": f"{first.creators[0].given} "
                                                                   f"{first.creators[0].family}"}],
            "institution_id": None, "group_id": None, "articles_count": len(col.articles), "public": True,
            "citation": f"{col.title}. figshare. Collection. https://doi.org/{col.doi}", "custom_fields": [],
            "modified_date": col.published, "created_date": col.published,
            "timeline": {"posted": col.published[:19]}, "id": col.id, "title": col.title, "doi": col.doi,
            "handle": "", "url": f"{API}/v2/collections/{col.id}", "published_date": col.published,
            "funding": [], "related_materials": []})

    async def collection_versions(request: Request) -> Response:
        col = collections.get(request.path_params["cid"])
        if col is None:
            return _missing("collection")
        return json_response([{"version": 1, "url": f"{base}/v2/collections/{col.id}/versions/1"}])

    async def members(request: Request) -> Response:
        col = collections.get(request.path_params["cid"])
        if col is None:
            return _missing("collection")
        found = [items[str(aid)] for aid in col.articles if str(aid) in items]
        return json_response(_pages(request, [short_json(a, a.versions[-1]) for a in found]))

    async def other(request: Request) -> Response:
        return json_response({"message": "Not Found", "code": "NotFound"}, 404)

    get = ["GET"]
    return Router(routes=[
        Route("/v2/articles", search, methods=get),
        Route("/v2/articles/{aid}", article, methods=get),
        Route("/v2/articles/{aid}/files", files, methods=get),
        Route("/v2/articles/{aid}/versions", versions, methods=get),
        Route("/v2/articles/{aid}/versions/{v}", article, methods=get),
        Route("/v2/articles/{aid}/versions/{v}/files", files, methods=get),
        Route("/v2/collections/{cid}", collection, methods=get),
        Route("/v2/collections/{cid}/versions", collection_versions, methods=get),
        Route("/v2/collections/{cid}/versions/{v}", collection, methods=get),
        Route("/v2/collections/{cid}/articles", members, methods=get),
        Route("/{rest:path}", other, methods=get),
    ])


def make_sites(world: World) -> dict[str, Any]:
    storage = SignedStorage(world, FIGSHARE_STORAGE)
    by_file: dict[str, tuple[FsArticle, FsFile]] = {}
    for art in (*FIGSHARE_ARTICLES, *EXTRA_ARTICLES):
        for ver in art.versions:
            for f in ver.files:
                if not art.uuid and not f.link:
                    by_file[str(f.id)] = (art, f)
                    storage.put(f"pfigshare-u-files/{f.id}/{f.name}", StoredObject(f.spec, http_stamp(ver.published),
                                                                                  f.name))
    fourtu = {(FOURTU.uuid, fourtu_file_uuid(FOURTU, f)): (f, v) for v in FOURTU.versions for f in v.files}
    links = {f.link: f for a in FIGSHARE_ARTICLES for v in a.versions for f in v.files if f.link}

    def to_storage(fid: str) -> Response:
        link = next((f.link for f in links.values() if str(f.id) == fid), None)
        if link:
            return redirect(link, 302)
        if fid not in by_file:
            return _missing("file")
        return redirect(storage.presign(f"pfigshare-u-files/{fid}/{by_file[fid][1].name}"), 302)

    def challenge() -> Response:
        """AWS WAF's answer to a client that runs no JavaScript: 202, no body, the action header."""
        return Response(b"", 202, headers=WAF_HEADERS)

    async def ndownloader(request: Request) -> Response:
        fid = request.path_params["fid"]
        if fid in by_file and by_file[fid][0].id in CHALLENGED:
            return challenge()
        return to_storage(fid)

    async def api_download(request: Request) -> Response:
        return to_storage(request.path_params["fid"])

    async def www_ndownloader(request: Request) -> Response:
        return challenge()

    async def landing(request: Request) -> Response:
        segs = [s for s in request.url.path.split("/") if s]
        ids = {a.key for a in (*FIGSHARE_ARTICLES, *EXTRA_ARTICLES)} | {str(OCEAN_COLLECTION.id)}
        known = any(s in ids for s in segs) or request.url.path == "/" or segs[:1] == ["s"]
        return _page("figshare" if known else "Page not found", 200 if known else 404)

    async def fourtu_file(request: Request) -> Any:
        found = fourtu.get((request.path_params["ds"], request.path_params["fid"]))
        if found is None:
            return _page("File not found", 404)
        spec, ver = found[0].spec, found[1]
        return EntityResponse(file_entity(world, spec, http_stamp(ver.published), request.scope,
                                          filename=found[0].name))

    async def off_site(request: Request) -> Response:
        return _page("Ocean data archive: the full archive is sent on request, please write to the data manager")

    api_4tu = make_api(world, "data.4tu.nl")
    api = make_api(world, "api.figshare.com")
    api.routes.insert(0, Route("/v2/file/download/{fid}", api_download, methods=["GET"]))
    www = Router(routes=[Route("/ndownloader/files/{fid}", www_ndownloader, methods=["GET"]),
                         Route("/{rest:path}", landing, methods=["GET"])])
    fourtu_site = Router(routes=[Route("/file/{ds}/{fid}", fourtu_file, methods=["GET"]),
                                 Route("/datasets/{rest:path}", landing, methods=["GET"]), *api_4tu.routes])
    return {"api.figshare.com": api, "figshare.com": www,
            "sandbox-uni.figshare.com": www, FIGSHARE_STORAGE: storage.app(), "data.4tu.nl": fourtu_site,
            "ndownloader.figshare.com": Router(routes=[Route("/files/{fid}", ndownloader, methods=["GET"])]),
            LINK_ONLY_HOST: Router(routes=[Route("/{rest:path}", off_site, methods=["GET"])])}


HOSTS = (*FIGSHARE_HOSTS, "data.4tu.nl", FIGSHARE_STORAGE, LINK_ONLY_HOST)

__all__ = ["CHALLENGED", "EXTRA_ARTICLES", "HOSTS", "INLINE_CAP", "MANY", "UNPAGED", "WAF_HEADERS", "article_json",
           "file_json", "make_api", "make_sites", "short_json"]
