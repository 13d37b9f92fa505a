"""Shared pieces of the exporters: the :class:`Export` result, safe placement, URL and XML hygiene.

Every format that names local files places them through :func:`place`, which runs
:func:`doi2data.paths.plan_paths` over the *whole* manifest in order - exactly what the download
engine does - so a name in a Metalink, an aria2 input file or a ``sha256sum`` list is the same
safe relative path the engine would write, and can never point outside the destination.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote

from ..model import FileEntry, Manifest, normalize_algorithm, normalize_digest
from ..errors import UnsafePath
from ..paths import PathPlanner, safe_relpath


@dataclass(frozen=True)
class Export:
    """A rendered format: ``text``, the manifest ``path``s left out, and one-line notes why."""

    text: str
    skipped: tuple[str, ...] = ()
    messages: tuple[str, ...] = ()


@dataclass(frozen=True)
class Placed:
    """A manifest entry that made it into an output, with its safe relative ``local`` path."""

    entry: FileEntry
    local: str


class Skips:
    """Collects left-out entries by reason and summarises them as a few readable lines."""

    def __init__(self, messages: Iterable[str] = ()) -> None:
        self.paths: list[str] = []
        self.by_reason: dict[str, list[str]] = {}
        self.notes: list[str] = list(messages)

    def add(self, path: str, reason: str | None) -> None:
        """Record a left-out path; ``reason=None`` when a message already explains it."""
        self.paths.append(path)
        if reason is not None:
            self.by_reason.setdefault(reason, []).append(path)

    def export(self, text: str) -> Export:
        lines = list(self.notes)
        for reason, paths in self.by_reason.items():
            shown = ", ".join(repr(p) for p in paths[:5]) + (", ..." if len(paths) > 5 else "")
            lines.append(f"left out {len(paths)} file(s) ({reason}): {shown}")
        return Export(text, tuple(self.paths), tuple(lines))


class Placer:
    """:func:`place` one entry at a time (a listing printed as it streams in): the same rules,
    the same safe local names for the same names in the same order."""

    def __init__(self, *, need_url: bool = False, include_restricted: bool = True) -> None:
        self.planner = PathPlanner()
        self.skips = Skips()  # its notes: what was refused or renamed, in order, as plan_paths says it
        self.need_url, self.include_restricted = need_url, include_restricted
        self.clashes = 0  # names renamed because an earlier name took theirs (depends on the order)

    def __call__(self, entry: FileEntry) -> Placed | None:
        """``entry`` with its safe local path, or None when it is left out (``skips`` says why)."""
        try:
            local, reason = self.planner.plan(entry.path)
        except UnsafePath as exc:
            self.skips.notes.append(str(exc))
            self.skips.add(entry.path, None)  # the note says why
            return None
        if reason:
            self.skips.notes.append(f"renamed {entry.path!r} -> {local!r}: {reason}")
            self.clashes += local != safe_relpath(entry.path)[0]
        if safe_relpath_or_none(local) != local:
            self.skips.add(entry.path, "name still unsafe after cleaning, e.g. a drive letter")
        elif self.need_url and not entry.urls:
            self.skips.add(entry.path, "no download URL")
        elif self.need_url and not self.include_restricted and entry.access != "open":
            self.skips.add(entry.path, "access is not open")
        else:
            return Placed(entry, local)
        return None


def place(
    manifest: Manifest, *, need_url: bool = False, include_restricted: bool = True
) -> tuple[list[Placed], Skips]:
    """Safe local paths for the entries an output can use; the rest are recorded in ``Skips``.

    Refused names (``..``, control characters) are always left out. With ``need_url`` entries
    without a URL are left out, and - unless ``include_restricted`` - so are entries whose
    access is not ``open`` (the download engine skips those too).
    """
    placer = Placer(need_url=need_url, include_restricted=include_restricted)
    placed = [item for item in map(placer, manifest.files) if item is not None]
    return placed, placer.skips


def safe_relpath_or_none(local: str) -> str | None:
    """Defence in depth: a planned path must come back unchanged from another cleaning pass
    (an exported list may be read on Windows, where a leftover drive letter would matter)."""
    try:
        cleaned, reason = safe_relpath(local)
    except UnsafePath:
        return None
    return cleaned if reason is None else None


def digest(entry: FileEntry, algorithm: str) -> str | None:
    """The entry's ``algorithm`` digest as lowercase hex, or None if absent or malformed."""
    for name, value in entry.checksums.items():
        if normalize_algorithm(name) == algorithm:
            return normalize_digest(algorithm, value)
    return None


# Reserved and unreserved URI characters (RFC 3986) plus '%', so existing escapes survive.
_URI_SAFE = "!#$%&'()*+,/:;=?@[]~-._"


def uri(url: str) -> str:
    """Turn an IRI into a URI that fits on one line: whitespace, controls, non-ASCII -> ``%XX``.

    >>> uri("https://h/données/a b.txt")
    'https://h/donn%C3%A9es/a%20b.txt'
    """
    return quote(url.strip(), safe=_URI_SAFE, errors="replace")


_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(value: str) -> str:
    """Drop characters XML 1.0 cannot carry (a stray control character in a title, say)."""
    return _XML_INVALID.sub("", value)
