"""The PaN (photon and neutron) search API: ``GET <endpoint>/Documents?filter=<JSON>``.

What the API is (read 2026-12-06 in ``panosc-eu/search-api`` doc/api-calls.md, doc/query.md,
doc/data-model.md, doc/dataset-example-queries.md, doc/units-and-prefixes.md, and in
``panosc-eu/panosc-federated-search-service`` README.md and docs/document-example-queries-remote-data-sources.md):

* a LoopBack 3 REST API; ``/Documents`` (proposals and publications: ``pid``, ``doi``, ``title``,
  ``summary``, ``type``, ``startDate``/``endDate``/``releaseDate``, ``keywords``) each with
  ``datasets`` (``pid``, ``title``, ``creationDate``, ``size`` in bytes, ``instrument`` with
  ``name``/``facility``, ``techniques`` [``name``, ``pid``], ``parameters`` [``name``, ``value``,
  ``unit``], ``samples``, ``files``);
* the ``filter`` query parameter is a JSON LoopBack filter: ``where``, ``include`` (a relation with a
  ``scope`` that has its own ``where``/``include``), ``limit``, ``skip``, plus ``query`` for free
  text scored by the PaNOSC scoring service (results carry ``score``; the federated service adds
  ``provider``, the facility API that answered);
* parameter filters go in the ``parameters`` include scope as ``{"and": [{"name": N}, {"value":
  {"lt": V}}, {"unit": U}]}``; the server converts ``U`` with mathjs to SI before comparing, so the
  unit must be a mathjs spelling (``angstrom``: ``A`` is the ampere there, see :mod:`.units`);
* the federated production service: README of 2024-02 names ``https://federated.panosc.ess.eu/api``
  (before: ``federated.scicat.ess.eu``); ``federated.scientificdata.eu`` could not be confirmed, so
  the documented host is the default and ``--endpoint`` takes a facility's own API.

Include scopes filter the *included* rows; whether a document without a matching dataset is dropped
depends on the implementation, so every condition that can be checked on what came back is checked
again here (a dataset must have its instrument / technique / matching parameter left), and the
parameter values are compared after converting the catalogue's unit to the filter's.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

from ..errors import RepositoryError
from ..http import Http
from .common import (Hit, PageCallback, ParamFilter, SearchQuery, clean_text, fetch_page, loads_json,
                     normalize_doi, year_of)

DEFAULT_ENDPOINT = "https://federated.panosc.ess.eu/api"
PAGE_SIZE = 100
MAX_PAGES = 100_000  # a server that never sends a short page still ends


def _param_scope(p: ParamFilter) -> dict[str, Any]:
    conditions: list[dict[str, Any]] = [{"name": p.name}, {"value": p.value if p.op == "eq" else {p.op: p.value}}]
    if p.unit is not None:
        conditions.append({"unit": p.unit.pan})
    return {"relation": "parameters", "scope": {"where": {"and": conditions}}}


def _dataset_where(q: SearchQuery) -> dict[str, Any] | None:
    bounds = {}
    if q.date_from:
        bounds["gte"] = _iso(q.date_from, start=True)
    if q.date_until:
        bounds["lte"] = _iso(q.date_until, start=False)
    if not bounds:
        return None
    if len(bounds) == 2:
        return {"creationDate": {"between": [bounds["gte"], bounds["lte"]]}}
    return {"creationDate": bounds}


def _iso(value: str, *, start: bool) -> str:
    if len(value) == 4:
        return f"{value}-01-01T00:00:00.000Z" if start else f"{value}-12-31T23:59:59.999Z"
    if len(value) == 10:
        return f"{value}T00:00:00.000Z" if start else f"{value}T23:59:59.999Z"
    return value


def build_filter(q: SearchQuery, *, skip: int, limit: int) -> dict[str, Any]:
    """The LoopBack filter for one page of ``/Documents``."""
    inner: list[dict[str, Any]] = [
        {"relation": "instrument", **({"scope": {"where": {"facility": q.facility}}} if q.facility else {})},
        {"relation": "techniques", **({"scope": {"where": {"name": q.technique}}} if q.technique else {})},
    ]
    inner += [_param_scope(p) for p in q.params]
    scope: dict[str, Any] = {"include": inner}
    where = _dataset_where(q)
    if where:
        scope["where"] = where
    flt: dict[str, Any] = {"include": [{"relation": "datasets", "scope": scope}], "limit": limit, "skip": skip}
    if q.text:
        flt["query"] = q.text
    return flt


def _dataset_ok(ds: dict[str, Any], q: SearchQuery) -> bool:
    """A dataset still satisfies what can be checked on it (after the server's scopes)."""
    if q.facility and not isinstance(ds.get("instrument"), dict):
        return False
    if q.technique and not any(isinstance(t, dict) for t in ds.get("techniques") or []):
        return False
    if q.date_from or q.date_until:
        created = ds.get("creationDate")
        if isinstance(created, str):
            if q.date_from and created[:len(q.date_from)] < q.date_from:
                return False
            if q.date_until and created[:len(q.date_until)] > q.date_until:
                return False
    params = [p for p in ds.get("parameters") or [] if isinstance(p, dict)]
    for flt in q.params:
        verdicts = [flt.matches(p.get("value"), p.get("unit") if isinstance(p.get("unit"), str) else None)
                    for p in params if p.get("name") == flt.name]
        if not any(v is not False for v in verdicts):
            return False
    return True


def _filters_datasets(q: SearchQuery) -> bool:
    return bool(q.facility or q.technique or q.params or q.date_from or q.date_until)


def parse_documents(data: Any, q: SearchQuery, *, endpoint: str = "") -> list[Hit]:
    """Hits from one ``/Documents`` answer (a JSON list); documents failing ``q`` are left out."""
    if not isinstance(data, list):
        raise RepositoryError(f"the PaN search API at {endpoint or 'the endpoint'} did not answer a list of Documents")
    hits = []
    for doc in data:
        if not isinstance(doc, dict):
            continue
        datasets = [d for d in doc.get("datasets") or [] if isinstance(d, dict)]
        kept = [d for d in datasets if _dataset_ok(d, q)]
        if _filters_datasets(q) and not kept:
            continue
        shown = kept or datasets
        facilities = [d["instrument"].get("facility") for d in shown if isinstance(d.get("instrument"), dict)]
        facility = next((clean_text(f, 60) for f in facilities if isinstance(f, str) and f.strip()), None)
        if facility is None and isinstance(doc.get("provider"), str):
            try:
                facility = urlsplit(doc["provider"][:500]).hostname
            except ValueError:  # "http://[::1" and the like
                facility = None
        sizes = [d.get("size") for d in shown]
        size = sum(s for s in sizes if isinstance(s, int) and not isinstance(s, bool) and s >= 0) \
            if any(isinstance(s, int) and not isinstance(s, bool) for s in sizes) else None
        techniques = sorted({clean_text(t.get("name"), 80) for d in shown for t in d.get("techniques") or []
                             if isinstance(t, dict) and isinstance(t.get("name"), str)})
        year = year_of(doc.get("releaseDate")) or year_of(doc.get("startDate")) or next(
            (y for y in sorted(filter(None, (year_of(d.get("creationDate")) for d in shown)))), None)
        pid = doc.get("pid") if isinstance(doc.get("pid"), str) else None
        hits.append(Hit(doi=normalize_doi(doc.get("doi")) or normalize_doi(pid), title=clean_text(doc.get("title")),
                        source="panosc", facility=facility, year=year, size=size, id=clean_text(pid, 200) or None,
                        techniques=tuple(t for t in techniques if t)))
    return hits


async def iter_hits(http: Http, q: SearchQuery, *, endpoint: str = DEFAULT_ENDPOINT,
                    on_page: PageCallback | None = None) -> AsyncIterator[Hit]:
    """Hits page by page (``limit``/``skip``), each page parsed and let go before the next."""
    url = endpoint.rstrip("/") + "/Documents"
    skip = seen = 0
    previous: list[Any] = []
    for page in range(1, MAX_PAGES + 1):
        size = PAGE_SIZE if q.limit is None else max(1, min(PAGE_SIZE, q.limit - seen))
        params = {"filter": json.dumps(build_filter(q, skip=skip, limit=size), separators=(",", ":"))}
        body, final = await fetch_page(http, url, params=params, accept="application/json",
                                       what="PaN search", expect="PaN search API JSON")
        data = loads_json(body, final, "PaN search answer")
        hits = parse_documents(data, q, endpoint=endpoint)
        count = len(data) if isinstance(data, list) else 0
        ids = [d.get("pid") for d in data if isinstance(d, dict)] if isinstance(data, list) else []
        if page > 1 and ids and ids == previous:
            raise RepositoryError(f"the PaN search API at {endpoint} answered the same page again (it ignores "
                                  f"'skip'); stopped after {seen} hit(s)")
        previous = ids
        for hit in hits:
            seen += 1
            yield hit
            if q.limit is not None and seen >= q.limit:
                break
        if on_page is not None:
            on_page(page, seen, None)
        if count < size or (q.limit is not None and seen >= q.limit):
            return
        skip += count


__all__ = ["DEFAULT_ENDPOINT", "build_filter", "iter_hits", "parse_documents"]
