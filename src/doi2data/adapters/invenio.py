"""InvenioRDM (and legacy Invenio v3) records: Zenodo, CaltechDATA, TU Wien, TU Graz, ...

One pure parser, :func:`parse_record`, takes every shape seen in the wild, because Zenodo's
2023-10-13 migration showed that clients break on API drift, not on new features:

* legacy Invenio v3: ``files[]`` of ``bucket/key/size/checksum``, ``links.self = /api/files/<bucket>/<key>``;
* InvenioRDM's legacy-compatible serializer: ``files[]`` with ``links.self = /api/records/<id>/files/<key>/content``;
* migration week: ``filename``/``filesize``, bare md5, ``links.self`` at a file uuid that 404s
  (rebuilt as ``/api/records/<id>/files/<key>/content``, as zenodo_get does);
* the ``/files`` endpoint ``{"entries": [...]}`` and RDM-native ``files.entries`` keyed by name.

Servers put raw keys (spaces, ``/``, non-ASCII) into links, so URLs are re-quoted and the ``%2F``
content URL is kept as a mirror. File order differs between shapes, so files are sorted by path.

Versions: in InvenioRDM every version is its own record with its own DOI, so the version DOI is the
natural way to name one. ``RecordRef.version`` (``--version``) is a convenience on top: the record's
``links.versions`` list (one more request, pages of 100) is searched for the version *label* the
record page shows (``metadata.version``, ``v`` prefix ignored), else, for a number N, the N-th
version (``versions.index``, or the legacy ``relations.version[0].index`` + 1); that hit is the
listing (it is a full record). The manifest names the chosen version's own DOI.

Rules as of 2026 (checked 2026-12-06):

* File ``status``: InvenioRDM's files endpoint reports each entry's ``status`` (``completed`` in
  every recording, e.g. ``record-4924875-files-endpoint-rdm.json``; ``pending`` while an upload or a
  remote fetch is unfinished). Where a status is given and is not ``completed``, the file is listed
  ``offline`` with a note and a warning, and never fetched (its content is not there yet); the
  legacy-compatible record serializer gives no status, so inline files are taken as they are.
* ``/versions`` is a records *search*: 30 requests/minute for everyone and at most 25 hits per page
  for anonymous clients (a larger ``size`` is refused with 400) since 2025-11-14
  (blog.zenodo.org/2025/11/25/2025-11-14-search-api-updates, developers.zenodo.org#rate-limiting;
  peers hit both: zen4R #203, boutiques #722, software-citation-station #104/#107). Pages of
  :data:`VERSIONS_PAGE`, each request paced by :data:`doi2data.transfer.limits.SEARCH_GATE` on top
  of the host's own rate.
"""

from __future__ import annotations

import asyncio
import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from ..entry_stream import emit
from ..errors import AccessDenied, RecordNotFound, RepositoryError
from ..filelist import FileList, FileListBuilder
from ..http import Http
from ..model import Access, Dataset, FileEntry, Manifest, parse_prefixed_checksum
from ..transfer.limits import SEARCH_GATE
from ..urlquote import quote
from ._json import mapping as _map
from ._json import size as _size
from ._json import text as _str
from ._versions import version_missing
from .base import RecordRef, Resolved

ZENODO_HOSTS = {"zenodo.org": "zenodo.org", "www.zenodo.org": "zenodo.org", "sandbox.zenodo.org": "sandbox.zenodo.org"}
#: InvenioRDM instances known to serve ``/api/records/<id>`` (any path shape is trusted there).
KNOWN_HOSTS = frozenset("""data.caltech.edu researchdata.tuwien.ac.at researchdata.tuwien.at repository.tugraz.at
    freidata.uni-freiburg.de gkhub.earthobservations.org archive.materialscloud.org fdat.uni-tuebingen.de
    archive.nfdi4plants.org datarepository.kth.se prism.northwestern.edu ultraviolet.library.nyu.edu
    inveniordm.web.cern.ch""".split())
_ZENODO_DOI = re.compile(r"^10\.(5281|5072)/zenodo\.(\d+)$", re.IGNORECASE)
_ANY_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")  # on known hosts (Materials Cloud: 2022.126)
_STRICT_ID = re.compile(r"^(\d{1,12}|[0-9a-z]{5}-[0-9a-z]{5})$")  # unknown hosts: integer or RDM pid
_URL_OK = frozenset(string.ascii_letters + string.digits + "-._~:/?#[]@!$&'()*+,;=")
_PCT = re.compile(r"%[0-9A-Fa-f]{2}")
_NEEDS_QUOTING = re.compile(r"[^A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]|%(?![0-9A-Fa-f]{2})")
_SEGMENT_SAFE = "/!$&'()*+,;=:@"  # keep '/': the server itself put the key there raw
_METADATA_LINK = re.compile(r"/records/[^/]+/files/.+")  # per-file JSON (or a migration uuid), not bytes




def _text(value: Any) -> str | None:
    """A string, or the English (else first) value of an RDM i18n dict like ``{"en": "Dataset"}``."""
    if isinstance(value, Mapping):
        return _str(value.get("en")) or next((t for v in value.values() if (t := _str(v))), None)
    return _str(value)


def _requote(url: str) -> str:
    """Percent-encode what may not appear in a URL (spaces, non-ASCII, stray ``%``); keep ``%XX``."""
    if not _NEEDS_QUOTING.search(url):
        return url  # the usual case, one regex scan (a record lists up to tens of thousands of links)
    out, i = [], 0
    while i < len(url):
        if _PCT.match(url, i):
            out.append(url[i : i + 3])
            i += 3
            continue
        ch = url[i]
        out.append(ch if ch in _URL_OK else quote(ch, ""))
        i += 1
    return "".join(out)


def content_url(api_base: str, record_id: str, key: str) -> str:
    """The InvenioRDM download URL ``<api_base>/api/records/<id>/files/<key>/content``."""
    rid, k = quote(record_id, ""), quote(key, "")
    return f"{api_base.rstrip('/')}/api/records/{rid}/files/{k}/content"


def _checksums(value: Any) -> dict[str, str]:
    """``"md5:<hex>"``, or the migration shape's bare md5 hex."""
    if not isinstance(value, str) or ":" in value:
        return parse_prefixed_checksum(value) if isinstance(value, str) else {}
    return {"md5": value}  # FileEntry normalises it, or keeps a malformed one aside to report it



def _distinct(urls: list[str]) -> tuple[str, ...]:
    """Drop URLs that differ only in escaping (``(`` vs ``%28``); ``%2F`` vs ``/`` is a real difference."""
    if len(urls) < 2:
        return tuple(urls)
    seen: dict[str, str] = {}
    for url in urls:
        seen.setdefault(unquote(re.sub("%2[Ff]", "\0", url)) if "%" in url else url, url)
    return tuple(seen.values())


def _usable_link(name: str, link: Any, key: str, api_base: str) -> str | None:
    """A download URL from ``links.<name>``, or ``None`` if it is missing or not the file's bytes."""
    if not isinstance(link, str) or not link.strip():
        return None
    link = link.strip()
    try:
        if not link.lower().startswith(("http://", "https://")):  # absolute links need no join (the usual case)
            link = urljoin(api_base + "/", link)
        path = urlsplit(_requote(link)).path if name == "self" else ""
    except ValueError:
        return None
    if not link.lower().startswith(("http://", "https://")):
        return None
    if name == "self":
        per_file_json = _METADATA_LINK.search(unquote(path)) and not path.endswith("/content")
        if per_file_json or (key not in link and key not in unquote(link)):
            return None  # /files/<key> is per-file JSON; the migration's /files/<uuid> 404s
    for suffix in ("/content", ""):  # the server may have put the raw, unescaped key in the link
        if link.endswith(tail := f"/{key}{suffix}"):
            escaped = quote(key, _SEGMENT_SAFE)
            return f"{_requote(link[: -len(tail)])}/{escaped}{suffix}"
    return _requote(link)


def _file_entry(raw: Any, fallback_key: str | None, api_base: str, record_id: str | None,
                access: Access, note: str | None) -> FileEntry:
    if not isinstance(raw, Mapping):
        raise RepositoryError("file entry is not a JSON object")
    key = raw.get("key")
    migrated = not (isinstance(key, str) and key) and isinstance(raw.get("filename"), str)
    key = raw.get("filename") if migrated else key if isinstance(key, str) and key else fallback_key
    if not isinstance(key, str) or not key:
        raise RepositoryError("file entry has no key/filename")
    links = _map(raw.get("links"))
    urls = [u for name in ("content", "download", "self") if (u := _usable_link(name, links.get(name), key, api_base))
            ] if links else []
    if record_id:  # the documented content URL: first when the server's links are the broken migration ones
        fallback = content_url(api_base, record_id, key)
        urls = [fallback, *urls] if migrated else [*urls, fallback]
    mimetype = raw.get("mimetype")
    status = raw.get("status")
    if access == "open" and isinstance(status, str) and status.strip().lower() != "completed":
        access, note = "offline", f"not available yet: the repository reports its status as {status.strip()[:40]!r}"
    return FileEntry(
        path=key,
        size=_size(raw.get("filesize") if migrated and "size" not in raw else raw.get("size")),
        checksums=_checksums(raw.get("checksum")),
        urls=_distinct(urls),
        media_type=mimetype.strip() or None if isinstance(mimetype, str) else None,
        access=access,
        note=note,
    )


def _entries(files: Any) -> Iterable[tuple[Any, str | None]] | None:
    """(raw entry, dict key) pairs from any file-list shape; ``None`` when no list is inline."""
    entries = files.get("entries") if isinstance(files, Mapping) else files
    if isinstance(entries, list):
        return [(f, None) for f in entries]
    if isinstance(entries, Mapping):
        return [(f, k if isinstance(k, str) else None) for k, f in entries.items()]
    if entries is None:
        return None
    raise RepositoryError(f"unexpected 'files' shape: {type(entries).__name__}")


def _files(entries: Iterable[tuple[Any, str | None]], api_base: str, record_id: str | None,
           access: Access, note: str | None) -> tuple[tuple[FileEntry, ...], list[str]]:
    seen: dict[str, FileEntry] = {}
    warnings: list[str] = []
    for raw, key in entries:
        entry = _file_entry(raw, key, api_base, record_id, access, note)
        if entry.path in seen:
            warnings.append(f"duplicate file key {entry.path!r} listed twice; kept the first")
            continue
        seen[entry.path] = entry
    if unfinished := sum(1 for f in seen.values() if f.access == "offline"):
        warnings.append(f"{unfinished} file(s) not available yet (status other than 'completed'): listed, not fetched")
    return tuple(sorted(seen.values(), key=lambda f: f.path)), warnings


def _access(doc: Mapping[str, Any], meta: Mapping[str, Any]) -> tuple[Access, str | None]:
    """Legacy ``metadata.access_right`` or RDM ``access.{record,files,embargo}`` -> (access, note)."""
    right = (_str(meta.get("access_right")) or "").lower()
    acc = _map(doc.get("access"))
    embargo = _map(acc.get("embargo"))
    if embargo.get("active") is True or right == "embargoed":
        until = _str(embargo.get("until")) or _str(meta.get("embargo_date"))
        reason = _str(embargo.get("reason"))
        note = f"embargoed until {until}" if until else "embargoed"
        return "embargoed", f"{note} ({reason})" if reason else note
    if right == "closed":
        return "restricted", "closed access: the files are not available"
    if right == "restricted" or "restricted" in (acc.get("files"), acc.get("record")):
        return "restricted", "restricted: access must be requested (login or access token)"
    return "open", None


def _creators(value: Any) -> tuple[str, ...]:
    names = []
    for c in value if isinstance(value, list) else []:
        c = _map(c)
        person = _map(c.get("person_or_org")) or c
        family, given = _str(person.get("family_name")), _str(person.get("given_name"))
        name = _text(person.get("name")) or (f"{family}, {given}" if family and given else family or given)
        if name:
            names.append(name)
    return tuple(names)


def _license(meta: Mapping[str, Any]) -> str | None:
    """Legacy ``license: {"id": "cc-by-4.0"}`` or RDM ``rights: [{"id", "title": {"en"}}]``."""
    lic = meta.get("license")
    if isinstance(lic, Mapping):
        return _str(lic.get("id")) or _text(lic.get("title"))
    rights = meta.get("rights")
    for right in (_map(r) for r in (rights if isinstance(rights, list) else [])):
        if text := _str(right.get("id")) or _text(right.get("title")):
            return text
    return _str(lic)


def _pid(value: Any) -> str | None:
    return _str(_map(_map(_map(value).get("pids")).get("doi")).get("identifier"))


def repository_name(api_base: str) -> str:
    host = (urlsplit(api_base).hostname or api_base).lower()
    return "Zenodo" if host in ZENODO_HOSTS else host


def _dataset(doc: Mapping[str, Any], api_base: str, record_id: str | None, access: Access, note: str | None) -> Dataset:
    meta, links = _map(doc.get("metadata")), _map(doc.get("links"))
    doi = _str(doc.get("doi")) or _str(meta.get("doi")) or _pid(doc)
    year = re.match(r"^\d{4}", _str(meta.get("publication_date")) or "")
    rtype = meta.get("resource_type")
    repository = repository_name(api_base)
    return Dataset(
        doi=doi, title=_text(meta.get("title")) or _str(doc.get("title")), creators=_creators(meta.get("creators")),
        publisher=_text(meta.get("publisher")) or ("Zenodo" if repository == "Zenodo" else None),
        year=int(year.group()) if year else None, version=_str(meta.get("version")), license=_license(meta),
        resource_type=_text(_map(rtype).get("title")) or _str(_map(rtype).get("id")) or _str(_map(rtype).get("type")),
        repository=repository, landing_url=_str(links.get("self_html")) or _str(links.get("html")),
        record_id=record_id, concept_doi=_str(doc.get("conceptdoi")) or _pid(doc.get("parent")),
        version_doi=doi, access=access, note=note,
    )


def _record_id(doc: Mapping[str, Any], default: str | None) -> str | None:
    if rid := _str(doc.get("id")) or _str(doc.get("recid")):
        return rid
    match = re.search(r"/records/([^/?#]+)/files/?(?:[?#]|$)", _str(_map(doc.get("links")).get("self")) or "")
    return unquote(match.group(1)) if match else default


def parse_record(doc: Mapping[str, Any], api_base: str, *, record_id: str | None = None) -> Manifest:
    """Any Invenio record (or ``/files`` document) -> :class:`Manifest` (pure).

    ``record_id`` is only needed for a bare ``/files`` document that does not say whose it is.
    Raises :class:`RepositoryError` (and nothing else) when the JSON is not a record.
    """
    try:
        return _parse(doc, api_base.rstrip("/"), record_id)
    except RepositoryError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, UnicodeError) as exc:  # belt and braces
        raise RepositoryError(f"unexpected Invenio record shape ({type(exc).__name__}: {exc})") from exc


def _parse(doc: Any, api_base: str, record_id: str | None) -> Manifest:
    if not isinstance(doc, Mapping):
        raise RepositoryError("Invenio answer is not a JSON object")
    if "metadata" not in doc and "entries" in doc:  # the /api/records/<id>/files endpoint
        rid = _record_id(doc, record_id)
        files, warnings = _files(_entries(doc) or [], api_base, rid, "open", None)
        return Manifest(Dataset(doi=None, repository=repository_name(api_base), record_id=rid), files, tuple(warnings))
    if not isinstance(doc.get("metadata"), Mapping):
        raise RepositoryError("Invenio record has no 'metadata' object")
    rid = _record_id(doc, record_id)
    access, note = _access(doc, doc["metadata"])
    dataset = _dataset(doc, api_base, rid, access, note)
    files, warnings = _files(_entries(doc.get("files")) or [], api_base, rid, access, note)
    if not files and access != "open":
        warnings.append(_unlisted_warning(dataset))
    return Manifest(dataset, files, tuple(warnings))


def _unlisted_warning(ds: Dataset) -> str:
    """Not a failure of the tool: the repository keeps a restricted record's file list private."""
    return f"record {ds.record_id} is {ds.access}: no files are listed publicly ({ds.note})"


def files_link(doc: Mapping[str, Any], api_base: str) -> str | None:
    """URL of the ``/files`` list when the record has files enabled but none inline, else ``None``."""
    if not isinstance(doc, Mapping) or "metadata" not in doc:
        return None
    files = doc.get("files")
    if isinstance(files, list) or (isinstance(files, Mapping) and files.get("entries") is not None):
        return None
    if isinstance(files, Mapping) and files.get("enabled") is False:
        return None  # a metadata-only record
    link = _str(_map(doc.get("links")).get("files"))
    rid = _record_id(doc, None)
    if link:
        return _requote(urljoin(api_base.rstrip("/") + "/", link))
    return f"{api_base.rstrip('/')}/api/records/{quote(rid, '')}/files" if rid and files is not None else None


def _ref_from_url(url: str) -> RecordRef | None:
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not host:
        return None
    segs = [unquote(s) for s in parts.path.split("/") if s]
    zenodo = ZENODO_HOSTS.get(host)
    known = zenodo is not None or host in KNOWN_HOSTS
    rid = None
    if len(segs) >= 2 and segs[0] in ("records", "record", "uploads"):
        rid = segs[1] if known or segs[0] == "records" else None
    elif len(segs) >= 3 and segs[:2] == ["api", "records"]:
        rid = segs[2]
    elif zenodo and len(segs) == 3 and segs[0] == "doi" and (m := _ZENODO_DOI.match("/".join(segs[1:]))):
        rid = m.group(2)
    if not rid or not (_ANY_ID if known else _STRICT_ID).match(rid):
        return None
    api_base = f"https://{zenodo}" if zenodo else f"{parts.scheme}://{parts.netloc.rpartition('@')[2].lower()}"
    return RecordRef(adapter="invenio", api_base=api_base, record_id=rid, repository=repository_name(api_base))


class InvenioAdapter:
    """The :class:`~doi2data.adapters.base.Adapter` for every InvenioRDM instance (Zenodo is one)."""

    name = "invenio"
    supports_versions = True  # --version LABEL: picked from the record's /versions list

    def recognize(self, resolved: Resolved) -> RecordRef | None:
        """Landing URL shapes on Zenodo / known hosts, ``/records/<id>`` elsewhere, or a Zenodo DOI."""
        ref = _ref_from_url(resolved.landing_url or "")
        match = _ZENODO_DOI.match((resolved.doi or "").strip())
        if match and (ref is None or ref.repository != "Zenodo"):
            base = "https://sandbox.zenodo.org" if match.group(1) == "5072" else "https://zenodo.org"
            return RecordRef(adapter=self.name, api_base=base, record_id=match.group(2), repository="Zenodo")
        return ref

    async def list_files(self, ref: RecordRef, resolved: Resolved, http: Http) -> Manifest:
        """GET the record (a concept id redirects to the latest version), then ``/files`` if needed.

        Read with a streaming JSON parser (:mod:`._stream`): file entries go into the compact
        file list as they are parsed, so a record's parse tree is never held whole.
        """
        what = f"{ref.repository} record {ref.record_id}"
        url = f"{ref.api_base}/api/records/{quote(ref.record_id, '')}"
        try:
            doc, streamed = await _get_record(http, url, what, ref.api_base, ref.record_id, ref.version is None)
        except RecordNotFound as exc:  # a parent (concept) id: only Zenodo redirects /api/records/<parent>
            try:
                doc, streamed = await _get_record(http, f"{url}/versions/latest", what, ref.api_base, ref.record_id,
                                                  ref.version is None)
            except RecordNotFound:
                raise exc from None
        picked = None
        if ref.version is not None:
            doc, picked = await _pick_version(doc, ref, http)
        manifest = parse_record(doc, ref.api_base, record_id=picked or ref.record_id)
        if streamed is not None:
            manifest = replace(manifest, files=streamed[0], warnings=(*manifest.warnings, *streamed[1]))
        ds, warnings = manifest.dataset, list(manifest.warnings)
        if link := files_link(doc, ref.api_base):
            try:
                listing_doc, listed = await _get_record(http, link, f"{what} files", ref.api_base, ds.record_id,
                                                        ds.access == "open")
                listing = parse_record(listing_doc, ref.api_base, record_id=ds.record_id)
                if listed is not None:
                    listing = replace(listing, files=listed[0], warnings=(*listing.warnings, *listed[1]))
            except AccessDenied:
                if ds.access == "open":
                    raise
                listing = Manifest(ds)
            files = tuple(f if ds.access == "open" else replace(f, access=ds.access, note=ds.note)
                          for f in listing.files)
            warnings = [w for w in warnings if w != _unlisted_warning(ds)] + list(listing.warnings)
            if not files and ds.access != "open":
                warnings.append(_unlisted_warning(ds))
            manifest = replace(manifest, files=files)
        if resolved.metadata is not None and picked is None:  # DataCite describes the DOI typed, not the pick
            ds = ds.merged(resolved.metadata)
        user_doi = resolved.doi
        if picked is not None:  # another record: its own DOI, not the one the user typed
            own = ds.version_doi or ds.doi
            ds = replace(ds, doi=own or user_doi, repository=ref.repository)
            warnings.append(f"version {ref.version} is record {picked}" + (f" (DOI {own})" if own else ""))
            return replace(manifest, dataset=ds, warnings=tuple(warnings))
        ds = replace(ds, doi=user_doi or ds.doi, repository=ref.repository)
        if user_doi and ds.concept_doi and user_doi.lower() == ds.concept_doi.lower() and ds.version_doi \
                and ds.version_doi.lower() != user_doi.lower():
            warnings.append(f"concept DOI resolved to latest version {ds.version_doi}")
        elif ds.record_id and ds.record_id != ref.record_id and not user_doi:
            warnings.append(f"record {ref.record_id} resolved to latest version {ds.record_id}")
        return replace(manifest, dataset=ds, warnings=tuple(warnings))


SORT_OFF_LOOP = 20_000  # files: a listing longer than this is put in path order on a worker thread
_ENTRY_ARRAYS = ("files.entries", "entries", "files")


async def _get_record(http: Http, url: str, what: str, api_base: str, record_id: str | None,
                      stream: bool) -> tuple[Any, tuple[FileList, list[str]] | None]:
    """GET a record or ``/files`` document; with ``stream`` its file entries are parsed as they
    arrive (``(doc without entries, (files, warnings))``), else ``(doc, None)``.

    Why streaming: ``json.loads`` of a 1,000,000-file record holds a dict per file (~700 bytes
    each) plus the whole body. The fast path assumes the record is open and is ``record_id``;
    when the finished document says otherwise (restricted, another id, an odd shape) the record
    is fetched again and parsed the ordinary way, so the result is always the same.
    """
    if not stream:
        return await http.get_json(url, what=what), None
    import httpx
    import ijson
    from ijson.common import ObjectBuilder

    from ..http import BodyReader, raise_for_status, translate_transport_error

    response = await http.request("GET", url, headers={"Accept": "application/json"}, stream=True)
    doc_builder = ObjectBuilder()
    final = _ref_from_url(str(response.url))  # a concept id redirects to its latest version's record
    listed = _Listing(api_base, final.record_id if final and final.api_base == api_base.rstrip("/") and
                      "/files" not in response.url.path else record_id)
    events = ijson.sendable_list()
    parser = ijson.parse_coro(events, use_float=True)
    array: str | None = None
    item: ObjectBuilder | None = None
    item_prefix = ""

    def consume() -> None:
        nonlocal array, item, item_prefix
        for prefix, event, value in events:
            if item is not None:
                item.event(event, value)
                if prefix == item_prefix and event in ("end_map", "end_array"):
                    listed.add(item.value)
                    item = None
                continue
            if array is not None and prefix == item_prefix:
                if event in ("start_map", "start_array"):
                    item = ObjectBuilder()
                    item.event(event, value)
                else:
                    listed.add(value)  # not an object: _file_entry refuses it
                continue
            if prefix in ("id", "recid") and listed.where is None and (rid := _str(value)):
                # the record's own id (as _record_id reads it) when it comes before the files,
                # as Zenodo and InvenioRDM send it: the entries' content URLs need it
                if prefix == "id" or not listed.has_id:
                    listed.record_id, listed.has_id = rid, prefix == "id"
            if array is None and event == "start_array" and prefix in _ENTRY_ARRAYS and listed.where is None:
                array, item_prefix, listed.where = prefix, prefix + ".item", prefix
            elif array is not None and prefix == array and event == "end_array":
                array = None
            doc_builder.event(event, value)
        del events[:]

    try:
        raise_for_status(response, what=what)
        # the default API limit guards memory, which a streamed parse does not spend on the body;
        # a limit set on purpose (the gateway's --max-api-body) still holds
        reader = BodyReader(response, http.streamed_limit)
        try:
            body: bytes | None = response.content  # a body already read (test transports)
        except httpx.ResponseNotRead:  # the ordinary, streamed case
            body = None
        if body is not None:
            parser.send(body)
            consume()
        else:
            async for chunk in response.aiter_raw():
                for piece in reader.decode(chunk):
                    parser.send(piece)
                    consume()
        parser.close()
        consume()
    except ijson.JSONError as exc:
        raise RepositoryError(f"{what} at {url} is not valid JSON", url=url) from exc
    except httpx.TransportError as exc:  # the body broke off mid-listing: one line, exit 8 (re-run)
        raise translate_transport_error(exc, url) from exc
    finally:
        await response.aclose()
    doc = doc_builder.value
    if listed.where is None:
        return doc, None
    if not listed.fits(doc):
        return await http.get_json(url, what=what), None
    if len(listed.builder) > SORT_OFF_LOOP:  # sorting a million paths is a second of CPU: not on the event loop
        return doc, await asyncio.to_thread(listed.result)
    return doc, listed.result()


class _Listing:
    """File entries of a streamed record, kept compactly as they are parsed (see :func:`_files`)."""

    def __init__(self, api_base: str, record_id: str | None) -> None:
        self.api_base, self.record_id = api_base.rstrip("/"), record_id
        self.where: str | None = None
        self.has_id = False
        self.builder = FileListBuilder()
        self.seen: set[str] = set()
        self.warnings: list[str] = []
        self.offline = 0

    def add(self, raw: Any) -> None:
        entry = _file_entry(raw, None, self.api_base, self.record_id, "open", None)
        if entry.path in self.seen:
            self.warnings.append(f"duplicate file key {entry.path!r} listed twice; kept the first")
            return
        self.seen.add(entry.path)
        self.offline += entry.access == "offline"
        self.builder.append(entry)
        emit(entry)  # final unless the finished document does not fit (then the printer's check says so)

    def fits(self, doc: Any) -> bool:
        """The assumptions the entries were built under hold for the finished document."""
        if not isinstance(doc, Mapping):
            return False
        if self.where == "entries":
            shape_ok = "metadata" not in doc and doc.get("entries") == []
        elif self.where == "files":
            shape_ok = doc.get("files") == [] and isinstance(doc.get("metadata"), Mapping)
        else:
            files = doc.get("files")
            shape_ok = isinstance(files, Mapping) and files.get("entries") == [] \
                and isinstance(doc.get("metadata"), Mapping)
        if not shape_ok or _record_id(doc, None if self.where == "entries" else self.record_id) \
                not in (self.record_id, None):
            return False
        return "metadata" not in doc or _access(doc, _map(doc["metadata"]))[0] == "open"

    def result(self) -> tuple[FileList, list[str]]:
        self.seen.clear()
        if self.offline:
            self.warnings.append(f"{self.offline} file(s) not available yet (status other than 'completed'): "
                                 "listed, not fetched")
        return self.builder.build().sorted_by_path(), self.warnings


VERSIONS_PAGE = 25       # Zenodo's most for anonymous searches since 2025-11 (more is a 400)
MAX_VERSION_PAGES = 200


def version_label(hit: Mapping[str, Any]) -> tuple[str | None, int | None]:
    """(the version label, its 1-based position) of a record in a ``/versions`` listing. Pure."""
    meta = _map(hit.get("metadata"))
    label = _str(meta.get("version"))
    index = _map(hit.get("versions")).get("index")  # RDM: 1-based
    if not isinstance(index, int) or isinstance(index, bool):
        relations = meta.get("relations")
        legacy = _map(relations).get("version") if isinstance(relations, Mapping) else None
        first = _map(legacy[0]) if isinstance(legacy, list) and legacy else {}
        zero_based = first.get("index")  # legacy relations count from 0
        index = zero_based + 1 if isinstance(zero_based, int) and not isinstance(zero_based, bool) else None
    return label, index


def choose_version(hits: Iterable[Mapping[str, Any]], wanted: str) -> Mapping[str, Any] | None:
    """The hit whose label is ``wanted`` (``v`` prefix and case ignored), else the ``wanted``-th version."""
    def norm(text: str) -> str:
        return text.strip().lower().removeprefix("v")
    listed = [(h, *version_label(h)) for h in hits]
    for hit, label, _ in listed:
        if label and norm(label) == norm(wanted):
            return hit
    if norm(wanted).isdecimal():
        for hit, _, index in listed:
            if index == int(norm(wanted)):
                return hit
    return None


async def _pick_version(doc: Any, ref: RecordRef, http: Http) -> tuple[Mapping[str, Any], str]:
    """The record of version ``ref.version`` from ``doc``'s ``/versions`` list, and its id."""
    rid = _record_id(doc, ref.record_id) if isinstance(doc, Mapping) else ref.record_id
    link = _str(_map(_map(doc).get("links")).get("versions"))
    url: str | None = _requote(urljoin(ref.api_base.rstrip("/") + "/", link)) if link else \
        f"{ref.api_base.rstrip('/')}/api/records/{quote(rid or ref.record_id, '')}/versions"
    what = f"{ref.repository} record {rid} versions"
    hits: list[Mapping[str, Any]] = []
    params: Mapping[str, str] | None = {"size": str(VERSIONS_PAGE), "sort": "version"}
    for _ in range(MAX_VERSION_PAGES):
        if not url:
            break
        await SEARCH_GATE.token(urlsplit(url).hostname or "")
        page = await http.get_json(url, params=params, what=what)
        found = _map(_map(page).get("hits")).get("hits")
        hits += [h for h in (found if isinstance(found, list) else []) if isinstance(h, Mapping)]
        url, params = _str(_map(_map(page).get("links")).get("next")), None  # next carries its query
    wanted = ref.version or ""
    hit = choose_version(hits, wanted)
    if hit is None:
        names = []
        for h in hits:
            label, index = version_label(h)
            hid = _record_id(h, None)
            names.append(f"{label or index} (record {hid})" if hid else str(label or index))
        raise version_missing(f"{ref.repository} record {rid}", wanted, names)
    return hit, _record_id(hit, None) or ref.record_id


ADAPTER = InvenioAdapter()

__all__ = ["ADAPTER", "KNOWN_HOSTS", "ZENODO_HOSTS", "InvenioAdapter", "choose_version", "content_url",
           "files_link", "parse_record", "repository_name", "version_label"]
