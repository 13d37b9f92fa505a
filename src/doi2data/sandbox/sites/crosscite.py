"""data.crosscite.org: DOI content negotiation (BibTeX, RIS, CSL JSON, formatted citations).

Why emulate it: ``doi2data cite`` asks ``https://doi.org/<doi>`` with an ``Accept`` header and
follows the redirect to the registration agency's metadata service, exactly as curl -LH would.
doi.org answers a negotiated request with ``302 Location:
https://data.crosscite.org/<media-type>/<doi>`` (``?style=&locale=`` for ``text/x-bibliography``);
this site serves those link-based URLs and also ``/<doi>`` with an ``Accept`` header.
Everything is rendered from the world's DataCite attributes
(:func:`doi2data.sandbox.sites.datacite.attributes`), the same record ``api.datacite.org``
serves, so a citation always agrees with the metadata.

Formats follow what DataCite returns: BibTeX keyed by the DOI URL with an upper-case ``doi``
field, RIS with ``TY  - DATA``, citeproc JSON, and plain-text APA / Harvard / IEEE.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route, Router

from ..world import Pid, World
from .common import json_response, redirect
from .datacite import NOT_FOUND, attributes

HOSTS = ("data.crosscite.org",)
BASE = "https://data.crosscite.org"
BIBTEX, RIS, CSL, TEXT = ("application/x-bibtex", "application/x-research-info-systems",
                          "application/vnd.citationstyles.csl+json", "text/x-bibliography")
DATACITE_JSON = "application/vnd.datacite.datacite+json"
#: Media types this service renders (what doi.org redirects here).
MEDIA_TYPES: tuple[str, ...] = (BIBTEX, RIS, CSL, TEXT, DATACITE_JSON)
STYLES = ("apa", "harvard-cite-them-right", "ieee")


def parse_accept(header: str) -> list[tuple[str, dict[str, str]]]:
    """``Accept`` -> [(media type, params)], highest ``q`` first, ``q=0`` dropped (stable order)."""
    ranked: list[tuple[float, int, str, dict[str, str]]] = []
    for index, part in enumerate(p for p in header.split(",") if p.strip()):
        media, *raw = (x.strip() for x in part.split(";"))
        params = {k.strip().lower(): v.strip().strip('"') for k, _, v in (p.partition("=") for p in raw) if k}
        try:
            q = float(params.pop("q", "1"))
        except ValueError:
            q = 1.0
        if q > 0:
            ranked.append((-q, index, media.lower(), params))
    return [(media, params) for _, _, media, params in sorted(ranked)]


def negotiated_location(accept: str, doi: str) -> str | None:
    """Where doi.org sends a request with this ``Accept``: a crosscite URL, or None (landing page)."""
    for media, params in parse_accept(accept):
        if media in ("text/html", "application/xhtml+xml", "*/*"):
            return None
        if media in MEDIA_TYPES:
            query = ""
            if media == TEXT:
                query = f"?style={quote(params.get('style', 'apa'))}&locale={quote(params.get('locale', 'en-US'))}"
            return f"{BASE}/{media}/{doi}{query}"
    return None


# -- renderers -------------------------------------------------------------------------------
def _people(attrs: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c.get("familyName") or c["name"], c.get("givenName") or "") for c in attrs["creators"]]


def _issued(attrs: dict[str, Any]) -> list[int]:
    date = next((d["date"] for d in attrs["dates"] if d.get("dateType") == "Issued"), str(attrs["publicationYear"]))
    return [int(x) for x in date.split("-")[:3]]


def _title(attrs: dict[str, Any]) -> str:
    return str(attrs["titles"][0]["title"])


def _rights(attrs: dict[str, Any]) -> str | None:
    return next((r["rights"] for r in attrs["rightsList"] if r.get("rightsIdentifier")), None)


def _abstract(attrs: dict[str, Any]) -> str | None:
    return next((d["description"] for d in attrs["descriptions"] if d.get("descriptionType") == "Abstract"), None)


def csl(attrs: dict[str, Any]) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "type": attrs["types"]["citeproc"], "id": f"https://doi.org/{attrs['doi']}", "language": attrs.get("language"),
        "author": [{"family": f, "given": g} for f, g in _people(attrs)],
        "issued": {"date-parts": [_issued(attrs)]}, "abstract": _abstract(attrs), "DOI": attrs["doi"],
        "publisher": attrs["publisher"], "title": _title(attrs), "URL": attrs["url"],
        "copyright": _rights(attrs), "version": attrs.get("version"),
    }
    return {k: v for k, v in doc.items() if v not in (None, "")}


def bibtex(attrs: dict[str, Any]) -> str:
    fields = [("doi", attrs["doi"].upper()), ("url", attrs["url"]),
              ("author", " and ".join(f"{f}, {g}" if g else f"{{{f}}}" for f, g in _people(attrs))),
              ("language", attrs.get("language")), ("title", _title(attrs)), ("publisher", attrs["publisher"]),
              ("year", str(attrs["publicationYear"])), ("copyright", _rights(attrs)), ("version", attrs.get("version"))]
    body = ",\n".join(f"  {k} = {{{v}}}" for k, v in fields if v)
    return f"@{attrs['types']['bibtex']}{{https://doi.org/{attrs['doi']},\n{body}\n}}\n"


def ris(attrs: dict[str, Any]) -> str:
    lines = [("TY", attrs["types"]["ris"]), ("T1", _title(attrs)),
             *(("AU", f"{f}, {g}" if g else f) for f, g in _people(attrs)),
             ("DO", attrs["doi"].upper()), ("UR", attrs["url"]), ("AB", _abstract(attrs)),
             ("PY", str(attrs["publicationYear"])), ("PB", attrs["publisher"]), ("LA", attrs.get("language")),
             ("ET", attrs.get("version"))]
    return "".join(f"{tag}  - {value}\r\n" for tag, value in lines if value) + "ER  - \r\n"


def _initials(given: str) -> str:
    return " ".join(f"{part[0]}." for part in given.replace("-", " ").split() if part)


def text(attrs: dict[str, Any], style: str) -> str:
    people, year, title = _people(attrs), attrs["publicationYear"], _title(attrs)
    version = f" (Version {attrs['version']})" if attrs.get("version") else ""
    link = f"https://doi.org/{attrs['doi'].upper()}"
    kind = "Data set" if attrs["types"]["resourceTypeGeneral"] == "Dataset" else attrs["types"]["resourceTypeGeneral"]
    if style == "ieee":
        listed = ", ".join(f"{_initials(g)} {f}".strip() for f, g in people)
        return f"{listed}, \u201c{title}\u201d. {attrs['publisher']}, {year}. doi: {attrs['doi'].upper()}.\n"
    names = [f"{f}, {_initials(g)}".rstrip(", ") for f, g in people]
    if style == "harvard-cite-them-right":
        joined = ", ".join(names[:-1]) + (" and " if len(names) > 1 else "") + names[-1] if names else ""
        return f"{joined} ({year}) {title}{version}. {attrs['publisher']}. Available at: {link}.\n"
    joined = ", ".join(names[:-1]) + (", & " if len(names) > 1 else "") + names[-1] if names else ""
    return f"{joined} ({year}). {title}{version} [{kind}]. {attrs['publisher']}. {link}\n"


def render(world: World, pid: Pid, media: str, params: dict[str, str]) -> Response:
    attrs, _ = attributes(world, pid)
    if media == BIBTEX:
        return PlainTextResponse(bibtex(attrs), media_type=f"{BIBTEX}; charset=utf-8")
    if media == RIS:
        return PlainTextResponse(ris(attrs), media_type=f"{RIS}; charset=utf-8")
    if media == CSL:
        return json_response(csl(attrs), media_type=CSL)
    if media == DATACITE_JSON:
        return Response(json.dumps(attrs, ensure_ascii=False).encode(), media_type=DATACITE_JSON)
    style = params.get("style", "apa").lower()
    if style not in STYLES:
        return PlainTextResponse(f"Style {style!r} not found", 400)
    return PlainTextResponse(text(attrs, style), media_type="text/plain; charset=utf-8")


def make_app(world: World) -> Router:
    def find(doi: str) -> Pid | None:
        pid = world.doi(doi)
        return pid if pid is not None and pid.is_doi else None

    async def by_link(request: Request) -> Response:
        media = f"{request.path_params['type']}/{request.path_params['subtype']}".lower()
        pid = find(request.path_params["doi"])
        if pid is None:
            return json_response(NOT_FOUND, 404)
        if media not in MEDIA_TYPES:
            return PlainTextResponse(f"Media type {media} not supported", 406)
        return render(world, pid, media, dict(request.query_params))

    async def by_accept(request: Request) -> Response:
        pid = find(request.path_params["doi"])
        if pid is None:
            return json_response(NOT_FOUND, 404)
        for media, params in parse_accept(request.headers.get("accept", "")):
            if media in MEDIA_TYPES:
                return render(world, pid, media, params)
        return redirect(pid.url, 302)

    async def dispatch(request: Request) -> Response:
        path = request.path_params["rest"]
        kind, _, rest = path.partition("/")
        subtype, _, doi = rest.partition("/")
        if kind.lower() in ("application", "text") and subtype and doi:
            request.path_params.update(type=kind, subtype=subtype, doi=doi)
            return await by_link(request)
        request.path_params["doi"] = path
        return await by_accept(request)

    return Router(routes=[Route("/{rest:path}", dispatch, methods=["GET"])])


__all__ = ["BASE", "HOSTS", "MEDIA_TYPES", "STYLES", "bibtex", "csl", "make_app", "negotiated_location",
           "parse_accept", "ris", "text"]
