"""Plain web folders as datasets: a typed ``https://host/path/`` and the generic directory-listing layer.

Why: much physical-science data is simply a folder on a web server - what ``wget -m -np`` is
pointed at - and many DOIs land on one. Two entry points share one crawler (:mod:`._pan.folders`):

* :data:`ADAPTER` (registered **last** among the adapters) claims only a URL the user typed whose
  path ends with ``/``; DOIs and other URLs are left to the detection layers, which a greedy claim
  here would shadow;
* :data:`LAYER`, the last generic layer of :mod:`doi2data.discovery` ("directory-listing"), after
  Signposting, schema.org and DataCite ``contentUrl``: the landing page a DOI resolves to (fetched
  once, shared with those layers) is listed when it is a folder. ``PROPFIND`` (``Depth: 1``) is
  tried first where the server may speak WebDAV (the landing URL is a folder ``…/``, or the page
  is a listing, or its headers say ``DAV``/``PROPFIND``); a ``207`` lists the whole tree over
  WebDAV (exact sizes, dCache checksums), anything else falls back to the HTML listing, which is
  recognised by structure (nginx, Apache fancy table / pre and plain ``<ul>``, lighttpd, IIS,
  Python ``http.server``, Caddy), never by host.

Both list recursively, never above the folder, within the :class:`~._pan.autoindex.ListingLimits`
in force (``--max-depth``, ``--max-pages``, ``--max-entries``); sizes come from the listing when
exact and from one ``HEAD`` per file when it rounds them (``7.6M``), else are unknown (said in a
warning); checksums from ``MD5SUMS``/``SHA256SUMS``/``*.md5``/``*.sha1``/``*.sha256`` sidecars and
PSI's ``__checksum_filename_N__``. A page that is no listing: :class:`~doi2data.errors.UnsupportedRepository`
(typed URL, exit 5) or :class:`~.base.NoMatch` (the layer: discovery gives up and says why).
"""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import unquote, urlsplit

from ..entry_stream import emit
from ..errors import AccessDenied, Doi2DataError, UnsupportedRepository
from ..http import Http
from ..model import Dataset, Discovery, Manifest
from ._pan.autoindex import (
    LIMITS,
    CrawlTally,
    IndexEntry,
    ListingLimits,
    NotAListing,
    listing_limits,
    parse_listing,
    walk,
)
from ._pan.dav import NotWebDav, propfind_folder
from ._pan.folders import FolderFiles, folder_files
from ._pan.net import generic_fallback, note
from .base import LandingPage, NoMatch, RecordRef, Resolved, origin_of
from .contenturl import generic_dataset, host_of

LAYER_NAME = "directory-listing"


def _is_folder_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.path.endswith("/") and not parts.query and not parts.fragment


def speaks_dav(page: LandingPage) -> bool:
    """Do the landing page's headers advertise WebDAV (``DAV``, ``MS-Author-Via``, ``Allow: PROPFIND``)?"""
    headers = page.headers
    return bool(headers.get("dav")) or "dav" in (headers.get("ms-author-via") or "").lower() \
        or "PROPFIND" in (headers.get("allow") or "").upper()


class WebIndexAdapter:
    """The :class:`~doi2data.adapters.base.Adapter` for a typed web-folder URL."""

    name = "webindex"

    def recognize(self, resolved: Resolved) -> RecordRef | None:
        url = (resolved.landing_url or "").strip()
        try:
            parts = urlsplit(url)
            host = (parts.hostname or "").lower()
        except ValueError:
            return None
        if parts.scheme not in ("http", "https") or not host or parts.query or parts.fragment:
            return None
        typed = resolved.doi is None and resolved.identifier.strip() == url
        if not typed or not parts.path.endswith("/"):
            return None
        origin = f"{parts.scheme}://{parts.netloc.rpartition('@')[2].lower()}"
        return RecordRef(self.name, origin, url, host)

    async def list_files(self, ref: RecordRef, resolved: Resolved, http: Http) -> Manifest:
        url = ref.record_id
        note(http, f"web directory listing at {url}")
        try:
            files, warnings = await folder_files(http, url, None, require_checksums=False, emit=emit)
        except (NotAListing, AccessDenied) as exc:
            # a landing page after all (Signposting, JSON-LD), or a WebDAV folder that refuses GET (PROPFIND)
            found = await generic_fallback(resolved, http)
            if found is not None:
                return found
            if isinstance(exc, AccessDenied):
                raise
            raise UnsupportedRepository(f"no adapter supports {url}: {exc}", identifier=resolved.identifier,
                                        url=url) from exc
        path = unquote(urlsplit(url).path)
        dataset = Dataset(doi=resolved.doi, title=f"Index of {path}", repository=ref.repository,
                          landing_url=url, record_id=url)
        if resolved.metadata is not None:
            dataset = resolved.metadata.merged(dataset)
        return Manifest(dataset, files.sorted_by_path(), tuple(warnings))


class DirectoryListingLayer:
    """Generic layer: the landing page is a web folder (WebDAV or an HTML directory index)."""

    name = "webindex"

    def recognize(self, resolved: Resolved) -> RecordRef | None:
        url = (resolved.landing_url or "").strip()
        origin = origin_of(url)
        return RecordRef(self.name, origin, url, host_of(url)) if origin else None

    async def list_files(self, ref: RecordRef, resolved: Resolved, http: Http) -> Manifest:
        page = await resolved.landing_page(http)
        folder = page.url or resolved.landing_url
        listing = parse_listing(page.text, folder) if page.text is not None and not page.error else None
        is_listing = listing is not None and listing.is_listing and not page.truncated
        if not (is_listing or _is_folder_url(folder) or speaks_dav(page)):
            why = listing.why if listing is not None else (page.error or f"{page.content_type or 'no'} content")
            raise NoMatch(f"the landing page is not a directory listing ({why})")
        limits = LIMITS.get()
        base = folder if folder.endswith("/") else folder + "/"
        how = ""
        found: tuple[FolderFiles, list[str], CrawlTally] | None = None
        try:
            found = await _crawl_into(http, base, limits, lister=propfind_folder)
            how = "WebDAV PROPFIND (207 Multi-Status)"
        except _PageError as exc:  # a checksum file, not the listing, failed: no reason to try HTML
            raise exc.error from exc.error.__cause__
        except NotWebDav as exc:
            note(http, f"no WebDAV: {exc}")
        except Doi2DataError as exc:  # PROPFIND refused in some other way: the HTML listing may still work
            note(http, f"PROPFIND {base}: {exc}")
        if found is None:
            if not (listing is not None and listing.is_listing):
                raise NoMatch(f"the landing page is not a directory listing ({listing.why if listing else page.error})"
                              " and PROPFIND gave no WebDAV listing")
            first = list(listing.entries) if not page.truncated else None
            try:
                found = await _crawl_into(http, base, limits, first=first)
            except _PageError as exc:
                raise exc.error from exc.error.__cause__
            except NotAListing as exc:
                raise NoMatch(str(exc)) from exc
            how = "HTML directory index"
        into, crawl_warnings, tally = found
        files, warnings = into.finish(crawl_warnings)
        reason = f"{how} at {base}: {len(files)} file(s) in {tally.folders + 1} folder(s)"
        path = unquote(urlsplit(base).path)
        dataset = generic_dataset(resolved, Dataset(doi=resolved.doi, title=f"Index of {path}", landing_url=base,
                                                    record_id=base))
        manifest = Manifest(dataset, files.sorted_by_path(), tuple(warnings))
        return replace(manifest, discovery=Discovery(layer=LAYER_NAME, adapter=self.name, reason=reason))


class _PageError(Exception):
    """An error while making a listed page's files final (a checksum file), told apart from the listing's own."""

    def __init__(self, error: Doi2DataError) -> None:
        super().__init__(str(error))
        self.error = error


async def _crawl_into(http: Http, base: str, limits: ListingLimits, **how: object,
                      ) -> tuple[FolderFiles, list[str], CrawlTally]:
    """Crawl ``base`` page by page into a fresh :class:`FolderFiles` (a failed attempt leaves nothing behind)."""
    into = FolderFiles(http, base, None, require_checksums=False, emit=emit)
    warnings: list[str] = []

    async def page(entries: list[IndexEntry]) -> None:
        try:
            await into.page(entries)
        except Doi2DataError as exc:
            raise _PageError(exc) from exc

    tally = await walk(http, base, page, limits=limits, warnings=warnings, gate=into.gate,
                       **how)  # type: ignore[arg-type]
    return into, warnings, tally


ADAPTER = WebIndexAdapter()
LAYER = DirectoryListingLayer()

__all__ = ["ADAPTER", "LAYER", "LAYER_NAME", "DirectoryListingLayer", "ListingLimits", "WebIndexAdapter",
           "listing_limits", "speaks_dav"]
