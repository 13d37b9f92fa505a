"""The last detection layer: DataCite ``contentUrl``, the file URLs registered with the DOI itself.

DataCite's ``contentUrl`` is almost always ``null`` (never usable in 20+ recordings), so this is
the fallback of last resort; detection costs no request, because the resolver already holds the
DataCite record. DataCite gives only URLs (its ``sizes`` are free text such as ``"3 files"`` or
``"name.dat - 33kB"``, never aligned to them), so listing sends one ``HEAD`` per URL (at most
:data:`HEAD_LIMIT`, four at a time, redirects followed): ``Content-Length`` becomes the size,
``Content-Type`` the media type, ``Repr-Digest``/``Digest`` the checksums, and a
``Content-Disposition`` file name replaces a URL that names no file (``/get?id=3``). A server that
refuses ``HEAD`` leaves those unknown; the download is then checked against what the ``GET`` says.

The helpers shared by the three generic layers live here too: a file name from a URL
(:func:`path_from_url`) and the dataset description from the DataCite metadata
(:func:`generic_dataset`).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import unquote, urlsplit

from ..errors import Doi2DataError
from ..http import Http
from ..model import Dataset, Discovery, FileEntry, Manifest
from ..transfer.digests import header_digests
from .base import NoMatch, RecordRef, Resolved

#: At most this many URLs are sized with HEAD (more: listed without sizes, said in a warning).
HEAD_LIMIT = 50
HEAD_CONCURRENCY = 4
_FILENAME_STAR = re.compile(r"filename\*\s*=\s*([\w.-]+)'[^']*'([^;]+)", re.IGNORECASE)
_FILENAME = re.compile(r'filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]+))', re.IGNORECASE)

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)


def _http_url(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    text = value.strip()
    return text if text.lower().startswith(("http://", "https://")) and len(text) > 8 else None


def parse_content_urls(value: Any) -> list[str]:
    """DataCite ``contentUrl`` (``null``, ``[]``, one string or a list) -> distinct http(s) URLs (pure)."""
    values = value if isinstance(value, list) else [value]
    return list(dict.fromkeys(url for v in values if (url := _http_url(v))))


def path_from_url(url: str) -> str:
    """A file name for ``url``: the key after ``/files/`` (minus Invenio's ``/content``), else the last segment.

    ``https://zenodo.org/records/1/files/a%20b.txt`` -> ``a b.txt``;
    ``…/api/records/1/files/dir/x.h5/content`` -> ``dir/x.h5``; ``…/api/files/<bucket uuid>/k`` -> ``k``;
    ``…/api/access/datafile/42`` -> ``42``. Never empty (falls back to the host).
    """
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return "download"
    segs = [s for s in parts.path.split("/") if s]
    if "files" in segs:
        at = len(segs) - 1 - segs[::-1].index("files")
        key = segs[at + 1:]
        if len(key) > 1 and key[-1] == "content":
            key = key[:-1]
        if len(key) > 1 and _UUID.match(key[0]):  # legacy Invenio /api/files/<bucket>/<key>
            key = key[1:]
        if key:
            segs = key
        else:
            segs = segs[-1:]
    else:
        segs = segs[-1:]
    name = "/".join(unquote(s, errors="replace") for s in segs).strip("/")
    return name or (parts.hostname or "download")


def entries_from_urls(urls: Iterable[str], media_types: dict[str, str] | None = None) -> tuple[FileEntry, ...]:
    """One :class:`FileEntry` per distinct URL (size and checksums unknown: verified by the server's digests)."""
    types = media_types or {}
    return tuple(FileEntry(path=path_from_url(url), urls=(url,), media_type=types.get(url))
                 for url in dict.fromkeys(urls))


def disposition_name(value: str | None) -> str | None:
    """The file name of a ``Content-Disposition`` (RFC 6266: ``filename*`` first), without any folder."""
    if not value:
        return None
    name = None
    if match := _FILENAME_STAR.search(value):
        try:
            name = unquote(match.group(2).strip(), encoding=match.group(1), errors="strict")
        except (LookupError, UnicodeDecodeError):
            name = None
    if name is None and (match := _FILENAME.search(value)):
        name = match.group(1) if match.group(1) is not None else match.group(2).strip()
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    return name if name not in ("", ".", "..") else None


def head_facts(headers: Mapping[str, str]) -> dict[str, Any]:
    """What a ``HEAD`` answer says about a file: size, media type, checksums, name. Pure."""
    facts: dict[str, Any] = {}
    length = (headers.get("content-length") or "").strip()
    if length.isdecimal() and not headers.get("content-encoding"):
        facts["size"] = int(length)
    if media := (headers.get("content-type") or "").split(";", 1)[0].strip():
        facts["media_type"] = media
    if checksums := header_digests(headers):
        facts["checksums"] = checksums
    if name := disposition_name(headers.get("content-disposition")):
        facts["name"] = name
    return facts


async def _head(url: str, http: Http) -> dict[str, Any]:
    """``HEAD url`` (body never read): :func:`head_facts` of a 200, else nothing."""
    try:
        response = await http.request("HEAD", url, stream=True)
    except Doi2DataError:
        return {}
    try:
        return head_facts(response.headers) if response.status_code == 200 else {}
    finally:
        await response.aclose()


async def sized_entries(urls: list[str], http: Http) -> tuple[tuple[FileEntry, ...], list[str]]:
    """One entry per URL, completed by a ``HEAD`` each (at most :data:`HEAD_LIMIT`), and warnings."""
    entries = list(entries_from_urls(urls))
    warnings = []
    if len(urls) > HEAD_LIMIT:
        warnings.append(f"{len(urls)} URLs: sizes of the first {HEAD_LIMIT} only were asked for (HEAD)")
    gate = asyncio.Semaphore(HEAD_CONCURRENCY)

    async def one(url: str) -> dict[str, Any]:
        async with gate:
            return await _head(url, http)

    facts = await asyncio.gather(*(one(e.urls[0]) for e in entries[:HEAD_LIMIT]))
    for i, found in enumerate(facts):
        entry = entries[i]
        name = found.get("name")
        entries[i] = replace(
            entry, path=name if name and "/" not in entry.path else entry.path,
            size=found.get("size", entry.size), checksums=found.get("checksums", entry.checksums),
            media_type=found.get("media_type", entry.media_type))
    unsized = sum(e.size is None for e in entries)
    if unsized:
        warnings.append(f"{unsized} of {len(entries)} file size(s) unknown: the server did not say (HEAD)")
    if any(not e.checksums for e in entries):
        warnings.append("no checksum listed for some files: DataCite contentUrl gives only URLs; "
                        "downloads are checked against the server's digests where it sends them")
    return tuple(entries), warnings


def host_of(url: str) -> str:
    try:
        return (urlsplit(url).hostname or url).lower()
    except ValueError:
        return url


def generic_dataset(resolved: Resolved, page_dataset: Dataset | None = None) -> Dataset:
    """The dataset description for a generic layer: DataCite first, then what the page says.

    The repository is the DataCite client's name, else the landing host.
    """
    base = Dataset(doi=resolved.doi, landing_url=resolved.landing_url)
    if resolved.metadata is not None:
        base = replace(resolved.metadata, doi=resolved.doi or resolved.metadata.doi,
                       landing_url=resolved.landing_url)
    if page_dataset is not None:
        base = base.merged(page_dataset)
    return replace(base, repository=base.repository or host_of(resolved.landing_url))


class ContentUrlAdapter:
    """Generic layer: the files are the DOI's registered ``contentUrl`` values (no request at all)."""

    name = "contenturl"

    def recognize(self, resolved: Resolved) -> RecordRef | None:
        if not resolved.content_urls:
            return None
        return RecordRef(adapter=self.name, api_base="https://api.datacite.org", record_id=resolved.doi or "",
                         repository=host_of(resolved.content_urls[0]))

    async def list_files(self, ref: RecordRef, resolved: Resolved, http: Http) -> Manifest:
        urls = parse_content_urls(list(resolved.content_urls))
        if not urls:
            raise NoMatch("DataCite contentUrl is empty")
        reason = f"DataCite contentUrl lists {len(urls)} URL(s)"
        entries, warnings = await sized_entries(urls, http)
        manifest = Manifest(generic_dataset(resolved), entries, tuple(warnings))
        return replace(manifest, discovery=Discovery(layer="datacite-contentUrl", adapter=self.name, reason=reason))


ADAPTER = ContentUrlAdapter()

__all__ = ["ADAPTER", "HEAD_LIMIT", "ContentUrlAdapter", "disposition_name", "entries_from_urls", "generic_dataset",
           "head_facts", "host_of", "parse_content_urls", "path_from_url", "sized_entries"]
