"""What every search source shares: the :class:`Hit` record, the query, filter parsing, safe XML.

Why one record for three sources: the PaN search API, DataCite and OAI-PMH describe datasets in
three vocabularies; the CLI (and later ``get --from``) needs the same five facts from each - DOI,
title, facility or publisher, year, size where known - and which source said so. Parsers are pure
(plain data in, hits out); the paging loops around them are thin and only move bytes.

Hostile input: filter expressions are parsed by hand (no regular expression on user text), bounded
in length, and numbers must be finite; server bodies are read under :data:`PAGE_LIMIT` and XML is
parsed with any DTD refused (:func:`parse_xml`), so neither a billion-laughs document nor an
external entity can be expressed at all.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from ..errors import RepositoryError, UsageError
from ..http import Http, raise_for_status
from .units import Unit, convert, unit

#: The most one page of search results may hold once decoded: pages are 100-1,000 records of a
#: few KiB, so 64 MiB is generous and still bounds what a hostile server can make us hold.
PAGE_LIMIT = 64 * 1024 * 1024
_MAX_EXPR = 200
_CONTROLS = {c: " " for c in (*range(0x20), *range(0x7F, 0xA0))}  # C0, DEL and C1: never printed as is
_DOI_RE = re.compile(r"10\.\d{1,9}(?:\.\d+)*/\S+")  # anchored by fullmatch on a bounded string: linear


@dataclass(frozen=True)
class Hit:
    """One search result: what ``search`` prints and ``get --from`` will read back (``doi``)."""

    doi: str | None
    title: str
    source: str                      # panosc | datacite | oai
    facility: str | None = None      # facility, publisher or data centre
    year: int | None = None
    size: int | None = None          # bytes, where the source knows them
    id: str | None = None            # the source's own id (OAI identifier, PaN pid, DataCite DOI)
    techniques: tuple[str, ...] = ()
    url: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"doi": self.doi, "title": self.title, "facility": self.facility, "year": self.year,
                "size": self.size, "source": self.source, "id": self.id, "techniques": list(self.techniques),
                "url": self.url}


@dataclass(frozen=True)
class ParamFilter:
    """``name op value unit``: a scientific parameter compared in the filter's unit."""

    name: str
    op: str            # lt, lte, gt, gte, eq
    value: float
    unit: Unit | None

    def matches(self, value: Any, value_unit: str | None) -> bool | None:
        """Whether a catalogue's ``value`` (in ``value_unit``) passes; None when it cannot tell."""
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return None
        number = float(value)
        if self.unit is not None:
            if not value_unit:
                return None
            try:
                number = convert(number, unit(value_unit), self.unit)
            except UsageError:  # a unit we do not know or another dimension: not ours to judge
                return None
        tolerance = 1e-9 * max(abs(number), abs(self.value), 1e-300)
        return {"lt": number < self.value - tolerance, "lte": number <= self.value + tolerance,
                "gt": number > self.value + tolerance, "gte": number >= self.value - tolerance,
                "eq": abs(number - self.value) <= tolerance}[self.op]

    def text(self) -> str:
        sign = {"lt": "<", "lte": "<=", "gt": ">", "gte": ">=", "eq": "=="}[self.op]
        return f"{self.name} {sign} {self.value:g}" + (f" {self.unit.symbol}" if self.unit else "")


@dataclass
class SearchQuery:
    """What the user asked, in source-neutral terms; each source maps what it can express."""

    text: str = ""
    facility: str | None = None
    technique: str | None = None
    params: list[ParamFilter] = field(default_factory=list)
    date_from: str | None = None     # YYYY, YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ (validated)
    date_until: str | None = None
    limit: int | None = 50           # None: everything (a harvest)
    client: str | None = None        # DataCite client-id
    provider: str | None = None      # DataCite provider-id
    resource_type: str = "dataset"   # DataCite resource-type-id
    oai_set: str | None = None
    metadata_prefix: str = "oai_datacite"

    @property
    def year_from(self) -> int | None:
        return int(self.date_from[:4]) if self.date_from else None

    @property
    def year_until(self) -> int | None:
        return int(self.date_until[:4]) if self.date_until else None


#: Called after every page: (pages so far, hits so far, total the source announced or None).
PageCallback = Callable[[int, int, "int | None"], None]

_OPS = (("<=", "lte"), (">=", "gte"), ("==", "eq"), ("<", "lt"), (">", "gt"), ("=", "eq"))


def _is_name_char(ch: str) -> bool:
    return ch.isascii() and (ch.isalnum() or ch in "_.-")


def _number_end(text: str) -> int:
    """Where a leading decimal number ends (sign, digits, point, an exponent only when digits follow:
    ``5eV`` is 5 eV)."""
    end = 1 if text[:1] in ("+", "-") else 0
    while end < len(text) and (text[end].isdigit() or text[end] == "."):
        end += 1
    if end < len(text) and text[end] in "eE":
        exp = end + 1 + (1 if text[end + 1:end + 2] in ("+", "-") else 0)
        if exp < len(text) and text[exp].isdigit():
            end = exp
            while end < len(text) and text[end].isdigit():
                end += 1
    return end


def parse_param(expr: str) -> ParamFilter:
    """``"wavelength < 1.2 A"`` / ``"sample_temperature>=80K"`` -> :class:`ParamFilter`.

    Grammar: NAME OP NUMBER [UNIT], OP one of < <= > >= = ==; NAME letters, digits, ``_ . -``.
    """
    text = expr.strip()
    if not text or len(text) > _MAX_EXPR:
        raise UsageError(f"bad parameter filter {expr[:60]!r}: expected NAME OP VALUE [UNIT], e.g. 'wavelength < 1.2 A'")
    end = 0
    while end < len(text) and _is_name_char(text[end]):
        end += 1
    name, rest = text[:end], text[end:].lstrip()
    if not name or not name[0].isalpha():
        raise UsageError(f"bad parameter filter {expr[:60]!r}: it must start with a parameter name")
    op = next(((sym, key) for sym, key in _OPS if rest.startswith(sym)), None)
    if op is None:
        raise UsageError(f"bad parameter filter {expr[:60]!r}: expected one of < <= > >= == after {name!r}")
    rest = rest[len(op[0]):].strip()
    end = _number_end(rest)
    number_text, unit_text = rest[:end], rest[end:].strip()
    try:
        value = float(number_text)
    except ValueError:
        raise UsageError(f"bad parameter filter {expr[:60]!r}: {number_text or rest[:20]!r} is not a number") from None
    if not math.isfinite(value):
        raise UsageError(f"bad parameter filter {expr[:60]!r}: the value must be finite")
    return ParamFilter(name, op[1], value, unit(unit_text) if unit_text else None)


def parse_date(text: str, what: str) -> str:
    """A date bound as given (``YYYY``, ``YYYY-MM-DD`` or ``YYYY-MM-DDThh:mm:ssZ``), validated."""
    value = text.strip()
    try:
        if len(value) == 4 and value.isdigit():
            return value
        if len(value) == 10:
            date.fromisoformat(value)
            return value
        if len(value) == 20 and value.endswith("Z"):
            datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")
            return value
    except ValueError:
        pass
    raise UsageError(f"bad {what} date {value[:40]!r}: expected YYYY, YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ")


def normalize_doi(value: Any) -> str | None:
    """``https://doi.org/10.X/Y`` / ``doi:10.x/y`` / ``10.x/y`` -> ``10.x/y`` (lower case); anything else None."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if len(text) > 500:
        return None
    lowered = text.lower()
    for prefix in ("https://doi.org/", "http://doi.org/", "https://dx.doi.org/", "http://dx.doi.org/", "doi:",
                   "info:doi/"):
        if lowered.startswith(prefix):
            text = text[len(prefix):]
            break
    return text.lower() if _DOI_RE.fullmatch(text) else None  # DOI names are case-insensitive; DataCite stores lower


def year_of(value: Any) -> int | None:
    """A year from ``2021``, ``"2021"`` or an ISO date/datetime string."""
    if isinstance(value, int) and not isinstance(value, bool) and 1000 <= value <= 9999:
        return value
    if isinstance(value, str) and len(value) >= 4 and value[:4].isdigit() and (len(value) == 4 or value[4] == "-"):
        return int(value[:4])
    return None


def clean_text(value: Any, limit: int = 500) -> str:
    """A display string: control characters and runs of whitespace made one space, bounded."""
    if not isinstance(value, str):
        return ""
    return " ".join(value[: limit * 4].translate(_CONTROLS).split())[:limit]


class _NoDtdBuilder(ET.TreeBuilder):
    """ElementTree's C tree builder that refuses a document type declaration the moment expat meets
    its start - before an internal subset (entity declarations) is read."""

    def doctype(self, name: str, pubid: str | None, system: str | None) -> None:
        raise _Refused


class _Refused(Exception):
    pass


def parse_xml(data: bytes, what: str) -> ET.Element:
    """An element tree from untrusted XML, with any DTD refused.

    Why not plain ``ET.fromstring``: it accepts an internal DTD subset, and what a DTD may declare
    (entities expanding into more entities, external entities) is exactly the attack surface;
    OAI-PMH and DataCite XML never carry one. Here the C parser and tree builder do the work (fast
    enough for 100,000-record harvests) and the builder's ``doctype`` hook aborts at the first
    ``<!DOCTYPE``, so no entity can be declared, let alone expanded or fetched. Nesting costs no
    recursion (the tree is walked with C iterators) and the body itself is bounded by :data:`PAGE_LIMIT`.
    """
    parser = ET.XMLParser(target=_NoDtdBuilder())
    try:
        parser.feed(data)
        return parser.close()
    except _Refused:
        raise RepositoryError(f"{what}: refused XML with a document type declaration (DTD)") from None
    except (ET.ParseError, RecursionError) as exc:
        raise RepositoryError(f"{what} is not well-formed XML ({exc})") from exc


def looks_like_html(content_type: str, body: bytes) -> bool:
    """An HTML page where an API answer was expected (a portal's front page, a login wall)."""
    media = content_type.split(";")[0].strip().lower()
    head = body[:512].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")):
        return True
    # a mislabelled API answer (XML or JSON sent as text/html) is still read as what it is
    return media in ("text/html", "application/xhtml+xml") and not head.startswith((b"<?xml", b"<oai-pmh", b"{", b"["))


async def fetch_page(http: Http, url: str, *, params: dict[str, str] | None = None, accept: str, what: str,
                     expect: str) -> tuple[bytes, str]:
    """One page of results: (body, final URL), bounded by :data:`PAGE_LIMIT`, errors translated.

    ``expect`` names the wire format for the message when an endpoint answers an HTML page instead
    (the portal's front page, a login wall, a wrong ``--endpoint``): one line, exit 6, not a parse error.
    """
    response = await http.request("GET", url, params=params, headers={"Accept": accept}, limit=PAGE_LIMIT)
    if response.status_code in (400, 422):  # the search service refused the query: the user's to fix
        raise UsageError(f"{what} refused the query: {_refusal(response.content)} "
                         f"(HTTP {response.status_code} from {response.url.host})", url=str(response.url))
    raise_for_status(response, what=what)
    body = response.content
    if looks_like_html(response.headers.get("content-type", ""), body):
        where = str(response.url.copy_with(query=None))
        raise RepositoryError(f"{where} answered an HTML page, not {expect}; is it the right endpoint?", url=where)
    return body, str(response.url)


def _refusal(body: bytes) -> str:
    """The reason in a JSON:API (``errors[].title``) or LoopBack (``error.message``) error body."""
    import json

    try:
        doc = json.loads(body[:65536])
    except (ValueError, RecursionError):
        return "no reason given"
    reason: Any = None
    if isinstance(doc, dict):
        errors = doc.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            reason = errors[0].get("title") or errors[0].get("detail")
        elif isinstance(doc.get("error"), dict):
            reason = doc["error"].get("message")
    return clean_text(reason, 200) or "no reason given"


def loads_json(body: bytes, url: str, what: str) -> Any:
    """JSON from a page body; junk (or nesting past the parser's depth) is a one-line RepositoryError."""
    import json

    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise RepositoryError(f"{what} at {url} is not valid JSON", url=url) from exc


__all__ = ["PAGE_LIMIT", "fetch_page", "loads_json", "Hit", "PageCallback", "ParamFilter", "SearchQuery", "clean_text", "looks_like_html",
           "normalize_doi", "parse_date", "parse_param", "parse_xml", "year_of"]
