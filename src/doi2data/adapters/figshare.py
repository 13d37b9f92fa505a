"""Figshare articles and collections: figshare.com, institutional portals, and 4TU.ResearchData.

* Every Figshare portal (``plos.figshare.com``, ``figshare.manchester.ac.uk``, ``orda.shef.ac.uk`` …)
  is served by ``api.figshare.com``; 4TU.ResearchData (djehuty) offers the same ``/v2`` API on
  ``data.4tu.nl`` (integer ids or UUIDs, ``id: null`` files). Portals are recognised by the
  ``/articles/<type>/<slug>/<id>[/<version>]`` path Figshare uses everywhere, not by a host list.
* The article document lists "up to 10 article files" (Figshare's own schema), so when ten or more
  are inline and their sizes do not add up to the article's ``size``, ``/articles/<id>/files`` is
  paged through - for a version (a ``.vN`` DOI, ``--version``) ``/articles/<id>/versions/<N>/files``,
  the official ``article_version_files`` operation (``page`` 1-5000, ``page_size`` 1-1000, default 10:
  figshare-user-documentation OpenAPI at commit 751101d; moabb pages it the same way). A files
  endpoint that ignores paging (FIG-36552, "Pagination is not implemented for item files endpoint",
  a 2024-11 docs PR) answers every page alike: a page that repeats an earlier one ends the listing,
  so it cannot loop. ``folder_structure`` maps file ids to folders.
* Downloads (checked 2026-12-06): ``figshare.com/ndownloader/files/<id>`` and, for some clients and
  regions, ``ndownloader.figshare.com/files/<id>`` sit behind an AWS WAF bot challenge that answers an
  empty ``202`` with ``x-amzn-waf-action: challenge`` (or a ``403``) instead of the file
  (neuromorphs/tonic#337 and automl/nanoTabPFN#12, 2026-07; scDiffEq#110, 2026-01; REAL-Colon#3,
  2026-08: "the REST API works fine"). ``https://api.figshare.com/v2/file/download/<id>`` serves the
  same file ids without the challenge (302 to S3), so every Figshare file carries it as a mirror URL:
  the engine recognises the challenge and moves on to it, with resume and verification unchanged.
* Rate: Figshare has no hard limit but asks clients not to make more than one API request per second
  (docs.figshare.com, "Rate limiting", as summarised by api-evangelist/figshare rate-limits.yml,
  2026-06); :mod:`doi2data.transfer.limits` applies that to ``api.figshare.com`` by default.
* Link-only files point off-site: no size, no checksum, said so in the note. ``computed_md5`` is
  Figshare's own digest; ``supplied_md5`` (the uploader's) is only a fallback.
* ``RecordRef.record_id``: ``<id>``, ``<id>@<version>``, ``collection:<id>[@<version>]``, or
  ``doi:<doi>`` when only a DOI is known (looked up with ``/v2/articles?doi=``).
* ``RecordRef.version`` (``--version N``, also ``vN``) wins over a ``.vN`` DOI or ``/N`` URL: it reads
  ``/articles/<id>/versions/<N>`` (collections likewise); a version that does not exist is reported
  with those ``/versions`` lists (one more request, only on that error).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from ..errors import AccessDenied, RecordNotFound, RepositoryError
from ..http import Http
from ..model import Access, Dataset, FileEntry, Manifest, normalize_digest
from ._versions import version_missing, version_number
from .base import RecordRef, Resolved
from ._json import mapping as _map
from ._json import text as _str
from ._json import size as _size

FIGSHARE_API = "https://api.figshare.com"
FOURTU_API = "https://data.4tu.nl"
INLINE_FILES_CAP = 10  # "files: List of up to 10 article files." (ArticleComplete schema)
PAGE_SIZE = 1000  # the most Figshare's list endpoints accept
MAX_PAGES = 5000  # and the highest page they accept
_ID = re.compile(r"^(\d{1,12}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$", re.IGNORECASE)
_FIGSHARE_DOI = re.compile(r"^10\.6084/m9\.figshare\.(c\.)?(\d+)(?:\.v(\d+))?$", re.IGNORECASE)
_FOURTU_DOI = re.compile(r"^10\.4121/(?:uuid:)?([0-9a-f-]{36}|\d+)(?:\.v(\d+))?$", re.IGNORECASE)
_PORTAL_DOI = re.compile(r"[./](\d{4,12})(?:\.v(\d+))?$", re.IGNORECASE)
#: Figshare item types, the segment after ``/articles/`` on every portal (``_`` is the old placeholder slug).
ITEM_TYPES = frozenset("""dataset figure media poster journal_contribution presentation thesis software
    online_resource preprint book conference_contribution chapter peer_review educational_resource report standard
    composition funding physical_object data_management_plan workflow monograph performance event service model
    code""".split())
LINK_ONLY_NOTE = "link-only file: hosted elsewhere, size and checksum unknown"





def _plain(text: str | None) -> str | None:
    """Titles may carry HTML (``<em>Saccharina</em>``)."""
    return re.sub(r"<[^>]{0,200}>", "", text).strip() or None if text else None


def _is_figshare_host(host: str) -> bool:
    return host == "figshare.com" or host.endswith(".figshare.com") or host.startswith("figshare.")


def _api_for(host: str) -> str:
    return FOURTU_API if host in ("data.4tu.nl", "researchdata.4tu.nl") else FIGSHARE_API


def repository_name(api_base: str) -> str:
    return "4TU.ResearchData" if api_base.rstrip("/") == FOURTU_API else "Figshare"


def _file_entry(raw: Any, folders: Mapping[str, Any], access: Access, note: str | None) -> FileEntry:
    if not isinstance(raw, Mapping):
        raise RepositoryError("Figshare file entry is not a JSON object")
    name = _str(raw.get("name"))
    if not name:
        raise RepositoryError("Figshare file entry has no name")
    fid = _str(raw.get("id")) or _str(raw.get("uuid"))
    folder = _str(folders.get(fid)) if fid else None
    path = f"{folder.strip('/')}/{name}" if folder and folder.strip("/") else name
    url = _str(raw.get("download_url"))
    try:
        url = url if url and urlsplit(url).scheme in ("http", "https") and urlsplit(url).hostname else None
    except ValueError:
        url = None
    if url is None and fid and fid.isdecimal():
        url = f"https://ndownloader.figshare.com/files/{fid}"
    media = _str(raw.get("mimetype"))
    urls = (url,) if url else ()
    if url and fid and fid.isdecimal() and _is_figshare_host((urlsplit(url).hostname or "").lower()):
        urls = (url, f"{FIGSHARE_API}/v2/file/download/{fid}")  # past the download host's bot challenge
    if raw.get("is_link_only") is True:
        return FileEntry(path=path, size=_size(raw.get("size")) or None, urls=(url,) if url else (), media_type=media,
                         access="external" if access == "open" else access,
                         note=f"{note}; {LINK_ONLY_NOTE}" if note else LINK_ONLY_NOTE)
    given = [value for key in ("computed_md5", "supplied_md5") if (value := _str(raw.get(key)))]
    # the first well-formed one; else the malformed one, which FileEntry keeps aside and reports
    md5 = next((digest for value in given if (digest := normalize_digest("md5", value))), given[0] if given else None)
    return FileEntry(path=path, size=_size(raw.get("size")), checksums={"md5": md5} if md5 else {},
                     urls=urls, media_type=media, access=access, note=note)


def parse_files(files: Any, *, folders: Any = None, access: Access = "open", note: str | None = None,
                prefix: str = "") -> tuple[tuple[FileEntry, ...], list[str]]:
    """A ``files[]`` list (article or ``/files`` endpoint) -> entries (under ``prefix/``) and warnings."""
    if not isinstance(files, list):
        raise RepositoryError("Figshare 'files' is not a list")
    seen: dict[str, FileEntry] = {}
    warnings = []
    for raw in files:
        entry = _file_entry(raw, _map(folders), access, note)
        if prefix:
            entry = replace(entry, path=f"{prefix}/{entry.path}")
        if entry.path in seen:
            warnings.append(f"duplicate file name {entry.path!r} listed twice; kept the first")
            continue
        seen[entry.path] = entry
    return tuple(seen.values()), warnings


def _access(doc: Mapping[str, Any]) -> tuple[Access, str | None]:
    if doc.get("is_embargoed") is True:
        until = _str(doc.get("embargo_date"))
        reason = _plain(_str(doc.get("embargo_reason")))
        text = f"embargoed until {until}" if until else "embargoed"
        return "embargoed", f"{text} ({reason})" if reason else text
    if doc.get("is_confidential") is True:
        return "restricted", "confidential: " + (_plain(_str(doc.get("confidential_reason"))) or "files not public")
    if doc.get("download_disabled") is True:
        return "restricted", "downloads are disabled for this item by its owner"
    return "open", None


def article_dataset(doc: Mapping[str, Any], api_base: str) -> Dataset:
    """Descriptive metadata of an article or collection document."""
    doi = _str(doc.get("doi"))
    year = re.match(r"^\d{4}", _str(doc.get("published_date")) or _str(doc.get("created_date")) or "")
    authors = doc.get("authors")
    authors = authors if isinstance(authors, list) else []
    access, note = _access(doc)
    return Dataset(
        doi=doi, title=_plain(_str(doc.get("title"))),
        creators=tuple(n for a in authors if (n := _str(_map(a).get("full_name")))),
        year=int(year.group()) if year else None, version=_str(doc.get("version")),
        license=_str(_map(doc.get("license")).get("name")), resource_type=_str(doc.get("defined_type_name")),
        repository=repository_name(api_base),
        landing_url=_str(doc.get("figshare_url")) or _str(doc.get("url_public_html")),
        record_id=_str(doc.get("id")) or _str(doc.get("uuid")),
        concept_doi=re.sub(r"\.v\d+$", "", doi) if doi and re.search(r"\.v\d+$", doi) else None,
        version_doi=doi, access=access, note=note,
    )


def needs_file_listing(doc: Mapping[str, Any]) -> bool:
    """True when the inline ``files`` may be truncated (or absent) and ``/files`` must be read."""
    files = doc.get("files")
    if not isinstance(files, list):
        return True
    if len(files) < INLINE_FILES_CAP:
        return False
    total = _size(doc.get("size"))
    return total is None or sum(_size(_map(f).get("size")) or 0 for f in files) != total


def parse_article(doc: Any, api_base: str = FIGSHARE_API, *, files: Any = None, prefix: str = "") -> Manifest:
    """An article document (``files`` from the ``/files`` endpoint if given) -> :class:`Manifest` (pure)."""
    try:
        if not isinstance(doc, Mapping):
            raise RepositoryError("Figshare answer is not a JSON object")
        if "title" not in doc and "files" not in doc and files is None:
            raise RepositoryError(f"Figshare answer is not an article: {_str(doc.get('message')) or 'no title'}")
        ds = article_dataset(doc, api_base)
        listed = files if files is not None else doc.get("files", [])
        entries, warnings = parse_files(listed, folders=doc.get("folder_structure"), access=ds.access, note=ds.note,
                                        prefix=prefix)
        if files is None and "files" not in doc:
            warnings.append("the repository returned no file list for this item")
        elif files is None and needs_file_listing(doc):
            warnings.append(f"Figshare lists at most {INLINE_FILES_CAP} files inline; this listing may be incomplete")
        if not entries and ds.access != "open":
            warnings.append(f"item {ds.record_id} is {ds.access}: no files are listed publicly ({ds.note})")
        return Manifest(ds, entries, tuple(warnings))
    except RepositoryError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, UnicodeError) as exc:
        raise RepositoryError(f"unexpected Figshare article shape ({type(exc).__name__}: {exc})") from exc


def _ref_from_url(url: str) -> tuple[str, str] | None:
    """(api_base, record_id) from a landing or API URL."""
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not host:
        return None
    segs = [unquote(s) for s in parts.path.split("/") if s]
    known = _is_figshare_host(host) or _api_for(host) == FOURTU_API
    if segs[:1] == ["v2"] and (host == "api.figshare.com" or _api_for(host) == FOURTU_API):
        segs = segs[1:]  # the API itself: v2/articles/<id>[/versions/<v>]
        if len(segs) >= 2 and segs[0] in ("articles", "collections") and _ID.match(segs[1]):
            version = segs[3] if len(segs) >= 4 and segs[2] == "versions" and segs[3].isdecimal() else ""
            kind = "collection:" if segs[0] == "collections" else ""
            return _api_for(host), f"{kind}{segs[1]}" + (f"@{version}" if version else "")
        return None
    kind, rest = "", []
    if len(segs) >= 4 and segs[0] == "articles" and segs[1] in ITEM_TYPES and _ID.match(segs[3]):
        rest = segs[3:]
    elif known and len(segs) >= 3 and segs[0] in ("articles", "collections") and _ID.match(segs[2]):
        kind, rest = ("collection:" if segs[0] == "collections" else ""), segs[2:]  # old: /articles/<slug>/<id>
    elif known and len(segs) >= 4 and segs[0] == "articles" and _ID.match(segs[3]):  # an item type new to us
        rest = segs[3:]
    elif known and len(segs) >= 2 and segs[0] == "datasets" and _ID.match(segs[1]):  # 4TU: /datasets/<uuid>[/<v>]
        rest = segs[1:]
    if not rest:
        return None
    version = rest[1] if len(rest) >= 2 and rest[1].isdecimal() else ""
    return _api_for(host), f"{kind}{rest[0]}" + (f"@{version}" if version else "")


def _ref_from_doi(doi: str, resolved: Resolved) -> tuple[str, str] | None:
    if m := _FIGSHARE_DOI.match(doi):
        kind, version = "collection:" if m.group(1) else "", f"@{m.group(3)}" if m.group(3) else ""
        return FIGSHARE_API, f"{kind}{m.group(2)}{version}"
    if m := _FOURTU_DOI.match(doi):
        return FOURTU_API, m.group(1).lower() + (f"@{m.group(2)}" if m.group(2) else "")
    meta = resolved.metadata
    hint = " ".join(filter(None, (meta.repository, meta.publisher))) if meta else ""
    if "figshare" in hint.lower() and (m := _PORTAL_DOI.search(doi)):
        return FIGSHARE_API, m.group(1) + (f"@{m.group(2)}" if m.group(2) else "")
    return None


class FigshareAdapter:
    """The :class:`~doi2data.adapters.base.Adapter` for Figshare (all portals) and 4TU.ResearchData."""

    name = "figshare"
    supports_versions = True  # --version N: /articles/<id>/versions/<N>

    def recognize(self, resolved: Resolved) -> RecordRef | None:
        """A Figshare/4TU DOI (its ``.vN`` wins: an unversioned DOI means latest), else the landing URL."""
        doi = (resolved.doi or "").strip()
        by_doi = _ref_from_doi(doi, resolved) if doi else None
        by_url = _ref_from_url(resolved.landing_url or "")
        legacy_uuid = by_doi is not None and not by_doi[1].partition("@")[0].isdecimal()
        found = by_url if by_url and (legacy_uuid or by_doi is None) else by_doi
        if found is None and doi:
            try:
                host = (urlsplit(resolved.landing_url or "").hostname or "").lower()
            except ValueError:
                host = ""
            if _is_figshare_host(host):  # a portal page without an id: look the DOI up
                found = FIGSHARE_API, f"doi:{doi}"
        if found is None:
            return None
        return RecordRef(adapter=self.name, api_base=found[0], record_id=found[1], repository=repository_name(found[0]))

    async def list_files(self, ref: RecordRef, resolved: Resolved, http: Http) -> Manifest:
        """Article (plus ``/files`` pages when truncated), a DOI lookup first, or a whole collection."""
        api, rid = f"{ref.api_base.rstrip('/')}/v2", ref.record_id
        number = version_number(ref.version, ref.repository) if ref.version is not None else None
        if rid.startswith("doi:"):
            hits = await http.get_json(f"{api}/articles", params={"doi": rid[4:]}, what=f"Figshare DOI {rid[4:]}")
            first = hits[0] if isinstance(hits, list) and hits and isinstance(hits[0], Mapping) else {}
            if not _str(first.get("id")):
                raise RecordNotFound(f"Figshare has no article with DOI {rid[4:]}")
            rid = _str(first["id"]) or ""
        if number is not None:
            rid = f"{rid.partition('@')[0]}@{number}"
        try:
            if rid.startswith("collection:"):
                manifest = await _list_collection(api, ref, rid[len("collection:"):], http)
            else:
                manifest = await _list_article(api, ref.api_base, rid, http)
        except RecordNotFound as exc:
            if number is None:
                raise
            raise await _missing_version(api, ref, rid, number, http, exc) from None
        ds = manifest.dataset
        if resolved.metadata is not None:
            ds = ds.merged(resolved.metadata)
        doi = (ds.version_doi if number is not None else None) or resolved.doi or ds.doi  # a version: its .vN DOI
        return replace(manifest, dataset=replace(ds, doi=doi, repository=ref.repository))


async def _missing_version(api: str, ref: RecordRef, rid: str, number: int, http: Http,
                           exc: RecordNotFound) -> RecordNotFound:
    """Version ``number`` of ``rid`` is missing: name the versions ``/versions`` lists (or ``exc`` as is)."""
    kind, bare = ("collections", rid[len("collection:"):]) if rid.startswith("collection:") else ("articles", rid)
    item = bare.partition("@")[0]
    what = f"{ref.repository} {kind[:-1]} {item}"
    try:
        listed = await http.get_json(f"{api}/{kind}/{quote(item, safe='')}/versions", what=f"{what} versions")
    except RecordNotFound:
        return exc  # the item itself is missing
    numbers = [_str(_map(v).get("version")) for v in listed] if isinstance(listed, list) else []
    return version_missing(what, str(number), (n for n in numbers if n), url=exc.url)


def _article_url(api: str, rid: str) -> tuple[str, str]:
    aid, _, version = rid.partition("@")
    url = f"{api}/articles/{quote(aid, safe='')}"
    return (f"{url}/versions/{quote(version, safe='')}" if version else url), version


async def _list_article(api: str, api_base: str, rid: str, http: Http, prefix: str = "") -> Manifest:
    url, version = _article_url(api, rid)
    doc = await http.get_json(url, what=f"{repository_name(api_base)} article {rid}")
    files: list[Any] | None = None
    notes: list[str] = []
    if isinstance(doc, Mapping) and needs_file_listing(doc):
        try:  # the version's own files: /articles/<id>/files lists the latest version's
            files = await _pages(http, f"{url}/files", f"Figshare article {rid} files", notes)
        except RecordNotFound:  # no such endpoint here: keep the inline list (parse_article warns)
            files = None
    manifest = parse_article(doc, api_base, files=files, prefix=prefix)
    total = _size(_map(doc).get("size"))
    if files is not None and total is not None and sum(f.size or 0 for f in manifest.files) < total:
        notes.append(f"Figshare article {rid}: the files listed add up to less than the article's {total} bytes; "
                     "this listing may be incomplete")
    return replace(manifest, warnings=(*manifest.warnings, *notes)) if notes else manifest


async def _pages(http: Http, url: str, what: str, notes: list[str] | None = None) -> list[Any]:
    """Every item of a ``page``/``page_size`` listing (Figshare gives no total: stop at a short page).

    A page that repeats an earlier one (an endpoint that ignores paging) ends the listing, with a
    note in ``notes``; items already listed are not listed twice.
    """
    items: list[Any] = []
    seen: set[str] = set()
    for page in range(1, MAX_PAGES + 1):
        batch = await http.get_json(url, params={"page": str(page), "page_size": str(PAGE_SIZE)}, what=what)
        if not isinstance(batch, list):
            raise RepositoryError(f"{what}: the listing is not a JSON list")
        keys = [_item_key(item) for item in batch]
        fresh = [item for item, key in zip(batch, keys) if key is None or key not in seen]
        if batch and not fresh:
            if notes is not None:
                notes.append(f"{what}: page {page} repeated an earlier page (the endpoint ignores paging); "
                             f"stopped at {len(items)} items")
            return items
        seen.update(key for key in keys if key is not None)
        items.extend(fresh)
        if len(batch) < PAGE_SIZE:
            return items
    raise RepositoryError(f"{what}: more than {MAX_PAGES} pages")


def _item_key(item: Any) -> str | None:
    """What identifies a listed item across pages: its id (or uuid), else its name."""
    item = _map(item)
    key = _str(item.get("id")) or _str(item.get("uuid"))
    if key:
        return f"id:{key}"
    name = _str(item.get("name")) or _str(item.get("title"))
    return f"name:{name}" if name else None


def _folder(article: Mapping[str, Any], used: set[str]) -> str:
    """A collection member's folder: its title (``/`` replaced), or its id when titles collide."""
    aid = _str(article.get("id")) or _str(article.get("uuid")) or "article"
    title = (_plain(_str(article.get("title"))) or aid).replace("/", "_").strip(". ") or aid
    name = title if title not in used else f"{title} ({aid})"
    used.add(name)
    return name


async def _list_collection(api: str, ref: RecordRef, rid: str, http: Http) -> Manifest:
    cid, _, version = rid.partition("@")
    what = f"{ref.repository} collection {cid}"
    meta_url = f"{api}/collections/{quote(cid, safe='')}" + (f"/versions/{quote(version, safe='')}" if version else "")
    meta = await http.get_json(meta_url, what=what)
    if not isinstance(meta, Mapping):
        raise RepositoryError(f"{what} is not a JSON object")
    listed = await _pages(http, f"{api}/collections/{quote(cid, safe='')}/articles", f"{what} articles")
    members = [a for a in listed if isinstance(a, Mapping) and _str(a.get("id"))]
    used: set[str] = set()
    folders = [(_str(a.get("id")) or "", _folder(a, used)) for a in members]
    limit = asyncio.Semaphore(4)

    async def one(aid: str, folder: str) -> Manifest:
        async with limit:
            try:
                return await _list_article(api, ref.api_base, aid, http, prefix=folder)
            except (RecordNotFound, AccessDenied) as exc:  # one withdrawn member must not hide the others
                return Manifest(Dataset(doi=None), (), (f"collection member {aid} skipped: {exc}",))

    parts = await asyncio.gather(*(one(aid, folder) for aid, folder in folders))
    files = tuple(f for m in parts for f in m.files)
    warnings = [w for m in parts for w in m.warnings]
    if not members:
        warnings.append(f"{what} has no public articles")
    if version:
        warnings.append(f"collection version {version}: its articles are listed in their current versions")
    ds = replace(article_dataset(meta, ref.api_base), resource_type="Collection")
    return Manifest(ds, files, tuple(warnings))


ADAPTER = FigshareAdapter()

__all__ = ["ADAPTER", "FIGSHARE_API", "FOURTU_API", "INLINE_FILES_CAP", "FigshareAdapter", "article_dataset",
           "needs_file_listing", "parse_article", "parse_files", "repository_name"]
