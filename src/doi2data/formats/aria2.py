"""Hand-offs to download tools: a plain URL list and an aria2 input file (``aria2c -i``).

aria2 input file shape (one entry per file; the URL line holds every mirror, tab-separated;
option lines start with two spaces)::

    https://host/a%20b.txt<TAB>https://mirror/a%20b.txt
      out=data/a b.txt
      checksum=sha-256=<hex>
      dir=/dest                 (only when a directory is given)

``out=`` is the safe path from :func:`doi2data.paths.plan_paths` (relative to ``dir``);
``checksum=`` carries the strongest of sha-512, sha-256, sha-1, md5 (aria2's order) and is
absent when the file has none of them. URLs are written as URIs (spaces and non-ASCII
percent-encoded) so that each fits on its line.
"""

from __future__ import annotations

from ..errors import UsageError
from ..model import FileEntry, Manifest
from ._common import Export, Placed, digest, place, uri
from .metalink import IANA_HASH_NAMES


def build_urls(manifest: Manifest, *, include_restricted: bool = False) -> Export:
    """:func:`to_urls` plus the files left out (no URL; access not open unless included)."""
    placed, skips = place(manifest, need_url=True, include_restricted=include_restricted)
    return skips.export("".join(map(url_line, placed)))


def url_line(item: Placed) -> str:
    """One file's line of :func:`to_urls` (with its newline)."""
    return uri(item.entry.urls[0]) + "\n"


def to_urls(manifest: Manifest, *, include_restricted: bool = False) -> str:
    """The first URL of every downloadable file, one per line (for ``wget -i``).

    Entries with unsafe names are left out too, so the list matches the other hand-offs.
    """
    return build_urls(manifest, include_restricted=include_restricted).text


def _strongest(entry: FileEntry) -> str | None:
    """``sha-256=<hex>`` for the strongest hash aria2 knows, or None."""
    for algorithm, iana in IANA_HASH_NAMES.items():
        if value := digest(entry, algorithm):
            return f"{iana}={value}"
    return None


def check_directory(directory: str | None) -> None:
    if directory is not None and (not directory or any(c in directory for c in "\r\n\x00")):
        raise UsageError(f"not a usable directory for aria2: {directory!r}")


def aria2_entry(item: Placed, directory: str | None = None) -> tuple[str, bool]:
    """One file's lines of :func:`to_aria2` (with their newlines), and whether a checksum is in them."""
    lines = ["\t".join(uri(u) for u in item.entry.urls), f"  out={item.local}"]
    strongest = _strongest(item.entry)
    if strongest:
        lines.append(f"  checksum={strongest}")
    if directory is not None:
        lines.append(f"  dir={directory}")
    return "".join(line + "\n" for line in lines), strongest is not None


def unhashed_note(count: int) -> str:
    return f"{count} file(s) have no md5/sha-1/sha-256/sha-512: aria2 cannot verify them"


def build_aria2(manifest: Manifest, *, directory: str | None = None, include_restricted: bool = False) -> Export:
    """:func:`to_aria2` plus the files left out and notes."""
    check_directory(directory)
    placed, skips = place(manifest, need_url=True, include_restricted=include_restricted)
    parts: list[str] = []
    unhashed = 0
    for item in placed:
        text, hashed = aria2_entry(item, directory)
        parts.append(text)
        unhashed += not hashed
    if unhashed:
        skips.notes.append(unhashed_note(unhashed))
    return skips.export("".join(parts))


def to_aria2(manifest: Manifest, *, directory: str | None = None, include_restricted: bool = False) -> str:
    """aria2 input file (see the module docstring); ``directory`` adds ``dir=`` to each entry."""
    return build_aria2(manifest, directory=directory, include_restricted=include_restricted).text


__all__ = ["aria2_entry", "build_aria2", "build_urls", "check_directory", "to_aria2", "to_urls", "unhashed_note",
           "url_line"]
