"""DataCite's REST API search: ``GET https://api.datacite.org/dois?query=…&resource-type-id=dataset``.

What the API does (support.datacite.org/docs/pagination and /docs/api-queries, /reference/get_dois,
checked 2026-12-06; shape from the recorded ``shared/fixtures/recorded/datacite/dois-list-page-size-5-2020.json``):

* a JSON:API list: ``data[]`` of full DOI records (``attributes.doi``, ``titles[].title``,
  ``publisher`` - a string, or ``{"name": …}`` when asked with ``publisher=true`` -,
  ``publicationYear``, free-text ``sizes[]``, ``url``), ``relationships.client``, ``meta.total``,
  ``links.next``;
* filters: ``query`` (OpenSearch query-string syntax, fields as in ``attributes``, e.g.
  ``publicationYear:[2018 TO 2020]``), ``resource-type-id`` (``dataset``), ``client-id``,
  ``provider-id``, ``published`` (years, comma-separated);
* paging: ``page[size]`` up to 1,000; ``page[number]`` reaches only the first 10,000 records,
  ``page[cursor]=1`` starts cursor paging (no limit, always sorted by creation date ascending) and
  every page's ``links.next`` carries the next cursor. Relevance ranking (``sort=relevance``) only
  works with page numbers (observed by others 2026-11), so a free-text search that wants at most
  10,000 hits pages by number, sorted by relevance; everything else (harvests) pages by cursor.

``links.next`` is followed only on the endpoint's own origin (a body cannot send the loop, and
any token, elsewhere) and only while it changes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

from ..errors import RepositoryError, UsageError
from ..http import Http
from ..sizes import parse_size
from .common import Hit, PageCallback, SearchQuery, clean_text, fetch_page, loads_json, normalize_doi, year_of

DEFAULT_ENDPOINT = "https://api.datacite.org"
PAGE_SIZE = 1000
NUMBER_PAGING_MAX = 10_000
MAX_PAGES = 1_000_000


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def build_params(q: SearchQuery, *, page_size: int) -> dict[str, str]:
    """Query parameters of the first page."""
    if q.params:
        raise UsageError("parameter filters (--param) need the PaN search API (--source panosc); "
                         "DataCite metadata has no scientific parameters")
    clauses = [f"({q.text})"] if q.text else []
    if q.facility:
        clauses.append(f"publisher:{_quoted(q.facility)}")
    if q.technique:
        clauses.append(f"subjects.subject:{_quoted(q.technique)}")
    if q.year_from is not None or q.year_until is not None:
        low = q.year_from if q.year_from is not None else "*"
        high = q.year_until if q.year_until is not None else "*"
        clauses.append(f"publicationYear:[{low} TO {high}]")
    params = {"page[size]": str(page_size)}
    if clauses:
        params["query"] = " AND ".join(clauses)
    if q.resource_type:
        params["resource-type-id"] = q.resource_type
    if q.client:
        params["client-id"] = q.client
    if q.provider:
        params["provider-id"] = q.provider
    if q.text and q.limit is not None and q.limit <= NUMBER_PAGING_MAX:
        params.update({"page[number]": "1", "sort": "relevance"})
    else:
        params["page[cursor]"] = "1"
    return params


def free_text_size(values: Any) -> int | None:
    for value in values if isinstance(values, list) else []:
        if isinstance(value, str) and len(value) <= 40:
            text = value.strip().lower().replace("bytes", "b").replace("byte", "b")
            try:
                return parse_size(text)
            except UsageError:
                continue
    return None


def parse_page(data: Any) -> tuple[list[Hit], str | None, int | None]:
    """(hits, ``links.next``, ``meta.total``) of one ``/dois`` answer."""
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise RepositoryError("DataCite answered without a data list (not a /dois search answer)")
    hits = []
    for item in data["data"]:
        attrs = item.get("attributes") if isinstance(item, dict) else None
        if not isinstance(attrs, dict):
            continue
        titles = [t.get("title") for t in attrs.get("titles") or [] if isinstance(t, dict)]
        publisher = attrs.get("publisher")
        if isinstance(publisher, dict):
            publisher = publisher.get("name")
        doi = normalize_doi(attrs.get("doi")) or normalize_doi(item.get("id"))
        hits.append(Hit(doi=doi, title=clean_text(next((t for t in titles if isinstance(t, str)), "")),
                        source="datacite", facility=clean_text(publisher, 80) or None,
                        year=year_of(attrs.get("publicationYear")), size=free_text_size(attrs.get("sizes")), id=doi,
                        url=attrs["url"] if isinstance(attrs.get("url"), str) else None))
    links = data.get("links") if isinstance(data.get("links"), dict) else {}
    nxt = links.get("next") if isinstance(links.get("next"), str) else None
    meta = data.get("meta") if isinstance(data.get("meta"), dict) else {}
    total = meta.get("total") if isinstance(meta.get("total"), int) else None
    return hits, nxt, total


def _same_origin(a: str, b: str) -> bool:
    x, y = urlsplit(a), urlsplit(b)
    return (x.scheme, x.hostname, x.port) == (y.scheme, y.hostname, y.port)


async def iter_hits(http: Http, q: SearchQuery, *, endpoint: str = DEFAULT_ENDPOINT,
                    on_page: PageCallback | None = None) -> AsyncIterator[Hit]:
    """Hits as pages arrive, following ``links.next``; one page in memory at a time."""
    first = endpoint.rstrip("/") + "/dois"
    page_size = PAGE_SIZE if q.limit is None else max(1, min(PAGE_SIZE, q.limit))
    url: str | None = first
    params: dict[str, str] | None = build_params(q, page_size=page_size)
    seen = 0
    before = ""  # the page fetched before this one: a next link pointing back (or at itself) ends the loop
    for page in range(1, MAX_PAGES + 1):
        assert url is not None
        body, final = await fetch_page(http, url, params=params, accept="application/vnd.api+json",
                                       what="DataCite search", expect="DataCite JSON:API")
        hits, nxt, total = parse_page(loads_json(body, final, "DataCite search answer"))
        for hit in hits:
            seen += 1
            yield hit
            if q.limit is not None and seen >= q.limit:
                return
        if on_page is not None:
            on_page(page, seen, total)
        if not hits or not nxt or nxt in (final, before) or not _same_origin(nxt, first):
            return
        before, url, params = final, nxt, None


__all__ = ["DEFAULT_ENDPOINT", "build_params", "free_text_size", "iter_hits", "parse_page"]
