"""PSI: doi.psi.ch (landing pages, the oai-provider's publication JSON, dataset folders),
doi2.psi.ch (the older publication web server) and dacat.psi.ch (the SciCat API).

Wire details (research notes pan-apis §3): ``/oaipmh/Publication/detail/<id>`` is served by an
Express route ``detail/:id`` that decodes once, and the handler decodes again - so only the
double-encoded DOI (``10.16907%252F…``) reaches it; single encoding turns ``%2F`` into a path
separator and matches nothing. The answer is the raw Mongo ``PublishedData`` document. The
download page is scicat-cli's ``downloadPage.html``: one ``<li>wget -m -np <a href= URL > URL
</a> ( size: N , nFiles: M )`` per dataset. Dataset folders are nginx autoindex trees with
``__checksum_filename_N__`` files; a folder moved to tape answers 404.
"""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import unquote, urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route, Router

from ..data.psi import PSI_PUBLICATIONS
from ..world import FileSpec, World
from .common import html_response, json_response
from .scicat import Pub, ScicatSite, Set, v3_doc
from .webindex import StaticSite, checksum_files

HOSTS = ("doi.psi.ch", "doi2.psi.ch", "dacat.psi.ch")
_LICENSE = ('This work is licensed under a <a href="https://creativecommons.org/licenses/by-sa/4.0/">Creative '
            "Commons Attribution-ShareAlike 4.0 International License</a>.")


def download_page(title: str, doi: str, lines: list[tuple[str, int, int]]) -> str:
    """scicat-cli's ``downloadPage.html``, one ``wget -m -np`` item per dataset folder."""
    items = "\n".join(f"<li>wget -m -np <a href= {url} > {url} </a> ( size: {size} , nFiles: {n} )</li>"
                      for url, size, n in lines)
    return ("<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{escape(title)}: Download Page</title>\n</head>\n<body>\n<p>PAUL SCHERRER INSTITUT</p>\n"
            f"<h1>{escape(title)} : Download Page</h1>\n<p>Install the wget command for your platform if not yet "
            "available. Then type the following commands in your destination folder, which has enough capacity</p>\n"
            "<pre>cd destinationFolder</pre>\n<p>And then the transfer commands:</p>\n"
            f"<ul>\n{items}\n</ul>\n<p>You can simply repeat the wget command in case the connection is "
            "interrupted. In this case only files not yet downloaded will be fetched.</p>\n<p>Cite as <a href=\""
            f"https://doi.org/{doi}\">DOI: {doi}</a></p>\n<p>{_LICENSE}</p>\n</body>\n</html>\n")


def folder_files(world: World, folder: Any) -> dict[str, FileSpec]:
    """``{path relative to the folder: spec}`` including the generated checksum files."""
    own = folder.url.rstrip("/").rsplit("/", 1)[-1] + "/" if folder.parent_relative else ""
    sums = checksum_files(world, folder.files, parts=folder.checksum_parts, header=folder.header, prefix=unquote(own),
                          seed=folder.url)
    return {f.key: f for f in (*folder.files, *sums)}


def _landing(pubs: dict[str, Any]) -> Any:
    async def endpoint(request: Request) -> Response:
        rest = request.path_params["rest"]
        for _ in range(2):
            rest = unquote(rest)
        pub = pubs.get(rest.lower())
        if pub is None:
            return html_response("<!DOCTYPE html><html><body><h1>Not found</h1></body></html>", 404)
        return html_response(f"<!DOCTYPE html><html><head><title>{escape(pub.title)}</title></head><body><app-root>"
                             f"<h2>{escape(pub.title)}</h2><p>{escape('; '.join(pub.creators))}; PSI ({pub.year})</p>"
                             f"<p>DOI https://doi.org/{pub.doi}</p><a>Access Data</a></app-root></body></html>")
    return endpoint


def make_sites(world: World) -> dict[str, Any]:
    pubs = {p.doi.lower(): p for p in PSI_PUBLICATIONS}
    trees: dict[str, dict[str, FileSpec]] = {"doi.psi.ch": {}, "doi2.psi.ch": {}}
    pages: dict[str, dict[str, str]] = {"doi.psi.ch": {}, "doi2.psi.ch": {}}
    gone: dict[str, list[str]] = {"doi.psi.ch": [], "doi2.psi.ch": []}
    records: dict[str, Pub] = {}
    sets: list[Set] = []
    for p in PSI_PUBLICATIONS:
        lines = []
        for folder in p.folders:
            parts = urlsplit(folder.url)
            files = folder_files(world, folder)
            if folder.online:
                trees[parts.hostname or ""].update({unquote(parts.path) + k: v for k, v in files.items()})
            else:
                gone[parts.hostname or ""].append(unquote(parts.path))
            lines.append((folder.url.rstrip("/"), sum(f.size for f in files.values()), len(files)))
            sets.append(Set(folder.pid, folder.source_folder, folder.files))
        if p.download_link:
            link = urlsplit(p.download_link)
            pages[link.hostname or ""][unquote(link.path)] = download_page(p.title, p.doi, lines)
        status = "registered" if "v3" in p.routes else "amended"
        records[p.doi.lower()] = Pub(p.doi, p.title, p.creators, "PSI", p.year,
                                     p.raw_pids or tuple(f.pid for f in p.folders), p.download_link,
                                     sum(s for _, s, _ in lines), len(lines), status, p.abstract,
                                     frozenset(v for v in ("v3", "v4") if v in p.routes))

    async def oaipmh(request: Request) -> Response:
        ident = unquote(request.path_params["id"])
        rec, pub = records.get(ident.lower()), pubs.get(ident.lower())
        if rec is None or pub is None or "oaipmh" not in pub.routes:
            return json_response({"error": "not found"}, 404)
        return json_response(v3_doc(rec))

    async def count(request: Request) -> Response:
        return json_response({"count": sum("oaipmh" in p.routes for p in PSI_PUBLICATIONS)})

    async def cannot_get(request: Request) -> Response:
        page = f"<!DOCTYPE html><html><body><pre>Cannot GET {escape(request.url.path)}</pre></body></html>"
        return html_response(page, 404)

    doi_psi = Router(routes=[
        Route("/detail/{rest:path}", _landing(pubs), methods=["GET"]),
        Route("/oaipmh/Publication/count", count, methods=["GET"]),
        Route("/oaipmh/Publication/detail/{id}", oaipmh, methods=["GET"]),
        Route("/oaipmh/{rest:path}", cannot_get, methods=["GET"]),
        Mount("/", app=StaticSite(world, trees["doi.psi.ch"], pages=pages["doi.psi.ch"],  # type: ignore[arg-type]
                                   gone=gone["doi.psi.ch"])),
    ])
    return {"doi.psi.ch": doi_psi,
            "doi2.psi.ch": StaticSite(world, trees["doi2.psi.ch"], pages=pages["doi2.psi.ch"],
                                      gone=gone["doi2.psi.ch"]),
            "dacat.psi.ch": ScicatSite(world, records.values(), sets, landing=False)}


__all__ = ["HOSTS", "download_page", "folder_files", "make_sites"]
