"""Metalink 4 (RFC 5854, ``application/metalink4+xml``, ``.meta4``) for aria2 and other clients.

Shape::

    <?xml version="1.0" encoding="UTF-8"?>
    <metalink xmlns="urn:ietf:params:xml:ns:metalink">
      <generator>doi2data/0.1.0</generator>
      <published>2021-01-01T00:00:00Z</published>
      <file name="data/a b.txt">                  <!-- safe path from plan_paths -->
        <identity>Dataset title</identity>
        <version>1.2</version>
        <description>doi:10.1234/x; license: CC-BY-4.0</description>
        <publisher name="Zenodo" />
        <size>123</size>
        <hash type="sha-512">...</hash>           <!-- strongest first -->
        <hash type="sha-256">...</hash>
        <hash type="sha-1">...</hash>
        <hash type="md5">...</hash>
        <url priority="1">https://...</url>      <!-- manifest order; 1 = preferred -->
        <url priority="2">https://mirror/...</url>
      </file>
    </metalink>

Hash type names come from the IANA "Hash Function Textual Names" registry (md5, sha-1,
sha-256, sha-512). adler32, crc32 and crc32c are not in it and are **omitted**. Files without a
URL are left out (a ``file`` needs a ``url`` to be useful); by default so are files whose access
is not ``open``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime, timezone

from .._version import __version__
from ..errors import UsageError
from ..model import Dataset, Manifest
from ._common import Export, Placed, digest, place, uri, xml_text

NAMESPACE = "urn:ietf:params:xml:ns:metalink"
MEDIA_TYPE = "application/metalink4+xml"

#: Model algorithm -> IANA hash name, strongest first (the order aria2 prefers).
IANA_HASH_NAMES: dict[str, str] = {"sha512": "sha-512", "sha256": "sha-256", "sha1": "sha-1", "md5": "md5"}


def _add(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {k: xml_text(v) for k, v in attrs.items()})
    if text is not None:
        element.text = xml_text(text)
    return element


def published_stamp(dataset: Dataset, published: datetime | str | None = None) -> str | None:
    """RFC 3339 UTC stamp for ``<published>``.

    An explicit ``published`` wins (naive datetimes are taken as UTC; strings must be ISO 8601).
    Otherwise DataCite's publication year gives ``YYYY-01-01T00:00:00Z`` - the year is all the
    metadata knows, so the day is nominal. No year, no ``<published>``.
    """
    if published is None:
        return f"{dataset.year:04d}-01-01T00:00:00Z" if dataset.year else None
    if isinstance(published, str):
        try:
            published = datetime.fromisoformat(published)
        except ValueError as exc:
            raise UsageError(f"published must be an ISO 8601 date-time, not {published!r}") from exc
    if published.tzinfo is None:
        published = published.replace(tzinfo=timezone.utc)
    return published.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _describe(dataset: Dataset, item: Placed) -> str | None:
    parts = [
        f"doi:{dataset.doi}" if dataset.doi else None,
        f"license: {dataset.license}" if dataset.license else None,
        f"repository name: {item.entry.path}" if item.local != item.entry.path else None,
    ]
    return "; ".join(p for p in parts if p) or None


def _file(root: ET.Element, dataset: Dataset, item: Placed) -> bool:
    """Add one ``<file>``; return whether it carries at least one hash."""
    entry = item.entry
    element = _add(root, "file", name=item.local)
    if dataset.title:
        _add(element, "identity", dataset.title)
    if dataset.version:
        _add(element, "version", dataset.version)
    if description := _describe(dataset, item):
        _add(element, "description", description)
    if dataset.publisher:
        _add(element, "publisher", name=dataset.publisher)
    if entry.size is not None:
        _add(element, "size", str(entry.size))
    hashed = False
    for algorithm, iana in IANA_HASH_NAMES.items():
        if value := digest(entry, algorithm):
            _add(element, "hash", value, type=iana)
            hashed = True
    for priority, url in enumerate(entry.urls, start=1):
        _add(element, "url", uri(url), priority=str(min(priority, 999999)))
    return hashed


def build_metalink(
    manifest: Manifest, *, published: datetime | str | None = None, include_restricted: bool = False
) -> Export:
    """:func:`to_metalink` plus the files left out and notes (renames, files without a hash)."""
    placed, skips = place(manifest, need_url=True, include_restricted=include_restricted)
    root = ET.Element("metalink", xmlns=NAMESPACE)  # unprefixed names in the default namespace
    _add(root, "generator", f"doi2data/{__version__}")
    if stamp := published_stamp(manifest.dataset, published):
        _add(root, "published", stamp)
    unhashed = [item.local for item in placed if not _file(root, manifest.dataset, item)]
    if unhashed:
        skips.notes.append(f"{len(unhashed)} file(s) have no md5/sha-1/sha-256/sha-512: clients cannot verify them")
    if not placed:
        skips.notes.append("no file could be listed: the Metalink is empty")
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode")
    return skips.export('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n")


def to_metalink(
    manifest: Manifest, *, published: datetime | str | None = None, include_restricted: bool = False
) -> str:
    """Metalink 4 XML (see the module docstring for the shape); write it as UTF-8.

    ``published`` overrides the ``<published>`` stamp (see :func:`published_stamp`);
    ``include_restricted`` keeps files whose access is not ``open``.
    """
    return build_metalink(manifest, published=published, include_restricted=include_restricted).text


__all__ = ["IANA_HASH_NAMES", "MEDIA_TYPE", "NAMESPACE", "build_metalink", "published_stamp", "to_metalink"]
