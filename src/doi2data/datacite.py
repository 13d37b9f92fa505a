"""DataCite REST API: descriptive metadata for a DOI, and which repository (client) registered it.

DataCite is never a file lister (``contentUrl`` is almost always null, ``sizes`` are free text),
but one small request gives a title, creators, licence and the registering client, which is the
best repository hint we have. The parser is pure and tolerant of field drift (the attribute set
of one DOI grew between 2021 and 2026); only a document that is not a single JSON:API DOI record
at all is an error, and then always :class:`~doi2data.errors.RepositoryError`, so callers never
see ``KeyError``/``TypeError`` from someone else's JSON.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from .errors import RecordNotFound, RepositoryError
from .http import Http
from .model import Dataset

DATACITE_API = "https://api.datacite.org"
#: Characters kept literally in the DOI path segment (``/`` separates prefix and suffix; ``:``
#: and ``+`` occur in real DOIs and are legal in a path); everything else is percent-encoded.
_DOI_PATH_SAFE = "/:+"
_ACCESS_RIGHTS_PREFIX = "info:eu-repo/semantics/"


def _str(value: Any) -> str | None:
    """A stripped, whitespace-collapsed non-empty string, or ``None`` for anything else."""
    if isinstance(value, str):
        text = " ".join(value.split())
        return text or None
    return None


def _dicts(value: Any) -> list[Mapping[str, Any]]:
    """The mapping items of a JSON array (DataCite arrays may hold nulls or junk after drift)."""
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, Mapping)]


def _data(doc: Any) -> Mapping[str, Any]:
    if not isinstance(doc, Mapping):
        raise RepositoryError("DataCite answer is not a JSON object")
    data = doc.get("data")
    if isinstance(data, list):
        raise RepositoryError("DataCite answer is a list of DOIs, not a single DOI record")
    if not isinstance(data, Mapping) or not isinstance(data.get("attributes"), Mapping):
        raise RepositoryError("DataCite answer has no data.attributes (not a JSON:API DOI record)")
    return data


def _title(attrs: Mapping[str, Any]) -> str | None:
    titles = _dicts(attrs.get("titles"))
    main = [t for t in titles if not t.get("titleType")]
    for entry in main + titles:
        if text := _str(entry.get("title")):
            return text
    return None


def _creator(entry: Mapping[str, Any]) -> str | None:
    if name := _str(entry.get("name")):
        return name
    family, given = _str(entry.get("familyName")), _str(entry.get("givenName"))
    if family and given:
        return f"{family}, {given}"
    return family or given


def _publisher(value: Any) -> str | None:
    if isinstance(value, Mapping):  # ?publisher=true gives {"name": ..., "publisherIdentifier": ...}
        return _str(value.get("name"))
    return _str(value)


def _year(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value < 10000 else None
    text = _str(value)
    match = re.match(r"^(\d{4})\b", text or "")
    return int(match.group(1)) if match else None


def _license(attrs: Mapping[str, Any]) -> str | None:
    """Prefer an SPDX-identified rightsUri, then any licence URI, then the first rights text.

    ``info:eu-repo/semantics/openAccess`` and friends are access statements, not licences.
    """
    entries = []
    for entry in _dicts(attrs.get("rightsList")):
        uri = _str(entry.get("rightsUri"))
        if uri and uri.lower().startswith(_ACCESS_RIGHTS_PREFIX):
            continue
        entries.append((entry, uri))
    spdx = [uri for entry, uri in entries if uri and (entry.get("rightsIdentifier") or
            str(entry.get("rightsIdentifierScheme", "")).upper() == "SPDX")]
    uris = [uri for _, uri in entries if uri]
    texts = [text for entry, _ in entries if (text := _str(entry.get("rights")))]
    for candidates in (spdx, uris, texts):
        if candidates:
            return candidates[0]
    return None


def _resource_type(value: Any) -> str | None:
    if not isinstance(value, Mapping):
        return None
    general, specific = _str(value.get("resourceTypeGeneral")), _str(value.get("resourceType"))
    if general and specific and specific.lower() != general.lower():
        return f"{general}/{specific}"
    return general or specific


def _client_attributes(doc: Mapping[str, Any]) -> Mapping[str, Any] | None:
    wanted = datacite_client_id(doc)
    clients = [i for i in _dicts(doc.get("included")) if i.get("type") == "clients"]
    for item in sorted(clients, key=lambda i: i.get("id") != wanted):
        attrs = item.get("attributes")
        if isinstance(attrs, Mapping):
            return attrs
    return None


def datacite_client_id(doc: Mapping[str, Any]) -> str | None:
    """The registering client (``cern.zenodo``, ``gdcc.harvard-dv`` ...): the best repository router.

    Read from ``data.relationships.client``, else from an included client; ``None`` if absent.
    """
    if not isinstance(doc, Mapping):
        return None
    data = doc.get("data")
    rel = data.get("relationships") if isinstance(data, Mapping) else None
    client = rel.get("client") if isinstance(rel, Mapping) else None
    ref = client.get("data") if isinstance(client, Mapping) else None
    if isinstance(ref, Mapping) and (cid := _str(ref.get("id"))):
        return cid
    for item in _dicts(doc.get("included")):
        if item.get("type") == "clients" and (cid := _str(item.get("id"))):
            return cid
    return None


def parse_datacite(doc: Mapping[str, Any]) -> Dataset:
    """Turn a ``GET /dois/<doi>?include=client`` document into a :class:`Dataset` (pure).

    Raises :class:`RepositoryError` when the document is not a single DOI record.
    """
    data = _data(doc)
    attrs: Mapping[str, Any] = data["attributes"]
    client = _client_attributes(doc)
    version = attrs.get("version")
    return Dataset(
        doi=_str(attrs.get("doi")) or _str(data.get("id")),
        title=_title(attrs),
        creators=tuple(name for c in _dicts(attrs.get("creators")) if (name := _creator(c))),
        publisher=_publisher(attrs.get("publisher")),
        year=_year(attrs.get("publicationYear")),
        version=_str(str(version)) if isinstance(version, (str, int)) and not isinstance(version, bool) else None,
        license=_license(attrs),
        resource_type=_resource_type(attrs.get("types")),
        landing_url=_str(attrs.get("url")),
        repository=_str(client.get("name")) if client else None,
    )


def datacite_url(doi: str) -> str:
    """``https://api.datacite.org/dois/<doi>``, the DOI percent-encoded except ``/ : +``."""
    return f"{DATACITE_API}/dois/{quote(doi.strip(), safe=_DOI_PATH_SAFE, errors='surrogatepass')}"


def datacite_content_urls(doc: Mapping[str, Any]) -> tuple[str, ...]:
    """``data.attributes.contentUrl`` as absolute http(s) URLs (null, ``[]``, a string or a list)."""
    data = doc.get("data") if isinstance(doc, Mapping) else None
    attrs = data.get("attributes") if isinstance(data, Mapping) else None
    value = attrs.get("contentUrl") if isinstance(attrs, Mapping) else None
    values = value if isinstance(value, list) else [value]
    urls = [text for v in values if (text := _str(v)) and text.lower().startswith(("http://", "https://"))]
    return tuple(dict.fromkeys(urls))


#: DOIs of parts read from one record at most (a collection listing more is cut, with a warning later)
MAX_PARTS = 200
_PART_DOI = re.compile(r"10\.\d{4,9}/\S{1,300}")


def datacite_parts(doc: Mapping[str, Any]) -> tuple[str, ...]:
    """The DOIs ``relatedIdentifiers`` name with ``relationType: HasPart`` (a collection's datasets), in order.

    Only ``relatedIdentifierType: DOI`` entries that look like a DOI (``https://doi.org/`` prefixes
    dropped), without duplicates, at most :data:`MAX_PARTS`; anything else is ignored.
    """
    data = doc.get("data") if isinstance(doc, Mapping) else None
    attrs = data.get("attributes") if isinstance(data, Mapping) else None
    related = _dicts(attrs.get("relatedIdentifiers")) if isinstance(attrs, Mapping) else []
    out: dict[str, None] = {}
    for item in related:
        if str(item.get("relationType") or "").lower() != "haspart":
            continue
        if str(item.get("relatedIdentifierType") or "").upper() != "DOI":
            continue
        value = _str(item.get("relatedIdentifier")) or ""
        for prefix in ("https://doi.org/", "http://doi.org/", "https://dx.doi.org/", "doi:"):
            if value.lower().startswith(prefix):
                value = value[len(prefix):]
        if _PART_DOI.fullmatch(value) and value.lower() not in {k.lower() for k in out}:
            out[value] = None
            if len(out) >= MAX_PARTS:
                break
    return tuple(out)


@dataclass(frozen=True)
class DataCiteRecord:
    """One DataCite answer, parsed: descriptive metadata plus the routing facts detection needs."""

    dataset: Dataset
    client_id: str | None = None
    content_urls: tuple[str, ...] = ()
    parts: tuple[str, ...] = ()  # HasPart DOIs: the datasets of a collection


def parse_datacite_record(doc: Mapping[str, Any]) -> DataCiteRecord:
    """:func:`parse_datacite` plus the client id, ``contentUrl`` and HasPart DOIs (pure; same errors)."""
    return DataCiteRecord(parse_datacite(doc), datacite_client_id(doc), datacite_content_urls(doc),
                          datacite_parts(doc))


async def fetch_datacite_record(doi: str, http: Http) -> DataCiteRecord | None:
    """The DataCite record for ``doi``; ``None`` on 404 (the DOI is simply not DataCite's).

    Other failures raise as :meth:`Http.get_json` does (AccessDenied, RepositoryError, NetworkError).
    """
    try:
        doc = await http.get_json(
            datacite_url(doi),
            params={"include": "client"},
            headers={"Accept": "application/vnd.api+json, application/json;q=0.9"},
            not_found=RecordNotFound,
            what="DataCite DOI record",
        )
    except RecordNotFound:
        return None
    return parse_datacite_record(doc)


async def fetch_datacite(doi: str, http: Http) -> Dataset | None:
    """DataCite metadata for ``doi``; ``None`` on 404 (see :func:`fetch_datacite_record`)."""
    record = await fetch_datacite_record(doi, http)
    return record.dataset if record is not None else None


__all__ = ["DATACITE_API", "MAX_PARTS", "DataCiteRecord", "datacite_client_id", "datacite_content_urls",
           "datacite_parts", "datacite_url",
           "fetch_datacite", "fetch_datacite_record", "parse_datacite", "parse_datacite_record"]
