"""dCache over HTTP/WebDAV: Metalink directory listings, PROPFIND multistatus and digest headers.

Why these three (dCache user guide, "WebDAV" chapter):

* ``GET <dir>/`` with ``Accept: application/metalink4+xml`` (or ``?type=metalink``) gives an
  RFC 5854 document with ``<size>``, ``<hash>`` and ``<url>`` per file - but only the files
  directly in the directory ("there's no recursion");
* ``PROPFIND`` with ``Depth: 1`` lists files *and* sub-directories, and on request the dCache
  properties ``Checksums`` (``md5=<base64>,adler32=<hex>``) and SRM ``FileLocality``
  (``ONLINE`` / ``NEARLINE`` / ``ONLINE_AND_NEARLINE``: NEARLINE means on tape only);
* ``Want-Digest: ADLER32`` on ``HEAD`` answers ``Digest: adler32=<hex>`` (RFC 3230; MD5 is
  base64), and RFC 9530's ``Want-Repr-Digest`` answers ``Repr-Digest: sha-256=:<base64>:``.

All parsers are pure; malformed XML raises :class:`~doi2data.errors.RepositoryError` only.

:func:`propfind_folder` is the one network step: ``PROPFIND`` with ``Depth: 1`` (never
``infinity``, which Apache ``mod_dav`` refuses by default and nginx ``dav_ext`` does not offer) on a
web folder, used before its HTML listing by the generic directory-listing layer. A server that
does not speak WebDAV answers 405/501/403 (or a 200 page); only a ``207 Multi-Status`` counts
(RFC 4918 §9.1; Apache ``mod_dav``, nginx ``dav_ext_methods PROPFIND``, Caddy ``webdav``, dCache;
checked 2026-12-06). The body is bounded like a listing page.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from urllib.parse import unquote, urljoin, urlsplit

from ...entry import HASH_ALGORITHMS, normalize_algorithm, normalize_digest
from ...errors import RecordNotFound, RepositoryError
from ...http import Http, raise_for_status
from .autoindex import LISTING_BODY_LIMIT, IndexEntry

METALINK_NS = "urn:ietf:params:xml:ns:metalink"
DAV_NS = "DAV:"
DCACHE_NS = "http://www.dcache.org/2013/webdav"
SRM_NS = "http://srm.lbl.gov/StorageResourceManager"
METALINK_TYPE = "application/metalink4+xml"
#: RFC 3230 names dCache understands, preferred first; and the RFC 9530 form.
WANT_DIGEST = "ADLER32, MD5;q=0.8, SHA-256;q=0.6, SHA;q=0.4"
WANT_REPR_DIGEST = "sha-256=6, md5=4, adler=2"
PROPFIND_BODY = (
    '<?xml version="1.0" encoding="utf-8"?>\n'
    f'<d:propfind xmlns:d="DAV:" xmlns:dc="{DCACHE_NS}" xmlns:srm="{SRM_NS}"><d:prop>'
    "<d:resourcetype/><d:getcontentlength/><d:getlastmodified/>"
    "<dc:Checksums/><srm:FileLocality/></d:prop></d:propfind>"
).encode()
_NAME_ALIASES = {"sha": "sha1", "adler": "adler32", "md": "md5"}


@dataclass(frozen=True)
class DavEntry:
    """One file or directory: ``name`` decoded; ``url`` absolute; ``locality`` as dCache says."""

    name: str
    url: str
    is_dir: bool = False
    size: int | None = None
    checksums: Mapping[str, str] = field(default_factory=dict)
    locality: str | None = None
    modified: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "checksums", MappingProxyType(dict(self.checksums)))

    @property
    def nearline_only(self) -> bool:
        return (self.locality or "").upper() == "NEARLINE"


def _algorithm(name: str) -> str:
    key = name.strip().lower()
    return _NAME_ALIASES.get(key, normalize_algorithm(key))


def parse_digest_list(value: str) -> dict[str, str]:
    """``"md5=rFb0uPrFc5zNtFd30xO+zw==,adler32=af543afc"`` or ``"sha-256=:…:"`` -> ``{algo: hex}``."""
    found: dict[str, str] = {}
    for item in (value or "").split(","):
        name, sep, raw = item.strip().partition("=")
        raw = raw.split(";", 1)[0].strip()
        if raw.startswith(":") and raw.endswith(":") and len(raw) >= 2:
            raw = raw[1:-1]
        algorithm = _algorithm(name)
        if not sep or algorithm not in HASH_ALGORITHMS:
            continue
        if digest := normalize_digest(algorithm, raw):
            found.setdefault(algorithm, digest)
    return found


def parse_digests(headers: Mapping[str, str]) -> dict[str, str]:
    """Checksums from ``Digest`` (RFC 3230) and ``Repr-Digest`` (RFC 9530) response headers."""
    found = parse_digest_list(headers.get("repr-digest", "") or "")
    for algorithm, digest in parse_digest_list(headers.get("digest", "") or "").items():
        found.setdefault(algorithm, digest)
    return found


def _xml(text: str | bytes, what: str) -> ET.Element:
    try:
        return ET.fromstring(text)
    except (ET.ParseError, ValueError, TypeError) as exc:
        raise RepositoryError(f"{what} is not well-formed XML ({exc})") from exc


def _int(text: str | None) -> int | None:
    text = (text or "").strip()
    return int(text) if text.isdecimal() else None


def parse_metalink(text: str | bytes, base_url: str) -> list[DavEntry]:
    """Files of a dCache Metalink 4 directory listing (``<file name>`` per file, no recursion)."""
    root = _xml(text, "metalink")
    if root.tag != f"{{{METALINK_NS}}}metalink":
        raise RepositoryError(f"not a Metalink 4 document (root {root.tag!r})")
    entries = []
    for node in root.findall(f"{{{METALINK_NS}}}file"):
        name = (node.get("name") or "").strip()
        urls = [u.text.strip() for u in node.findall(f"{{{METALINK_NS}}}url") if u.text and u.text.strip()]
        if not name or "/" in name or name in (".", ".."):
            continue
        checksums: dict[str, str] = {}
        for h in node.findall(f"{{{METALINK_NS}}}hash"):
            algorithm = _algorithm(h.get("type") or "")
            if algorithm in HASH_ALGORITHMS and h.text and (digest := normalize_digest(algorithm, h.text)):
                checksums.setdefault(algorithm, digest)
        url = urljoin(base_url, urls[0]) if urls else urljoin(base_url, name)
        size = _int(node.findtext(f"{{{METALINK_NS}}}size"))
        modified = node.findtext(f"{{{METALINK_NS}}}updated")
        entries.append(DavEntry(name, url, False, size, checksums, None, modified))
    return entries


def _prop(propstats: list[ET.Element], ns: str, tag: str) -> ET.Element | None:
    for stat in propstats:
        found = stat.find(f"{{{DAV_NS}}}prop/{{{ns}}}{tag}")
        if found is not None:
            return found
    return None


def parse_propfind(text: str | bytes, base_url: str) -> list[DavEntry]:
    """Children of ``base_url`` in a ``207 Multi-Status`` (the directory's own entry is dropped)."""
    root = _xml(text, "PROPFIND answer")
    if root.tag != f"{{{DAV_NS}}}multistatus":
        raise RepositoryError(f"not a WebDAV multistatus (root {root.tag!r})")
    base_path = unquote(urlsplit(base_url).path).rstrip("/")
    entries = []
    for response in root.findall(f"{{{DAV_NS}}}response"):
        href = (response.findtext(f"{{{DAV_NS}}}href") or "").strip()
        if not href:
            continue
        ok = [s for s in response.findall(f"{{{DAV_NS}}}propstat")
              if " 200" in (s.findtext(f"{{{DAV_NS}}}status") or " 200")]
        url = urljoin(base_url, href)
        path = unquote(urlsplit(url).path).rstrip("/")
        parent, _, name = path.rpartition("/")
        if path == base_path or parent != base_path or name in ("", ".", ".."):
            continue
        kind = _prop(ok, DAV_NS, "resourcetype")
        is_dir = kind is not None and kind.find(f"{{{DAV_NS}}}collection") is not None
        size_node, sums, where = (_prop(ok, DAV_NS, "getcontentlength"), _prop(ok, DCACHE_NS, "Checksums"),
                                  _prop(ok, SRM_NS, "FileLocality"))
        modified = _prop(ok, DAV_NS, "getlastmodified")
        entries.append(DavEntry(
            name, url if not is_dir or url.endswith("/") else url + "/", is_dir,
            None if is_dir or size_node is None else _int(size_node.text),
            parse_digest_list(sums.text or "") if sums is not None else {},
            (where.text or "").strip().upper() or None if where is not None else None,
            (modified.text or "").strip() or None if modified is not None else None))
    return entries


class NotWebDav(RepositoryError):
    """The folder did not answer ``PROPFIND`` with ``207 Multi-Status``."""


async def propfind_folder(http: Http, url: str, max_entries: int = 1_000_000) -> list[IndexEntry]:
    """Children of the folder ``url`` from ``PROPFIND`` (``Depth: 1``), as listing entries.

    Raises :class:`NotWebDav` unless the answer is a well-formed 207; 404/410 is
    :class:`~doi2data.errors.RecordNotFound`.
    """
    response = await http.request("PROPFIND", url, content=PROPFIND_BODY, limit=LISTING_BODY_LIMIT,
                                   headers={"Depth": "1", "Content-Type": "application/xml; charset=utf-8"})
    if response.status_code in (404, 410):
        raise_for_status(response, not_found=RecordNotFound, what="WebDAV folder")
    if response.status_code != 207:
        raise NotWebDav(f"PROPFIND {url}: HTTP {response.status_code}, not 207 Multi-Status", url=url)
    try:
        found = parse_propfind(response.content, url)
    except RepositoryError as exc:
        raise NotWebDav(f"PROPFIND {url}: {exc}", url=url) from exc
    entries = []
    for entry in found[:max_entries]:
        if "\\" in entry.name or "\x00" in entry.name:
            continue
        entries.append(IndexEntry(entry.name, entry.url, entry.is_dir, entry.size, entry.modified,
                                  dict(entry.checksums)))
    return entries


__all__ = ["DAV_NS", "DCACHE_NS", "METALINK_NS", "METALINK_TYPE", "PROPFIND_BODY", "SRM_NS", "WANT_DIGEST",
           "WANT_REPR_DIGEST", "DavEntry", "NotWebDav", "parse_digest_list", "parse_digests", "parse_metalink",
           "parse_propfind", "propfind_folder"]
