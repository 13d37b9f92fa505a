"""api.datacite.org: ``GET /dois/<doi>[?include=media,client]`` as JSON:API.

The document mirrors the recorded 2026 responses (``shared/fixtures/recorded/datacite``):
lower-case ``data.id``, the full attribute set in the recorded order, ``contentUrl: null`` (a list of
URLs for the DOIs in :data:`~doi2data.sandbox.sites.contenturl_repo.DATACITE_ATTRIBUTES`),
free-text ``sizes``/``formats``, the base64 DataCite XML, ``relationships.client`` =
``cern.zenodo`` for Zenodo DOIs, and ``included`` client only when ``include`` names it.
A missing DOI is the recorded 404 ``errors`` document.

``GET /dois`` (the list and search, support.datacite.org/docs/pagination and /docs/api-queries,
checked 2026-12-06; shape of the recorded ``dois-list-page-size-5-2020.json``): ``data[]`` of the
same records, ``meta`` (total, totalPages, page), ``links`` (self, next); filters
``resource-type-id``, ``client-id``, ``provider-id``, ``published`` (comma-separated); ``query``
parts joined by `` AND `` (free terms, any one matching, or ``publicationYear:[A TO B]``,
``publisher:"…"``, ``subjects.subject:"…"``, ``titles.title:"…"``); ``sort=relevance``; paging by
``page[number]`` (refused past 10,000 records) or ``page[cursor]`` (``1`` first, then the opaque
cursor of ``links.next``), ``page[size]`` up to 1,000.
"""

from __future__ import annotations

import base64
from html import escape
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, Router

from ..world import Creator, Pid, Record, World
from .common import json_response
from .contenturl_repo import DATACITE_ATTRIBUTES

HOSTS = ("api.datacite.org",)
MEDIA_TYPE = "application/json; charset=utf-8"
NOT_FOUND = {"errors": [{"status": "404", "title": "The resource you are looking for doesn't exist."}]}
LICENSES = {
    "cc-by-4.0": ("Creative Commons Attribution 4.0 International",
                  "https://creativecommons.org/licenses/by/4.0/legalcode"),
    "cc0-1.0": ("Creative Commons Zero v1.0 Universal", "https://creativecommons.org/publicdomain/zero/1.0/legalcode"),
}
_TYPES = {"dataset": ("Dataset", "Dataset", "misc", "dataset", "DATA"),
          "presentation": ("Presentation", "PresentationDigitalDocument", "misc", "speech", "SLIDE")}
_CLIENTS: dict[str, dict[str, Any]] = {
    "cern.zenodo": {"name": "Zenodo", "symbol": "CERN.ZENODO", "url": "https://zenodo.org/",
                    "domains": "openaire.cern.ch,zenodo.org", "re3data": "https://doi.org/10.17616/R3QP53"},
}


def _creator(c: Creator) -> dict[str, Any]:
    ids = [{"nameIdentifier": f"https://orcid.org/{c.orcid}", "nameIdentifierScheme": "ORCID",
            "schemeUri": "https://orcid.org"}] if c.orcid else []
    return {"name": c.name, "nameType": "Personal", "givenName": c.given, "familyName": c.family,
            "affiliation": [c.affiliation] if c.affiliation else [], "nameIdentifiers": ids}


def _xml(doi: str, title: str, creators: tuple[Creator, ...], publisher: str, year: int) -> str:
    names = "".join(f"<creator><creatorName>{escape(c.name)}</creatorName></creator>" for c in creators)
    doc = (f"<?xml version='1.0' encoding='utf-8'?>\n<resource xmlns=\"http://datacite.org/schema/kernel-4\">"
           f"<identifier identifierType=\"DOI\">{escape(doi.upper())}</identifier><creators>{names}</creators>"
           f"<titles><title>{escape(title)}</title></titles><publisher>{escape(publisher)}</publisher>"
           f"<publicationYear>{year}</publicationYear></resource>\n")
    return base64.b64encode(doc.encode()).decode()


def _related(world: World, pid: Pid, rec: Record) -> list[dict[str, str]]:
    if pid.concept_of:
        return [{"relationType": "HasVersion", "relatedIdentifier": v.doi, "relatedIdentifierType": "DOI"}
                for v in world.versions(pid.concept_of)]
    return [{"relationType": "IsVersionOf", "relatedIdentifier": rec.concept_doi, "relatedIdentifierType": "DOI"}]


def attributes(world: World, pid: Pid) -> tuple[dict[str, Any], str]:
    """DataCite attributes for ``pid`` and its client id."""
    rec = pid.record or (world.latest(pid.concept_of) if pid.concept_of else None)
    doi = pid.handle.lower()
    prefix, _, suffix = doi.partition("/")
    if rec is not None:
        title, creators, publisher, year, client = rec.title, rec.creators, "Zenodo", rec.year, "cern.zenodo"
        general, schema, bibtex, citeproc, ris = _TYPES.get(rec.resource_type, _TYPES["dataset"])
        rights, uri = LICENSES.get(rec.license, (rec.license, ""))
        rights_list = [{"rights": rights, "rightsUri": uri, "schemeUri": "https://spdx.org/licenses/",
                        "rightsIdentifier": rec.license, "rightsIdentifierScheme": "SPDX"},
                       {"rights": f"{rec.access.title()} Access",
                        "rightsUri": f"info:eu-repo/semantics/{rec.access}Access"}]
        version, related = (None if pid.concept_of else rec.version), _related(world, pid, rec)
        dates = [{"date": rec.publication_date, "dateType": "Issued"}]
        if rec.embargo_date:
            dates.append({"date": rec.embargo_date, "dateType": "Available"})
        descriptions = [{"description": rec.description, "descriptionType": "Abstract"}] if rec.description else []
    else:
        ext = pid.external
        assert ext is not None
        title, creators, publisher, year, client = ext.title, ext.creators, ext.publisher, ext.year, ext.client_id
        general, schema, bibtex, citeproc, ris = _TYPES["dataset"]
        rights_list, version, related, descriptions = [], None, [], []
        dates = [{"date": str(year), "dateType": "Issued"}]
    attrs: dict[str, Any] = {
        "doi": doi, "prefix": prefix, "suffix": suffix, "identifiers": [], "alternateIdentifiers": [],
        "creators": [_creator(c) for c in creators], "titles": [{"title": title}], "publisher": publisher,
        "container": {}, "publicationYear": year, "subjects": [], "contributors": [], "dates": dates,
        "language": "en",
        "types": {"ris": ris, "bibtex": bibtex, "citeproc": citeproc, "schemaOrg": schema,
                  **({"resourceType": general} if general != "Dataset" else {}), "resourceTypeGeneral": general},
        "relatedIdentifiers": related, "relatedItems": [], "sizes": [], "formats": [], "version": version,
        "rightsList": rights_list, "descriptions": descriptions, "geoLocations": [], "fundingReferences": [],
        "xml": _xml(doi, title, creators, publisher, year), "url": pid.url, "contentUrl": None,
        "metadataVersion": 3, "schemaVersion": "http://datacite.org/schema/kernel-4", "source": "api",
        "isActive": True, "state": "findable", "reason": None, "viewCount": 0, "viewsOverTime": [],
        "downloadCount": 0, "downloadsOverTime": [], "referenceCount": 0, "citationCount": 0,
        "citationsOverTime": [], "partCount": 0, "partOfCount": 0,
        "versionCount": len(related) if pid.concept_of else 0, "versionOfCount": 0 if pid.concept_of else len(related),
        "created": f"{pid.timestamp[:19]}.000Z", "registered": f"{pid.timestamp[:19]}.000Z",
        "published": str(year), "updated": f"{pid.timestamp[:19]}.000Z",
    }
    attrs.update(DATACITE_ATTRIBUTES.get(doi, {}))  # contentUrl, sizes, formats where registered
    from ..data.collection import DATACITE_ATTRIBUTES as FACILITY_ATTRIBUTES  # a collection's HasPart parts

    attrs.update(FACILITY_ATTRIBUTES.get(doi, {}))
    return attrs, client


def _client(client_id: str, world: World) -> dict[str, Any]:
    info: dict[str, Any] = _CLIENTS.get(client_id) or next(
        ({"name": e.client_name, "symbol": e.client_id.upper(), "url": "https://data.example.org/", "domains": "*",
          "re3data": None} for e in world.external if e.client_id == client_id),
        {"name": client_id, "symbol": client_id.upper(), "url": None, "domains": "*", "re3data": None})
    attrs: dict[str, Any] = {"name": info["name"], "symbol": info["symbol"], "year": 2013, "alternateName": None,
             "description": None, "language": ["en"], "clientType": "repository", "domains": info["domains"],
             "re3data": info["re3data"], "opendoar": None, "issn": {}, "url": info["url"],
             "created": "2013-01-28T12:07:48.000Z", "updated": "2020-06-26T12:22:29.000Z", "isActive": True}
    provider = client_id.split(".", 1)[0]
    return {"id": client_id, "type": "clients", "attributes": attrs,
            "relationships": {"provider": {"data": {"id": provider, "type": "providers"}},
                              "prefixes": {"data": []}}}


def document(world: World, pid: Pid, include: set[str]) -> dict[str, Any]:
    """The whole ``/dois/<doi>`` JSON:API document."""
    attrs, client = attributes(world, pid)
    doi = attrs["doi"]
    versions = [{"id": r["relatedIdentifier"], "type": "dois"} for r in attrs["relatedIdentifiers"]]
    rels = {
        "client": {"data": {"id": client, "type": "clients"}},
        "provider": {"data": {"id": client.split(".", 1)[0], "type": "providers"}},
        "media": {"data": {"id": doi, "type": "media"}},
        "references": {"data": []}, "citations": {"data": []}, "parts": {"data": []}, "partOf": {"data": []},
        "versions": {"data": versions if pid.concept_of else []},
        "versionOf": {"data": [] if pid.concept_of else versions},
    }
    doc: dict[str, Any] = {"data": {"id": doi, "type": "dois", "attributes": attrs, "relationships": rels}}
    if "client" in include:
        doc["included"] = [_client(client, world)]
    return doc


def _query_parts(query: str) -> list[str]:
    """Top-level ``A AND B AND (c d)`` parts: split outside quotes, brackets and parentheses."""
    parts, depth, quoted, start = [], 0, False, 0
    i = 0
    while i < len(query):
        ch = query[i]
        if ch == '"' and (i == 0 or query[i - 1] != "\\"):
            quoted = not quoted
        elif not quoted and ch in "([":
            depth += 1
        elif not quoted and ch in ")]":
            depth -= 1
            if depth < 0:
                raise ValueError("unbalanced brackets")
        elif not quoted and depth == 0 and query.startswith(" AND ", i):
            parts.append(query[start:i])
            start = i + 5
            i += 5
            continue
        i += 1
    if quoted or depth:
        raise ValueError("unbalanced quotes or brackets")
    parts.append(query[start:])
    return [p.strip() for p in parts if p.strip()]


def _haystack(attrs: dict[str, Any]) -> str:
    words = [t.get("title", "") for t in attrs["titles"]] + [c.get("name", "") for c in attrs["creators"]]
    words += [d.get("description", "") for d in attrs["descriptions"]] + [attrs["publisher"] or "", attrs["doi"]]
    words += [s.get("subject", "") for s in attrs["subjects"] if isinstance(s, dict)]
    return " ".join(words).lower()


def _part_matches(part: str, attrs: dict[str, Any]) -> tuple[bool, int]:
    """One AND-ed part of a DataCite ``query``: (matches, relevance)."""
    field, colon, value = part.partition(":")
    if colon and field in ("publicationYear", "publisher", "subjects.subject", "titles.title"):
        value = value.strip()
        if field == "publicationYear" and value.startswith("[") and value.endswith("]"):
            low, _, high = value[1:-1].partition(" TO ")
            year = int(attrs["publicationYear"])
            return ((low.strip() == "*" or year >= int(low)) and (high.strip() == "*" or year <= int(high))), 0
        needle = value.strip('"').replace('\\"', '"').lower()
        if field == "publicationYear":
            return str(attrs["publicationYear"]) == needle, 0
        if field == "publisher":
            return needle in (attrs["publisher"] or "").lower(), 1
        if field == "titles.title":
            return any(needle in t.get("title", "").lower() for t in attrs["titles"]), 1
        return any(needle in s.get("subject", "").lower() for s in attrs["subjects"] if isinstance(s, dict)), 1
    words = [w.strip('"()+').lower() for w in part.split() if w.strip('"()+') and w not in ("OR", "AND")]
    hay = _haystack(attrs)
    score = sum(w in hay for w in words)  # terms are optional: one is enough (the default OR)
    return score > 0 or not words, score


def _list(world: World, request: Request) -> Response:
    """``GET /dois``: filters, ``query``, page numbers (10,000 records at most) or cursors."""
    qp = request.query_params
    query = qp.get("query", "")
    if len(query) > 2000:
        return json_response({"errors": [{"status": "400", "title": "query too long"}]}, 400, media_type=MEDIA_TYPE)
    try:
        size = int(qp.get("page[size]", "25"))
        parts = _query_parts(query)
        number = int(qp.get("page[number]", "1"))
    except ValueError as exc:
        return json_response({"errors": [{"status": "400", "title": f"Invalid query: {exc}"}]}, 400,
                             media_type=MEDIA_TYPE)
    if not 0 <= size <= 1000:
        return json_response({"errors": [{"status": "400", "title": "page[size] must be between 0 and 1000"}]}, 400,
                             media_type=MEDIA_TYPE)
    types = {t.strip().lower() for t in qp.get("resource-type-id", "").split(",") if t.strip()}
    clients = {c.strip().lower() for c in qp.get("client-id", "").split(",") if c.strip()}
    providers = {c.strip().lower() for c in qp.get("provider-id", "").split(",") if c.strip()}
    years = {y.strip() for y in qp.get("published", "").split(",") if y.strip()}
    found = []
    for pid in sorted((p for p in world.pids() if p.is_doi), key=lambda p: (p.timestamp, p.handle.lower())):
        attrs, client = attributes(world, pid)
        if types and attrs["types"]["resourceTypeGeneral"].lower() not in types:
            continue
        if clients and client not in clients or providers and client.split(".", 1)[0] not in providers:
            continue
        if years and str(attrs["publicationYear"]) not in years:
            continue
        verdicts = [_part_matches(part, attrs) for part in parts]
        if all(ok for ok, _ in verdicts):
            found.append((sum(score for _, score in verdicts), pid))
    if qp.get("sort") == "relevance":
        found.sort(key=lambda item: -item[0])
    base = {k: v for k, v in qp.multi_items() if k not in ("page[number]", "page[cursor]")}
    cursor = qp.get("page[cursor]")
    if cursor is not None:
        try:
            offset = 0 if cursor == "1" else int(base64.urlsafe_b64decode(cursor.encode()).decode())
        except ValueError:
            return json_response({"errors": [{"status": "400", "title": "Invalid cursor"}]}, 400, media_type=MEDIA_TYPE)
        nxt_params = {**base, "page[cursor]": base64.urlsafe_b64encode(str(offset + size).encode()).decode()}
        page_no = offset // size + 1 if size else 1
    else:
        if number < 1 or number * size > 10_000 and size:
            return json_response({"errors": [{"status": "400", "title": "Page number too large: use cursor-based "
                                              "pagination for more than 10,000 records"}]}, 400, media_type=MEDIA_TYPE)
        offset = (number - 1) * size
        nxt_params = {**base, "page[number]": str(number + 1)}
        page_no = number
    chosen = [pid for _, pid in found[offset:offset + size]]
    links = {"self": str(request.url)}
    if offset + size < len(found) and size:
        links["next"] = f"https://api.datacite.org/dois?{urlencode(nxt_params)}"
    meta = {"total": len(found), "totalPages": -(-len(found) // size) if size else 0, "page": page_no}
    data = [document(world, pid, set())["data"] for pid in chosen]
    return json_response({"data": data, "meta": meta, "links": links}, media_type=MEDIA_TYPE)


def make_app(world: World) -> Router:
    async def search(request: Request) -> Response:
        return _list(world, request)

    async def dois(request: Request) -> Response:
        pid = world.doi(request.path_params["doi"])
        if pid is None or not pid.is_doi:
            return json_response(NOT_FOUND, 404, media_type=MEDIA_TYPE)
        include = {part.strip() for part in request.query_params.get("include", "").split(",")}
        return json_response(document(world, pid, include), media_type=MEDIA_TYPE)

    async def missing(request: Request) -> Response:
        return json_response(NOT_FOUND, 404, media_type=MEDIA_TYPE)

    return Router(routes=[Route("/dois", search, methods=["GET"]), Route("/dois/{doi:path}", dois, methods=["GET"]),
                          Route("/{rest:path}", missing, methods=["GET"])])


__all__ = ["HOSTS", "attributes", "document", "make_app"]
