"""Web directory listings: one structural parser for every common server, and a bounded crawler.

Why one parser: a folder on a web server is the commonest way physical-science data is published,
and the servers render it differently - nginx ``<pre>`` lines with exact byte sizes; Apache
``mod_autoindex`` as a table (``293K``), as ``<pre>`` lines (FancyIndexing without HTMLTable) or
as a plain ``<ul>``; lighttpd tables with every size rounded (``0.1K``); IIS ``<pre>`` lines with
the date and size *before* the link (``1/2/2024 10:00 AM  1234 <A HREF=…>``, ``&lt;dir&gt;``);
Python ``http.server`` (``Directory listing for /x/``, names only); Caddy's browse table with the
exact size in ``data-size``. Sources, checked 2026-12-06: nginx ``ngx_http_autoindex_module.c``;
Apache ``mod_autoindex`` docs (``IndexOptions FancyIndexing/HTMLTable``); lighttpd
``mod_dirlisting.c``; CPython ``http/server.py`` ``list_directory``; Caddy
``modules/caddyhttp/fileserver/browse.html`` (``<td class="size" data-size="{{.Size}}">``); IIS
directory browsing (``[To Parent Directory]``).

So the page is read by a small linear tokenizer (:func:`_tokens`: no regex over server text,
nothing that can backtrack; see its docstring for why not :mod:`html.parser` here) into *lines*
(a table row, a list item, a ``<pre>`` line or ``<br>``), and a page
is a listing by structure, never by host: its URL is a folder (``…/``), its title or heading
names the folder (or says "Index of" / "Directory listing for"), and links to direct children
outnumber every other kind of link. Only direct children are entries (parent, sort ``?C=N;O=D``
and breadcrumb links are navigation); a size is taken only when exact (a plain integer or
``data-size``); rounded sizes (``7.6M``) stay ``None`` for :func:`head_sizes`.

:func:`walk` never leaves the folder it was given (``wget -np``), visits each folder once, and
stops at the :class:`ListingLimits` in force (depth, pages, entries), saying so in a warning. It
hands the entries on one page at a time (breadth first, in a fixed order) and keeps none of them,
so a million-file tree is never a million objects (issue 19); :func:`crawl` collects them in a list.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import html
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import httpx

from ...errors import Doi2DataError, RecordNotFound, RepositoryError
from ...http import Http, raise_for_status
from .net import gather_limited, note

#: At most this many bytes of one listing page are read (a 1,000,000-entry nginx page is ~120 MB;
#: such folders are refused rather than held in memory whole).
LISTING_BODY_LIMIT = 32 * 1024 * 1024
MAX_DIRS = 5000  # kept for callers of the old name: the default page budget
HEAD_LIMIT = 10_000  # files sized with HEAD at most; more stay "size unknown" (said in a warning)
_UNITS = frozenset("KMGTPE")
_BREAK_TAGS = frozenset({"tr", "li", "br", "hr", "table", "pre", "ul", "ol", "p", "h1", "h2", "h3", "tbody",
                         "thead", "body"})
_LISTING_WORDS = ("index of", "directory listing for", "listing of", "directory of")
_TAG_LIMIT = 16 * 1024
_HEADINGS = frozenset({"h1", "h2"})


@dataclass(frozen=True)
class ListingLimits:
    """How far a web-folder listing may go: folder depth below the landing folder, listing pages
    fetched, entries kept. Defaults are the Python API's; ``--max-depth/--max-pages/--max-entries``
    set them for one command."""

    max_depth: int = 32
    max_pages: int = MAX_DIRS
    max_entries: int = 1_000_000

    def __post_init__(self) -> None:
        for name in ("max_depth", "max_pages", "max_entries"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < (0 if name == "max_depth" else 1):
                raise ValueError(f"{name} must be a whole number >= {0 if name == 'max_depth' else 1}, not {value!r}")


LIMITS: ContextVar[ListingLimits] = ContextVar("doi2data_listing_limits", default=ListingLimits())


@contextlib.contextmanager
def listing_limits(max_depth: int | None = None, max_pages: int | None = None,
                   max_entries: int | None = None) -> Iterator[ListingLimits]:
    """Use these listing limits for every web-folder crawl inside the ``with`` block (``None``: default)."""
    base = ListingLimits()
    limits = ListingLimits(base.max_depth if max_depth is None else max_depth,
                           base.max_pages if max_pages is None else max_pages,
                           base.max_entries if max_entries is None else max_entries)
    token = LIMITS.set(limits)
    try:
        yield limits
    finally:
        LIMITS.reset(token)


class NotAListing(RepositoryError):
    """The page is not a server-generated directory listing."""


_NO_SUMS: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class IndexEntry:
    """One entry of a listing: ``path`` is relative to the crawl root, decoded, no trailing ``/``.

    Slotted, and without a dict of its own when it has no checksums (HTML listings): a page's
    entries live only until the page is handed on, but a page may hold 100,000 of them."""

    path: str
    url: str
    is_dir: bool
    size: int | None = None
    modified: str | None = None
    checksums: Mapping[str, str] = field(default_factory=lambda: _NO_SUMS)


@dataclass(frozen=True)
class Listing:
    """A parsed page: is it a directory listing, and its direct children."""

    is_listing: bool
    entries: tuple[IndexEntry, ...]
    why: str


# -- parsing (pure) -------------------------------------------------------------------------------

@dataclass
class _Anchor:
    href: str


def _attrs(body: str) -> dict[str, str]:
    """Attributes of one tag body (``a href="x" class=y``): a single left-to-right pass."""
    if body.startswith(' href="') and body.endswith('"') and body.find('"', 7) == len(body) - 1:
        return {"href": html.unescape(body[7:-1])}  # the common ``<a href="name">``: the same, found faster
    out: dict[str, str] = {}
    i, n = 0, len(body)
    while i < n:
        while i < n and (body[i].isspace() or body[i] == "/"):
            i += 1
        start = i
        while i < n and not body[i].isspace() and body[i] not in "=/":
            i += 1
        name = body[start:i].lower()
        while i < n and body[i].isspace():
            i += 1
        value = ""
        if i < n and body[i] == "=":
            i += 1
            while i < n and body[i].isspace():
                i += 1
            if i < n and body[i] in "\"'":
                quote = body[i]
                end = body.find(quote, i + 1)
                end = n if end < 0 else end
                value, i = body[i + 1:end], end + 1
            else:
                start = i
                while i < n and not body[i].isspace():
                    i += 1
                value = body[start:i]
        if name:
            out.setdefault(name, html.unescape(value))
        elif i == start:
            i += 1
    return out


def _tokens(text: str) -> Iterator[tuple[str, str, Any]]:
    """``("start"|"end"|"data", tag, attrs|text)`` in one linear pass over ``text``.

    Why not :class:`html.parser.HTMLParser`: before CPython 3.11.13/3.12.11/3.13.4 it is quadratic
    on unterminated tags (``"<a href=" * 5000`` takes 14 s on 3.11.7; CVE-2025-6069), and listings
    come from servers we do not control. A tag ends at its first ``>``; an unterminated tag,
    comment or ``<script>`` ends the page. Tags longer than :data:`_TAG_LIMIT` are dropped.
    """
    i, n = 0, len(text)
    while i < n:
        lt = text.find("<", i)
        if lt < 0:
            yield "data", "", html.unescape(text[i:])
            return
        if lt > i:
            yield "data", "", html.unescape(text[i:lt])
        if text.startswith("<!--", lt):
            end = text.find("-->", lt + 4)
            if end < 0:
                return
            i = end + 3
            continue
        gt = text.find(">", lt + 1)
        if gt < 0:
            return
        body, i = text[lt + 1:gt], gt + 1
        if not body or len(body) > _TAG_LIMIT or body[0] in "!?":
            continue
        closing = body[0] == "/"
        j = 1 if closing else 0
        k = j
        while k < len(body) and (body[k].isalnum() or body[k] in "-:"):
            k += 1
        tag = body[j:k].lower()
        if not tag:
            continue
        if closing:
            yield "end", tag, None
            continue
        rest = body[k:]
        yield "start", tag, _attrs(rest) if tag == "a" or "data-size" in rest else {}  # only these are read
        if tag in ("script", "style"):
            end = _find_ci(text, f"</{tag}", i)
            if end < 0:
                return
            i = end


def _find_ci(text: str, needle: str, start: int) -> int:
    """Case-insensitive find without lower-casing the whole rest of a large page."""
    pos = start
    while True:
        found = text.find("</", pos)
        if found < 0:
            return -1
        if text[found:found + len(needle)].lower() == needle:
            return found
        pos = found + 2


class _Page:
    """Title and heading text, and each *line* with a link handed to ``on_line`` as it ends.

    Nothing grows with the page but the caller's entries: text is kept per line (at most
    :attr:`LINE_LIMIT` characters), title/heading at most :attr:`TEXT_LIMIT`, links at most ``max_anchors``.
    """

    TEXT_LIMIT = 2048
    LINE_LIMIT = 4096

    def __init__(self, max_anchors: int, on_line: Callable[[list[_Anchor | str], str | None], None]) -> None:
        self.max_anchors, self.on_line = max_anchors, on_line
        self.anchors = 0
        self.title: list[str] = []
        self.heading: list[str] = []
        self._title_chars = self._heading_chars = self._line_chars = 0
        self.line: list[_Anchor | str] = []
        self.size: str | None = None  # a data-size attribute seen on the line
        self._has_anchor = False
        self._in: set[str] = set()
        self._anchor: _Anchor | None = None
        self._anchor_chars = 0
        self._pre = 0

    def feed(self, text: str) -> None:
        for kind, tag, value in _tokens(text):
            if kind == "data":
                self.handle_data(value)
            elif kind == "start":
                self.handle_starttag(tag, value)
            else:
                self.handle_endtag(tag)
        self._break()

    def _break(self) -> None:
        self._anchor = None
        if self._has_anchor:
            self.on_line(self.line, self.size)
        self.line, self.size, self._has_anchor, self._line_chars = [], None, False, 0

    def handle_starttag(self, tag: str, values: dict[str, str]) -> None:
        if tag in ("title", "h1", "h2"):
            self._in.add(tag)
        if tag == "pre":
            self._pre += 1
        if tag in _BREAK_TAGS:
            self._break()
        size = values.get("data-size")
        if size is not None and self.size is None:
            self.size = size.strip()[:24]
        if tag == "a" and (href := values.get("href")) is not None and self.anchors < self.max_anchors:
            self.anchors += 1
            self._anchor, self._anchor_chars, self._has_anchor = _Anchor(href[:8192]), 0, True
            self.line.append(self._anchor)

    def handle_endtag(self, tag: str) -> None:
        self._in.discard(tag)
        if tag == "a":
            self._anchor = None
        if tag == "pre":
            self._pre = max(0, self._pre - 1)
        if tag in _BREAK_TAGS:
            self._break()

    def handle_data(self, data: str) -> None:
        if "title" in self._in and self._title_chars < self.TEXT_LIMIT:
            self.title.append(data[:self.TEXT_LIMIT])
            self._title_chars += len(self.title[-1])
        if not self._in.isdisjoint(_HEADINGS) and self._heading_chars < self.TEXT_LIMIT:
            self.heading.append(data[:self.TEXT_LIMIT])
            self._heading_chars += len(self.heading[-1])
        pieces = data.split("\n") if self._pre else [data]
        for i, piece in enumerate(pieces):
            if i:
                self._break()
            if not piece or self._anchor is not None:
                continue  # link texts are not needed: names come from the href
            if self._line_chars < self.LINE_LIMIT:
                self.line.append(piece[:self.LINE_LIMIT])
                self._line_chars += len(self.line[-1])


def _split_url(url: str) -> tuple[str, str, str, str, str] | None:
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return parts.scheme, parts.netloc, parts.path, parts.query, parts.fragment


_PLAIN_NAME_STOP = frozenset(':/?#\\')


def _name_checked(rest: str) -> tuple[str, str | None, bool]:
    is_dir = rest.endswith("/")
    name = unquote(rest[:-1] if is_dir else rest, errors="replace")
    if not name or "/" in name or "\\" in name or "\x00" in name or name in (".", ".."):
        return ("nav" if name in (".", "..") else "other"), None, False
    return "child", name, is_dir


def _classify(href: str, base_url: str) -> tuple[str, str | None, bool, str]:
    """``(kind, name, is_dir, absolute url)``; kind is child / nav / other (pure)."""
    href = href.strip()
    if not href or href.startswith("#"):
        return "nav", None, False, ""
    if href.startswith(("?", "mailto:", "javascript:")):
        return ("nav" if href.startswith("?") else "other"), None, False, ""
    body = href[2:] if href.startswith("./") else href
    if body and body[0] not in "./" and _PLAIN_NAME_STOP.isdisjoint(body.rstrip("/")) and \
            base_url.endswith("/"):  # the common case, a bare relative name: no URL parsing at all
        kind, name, is_dir = _name_checked(body)
        return kind, name, is_dir, base_url + body
    try:
        url = urljoin(base_url, href)
    except ValueError:
        return "other", None, False, ""
    base, target = _split_url(base_url), _split_url(url)
    if base is None or target is None:
        return "other", None, False, ""
    if (target[0], target[1]) != (base[0], base[1]):
        return "other", None, False, ""
    base_path = base[2] if base[2].endswith("/") else base[2] + "/"
    if base_path.startswith(target[2]) or target[2] == base_path:
        return "nav", None, False, ""  # the folder itself, its parent or a breadcrumb above it
    if target[3] or target[4] or not target[2].startswith(base_path):
        return "other", None, False, ""
    kind, name, is_dir = _name_checked(target[2][len(base_path):])
    return kind, name, is_dir, url.split("#", 1)[0]


def _size_from(tokens: list[str]) -> tuple[int | None, bool]:
    """(exact size, says "directory") from a line's words, read from the end (pure)."""
    for token in reversed(tokens):
        low = token.lower()
        if low in ("<dir>", "[dir]"):
            return None, True
        if token.isdecimal() and len(token) <= 20:
            return int(token), False
        digits = token[:-1] if low.endswith("b") and token[:-1].isdecimal() else ""
        if digits:
            return int(digits), False
        if token in ("-", "\u2014", "&mdash;") or _rounded(token):
            return None, False
    return None, False


def _date_from(words: list[str]) -> str | None:
    """The first date-like word (``08-Feb-2018``, ``2018-02-08``, ``1/2/2024``) and a time after it."""
    for i, word in enumerate(words):
        if not (6 <= len(word) <= 12 and ("-" in word or "/" in word)):
            continue
        bare = word.replace("-", "").replace("/", "")  # letters and digits only, at least four digits
        if bare.isalnum() and sum(map(str.isdigit, bare)) >= 4:
            after = words[i + 1] if i + 1 < len(words) else ""
            return f"{word} {after}" if ":" in after and len(after) <= 8 else word
    return None


def _rounded(token: str) -> bool:
    body = token.upper().removesuffix("B").removesuffix("I")
    if not body or body[-1] not in _UNITS:
        return False
    number = body[:-1].replace(",", ".")
    return number.replace(".", "", 1).isdecimal()


def parse_listing(text: str, base_url: str, *, max_entries: int = 1_000_000) -> Listing:
    """Parse one page at ``base_url``; :attr:`Listing.is_listing` says whether it is a directory index.

    Pure and bounded: at most ``max_entries`` links are looked at; never raises.
    """
    if not isinstance(text, str) or not isinstance(base_url, str):
        return Listing(False, (), "not text")
    entries: dict[str, IndexEntry] = {}
    other = 0

    def on_line(line: list[_Anchor | str], data_size: str | None) -> None:
        nonlocal other
        anchors = [(i, a) for i, a in enumerate(line) if isinstance(a, _Anchor)]
        for pos, (i, anchor) in enumerate(anchors):
            kind, name, is_dir, url = _classify(anchor.href, base_url)
            if kind == "other":
                other += 1
            if kind != "child" or name is None:
                continue
            end = anchors[pos + 1][0] if pos + 1 < len(anchors) else len(line)
            start = anchors[pos - 1][0] + 1 if pos else 0
            words = [w for piece in line[start:end] if isinstance(piece, str) for w in piece.split()]
            size, says_dir = _size_from(words)
            if data_size is not None and data_size.isdecimal() and len(anchors) == 1:
                size = int(data_size)
            is_dir = is_dir or says_dir
            if is_dir and not url.endswith("/"):
                url += "/"
            if url not in entries and len(entries) < max_entries:
                entries[url] = IndexEntry(name, url, is_dir, None if is_dir else size, _date_from(words))

    page = _Page(max_entries * 2 + 64, on_line)
    page.feed(text)
    found = tuple(entries.values())
    heading = " ".join(" ".join(page.title + [" "] + page.heading).split()).lower()
    try:
        folder = unquote(urlsplit(base_url).path, errors="replace")
    except ValueError:
        folder = ""
    own = folder.rstrip("/").rsplit("/", 1)[-1].lower()
    names_it = any(w in heading for w in _LISTING_WORDS) or (folder.lower().rstrip("/") or "/") in heading \
        or bool(own and own in heading)
    if not folder.endswith("/"):
        return Listing(False, found, "the page is not a folder (its URL does not end with '/')")
    if not names_it:
        return Listing(False, found, "its title and heading do not name the folder")
    if not found:
        empty = bool(page.anchors) and other == 0
        return Listing(empty, found, "an empty listing" if empty else "no entries")
    if other > len(found):
        return Listing(False, found, f"{other} links elsewhere outnumber {len(found)} entries")
    return Listing(True, found, f"{len(found)} entries")


def parse_autoindex(text: str, base_url: str) -> list[IndexEntry]:
    """Entries of a listing of ``base_url`` (pure, never raises); ``path`` is the entry's name."""
    if not isinstance(text, str) or not isinstance(base_url, str):
        return []
    return list(parse_listing(text, base_url if base_url.endswith("/") else base_url + "/").entries)


def is_autoindex(text: str, base_url: str = "") -> bool:
    """Does this HTML look like a server-generated directory listing?"""
    if not base_url:
        low = text[:8192].lower() if isinstance(text, str) else ""
        return any(f"<title>{w}" in low or f">{w}" in low for w in _LISTING_WORDS)
    return parse_listing(text, base_url).is_listing


# -- fetching -------------------------------------------------------------------------------------

def _text_of(response: httpx.Response, url: str, what: str) -> str:
    try:
        return response.text
    except (UnicodeDecodeError, LookupError) as exc:
        raise RepositoryError(f"{what} at {url} is not text", url=url) from exc


async def _listing(http: Http, url: str, max_entries: int) -> list[IndexEntry]:
    response = await http.request("GET", url, headers={"Accept": "text/html"}, limit=LISTING_BODY_LIMIT)
    raise_for_status(response, not_found=RecordNotFound, what="directory listing")
    final = str(response.url)
    final = final if final.endswith("/") else final + "/"
    found = parse_listing(_text_of(response, url, "directory listing"), final, max_entries=max_entries)
    if not found.is_listing:
        raise NotAListing(f"{response.url} is not a web directory listing ({found.why})", url=str(response.url))
    return list(found.entries)


@dataclass
class CrawlTally:
    """What :func:`walk` went through: listing pages fetched, entries handed on, folders among them."""

    pages: int = 0
    entries: int = 0
    folders: int = 0


async def walk(http: Http, root: str, on_page: Callable[[list[IndexEntry]], Awaitable[None]], *,
               max_dirs: int | None = None, concurrency: int = 8, limits: ListingLimits | None = None,
               first: list[IndexEntry] | None = None, lister: object = None, warnings: list[str] | None = None,
               gate: asyncio.Semaphore | None = None) -> CrawlTally:
    """Every file and folder below ``root`` (recursively, never above it), handed to ``on_page`` one
    listing page at a time (paths relative to ``root``), then dropped.

    Why pages, not one list: a tree of a million files must not be held as a million objects; the
    caller makes each entry final (and compact) as its page arrives. Order is the breadth-first
    order of the old whole-list crawl - level by level, pages in listing order - whatever order
    the pages arrive in: at most ``concurrency`` pages are fetched ahead and held. ``gate``
    (default: ``concurrency`` slots) bounds the requests in flight; a caller that sends its own
    requests from ``on_page`` (``HEAD``, checksum files) shares it, so a host never sees more.

    ``first``: the root's entries when already parsed (the landing page); ``lister``: how one
    folder is listed (default: its HTML page; the WebDAV crawler passes PROPFIND). Limits (depth,
    pages, entries) stop the crawl with a sentence in ``warnings``. Raises :class:`RecordNotFound`
    when ``root`` itself is gone and :class:`NotAListing` when it is not a listing; a sub-folder
    that fails is skipped with a warning.
    """
    limits = limits or LIMITS.get()
    if max_dirs is not None:
        limits = replace(limits, max_pages=max_dirs)
    notes = warnings if warnings is not None else []
    list_one = lister or _listing
    gate = gate or asyncio.Semaphore(max(1, concurrency))
    root = root if root.endswith("/") else root + "/"
    tally = CrawlTally()
    seen = {root}  # folder URLs only: files are never looked up again
    level: list[tuple[str, str]] = [("", root)]
    depth, full = 0, False
    note(http, f"crawl directory listing {root} (limits: depth {limits.max_depth}, pages {limits.max_pages}, "
               f"entries {limits.max_entries})")
    while level and not full:
        budget = limits.max_pages - tally.pages
        if budget <= 0:
            notes.append(f"listing incomplete: stopped after {tally.pages} listing page(s) (--max-pages "
                         f"{limits.max_pages}); {len(level)} folder(s) not listed, e.g. {level[0][0] or '/'}")
            break
        if len(level) > budget:
            notes.append(f"listing incomplete: --max-pages {limits.max_pages} reached; {len(level) - budget} "
                         f"folder(s) not listed, e.g. {level[budget][0]}")
            level = level[:budget]
        remaining = limits.max_entries - tally.entries  # per page, as of the level's start (as before)
        tally.pages += len(level)
        next_level: list[tuple[str, str]] = []
        pages = _pages_in_order(http, level, list_one, remaining, concurrency, root, gate,
                                first if depth == 0 and first is not None else None)
        async with contextlib.aclosing(pages):
            async for prefix, entries in pages:
                if isinstance(entries, BaseException):
                    notes.append(f"listing incomplete: folder {prefix or '/'} could not be listed: {entries}")
                    continue
                kept: list[IndexEntry] = []
                for entry in entries:
                    if not entry.url.startswith(root):
                        continue
                    if tally.entries >= limits.max_entries:
                        notes.append(f"listing incomplete: stopped at {limits.max_entries} entries (--max-entries)")
                        full = True
                        break
                    entry = IndexEntry(prefix + entry.path, entry.url, entry.is_dir, entry.size, entry.modified,
                                       entry.checksums)  # (not dataclasses.replace: 3x the time, per file)
                    kept.append(entry)
                    tally.entries += 1
                    if entry.is_dir:
                        tally.folders += 1
                        if entry.url not in seen:
                            seen.add(entry.url)
                            next_level.append((entry.path + "/", entry.url))
                del entries
                if kept:
                    await on_page(kept)
                if full:
                    break
        depth += 1
        if next_level and depth > limits.max_depth:
            notes.append(f"listing incomplete: {len(next_level)} folder(s) deeper than --max-depth {limits.max_depth} "
                         f"not listed, e.g. {next_level[0][0]}")
            break
        level = next_level
    return tally


async def crawl(http: Http, root: str, *, max_dirs: int | None = None, concurrency: int = 8,
                limits: ListingLimits | None = None, first: list[IndexEntry] | None = None,
                lister: object = None, warnings: list[str] | None = None) -> list[IndexEntry]:
    """:func:`walk`, every entry kept in one list (small trees; tests)."""
    found: list[IndexEntry] = []

    async def keep(entries: list[IndexEntry]) -> None:
        found.extend(entries)

    await walk(http, root, keep, max_dirs=max_dirs, concurrency=concurrency, limits=limits, first=first,
               lister=lister, warnings=warnings)
    return found


async def _pages_in_order(http: Http, level: list[tuple[str, str]], list_one: object, remaining: int,
                          concurrency: int, root: str, gate: asyncio.Semaphore, first: list[IndexEntry] | None,
                          ) -> AsyncIterator[tuple[str, list[IndexEntry] | BaseException]]:
    """``(prefix, entries or the error)`` for each folder of ``level``, in order; fetches run ahead
    of the consumer by at most ``concurrency`` pages (cancelled when the consumer stops)."""

    async def one(index: int, url: str) -> list[IndexEntry] | BaseException:
        if index == 0 and first is not None:
            return first
        async with gate:
            try:
                return await list_one(http, url, remaining)  # type: ignore[operator]
            except Doi2DataError as exc:
                if index == 0 and url == root:
                    raise
                return exc

    ahead: collections.deque[asyncio.Task[list[IndexEntry] | BaseException]] = collections.deque()
    todo = iter(enumerate(level))

    def top_up() -> None:
        while len(ahead) < max(1, concurrency):
            item = next(todo, None)
            if item is None:
                return
            ahead.append(asyncio.ensure_future(one(item[0], item[1][1])))

    try:
        top_up()
        for prefix, _ in level:
            result = await ahead.popleft()
            top_up()
            yield prefix, result
            del result
    finally:
        for task in ahead:
            task.cancel()
        if ahead:
            await asyncio.gather(*ahead, return_exceptions=True)


async def head_size(http: Http, entry: IndexEntry) -> IndexEntry:
    """``entry`` with the size one ``HEAD`` gives (an exact ``Content-Length`` of a 200 without
    ``Content-Encoding``); unchanged when it gives none."""
    try:
        response = await http.request("HEAD", entry.url, stream=True)
    except Doi2DataError:
        return entry
    try:
        length = (response.headers.get("content-length") or "").strip()
        if response.status_code == 200 and length.isdecimal() and not response.headers.get("content-encoding"):
            return replace(entry, size=int(length))
        return entry
    finally:
        await response.aclose()


async def head_sizes(http: Http, entries: list[IndexEntry], concurrency: int = 8,
                     warnings: list[str] | None = None, limit: int = HEAD_LIMIT) -> list[IndexEntry]:
    """Fill in sizes the listing gave only rounded (``7.6M``): one ``HEAD`` per such file, at most
    ``limit`` of them and ``concurrency`` at once. A file ``HEAD`` cannot size stays unknown."""
    notes = warnings if warnings is not None else []
    wanted = [i for i, e in enumerate(entries) if not e.is_dir and e.size is None]
    if not wanted:
        return list(entries)
    note(http, f"HEAD each file whose listed size is rounded or missing ({min(len(wanted), limit)} file(s))")
    if len(wanted) > limit:
        notes.append(f"{len(wanted) - limit} file size(s) unknown: the listing rounds them and only {limit} "
                     "were asked for with HEAD")
    out = list(entries)
    sized_entries = await gather_limited((head_size(http, entries[i]) for i in wanted[:limit]), concurrency)
    for i, entry in zip(wanted, sized_entries):
        out[i] = entry
    unknown = sum(1 for i in wanted[:limit] if out[i].size is None)
    if unknown:
        notes.append(f"{unknown} file size(s) unknown: the listing rounds them (e.g. 4.2M) and HEAD did not say")
    return out


__all__ = ["HEAD_LIMIT", "LIMITS", "LISTING_BODY_LIMIT", "CrawlTally", "IndexEntry", "Listing", "ListingLimits",
           "NotAListing", "crawl", "head_size", "head_sizes", "is_autoindex", "listing_limits", "parse_autoindex",
           "parse_listing", "walk"]
