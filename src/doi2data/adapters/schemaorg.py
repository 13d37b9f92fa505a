"""schema.org JSON-LD in the landing page: ``Dataset.distribution`` of ``DataDownload`` objects.

Many repositories embed ``<script type="application/ld+json">`` for search engines (Google Dataset
Search); some list the files there: Dataverse (``name``, ``contentSize`` in bytes, ``fileFormat``,
``contentUrl = …/api/access/datafile/<id>``), Zenodo (``contentUrl`` + ``encodingFormat``, no size;
its script tag uses single quotes: ``type='application/ld+json'``). The SciCat landing pages
carry JSON-LD *without* ``distribution``, which is then simply "nothing found".

The parsers are pure and lenient: anything that is not a usable ``DataDownload`` is skipped, so
random input yields an empty list, never an exception. The page is the one the resolver fetched
for Signposting (fetched at most once per resolution).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import replace
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin

from ..http import Http
from ..model import Access, Dataset, Discovery, FileEntry, Manifest
from .base import LandingPage, NoMatch, RecordRef, Resolved
from .contenturl import generic_dataset, host_of, path_from_url

_SIZE = re.compile(r"^\s*(\d{1,18})\s*(?:b|bytes?)?\s*$", re.IGNORECASE)
_DIGESTS = ("md5", "sha1", "sha256", "sha512")


class _Scanner(HTMLParser):
    """Collects ``<link>`` attributes and the text of ``application/ld+json`` scripts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[dict[str, str]] = []
        self.scripts: list[str] = []
        self._in_jsonld = False
        self._buffer: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): v or "" for k, v in attrs}
        if tag == "link" and values.get("href"):
            self.links.append(values)
        elif tag == "script" and values.get("type", "").split(";")[0].strip().lower() == "application/ld+json":
            self._in_jsonld, self._buffer = True, []

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "link":
            self.handle_starttag(tag, attrs)

    def handle_data(self, data: str) -> None:
        if self._in_jsonld:
            self._buffer.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._in_jsonld:
            self.scripts.append("".join(self._buffer))
            self._in_jsonld = False


def scan_html(html: str) -> tuple[list[dict[str, str]], list[str]]:
    """``(<link> attribute dicts, JSON-LD script texts)`` of an HTML page (pure, never raises)."""
    scanner = _Scanner()
    try:
        scanner.feed(html)
        scanner.close()
    except (AssertionError, ValueError):  # HTMLParser on hopeless markup: keep what was found
        pass
    if scanner._in_jsonld:  # an unterminated script at a truncated page's end
        scanner.scripts.append("".join(scanner._buffer))
    return scanner.links, scanner.scripts


def extract_jsonld(html: str) -> list[Any]:
    """Every JSON-LD document embedded in ``html`` (invalid JSON is skipped)."""
    docs = []
    for text in scan_html(html)[1]:
        try:
            docs.append(json.loads(text.strip().removeprefix("<!--").removesuffix("-->")))
        except (ValueError, RecursionError):
            continue
    return docs


def _types(node: Mapping[str, Any]) -> set[str]:
    value = node.get("@type")
    values = value if isinstance(value, list) else [value]
    return {v.rsplit("/", 1)[-1].rsplit(":", 1)[-1] for v in values if isinstance(v, str)}


def _nodes(doc: Any, depth: int = 0) -> Iterator[Mapping[str, Any]]:
    """Top-level nodes: the document, the items of a list, or of ``@graph``."""
    if depth > 3:
        return
    if isinstance(doc, list):
        for item in doc:
            yield from _nodes(item, depth + 1)
    elif isinstance(doc, Mapping):
        yield doc
        if "@graph" in doc:
            yield from _nodes(doc["@graph"], depth + 1)


def _text(value: Any) -> str | None:
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, str) and v.strip()), None)
    if isinstance(value, str) and value.strip():
        return " ".join(value.split())
    return None


def _size(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value if value >= 0 else None
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value)
    match = _SIZE.match(value) if isinstance(value, str) else None
    return int(match.group(1)) if match else None  # "453.12 MB" is a label, not a size


def _url(value: Any, base: str | None) -> str | None:
    for candidate in value if isinstance(value, list) else [value]:
        if not isinstance(candidate, str) or not candidate.strip():
            continue
        try:
            url = urljoin(base or "", candidate.strip())
        except ValueError:
            continue
        if url.lower().startswith(("http://", "https://")):
            return url
    return None


def _entry(raw: Any, base: str | None) -> FileEntry | None:
    if not isinstance(raw, Mapping):
        return None
    url = _url(raw.get("contentUrl"), base)
    if url is None:
        return None
    name = _text(raw.get("name"))
    fmt = _text(raw.get("encodingFormat")) or _text(raw.get("fileFormat"))
    checksums = {}
    for algo in _DIGESTS:
        value = _text(raw.get(algo)) or _text(raw.get(f"schema:{algo}"))
        if value:
            checksums[algo] = value  # FileEntry normalises it, or keeps a malformed one aside to report it
    free = raw.get("isAccessibleForFree")
    access: Access = "restricted" if free is False or (isinstance(free, str) and free.lower() == "false") else "open"
    return FileEntry(path=name or path_from_url(url), size=_size(raw.get("contentSize")), checksums=checksums,
                     urls=(url,), media_type=fmt if fmt and "/" in fmt else None, access=access,
                     note="restricted: the landing page says it is not accessible for free" if access != "open" else None)


def _datasets(doc: Any) -> list[Mapping[str, Any]]:
    nodes = list(_nodes(doc))
    typed = [n for n in nodes if "Dataset" in _types(n)]
    return typed or [n for n in nodes if "distribution" in n]


def parse_jsonld_distribution(doc: Any, base: str | None = None) -> list[FileEntry]:
    """Files of every ``Dataset`` (else any node with ``distribution``) in one JSON-LD document (pure).

    Each ``DataDownload`` needs a ``contentUrl`` (relative URLs are joined to ``base``); ``name``
    is the path (else the URL's file name), ``contentSize`` counts only when it is a byte count,
    ``encodingFormat``/``fileFormat`` only when it is a media type, ``sha256`` (and md5/sha1/sha512)
    become checksums, ``isAccessibleForFree: false`` marks the file restricted. Duplicate URLs are dropped.
    """
    seen: dict[str, FileEntry] = {}
    for node in _datasets(doc):
        dist = node.get("distribution")
        for raw in dist if isinstance(dist, list) else [dist]:
            entry = _entry(raw, base)
            if entry is not None:
                seen.setdefault(entry.urls[0], entry)
    return list(seen.values())


def _people(value: Any) -> tuple[str, ...]:
    names = []
    for person in value if isinstance(value, list) else [value]:
        name = _text(person.get("name")) if isinstance(person, Mapping) else _text(person)
        if name:
            names.append(name)
    return tuple(names)


def _doi(value: Any) -> str | None:
    text = _text(value.get("@id") if isinstance(value, Mapping) else value)
    match = re.search(r"(?:doi\.org/|doi:)(10\.\d{4,9}/\S+)$", text or "", re.IGNORECASE)
    return match.group(1) if match else None


def jsonld_dataset(doc: Any) -> Dataset | None:
    """Title, creators, licence, version and DOI of the first ``Dataset`` node (pure)."""
    for node in _datasets(doc):
        lic = node.get("license")
        license_text = _text(lic.get("url") or lic.get("@id") or lic.get("name") or lic.get("text")) \
            if isinstance(lic, Mapping) else _text(lic)
        publisher = node.get("publisher")
        year = re.match(r"^(\d{4})", _text(node.get("datePublished")) or "")
        version = node.get("version")
        return Dataset(
            doi=_doi(node.get("identifier")) or _doi(node.get("@id")), title=_text(node.get("name")),
            creators=_people(node.get("creator") or node.get("author")),
            publisher=_text(publisher.get("name")) if isinstance(publisher, Mapping) else _text(publisher),
            year=int(year.group(1)) if year else None,
            version=str(version) if isinstance(version, (int, float)) and not isinstance(version, bool)
            else _text(version),
            license=license_text,
        )
    return None


def page_files(page: LandingPage) -> tuple[list[FileEntry], Dataset | None]:
    """Files and dataset description from every JSON-LD block of a fetched landing page."""
    files: dict[str, FileEntry] = {}
    dataset = None
    for doc in extract_jsonld(page.text or ""):
        for entry in parse_jsonld_distribution(doc, page.url):
            files.setdefault(entry.urls[0], entry)
        dataset = dataset or jsonld_dataset(doc)
    return list(files.values()), dataset


def landing_problem(page: LandingPage) -> str | None:
    """Why a landing page cannot be searched for links or JSON-LD (None: it can)."""
    if page.error:
        return f"landing page {page.url} unusable: {page.error}"
    if page.text is None:
        return f"landing page {page.url} is {page.content_type or 'not a web page'}, not HTML"
    return None


class SchemaOrgAdapter:
    """Generic layer: ``distribution`` in the landing page's schema.org JSON-LD."""

    name = "schemaorg"

    def recognize(self, resolved: Resolved) -> RecordRef | None:
        url = resolved.landing_url or ""
        if not url.lower().startswith(("http://", "https://")):
            return None
        return RecordRef(adapter=self.name, api_base=url, record_id=url, repository=host_of(url))

    async def list_files(self, ref: RecordRef, resolved: Resolved, http: Http) -> Manifest:
        page = await resolved.landing_page(http)
        if problem := landing_problem(page):
            raise NoMatch(problem)
        files, page_ds = page_files(page)
        if not files:
            blocks = len(scan_html(page.text or "")[1])
            raise NoMatch(f"{blocks} JSON-LD block(s) in the landing page, none with a distribution contentUrl"
                          if blocks else "no schema.org JSON-LD in the landing page")
        warnings = []
        if any(f.size is None for f in files):
            warnings.append("some file sizes are unknown: the landing page's JSON-LD does not give them")
        reason = f"{len(files)} DataDownload contentUrl(s) in the landing page's schema.org JSON-LD"
        manifest = Manifest(generic_dataset(resolved, page_ds), tuple(files), tuple(warnings))
        return replace(manifest, discovery=Discovery(layer="schema.org", adapter=self.name, reason=reason))


ADAPTER = SchemaOrgAdapter()

__all__ = ["ADAPTER", "SchemaOrgAdapter", "extract_jsonld", "jsonld_dataset", "landing_problem", "page_files",
           "parse_jsonld_distribution", "scan_html"]
