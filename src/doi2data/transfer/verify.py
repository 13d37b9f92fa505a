"""Re-check a downloaded tree against its manifest: presence, size and every known checksum.

Uses the same safe-path plan as the engine, so it looks exactly where ``get`` wrote. Purely
local: no byte is fetched. Verified files are recorded in the state store, so a later ``get``
skips them without hashing again.

"ok" means a checksum was computed and matched. A file with no usable checksum (none given, an
algorithm nothing here implements such as ``blake3``, or a malformed value such as ``md5:1234``)
is ``unchecked`` even when its size matches: a size says nothing about the bytes.
"""

from __future__ import annotations

import functools
import json
import os
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..errors import UnsafePath
from ..filelist import RowFacts, facts_of
from ..model import FileEntry, Manifest
from ..paths import PathPlanner, Places
from .hashing import MultiHasher, hash_file, mismatches, supported
from .results import VERDICTS, Verdict, VerifyResult, VerifyResults, counted
from .state import StateStore, damaged

BATCH = 1024  # files planned, looked up in the state (one query) and recorded (one statement) at a time
SMALL_READ = 1 << 20  # files under this size are read with os.read (see digests_of)


@functools.lru_cache(maxsize=256)
def _usable_names(algorithms: tuple[str, ...]) -> frozenset[str]:
    """Which of these algorithms can be checked here (asked once per combination, not per file:
    :func:`~.hashing.supported` builds a hasher to find out)."""
    return frozenset(algo for algo in algorithms if supported(algo))


def usable_checksums(checksums: Mapping[str, str]) -> dict[str, str]:
    """:func:`~.hashing.usable`, cached by algorithm names."""
    names = _usable_names(tuple(checksums))
    return {algo: value for algo, value in checksums.items() if algo in names}


def digests_of(final: str, want: Mapping[str, str], size: int) -> dict[str, str]:
    """Every digest of ``want`` over the file at ``final`` (``size`` bytes when stat'ed).

    A small file is read with ``os.read`` in blocks of its own size, not through a buffered file
    object reading 1 MiB at a time: that allocated (and mapped) a megabyte per file, half the
    cost of checking a million small files already on disk. A file that grew since is still
    read to its end."""
    if size >= SMALL_READ:
        return hash_file(final, want).digests()
    hasher = MultiHasher(want)
    fd = os.open(final, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        block = size + 1  # one read for the bytes, one more to see the end
        while data := os.read(fd, block):
            hasher.update(data)
            block = 1 << 16  # the file grew since: on to its end (a small buffer, no mapping)
    finally:
        os.close(fd)
    return hasher.digests()


def why_unchecked(entry: FileEntry) -> str:
    """Why ``entry`` could not be verified: which checksums were missing, malformed or unknown."""
    reasons = [f"malformed {algo if algo not in ('', '?') else 'checksum'} {value!r}"
               for algo, value in entry.bad_checksums.items()]
    unknown = sorted(algo for algo in entry.checksums if algo not in usable_checksums(entry.checksums))
    if unknown:
        reasons.append(f"no support for {', '.join(unknown)}")
    if not reasons:
        reasons.append("no checksum given")
    reasons.append("size only" if entry.size is not None else "size unknown")
    return "not verified: " + "; ".join(reasons)


#: local, final (real path), its stat, the size and checksums the manifest gives
Candidate = tuple[str, str, os.stat_result, int | None, Mapping[str, str]]


def recheck_many(store: StateStore, files: list[Candidate]) -> list[tuple[str, ...] | None | OSError]:
    """Whether each ``final`` (a regular file, ``stat`` taken) already holds its entry, checking no
    more than needed: the algorithms it is verified with (empty: kept unchecked before, still
    nothing to check), None when it must be fetched, or the ``OSError`` that stopped the check (a
    file we may not read: it fails alone).

    A record counts only if it covers every usable checksum the manifest now has: a file kept
    without one (or verified with md5 when the manifest now also gives sha256) is re-hashed
    locally against the new checksums and downloaded again only if they do not match. One state
    query and one recording statement for the whole list.
    """
    records = store.verified_many([local for local, *_ in files])
    out: list[tuple[str, ...] | None | OSError] = []
    marks: list[tuple[str, int, int, dict[str, str]]] = []
    try:
        for local, final, st, size, checksums in files:
            want = usable_checksums(checksums)
            recorded = _recorded(store, records.get(local), st, size)
            if recorded is not None and all(recorded.get(algo) == value for algo, value in want.items()):
                out.append(tuple(sorted(recorded)))
                continue
            if not want or (size is not None and st.st_size != size):
                out.append(None)  # nothing to check a file not on record against: fetch it
                continue
            try:
                digests = digests_of(final, want, st.st_size)
            except OSError as exc:
                out.append(exc)
                continue
            if not digests or mismatches(want, digests):
                out.append(None)
                continue
            marks.append((local, st.st_size, st.st_mtime_ns, {**(recorded or {}), **digests}))
            out.append(tuple(sorted(digests)))
    finally:
        store.mark_verified_many(marks)
    return out


def _recorded(store: StateStore, row: tuple[int, int, str] | None, st: os.stat_result, size: int | None
              ) -> dict[str, str] | None:
    """The digests a state record vouches for, or None when there is none or the file changed since
    (size, mtime) or no longer has ``size``."""
    if row is None or st.st_size != row[0] or st.st_mtime_ns != row[1] or (size is not None and size != row[0]):
        return None
    try:
        recorded = json.loads(row[2])
    except ValueError as exc:
        raise damaged(store.path, exc) from exc
    if not isinstance(recorded, dict):
        return None
    return {str(k): str(v) for k, v in recorded.items()}


def recheck(store: StateStore, local: str, final: Path, entry: FileEntry) -> tuple[str, ...] | None:
    """:func:`recheck_many` for one file (None also when ``final`` is not a file)."""
    try:
        st = os.stat(final)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    checked = recheck_many(store, [(local, str(final), st, entry.size, entry.checksums)])[0]
    if isinstance(checked, OSError):
        raise checked
    return checked


def verify_tree(manifest: Manifest, dest: Path) -> VerifyResults:
    """One result per manifest entry; ``unchecked`` = present, right size if known, but no usable checksum.

    Streams the manifest (:data:`BATCH` files at a time): the results are columns
    (:class:`~.results.VerifyResults`), the state is written one statement per batch.
    """
    files = manifest.files
    results = VerifyResults(files)
    store = StateStore(dest) if dest.is_dir() else None
    planner, places = PathPlanner(), Places(dest)
    path_of = getattr(files, "path", None) or (lambda row: files[row].path)
    facts = facts_of(files)  # an entry is built only to explain a file with no usable checksum
    try:
        for start in range(0, len(files), BATCH):
            marks: list[tuple[str, int, int, dict[str, str]]] = []
            try:
                for row in range(start, min(start + BATCH, len(files))):
                    try:
                        local, _ = planner.plan(path_of(row))
                    except UnsafePath:
                        results.add(row, None, "skipped", "unsafe name, never written")
                        continue
                    verdict, detail = _verdict(places, local, facts(row), marks)
                    if verdict == "unchecked":
                        detail = why_unchecked(files[row])
                    results.add(row, local, verdict, detail)
            finally:  # what was verified stays recorded, even when a later file stops the run
                if store is not None:
                    store.mark_verified_many(marks)
    finally:
        if store is not None:
            store.close()
    return results


def _verdict(places: Places, local: str, facts: RowFacts, marks: list[tuple[str, int, int, dict[str, str]]]
             ) -> tuple[Verdict, str | None]:
    """What is on disk for a row (``unchecked`` comes without its reason: :func:`why_unchecked`
    needs the whole entry, built only then)."""
    size, checksums, access, _, bad_checksums = facts
    if access != "open":
        return "skipped", access
    final, st = places.real_stat(local)
    if st is None or not stat.S_ISREG(st.st_mode):
        return "missing", None
    if size is not None and st.st_size != size:
        return "mismatch", f"size expected {size} got {st.st_size}"
    want = usable_checksums(checksums)
    if not want:
        return "unchecked", None
    digests = digests_of(final, want, st.st_size)
    problems = mismatches(want, digests)
    if problems:
        return "mismatch", "; ".join(problems)
    marks.append((local, st.st_size, st.st_mtime_ns, digests))
    if not bad_checksums and len(want) == len(checksums):
        return "ok", ", ".join(sorted(digests))  # the usual case: every checksum given was checked
    ignored = [f"ignored malformed {algo} {value!r}" for algo, value in bad_checksums.items()]
    ignored += [f"{algo} not checkable" for algo in sorted(set(checksums) - set(want))]
    return "ok", "; ".join([", ".join(sorted(digests)), *ignored])


def summary_line(results: Sequence[VerifyResult]) -> str:
    """``3 ok, 1 bad, 2 unchecked, 0 skipped, of 6 file(s)`` (``ok``: a checksum matched)."""
    count = {verdict: counted(results, verdict, "verdict") for verdict in VERDICTS}
    return (f"{count['ok']} ok, {count['missing'] + count['mismatch']} bad, {count['unchecked']} unchecked "
            f"(no usable checksum), {count['skipped']} skipped, of {len(results)} file(s)")


__all__ = ["VerifyResult", "VerifyResults", "recheck", "recheck_many", "summary_line", "usable_checksums", "verify_tree",
           "why_unchecked"]
