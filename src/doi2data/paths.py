"""Turn repository file names into safe relative paths inside a destination.

File names come from servers and are not to be trusted (repoproviders' Zenodo fetcher FIXME;
zip-slip). Whatever a repository sends, nothing may be written outside the destination:

* ``..`` components, NUL and other control characters are refused (the file is skipped and
  reported);
* so is any component that names doi2data's own folder (:data:`STATE_DIR`, where download state
  and part files live): in any case, any Unicode compatibility form, with the trailing dots and
  spaces or ``:stream`` suffix Windows ignores, or as its 8.3 short name ``DOI2DA~1``; at any depth,
  because a sub-folder of one destination may be another run's destination;
* absolute paths (``/x``), drive letters (``C:``) and backslash separators are rewritten to
  plain relative paths, and reported as renamed;
* empty and ``.`` components are dropped;
* two entries that land on the same path - exactly, or differing only in case, which clashes
  on macOS and Windows file systems - or a file whose path is also another file's directory,
  are renamed with a ``~N`` suffix and reported.

:func:`plan_paths` is pure; :func:`inside` is the last check at write time (it also resolves
symlinks already present in the destination).
"""

from __future__ import annotations

import errno
import os
import re
import stat
import unicodedata
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .errors import UnsafePath

_DRIVE_RE = re.compile(r"^[A-Za-z]:")
#: Unicode category Cc is exactly these 65 code points (fixed by the standard): one C-level scan
#: instead of a category lookup per character (planning 1,000,000 names).
_CONTROL_RE = re.compile("[\x00-\x1f\x7f-\x9f]")
_MAX_COMPONENT = 255
#: a name :func:`safe_relpath` keeps as it is: ASCII components that do not start with "." (so no
#: "." or ".." and not doi2data's own folder), no "~" (its 8.3 alias), ":" or "\\", nothing empty.
#: Each repetition starts at a "/" the classes exclude, so matching cannot backtrack.
_SIMPLE_RE = re.compile(r"[A-Za-z0-9_+-][A-Za-z0-9_.+-]*(?:/[A-Za-z0-9_+-][A-Za-z0-9_.+-]*)*")
#: doi2data's own folder inside every destination (state database, part files).
STATE_DIR = ".doi2data"
_SHORT_PREFIX = "doi2da~"  # Windows 8.3 alias of ".doi2data" ("DOI2DA~1")


def is_own_folder(component: str) -> bool:
    """True when ``component`` would open doi2data's own folder on some file system.

    Folded the ways file systems fold names: case (macOS, Windows), Unicode forms (macOS
    normalises; NFKC also catches full-width look-alikes), trailing dots and spaces and an
    NTFS ``:stream`` suffix (Windows drops or resolves them), the 8.3 short name.
    """
    if component.isascii() and "doi2d" not in component.lower():
        return False  # the usual case, cheaply (planning 20,000 names checks 60,000 components)
    name = component.split(":", 1)[0]
    if not name.isascii():
        name = unicodedata.normalize("NFKC", name)
    name = name.rstrip(". ").casefold()
    if not name.isascii():
        name = unicodedata.normalize("NFKC", name)
    if name == STATE_DIR:
        return True
    return name.startswith(_SHORT_PREFIX) and name[len(_SHORT_PREFIX):].isdigit()


@dataclass(frozen=True)
class PathPlan:
    """Where one manifest entry goes: ``local`` is relative, POSIX, safe; ``reason`` if changed."""

    source: str
    local: str
    reason: str | None = None


def _mentions_own_folder(path: str) -> bool:
    """Cheap pre-test for a whole path: only these can hold a component :func:`is_own_folder` accepts."""
    return not path.isascii() or "doi2d" in path.lower()


def safe_relpath(name: str) -> tuple[str, str | None]:
    """Return ``(safe relative path, reason it differs or None)``; raise :class:`UnsafePath`.

    >>> safe_relpath("data/a.txt")
    ('data/a.txt', None)
    >>> safe_relpath("/etc/passwd")[0]
    'etc/passwd'
    """
    if len(name) <= _MAX_COMPONENT and _SIMPLE_RE.fullmatch(name):
        return name, None  # the usual name, cheaply (planning 1,000,000 of them)
    if not name or _CONTROL_RE.search(name):
        raise UnsafePath(f"refused unsafe file name {name!r}: empty or contains control characters")
    reasons = []
    text = name
    if "\\" in text:
        text = text.replace("\\", "/")
        reasons.append("backslashes turned into '/'")
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if text.startswith("/"):
        reasons.append("made relative")
    while parts and _DRIVE_RE.match(parts[0]):  # "C:", "/C:/x", "C:foo" -> drop the drive
        rest = parts[0][2:]
        parts = ([rest] if rest not in ("", ".") else []) + parts[1:]
        reasons.append("drive letter removed")
    if any(p == ".." for p in parts):
        raise UnsafePath(f"refused unsafe file name {name!r}: contains '..'")
    if _mentions_own_folder(text) and any(is_own_folder(p) for p in parts):
        raise UnsafePath(f"refused unsafe file name {name!r}: inside doi2data's own folder {STATE_DIR}")
    if not parts:
        raise UnsafePath(f"refused unsafe file name {name!r}: no file name left")
    if any(len(p.encode()) > _MAX_COMPONENT for p in parts):
        raise UnsafePath(f"refused file name {name!r}: a component is longer than 255 bytes")
    local = "/".join(parts)
    if local == name:
        local = name  # the caller's own string: a million planned names need no second copy
    elif not reasons:
        reasons.append("empty or '.' components removed")
    return local, ("; ".join(reasons) or None)


def _with_suffix(path: str, n: int) -> str:
    pure = PurePosixPath(path)
    stem, suffix = pure.stem, pure.suffix
    name = f"{stem}~{n}{suffix}" if stem else f"{pure.name}~{n}"
    return str(pure.with_name(name))


class PathPlanner:
    """:func:`plan_paths` one name at a time, for a caller that streams a manifest.

    It remembers every planned path (case-folded, to catch clashes), and nothing else per file:
    a name that is already case-folded is kept as the caller's own string, so at 1,000,000 files the
    planner costs about 16 bytes per file (:class:`FoldedNames`). Each folder's parents are checked against the files
    once, when the folder is first seen (a folder already known has no file among its parents).
    """

    __slots__ = ("dirs", "taken")

    def __init__(self) -> None:
        self.taken = FoldedNames()  # case-folded file paths
        self.dirs: set[str] = set()   # case-folded folder paths (closed under parents; never in ``taken``)

    def plan(self, name: str) -> tuple[str, str | None]:
        """``(local, reason it differs or None)`` for the next name; raise :class:`UnsafePath`."""
        local, reason = safe_relpath(name)
        candidate, n = local, 1
        folded = _folded(candidate)
        while (clash := self._first_clash(folded)) is not None:
            n += 1
            parts = local.split("/")
            if clash == len(parts) - 1:
                candidate = _with_suffix(local, n)
            else:  # a parent directory would be a file already written: rename the directory
                parts[clash] = f"{parts[clash]}~{n}"
                candidate = "/".join(parts)
            folded = _folded(candidate)
        if candidate != local:
            reason = "; ".join(filter(None, [reason, "name clashes with another file (case-insensitively)"]))
        self.taken.add(folded)
        head = folded.rpartition("/")[0]
        while head and head not in self.dirs:
            self.dirs.add(head)
            head = head.rpartition("/")[0]
        return candidate, reason

    def _first_clash(self, folded: str) -> int | None:
        """Index of the first component of ``folded`` (a case-folded candidate) that collides, or None."""
        head = folded.rpartition("/")[0]
        if head and head not in self.dirs:  # a new folder: is one of its parents a file?
            parts = folded.split("/")
            for i in range(len(parts) - 1):
                if "/".join(parts[: i + 1]) in self.taken:
                    return i
        if folded in self.taken or folded in self.dirs:
            return folded.count("/")
        return None


class FoldedNames:
    """A set of strings in about 16 bytes per name instead of a ``set``'s 32 to 48: the names in a
    list, an open-addressing table of 4-byte list positions (linear probing, at most half full).

    Why: the planner remembers every planned path of a manifest; at 1,000,000 files a ``set``'s
    table alone was 33 MB of the 300 MB a run may take. Only ``in`` and :meth:`add` are needed.
    """

    __slots__ = ("_last", "_mask", "_names", "_slots")

    def __init__(self) -> None:
        self._names: list[str] = []
        self._slots = array("i", bytes(4 * 1024))  # 0: empty, else a position in _names + 1
        self._mask = 1023
        self._last: tuple[str | None, int] = (None, 0)  # the last name looked up and its slot: ``add`` after ``in``

    def __len__(self) -> int:
        return len(self._names)

    def _find(self, name: str) -> int:
        """The slot holding ``name``, or the empty slot where it would go."""
        slots, names, mask = self._slots, self._names, self._mask
        at = hash(name) & mask
        while (held := slots[at]) and names[held - 1] != name:
            at = (at + 1) & mask
        return at

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        at = self._find(name)
        self._last = (name, at)
        return self._slots[at] != 0

    def add(self, name: str) -> None:
        last, at = self._last
        if last is not name:
            at = self._find(name)
        self._last = (None, 0)
        if self._slots[at]:
            return
        self._names.append(name)
        self._slots[at] = len(self._names)
        if 2 * len(self._names) > self._mask:
            self._grow()

    def _grow(self) -> None:
        size = 2 * (self._mask + 1)
        slots, mask = array("i", bytes(4 * size)), size - 1
        for position, name in enumerate(self._names, 1):
            at = hash(name) & mask
            while slots[at]:
                at = (at + 1) & mask
            slots[at] = position
        self._slots, self._mask = slots, mask


def _folded(path: str) -> str:
    folded = path.casefold()
    return path if folded == path else folded


def plan_paths(names: Iterable[str]) -> tuple[list[PathPlan | None], list[str]]:
    """Plan local paths for ``names`` (in order); return plans (None = refused) and messages."""
    plans: list[PathPlan | None] = []
    messages: list[str] = []
    planner = PathPlanner()
    for name in names:
        try:
            local, reason = planner.plan(name)
        except UnsafePath as exc:
            plans.append(None)
            messages.append(str(exc))
            continue
        plans.append(PathPlan(name, local, reason))
        if reason:
            messages.append(f"renamed {name!r} -> {local!r}: {reason}")
    return plans, messages


def inside(dest: Path, relative: str) -> Path:
    """Join and check that the real path stays inside ``dest`` (symlinks included; ``..`` refused)."""
    return inside_many(dest, [relative])[0]


def inside_many(dest: Path, relatives: Iterable[str]) -> list[Path]:
    """:func:`inside` for many paths at once: the real path of each folder is worked out once."""
    places = Places(dest)
    return [Path(places.real(relative)) for relative in relatives]


class Places:
    """:func:`inside` for one destination, path after path; each folder's real path is worked out once.

    Why: ``os.path.realpath`` stats every component of every path; for 20,000 files in a few
    folders that was over a second of planning before the first byte. Strings, not ``Path``
    objects: a million of those cost seconds and hundreds of megabytes.
    """

    __slots__ = ("_folders", "_prefix", "dest", "root")

    def __init__(self, dest: Path) -> None:
        self.dest = dest
        self.root = os.path.realpath(dest)
        self._prefix = self.root if self.root.endswith("/") else self.root + "/"
        self._folders: dict[str, str | None] = {"": self.root}  # folder -> its real path, None when outside

    def _within(self, real: str) -> bool:
        return real == self.root or real.startswith(self._prefix)

    def _checked(self, real: str, relative: str) -> str:
        if not self._within(real):
            raise UnsafePath(f"refused to write {relative!r}: it would land outside {self.dest}")
        return real

    def _joined(self, relative: str) -> tuple[str, str, bool]:
        """``(path, name, resolved)``: the folder's real path joined with the name; ``resolved`` when
        the whole path had to be resolved already (its folder lies outside, through a symlink)."""
        # safe_relpath never makes a "..": past a symlink loop realpath could not judge one
        if ".." in relative and ".." in relative.split("/"):
            raise UnsafePath(f"refused to write {relative!r}: '..' in a destination path")
        if _mentions_own_folder(relative) and any(is_own_folder(c) for c in relative.split("/")):  # the tool's own folder
            raise UnsafePath(f"refused to write {relative!r}: inside doi2data's own folder {STATE_DIR}")
        head, _, name = relative.rpartition("/")
        folder = self._folders.get(head, "")
        if folder == "":
            real = os.path.realpath(os.path.join(self.root, head))
            folder = self._folders[head] = real if self._within(real) else None
        if folder is None:  # a folder outside: only where the whole path really leads counts
            return self._checked(os.path.realpath(os.path.join(self.root, relative)), relative), name, True
        # os.path.join, without its per-call checks: a real folder path ends in "/" only when it is "/"
        return (folder + name if folder.endswith("/") else f"{folder}/{name}"), name, False

    def real(self, relative: str) -> str:
        """The real path ``relative`` names under the destination; :class:`UnsafePath` if outside."""
        target, name, resolved = self._joined(relative)
        if not resolved and (name in ("", ".") or os.path.islink(target)):
            target = self._checked(os.path.realpath(target), relative)
        return target

    def real_stat(self, relative: str) -> tuple[str, os.stat_result | None]:
        """:meth:`real` plus what is there (``os.stat``; None: nothing), with one ``lstat`` for a plain
        file: planning a million files already present pays one system call per file here, not three."""
        target, name, resolved = self._joined(relative)
        if not resolved and name not in ("", "."):
            st = _stat(target, os.lstat)
            if st is None or not stat.S_ISLNK(st.st_mode):
                return target, st
        target = self._checked(os.path.realpath(target), relative)
        return target, _stat(target, os.stat)


def _stat(path: str, how: Callable[[str], os.stat_result]) -> os.stat_result | None:
    """``how(path)``, None when nothing is there (what ``Path.is_file`` takes for "no file"; other
    errors, such as a folder we may not read, are raised)."""
    try:
        return how(path)
    except OSError as exc:
        if exc.errno in _ABSENT:
            return None
        raise


_ABSENT = (errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP)


__all__ = ["STATE_DIR", "FoldedNames", "PathPlan", "PathPlanner", "Places", "inside", "inside_many", "is_own_folder", "plan_paths",
           "safe_relpath"]
