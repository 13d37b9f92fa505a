"""The last detection layer: DataCite ``contentUrl``, the file URLs registered with the DOI itself.

DataCite's ``contentUrl`` is almost always ``null`` (never usable in 20+ recordings), so this is
the fallback of last resort; it costs no request, because the resolver already holds the DataCite
record. The helpers shared by the three generic layers live here too: a file name from a URL
(:func:`path_from_url`) and the dataset description from the DataCite metadata
(:func:`generic_dataset`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
from typing import Any
from urllib.parse import unquote, urlsplit

from ..http import Http
from ..model import Dataset, Discovery, FileEntry, Manifest
from .base import NoMatch, RecordRef, Resolved

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
        manifest = Manifest(generic_dataset(resolved), entries_from_urls(urls),
                            ("file sizes and checksums are unknown: DataCite contentUrl gives only URLs",))
        return replace(manifest, discovery=Discovery(layer="datacite-contentUrl", adapter=self.name, reason=reason))


ADAPTER = ContentUrlAdapter()

__all__ = ["ADAPTER", "ContentUrlAdapter", "entries_from_urls", "generic_dataset", "host_of", "parse_content_urls",
           "path_from_url"]
