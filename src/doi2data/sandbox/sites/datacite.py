"""api.datacite.org: ``GET /dois/<doi>[?include=media,client]`` as JSON:API.

The document mirrors the recorded 2026 responses (``shared/fixtures/recorded/datacite``):
lower-case ``data.id``, the full attribute set in the recorded order, ``contentUrl: null`` (a list of
URLs for the DOIs in :data:`~doi2data.sandbox.sites.contenturl_repo.DATACITE_ATTRIBUTES`),
free-text ``sizes``/``formats``, the base64 DataCite XML, ``relationships.client`` =
``cern.zenodo`` for Zenodo DOIs, and ``included`` client only when ``include`` names it.
A missing DOI is the recorded 404 ``errors`` document.
"""

from __future__ import annotations

import base64
from html import escape
from typing import Any

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


def make_app(world: World) -> Router:
    async def dois(request: Request) -> Response:
        pid = world.doi(request.path_params["doi"])
        if pid is None or not pid.is_doi:
            return json_response(NOT_FOUND, 404, media_type=MEDIA_TYPE)
        include = {part.strip() for part in request.query_params.get("include", "").split(",")}
        return json_response(document(world, pid, include), media_type=MEDIA_TYPE)

    async def missing(request: Request) -> Response:
        return json_response(NOT_FOUND, 404, media_type=MEDIA_TYPE)

    return Router(routes=[Route("/dois/{doi:path}", dois, methods=["GET"]),
                          Route("/{rest:path}", missing, methods=["GET"])])


__all__ = ["HOSTS", "attributes", "document", "make_app"]
