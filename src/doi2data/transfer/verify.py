"""Re-check a downloaded tree against its manifest: presence, size and every known checksum.

Uses the same safe-path plan as the engine, so it looks exactly where ``get`` wrote. Purely
local: no byte is fetched. Verified files are recorded in the state store, so a later ``get``
skips them without hashing again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..model import Manifest
from ..paths import inside, plan_paths
from .hashing import hash_file, mismatches
from .state import StateStore

Verdict = Literal["ok", "missing", "mismatch", "unchecked", "skipped"]


@dataclass(frozen=True)
class VerifyResult:
    path: str
    local: str | None
    verdict: Verdict
    detail: str | None = None


def verify_tree(manifest: Manifest, dest: Path) -> list[VerifyResult]:
    """One result per manifest entry; ``unchecked`` = present, but no size or checksum to check."""
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
            if not entry.checksums:
                verdict: Verdict = "ok" if entry.size is not None else "unchecked"
                results.append(VerifyResult(entry.path, plan.local, verdict, "size only" if verdict == "ok" else None))
                continue
            hasher = hash_file(final, entry.checksums)
            digests = hasher.digests()
            problems = mismatches(entry.checksums, digests)
            if problems:
                results.append(VerifyResult(entry.path, plan.local, "mismatch", "; ".join(problems)))
            elif not digests:
                results.append(VerifyResult(entry.path, plan.local, "unchecked", f"no support for {hasher.unsupported}"))
            else:
                results.append(VerifyResult(entry.path, plan.local, "ok", ", ".join(sorted(digests))))
                if store is not None:
                    store.mark_verified(plan.local, final, digests)
    finally:
        if store is not None:
            store.close()
    return results


__all__ = ["VerifyResult", "verify_tree"]
