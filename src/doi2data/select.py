"""Choose files from a manifest with rsync-like globs.

Rules (documented in the README, the same for the CLI, the Python API and the gateway):

* A pattern without ``/`` matches the file name at any depth: ``*.json`` matches
  ``a.json`` and ``x/y/a.json``.
* A pattern with ``/`` matches the whole relative path from the dataset root; a leading ``/``
  is allowed and means the same. ``*`` and ``?`` never cross ``/``; ``**`` does.
* A pattern that names a directory also selects everything below it (``tmp`` and ``tmp/``
  both select ``tmp/x.json``; a trailing ``/`` matches directories only).
* ``[abc]`` character classes work as in shell globs. Matching is case-sensitive.
* A file is kept when it matches at least one ``include`` (or no includes were given) and no
  ``exclude``: excludes win.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from .errors import UsageError
from .model import FileEntry, Manifest


@lru_cache(maxsize=256)
def compile_glob(pattern: str) -> re.Pattern[str]:
    """Compile one rsync-like pattern to a regex over the relative path."""
    if not pattern or pattern.strip() != pattern:
        raise UsageError(f"invalid pattern {pattern!r}: empty or surrounded by spaces")
    body = pattern.lstrip("/")
    anchored = "/" in pattern.rstrip("/")
    directory = body.endswith("/")
    body = body.rstrip("/")
    out: list[str] = []
    i = 0
    while i < len(body):
        c = body[i]
        if body.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif body.startswith("**", i):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[":
            end = body.find("]", i + 2 if body[i + 1 : i + 2] in ("!", "]") else i + 1)
            if end == -1:
                raise UsageError(f"invalid pattern {pattern!r}: unclosed '['")
            cls = body[i + 1 : end]
            cls = "^" + cls[1:] if cls.startswith("!") else cls
            out.append(f"[{cls.replace(chr(92), chr(92) * 2)}]")
            i = end + 1
        else:
            out.append(re.escape(c))
            i += 1
    core = "".join(out)
    prefix = "" if anchored else "(?:.*/)?"
    suffix = "/.*" if directory else "(?:/.*)?"
    try:
        return re.compile(f"^{prefix}{core}{suffix}$", re.DOTALL)
    except re.error as exc:
        raise UsageError(f"invalid pattern {pattern!r}: {exc}") from exc


def matches(path: str, pattern: str) -> bool:
    return compile_glob(pattern).match(path) is not None


@dataclass(frozen=True)
class FileFilter:
    """Include/exclude globs; build once, apply to any manifest."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    @classmethod
    def of(cls, include: Iterable[str] | str | None = None, exclude: Iterable[str] | str | None = None) -> FileFilter:
        def as_tuple(v: Iterable[str] | str | None) -> tuple[str, ...]:
            return (v,) if isinstance(v, str) else tuple(v or ())

        built = cls(as_tuple(include), as_tuple(exclude))
        for p in built.include + built.exclude:
            compile_glob(p)  # fail early with a UsageError
        return built

    def __call__(self, entry: FileEntry) -> bool:
        path = entry.path
        if self.include and not any(matches(path, p) for p in self.include):
            return False
        return not any(matches(path, p) for p in self.exclude)

    @property
    def active(self) -> bool:
        return bool(self.include or self.exclude)


def select(manifest: Manifest, include: Sequence[str] | str | None = None, exclude: Sequence[str] | str | None = None) -> Manifest:
    """Return the manifest with only the chosen files."""
    chooser = FileFilter.of(include, exclude)
    if not chooser.active:
        return manifest
    return manifest.with_files(f for f in manifest.files if chooser(f))


__all__ = ["FileFilter", "compile_glob", "matches", "select"]
