"""A published web folder -> manifest entries: crawl, exact sizes, and the checksum files inside.

Why shared: PSI dataset folders, a typed ``https://host/path/`` and a DOI that lands on a web
folder are the same thing to download - a listing tree (HTML, or WebDAV ``PROPFIND`` first where
the caller asks), possibly carrying checksum files. Two kinds are read:

* PSI's ``__checksum_filename_N__`` sha1 inventory (:mod:`.checksumfile`);
* sidecars as ``md5sum``/``sha256sum`` write them (GNU ``<hex>  <name>`` / ``<hex> *<name>``, BSD
  ``SHA256 (<name>) = <hex>``): ``MD5SUMS``, ``SHA1SUMS``, ``SHA256SUMS``, ``SHA512SUMS`` (names
  relative to the sidecar's folder) and ``<file>.md5`` / ``.sha1`` / ``.sha256`` / ``.sha512``
  (for ``<file>`` next to it; a bare digest is enough).

Every digest found goes into the manifest, so the transfer engine verifies it like any repository
checksum; files no list covers, and list lines naming files that are not there, are reported.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote

from ...entry import FileEntry, normalize_digest
from ...errors import Doi2DataError
from ...http import Http, raise_for_status
from .autoindex import IndexEntry, ListingLimits, crawl, head_sizes
from .checksumfile import CHECKSUM_FILE, ChecksumList, lookup, parse_checksum_file
from .net import gather_limited, get_text, note

#: Sidecar file names (upper-cased) -> algorithm; and suffixes of per-file sidecars.
SUMS_FILES = {"MD5SUMS": "md5", "MD5SUM": "md5", "SHA1SUMS": "sha1", "SHA1SUM": "sha1", "SHA256SUMS": "sha256",
              "SHA256SUM": "sha256", "SHA512SUMS": "sha512", "SHA512SUM": "sha512"}
SIDECAR_SUFFIXES = {".md5": "md5", ".sha1": "sha1", ".sha256": "sha256", ".sha512": "sha512"}
MAX_SIDECARS = 2000          # sidecar files fetched at most (each is one request)
SIDECAR_LIMIT = 64 * 1024 * 1024
_BSD_NAMES = {"MD5": "md5", "SHA1": "sha1", "SHA256": "sha256", "SHA512": "sha512"}


def sidecar_algorithm(path: str) -> str | None:
    """``data/SHA256SUMS`` -> ``sha256``; ``x.bin.md5`` -> ``md5``; other names -> ``None`` (pure)."""
    name = path.rsplit("/", 1)[-1]
    if name.upper() in SUMS_FILES:
        return SUMS_FILES[name.upper()]
    dot = name.rfind(".")
    return SIDECAR_SUFFIXES.get(name[dot:].lower()) if dot > 0 else None


def parse_sums(text: str, algorithm: str, *, single: str | None = None) -> tuple[dict[str, str], list[str]]:
    """``{name: hex}`` from ``md5sum``-style text (GNU or BSD lines), and problems (pure, linear).

    ``single``: the file a per-file sidecar (``x.bin.md5``) stands for - a bare digest names it.
    """
    found: dict[str, str] = {}
    problems: list[str] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name: str | None
        head, sep, tail = line.partition(" (")
        if sep and head.upper() in _BSD_NAMES and ") = " in tail:
            name, _, value = tail.rpartition(") = ")
        else:
            value, _, rest = line.partition(" ")
            name = rest[1:] if rest.startswith(("*", " ")) else rest
            if value.startswith("\\"):  # GNU escapes names holding a newline or backslash
                value = value[1:]
            name = name or single
        digest = normalize_digest(algorithm, value)
        if digest is None or len(value.strip()) != len(digest):
            problems.append(f"line {number}: not a {algorithm} digest")
            continue
        if not name:
            problems.append(f"line {number}: no file name")
            continue
        while name.startswith("./"):
            name = name[2:]
        found.setdefault(name, digest)
    return found, problems


@dataclass
class _Sums:
    digests: dict[str, dict[str, str]]  # path relative to the crawl root -> {algorithm: hex}
    sources: set[str]
    problems: list[str]


async def sidecar_checksums(http: Http, files: list[IndexEntry], label: str) -> _Sums:
    """Fetch the ``*SUMS`` and ``*.md5``-style sidecars among ``files`` (at most :data:`MAX_SIDECARS`)."""
    sidecars = [(e, a) for e in files if (a := sidecar_algorithm(e.path))]
    out = _Sums({}, set(), [])
    if not sidecars:
        return out
    if len(sidecars) > MAX_SIDECARS:
        out.problems.append(f"{label}: {len(sidecars)} checksum sidecars; only the first {MAX_SIDECARS} were read")
        sidecars = sidecars[:MAX_SIDECARS]
    note(http, f"{len(sidecars)} checksum sidecar file(s) in {label}")

    async def fetch(entry: IndexEntry) -> str | Doi2DataError:
        try:
            response = await http.request("GET", entry.url, limit=SIDECAR_LIMIT)
            raise_for_status(response, what="checksum file")
            return response.content.decode("utf-8", errors="replace")
        except Doi2DataError as exc:
            return exc

    texts = await gather_limited((fetch(e) for e, _ in sidecars), 8)
    for (entry, algorithm), text in zip(sidecars, texts):
        if isinstance(text, Doi2DataError):
            out.problems.append(f"{label}: checksum file {entry.path} unreadable: {text}")
            continue
        folder, _, name = entry.path.rpartition("/")
        single = None if name.upper() in SUMS_FILES else name[: name.rfind(".")]
        found, problems = parse_sums(text, algorithm, single=single)
        out.problems += [f"{label}: {entry.path}: {p}" for p in problems[:3]]
        for rel, digest in found.items():
            if single is not None and rel.rsplit("/", 1)[-1] != single:
                rel = single  # a per-file sidecar names only its own file, whatever path it wrote
            path = f"{folder}/{rel}" if folder else rel
            out.digests.setdefault(path, {}).setdefault(algorithm, digest)
        out.sources.add(entry.path)
    return out


async def folder_checksums(http: Http, found: list[IndexEntry], label: str) -> tuple[ChecksumList, list[str]]:
    """Fetch and merge every ``__checksum_filename_N__`` of a folder (``found``: those entries)."""
    if not found:
        return ChecksumList(), []
    note(http, f"{len(found)} checksum file(s) in {label}")
    texts = await gather_limited((get_text(http, e.url, what="checksum file") for e in found), 4)
    merged = ChecksumList()
    for text, _ in texts:
        merged = merged.merged(parse_checksum_file(text))
    problems = [f"{label}: checksum file: {p}" for p in merged.problems[:5]]
    if len(merged.problems) > 5:
        problems.append(f"{label}: {len(merged.problems) - 5} more checksum-file problem(s)")
    return merged, problems


def _checksum_like(path: str) -> bool:
    return bool(CHECKSUM_FILE.match(path.rsplit("/", 1)[-1])) or sidecar_algorithm(path) is not None


async def folder_manifest(http: Http, url: str, name: str | None, *, require_checksums: bool = True,
                          limits: ListingLimits | None = None, entries: Iterable[IndexEntry] | None = None,
                          crawl_warnings: Iterable[str] = ()) -> tuple[list[FileEntry], list[str]]:
    """Files below the listing at ``url`` as entries ``<name>/<relative path>`` (``name`` None: no prefix).

    ``entries``: the crawl already done (e.g. over WebDAV); else the HTML listing is crawled.
    Raises :class:`~doi2data.errors.RecordNotFound` when the folder is gone and
    :class:`~.autoindex.NotAListing` when ``url`` is not a directory listing.
    """
    label = name or url
    warnings: list[str] = list(crawl_warnings)
    found = list(entries) if entries is not None else await crawl(http, url, limits=limits, warnings=warnings)
    files = await head_sizes(http, [e for e in found if not e.is_dir], warnings=warnings)
    sums, problems = await folder_checksums(http, [e for e in files if CHECKSUM_FILE.match(e.path)], label)
    warnings += problems
    side = await sidecar_checksums(http, files, label)
    warnings += side.problems
    if not sums.digests and not side.digests and require_checksums:
        warnings.append(f"{label}: no usable __checksum_filename_N__ file; files are checked by size only")
    own = unquote(url.rstrip("/").rsplit("/", 1)[-1])  # some lists name paths from the parent folder
    out, unverified = [], []
    for entry in files:
        checksums = dict(entry.checksums)
        digest = (lookup(sums, entry.path) or lookup(sums, f"{own}/{entry.path}")) if sums.digests else None
        if digest:
            checksums.setdefault(sums.algorithm, digest)
        for algorithm, value in side.digests.get(entry.path, {}).items():
            checksums.setdefault(algorithm, value)
        if not checksums and not _checksum_like(entry.path):
            unverified.append(entry.path)
        path = f"{name}/{entry.path}" if name else entry.path
        out.append(FileEntry(path, entry.size, checksums, (entry.url,)))
    if (sums.digests or side.digests) and unverified:
        warnings.append(f"{label}: {len(unverified)} file(s) missing from the checksum file(s), e.g. "
                        f"{unverified[0]!r}: checked by size only")
    elif unverified and not require_checksums:
        warnings.append(f"{label}: no checksum file (MD5SUMS, SHA256SUMS, *.md5, ...) covers the {len(unverified)} "
                        "file(s): checked by size only")
    if any(w.startswith("listing incomplete") for w in warnings):
        return out, warnings  # files "missing" from a truncated listing are expected, not news
    listed = {e.path.rstrip() for e in files}
    missing = [p for p in sums.digests if p.rstrip() not in listed and p.rstrip().removeprefix(own + "/") not in listed]
    missing += [p for p in side.digests if p not in listed]
    if missing:
        warnings.append(f"{label}: {len(missing)} file(s) named in the checksum file(s) are not in the folder, "
                        f"e.g. {missing[0]!r}")
    return out, warnings


__all__ = ["MAX_SIDECARS", "SIDECAR_SUFFIXES", "SUMS_FILES", "folder_checksums", "folder_manifest", "parse_sums",
           "sidecar_algorithm", "sidecar_checksums"]
