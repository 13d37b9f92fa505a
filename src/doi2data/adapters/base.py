"""The adapter contract: recognise a landing page cheaply, then list files into a Manifest.

An adapter never downloads file bytes and never creates its own HTTP client: it is handed an
:class:`~doi2data.http.Http` and the :class:`Resolved` facts the resolver already gathered
(the DOI is resolved once, by the resolver). Parsing lives in pure functions so that tests can
feed recorded JSON straight in.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol
from urllib.parse import urlsplit

import httpx

from ..errors import Doi2DataError, UnsupportedRepository
from ..http import Http, read_body
from ..model import Dataset, Manifest

#: At most this much of a landing page is read (JSON-LD sits in ``<head>``; a DOI may point at a
#: multi-GB file, whose body must never be pulled in just to look for links).
LANDING_PAGE_LIMIT = 4 * 1024 * 1024
LANDING_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"
_CHARSET = re.compile(r"charset\s*=\s*\"?([\w.:-]+)", re.IGNORECASE)


class NoMatch(UnsupportedRepository):
    """A generic layer (Signposting, schema.org, contentUrl) found nothing: the resolver tries the next one."""


@dataclass(frozen=True)
class LandingPage:
    """The landing page as fetched once per resolution: status, headers and (if a web page) its HTML."""

    url: str                              # the final URL, after redirects
    status: int | None = None             # None: no answer at all (see ``error``)
    link: str = ""                        # every ``Link`` header value, joined with ", "
    content_type: str = ""
    text: str | None = None               # the HTML (at most LANDING_PAGE_LIMIT bytes); None if not a page
    error: str | None = None              # why it is unusable (network error, HTTP 404, ...)
    truncated: bool = False
    headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


def _is_web_page(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return not media or "html" in media or media.endswith("/xml") or media.endswith("+xml")


async def fetch_landing_page(url: str, http: Http, *, limit: int = LANDING_PAGE_LIMIT) -> LandingPage:
    """GET ``url`` streamed; read the body only when it is HTML/XML, and at most ``limit`` bytes.

    Never raises a :class:`~doi2data.errors.Doi2DataError`: failures end up in ``error``.
    """
    try:
        response = await http.request("GET", url, headers={"Accept": LANDING_ACCEPT}, stream=True)
    except Doi2DataError as exc:
        return LandingPage(url, error=str(exc))
    try:
        ctype = response.headers.get("content-type", "")
        link = ", ".join(v for v in response.headers.get_list("link") if v.strip())
        headers = MappingProxyType({k.lower(): v for k, v in response.headers.items()})
        final, status = str(response.url), response.status_code
        if status >= 400:
            return LandingPage(final, status, link, ctype, None, f"HTTP {status}", headers=headers)
        if not _is_web_page(ctype):
            return LandingPage(final, status, link, ctype, None, headers=headers)
        body = await read_body(response, limit, truncate=True)  # decoded bytes, bounded per zlib call
        size = len(body)
        match = _CHARSET.search(ctype)
        try:
            text = body.decode(match.group(1) if match else "utf-8", errors="replace")
        except LookupError:  # an unknown charset name
            text = body.decode("utf-8", errors="replace")
        return LandingPage(final, status, link, ctype, text, truncated=size >= limit, headers=headers)
    except httpx.HTTPError as exc:
        return LandingPage(url, error=f"landing page {url} could not be read ({type(exc).__name__})")
    except Doi2DataError as exc:  # a coding refused by read_body (stacked, br, corrupt gzip)
        return LandingPage(url, error=str(exc))
    finally:
        await response.aclose()


class LandingPageCache:
    """Per-resolution memo: the landing page is fetched at most once, whichever layer asks first."""

    def __init__(self) -> None:
        self._pending: asyncio.Future[LandingPage] | None = None
        self.page: LandingPage | None = None

    @property
    def fetched(self) -> bool:
        return self._pending is not None

    async def get(self, url: str, http: Http) -> LandingPage:
        if self.page is None:
            if self._pending is None:
                self._pending = asyncio.ensure_future(fetch_landing_page(url, http))
            self.page = await self._pending
        return self.page


@dataclass(frozen=True)
class Resolved:
    """What the resolver learnt about an identifier before any adapter ran."""

    identifier: str            # the normalised input (DOI, handle or URL)
    doi: str | None            # the DOI, when the input was one (case as given, compare lower())
    landing_url: str           # where the DOI/handle points, or the input URL itself
    metadata: Dataset | None   # DataCite (or other registry) metadata, if the DOI has some
    client_id: str | None = None          # the DataCite client (``cern.zenodo`` ...): a repository hint
    content_urls: tuple[str, ...] = ()    # DataCite ``contentUrl`` (almost always empty)
    parts: tuple[str, ...] = ()           # DataCite HasPart DOIs (a collection's datasets; see doi2data.parts)
    #: the landing page, fetched at most once by whichever layer needs it first (Signposting, JSON-LD)
    landing: LandingPageCache = field(default_factory=LandingPageCache, compare=False, repr=False)

    async def landing_page(self, http: Http) -> LandingPage:
        """The landing page (fetched on first call, then shared)."""
        return await self.landing.get(self.landing_url, http)


@dataclass(frozen=True)
class RecordRef:
    """A record an adapter recognised: enough to call its API."""

    adapter: str               # adapter name, e.g. "invenio"
    api_base: str              # scheme://host of the repository, e.g. "https://zenodo.org"
    record_id: str
    repository: str            # display name, e.g. "Zenodo"
    #: a dataset version the user asked for (``--version``); ``None``: the adapter's default
    #: (the latest published). Adapters without versions refuse a non-None value.
    version: str | None = None


class Adapter(Protocol):
    """One repository family (InvenioRDM, Dataverse, ...)."""

    name: str

    def recognize(self, resolved: Resolved) -> RecordRef | None:
        """Pure, no I/O: is this landing page (or DOI) ours? ``None`` if not."""

    async def list_files(self, ref: RecordRef, resolved: Resolved, http: Http) -> Manifest:
        """Fetch the record's API documents and return the manifest (never file bytes)."""


class Preparer(Protocol):
    """Optional hook of an adapter, run by ``get`` between listing and transfer.

    Why: some facilities keep data on tape (ESRF's IDS: ``ARCHIVED``). Their adapters list such
    files as ``offline``; ``prepare`` gets the *selected* manifest and may bring them online
    (request a restore, poll with backoff, report through ``progress``), returning the manifest
    with those files ``open``. With ``restore=False`` it must not change anything remote. It
    raises :class:`~doi2data.errors.RestoreTimeout` when ``timeout`` seconds were not enough.
    Adapters without the method are simply skipped; the transfer engine never knows.
    """

    async def prepare(self, manifest: Manifest, http: Http, *, restore: bool, timeout: float,
                      progress: Callable[[str], None] | None = None) -> Manifest:
        """Return ``manifest`` with whatever could be brought online marked ``open``."""


def origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of an http(s) URL (user info dropped, host lower-cased), else None."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2].lower()}"
