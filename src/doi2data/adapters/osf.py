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
credentials are common) is skipped with a warning; osfstorage itself must list.

Components (child projects) hold much of the data of multi-part projects and are reachable only
through ``/v2/nodes/<id>/children/`` (recorded ``nodes-4fjxr-children-page1.json``: pages of node
documents with their own ``relationships.files`` and ``.children``). Each is listed as a folder
``<title> (<guid>)`` (``/`` in a title becomes ``_``), recursively up to :data:`MAX_DEPTH`; one that
cannot be listed (private) is a warning, not a failure.

Rate limits (checked 2026-12-06; developer.osf.io "Errors and Error Codes": "Unauthenticated
requests have a rate limit of 100/hour", authenticated 10,000/day, 429 with ``Retry-After``;
CenterForOpenScience/osf.io PR #6221; peers datalad-osf #28, GoldenCheetah/OpenData #4): the hourly
budget is the default rate of ``api.osf.io`` (:mod:`doi2data.transfer.limits`), a token for
``api.osf.io`` raises it. When the budget is spent anyway (other tools on the same address), the
429 becomes :class:`BudgetSpent`, which says so, when to come back, and that a re-run resumes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from ..errors import RecordNotFound, RepositoryError
from ..http import Http, raise_for_status, retry_after_seconds
from ..model import Dataset, FileEntry, Manifest
from .base import RecordRef, Resolved
from ._json import http_url as _http_url
from ._json import mapping as _map
from ._json import text as _str

OSF_API = "https://api.osf.io"
MAX_REQUESTS = 20_000
MAX_DEPTH = 10  # components of components of ...
PAGE = {"page[size]": "100"}
_GUID = re.compile(r"^[a-z0-9]{5,6}$")
_OSF_DOI = re.compile(r"^10\.17605/osf\.io/([a-z0-9]{5,6})$", re.IGNORECASE)
#: First path segments on osf.io that are pages, not GUIDs.
RESERVED = frozenset("""login logout about users files nodes legal terms token oauth cas api static guids search
    support donate explore browse index reset share forgot review signup cookie""".split())


class BudgetSpent(RepositoryError):
    """OSF answered 429: this address's request budget is spent for now."""


def budget_message(host: str, headers: Mapping[str, str], with_token: bool) -> str:
    """One line: the budget is spent, when it comes back, how to go on."""
    wait = retry_after_seconds(headers)
    when = f"again in about {max(1, round(wait / 60))} min" if wait is not None else "again later"
    if with_token:
        return (f"OSF's request budget for this token (10,000 requests a day) is spent (HTTP 429 from {host}); "
                f"run the same command {when}: a re-run resumes, verified files are kept")
    return (f"OSF's request budget for anonymous users (100 requests an hour) is spent (HTTP 429 from {host}); "
            f"run the same command {when}: a re-run resumes, verified files are kept; or give a personal access "
            f"token (https://osf.io/settings/tokens) as --token {host}=TOKEN for 10,000 requests a day")


async def _get_json(http: Http, url: str, what: str, params: Mapping[str, str] | None = None) -> Any:
    """``http.get_json``, but a 429 that retries could not wait out is :class:`BudgetSpent`."""
    response = await http.request("GET", url, params=params, headers={"Accept": "application/json"})
    if response.status_code == 429:
        raise BudgetSpent(budget_message(response.url.host, response.headers,
                                         "authorization" in response.request.headers), url=str(response.url))
    raise_for_status(response, what=what)
    try:
        return response.json()
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: nested past the parser's depth
        raise RepositoryError(f"{what} at {response.url} is not valid JSON", url=str(response.url)) from exc


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
    checksums = {a: v for a in ("md5", "sha256") if (v := _str(hashes.get(a)))}  # FileEntry checks them
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
                doc = await _get_json(http, f"{api}/v2/{kind}/{guid}/", what=what)
                break
            except RecordNotFound as exc:
                missing = exc
        if doc is None:  # perhaps a file GUID
            try:
                single = parse_listing(await _get_json(http, f"{api}/v2/files/{guid}/", what=f"OSF file {ref.record_id}"))
            except RecordNotFound:
                raise missing from None
            dataset = Dataset(doi=None, repository="OSF", record_id=ref.record_id)
            manifest = assemble(dataset, [p for p, _ in single.files], list(single.files))
        else:
            dataset, providers_url = parse_node(doc)
            budget = [MAX_REQUESTS]
            manifest = await _walk(http, dataset, providers_url or f"{api}/v2/{kind}/{guid}/files/", what, budget)
            children = _related(_map(doc.get("data")), "children") or f"{api}/v2/{kind}/{guid}/children/"
            files, warnings, listed = await _components(http, children, what, budget, {ref.record_id}, "", 1)
            if listed or warnings:
                manifest = _with_components(manifest, files, warnings, listed)
        ds = manifest.dataset
        if resolved.metadata is not None:
            ds = ds.merged(resolved.metadata)
        return replace(manifest, dataset=replace(ds, doi=resolved.doi or ds.doi, repository=ref.repository))


async def _docs(http: Http, url: str, what: str, budget: list[int]) -> list[Any]:
    """Every page of one JSON:API listing (``links.next`` until null), as documents."""
    docs, seen = [], set()
    nxt: str | None = url
    while nxt and nxt not in seen:
        budget[0] -= 1
        if budget[0] < 0:
            raise RepositoryError(f"{what}: more than {MAX_REQUESTS} listing requests; giving up")
        seen.add(nxt)
        docs.append(await _get_json(http, nxt, params=PAGE if nxt == url else None, what=what))
        nxt = _http_url(_map(_map(docs[-1]).get("links")).get("next"))
    return docs


async def _pages(http: Http, url: str, what: str, budget: list[int]) -> list[Listing]:
    """Every page of one file listing."""
    return [parse_listing(doc) for doc in await _docs(http, url, what, budget)]


def component_folder(title: str | None, guid: str) -> str:
    """``Site A data (abcde)``: the component's title (``/`` -> ``_``) and its GUID, one path segment."""
    name = " ".join((title or "").replace("/", "_").replace("\\", "_").split()).strip(". ")
    return f"{name} ({guid})" if name else guid


async def _components(http: Http, url: str, what: str, budget: list[int], seen: set[str], prefix: str,
                      depth: int) -> tuple[list[FileEntry], list[str], list[str]]:
    """Every component under ``url`` (recursively): its files under its folder, warnings (unlistable
    ones), and the folders listed."""
    files: list[FileEntry] = []
    warnings: list[str] = []
    listed: list[str] = []
    try:
        docs = await _docs(http, url, f"{what} components", budget)
    except RecordNotFound:
        return files, warnings, listed  # no children endpoint: no components
    except BudgetSpent:
        raise
    except RepositoryError as exc:
        return files, [f"components of {prefix.rstrip('/') or what} could not be listed: {exc}"], listed
    for doc in docs:
        items = _map(doc).get("data")
        for item in items if isinstance(items, list) else []:
            guid = _str(_map(item).get("id"))
            if not guid or guid in seen or not isinstance(_map(item).get("attributes"), Mapping):
                continue
            seen.add(guid)
            child, providers_url = parse_node({"data": item})
            folder = f"{prefix}{component_folder(child.title, guid)}/"
            try:
                found = await _walk(http, child, providers_url or f"{OSF_API}/v2/nodes/{guid}/files/",
                                    f"OSF component {guid}", budget)
            except BudgetSpent:
                raise
            except RepositoryError as exc:  # private, or its storage is gone: the rest still lists
                warnings.append(f"component {folder.rstrip('/')!r} could not be listed and was skipped: {exc}")
                continue
            files += [replace(e, path=folder + e.path) for e in found.files]
            listed.append(folder.rstrip("/"))
            warnings += [f"component {folder.rstrip('/')!r}: {w}" for w in found.warnings]
            grandchildren = _related(_map(item), "children")
            if grandchildren and depth < MAX_DEPTH:
                more, notes, names = await _components(http, grandchildren, what, budget, seen, folder, depth + 1)
                files += more
                warnings += notes
                listed += names
            elif grandchildren:
                warnings.append(f"components deeper than {MAX_DEPTH} levels under {folder.rstrip('/')!r} left out")
    return files, warnings, listed


def _with_components(manifest: Manifest, files: list[FileEntry], warnings: list[str], listed: list[str]) -> Manifest:
    seen = {f.path: f for f in manifest.files}
    notes = list(manifest.warnings)
    for entry in files:
        if entry.path in seen:
            notes.append(f"duplicate file path {entry.path!r} listed twice; kept the first")
            continue
        seen[entry.path] = entry
    if listed:
        notes.append(f"{len(listed)} component(s) listed as folders: {', '.join(listed)}")
    return replace(manifest, files=tuple(sorted(seen.values(), key=lambda f: f.path)), warnings=(*notes, *warnings))


async def _walk(http: Http, dataset: Dataset, providers_url: str, what: str, budget: list[int]) -> Manifest:
    """Breadth-first through every provider; a failing add-on (expired GitHub/Dropbox link) is a warning."""
    visited, warnings = set[str](), list[str]()
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
            if provider == "osfstorage" or len(providers) == 1 or isinstance(exc, BudgetSpent):
                raise
            warnings.append(f"storage provider {provider!r} could not be listed and was skipped: {exc}")
            continue
        found.extend(mine)
    manifest = assemble(dataset, [p for p, _ in providers], found)
    return replace(manifest, warnings=(*manifest.warnings, *warnings))


ADAPTER = OsfAdapter()

__all__ = ["ADAPTER", "OSF_API", "BudgetSpent", "Listing", "OsfAdapter", "assemble", "budget_message", "component_folder",
           "parse_listing", "parse_node"]
