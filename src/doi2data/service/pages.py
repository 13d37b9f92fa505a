"""The browser face of the gateway: a DOI box, the dataset card, a filterable file table, and
copy-paste commands. Server-rendered Jinja2 (autoescaped) plus one small script, so the page
works without JavaScript for reading and links, and needs no build step or CDN.

Why a strict policy (:data:`PAGE_CSP`): the page shows what a repository wrote (titles, names,
URLs). Autoescaping keeps text text; a repository URL becomes a link only when it is http(s)
(:func:`safe_href`: no ``javascript:``); and the Content-Security-Policy allows only the
gateway's own script file, so an injected inline script would not run anyway. Assets and the
DOI box use root-relative paths, so they are same-origin whatever host the browser used.

Why rows are paged: a 20,000-file dataset would make a multi-megabyte page (a million files, a
browser's end); past :data:`MAX_ROWS` the table shows one page of rows (``?page=N``, with links to
the pages before and after) and the filter box offers a server-side search (``?include=``) over all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape

from .._version import __version__
from ..identifiers import Identifier
from ..model import Dataset, FileEntry, Manifest
from ..sizes import human_size
from .signposting import file_url, license_url

MAX_ROWS = 2000
#: Notes shown on the page (a listing may carry one per odd file); the JSON has all of them.
MAX_NOTES = 20
#: The gateway's own pages: its script and styles files only, no inline script, no plugins,
#: forms only to itself, never framed.
PAGE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
            "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
PAGE_HEADERS = {"Content-Security-Policy": PAGE_CSP}
_PREFERRED = ("sha256", "sha512", "sha1", "md5", "crc32c", "adler32", "crc32")
HERE = Path(__file__).resolve().parent


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(HERE / "templates")), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.globals["version"] = __version__
    return env


@dataclass(frozen=True)
class Row:
    path: str
    href: str
    size: int | None
    size_text: str
    algorithm: str
    digest: str
    access: str
    downloadable: bool


def safe_href(url: str | None) -> str | None:
    """``url`` when it is an absolute http(s) URL without spaces or controls, else None (not a link)."""
    if not url or any(c <= " " or c == "\x7f" for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def root_of(base: str) -> str:
    """The path part of the base URL (the gateway's root path), for same-origin links."""
    return urlsplit(base).path.rstrip("/")


def _checksum(entry: FileEntry) -> tuple[str, str]:
    for name in _PREFERRED:
        if value := entry.checksums.get(name):
            return name, value
    return "", ""


def citation(ident: Identifier, ds: Dataset) -> str:
    """A plain DataCite-style citation: Creators (Year). Title (Version). Publisher. DOI URL."""
    creators = "; ".join(ds.creators[:20]) + ("; et al." if len(ds.creators) > 20 else "")
    parts = [f"{creators} ({ds.year})." if creators and ds.year else (f"{creators}." if creators else "")]
    title = (ds.title or "Untitled").rstrip(".")
    parts.append(f"{title}" + (f" (Version {ds.version})" if ds.version else "") + ".")
    if ds.publisher:
        parts.append(f"{ds.publisher}.")
    if ds.resource_type:
        parts.append(f"{ds.resource_type}.")
    parts.append(ident.url)
    return " ".join(p for p in parts if p)


def render_home(base: str, error: str | None = None, value: str = "", sources: Sequence[str] | None = None) -> str:
    """The start page: the DOI box (in the header) and a search box over ``sources`` (``None``: the default
    source, no choice shown; empty: searching is off, no box)."""
    return environment().get_template("home.html").render(base=base, root=root_of(base), error=error, value=value,
                                                          sources=None if sources is None else list(sources), values={})


def render_search(base: str, *, sources: Sequence[str], values: dict[str, Any], result: dict[str, Any] | None,
                  error: str | None, json_href: str | None = None, command: str | None = None) -> str:
    """``/search`` as a page: the form filled in again, and the hits linking to their dataset pages."""
    rows = []
    for hit in (result or {}).get("hits", []):
        rows.append({**hit, "size_text": human_size(hit["size"]) if hit.get("size") is not None else ""})
    return environment().get_template("search.html").render(
        base=base, root=root_of(base), sources=list(sources), values=values, result=result, rows=rows, error=error,
        json_href=json_href, command=command)


def render_dataset(manifest: Manifest, ident: Identifier, anchor: str, base: str, *, total_files: int | None = None,
                   include: str = "", page: int = 1, again: str = "") -> str:
    """The dataset page (``manifest`` may already be filtered by ``include``/``exclude``): its
    ``page``-th :data:`MAX_ROWS` files; ``again``: the query (without ``page``) its page links keep."""
    ds = manifest.dataset
    rows = []
    count = len(manifest.files)
    pages = max(1, -(-count // MAX_ROWS))
    first = (min(page, pages) - 1) * MAX_ROWS
    for entry in manifest.files[first:first + MAX_ROWS]:
        algorithm, digest = _checksum(entry)
        rows.append(Row(entry.path, file_url(anchor, entry), entry.size, human_size(entry.size), algorithm, digest,
                        entry.access, entry.access == "open" and bool(entry.urls)))
    shown_id = ident.value if ident.is_doi else str(ident)
    context: dict[str, Any] = {
        "ds": ds, "ident": ident, "shown_id": shown_id, "anchor": anchor, "base": base, "root": root_of(base),
        "rows": rows, "landing_url": safe_href(ds.landing_url),
        "file_count": len(manifest.files), "total_files": total_files or len(manifest.files),
        "truncated": len(manifest.files) > MAX_ROWS, "max_rows": MAX_ROWS,
        "page": min(page, pages), "pages": pages, "first_row": first + 1, "last_row": first + len(rows),
        "page_href": lambda n: f"{anchor}?{again + '&' if again else ''}page={n}",
        "total_size": human_size(manifest.total_size), "license_url": safe_href(license_url(ds.license)),
        "citation": citation(ident, ds), "include": include, "warnings": manifest.warnings[:MAX_NOTES],
        "more_warnings": max(0, len(manifest.warnings) - MAX_NOTES),
        "formats": [("JSON", "json"), ("Metalink", "metalink"), ("Linkset", "linkset"), ("CSV", "csv"),
                    ("SHA-256 list", "sha256sum"), ("aria2 input", "aria2")],
    }
    return environment().get_template("dataset.html").render(**context)


__all__ = ["MAX_NOTES", "MAX_ROWS", "PAGE_CSP", "PAGE_HEADERS", "citation", "environment", "render_dataset", "render_home",
           "render_search", "root_of", "safe_href"]
