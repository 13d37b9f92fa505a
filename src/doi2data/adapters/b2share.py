"""EUDAT B2SHARE: the classic v2 service (Invenio 3, 32-hex record ids) and v3 (InvenioRDM).

* v2 ``GET /api/records/<id>``: ``files[]`` of ``{key, size, checksum "md5:…", bucket, ePIC_PID}``
  and no per-file link; bytes are at ``/api/files/<bucket>/<key>``, and the per-file ePIC handle
  is kept as a mirror. A record that does not inline its files has ``links.files`` (the bucket,
  ``contents[]``). ``open_access: false`` means the files need a login; an ``embargo_date`` says
  until when. A missing record is ``{"message": "PID does not exist.", "status": 404}``.
* v3 (b2share.eudat.eu since 2025) is a customised InvenioRDM 13: ``abcd1-ef234`` ids, RDM
  records. Those are parsed by the InvenioRDM adapter's own functions, so either adapter may claim
  such a URL and the result is the same.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import quote, unquote, urljoin, urlsplit

from ..errors import AccessDenied, RecordNotFound, RepositoryError
from ..http import Http
from ..model import Access, Dataset, FileEntry, Manifest, parse_prefixed_checksum
from . import invenio
from .base import RecordRef, Resolved
from ._json import http_url as _http_url
from ._json import mapping as _map
from ._json import text as _str
from ._json import mappings as _dicts

B2SHARE = "https://b2share.eudat.eu"
_HEX_ID = re.compile(r"^[0-9a-f]{32}$")
_RDM_ID = re.compile(r"^[0-9a-z]{5}-[0-9a-z]{5}$")
_B2SHARE_DOI = re.compile(r"^10\.23728/b2share\.([0-9a-f]{32}|[0-9a-z]{5}-[0-9a-z]{5})$", re.IGNORECASE)


def is_rdm(doc: Any) -> bool:
    """A B2SHARE v3 (InvenioRDM) record rather than a v2 one."""
    return isinstance(doc, Mapping) and (isinstance(doc.get("files"), Mapping) or "pids" in doc or "parent" in doc)


def file_url(api_base: str, bucket: str, key: str) -> str:
    """``<api_base>/api/files/<bucket>/<key>``, the key percent-encoded (``/`` kept, as Invenio stores it)."""
    return f"{api_base.rstrip('/')}/api/files/{quote(bucket, safe='')}/{quote(key, safe='/', errors='surrogatepass')}"


def _access(meta: Mapping[str, Any]) -> tuple[Access, str | None]:
    if meta.get("open_access") is not False:
        return "open", None
    if until := _str(meta.get("embargo_date")):
        return "embargoed", f"embargoed until {until}"
    return "restricted", "restricted: the files need a B2SHARE login with access"


def _file(raw: Any, api_base: str, bucket: str | None, access: Access, note: str | None) -> FileEntry:
    if not isinstance(raw, Mapping):
        raise RepositoryError("B2SHARE file entry is not a JSON object")
    key = _str(raw.get("key"))
    if not key:
        raise RepositoryError("B2SHARE file entry has no key")
    bucket = _str(raw.get("bucket")) or bucket
    urls = [file_url(api_base, bucket, key)] if bucket else []
    if not urls and (own := _http_url(_map(raw.get("links")).get("self"))):
        urls.append(own)
    if pid := _http_url(raw.get("ePIC_PID")):
        urls.append(pid)
    size = raw.get("size")
    checksum = raw.get("checksum")
    ok = isinstance(size, int) and not isinstance(size, bool) and size >= 0
    return FileEntry(path=key, size=size if ok else None,
                     checksums=parse_prefixed_checksum(checksum) if isinstance(checksum, str) else {},
                     urls=tuple(urls), media_type=_str(raw.get("mimetype")), access=access, note=note)


def _doi(meta: Mapping[str, Any]) -> str | None:
    doi = _str(meta.get("DOI"))
    if doi:
        return re.sub(r"^(https?://(dx\.)?doi\.org/|doi:)", "", doi, flags=re.IGNORECASE)
    ids = _dicts(meta.get("alternate_identifiers"))
    return next((v for i in ids if (_str(i.get("alternate_identifier_type")) or "").upper() == "DOI"
                 and (v := _str(i.get("alternate_identifier")))), None)


def _dataset(doc: Mapping[str, Any], meta: Mapping[str, Any], api_base: str) -> Dataset:
    rid = _str(doc.get("id"))
    year = re.match(r"^\d{4}", _str(meta.get("publication_date")) or _str(doc.get("created")) or "")
    lic = meta.get("license")
    license_ = _str(_map(lic).get("license")) or _str(_map(lic).get("license_uri")) if isinstance(lic, Mapping) else _str(lic)
    types = _dicts(meta.get("resource_types"))
    access, note = _access(meta)
    doi = _doi(meta)
    return Dataset(
        doi=doi, title=next((t for x in _dicts(meta.get("titles")) if (t := _str(x.get("title")))), None),
        creators=tuple(n for c in _dicts(meta.get("creators")) if (n := _str(c.get("creator_name")))),
        publisher=_str(meta.get("publisher")), year=int(year.group()) if year else None,
        version=_str(meta.get("version")), license=license_,
        resource_type=next((t for x in types if (t := _str(x.get("resource_type_general")))), None), repository="B2SHARE",
        landing_url=f"{api_base.rstrip('/')}/records/{rid}" if rid else None, record_id=rid, version_doi=doi,
        access=access, note=note,
    )


def parse_record(doc: Any, api_base: str = B2SHARE) -> Manifest:
    """A v2 record, a v2 bucket listing (``contents[]``) or a v3 (RDM) record -> :class:`Manifest`. Pure.

    Raises :class:`RecordNotFound` for B2SHARE's ``{"status": 404}`` body, else only :class:`RepositoryError`.
    """
    try:
        return _parse(doc, api_base.rstrip("/"))
    except RepositoryError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, UnicodeError) as exc:
        raise RepositoryError(f"unexpected B2SHARE record shape ({type(exc).__name__}: {exc})") from exc


def _parse(doc: Any, api_base: str) -> Manifest:
    if not isinstance(doc, Mapping):
        raise RepositoryError("B2SHARE answer is not a JSON object")
    if doc.get("status") in (404, 410, "404") and "metadata" not in doc:
        raise RecordNotFound(f"B2SHARE: {_str(doc.get('message')) or 'record not found'}")
    if is_rdm(doc):
        return _b2share(invenio.parse_record(doc, api_base))
    if isinstance(doc.get("contents"), list):  # the bucket listing
        bucket = _str(doc.get("id"))
        files = [_file(f, api_base, bucket, "open", None) for f in doc["contents"]
                 if not (isinstance(f, Mapping) and (f.get("delete_marker") is True or f.get("is_head") is False))]
        return Manifest(Dataset(doi=None, repository="B2SHARE"), tuple(sorted(files, key=lambda f: f.path)))
    meta = doc.get("metadata")
    if not isinstance(meta, Mapping):
        raise RepositoryError("B2SHARE record has no 'metadata' object")
    ds = _dataset(doc, meta, api_base)
    raw = doc.get("files", [])
    if not isinstance(raw, list):
        raise RepositoryError("B2SHARE 'files' is not a list")
    seen: dict[str, FileEntry] = {}
    warnings = []
    for item in raw:
        entry = _file(item, api_base, None, ds.access, ds.note)
        if entry.path in seen:
            warnings.append(f"duplicate file key {entry.path!r} listed twice; kept the first")
            continue
        seen[entry.path] = entry
    return Manifest(ds, tuple(sorted(seen.values(), key=lambda f: f.path)), tuple(warnings))


def _b2share(manifest: Manifest) -> Manifest:
    """An RDM manifest from :mod:`.invenio`, named as B2SHARE."""
    return replace(manifest, dataset=replace(manifest.dataset, repository="B2SHARE"))


def bucket_link(doc: Any, api_base: str) -> str | None:
    """v2: ``links.files`` when the record does not list its files inline (else ``None``)."""
    if not isinstance(doc, Mapping) or is_rdm(doc) or isinstance(doc.get("files"), list):
        return None
    link = _str(_map(doc.get("links")).get("files"))
    try:
        return _http_url(urljoin(api_base.rstrip("/") + "/", link)) if link else None
    except ValueError:
        return None


def _ref_from_url(url: str) -> RecordRef | None:
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or "b2share" not in host:
        return None
    segs = [unquote(s) for s in parts.path.split("/") if s]
    segs = segs[1:] if segs[:1] == ["api"] else segs
    if len(segs) < 2 or segs[0] != "records" or not (_HEX_ID.match(segs[1]) or _RDM_ID.match(segs[1])):
        return None
    base = f"{parts.scheme}://{parts.netloc.rpartition('@')[2].lower()}"
    return RecordRef(adapter="b2share", api_base=base, record_id=segs[1], repository="B2SHARE")


class B2shareAdapter:
    """The :class:`~doi2data.adapters.base.Adapter` for B2SHARE (v2 and v3)."""

    name = "b2share"

    def recognize(self, resolved: Resolved) -> RecordRef | None:
        """``<any *b2share* host>/[api/]records/<id>``, or a ``10.23728/b2share.<id>`` DOI."""
        if ref := _ref_from_url(resolved.landing_url or ""):
            return ref
        if match := _B2SHARE_DOI.match((resolved.doi or "").strip()):
            rid = match.group(1).lower()
            return RecordRef(adapter=self.name, api_base=B2SHARE, record_id=rid, repository="B2SHARE")
        return None

    async def list_files(self, ref: RecordRef, resolved: Resolved, http: Http) -> Manifest:
        """The record, then its bucket (v2) or ``/files`` (v3) when files are not inline."""
        base = ref.api_base.rstrip("/")
        what = f"B2SHARE record {ref.record_id}"
        doc = await http.get_json(f"{base}/api/records/{quote(ref.record_id, safe='')}", what=what)
        manifest = parse_record(doc, base)
        ds, warnings = manifest.dataset, list(manifest.warnings)
        link = bucket_link(doc, base) or (invenio.files_link(doc, base) if is_rdm(doc) else None)
        if link:
            try:
                listing_doc = await http.get_json(link, what=f"{what} files")
                files = parse_record(listing_doc, base).files if not is_rdm(doc) else \
                    invenio.parse_record(listing_doc, base, record_id=ds.record_id).files
                manifest = replace(manifest, files=tuple(replace(f, access=ds.access, note=ds.note) for f in files))
            except AccessDenied:
                if ds.access == "open":
                    raise
        unlisted = f"record {ds.record_id} is {ds.access}: no files are listed publicly ({ds.note})"
        warnings = [w for w in warnings if "no files are listed publicly" not in w]
        if not manifest.files and ds.access != "open":
            warnings.append(unlisted)
        if resolved.metadata is not None:
            ds = ds.merged(resolved.metadata)
        ds = replace(ds, doi=resolved.doi or ds.doi, repository=ref.repository)
        return replace(manifest, dataset=ds, warnings=tuple(warnings))


ADAPTER = B2shareAdapter()

__all__ = ["ADAPTER", "B2SHARE", "B2shareAdapter", "bucket_link", "file_url", "is_rdm", "parse_record"]
