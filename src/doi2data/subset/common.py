"""What every subset operation shares: finding a file in a manifest, safe output, the report.

Why here: zip members, tar members, HDF5 slices and frames all end the same way - bytes written
under ``dest`` at a path that went through :func:`doi2data.paths.safe_relpath` (and a ``~N``
suffix on clashes), atomically (``<name>.part`` then rename, so a failure leaves no final
name), and a :class:`SubsetReport` saying what was written and what it cost on the wire.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

from ..display import render
from ..errors import UsageError
from ..model import FileEntry, Manifest
from ..paths import inside, safe_relpath


@dataclass(frozen=True)
class Written:
    """One output file: where it came from (``source`` file, ``part`` inside it) and where it went."""

    source: str
    part: str
    local: str
    size: int

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "part": self.part, "local": self.local, "size": self.size}


@dataclass
class SubsetReport:
    """What a subset operation wrote and what it cost (``requests``/``bytes_received`` on the wire)."""

    dest: Path
    written: list[Written] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    requests: int = 0
    bytes_received: int = 0

    @property
    def bytes_written(self) -> int:
        return sum(w.size for w in self.written)

    def merge(self, other: SubsetReport) -> None:
        self.written += other.written
        self.messages += other.messages
        self.failed.update(other.failed)
        self.requests += other.requests
        self.bytes_received += other.bytes_received

    def to_json(self) -> dict[str, Any]:
        return {"dest": str(self.dest), "written": [w.to_json() for w in self.written], "messages": self.messages,
                "failed": self.failed, "requests": self.requests, "bytes_received": self.bytes_received,
                "bytes_written": self.bytes_written}

    def __repr__(self) -> str:
        return (f"<SubsetReport {self.dest}: {len(self.written)} written, {len(self.failed)} failed, "
                f"{self.requests} requests>")

    def _repr_html_(self) -> str:
        return render("subset_html", self)


def find_entry(manifest: Manifest, name: str) -> FileEntry:
    """The manifest file called ``name``: exact path, else a unique match of the last components.

    ``eiger/x_master.h5`` and ``x_master.h5`` both find ``eiger/x_master.h5`` (when unique).
    """
    wanted = name.strip().lstrip("/")
    for entry in manifest.files:
        if entry.path == wanted:
            return entry
    tail = [e for e in manifest.files if e.path.endswith("/" + wanted)]
    if len(tail) == 1:
        return tail[0]
    if len(tail) > 1:
        raise UsageError(f"{name!r} matches several files: " + ", ".join(e.path for e in tail[:5]))
    raise UsageError(f"no file {name!r} in {manifest.dataset.doi or 'the dataset'}")


def sibling(manifest: Manifest, entry: FileEntry, relative: str) -> FileEntry:
    """Resolve ``relative`` (an HDF5 external-link or VDS file name) against ``entry``'s folder.

    Only names inside the same dataset are accepted: ``..`` may climb folders of the dataset but
    never leave it, and an absolute name is looked up by its last components.
    """
    if relative in (".", ""):
        return entry
    if relative.startswith("/") or ":" in relative[:3]:
        return find_entry(manifest, PurePosixPath(relative.replace("\\", "/")).name)
    parts = list(PurePosixPath(entry.path).parent.parts)
    for piece in relative.replace("\\", "/").split("/"):
        if piece == "..":
            if not parts:
                raise UsageError(f"{relative!r} (linked from {entry.path}) points outside the dataset")
            parts.pop()
        elif piece not in ("", "."):
            parts.append(piece)
    return find_entry(manifest, "/".join(parts))


def entry_url(entry: FileEntry) -> str:
    """The URL to read ``entry`` from; a clear error when it is not open or has no URL."""
    if entry.access != "open":
        raise UsageError(f"{entry.path} is {entry.access}: its bytes cannot be read")
    if not entry.url:
        raise UsageError(f"{entry.path} has no download URL")
    return entry.url


class Planner:
    """Safe, clash-free local names, decided one at a time (streams do not know all names first).

    Clashes are resolved with a ``~N`` suffix: two names equal but for case, a file where an
    earlier member made a folder (``f/g.txt`` then ``f``), and a folder where an earlier member
    is a file (``f`` then ``f/g.txt``: the folder becomes ``f~2``, for every later member in it).
    """

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix.strip("/")
        self._taken: set[str] = set()  # files handed out (casefolded)
        self._dirs: set[str] = set()  # folders holding them (casefolded)
        self._moved: dict[str, str] = {}  # folder as named (casefolded) -> the folder used instead

    def local(self, name: str) -> tuple[str, str | None]:
        """``(local relative path, note or None)``; raises :class:`~doi2data.errors.UnsafePath`."""
        local, reason = safe_relpath(f"{self.prefix}/{name}" if self.prefix else name)
        parts = local.split("/")
        named = actual = ""
        for part in parts[:-1]:
            named = f"{named}/{part}" if named else part
            moved = self._moved.get(named.casefold())
            if moved is None:
                moved = f"{actual}/{part}" if actual else part
                if moved.casefold() in self._taken:
                    moved = self._free(moved)
                    self._moved[named.casefold()] = moved
            actual = moved
        base = f"{actual}/{parts[-1]}" if actual else parts[-1]
        candidate = base if base.casefold() not in self._dirs else self._free(base)
        candidate = candidate if candidate.casefold() not in self._taken else self._free(base)
        self._taken.add(candidate.casefold())
        folder = PurePosixPath(candidate).parent
        while str(folder) != ".":
            self._dirs.add(str(folder).casefold())
            folder = folder.parent
        if candidate != local:
            reason = "; ".join(filter(None, [reason, "name clashes with another file or folder"]))
        note = f"renamed {name!r} -> {candidate!r}: {reason}" if reason else None
        return candidate, note

    def _free(self, path: str) -> str:
        """``path`` with the first ``~N`` (N >= 2) that is neither a file nor a folder yet."""
        pure, n = PurePosixPath(path), 1
        while True:
            n += 1
            candidate = str(pure.with_name(f"{pure.stem}~{n}{pure.suffix}"))
            if candidate.casefold() not in self._taken and candidate.casefold() not in self._dirs:
                return candidate


@contextmanager
def atomic_output(dest: Path, local: str) -> Iterator[IO[bytes]]:
    """Open ``dest/local`` for writing via ``<name>.part``; renamed only if the block succeeds."""
    final = inside(dest, local)
    final.parent.mkdir(parents=True, exist_ok=True)
    part = final.with_name(final.name + ".part")
    try:
        with open(part, "wb") as fh:
            yield fh
        os.replace(part, final)
    except BaseException:
        part.unlink(missing_ok=True)
        raise


@contextmanager
def atomic_path(dest: Path, local: str) -> Iterator[Path]:
    """Like :func:`atomic_output` for writers that want a path (h5py): ``<name>.part``, then rename."""
    final = inside(dest, local)
    final.parent.mkdir(parents=True, exist_ok=True)
    part = final.with_name(final.name + ".part")
    try:
        yield part
        os.replace(part, final)
    except BaseException:
        part.unlink(missing_ok=True)
        raise


__all__ = ["Planner", "SubsetReport", "Written", "atomic_output", "atomic_path", "entry_url", "find_entry",
           "sibling"]
