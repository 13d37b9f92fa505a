"""Web directory listings (nginx, Apache, lighttpd autoindex): a pure parser and a bounded crawler.

Why a parser of our own: PSI publishes each dataset as an nginx ``autoindex`` folder meant for
``wget -m -np``, and many facilities serve data the same way. The three servers differ in layout
(nginx ``<pre>`` lines with exact byte sizes, Apache tables with ``7.6M``, lighttpd tables with
``class="s"`` cells), but all put one ``<a href>`` per entry followed by a date and a size on the
same line or table row - so the parser reads anchors, keeps only direct children of the listed
directory (parent links, sort links ``?C=N;O=D`` and absolute links elsewhere are dropped) and
takes the size only when it is exact. Rounded sizes (``7.6M``) are left ``None``: the caller asks
``HEAD`` instead of trusting them.

The crawler never leaves the root it was given (``-np``), visits each directory once and stops
at :data:`MAX_DIRS` directories.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, replace
from urllib.parse import unquote, urljoin, urlsplit

from ...errors import RecordNotFound, RepositoryError
from ...http import Http, raise_for_status
from .net import gather_limited, get_text, note

MAX_DIRS = 5000
_ANCHOR = re.compile(r"""<a\s[^>]*?href\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))[^>]*>(.*?)</a\s*>""", re.I | re.S)
_STOP = re.compile(r"<a\s|</tr\s*>|\n", re.I)
_TAG = re.compile(r"<[^>]*>")
_EXACT = re.compile(r"^(\d+)(?:B)?$")
_ROUNDED = re.compile(r"^\d+(?:[.,]\d+)?\s?[KMGTPE]i?B?$", re.I)
_TITLE = re.compile(r"<title>\s*Index of\b|<h[12][^>]*>\s*Index of\b", re.I)
_DATE = re.compile(r"\d{1,4}[-/][A-Za-z0-9]{2,3}[-/]\d{2,4}(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?")


class NotAListing(RepositoryError):
    """The page is not a server-generated directory listing."""


@dataclass(frozen=True)
class IndexEntry:
    """One entry of a listing: ``path`` is relative to the crawl root, decoded, no trailing ``/``."""

    path: str
    url: str
    is_dir: bool
    size: int | None = None
    modified: str | None = None


def is_autoindex(text: str) -> bool:
    """Does this HTML look like a server-generated directory listing ("Index of /...")?"""
    return bool(_TITLE.search(text[:4096]))


def _child(href: str, base_url: str) -> tuple[str, str, bool] | None:
    """``(absolute url, decoded name, is_dir)`` when ``href`` names a direct child of ``base_url``."""
    href = html.unescape(href).strip()
    if not href or href.startswith(("?", "#", "mailto:", "javascript:")):
        return None
    try:
        url = urljoin(base_url, href)
        base, target = urlsplit(base_url), urlsplit(url)
    except ValueError:
        return None
    if target.query or target.fragment or (target.scheme, target.netloc) != (base.scheme, base.netloc):
        return None
    base_path = base.path if base.path.endswith("/") else base.path + "/"
    if not target.path.startswith(base_path):
        return None
    rest = target.path[len(base_path):]
    is_dir = rest.endswith("/")
    name = unquote(rest[:-1] if is_dir else rest)
    if not name or "/" in name or name in (".", ".."):
        return None
    return url.split("#", 1)[0], name, is_dir


def _size_and_date(tail: str) -> tuple[int | None, str | None]:
    text = html.unescape(_TAG.sub(" ", tail)).replace("\xa0", " ")
    date = _DATE.search(text)
    size = None
    for token in reversed(text.split()):
        if exact := _EXACT.match(token):
            size = int(exact.group(1))
            break
        if _ROUNDED.match(token) or token == "-":
            break
    return size, date.group(0) if date else None


def parse_autoindex(text: str, base_url: str) -> list[IndexEntry]:
    """Entries of an nginx / Apache / lighttpd listing of ``base_url`` (pure, never raises).

    ``path`` is just the entry's name here; :func:`crawl` prefixes the directory path.
    """
    if not isinstance(text, str) or not isinstance(base_url, str):
        return []
    entries: dict[str, IndexEntry] = {}
    for match in _ANCHOR.finditer(text):
        href = next((g for g in match.groups()[:3] if g is not None), "")
        child = _child(href, base_url)
        if child is None:
            continue
        url, name, is_dir = child
        stop = _STOP.search(text, match.end())
        size, date = _size_and_date(text[match.end(): stop.start() if stop else len(text)])
        entries.setdefault(url, IndexEntry(name, url, is_dir, None if is_dir else size, date))
    return list(entries.values())


async def _listing(http: Http, url: str) -> list[IndexEntry]:
    text, response = await get_text(http, url, what="directory listing")
    if not is_autoindex(text):
        raise NotAListing(f"{response.url} is not a web directory listing (nginx, Apache or lighttpd autoindex)",
                          url=str(response.url))
    final = str(response.url)
    return parse_autoindex(text, final if final.endswith("/") else final + "/")


async def crawl(http: Http, root: str, *, max_dirs: int = MAX_DIRS, concurrency: int = 8) -> list[IndexEntry]:
    """Every file and directory below ``root`` (recursively, never above it), paths relative to it.

    Raises :class:`RecordNotFound` when ``root`` itself is gone (404/410) and
    :class:`NotAListing` when it is not a directory listing.
    """
    root = root if root.endswith("/") else root + "/"
    found: list[IndexEntry] = []
    seen = {root}
    level = [("", root)]
    note(http, f"crawl directory listing {root}")
    while level:
        if len(seen) > max_dirs:
            raise RepositoryError(f"more than {max_dirs} directories below {root}; refusing to crawl further", url=root)
        listings = await gather_limited((_listing(http, url) for _, url in level), concurrency)
        next_level: list[tuple[str, str]] = []
        for (prefix, _), entries in zip(level, listings):
            for entry in entries:
                if not entry.url.startswith(root):
                    continue
                entry = replace(entry, path=f"{prefix}{entry.path}")
                found.append(entry)
                if entry.is_dir and entry.url not in seen:
                    seen.add(entry.url)
                    next_level.append((entry.path + "/", entry.url))
        level = next_level
    return found


async def head_sizes(http: Http, entries: list[IndexEntry], concurrency: int = 8) -> list[IndexEntry]:
    """Fill in sizes the listing only gave rounded, with one ``HEAD`` per such file."""

    async def sized(entry: IndexEntry) -> IndexEntry:
        if entry.is_dir or entry.size is not None:
            return entry
        response = await http.request("HEAD", entry.url)
        raise_for_status(response, not_found=RecordNotFound, what="file")
        length = response.headers.get("content-length", "")
        return replace(entry, size=int(length)) if length.isdecimal() else entry

    if any(not e.is_dir and e.size is None for e in entries):
        note(http, "HEAD each file whose listed size is rounded")
    return await gather_limited((sized(e) for e in entries), concurrency)


__all__ = ["IndexEntry", "NotAListing", "crawl", "head_sizes", "is_autoindex", "parse_autoindex"]
