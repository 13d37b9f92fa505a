"""Walk a dCache WebDAV directory tree into manifest entries (DESY's public data lives there).

Per directory, two requests go out at once (one round trip):

* ``GET <dir>/`` with ``Accept: application/metalink4+xml`` - sizes, ``sha-1``/``md5`` hashes and
  the door URL of every file, but no sub-directories (dCache's Metalink does not recurse);
* ``PROPFIND`` ``Depth: 1`` asking for ``resourcetype``, ``getcontentlength``, dCache
  ``Checksums`` and SRM ``FileLocality`` - the sub-directories to recurse into, and which files
  are ``NEARLINE`` (tape only: listed ``offline``, never fetched).

Either may be refused (older doors, proxies): the other then suffices for the files of that
directory; without PROPFIND sub-directories cannot be seen, which is reported. Files for which
neither gave a checksum get one ``HEAD`` with ``Want-Digest`` (RFC 3230) and
``Want-Repr-Digest`` (RFC 9530). Downloads later follow dCache's 307 redirect to a pool.
"""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import unquote, urlsplit

from ...errors import Doi2DataError, RecordNotFound, RepositoryError
from ...http import Http
from ...entry import FileEntry
from .dav import METALINK_TYPE, PROPFIND_BODY, WANT_DIGEST, WANT_REPR_DIGEST, DavEntry, parse_digests, \
    parse_metalink, parse_propfind
from .net import gather_all, gather_limited, note, send_body

MAX_DIRS = 5000


def _inside(url: str, root: str) -> bool:
    """Is ``url`` below ``root``? Compared decoded: servers escape paths differently."""
    a, b = urlsplit(url), urlsplit(root)
    return a.netloc.lower() == b.netloc.lower() and unquote(a.path).startswith(unquote(b.path))


def nearline_note(url: str) -> str:
    return (f"offline: on tape only at dCache (FileLocality NEARLINE): {url}; reading it makes dCache stage it "
            "from tape, which can take hours - ask the data owner to bring it online, or try again later")


async def _metalink(http: Http, url: str) -> list[DavEntry] | None:
    try:
        response = await http.request("GET", url, headers={"Accept": METALINK_TYPE})
    except Doi2DataError:
        return None
    if response.status_code in (404, 410):
        raise RecordNotFound(f"dCache directory not found: {url} (HTTP {response.status_code})", url=url)
    if response.status_code != 200 or "html" in response.headers.get("content-type", ""):
        return None
    try:
        return parse_metalink(response.content, str(response.url))
    except RepositoryError:
        return None


async def _propfind(http: Http, url: str) -> list[DavEntry] | None:
    try:
        response = await send_body(http, "PROPFIND", url, content=PROPFIND_BODY,
                                   headers={"Depth": "1", "Content-Type": "application/xml; charset=utf-8"})
    except Doi2DataError:
        return None
    if response.status_code in (404, 410):
        raise RecordNotFound(f"dCache directory not found: {url} (HTTP {response.status_code})", url=url)
    if response.status_code != 207:
        return None
    try:
        return parse_propfind(response.content, url)
    except RepositoryError:
        return None


async def _directory(http: Http, url: str) -> tuple[list[DavEntry], list[DavEntry], bool]:
    """(files, sub-directories, whether sub-directories could be listed) of one directory."""
    metalink, dav = await gather_all(_metalink(http, url), _propfind(http, url))
    if metalink is None and dav is None:
        raise RepositoryError(f"dCache answered neither Metalink nor PROPFIND for {url}", url=url)
    files = {e.name: e for e in metalink or []}
    for entry in dav or []:
        if entry.is_dir:
            continue
        known = files.get(entry.name)
        if known is None:
            files[entry.name] = entry
            continue
        sums = {**entry.checksums, **known.checksums}
        files[entry.name] = replace(known, size=known.size if known.size is not None else entry.size,
                                    checksums=sums, locality=entry.locality)
    return list(files.values()), [e for e in dav or [] if e.is_dir], dav is not None


async def _digest(http: Http, entry: DavEntry) -> DavEntry:
    if entry.checksums or entry.nearline_only:
        return entry
    response = await http.request("HEAD", entry.url, headers={"Want-Digest": WANT_DIGEST,
                                                               "Want-Repr-Digest": WANT_REPR_DIGEST})
    if response.status_code >= 400:
        return entry
    size = response.headers.get("content-length", "")
    return replace(entry, checksums=parse_digests(response.headers),
                   size=entry.size if entry.size is not None or not size.isdecimal() else int(size))


async def list_dcache(http: Http, root: str, name: str) -> tuple[list[FileEntry], list[str]]:
    """Every file below the dCache directory ``root`` as ``<name>/<relative path>`` entries."""
    root = root if root.endswith("/") else root + "/"
    note(http, f"dCache listing of {root}: Metalink + PROPFIND Depth 1 per directory")
    found: list[tuple[str, DavEntry]] = []
    warnings: list[str] = []
    level, seen = [("", root)], {root}
    while level:
        listings = await gather_limited((_directory(http, url) for _, url in level), 8)
        next_level = []
        for (prefix, url), (files, dirs, complete) in zip(level, listings):
            found += [(prefix + f.name, f) for f in files]
            if not complete:
                warnings.append(f"{name}/{prefix}: PROPFIND refused by {url}; sub-directories (if any) not listed")
            for d in dirs:
                if _inside(d.url, root) and d.url not in seen and len(seen) < MAX_DIRS:
                    seen.add(d.url)
                    next_level.append((f"{prefix}{d.name}/", d.url))
        level = next_level
    if any(not e.checksums and not e.nearline_only for _, e in found):
        note(http, "HEAD with Want-Digest for files without a checksum in the listing")
    digested = await gather_limited((_digest(http, e) for _, e in found), 8)
    entries = []
    for (path, _), entry in zip(found, digested):
        offline = entry.nearline_only
        entries.append(FileEntry(f"{name}/{path}", entry.size, entry.checksums, (entry.url,),
                                 access="offline" if offline else "open",
                                 note=nearline_note(entry.url) if offline else None))
    nearline = sum(e.access == "offline" for e in entries)
    if nearline:
        warnings.append(f"{name}: {nearline} file(s) are on tape only (NEARLINE) and are listed as offline")
    unchecked = sum(not e.checksums for e in entries if e.access == "open")
    if unchecked:
        warnings.append(f"{name}: {unchecked} file(s) without any checksum from dCache: checked by size only")
    return entries, warnings


__all__ = ["list_dcache", "nearline_note"]
