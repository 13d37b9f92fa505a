"""Mendeley Data (``data.mendeley.com``, DOI prefix ``10.17632``): versions, nested folders, sha256.

* A DOI is ``10.17632/<id>.<version>``; without ``.<version>`` it means the latest version. The
  landing page is ``/datasets/<id>[/<version>]``. ``RecordRef.record_id`` is ``<id>`` or
  ``<id>@<version>``; a ``RecordRef.version`` (``--version``) wins over both.
* The public API (no login) lists files **per folder**: ``GET /public-api/datasets/<id>/files
  ?folder_id=<folder>&version=<n>`` (``root`` for the top), each ``{filename, id, size, status,
  content_details: {sha256_hash, content_type, download_url, …}}``. The folder tree of a version is
  the flat list ``GET /public-api/datasets/<id>/folders/<n>`` (``{id, name, parent_id}``), so a
  file's path is its folder chain plus its name. Shapes from client scripts that call these
  endpoints (research notes: recorded-fixtures §11, anchors-datahugger §2); no recording exists.
* ``GET /public-api/datasets/<id>[?version=<n>]`` gives the title, licence, contributors and the
  latest ``version`` (the ``version`` parameter is documented for the authenticated
  ``api.mendeley.com/datasets/<id>``; assumed to hold here too).
* Why a browser-compatible User-Agent: data.mendeley.com sits behind a bot filter that answers 403
  to library User-Agents. Only this adapter's API calls, and only to Mendeley hosts, carry
  :data:`BROWSER_USER_AGENT`, which still names doi2data. The file URLs (``/public-files/…``,
  a redirect to S3) are fetched by the transfer engine with the ordinary User-Agent.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from .._version import __version__
from ..errors import AccessDenied, RecordNotFound, RepositoryError
from ..http import PROJECT_URL, Http
from ..model import Access, Dataset, FileEntry, Manifest
from ._json import http_url as _http_url
from ._json import mapping as _map
from ._json import mappings as _dicts
from ._json import size as _size
from ._json import text as _str
from ._versions import version_missing, version_number
from .base import RecordRef, Resolved

MENDELEY = "https://data.mendeley.com"
REPOSITORY = "Mendeley Data"
KNOWN_HOSTS = ("data.mendeley.com",)
#: Accepted by the bot filter (it starts like a browser's) while saying who is asking.
BROWSER_USER_AGENT = f"Mozilla/5.0 (compatible; doi2data/{__version__}; +{PROJECT_URL})"
COMPLETED = "COMPLETED"
MAX_FOLDERS = 10_000
_ID = re.compile(r"^[a-z0-9]{6,20}$")
_DOI = re.compile(r"^10\.17632/([a-z0-9]{6,20})(?:\.(\d{1,6}))?$", re.IGNORECASE)


def is_mendeley_host(host: str) -> bool:
    host = host.lower()
    return host == "mendeley.com" or host.endswith(".mendeley.com")


def api_headers(api_base: str) -> dict[str, str]:
    """The browser-compatible User-Agent, for Mendeley hosts only (never sent anywhere else)."""
    try:
        host = urlsplit(api_base).hostname or ""
    except ValueError:
        host = ""
    return {"User-Agent": BROWSER_USER_AGENT} if is_mendeley_host(host) else {}


def wanted_version(ref: RecordRef) -> str | None:
    """``--version`` (``2`` or ``v2``) first, else the DOI's ``.N`` (kept in ``record_id``); ``None``: latest."""
    if ref.version is not None:
        return str(version_number(ref.version, REPOSITORY))
    version = ref.record_id.partition("@")[2]
    return version or None


# -- pure parsing ---------------------------------------------------------------------------------

def folder_paths(folders: Any) -> dict[str, str]:
    """``/folders/<n>`` (a flat list of ``{id, name, parent_id}``; nested ``children`` also read) ->
    folder id -> ``a/b/c``. A parent that is missing or forms a cycle ends the chain."""
    flat: dict[str, Mapping[str, Any]] = {}
    stack: list[tuple[Mapping[str, Any], str | None]] = [(f, None) for f in reversed(_dicts(folders))]
    while stack and len(flat) < MAX_FOLDERS:
        item, parent = stack.pop()
        fid = _str(item.get("id"))
        if fid and fid not in flat:
            flat[fid] = {**item, "parent_id": item.get("parent_id") or item.get("parent_folder_id") or parent}
            stack.extend((c, fid) for c in reversed(_dicts(item.get("children"))))
    paths: dict[str, str] = {}
    for fid in flat:
        parts: list[str] = []
        seen: set[str] = set()
        cur: str | None = fid
        while cur and cur in flat and cur not in seen:
            seen.add(cur)
            name = (_str(flat[cur].get("name")) or cur).strip("/") or cur
            parts.append(name)
            cur = _str(flat[cur].get("parent_id"))
        paths[fid] = "/".join(reversed(parts))
    return paths


def _file_entry(raw: Mapping[str, Any], folder: str) -> FileEntry:
    name = _str(raw.get("filename")) or _str(raw.get("name"))
    if not name:
        raise RepositoryError("Mendeley Data file entry has no filename")
    details = _map(raw.get("content_details"))
    size = _size(raw.get("size"))
    size = _size(details.get("size")) if size is None else size
    digest = _str(details.get("sha256_hash"))
    url = _http_url(details.get("download_url"))
    status = _str(raw.get("status"))
    access: Access = "open"
    note = None
    if status and status.upper() != COMPLETED:
        access, note = "offline", f"Mendeley Data file status {status}: not downloadable (yet)"
    elif url is None:
        access, note = "offline", "Mendeley Data gives no download URL for this file"
    return FileEntry(path=f"{folder}/{name}" if folder else name, size=size,
                     checksums={"sha256": digest} if digest else {}, urls=(url,) if url else (),
                     media_type=_str(details.get("content_type")), access=access, note=note)


def parse_files(files: Any, folder: str = "") -> tuple[FileEntry, ...]:
    """One ``/files?folder_id=`` answer (a JSON list) -> entries under ``folder``."""
    if not isinstance(files, list):
        raise RepositoryError("Mendeley Data file listing is not a JSON list")
    return tuple(_file_entry(raw, folder) for raw in files if isinstance(raw, Mapping))


def _person(raw: Mapping[str, Any]) -> str | None:
    first, last = _str(raw.get("first_name")), _str(raw.get("last_name"))
    if last:
        return f"{last}, {first}" if first else last
    return _str(raw.get("full_name")) or _str(raw.get("name"))


def parse_dataset(doc: Any, version: str | None = None) -> Dataset:
    """The ``/public-api/datasets/<id>`` document -> descriptive metadata (``version`` wins if given)."""
    if not isinstance(doc, Mapping):
        raise RepositoryError("Mendeley Data answer is not a JSON object")
    rid = _str(doc.get("id"))
    if not rid or not ("name" in doc or "version" in doc or "files" in doc):
        raise RepositoryError(f"Mendeley Data answer is not a dataset: {_str(doc.get('message')) or 'no id'}")
    own = _str(doc.get("version"))
    version = version or own
    doi_field = doc.get("doi")
    doi = _str(_map(doi_field).get("id")) or _str(doi_field)
    if not (doi and doi.startswith("10.") and own == version):  # the document may be another version's
        doi = f"10.17632/{rid}.{version}" if version else None
    year = re.match(r"^\d{4}", _str(doc.get("publish_date")) or _str(doc.get("created_date")) or "")
    licence = _map(doc.get("data_licence"))
    landing = f"{MENDELEY}/datasets/{quote(rid, safe='')}" + (f"/{version}" if version else "")
    return Dataset(
        doi=doi, title=_str(doc.get("name")) or _str(doc.get("title")),
        creators=tuple(n for c in _dicts(doc.get("contributors")) if (n := _person(c))),
        year=int(year.group()) if year else None, version=version,
        license=_str(licence.get("short_name")) or _str(licence.get("full_name")),
        resource_type="Dataset", repository=REPOSITORY, landing_url=landing, record_id=rid,
        concept_doi=f"10.17632/{rid}", version_doi=f"10.17632/{rid}.{version}" if version else None,
    )


def parse_manifest(doc: Any, files: Mapping[str, Any] | None = None, folders: Any = None,
                   version: str | None = None) -> Manifest:
    """Dataset document + ``{folder_id: /files answer}`` + ``/folders`` answer -> :class:`Manifest` (pure).

    Without ``files``, the document's own ``files`` (the top folder) are used.
    """
    try:
        ds = parse_dataset(doc, version)
        listings: Mapping[str, Any] = files if files is not None else {"root": _map(doc).get("files", [])}
        paths = folder_paths(folders)
        entries: dict[str, FileEntry] = {}
        warnings = [f"more than {MAX_FOLDERS} folders: only the first are listed"] if len(paths) >= MAX_FOLDERS else []
        for folder_id, listing in listings.items():
            if folder_id != "root" and folder_id not in paths:
                warnings.append(f"folder {folder_id} is not in the folder list; its files are listed at the top")
            for entry in parse_files(listing, paths.get(folder_id, "")):
                if entry.path in entries:
                    warnings.append(f"duplicate file name {entry.path!r} listed twice; kept the first")
                    continue
                entries[entry.path] = entry
        if not entries:
            warnings.append(f"Mendeley Data lists no files for {ds.record_id} version {ds.version}")
        return Manifest(ds, tuple(entries.values()), tuple(warnings))
    except RepositoryError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, UnicodeError, RecursionError) as exc:
        raise RepositoryError(f"unexpected Mendeley Data shape ({type(exc).__name__}: {exc})") from exc


# -- recognition ----------------------------------------------------------------------------------

def _ref_from_url(url: str) -> str | None:
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or host != "data.mendeley.com":
        return None
    segs = [unquote(s) for s in parts.path.split("/") if s]
    if segs[:1] == ["public-api"]:
        segs = segs[1:]
    if len(segs) < 2 or segs[0] != "datasets" or not _ID.match(segs[1].lower()):
        return None
    version = segs[2] if len(segs) >= 3 and segs[2].isdecimal() and len(segs[2]) <= 6 else ""
    return segs[1].lower() + (f"@{int(version)}" if version else "")


class MendeleyAdapter:
    """The :class:`~doi2data.adapters.base.Adapter` for Mendeley Data."""

    name = "mendeley"
    supports_versions = True  # --version N: ?version=N, /folders/N and /files?version=N

    def recognize(self, resolved: Resolved) -> RecordRef | None:
        """A ``10.17632/<id>[.<n>]`` DOI, else a ``data.mendeley.com/datasets/<id>[/<n>]`` URL."""
        match = _DOI.match((resolved.doi or "").strip())
        rid = None
        if match:
            rid = match.group(1).lower() + (f"@{int(match.group(2))}" if match.group(2) else "")
        rid = rid or _ref_from_url(resolved.landing_url or "")
        if rid is None:
            return None
        return RecordRef(adapter=self.name, api_base=MENDELEY, record_id=rid, repository=REPOSITORY)

    async def list_files(self, ref: RecordRef, resolved: Resolved, http: Http) -> Manifest:
        """Dataset document, folder tree, then every folder's files (four at a time)."""
        rid = ref.record_id.partition("@")[0]
        version = wanted_version(ref)
        api = f"{ref.api_base.rstrip('/')}/public-api/datasets/{quote(rid, safe='')}"
        headers = api_headers(ref.api_base)
        if headers:
            http.trace.append("Mendeley Data: API calls carry a browser-compatible User-Agent (its bot filter "
                              "answers 403 to library ones); file downloads do not")
        what = f"Mendeley Data dataset {rid}" + (f" version {version}" if version else "")
        doc = await _dataset_document(http, api, rid, version, headers, what)
        asked, version = version, version or (_str(_map(doc).get("version")) if isinstance(doc, Mapping) else None)
        if not version:
            parse_dataset(doc)  # raises the precise error for a non-dataset answer
            raise RepositoryError(f"{what}: the answer names no version")
        try:
            folders = await http.get_json(f"{api}/folders/{quote(version, safe='')}", headers=headers,
                                          what=f"{what} folders")
        except RecordNotFound as exc:
            if asked is None:
                raise
            raise await _missing_version(api, rid, version, headers, http, exc) from None
        ids = ["root", *folder_paths(folders)]
        limit = asyncio.Semaphore(4)

        async def one(folder_id: str) -> tuple[str, Any]:
            async with limit:
                return folder_id, await http.get_json(f"{api}/files", params={"folder_id": folder_id,
                                                                              "version": version},
                                                      headers=headers, what=f"{what} folder {folder_id}")

        listings = dict(await asyncio.gather(*(one(fid) for fid in ids)))
        manifest = parse_manifest(doc, listings, folders, version)
        ds = manifest.dataset
        if resolved.metadata is not None:
            ds = ds.merged(resolved.metadata)
        return replace(manifest, dataset=replace(ds, doi=resolved.doi or ds.doi, repository=ref.repository))


async def _dataset_document(http: Http, api: str, rid: str, version: str | None, headers: dict[str, str],
                            what: str) -> Any:
    """The dataset document, of ``version`` when one is asked for. ``?version=`` is documented for the
    authenticated API only: if the public one refuses it, the latest version's metadata is used (the
    files still come from the version asked for)."""
    if version is None:
        return await http.get_json(api, headers=headers, what=what)
    try:
        return await http.get_json(api, params={"version": version}, headers=headers, what=what)
    except RecordNotFound as exc:
        raise await _missing_version(api, rid, version, headers, http, exc) from None
    except AccessDenied:
        raise
    except RepositoryError as exc:
        http.trace.append(f"Mendeley Data: ?version={version} refused ({exc}); title and licence are the latest "
                          "version's")
        return await http.get_json(api, headers=headers, what=what)


async def _missing_version(api: str, rid: str, version: str, headers: dict[str, str], http: Http,
                           exc: RecordNotFound) -> RecordNotFound:
    """Version ``version`` is missing: name those ``/versions`` lists (or ``exc`` when the dataset is missing)."""
    what = f"Mendeley Data dataset {rid}"
    try:
        listed = await http.get_json(f"{api}/versions", headers=headers, what=f"{what} versions")
    except RecordNotFound:
        return exc
    numbers = [_str(v.get("version")) for v in _dicts(listed)]
    return version_missing(what, version, (n for n in numbers if n), url=exc.url)


ADAPTER = MendeleyAdapter()

__all__ = ["ADAPTER", "BROWSER_USER_AGENT", "KNOWN_HOSTS", "MENDELEY", "MendeleyAdapter", "api_headers",
           "folder_paths", "parse_dataset", "parse_files", "parse_manifest", "wanted_version"]
