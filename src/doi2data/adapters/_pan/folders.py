"""A published web folder -> manifest entries: crawl, exact sizes, and the checksum files inside.

Why shared: PSI dataset folders and any plain ``https://host/path/`` listing are the same thing
to download - an autoindex tree, possibly carrying PSI's ``__checksum_filename_N__`` sha1
inventory (:mod:`.checksumfile`). Every file's sha1 from those lists goes into the manifest, so
the transfer engine verifies it like any repository checksum; files the lists do not cover, and
list lines naming files that are not there, are reported.
"""

from __future__ import annotations

from urllib.parse import unquote

from ...http import Http
from ...model import FileEntry
from .autoindex import IndexEntry, crawl, head_sizes
from .checksumfile import CHECKSUM_FILE, ChecksumList, lookup, parse_checksum_file
from .net import gather_limited, get_text, note


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


async def folder_manifest(http: Http, url: str, name: str | None, *, require_checksums: bool = True
                          ) -> tuple[list[FileEntry], list[str]]:
    """Files below the listing at ``url`` as entries ``<name>/<relative path>`` (``name`` None: no prefix).

    Raises :class:`~doi2data.errors.RecordNotFound` when the folder is gone and
    :class:`~.autoindex.NotAListing` when ``url`` is not a directory listing.
    """
    label = name or url
    files = await head_sizes(http, [e for e in await crawl(http, url) if not e.is_dir])
    sums, warnings = await folder_checksums(http, [e for e in files if CHECKSUM_FILE.match(e.path)], label)
    if not sums.digests and require_checksums:
        warnings.append(f"{label}: no usable __checksum_filename_N__ file; files are checked by size only")
    own = unquote(url.rstrip("/").rsplit("/", 1)[-1])  # some lists name paths from the parent folder
    out, unverified = [], []
    for entry in files:
        digest = (lookup(sums, entry.path) or lookup(sums, f"{own}/{entry.path}")) if sums.digests else None
        if digest is None and not CHECKSUM_FILE.match(entry.path):
            unverified.append(entry.path)
        path = f"{name}/{entry.path}" if name else entry.path
        out.append(FileEntry(path, entry.size, {sums.algorithm: digest} if digest else {}, (entry.url,)))
    if sums.digests and unverified:
        warnings.append(f"{label}: {len(unverified)} file(s) missing from the checksum file(s), e.g. "
                        f"{unverified[0]!r}: checked by size only")
    listed = {e.path.rstrip() for e in files}
    missing = [p for p in sums.digests if p.rstrip() not in listed and p.rstrip().removeprefix(own + "/") not in listed]
    if missing:
        warnings.append(f"{label}: {len(missing)} file(s) named in the checksum file(s) are not in the folder, "
                        f"e.g. {missing[0]!r}")
    return out, warnings


__all__ = ["folder_checksums", "folder_manifest"]
