"""Dataverse, on any installation: datasets, dataset versions and file-level PIDs (native API).

* Recognition needs no host list: every installation serves the same URL shapes
  (``dataset.xhtml`` / ``citation`` / ``file.xhtml`` with ``?persistentId=``, ``/api/datasets/
  :persistentId``). A small table of hosts and DOI prefixes is only the fallback for odd landing URLs.
* Ingested tabular files are the trap: ``filesize`` is the derived ``.tab``, ``md5`` is of the
  original upload, and ``/api/access/datafile/<id>`` serves a third variant (a TSV with a header
  row). Only ``?format=original`` returns bytes that match the checksum, so the original name,
  size and format are listed and downloaded that way (recorded: Harvard RLMYMR, 2018 and 2022).
* ``RecordRef.record_id`` encodes what to fetch: ``doi:…`` (latest published), ``doi:…@<version>``
  (``2.0``, ``3``, ``:latest-published``), ``file:doi:…`` (a file PID) or ``id:<n>`` (database id).
  ``RecordRef.version`` (``--version``) wins over a version in the landing URL: ``N.M``, ``N`` (the
  latest ``N.x``), ``:latest-published``, ``:latest`` or ``:draft`` (needs an API token that may see
  the draft), the native API's version specifiers. A version that does not exist is reported with
  the ones that do (``/versions?excludeFiles=true``, one more request, only on that error).
* Shapes: ``data.latestVersion`` (``/api/datasets/…``), a bare version (``…/versions/<v>``), the
  ``dataverse_json`` export (``datasetVersion``) and the 4.0 lower-case ``datafile``.
* Guestbooks (Dataverse 6.10+, checked 2026-12-06): a dataset whose version JSON carries a
  ``guestbookId`` answers a plain file download with 400 until a guestbook response is submitted;
  the listing says so, and ``get`` submits one response per file through
  :mod:`.dataverse_guestbook` (sources there), downloading through the signed URL it returns.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import httpx

from ..errors import AccessDenied, RecordNotFound, RepositoryError, UsageError
from ..http import Http, raise_for_status
from ..model import HASH_ALGORITHMS, Access, Dataset, FileEntry, Manifest, normalize_algorithm, normalize_digest
from ._versions import version_missing
from .base import RecordRef, Resolved
from ._json import mapping as _map
from ._json import text as _str
from ._json import size as _size

if TYPE_CHECKING:
    from ..transfer.signing import UrlSigner

#: Installations whose display name we know (any other host still works by URL shape).
KNOWN_HOSTS: dict[str, str] = {
    "dataverse.harvard.edu": "Harvard Dataverse", "dataverse.nl": "DataverseNL", "borealisdata.ca": "Borealis",
    "dataverse.no": "DataverseNO", "entrepot.recherche.data.gouv.fr": "Recherche Data Gouv",
    "heidata.uni-heidelberg.de": "heiDATA", "darus.uni-stuttgart.de": "DaRUS", "data.fz-juelich.de": "Jülich DATA",
    "demo.dataverse.org": "Demo Dataverse", "data.qdr.syr.edu": "QDR", "dataverse.tdl.org": "Texas Data Repository",
    "edmond.mpdl.mpg.de": "Edmond", "rdr.kuleuven.be": "KU Leuven RDR", "datasets.iisg.amsterdam": "IISH Data",
}
#: DOI prefixes (lower case, with enough of the shoulder to be unambiguous) -> installation.
DOI_PREFIXES: dict[str, str] = {
    "10.7910/dvn/": "dataverse.harvard.edu", "10.34894/": "dataverse.nl", "10.5683/": "borealisdata.ca",
    "10.18710/": "dataverse.no", "10.57745/": "entrepot.recherche.data.gouv.fr",
    "10.11588/data/": "heidata.uni-heidelberg.de", "10.18419/darus-": "darus.uni-stuttgart.de",
    "10.26165/juelich-data/": "data.fz-juelich.de", "10.70122/fk2/": "demo.dataverse.org",
}
_PID = re.compile(r"^(doi:10\.\d{4,9}/\S+|hdl:[^/\s]+/\S+|perma:\S+)$", re.IGNORECASE)
_VERSION = re.compile(r"^(\d{1,6}(\.\d{1,6})?|:latest|:latest-published|:draft)$")
_USER_VERSION = re.compile(r"^[vV]?(\d{1,6})(?:\.(\d{1,6}))?$")
_VERSION_ALIASES = {":latest": ":latest", ":latest-published": ":latest-published", ":draft": ":draft",
                    "latest": ":latest-published", "latest-published": ":latest-published", "draft": ":draft"}
#: Extensions of ingest formats, for 2018-era servers that report the format but not the original name.
_ORIGINAL_EXT = {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx", "application/vnd.ms-excel": ".xls",
    "text/csv": ".csv", "text/comma-separated-values": ".csv", "text/tsv": ".tsv", "text/tab-separated-values": ".tsv",
    "application/x-spss-sav": ".sav", "application/x-spss-por": ".por", "application/x-stata": ".dta",
    "application/x-rlang-transport": ".RData",
}
RESTRICTED_NOTE = "restricted: needs an API token with access (request access on the landing page)"
GUESTBOOK_WARNING = ("downloads need a guestbook response (Dataverse guestbook {gid}): "
                     "get --guestbook name=…,email=…,q1=… (a missing answer is listed before any download)")
DRAFT_WARNING = "this is an unpublished DRAFT version"





def repository_name(api_base: str) -> str:
    host = (urlsplit(api_base).hostname or api_base).lower()
    return KNOWN_HOSTS.get(host, host)


def _bare(pid: str) -> str:
    """``doi:10.1/X`` -> ``10.1/x`` (for comparisons; PIDs are case-insensitive)."""
    return re.sub(r"^(doi:|hdl:|https?://(dx\.)?doi\.org/)", "", pid.strip(), flags=re.IGNORECASE).lower()


def version_specifier(version: str) -> str:
    """A user's ``--version`` -> the native API's specifier: ``2`` / ``v2.1`` / ``draft`` -> ``2``, ``2.1``, ``:draft``.

    Raises :class:`UsageError` for anything else (before any request).
    """
    text = version.strip()
    if alias := _VERSION_ALIASES.get(text.lower()):
        return alias
    if match := _USER_VERSION.match(text):
        major, minor = match.groups()
        return f"{int(major)}.{int(minor)}" if minor is not None else str(int(major))
    raise UsageError(f"Dataverse versions are N.M (1.0, 2.1), N (the latest N.x), :latest-published or :draft; "
                     f"--version {version!r} is none of these")


def versions_api_url(api_base: str, pid: str) -> str:
    """The list of a dataset's versions, without files or metadata blocks (Dataverse 6 honours both flags)."""
    flags = "excludeFiles=true&excludeMetadataBlocks=true"
    if pid.startswith("id:"):
        return f"{api_base}/api/datasets/{quote(pid[3:], safe='')}/versions?{flags}"
    return f"{api_base}/api/datasets/:persistentId/versions?persistentId={quote(pid, safe=':/')}&{flags}"


def version_labels(doc: Any) -> list[str]:
    """``{"data": [versions…]}`` -> ``["2.0", "1.0"]`` (a draft as ``:draft``), in the server's order. Pure."""
    data = _map(doc).get("data") if isinstance(doc, Mapping) else None
    labels = []
    for ver in data if isinstance(data, list) else []:
        ver = _map(ver)
        number, minor = ver.get("versionNumber"), ver.get("versionMinorNumber")
        if _str(ver.get("versionState")) == "DRAFT":
            labels.append(":draft")
        elif isinstance(number, int):
            labels.append(f"{number}.{minor if isinstance(minor, int) else 0}")
    return labels


def dataset_api_url(api_base: str, record_id: str) -> str:
    """The native-API URL of a dataset ``record_id`` (``doi:…``, ``doi:…@<v>``, ``id:<n>[@<v>]``)."""
    pid, _, version = record_id.partition("@")
    if pid.startswith("id:"):
        path = f"/api/datasets/{quote(pid[3:], safe='')}"
        return f"{api_base}{path}/versions/{quote(version, safe=':')}" if version else f"{api_base}{path}"
    query = f"?persistentId={quote(pid, safe=':/')}"
    if version:
        return f"{api_base}/api/datasets/:persistentId/versions/{quote(version, safe=':')}{query}"
    return f"{api_base}/api/datasets/:persistentId/{query}"


def _checksums(df: Mapping[str, Any]) -> dict[str, str]:
    """``checksum{type,value}`` (MD5/SHA-1/SHA-256/SHA-512), plus the legacy ``md5`` when it is one."""
    out: dict[str, str] = {}
    ck = _map(df.get("checksum"))
    kind, value = _str(ck.get("type")), _str(ck.get("value"))
    if kind and value and (algo := normalize_algorithm(kind)) != "unf":  # a UNF fingerprints values, not bytes
        # an unknown or malformed one is kept for FileEntry to report
        out[algo] = (normalize_digest(algo, value) if algo in HASH_ALGORITHMS else None) or value
    if md5 := _str(df.get("md5")):
        out.setdefault("md5", normalize_digest("md5", md5) or md5)
    return out


def _original_name(label: str, df: Mapping[str, Any], fmt: str | None) -> str:
    if name := _str(df.get("originalFileName")):
        return name
    ext = _ORIGINAL_EXT.get(re.sub(r"-\d+$", "", (fmt or "").split(";")[0].strip().lower()))  # x-stata-14
    if not ext:
        return label
    return (label[: -len(".tab")] if label.lower().endswith(".tab") else label) + ext


def _access(raw: Mapping[str, Any], df: Mapping[str, Any], today: date) -> tuple[Access, str | None]:
    embargo = _map(df.get("embargo"))
    until = _str(embargo.get("dateAvailable"))
    if until and until[:10] > today.isoformat():
        reason = _str(embargo.get("reason"))
        return "embargoed", f"embargoed until {until}" + (f" ({reason})" if reason else "")
    if raw.get("restricted") is True or df.get("restricted") is True:
        return "restricted", RESTRICTED_NOTE
    return "open", None


def file_entry(raw: Any, api_base: str, today: date | None = None) -> FileEntry:
    """One ``files[]`` item (or a ``/api/files/…`` ``data`` object) -> :class:`FileEntry`."""
    if not isinstance(raw, Mapping):
        raise RepositoryError("Dataverse file entry is not a JSON object")
    df = raw.get("dataFile") if isinstance(raw.get("dataFile"), Mapping) else raw.get("datafile")
    if not isinstance(df, Mapping):
        raise RepositoryError("Dataverse file entry has no dataFile object")
    fid = _str(df.get("id"))
    label = _str(raw.get("label")) or _str(df.get("name")) or _str(df.get("filename"))
    if not fid or not fid.isdecimal() or not label:
        raise RepositoryError("Dataverse file entry has no numeric id or no name")
    fmt = _str(df.get("originalFileFormat"))
    ingested = fmt is not None or df.get("tabularData") is True
    url = f"{api_base}/api/access/datafile/{fid}"
    access, note = _access(raw, df, today or date.today())
    if ingested:
        name, size = _original_name(label, df, fmt), _size(df.get("originalFileSize"))
        url, media = f"{url}?format=original", fmt
        extra = f"ingested tabular file: the original upload, not the derived {label}"
        if size is None:
            extra += " (original size not reported; verified by checksum)"
        note = f"{note}; {extra}" if note else extra
    else:
        name, size, media = label, _size(df.get("filesize")), _str(df.get("contentType"))
    directory = (_str(raw.get("directoryLabel")) or "").strip("/")
    return FileEntry(path=f"{directory}/{name}" if directory else name, size=size, checksums=_checksums(df),
                     urls=(url,), media_type=media, access=access, note=note)


def _citation(version: Mapping[str, Any]) -> dict[str, Any]:
    """``metadataBlocks.citation.fields`` as ``{typeName: value}``."""
    fields = _map(_map(version.get("metadataBlocks")).get("citation")).get("fields")
    pairs = (_map(f) for f in (fields if isinstance(fields, list) else []))
    return {f["typeName"]: f.get("value") for f in pairs if isinstance(f.get("typeName"), str)}


def _authors(value: Any) -> tuple[str, ...]:
    names = (_str(_map(_map(a).get("authorName")).get("value")) for a in (value if isinstance(value, list) else []))
    return tuple(n for n in names if n)


def _split(doc: Any) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    """(dataset, version) from any of the dataset/version/export shapes."""
    if not isinstance(doc, Mapping):
        raise RepositoryError("Dataverse answer is not a JSON object")
    if doc.get("status") == "ERROR":
        raise RepositoryError(f"Dataverse error: {_str(doc.get('message')) or 'unknown'}")
    data = doc.get("data", doc)
    if not isinstance(data, Mapping):
        raise RepositoryError("Dataverse answer has no 'data' object")
    for key in ("latestVersion", "datasetVersion"):
        if isinstance(data.get(key), Mapping):
            return data, data[key]
    if isinstance(data.get("files"), list) or "versionNumber" in data or "metadataBlocks" in data:
        return {}, data
    raise RepositoryError("Dataverse answer is not a dataset or dataset version")


def _dataset(ds: Mapping[str, Any], ver: Mapping[str, Any], api_base: str) -> Dataset:
    cite = _citation(ver)
    doi = None
    if (_str(ds.get("protocol")) or "").lower() == "doi" and _str(ds.get("authority")) and _str(ds.get("identifier")):
        doi = f"{ds['authority']}{_str(ds.get('separator')) or '/'}{ds['identifier']}"
    elif (pid := _str(ver.get("datasetPersistentId"))) and pid.lower().startswith("doi:"):
        doi = pid[4:]
    year = re.match(r"^\d{4}", _str(ds.get("publicationDate")) or _str(ver.get("releaseTime")) or "")
    number, minor = ver.get("versionNumber"), ver.get("versionMinorNumber")
    label = f"{number}.{minor if isinstance(minor, int) else 0}" if isinstance(number, int) else None
    if label is None and _str(ver.get("versionState")) == "DRAFT":
        label = "DRAFT"
    lic = ver.get("license")
    license_ = _str(_map(lic).get("name")) or _str(_map(lic).get("uri")) if isinstance(lic, Mapping) else _str(lic)
    return Dataset(
        doi=doi, title=_str(cite.get("title")), creators=_authors(cite.get("author")),
        publisher=_str(ds.get("publisher")),
        year=int(year.group()) if year else None,
        version=label,
        license=None if license_ == "NONE" else license_, resource_type="Dataset", repository=repository_name(api_base),
        landing_url=_str(ds.get("persistentUrl")), record_id=_str(ds.get("id")) or _str(ver.get("datasetId")),
        version_doi=doi,
    )


def parse_dataset(doc: Any, api_base: str, *, file_pid: str | None = None, today: date | None = None) -> Manifest:
    """A dataset or version document -> :class:`Manifest` (pure; only :class:`RepositoryError` on bad JSON).

    With ``file_pid`` only that file is kept (:class:`RecordNotFound` if the version lacks it).
    """
    try:
        return _parse(doc, api_base.rstrip("/"), file_pid, today)
    except RepositoryError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, UnicodeError) as exc:
        raise RepositoryError(f"unexpected Dataverse dataset shape ({type(exc).__name__}: {exc})") from exc


def _parse(doc: Any, api_base: str, file_pid: str | None, today: date | None) -> Manifest:
    ds_doc, ver = _split(doc)
    files = ver.get("files")
    if files is not None and not isinstance(files, list):
        raise RepositoryError("Dataverse 'files' is not a list")
    raw_files = list(files or [])
    if file_pid:
        want = _bare(file_pid)
        raw_files = [f for f in raw_files
                     if _bare(_str(_map(_map(f).get("dataFile")).get("persistentId")) or "") == want]
        if not raw_files:
            raise RecordNotFound(f"file {file_pid} is not in the dataset's listed version")
    dataset, warnings = _dataset(ds_doc, ver, api_base), []
    if _str(ver.get("versionState")) == "DRAFT":
        warnings.append(DRAFT_WARNING)
    if (gid := _str(ver.get("guestbookId"))) and gid.isdecimal():
        warnings.append(GUESTBOOK_WARNING.format(gid=gid[:12]))
    seen: dict[str, FileEntry] = {}
    for raw in raw_files:
        entry = file_entry(raw, api_base, today)
        if entry.path in seen:
            warnings.append(f"duplicate file path {entry.path!r} listed twice; kept the first")
            continue
        seen[entry.path] = entry
    restricted = sum(f.access != "open" for f in seen.values())
    if restricted:
        warnings.append(f"{restricted} of {len(seen)} files are restricted or embargoed: download needs access")
    return Manifest(dataset, tuple(sorted(seen.values(), key=lambda f: f.path)), tuple(warnings))


def parse_file(doc: Any, api_base: str, *, today: date | None = None) -> Manifest:
    """``GET /api/files/:persistentId/`` (``{"status","data":{label, dataFile…}}``) -> one-file manifest."""
    data = _map(doc).get("data") if isinstance(doc, Mapping) else None
    if not isinstance(data, Mapping) or doc.get("status") == "ERROR":
        raise RepositoryError("Dataverse file answer has no 'data' object")
    try:
        entry = file_entry(data, api_base.rstrip("/"), today)
    except (KeyError, TypeError, ValueError, AttributeError, UnicodeError) as exc:
        raise RepositoryError(f"unexpected Dataverse file shape ({exc})") from exc
    df = _map(data.get("dataFile") or data.get("datafile"))
    pid = _str(df.get("persistentId"))
    doi = pid[4:] if pid and pid.lower().startswith("doi:") else None
    ds = Dataset(doi=doi, title=entry.path, repository=repository_name(api_base), record_id=_str(df.get("id")))
    return Manifest(ds, (entry,))


def _ref_from_url(url: str) -> RecordRef | None:
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
        query = parse_qs(parts.query)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not host:
        return None
    segs = [unquote(s) for s in parts.path.split("/") if s]
    if segs[:2] == ["api", "v1"]:  # the old versioned API prefix
        segs = ["api", *segs[2:]]
    pid = (query.get("persistentId") or [""])[0].strip()
    version = (query.get("version") or [""])[0].strip()
    record = None
    if segs and segs[-1] in ("dataset.xhtml", "citation") and _PID.match(pid):
        record = pid
    elif segs[:3] == ["api", "datasets", ":persistentId"] and _PID.match(pid):
        record, version = pid, segs[4] if len(segs) >= 5 and segs[3] == "versions" else ""
    elif segs and (segs[-1] == "file.xhtml" or segs[:3] in (["api", "files", ":persistentId"],
                                                             ["api", "access", "datafile"])) and _PID.match(pid):
        record, version = f"file:{pid}", ""
    elif len(segs) >= 3 and segs[:2] == ["api", "datasets"] and segs[2].isdecimal() and (
            host in KNOWN_HOSTS or host.startswith("dataverse.")):
        record, version = f"id:{segs[2]}", segs[4] if len(segs) >= 5 and segs[3] == "versions" else ""
    if not record:
        return None
    if version and _VERSION.match(version):
        record = f"{record}@{version}"
    base = f"{parts.scheme}://{parts.netloc.rpartition('@')[2].lower()}"
    return RecordRef(adapter="dataverse", api_base=base, record_id=record, repository=repository_name(base))


class DataverseAdapter:
    """The :class:`~doi2data.adapters.base.Adapter` for every Dataverse installation."""

    name = "dataverse"
    supports_versions = True  # --version: the native API's version specifiers

    def recognize(self, resolved: Resolved) -> RecordRef | None:
        """Dataverse URL shapes on any host, else a DOI prefix of a known installation."""
        if ref := _ref_from_url(resolved.landing_url or ""):
            return ref
        doi = (resolved.doi or "").strip()
        host = next((h for p, h in DOI_PREFIXES.items() if doi.lower().startswith(p)), None)
        if host is None:
            return None
        return RecordRef(adapter=self.name, api_base=f"https://{host}", record_id=f"doi:{doi}",
                         repository=repository_name(host))

    async def list_files(self, ref: RecordRef, resolved: Resolved, http: Http) -> Manifest:
        """GET the dataset (or version); a PID that is no dataset is retried as a file PID."""
        base, rid = ref.api_base.rstrip("/"), ref.record_id
        version = version_specifier(ref.version) if ref.version is not None else None
        what = f"{ref.repository} dataset {rid.partition('@')[0]}"
        if rid.startswith("file:"):
            manifest = await _list_file(base, rid[5:], http, version=version)
        elif version is not None:
            manifest = await _list_version(base, rid.partition("@")[0], version, what, http)
        else:
            try:
                manifest = parse_dataset(await http.get_json(dataset_api_url(base, rid), what=what), base)
            except RecordNotFound as exc:  # /citation?persistentId= also serves file PIDs
                if "@" in rid or rid.startswith("id:"):
                    raise
                try:
                    manifest = await _list_file(base, rid, http)
                except RecordNotFound:
                    raise exc from None
            if DRAFT_WARNING in manifest.warnings and "@" not in rid:
                manifest = await _latest_published(base, rid, what, http, manifest)
        ds = manifest.dataset
        if resolved.metadata is not None:
            ds = ds.merged(resolved.metadata)
        return replace(manifest, dataset=replace(ds, doi=resolved.doi or ds.doi, repository=ref.repository))

    def url_signer(self, manifest: Manifest, http: Http, answers: Mapping[str, str]) -> UrlSigner | None:
        """The run's source of signed file URLs when the dataset has a guestbook (Dataverse 6.10+)."""
        from .dataverse_guestbook import url_signer

        return url_signer(manifest, http, answers)


async def _latest_published(base: str, pid: str, what: str, http: Http, draft: Manifest) -> Manifest:
    """The default is the latest *published* version, but a token that may see a draft gets the draft
    as ``latestVersion``: ask for ``:latest-published`` (the draft stays when nothing is published)."""
    try:
        doc = await http.get_json(dataset_api_url(base, f"{pid}@:latest-published"), what=f"{what} (published)")
    except RecordNotFound:
        return replace(draft, warnings=(*draft.warnings, "nothing is published yet: listing the draft"))
    return parse_dataset(doc, base)


async def _list_version(base: str, pid: str, version: str, what: str, http: Http, *,
                        file_pid: str | None = None) -> Manifest:
    """One version of dataset ``pid``: a missing one names those that exist; a draft needs a token."""
    url = dataset_api_url(base, f"{pid}@{version}")
    try:
        doc = await http.get_json(url, what=f"{what} version {version}")
    except RecordNotFound as exc:
        try:
            listed = await http.get_json(versions_api_url(base, pid), what=f"{what} versions")
        except RecordNotFound:
            raise exc from None  # the dataset itself is missing
        raise version_missing(what, version, version_labels(listed), url=url) from None
    except AccessDenied as exc:
        if version not in (":draft", ":latest"):
            raise
        host = urlsplit(base).hostname or base
        given = "the API token sent may not see it" if http.credentials.headers_for(httpx.URL(url)) \
            else "no API token was sent"
        raise AccessDenied(f"{what}: the draft version needs an API token that may see it ({given}): "
                           f"--token {host}=X-Dataverse-key:TOKEN", url=exc.url or url) from None
    return parse_dataset(doc, base, file_pid=file_pid)


async def _list_file(base: str, pid: str, http: Http, *, version: str | None = None) -> Manifest:
    """``/api/files/:persistentId/`` (Dataverse >= 5.13); older servers: the parent dataset, filtered.

    With a ``version``: the file as listed in that version of its parent dataset (the file PID's
    parent is its dataset DOI, as Dataverse mints them: ``<dataset DOI>/<file id>``).
    """
    if version is not None:
        parent = pid.rstrip("/").rpartition("/")[0]
        if not _PID.match(parent) or "/" not in parent:
            raise UsageError(f"--version needs the dataset of file {pid}, which its PID does not name; "
                             "pass the dataset DOI instead")
        return await _list_version(base, parent, version, f"Dataverse dataset {parent}", http, file_pid=pid)
    url = f"{base}/api/files/:persistentId/?persistentId={quote(pid, safe=':/')}"
    response = await http.request("GET", url, headers={"Accept": "application/json"})
    if response.status_code in (400, 404, 405, 501):
        parent = pid.rstrip("/").rpartition("/")[0]
        if not _PID.match(parent) or "/" not in parent:
            raise RecordNotFound(f"Dataverse file {pid} not found: {url} (HTTP {response.status_code})", url=url)
        doc = await http.get_json(dataset_api_url(base, parent), what=f"Dataverse dataset {parent}")
        return parse_dataset(doc, base, file_pid=pid)
    raise_for_status(response, what=f"Dataverse file {pid}")
    try:
        doc = response.json()
    except ValueError as exc:
        raise RepositoryError(f"Dataverse file {pid} at {url} is not valid JSON", url=url) from exc
    return parse_file(doc, base)


ADAPTER = DataverseAdapter()

__all__ = ["ADAPTER", "DOI_PREFIXES", "KNOWN_HOSTS", "DataverseAdapter", "dataset_api_url", "file_entry",
           "parse_dataset", "parse_file", "repository_name", "version_labels", "version_specifier",
           "versions_api_url"]
