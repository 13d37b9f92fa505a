"""PSI's ``__checksum_filename_N__`` files: the sha1 inventory inside each published dataset folder.

Format, as written by PSI's archiver and read by ``scicat-cli datasetRetriever``
(``sed '/is_directory$/d' __checksum_filename_*__ | awk -v FS='    ' '/^[^#]/{print $2,$1}' | sha1sum -c``)::

    # Used python version for creating this checksum file: 3.6.8
    # checksum algorithm: sha1
    tif    is_directory
    tif/proj_0001.tif    2fd4e1c67a2d28fced849ee1bb76e7391b93eb12

* ``#`` lines are comments; one may name the algorithm (``checksum algorithm: sha1``);
* the separator is exactly four spaces *before the digest*; file names may contain spaces
  (even several), so the line is split at its **last** four-space run, never on whitespace;
* ``is_directory`` instead of a digest marks a directory, not a file;
* paths are relative to the dataset folder (a leading ``./`` is dropped).

A digest that is not valid hex of the algorithm's length is reported and not trusted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType

from ...entry import HASH_ALGORITHMS, normalize_algorithm, normalize_digest

CHECKSUM_FILE = re.compile(r"^__checksum_filename_\d+__$")
_ALGORITHM = re.compile(r"checksum\s+algorithm\s*[:=]\s*([A-Za-z0-9_-]+)", re.I)
_SEPARATOR = "    "


@dataclass(frozen=True)
class ChecksumList:
    """What one (or several merged) checksum files say: ``{relative path: hex}`` and directories."""

    algorithm: str = "sha1"
    digests: Mapping[str, str] = field(default_factory=dict)
    directories: frozenset[str] = frozenset()
    problems: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "digests", MappingProxyType(dict(self.digests)))

    @cached_property
    def by_stripped_name(self) -> Mapping[str, str]:
        """Digests keyed by names without trailing blanks (see :func:`lookup`)."""
        return {p.rstrip(): d for p, d in reversed(list(self.digests.items()))}

    def merged(self, other: ChecksumList) -> ChecksumList:
        """Several ``__checksum_filename_N__`` files describe one folder together."""
        problems = list(self.problems) + list(other.problems)
        if other.digests and self.digests and other.algorithm != self.algorithm:
            problems.append(f"checksum files disagree on the algorithm ({self.algorithm} vs {other.algorithm}); "
                            f"kept {self.algorithm}")
            return ChecksumList(self.algorithm, self.digests, self.directories | other.directories, tuple(problems))
        algorithm = self.algorithm if self.digests else other.algorithm
        return ChecksumList(algorithm, {**other.digests, **self.digests}, self.directories | other.directories,
                            tuple(problems))


def _clean_path(path: str) -> str:
    while path.startswith("./"):
        path = path[2:]
    return path.lstrip("/")


def parse_checksum_file(text: str) -> ChecksumList:
    """Parse one checksum file (pure; malformed lines go to ``problems``, never raise)."""
    if not isinstance(text, str):
        return ChecksumList(problems=("checksum file is not text",))
    algorithm = "sha1"
    raw: list[tuple[int, str, str]] = []
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.rstrip("\r\n")
        if not line.strip():
            continue
        if line.lstrip().startswith("#"):
            if found := _ALGORITHM.search(line):
                algorithm = normalize_algorithm(found.group(1))
            continue
        path, sep, value = line.rpartition(_SEPARATOR)
        path, value = _clean_path(path), value.strip()
        if not sep or not path or not value:
            problems.append(f"line {number}: not '<path>    <digest>'")
            continue
        raw.append((number, path, value))
    if algorithm not in HASH_ALGORITHMS:
        problems.append(f"unknown checksum algorithm {algorithm!r}; digests not used")
    digests: dict[str, str] = {}
    directories: set[str] = set()
    for number, path, value in raw:
        if value == "is_directory":
            directories.add(path.rstrip("/"))
            continue
        digest = normalize_digest(algorithm, value) if algorithm in HASH_ALGORITHMS else None
        if digest is None or len(digest) != len(value):
            problems.append(f"line {number}: {value[:80]!r} is not a {algorithm} digest; {path!r} not verified by it")
            continue
        if path in digests and digests[path] != digest:
            problems.append(f"line {number}: {path!r} listed twice with different digests; kept the first")
            continue
        digests.setdefault(path, digest)
    return ChecksumList(algorithm, digests, frozenset(directories), tuple(problems))


def lookup(checksums: ChecksumList, path: str) -> str | None:
    """The digest for ``path``; tolerates names written with stray trailing blanks."""
    found = checksums.digests.get(path)
    return found if found is not None else checksums.by_stripped_name.get(path.rstrip())


__all__ = ["CHECKSUM_FILE", "ChecksumList", "lookup", "parse_checksum_file"]
