"""The gateway's OpenAPI 3.1 document and its interactive docs page.

Why written out rather than generated: the one dataset route is content-negotiated and its
query parameters change what it returns (manifest, file, archive, subset), which is exactly
what a generator cannot infer from a handler. The docs page is Swagger UI served from the
``swagger-ui-bundle`` package when installed (offline), else from a CDN.
"""

from __future__ import annotations

from typing import Any

from .. import __version__

_PROBLEM = {"description": "a problem (RFC 9457)", "content": {"application/problem+json": {
    "schema": {"$ref": "#/components/schemas/Problem"}}}}


def _param(name: str, description: str, *, many: bool = False, enum: list[str] | None = None,
           example: str | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    if enum:
        schema["enum"] = enum
    if many:
        schema = {"type": "array", "items": schema}
    out: dict[str, Any] = {"name": name, "in": "query", "required": False, "description": description, "schema": schema}
    if many:
        out.update(style="form", explode=True)
    if example:
        out["example"] = [example] if many else example
    return out


_DATASET_PARAMS = [
    {"name": "identifier", "in": "path", "required": True, "example": "10.5281/zenodo.1215979",
     "description": "A DOI (``10.x/y``, ``doi:…``) or handle (``hdl:…``); slashes stay as they are.",
     "schema": {"type": "string"}},
    _param("file", "Glob(s) choosing files, same rules as the CLI's --include. One match and no "
           "``archive``: the file itself (redirect or stream; Range honoured). Several: 300 with the list, "
           "or add ``archive``.", many=True, example="*.json"),
    _param("include", "rsync-like include glob(s) (filters the manifest or the archive)", many=True),
    _param("exclude", "rsync-like exclude glob(s); excludes win", many=True),
    _param("archive", "Stream the selection as one stored zip (ZIP64 when needed) or pax tar, with an exact "
           "Content-Length when sizes are known; every member is verified while streaming.", enum=["zip", "tar"]),
    _param("format", "Representation, overriding Accept: json, html, metalink, linkset, linkset-text, csv, "
           "ndjson, urls, aria2, md5sum, sha1sum, sha256sum, sha512sum"),
    _param("mode", "One selected file: redirect to the origin or stream it through (if the operator allows)",
           enum=["redirect", "stream"]),
    _param("extract", "With file=X.zip: a member's path inside the remote zip"),
    _param("list", "With file=X.zip: list the archive's members", enum=["members"]),
    _param("dataset", "With file=X.h5: an HDF5 dataset path"),
    _param("slice", "With dataset=: a NumPy-style slice, e.g. 0:10,::2"),
    _param("where", "With a tabular file: a row filter"),
]

_MANIFEST_CONTENT = {
    "application/json": {"schema": {"$ref": "#/components/schemas/Manifest"}},
    "text/html": {"schema": {"type": "string"}},
    "application/metalink4+xml": {"schema": {"type": "string"}},
    "application/linkset+json": {"schema": {"type": "object"}},
    "application/linkset": {"schema": {"type": "string"}},
}


def document() -> dict[str, Any]:
    """The OpenAPI document (a fresh dict each call)."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "doi2data gateway", "version": __version__,
                 "description": "Give it a dataset DOI, get the data: manifests, single files, verified zip/tar "
                                "archives and subsets, with FAIR Signposting on every dataset response."},
        "paths": {
            "/{identifier}": {"get": {
                "summary": "A dataset: manifest, file, archive or subset",
                "description": "Content-negotiated (Accept or ?format=). Every response carries FAIR Signposting "
                               "Link headers: cite-as, describedby, type, license, item (capped), linkset.",
                "operationId": "dataset",
                "parameters": _DATASET_PARAMS,
                "responses": {
                    "200": {"description": "the manifest (negotiated), a file or an archive",
                            "headers": {"Link": {"schema": {"type": "string"}, "description": "FAIR Signposting"}},
                            "content": {**_MANIFEST_CONTENT, "application/zip": {"schema": {"type": "string", "format": "binary"}},
                                        "application/x-tar": {"schema": {"type": "string", "format": "binary"}},
                                        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
                    "206": {"description": "a byte range of a single file (passed on from the origin)"},
                    "300": {"description": "several files match ?file= and no archive was asked for",
                            "content": _MANIFEST_CONTENT},
                    "302": {"description": "redirect to the file at the origin"},
                    "304": {"description": "not modified (If-None-Match)"},
                    **{str(s): _PROBLEM for s in (400, 403, 404, 406, 413, 414, 422, 429, 501, 502, 503, 504)},
                }}},
            "/healthz": {"get": {"summary": "Liveness and cache reachability", "operationId": "health",
                                 "responses": {"200": {"description": "ok", "content": {"application/json": {
                                     "schema": {"type": "object"}}}}, "503": _PROBLEM}}},
            "/openapi.json": {"get": {"summary": "This document", "operationId": "openapi",
                                      "responses": {"200": {"description": "OpenAPI 3.1"}}}},
        },
        "components": {"schemas": {
            "Problem": {"type": "object", "properties": {
                "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                "detail": {"type": "string"}, "instance": {"type": "string"}, "error": {"type": "string"},
                "exit_code": {"type": "integer"}}},
            "File": {"type": "object", "properties": {
                "path": {"type": "string"}, "size": {"type": ["integer", "null"]},
                "checksums": {"type": "object", "additionalProperties": {"type": "string"}},
                "url": {"type": ["string", "null"]}, "urls": {"type": "array", "items": {"type": "string"}},
                "media_type": {"type": ["string", "null"]},
                "access": {"type": "string", "enum": ["open", "restricted", "embargoed", "offline", "external"]}}},
            "Manifest": {"type": "object", "properties": {
                "doi": {"type": ["string", "null"]}, "title": {"type": ["string", "null"]},
                "repository": {"type": ["string", "null"]}, "landing_url": {"type": ["string", "null"]},
                "dataset": {"type": "object"}, "total_size": {"type": "integer"}, "file_count": {"type": "integer"},
                "files": {"type": "array", "items": {"$ref": "#/components/schemas/File"}},
                "warnings": {"type": "array", "items": {"type": "string"}}}},
        }},
    }


def swagger_assets() -> str | None:
    """Directory of the locally installed Swagger UI files, if ``swagger-ui-bundle`` is there."""
    try:
        import swagger_ui_bundle  # type: ignore[import-untyped]
    except ImportError:
        return None
    return str(swagger_ui_bundle.swagger_ui_path)


CDN_ASSETS = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5"

__all__ = ["CDN_ASSETS", "document", "swagger_assets"]
