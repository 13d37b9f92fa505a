"""Choose files from a manifest: rsync-like globs, regular expressions and size bounds.

Rules (documented in the README, the same for the CLI, the Python API, the gateway and for
members inside archives):

* A pattern without ``/`` matches the file name at any depth: ``*.json`` matches
  ``a.json`` and ``x/y/a.json``.
* A pattern with ``/`` matches the whole relative path from the dataset root; a leading ``/``
  is allowed and means the same. ``*`` and ``?`` never cross ``/``; ``**`` does.
* A pattern that names a directory also selects everything below it (``tmp`` and ``tmp/``
  both select ``tmp/x.json``; a trailing ``/`` matches directories only).
* ``[abc]`` character classes work as in shell globs. Matching is case-sensitive.
* A file is kept when it matches at least one ``include`` (or no includes were given) and no
  ``exclude``: excludes win.

Combining filters (``--include``, ``--regex``, ``--min-size``, ``--max-size``, ``--exclude``):
every *kind* of filter given must agree - they are ANDed; repeats of one kind are ORed. So a file
is kept when

    (no --include, or it matches one)  and  (no --regex, or one matches)
    and  (size >= --min-size)  and  (size <= --max-size)  and  it matches no --exclude.

* ``--regex`` is a Python regular expression searched (``re.search``) in the whole relative
  path, case-sensitively: anchor it yourself (``'^images/.*_000[1-9]\\.cbf$'``).
* Sizes accept units (``500kB``, ``8MiB``, ``2GB``); both bounds are inclusive. A file whose size
  the repository does not give fails any size bound (a bound is a promise about bytes).
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


@lru_cache(maxsize=256)
def compile_regex(pattern: str) -> re.Pattern[str]:
    """Compile a ``--regex`` (``re.search`` over the relative path); bad syntax is a UsageError."""
    if not pattern:
        raise UsageError("invalid regex: empty")
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise UsageError(f"invalid regex {pattern!r}: {exc}") from exc


def _size(value: int | str | None, what: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        from .output import parse_size

        value = parse_size(value)
    if value < 0:
        raise UsageError(f"{what} must not be negative")
    return int(value)


def _as_tuple(v: Iterable[str] | str | None) -> tuple[str, ...]:
    return (v,) if isinstance(v, str) else tuple(v or ())


@dataclass(frozen=True)
class FileFilter:
    """Globs, regexes and size bounds; build once (:meth:`of` validates), apply to any manifest."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    regex: tuple[str, ...] = ()
    min_size: int | None = None
    max_size: int | None = None

    @classmethod
    def of(cls, include: Iterable[str] | str | None = None, exclude: Iterable[str] | str | None = None, *,
           regex: Iterable[str] | str | None = None, min_size: int | str | None = None,
           max_size: int | str | None = None) -> FileFilter:
        built = cls(_as_tuple(include), _as_tuple(exclude), _as_tuple(regex), _size(min_size, "--min-size"),
                    _size(max_size, "--max-size"))
        for p in built.include + built.exclude:
            compile_glob(p)  # fail early with a UsageError
        for r in built.regex:
            compile_regex(r)
        if built.min_size is not None and built.max_size is not None and built.min_size > built.max_size:
            raise UsageError(f"--min-size ({built.min_size}) is larger than --max-size ({built.max_size})")
        return built

    def __call__(self, entry: FileEntry) -> bool:
        return self.keeps(entry.path, entry.size)

    def keeps(self, path: str, size: int | None = None) -> bool:
        """The rule for any named thing with an optional size (manifest files, archive members)."""
        if self.include and not any(matches(path, p) for p in self.include):
            return False
        if self.regex and not any(compile_regex(r).search(path) for r in self.regex):
            return False
        if self.min_size is not None or self.max_size is not None:
            if size is None:
                return False
            if self.min_size is not None and size < self.min_size:
                return False
            if self.max_size is not None and size > self.max_size:
                return False
        return not any(matches(path, p) for p in self.exclude)

    @property
    def active(self) -> bool:
        return bool(self.include or self.exclude or self.regex) or self.min_size is not None \
            or self.max_size is not None


def select(manifest: Manifest, include: Sequence[str] | str | None = None, exclude: Sequence[str] | str | None = None,
           *, regex: Sequence[str] | str | None = None, min_size: int | str | None = None,
           max_size: int | str | None = None) -> Manifest:
    """Return the manifest with only the chosen files (see the module docstring for the rules)."""
    chooser = FileFilter.of(include, exclude, regex=regex, min_size=min_size, max_size=max_size)
    if not chooser.active:
        return manifest
    return manifest.with_files(f for f in manifest.files if chooser(f))


__all__ = ["FileFilter", "compile_glob", "compile_regex", "matches", "select"]
