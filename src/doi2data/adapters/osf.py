"""OSF (Open Science Framework) projects, components and registrations (API v2, JSON:API).

A node's files live under storage providers (``osfstorage`` plus add-ons such as GitHub or
Dropbox): ``/v2/nodes/<id>/files/`` lists the providers, each provider is a folder listing, and
folders are followed through ``relationships.files.links.related.href``. Listings are paginated
(10 per page by default, ``links.next``), which some tools forget and so truncate big projects;
every page is followed here, asking for 100 per page. A GUID may also be a registration (tried
after ``/nodes/`` answers 404) or a single file (``/v2/files/<guid>/``).

Paths are ``<provider>/<materialized_path>``, without the provider when osfstorage is the only
one (the common case, and what users see on the landing page). Checksums are
``extra.hashes.{md5,sha256}``; the download URL is ``links.download`` (WaterButler's ``links.upload``
URL, which also serves the bytes on GET, is the mirror). An add-on that cannot be listed (expired
credentials are common) is skipped with a warning; osfstorage itself must list. Components (child
nodes) are separate nodes and are not included.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from ..errors import RecordNotFound, RepositoryError
from ..http import Http
from ..model import Dataset, FileEntry, Manifest, normalize_digest
from .base import RecordRef, Resolved
from ._json import http_url as _http_url
from ._json import mapping as _map
from ._json import text as _str

OSF_API = "https://api.osf.io"
MAX_REQUESTS = 20_000
PAGE = {"page[size]": "100"}
_GUID = re.compile(r"^[a-z0-9]{5,6}$")
_OSF_DOI = re.compile(r"^10\.17605/osf\.io/([a-z0-9]{5,6})$", re.IGNORECASE)
#: First path segments on osf.io that are pages, not GUIDs.
RESERVED = frozenset("""login logout about users files nodes legal terms token oauth cas api static guids search
    support donate explore browse index reset share forgot review signup cookie""".split())


def _related(item: Mapping[str, Any], rel: str = "files") -> str | None:
    return _http_url(_map(_map(_map(_map(item.get("relationships")).get(rel)).get("links")).get("related")).get("href"))


@dataclass(frozen=True)
class Listing:
    """One parsed page of a JSON:API file listing."""

    files: tuple[tuple[str, FileEntry], ...]   # (provider, entry with the materialized path)
    folders: tuple[tuple[str, str], ...]       # (provider, URL of the folder's listing)
    next: str | None


def _file(item: Mapping[str, Any], attrs: Mapping[str, Any]) -> FileEntry:
    path = (_str(attrs.get("materialized_path")) or _str(attrs.get("name")) or "").strip("/")
    if not path:
        raise RepositoryError("OSF file has no name")
    hashes = _map(_map(attrs.get("extra")).get("hashes"))
    checksums = {a: d for a in ("md5", "sha256") if (v := _str(hashes.get(a))) and (d := normalize_digest(a, v))}
    size = attrs.get("size")
    links = _map(item.get("links"))  # osf.io/download/… redirects to WaterButler, whose own URL is the mirror
    urls = [u for key in ("download", "upload") if (u := _http_url(links.get(key)))]
    urls = list(dict.fromkeys(u.partition("?")[0] if i else u for i, u in enumerate(urls)))
    ok = isinstance(size, int) and not isinstance(size, bool) and size >= 0
    return FileEntry(path=path, size=size if ok else None, checksums=checksums, urls=tuple(urls))


def parse_listing(doc: Any) -> Listing:
    """A ``…/files/[<provider>/<folder>/]`` page (or the providers list) -> :class:`Listing`. Pure."""
    try:
        if not isinstance(doc, Mapping):
            raise RepositoryError("OSF answer is not a JSON object")
        data = doc.get("data")
        items = data if isinstance(data, list) else [data] if isinstance(data, Mapping) else None
        if items is None:
            raise RepositoryError("OSF answer has no 'data'")
        files, folders = [], []
        for item in items:
            if not isinstance(item, Mapping):
                raise RepositoryError("OSF listing item is not a JSON object")
            attrs = _map(item.get("attributes"))
            provider = _str(attrs.get("provider")) or _str(attrs.get("name")) or "osfstorage"
            kind = _str(attrs.get("kind"))
            if kind == "file":
                files.append((provider, _file(item, attrs)))
            elif kind == "folder":
                if not (href := _related(item)):
                    raise RepositoryError("OSF folder has no usable files link")
                folders.append((provider, href))
            else:
                raise RepositoryError(f"OSF listing item of unknown kind {kind!r}")
        return Listing(tuple(files), tuple(folders), _http_url(_map(doc.get("links")).get("next")))
    except RepositoryError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, UnicodeError) as exc:
        raise RepositoryError(f"unexpected OSF listing shape ({type(exc).__name__}: {exc})") from exc


def parse_node(doc: Any) -> tuple[Dataset, str | None]:
    """A node or registration document -> (metadata, URL of its providers listing). Pure."""
    data = _map(doc).get("data") if isinstance(doc, Mapping) else None
    if not isinstance(data, Mapping) or not isinstance(data.get("attributes"), Mapping):
        raise RepositoryError("OSF answer is not a node (no data.attributes)")
    attrs = data["attributes"]
    year = re.match(r"^\d{4}", _str(attrs.get("date_created")) or "")
    ds = Dataset(
        doi=None, title=_str(attrs.get("title")), year=int(year.group()) if year else None,
        resource_type=_str(attrs.get("category")), repository="OSF",
        landing_url=_str(_map(data.get("links")).get("html")), record_id=_str(data.get("id")),
    )
    return ds, _related(data)


def assemble(dataset: Dataset, providers: list[str], found: list[tuple[str, FileEntry]]) -> Manifest:
    """Files from every provider -> one manifest; the provider prefix only when needed."""
    prefix = set(providers) - {"osfstorage"} or len(set(providers)) > 1
    seen: dict[str, FileEntry] = {}
    warnings = []
    for provider, entry in found:
        if prefix:
            entry = replace(entry, path=f"{provider}/{entry.path}")
        if entry.path in seen:
            warnings.append(f"duplicate file path {entry.path!r} listed twice; kept the first")
            continue
        seen[entry.path] = entry
    return Manifest(dataset, tuple(sorted(seen.values(), key=lambda f: f.path)), tuple(warnings))


def _api_for(host: str) -> str:
    """``osf.io`` -> ``https://api.osf.io``; ``test.osf.io`` -> ``https://api.test.osf.io``."""
    host = host.removeprefix("www.").removeprefix("api.")
    return OSF_API if host == "osf.io" else f"https://api.{host}"


def _ref_from_url(url: str) -> RecordRef | None:
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not (host == "osf.io" or host.endswith(".osf.io")):
        return None
    segs = [unquote(s) for s in parts.path.split("/") if s]
    if segs[:1] == ["v2"] and len(segs) >= 3 and segs[1] in ("nodes", "registrations"):
        guid = segs[2].lower()
    elif segs and host.startswith(("files.", "mfr.")):
        return None
    elif segs[:1] == ["download"] and len(segs) >= 2:  # osf.io/download/<file guid>/
        guid = segs[1].lower()
    else:
        guid = segs[0].lower() if segs else ""
    if not _GUID.match(guid) or guid in RESERVED:
        return None
    return RecordRef(adapter="osf", api_base=_api_for(host), record_id=guid, repository="OSF")


class OsfAdapter:
    """The :class:`~doi2data.adapters.base.Adapter` for OSF."""

    name = "osf"

    def recognize(self, resolved: Resolved) -> RecordRef | None:
        """``osf.io/<guid>[/…]``, ``api.osf.io/v2/nodes/<guid>``, or a ``10.17605/OSF.IO/<GUID>`` DOI."""
        if ref := _ref_from_url(resolved.landing_url or ""):
            return ref
        if match := _OSF_DOI.match((resolved.doi or "").strip()):
            return RecordRef(adapter=self.name, api_base=OSF_API, record_id=match.group(1).lower(), repository="OSF")
        return None

    async def list_files(self, ref: RecordRef, resolved: Resolved, http: Http) -> Manifest:
        """Node (or registration, or single file) -> providers -> every folder, every page."""
        api, guid = ref.api_base.rstrip("/"), quote(ref.record_id, safe="")
        what = f"OSF node {ref.record_id}"
        doc = None
        for kind in ("nodes", "registrations"):
            try:
                doc = await http.get_json(f"{api}/v2/{kind}/{guid}/", what=what)
                break
            except RecordNotFound as exc:
                missing = exc
        if doc is None:  # perhaps a file GUID
            try:
                single = parse_listing(await http.get_json(f"{api}/v2/files/{guid}/", what=f"OSF file {ref.record_id}"))
            except RecordNotFound:
                raise missing from None
            dataset = Dataset(doi=None, repository="OSF", record_id=ref.record_id)
            manifest = assemble(dataset, [p for p, _ in single.files], list(single.files))
        else:
            dataset, providers_url = parse_node(doc)
            manifest = await _walk(http, dataset, providers_url or f"{api}/v2/{kind}/{guid}/files/", what)
        ds = manifest.dataset
        if resolved.metadata is not None:
            ds = ds.merged(resolved.metadata)
        return replace(manifest, dataset=replace(ds, doi=resolved.doi or ds.doi, repository=ref.repository))


async def _pages(http: Http, url: str, what: str, budget: list[int]) -> list[Listing]:
    """Every page of one listing (``links.next`` until null)."""
    pages, seen = [], set()
    nxt: str | None = url
    while nxt and nxt not in seen:
        budget[0] -= 1
        if budget[0] < 0:
            raise RepositoryError(f"{what}: more than {MAX_REQUESTS} listing requests; giving up")
        seen.add(nxt)
        doc = await http.get_json(nxt, params=PAGE if nxt == url else None, what=what)
        pages.append(parse_listing(doc))
        nxt = pages[-1].next
    return pages


async def _walk(http: Http, dataset: Dataset, providers_url: str, what: str) -> Manifest:
    """Breadth-first through every provider; a failing add-on (expired GitHub/Dropbox link) is a warning."""
    budget, visited, warnings = [MAX_REQUESTS], set[str](), list[str]()
    found: list[tuple[str, FileEntry]] = []
    pages = await _pages(http, providers_url, f"{what} storage providers", budget)
    providers = [folder for page in pages for folder in page.folders]
    for provider, root in providers:
        queue, mine = [root], list[tuple[str, FileEntry]]()
        try:
            while queue:
                url = queue.pop(0)
                if url in visited:
                    continue
                visited.add(url)
                for page in await _pages(http, url, f"{what} files ({provider})", budget):
                    mine.extend(page.files)
                    queue.extend(u for _, u in page.folders)
        except RepositoryError as exc:
            if provider == "osfstorage" or len(providers) == 1:
                raise
            warnings.append(f"storage provider {provider!r} could not be listed and was skipped: {exc}")
            continue
        found.extend(mine)
    manifest = assemble(dataset, [p for p, _ in providers], found)
    return replace(manifest, warnings=(*manifest.warnings, *warnings))


ADAPTER = OsfAdapter()

__all__ = ["ADAPTER", "OSF_API", "Listing", "OsfAdapter", "assemble", "parse_listing", "parse_node"]
