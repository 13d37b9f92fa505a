"""Re-check a downloaded tree against its manifest: presence, size and every known checksum.

Uses the same safe-path plan as the engine, so it looks exactly where ``get`` wrote. Purely
local: no byte is fetched. Verified files are recorded in the state store, so a later ``get``
skips them without hashing again.

"ok" means a checksum was computed and matched. A file with no usable checksum (none given, an
algorithm nothing here implements such as ``blake3``, or a malformed value such as ``md5:1234``)
is ``unchecked`` even when its size matches: a size says nothing about the bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..model import FileEntry, Manifest
from ..paths import inside, plan_paths
from .hashing import hash_file, mismatches, usable
from .state import StateStore

Verdict = Literal["ok", "missing", "mismatch", "unchecked", "skipped"]


@dataclass(frozen=True)
class VerifyResult:
    path: str
    local: str | None
    verdict: Verdict
    detail: str | None = None


def why_unchecked(entry: FileEntry) -> str:
    """Why ``entry`` could not be verified: which checksums were missing, malformed or unknown."""
    reasons = [f"malformed {algo if algo not in ('', '?') else 'checksum'} {value!r}"
               for algo, value in entry.bad_checksums.items()]
    unknown = sorted(algo for algo in entry.checksums if algo not in usable(entry.checksums))
    if unknown:
        reasons.append(f"no support for {', '.join(unknown)}")
    if not reasons:
        reasons.append("no checksum given")
    reasons.append("size only" if entry.size is not None else "size unknown")
    return "not verified: " + "; ".join(reasons)


def recheck(store: StateStore, local: str, final: Path, entry: FileEntry) -> tuple[str, ...] | None:
    """Whether ``final`` already holds ``entry``, checking no more than needed; returns the
    algorithms it is verified with (empty: kept unchecked before, still nothing to check), or
    None when it must be fetched.

    A record counts only if it covers every usable checksum the manifest now has: a file kept
    without one (or verified with md5 when the manifest now also gives sha256) is re-hashed
    locally against the new checksums and downloaded again only if they do not match.
    """
    if not final.is_file():
        return None
    want = usable(entry.checksums)
    recorded = store.verified_digests(local, final, entry.size)
    if recorded is not None and all(recorded.get(algo) == value for algo, value in want.items()):
        return tuple(sorted(recorded))
    if not want or (entry.size is not None and final.stat().st_size != entry.size):
        return None  # nothing to check a file not on record against: fetch it
    digests = hash_file(final, want).digests()
    if not digests or mismatches(want, digests):
        return None
    store.mark_verified(local, final, {**(recorded or {}), **digests})
    return tuple(sorted(digests))


def verify_tree(manifest: Manifest, dest: Path) -> list[VerifyResult]:
    """One result per manifest entry; ``unchecked`` = present, right size if known, but no usable checksum."""
    plans, _ = plan_paths(f.path for f in manifest.files)
    results: list[VerifyResult] = []
    store = StateStore(dest) if dest.is_dir() else None
    try:
        for entry, plan in zip(manifest.files, plans):
            if plan is None:
                results.append(VerifyResult(entry.path, None, "skipped", "unsafe name, never written"))
                continue
            if entry.access != "open":
                results.append(VerifyResult(entry.path, plan.local, "skipped", entry.access))
                continue
            final = inside(dest, plan.local)
            if not final.is_file():
                results.append(VerifyResult(entry.path, plan.local, "missing"))
                continue
            size = final.stat().st_size
            if entry.size is not None and size != entry.size:
                results.append(VerifyResult(entry.path, plan.local, "mismatch", f"size expected {entry.size} got {size}"))
                continue
            want = usable(entry.checksums)
            if not want:
                results.append(VerifyResult(entry.path, plan.local, "unchecked", why_unchecked(entry)))
                continue
            digests = hash_file(final, want).digests()
            problems = mismatches(want, digests)
            if problems:
                results.append(VerifyResult(entry.path, plan.local, "mismatch", "; ".join(problems)))
            else:
                ignored = [f"ignored malformed {algo} {value!r}" for algo, value in entry.bad_checksums.items()]
                ignored += [f"{algo} not checkable" for algo in sorted(set(entry.checksums) - set(want))]
                results.append(VerifyResult(entry.path, plan.local, "ok", "; ".join([", ".join(sorted(digests)), *ignored])))
                if store is not None:
                    store.mark_verified(plan.local, final, digests)
    finally:
        if store is not None:
            store.close()
    return results


def summary_line(results: list[VerifyResult]) -> str:
    """``3 ok, 1 bad, 2 unchecked, 0 skipped, of 6 file(s)`` (``ok``: a checksum matched)."""
    count = {verdict: 0 for verdict in ("ok", "missing", "mismatch", "unchecked", "skipped")}
    for r in results:
        count[r.verdict] += 1
    return (f"{count['ok']} ok, {count['missing'] + count['mismatch']} bad, {count['unchecked']} unchecked "
            f"(no usable checksum), {count['skipped']} skipped, of {len(results)} file(s)")


__all__ = ["VerifyResult", "recheck", "summary_line", "verify_tree", "why_unchecked"]
