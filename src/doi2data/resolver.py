"""Identifier -> landing page (+ registry metadata) -> adapter -> manifest.

A DOI is resolved **once**, through the doi.org Handle API (``/api/handles/<doi>``: one small
JSON document, no landing page fetched), falling back to reading the ``Location`` of the
``https://doi.org/<doi>`` redirect when the API fails or holds no URL value. DataCite metadata
is fetched at the same time (one request; a 404 simply means the DOI is not DataCite's), keeping
the DataCite client id and ``contentUrl`` for detection. The adapters then get the landing URL and
the metadata and never resolve again; which adapter runs is decided layer by layer, cheapest
first, in :mod:`doi2data.discovery`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import quote, urljoin

from .adapters._versions import clean_version
from .adapters.base import Resolved
from .datacite import DataCiteRecord, fetch_datacite_record
from .discovery import discover
from .entry_stream import paused
from .errors import Doi2DataError, IdentifierNotFound, ResolutionError, UnsupportedRepository
from .http import Http
from .identifiers import Identifier, parse_identifier
from .model import Manifest

log = logging.getLogger(__name__)

DOI_PROXY = "https://doi.org"
HANDLE_PROXY = "https://hdl.handle.net"
_MAX_HOPS = 10


def _handle_path(handle: str) -> str:
    return quote(handle, safe="/")


def url_from_handle_record(record: Any) -> str | None:
    """Pick the ``URL``-typed value of a Handle API record (by type, never by position)."""
    if not isinstance(record, dict):
        return None
    for value in record.get("values") or ():
        if isinstance(value, dict) and str(value.get("type", "")).upper() == "URL":
            data = value.get("data")
            url = data.get("value") if isinstance(data, dict) else None
            if isinstance(url, str) and url.strip():
                return url.strip()
    return None


async def _handle_api(proxy: str, handle: str, http: Http) -> str | None:
    """Landing URL via the Handle API; ``None`` when the API cannot tell (use the fallback)."""
    url = f"{proxy}/api/handles/{_handle_path(handle)}"
    try:
        response = await http.request("GET", url, params={"type": "URL"}, headers={"Accept": "application/json"})
    except Doi2DataError as exc:
        log.debug("handle API failed for %s: %s", handle, exc)
        return None
    try:
        body = response.json()
    except (ValueError, RecursionError):  # junk, or JSON nested past the parser's depth
        body = None
    code = body.get("responseCode") if isinstance(body, dict) else None
    if response.status_code == 404 and code in (100, None):
        raise IdentifierNotFound(f"{handle} does not exist (not registered at {proxy})", identifier=handle)
    if response.status_code == 200 and code == 1:
        return url_from_handle_record(body)
    return None


async def _follow_redirect(proxy: str, handle: str, http: Http) -> str:
    """Fallback: read the resolver's ``Location`` header hop by hop (without fetching the page)."""
    url = f"{proxy}/{_handle_path(handle)}"
    for _ in range(_MAX_HOPS):
        response = await http.request("HEAD", url, follow_redirects=False)
        if response.status_code == 405:
            response = await http.request("GET", url, follow_redirects=False)
        if response.status_code == 404:
            raise IdentifierNotFound(f"{handle} does not exist (HTTP 404 from {proxy})", identifier=handle)
        location = response.headers.get("location")
        if not (300 <= response.status_code < 400 and location):
            break
        target = urljoin(url, location)
        if not target.startswith(proxy):
            return target
        url = target
    raise ResolutionError(f"could not resolve {handle}: {proxy} gave no landing page", identifier=handle)


async def landing_url(ident: Identifier, http: Http) -> str:
    """Where the identifier points (the repository's landing page)."""
    if ident.scheme == "url":
        return ident.value
    proxy = DOI_PROXY if ident.scheme == "doi" else HANDLE_PROXY
    return await _handle_api(proxy, ident.value, http) or await _follow_redirect(proxy, ident.value, http)


async def _metadata(ident: Identifier, http: Http) -> DataCiteRecord | None:
    if not ident.is_doi:
        return None
    try:
        return await fetch_datacite_record(ident.value, http)
    except Doi2DataError as exc:  # metadata is a bonus: never fail a download for it
        log.warning("DataCite metadata unavailable for %s: %s", ident.value, exc)
        return None


async def resolve_identifier(identifier: str | Identifier, http: Http) -> Resolved:
    """Resolve once: landing URL and DataCite metadata, fetched concurrently."""
    ident = identifier if isinstance(identifier, Identifier) else parse_identifier(identifier)
    landing, record = await asyncio.gather(landing_url(ident, http), _metadata(ident, http))
    return Resolved(
        identifier=str(ident),
        doi=ident.value if ident.is_doi else None,
        landing_url=landing,
        metadata=record.dataset if record else None,
        client_id=record.client_id if record else None,
        content_urls=record.content_urls if record else (),
        parts=record.parts if record else (),
    )


async def build_manifest(identifier: str | Identifier, http: Http, *, version: str | None = None,
                         expand_parts: bool = True) -> Manifest:
    """The whole front half of the pipeline: identifier -> :class:`Manifest` (with its ``discovery``).

    With a catalogue chosen (``--catalogue``, :mod:`doi2data.catalogue`), a manifest whose source
    lists no datasets gets the PaN catalogue's datasets for its DOI (one more request).
    """
    manifest = await _build_manifest(identifier, http, version=version, expand_parts=expand_parts)
    from .catalogue import active, enrich

    endpoint = active()
    return manifest if endpoint is None else await enrich(manifest, http, endpoint)


async def _build_manifest(identifier: str | Identifier, http: Http, *, version: str | None = None,
                          expand_parts: bool = True) -> Manifest:
    """:func:`build_manifest` without the catalogue step.

    ``version`` picks a dataset version (``--version``); ``None`` lists the latest published one.
    A DOI whose DataCite record lists ``HasPart`` DOIs and whose own repository lists no files (or
    is not supported) is a collection: its manifest gathers the parts' files, one dataset per part
    (:mod:`doi2data.parts`; parts of parts are not followed: ``expand_parts=False``).
    """
    version = clean_version(version)  # a malformed version fails before any request
    start, route_start = http.requests, len(http.history)
    resolved = await resolve_identifier(identifier, http)
    if not resolved.parts or not expand_parts:
        return await discover(resolved, http, start=start, route_start=route_start,
                              resolve_requests=http.requests - start, version=version)
    from .parts import with_parts  # a DataCite collection: its HasPart DOIs are its datasets

    try:
        own: Manifest | None = await discover(resolved, http, start=start, route_start=route_start,
                                              resolve_requests=http.requests - start, version=version)
    except UnsupportedRepository:
        own = None
    if own is not None and own.files:
        return own
    with paused():  # the parts' files get folders of their own: what their adapters emit is not final
        return await with_parts(own, resolved, lambda doi: build_manifest(doi, http, expand_parts=False))


__all__ = ["build_manifest", "landing_url", "resolve_identifier", "url_from_handle_record"]
