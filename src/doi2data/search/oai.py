"""OAI-PMH 2.0 harvesting: ``Identify``, ``ListSets``, ``ListRecords`` with resumption tokens.

The protocol (openarchives.org/OAI/openarchivesprotocol.html, version 2.0; DataCite's OAI schema
``http://schema.datacite.org/oai/oai-1.1/`` in ``datacite/schema`` source/oai/oai-1.1/oai.xsd,
checked 2026-12-06):

* every answer is ``<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">`` with ``responseDate``,
  ``request`` and either the verb's element or ``<error code="…">``; codes: ``badArgument``,
  ``badResumptionToken``, ``badVerb``, ``cannotDisseminateFormat``, ``idDoesNotExist``,
  ``noMetadataFormats``, ``noRecordsMatch`` (an empty result, not a failure), ``noSetHierarchy``;
* ``ListRecords`` takes ``metadataPrefix`` (``oai_dc`` always; ``oai_datacite`` at DataCite-minded
  providers: ``<oai_datacite><datacentreSymbol/><schemaVersion/><payload><resource
  xmlns="http://datacite.org/schema/kernel-4">``; some providers put the bare ``resource`` there),
  ``set``, ``from``/``until`` (datestamps of the *record*, not the publication: ``YYYY-MM-DD``, or
  seconds when ``Identify`` says ``granularity`` ``YYYY-MM-DDThh:mm:ssZ``);
* a page ends with ``<resumptionToken completeListSize cursor>token</resumptionToken>``; the request
  for the next page carries ``verb`` and ``resumptionToken`` only; the last page has an empty token;
* a deleted record is a ``<header status="deleted">`` without ``metadata`` (``Identify`` says
  whether the provider keeps them: ``deletedRecord`` no / transient / persistent).

Each page is parsed with :func:`~doi2data.search.common.parse_xml` (no DTD, no entities, bounded
depth) under :data:`~doi2data.search.common.PAGE_LIMIT` and dropped before the next is fetched, so
a harvest of any size runs in the memory of one page. Free text, facility and technique have no
OAI-PMH request parameter: they are matched here on title, subjects and publisher.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from ..errors import Doi2DataError, RecordNotFound, RepositoryError, UsageError
from ..http import Http
from .datacite import free_text_size
from .common import Hit, PageCallback, SearchQuery, clean_text, fetch_page, normalize_doi, parse_xml, year_of

OAI_NS = "{http://www.openarchives.org/OAI/2.0/}"
DC_NS = "{http://purl.org/dc/elements/1.1/}"
PREFIXES = ("oai_datacite", "oai_dc")
MAX_PAGES = 10_000_000
MAX_EMPTY_PAGES = 1000
MAX_TOKEN = 8192
#: How an OAI error code becomes a doi2data error (noRecordsMatch is an empty result instead).
ERRORS: dict[str, type[Doi2DataError]] = {
    "badArgument": UsageError, "cannotDisseminateFormat": UsageError, "noSetHierarchy": UsageError,
    "idDoesNotExist": RecordNotFound, "badResumptionToken": RepositoryError, "badVerb": RepositoryError,
    "noMetadataFormats": RepositoryError,
}
_HINTS = {
    "cannotDisseminateFormat": " (try --metadata-prefix oai_dc)",
    "badResumptionToken": " (the token expired or the provider restarted; run the harvest again, "
                          "or narrow it with --from)",
    "noSetHierarchy": " (the provider has no sets: drop --set)",
    "badArgument": " (check --set, --from and --until)",
}


class NoRecords(Exception):
    """``noRecordsMatch``: the request is fine, the answer is empty."""


@dataclass(frozen=True)
class Identity:
    name: str
    base_url: str
    granularity: str          # YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ
    deleted_record: str
    earliest: str


@dataclass(frozen=True)
class OaiRecord:
    identifier: str
    datestamp: str
    deleted: bool
    sets: tuple[str, ...] = ()
    hit: Hit | None = None


@dataclass
class OaiPage:
    records: list[OaiRecord] = field(default_factory=list)
    token: str | None = None
    complete_size: int | None = None


@dataclass
class HarvestStats:
    """Counted while harvesting, for the closing note (``N deleted records skipped``)."""

    records: int = 0
    deleted: int = 0
    without_doi: int = 0
    filtered: int = 0


def _text(element: ET.Element | None) -> str:
    return clean_text("".join(element.itertext())) if element is not None else ""


def parse_response(data: bytes, verb: str, url: str = "") -> ET.Element:
    """The ``verb`` element of an OAI-PMH answer; an ``<error>`` raised as its doi2data class."""
    root = parse_xml(data, f"the OAI-PMH answer of {url or 'the provider'}")
    if root.tag != f"{OAI_NS}OAI-PMH":
        raise RepositoryError(f"{url or 'the endpoint'} did not answer OAI-PMH 2.0 XML (root <{root.tag[:80]}>)",
                              url=url or None)
    errors = root.findall(f"{OAI_NS}error")
    if errors:
        code = clean_text(errors[0].get("code", ""), 60)
        message = _text(errors[0])[:300]
        if code == "noRecordsMatch":
            raise NoRecords(message)
        cls = ERRORS.get(code, RepositoryError)
        raise cls(f"OAI-PMH error {code or '(no code)'} from {url or 'the provider'}: {message or 'no message'}"
                  f"{_HINTS.get(code, '')}", url=url or None)
    element = root.find(f"{OAI_NS}{verb}")
    if element is None:
        raise RepositoryError(f"the OAI-PMH answer of {url or 'the provider'} has no <{verb}> element", url=url or None)
    return element


def parse_identify(element: ET.Element) -> Identity:
    def get(name: str) -> str:
        return _text(element.find(f"{OAI_NS}{name}"))

    return Identity(get("repositoryName"), get("baseURL"), get("granularity") or "YYYY-MM-DD",
                    get("deletedRecord"), get("earliestDatestamp"))


def _token(element: ET.Element) -> tuple[str | None, int | None]:
    tok = element.find(f"{OAI_NS}resumptionToken")
    if tok is None:
        return None, None
    size = tok.get("completeListSize", "")
    value = (tok.text or "").strip()
    if len(value) > MAX_TOKEN:  # it goes back in the next URL; refused rather than cut (a cut token is another)
        raise RepositoryError(f"the OAI-PMH provider sent a resumption token of {len(value):,} characters; refused")
    return (value or None), (int(size) if size.isdigit() and len(size) < 16 else None)


def parse_sets(element: ET.Element) -> tuple[list[tuple[str, str]], str | None]:
    """(``[(setSpec, setName)]``, resumption token) of one ``ListSets`` page."""
    sets = [(_text(s.find(f"{OAI_NS}setSpec")), _text(s.find(f"{OAI_NS}setName")))
            for s in element.findall(f"{OAI_NS}set")]
    return sets, _token(element)[0]


def _local(tag: str) -> str:
    return tag[tag.rfind("}") + 1:]


_DATACITE_FIELDS = frozenset({"identifier", "title", "subject", "size", "publisher", "publicationYear",
                              "datacentreSymbol"})


def _datacite_hit(meta: ET.Element, identifier: str) -> Hit | None:
    """A hit from an ``oai_datacite`` payload (or a bare kernel ``resource``), in one walk of the tree."""
    found: dict[str, list[ET.Element]] = {}
    has_resource = False
    for element in meta.iter():
        name = _local(element.tag)
        if name == "resource":
            has_resource = True
        elif name in _DATACITE_FIELDS:
            found.setdefault(name, []).append(element)
    if not has_resource:
        return None
    doi = next((normalize_doi(_text(e)) for e in found.get("identifier", ())
                if e.get("identifierType", "").upper() == "DOI"), None)
    titles = [_text(t) for t in found.get("title", ())]
    publisher = next((_text(p) for p in found.get("publisher", ())), "")
    centre = next((_text(c) for c in found.get("datacentreSymbol", ())), "")
    year = next((year_of(_text(y)) for y in found.get("publicationYear", ())), None)
    return Hit(doi=doi, title=titles[0] if titles else "", source="oai", facility=publisher or centre or None,
               year=year, size=free_text_size([_text(z) for z in found.get("size", ())]), id=identifier,
               techniques=tuple(_text(t) for t in found.get("subject", ())))


def _dc_hit(meta: ET.Element, identifier: str) -> Hit | None:
    def values(name: str) -> list[str]:
        return [_text(e) for e in meta.iter(f"{DC_NS}{name}")]

    ids = values("identifier") + values("relation")
    doi = next((d for d in map(normalize_doi, ids) if d), None) or normalize_doi(identifier)
    dates = [year_of(d) for d in values("date")]
    titles = values("title")
    publisher = values("publisher")
    return Hit(doi=doi, title=titles[0] if titles else "", source="oai", facility=publisher[0] if publisher else None,
               year=next((y for y in dates if y), None), id=identifier, techniques=tuple(values("subject")))


def parse_records(element: ET.Element) -> OaiPage:
    """Records (deleted ones flagged, without a hit) and the resumption token of a ``ListRecords`` page."""
    page = OaiPage()
    for rec in element.findall(f"{OAI_NS}record"):
        header = rec.find(f"{OAI_NS}header")
        if header is None:
            continue
        identifier = _text(header.find(f"{OAI_NS}identifier"))[:500]
        stamp = _text(header.find(f"{OAI_NS}datestamp"))[:40]
        sets = tuple(_text(s)[:200] for s in header.findall(f"{OAI_NS}setSpec"))
        if header.get("status") == "deleted":
            page.records.append(OaiRecord(identifier, stamp, True, sets))
            continue
        meta = rec.find(f"{OAI_NS}metadata")
        hit = None
        if meta is not None:
            hit = _datacite_hit(meta, identifier) or _dc_hit(meta, identifier)
        page.records.append(OaiRecord(identifier, stamp, False, sets, hit))
    page.token, page.complete_size = _token(element)
    return page


def matches(hit: Hit, q: SearchQuery) -> bool:
    """What OAI-PMH cannot ask the provider, checked on the record: every word, facility, technique."""
    subjects = " ".join(hit.techniques).lower()
    if q.text:
        haystack = f"{hit.title} {subjects} {hit.doi or ''}".lower()
        if not all(word in haystack for word in q.text.lower().split()):
            return False
    if q.facility and q.facility.lower() not in (hit.facility or "").lower():
        return False
    return not (q.technique and q.technique.lower() not in subjects)


def _bound(value: str | None, granularity: str, *, start: bool) -> str | None:
    """A ``--from``/``--until`` value in the provider's granularity (a year becomes its first/last day)."""
    if value is None:
        return None
    if len(value) == 4:
        value = f"{value}-01-01" if start else f"{value}-12-31"
    if len(value) > 10 and "hh" not in granularity:
        value = value[:10]  # a day-granular provider refuses seconds (badArgument)
    return value


async def _call(http: Http, base: str, params: dict[str, str], verb: str) -> ET.Element:
    body, _ = await fetch_page(http, base, params=params, accept="text/xml, application/xml",
                               what="OAI-PMH", expect="OAI-PMH XML")
    return parse_response(body, verb, base)


async def identify(http: Http, base: str) -> Identity:
    return parse_identify(await _call(http, base, {"verb": "Identify"}, "Identify"))


async def list_sets(http: Http, base: str) -> AsyncIterator[tuple[str, str]]:
    params: dict[str, str] = {"verb": "ListSets"}
    tokens: set[str] = set()
    for _ in range(MAX_PAGES):
        sets, token = parse_sets(await _call(http, base, params, "ListSets"))
        for item in sets:
            yield item
        if not token or token in tokens or len(tokens) > 100_000:
            return
        tokens.add(token)
        params = {"verb": "ListSets", "resumptionToken": token}


async def iter_hits(http: Http, q: SearchQuery, *, base: str, on_page: PageCallback | None = None,
                    stats: HarvestStats | None = None) -> AsyncIterator[Hit]:
    """Hits of a ``ListRecords`` harvest, page by page; deleted records are counted, not yielded."""
    if q.params:
        raise UsageError("parameter filters (--param) need the PaN search API (--source panosc); "
                         "OAI-PMH records carry no scientific parameters")
    if q.metadata_prefix not in PREFIXES:
        raise UsageError(f"unknown metadata prefix {q.metadata_prefix!r}; choose one of: {', '.join(PREFIXES)}")
    stats = stats if stats is not None else HarvestStats()
    ident = await identify(http, base)
    params = {"verb": "ListRecords", "metadataPrefix": q.metadata_prefix}
    if q.oai_set:
        params["set"] = q.oai_set
    for key, value in (("from", _bound(q.date_from, ident.granularity, start=True)),
                       ("until", _bound(q.date_until, ident.granularity, start=False))):
        if value:
            params[key] = value
    seen = empty = 0
    last_token = None
    for number in range(1, MAX_PAGES + 1):
        try:
            page = parse_records(await _call(http, base, params, "ListRecords"))
        except NoRecords:
            return
        for record in page.records:
            stats.records += 1
            if record.deleted:
                stats.deleted += 1
                continue
            hit = record.hit
            if hit is None or not matches(hit, q):
                stats.filtered += 1
                continue
            if hit.doi is None:
                stats.without_doi += 1
            seen += 1
            yield hit
            if q.limit is not None and seen >= q.limit:
                return
        if on_page is not None:
            on_page(number, seen, page.complete_size)
        if not page.token:
            return
        if page.token == last_token:
            raise RepositoryError(f"the OAI-PMH provider at {base} sent the same resumption token twice; stopped")
        empty = empty + 1 if not page.records else 0
        if empty > MAX_EMPTY_PAGES:
            raise RepositoryError(f"the OAI-PMH provider at {base} sent {MAX_EMPTY_PAGES} empty pages in a row; stopped")
        last_token = page.token
        params = {"verb": "ListRecords", "resumptionToken": page.token}


__all__ = ["ERRORS", "HarvestStats", "Identity", "OaiPage", "OaiRecord", "identify", "iter_hits", "list_sets",
           "matches", "parse_identify", "parse_records", "parse_response", "parse_sets"]
