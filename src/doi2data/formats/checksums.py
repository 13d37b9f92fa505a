"""GNU checksum lists (``sha256sum -c``, ``md5sum -c``, ``sha1sum -c``, ``sha512sum -c``).

One line per file that has the algorithm's digest::

    <lowercase hex><space><space><safe path>

run from the destination directory. Paths are the safe relative paths of
:func:`doi2data.paths.plan_paths`, so a list can never make the checker read outside it. Files
without that digest, or with a refused name, are left out and reported
(:attr:`Export.skipped`).

GNU escaping: a name holding a backslash or a newline is written with ``\\`` -> ``\\\\`` and
newline -> ``\\n``, and the line starts with a backslash. Safe paths never contain either
(``plan_paths`` turns ``\\`` into ``/`` and refuses control characters), so in practice this
only guards :func:`checksum_line` callers.
"""

from __future__ import annotations

from ..errors import UsageError
from ..model import Manifest, normalize_algorithm
from ._common import Export, Placed, Skips, digest, place

#: Algorithms with a GNU coreutils checker, and the tool's name.
TOOLS: dict[str, str] = {"md5": "md5sum", "sha1": "sha1sum", "sha256": "sha256sum", "sha512": "sha512sum"}


def checksum_line(hex_digest: str, path: str) -> str:
    """One ``*sum`` line (with its newline), GNU-escaped when ``path`` needs it."""
    if "\\" in path or "\n" in path:
        escaped = path.replace("\\", "\\\\").replace("\n", "\\n")
        return f"\\{hex_digest}  {escaped}\n"
    return f"{hex_digest}  {path}\n"


def checked_algorithm(name: str) -> str:
    """``sha256sum``/``SHA-256``/... -> ``sha256``; UsageError for an algorithm without a GNU checker."""
    algorithm = normalize_algorithm(name.removesuffix("sum") if name.endswith("sum") else name)
    if algorithm not in TOOLS:
        raise UsageError(f"no checksum list for {name!r}; choose one of: {', '.join(TOOLS)}")
    return algorithm


def build_checksum_list(manifest: Manifest, algorithm: str) -> Export:
    """:func:`to_checksum_list` plus the files left out (no such digest, or unsafe name)."""
    algorithm = checked_algorithm(algorithm)
    placed, skips = place(manifest)
    return skips.export("".join(filter(None, (checksum_entry(item, algorithm, skips) for item in placed))))


def checksum_entry(item: Placed, algorithm: str, skips: Skips) -> str | None:
    """One file's line of the ``algorithm`` list (a checked name: see :func:`checked_algorithm`),
    or None (recorded in ``skips``) when the file has no such digest."""
    value = digest(item.entry, algorithm)
    if value is None:
        skips.add(item.entry.path, f"no {algorithm} checksum")
        return None
    return checksum_line(value, item.local)


def to_checksum_list(manifest: Manifest, algorithm: str) -> str:
    """``md5sum``/``sha1sum``/``sha256sum``/``sha512sum`` text for ``algorithm``.

    ``algorithm`` may be ``sha256``, ``SHA-256`` or ``sha256sum``; anything without a GNU checker
    (adler32, crc32c, ...) raises :class:`~doi2data.errors.UsageError`. Use
    :func:`build_checksum_list` to learn which files were left out.
    """
    return build_checksum_list(manifest, algorithm).text


__all__ = ["TOOLS", "build_checksum_list", "checked_algorithm", "checksum_entry", "checksum_line", "to_checksum_list"]
