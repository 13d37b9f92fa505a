"""The gateway's OpenAPI 3.1 document and its interactive docs page.

Why written out rather than generated: the one dataset route is content-negotiated and its
query parameters change what it returns (manifest, file, archive, subset), which is exactly
what a generator cannot infer from a handler. The docs page is Swagger UI served from the
``swagger-ui-bundle`` package when installed (offline), else from a CDN.
"""

from __future__ import annotations

from typing import Any

from .._version import __version__

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
    _param("datasets", "Datasets inside the DOI (where the repository lists them), by the CLI's --dataset "
           "expression over name, kind (raw/processed/other), sample, technique, instrument, start, end, files, "
           "size and parameters by name; narrows the manifest, an archive or a where= scan.",
           example="kind == 'processed' and sample like 'lyso*'"),
    _param("archive", "Stream the selection as one stored zip (ZIP64 when needed) or pax tar, with an exact "
           "Content-Length when sizes are known; every member is verified while streaming. With ``where``: "
           "the matching frames (CBF files as they are, HDF5 stacks as new files holding just those frames).",
           enum=["zip", "tar"]),
    _param("format", "Representation, overriding Accept. Manifests: json, html, metalink, linkset, linkset-text, "
           "csv, ndjson, urls, aria2, md5sum, sha1sum, sha256sum, sha512sum. HDF5 slices: npy (default; "
           "application/x-npy, numpy.load reads it), hdf5 (application/x-hdf5: the slab in a small HDF5 file "
           "with its attributes and provenance) or json ({shape, dtype, data}; at most 1,000,000 values)."),
    _param("page", "HTML page only: which 2,000 files of the (filtered) manifest the table shows, from 1; the "
           "page links to the pages before and after it.", example="2"),
    _param("mode", "One selected file: redirect to the origin or stream it through (if the operator allows)",
           enum=["redirect", "stream"]),
    _param("extract", "With file=X.zip or a tar (.tar, .tar.gz, .tgz, .tar.bz2, .tar.xz): one member's path "
           "inside it, streamed with its Content-Type, Content-Disposition and exact Content-Length; zip members "
           "are CRC-checked, tar members size-checked, before the last chunk is sent. Unknown member: 400.",
           example="frames/frame_00003.cbf"),
    _param("list", "With file=X.zip or a tar: the archive's members as JSON (zip: ranged reads of the central "
           "directory; tar: the archive is streamed once, it has no index)", enum=["members"]),
    _param("dataset", "With file=X.h5 (HDF5/NeXus): the path of a dataset; external links and virtual datasets "
           "are followed within the dataset's files. Unknown path or a group: 400 \"HDF5 dataset not found\".",
           example="/entry/data/data"),
    _param("slice", "With dataset=: the hyperslab, numpy-style and as the CLI's --hdf5: a:b, a:b:step, :, i "
           "(keeps its axis), negative indices; missing trailing axes are whole. Bad syntax or out of range: 400 "
           "\"Invalid slice\". Answer format: see format= (default .npy).", example="10:20,:,::2"),
    _param("where", "Frames chosen by metadata (CBF headers, NeXus angle arrays), with the CLI's safe grammar: "
           "names (omega, phi, chi, kappa, two_theta, exposure_time, wavelength, detector_distance, file, frame, "
           "...), numbers, quoted strings, == != < <= > >=, chains (90 <= omega < 120), in (...), like 'glob', "
           "and/or/not, parentheses. file=/include=/exclude= narrow the files scanned. Answer: the frame table "
           "as JSON, or with archive= the frames. Bad expression or unknown name: 400 \"Invalid where "
           "expression\".", example="omega >= 90 and omega < 120 and chi == 0"),
]

_SEARCH_PARAMS = [
    _param("q", "Free text (at most 1,000 printable characters)", example="lysozyme"),
    _param("source", "A configured source by name (default: the first; out of the box `panosc` and `datacite`)",
           example="panosc"),
    _param("facility", "Facility (PaN) or publisher (DataCite)", example="ESRF"),
    _param("technique", "Technique (PaN) or subject (DataCite)", example="x-ray absorption"),
    _param("param", "Scientific parameter NAME OP VALUE [UNIT] (PaN sources only; units converted, `A` is the "
           "ångström); repeat for ranges, at most 8", many=True, example="wavelength < 1.2 A"),
    _param("from", "From this date: YYYY, YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ", example="2020"),
    _param("until", "Until this date (same forms)", example="2024-12-31"),
    _param("limit", "Hits per page, 1 to 200 (default 20)", example="20"),
    _param("cursor", "Where the next page starts: the `cursor` of the previous page, with the same query"),
    _param("client", "DataCite client (repository) id (DataCite sources only)"),
    _param("provider", "DataCite provider (member) id (DataCite sources only)"),
    _param("type", "DataCite resource type (default dataset; `any` for all)"),
    _param("format", "Overrides Accept", enum=["json", "html"]),
]

_MANIFEST_CONTENT = {
    "application/json": {"schema": {"$ref": "#/components/schemas/Manifest"}},
    "text/html": {"schema": {"type": "string"}},
    "application/metalink4+xml": {"schema": {"type": "string"}},
    "application/linkset+json": {"schema": {"type": "object"}},
    "application/linkset": {"schema": {"type": "string"}},
}


#: the manifest schema's ``$defs`` as component names (``File`` kept from before the schema shipped)
_MANIFEST_DEFS = {"file": "File", "dataset": "Dataset", "datasetInfo": "DatasetInfo", "access": "Access",
                  "nullableString": "NullableString"}


def _manifest_components() -> dict[str, Any]:
    """``Manifest`` and its parts from the shipped JSON Schema (``doi2data-manifest/1``).

    Why not written out here: ``ls --json``, the gateway's JSON and this document are one contract;
    a second, hand-written copy drifted (it lacked ``schema``, ``note``, ``bad_checksums``).
    """
    from ..schemas import load_schema

    def local(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return {**node, "$ref": f"#/components/schemas/{_MANIFEST_DEFS[ref.removeprefix('#/$defs/')]}"}
            return {k: local(v) for k, v in node.items()}
        return [local(v) for v in node] if isinstance(node, list) else node

    schema = load_schema()
    defs = schema.pop("$defs")
    manifest = {k: v for k, v in schema.items() if k not in ("$schema", "$id")}
    return {"Manifest": local(manifest), **{_MANIFEST_DEFS[name]: local(body) for name, body in defs.items()}}


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
                    "200": {"description": "the manifest (negotiated), a file, an archive, an archive member, an "
                                           "HDF5 slice (npy, hdf5 or json) or a frame table (JSON)",
                            "headers": {"Link": {"schema": {"type": "string"}, "description": "FAIR Signposting"}},
                            "content": {**_MANIFEST_CONTENT, "application/json": {"schema": {"oneOf": [
                                {"$ref": "#/components/schemas/Manifest"}, {"$ref": "#/components/schemas/FrameTable"},
                                {"$ref": "#/components/schemas/Slice"}, {"$ref": "#/components/schemas/Members"}]}},
                                        "application/zip": {"schema": {"type": "string", "format": "binary"}},
                                        "application/x-tar": {"schema": {"type": "string", "format": "binary"}},
                                        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
                                        "application/x-npy": {"schema": {"type": "string", "format": "binary"}},
                                        "application/x-hdf5": {"schema": {"type": "string", "format": "binary"}}}},
                    "206": {"description": "a byte range of a single file (passed on from the origin)"},
                    "300": {"description": "several files match ?file= and no archive was asked for",
                            "content": _MANIFEST_CONTENT},
                    "302": {"description": "redirect to the file at the origin"},
                    "304": {"description": "not modified (If-None-Match)"},
                    **{str(s): _PROBLEM for s in (400, 403, 404, 406, 413, 414, 422, 429, 502, 503, 504)},
                }}},
            "/search": {"get": {
                "summary": "Find datasets in the catalogues the operator configured",
                "description": "The CLI's `doi2data search` as one page per request: the PaN federated search "
                               "API and DataCite by default (the operator's `search_sources`; callers choose "
                               "one by name and never give an endpoint URL: `endpoint=`, `oai=` and the like "
                               "are a 400). JSON, or with Accept: text/html (or format=html) a results page "
                               "whose hits link to the dataset pages. Page on with `next` (or `cursor`) until "
                               "it is null; a PaN page may hold fewer hits than `limit`. Answers are cached "
                               "for 60 s.",
                "operationId": "search",
                "parameters": _SEARCH_PARAMS,
                "responses": {
                    "200": {"description": "one page of hits", "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/SearchPage"}},
                        "text/html": {"schema": {"type": "string"}}}},
                    **{str(s): _PROBLEM for s in (400, 404, 406, 414, 429, 502, 503, 504)},
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
            **_manifest_components(),
            "FrameTable": {"type": "object", "description": "?where= (the CLI's frames --json document)",
                           "properties": {
                "doi": {"type": ["string", "null"]}, "where": {"type": "string"},
                "datanames": {"type": "array", "items": {"type": "string"}}, "frame_count": {"type": "integer"},
                "frames": {"type": "array", "items": {"type": "object", "description": "file, frame, dataset and "
                                                      "one value per dataname"}},
                "files_scanned": {"type": "integer"}, "requests": {"type": "integer"},
                "bytes_received": {"type": "integer"}, "table_cached": {"type": "boolean"},
                "messages": {"type": "array", "items": {"type": "string"}}}},
            "Slice": {"type": "object", "description": "?dataset=&slice=&format=json", "properties": {
                "file": {"type": "string"}, "dataset": {"type": "string"}, "selection": {"type": "string"},
                "shape": {"type": "array", "items": {"type": "integer"}}, "dtype": {"type": "string"},
                "data": {"description": "nested arrays of the values"}}},
            "SearchPage": {"type": "object", "properties": {
                "query": {"type": "string"}, "source": {"type": "string"}, "limit": {"type": "integer"},
                "hits": {"type": "array", "items": {"type": "object", "properties": {
                    "doi": {"type": ["string", "null"]}, "title": {"type": "string"},
                    "facility": {"type": ["string", "null"]}, "year": {"type": ["integer", "null"]},
                    "size": {"type": ["integer", "null"], "description": "bytes, where the source knows them"},
                    "url": {"type": ["string", "null"], "description": "the dataset's path on this gateway"},
                    "source": {"type": "string"}, "id": {"type": ["string", "null"]},
                    "techniques": {"type": "array", "items": {"type": "string"}},
                    "landing_url": {"type": ["string", "null"]}}}},
                "next": {"type": ["string", "null"], "description": "the next page's path (null: the last page)"},
                "cursor": {"type": ["string", "null"]}}},
            "Members": {"type": "object", "description": "?list=members of a zip or tar", "properties": {
                "file": {"type": "string"}, "size": {"type": ["integer", "null"]}, "format": {"enum": ["zip", "tar"]},
                "members": {"type": "array", "items": {"type": "object"}}, "requests": {"type": "integer"},
                "bytes_received": {"type": "integer"}}},
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
