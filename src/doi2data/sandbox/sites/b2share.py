"""b2share.eudat.eu, the classic B2SHARE v2 (Invenio 3) REST API and file buckets.

Mirrors ``shared/fixtures/recorded/b2share`` (recorded-fixtures §8): ``/api/records/<32 hex>`` with
``links{files,self}``, ``metadata{$schema, DOI "http://doi.org/…", alternate_identifiers, creators
[{creator_name}], titles, descriptions, ePIC_PID, license{license,license_uri}, open_access,
publication_date, publication_state, publisher, resource_types, version …}`` and, for some records,
inline ``files[{bucket, checksum "md5:…", ePIC_PID, key, size, version_id}]`` (the search-hit and
trng records) while others have only ``links.files`` (the published record); the bucket listing
``/api/files/<bucket>`` (``contents[{key,size,checksum,mimetype,links.self,is_head,delete_marker,…}]``,
``files-bucket-….json``); ``/api/files/<bucket>/<key>`` serves bytes with ranges; a missing record is
``{"message": "PID does not exist.", "status": 404}``. A closed-access record lists no files and its
bucket answers 403 without a login, as Invenio's files REST does.
"""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, Router

from ..data.b2share import B2SHARE_RECORDS, B2Record
from ..data.common import http_stamp, uid
from ..world import FileSpec, World
from .common import EntityResponse, html_response, json_response
from .storage import file_entity

BASE = "https://b2share.eudat.eu"
HOSTS = ("b2share.eudat.eu",)
COMMUNITY = "e9b9792e-79fb-4b07-b6b4-b9c2bd06d095"
FORBIDDEN = ("You don't have the permission to access the requested resource. It is either read-protected or not "
             "readable by the server.")


def _stamp(rec: B2Record) -> str:
    return f"{rec.publication_date}T16:42:48.974457+00:00"


def _entry(world: World, rec: B2Record, spec: FileSpec) -> dict[str, Any]:
    return {"bucket": rec.bucket, "checksum": f"md5:{world.digest(spec)}",
            "ePIC_PID": f"http://hdl.handle.net/{B2Record.epic(spec)}", "key": spec.key, "size": spec.size,
            "version_id": uid("b2share-version", spec.seed)}


def record_json(world: World, rec: B2Record) -> dict[str, Any]:
    meta = {
        "$schema": f"{BASE}/api/communities/{COMMUNITY}/schemas/0#/json_schema",
        "DOI": f"http://doi.org/{rec.doi}",
        "alternate_identifiers": [{"alternate_identifier": rec.doi, "alternate_identifier_type": "DOI"}],
        "community": COMMUNITY, "community_specific": {}, "contact_email": "data@example.org",
        "creators": [{"creator_name": c.name} for c in rec.creators],
        "descriptions": [{"description": f"{rec.title}.", "description_type": "Abstract"}],
        "disciplines": ["Mathematics"], "ePIC_PID": f"http://hdl.handle.net/11304/{uid('epic-record', rec.id)}",
        "keywords": ["sandbox"], "language": "eng",
        "license": {"license": "CC-BY-4.0", "license_uri": "https://creativecommons.org/licenses/by/4.0/"},
        "open_access": rec.open_access, "owners": [10], "publication_date": rec.publication_date,
        "publication_state": "published", "publisher": "EUDAT",
        "resource_types": [{"resource_type": "Data", "resource_type_general": "Dataset"}],
        "titles": [{"title": rec.title}], "version": rec.version,
    }
    doc: dict[str, Any] = {"created": _stamp(rec), "id": rec.id,
                           "links": {"files": f"{BASE}/api/files/{rec.bucket}", "self": f"{BASE}/api/records/{rec.id}"},
                           "metadata": meta, "updated": _stamp(rec)}
    if rec.inline_files and rec.open_access:
        doc["files"] = [_entry(world, rec, spec) for spec in rec.files]
    return doc


def bucket_json(world: World, rec: B2Record) -> dict[str, Any]:
    me = f"{BASE}/api/files/{rec.bucket}"
    contents = []
    for spec in rec.files:
        url = f"{me}/{quote(spec.key)}"
        version = uid("b2share-version", spec.seed)
        contents.append({"mimetype": spec.mimetype, "updated": _stamp(rec),
                         "links": {"self": url, "version": f"{url}?versionId={version}", "uploads": f"{url}?uploads"},
                         "is_head": True, "created": _stamp(rec), "checksum": f"md5:{world.digest(spec)}",
                         "version_id": version, "delete_marker": False, "key": spec.key, "size": spec.size})
    return {"max_file_size": 1048576000, "updated": _stamp(rec), "locked": True,
            "links": {"self": me, "uploads": f"{me}?uploads", "versions": f"{me}?versions"},
            "created": _stamp(rec), "quota_size": None, "id": rec.bucket, "contents": contents,
            "size": sum(s.size for s in rec.files)}


def make_app(world: World) -> Router:
    records = {r.id: r for r in B2SHARE_RECORDS}
    buckets = {r.bucket: r for r in B2SHARE_RECORDS}

    def missing(message: str = "PID does not exist.") -> Response:
        return json_response({"message": message, "status": 404}, 404)

    def forbidden() -> Response:
        return json_response({"message": FORBIDDEN, "status": 403}, 403)

    async def record(request: Request) -> Response:
        rec = records.get(request.path_params["rid"])
        return json_response(record_json(world, rec)) if rec else missing()

    async def bucket(request: Request) -> Response:
        rec = buckets.get(request.path_params["bucket"])
        if rec is None:
            return missing("Bucket does not exist.")
        return json_response(bucket_json(world, rec)) if rec.open_access else forbidden()

    async def content(request: Request) -> Any:
        rec = buckets.get(request.path_params["bucket"])
        spec = next((s for s in rec.files if s.key == request.path_params["key"]), None) if rec else None
        if rec is None or spec is None:
            return missing("Object does not exists.")
        if not rec.open_access:
            return forbidden()
        return EntityResponse(file_entity(world, spec, http_stamp(rec.publication_date), request.scope,
                                          filename=spec.key))

    async def landing(request: Request) -> Response:
        rec = records.get(request.path_params["rid"])
        title = rec.title if rec else "B2SHARE"
        return html_response(f"<!DOCTYPE html><html><head><title>{escape(title)}</title></head><body>"
                             "<div id=\"page\"></div><script src=\"/app.js\"></script></body></html>")

    async def other(request: Request) -> Response:
        return missing("The requested URL was not found on the server.")

    get = ["GET"]
    return Router(routes=[
        Route("/api/records/{rid}", record, methods=get),
        Route("/api/files/{bucket}", bucket, methods=get),
        Route("/api/files/{bucket}/{key:path}", content, methods=get),
        Route("/records/{rid}", landing, methods=get),
        Route("/{rest:path}", other, methods=get),
    ])


def make_sites(world: World) -> dict[str, Any]:
    app = make_app(world)
    return {host: app for host in HOSTS}


__all__ = ["HOSTS", "bucket_json", "make_app", "make_sites", "record_json"]
